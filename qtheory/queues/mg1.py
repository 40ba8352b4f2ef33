"""The M/G/1 queue: Poisson arrivals, a size law, optional predictions, one server."""

import math

import numpy as np

from ..core.budget import budget
from ..core.errors import (
    InfiniteMomentError,
    ParameterError,
    PolicyError,
    PredictionWarning,
    UnstableError,
    warn,
)
from ..core.params import Param, as_float_copy, floated, is_symbolic, positive
from ..core.result import Result, SimulationResult
from ..core.types import Number, PolicyLike, PredictionLike, SizeLike
from ..laws.convert import as_size_law
from ..laws.joint import joint_law
from ..laws.predictions import as_prediction
from ..policies.catalogue import as_policy

#: Double-precision rounding unit.
EPS = float(np.finfo(float).eps)

METHODS = ("auto", "formula", "soap", "symbolic", "simulation")


class MG1:
    """An M/G/1 queue with arrival rate ``arrival_rate``, job sizes from ``size`` and,
    optionally, predicted sizes from ``prediction``.

    Examples
    --------
    >>> import qtheory as qt
    >>> q = qt.MG1(0.8, qt.Exponential(1.0))
    >>> q.load
    0.8
    >>> round(float(q.mean_response_time(qt.FCFS)), 12)     # M/M/1: 1/(mu - lambda)
    5.0
    >>> round(float(q.mean_response_time(qt.SRPT)), 4)   # Mitzenmacher 2020, Table 1
    2.3528
    """

    arrival_rate = Param(positive)

    def __init__(self, arrival_rate: Number, size: SizeLike,
                 prediction: PredictionLike = None):
        self.arrival_rate = arrival_rate
        self.size = as_size_law(size)
        self.prediction = as_prediction(prediction)
        if hasattr(self.prediction, "bind"):   # a model about the size law (ClassBit)
            self.prediction = self.prediction.bind(self.size)
        pred = self.prediction
        numeric_load = not (is_symbolic(arrival_rate) or _has_symbols(self.size))
        self.symbolic = not numeric_load or _has_symbols(pred, getattr(pred, "noise", None))
        if numeric_load:
            self.check_stable()
        self._joint = self._float = None

    def __repr__(self):
        pred = f", prediction={self.prediction!r}" if self.prediction is not None else ""
        return f"MG1(arrival_rate={self.arrival_rate!r}, size={self.size!r}{pred})"

    @property
    def load(self):
        """rho = lambda E[X]."""
        return self.arrival_rate * self.size.mean

    def check_stable(self):
        """Raise :class:`~qtheory.core.errors.UnstableError` unless rho < 1."""
        if not math.isfinite(self.size.mean):
            raise InfiniteMomentError(f"size = {self.size!r} has an infinite mean, so every "
                                      "M/G/1 queue with it is unstable; use a law with a finite "
                                      "mean (e.g. a Pareto tail index above 1, or BoundedPareto).")
        rho = self.load
        if not rho < 1:
            raise UnstableError(rho, f"lower arrival_rate below {self.arrival_rate / rho:.6g}"
                                     " (where rho = 1) or use smaller jobs")

    @property
    def joint(self):
        """The joint law of (size, prediction) the prediction formulas integrate over."""
        if self._joint is None:
            from ..laws.predictions import ClassBit, Threshold
            pred = self.prediction
            pred = None if isinstance(pred, ClassBit) else pred
            self._joint = joint_law(self.size, pred.noise if isinstance(pred, Threshold) else pred)
        return self._joint

    def numeric(self):
        """This queue with its exact sympy constants as floats (itself when it has none):
        what the numeric methods compute with."""
        if self._float is None:
            parts = (self.arrival_rate, self.size, self.prediction)
            floats = (floated(self.arrival_rate), as_float_copy(self.size),
                      None if self.prediction is None else as_float_copy(self.prediction))
            same = all(a is b for a, b in zip(parts, floats))
            self._float = self if same else MG1(*floats)
        return self._float

    def with_prediction(self, prediction):
        """The same queue with another prediction model."""
        return MG1(self.arrival_rate, self.size, prediction)

    # -- answers ---------------------------------------------------------------------------
    def mean_response_time(self, policy: PolicyLike, method: str = "auto", *,
                           max_time: float = None, progress: bool = None,
                           **options) -> Result:
        """E[T] under ``policy`` by ``method`` ("auto", "formula", "soap", "symbolic",
        "simulation"). Returns a :class:`~qtheory.core.result.Result` (a sympy expression for
        "symbolic", a simulation summary for "simulation").

        ``max_time``: seconds the computation may take, after which a
        :class:`~qtheory.core.errors.BudgetError` says how far it got; ``progress``: show
        a progress bar once it runs for a few seconds (``None``: in a terminal or a
        notebook only). See :func:`qtheory.budget`."""
        policy = as_policy(policy)
        with budget(max_time, f"E[T] under {policy.name}", progress):
            return self._mean_response_time(policy, method, **options)

    def _mean_response_time(self, policy, method, **options):
        if method not in METHODS:
            raise ParameterError(f"method = {method!r} is invalid: use one of {METHODS}.")
        self._check_descriptor(policy)
        if method == "symbolic" or (method == "auto" and (self.symbolic or _has_symbols(policy))):
            from ..methods.symbolic import symbolic_mean_response_time
            return symbolic_mean_response_time(self, policy, **options)
        policy, num = as_float_copy(policy), self.numeric()
        if num is not self:
            return num._mean_response_time(policy, method, **options)
        if method == "simulation":
            return self.simulate(policy, **options)
        from .units import rescaled
        unit = rescaled(self, policy)   # sizes far from 1: computed in units of s (units.py)
        if unit is not None:
            q1, p1, s = unit
            r = q1._mean_response_time(p1, method, **options)
            details = {k: v * s if k == "cost" else v for k, v in r.details.items()}
            return Result(r.value * s, r.error * s, r.method, r.policy, {**details, "unit": s})
        if method == "soap" or (method == "auto" and not _has_formula(policy)):
            from ..methods.soap import soap_mean_response_time
            return soap_mean_response_time(self, policy, **options)
        from ..methods.formula import formula_for
        formula = formula_for(policy)
        with self.joint.tracking() as inner:
            value, error = formula.mean(self, policy)
        # inner integrals propagate at most a few times their relative error; the loads'
        # rounding, through 1 / (1 - rho_x)^2, a few eps / (1 - rho) (SRPT on Exp(1) at
        # rho = 0.999999 was off by 1.7e-11 relative with a quadrature error of 3e-13)
        error += 4 * abs(value) * inner.max_rel_error + 8 * EPS * abs(value) / (1 - self.load)
        details = {"cost": formula.cost(self, policy, value)} if hasattr(formula, "cost") else {}
        return Result(float(value), float(error), "formula", policy.name, details)

    def response_time_distribution(self, policy: PolicyLike, size: Number = None,
                                   prediction: Number = None, method: str = "auto",
                                   **simulation):
        """The law of the response time T under ``policy`` (of T given the size with
        ``size=x``, given the prediction with ``prediction=y``: a predicted size, or the
        bit 0 (short) / 1 (long) for one-bit policies): transform, moments, CDF, tail and
        quantiles, each with its error
        (:class:`~qtheory.methods.distribution.response.ResponseTimeDistribution`).

        ``method="symbolic"`` (and ``"auto"`` with sympy parameters): sympy expressions
        of the transform and moments for FCFS and LCFS
        (:mod:`qtheory.methods.symbolic.distribution`).
        ``method="formula"``: the policy's closed structure (FCFS, LCFS, FB, PSJF, SRPT,
        SJF, priority classes and one bit; the prediction-based policies with Perfect
        predictions; SPRPT, Trail, SPJF, PSPJF and one bit under noisy predictions,
        :mod:`qtheory.methods.distribution.noisy`). ``method="soap"``: the generic SOAP
        transform, for every SOAP policy (Gittins, Trail, SkipPredict, ``qt.Rank``, ...)
        with Perfect or no predictions (:mod:`qtheory.methods.distribution.generic`);
        slower, and an independent witness of the closed structures. ``method="auto"``:
        the closed structure where there is one, else the generic transform. PS has its
        known moments (E[T | x] for any law, second moments for exponential sizes).
        ``method="simulation"``: every number from replicated simulation, with standard
        errors and intervals, for every policy the simulator runs (``simulation``: its
        ``jobs``, ``replications``, ``seed``, ...;
        :mod:`qtheory.methods.distribution.simulated`). What has no analytic method (PS's
        tail, the other rank policies under noisy predictions) raises a PolicyError that
        points there.

        Examples
        --------
        >>> import qtheory as qt
        >>> d = qt.MG1(0.5, qt.Exponential(1.0)).response_time_distribution(qt.SRPT)
        >>> abs(d.mean().value - qt.MG1(0.5, qt.Exponential(1.0)).mean_response_time(qt.SRPT).value) < 1e-9
        True
        >>> q = qt.MG1(0.8, qt.Exponential(1.0), qt.ExpNoise())
        >>> given = q.response_time_distribution(qt.SPRPT, size=2.0, prediction=1.5)
        >>> abs(given.mean().value - q.response_time(qt.SPRPT, 2.0, 1.5)) < 1e-10
        True
        """
        from ..methods.distribution.response import ResponseTimeDistribution
        policy = as_policy(policy)
        if method == "simulation":
            from ..methods.distribution.simulated import SimulatedDistribution
            if size is not None or prediction is not None:
                raise PolicyError("the simulated distribution is the unconditional one (a "
                                  "given size has probability 0 in a simulation): drop "
                                  "size= and prediction=, or simulate with by_size= for "
                                  "E[T | size] per bin.")
            self._check_descriptor(policy)
            return SimulatedDistribution(self.numeric(), as_float_copy(policy), **simulation)
        if simulation:
            raise ParameterError(f"{', '.join(sorted(simulation))}: options of "
                                 "method='simulation' only.")
        if method == "symbolic" or (method == "auto" and self.symbolic):
            from ..methods.symbolic.distribution import SymbolicDistribution
            if size is not None:
                raise PolicyError("the symbolic distribution is the unconditional one: drop "
                                  "size=, or use method='formula' for T given the size.")
            return SymbolicDistribution(self, policy)
        if method not in ("auto", "formula", "soap"):
            raise PolicyError(f"method = {method!r}: the response-time distribution is "
                              "available by method='formula' (closed structures), 'soap' "
                              "(any SOAP policy), 'symbolic' (FCFS, LCFS) and "
                              "'simulation' (any policy).")
        self._check_descriptor(policy)
        policy = as_float_copy(policy)
        from .units import rescaled
        unit = rescaled(self.numeric(), policy)   # sizes far from 1: in units of s (units.py)
        if unit is not None:
            from ..methods.distribution.response import ScaledDistribution
            q1, p1, s = unit
            bit = policy.descriptor == "bit"
            return ScaledDistribution(ResponseTimeDistribution(
                q1, p1, None if size is None else size / s, method,
                prediction if prediction is None or bit else prediction / s), s)
        return ResponseTimeDistribution(self, policy, size, method, prediction)

    def response_time(self, policy: PolicyLike, size: Number, prediction: Number = None,
                      method: str = "auto", *, max_time: float = None,
                      progress: bool = None) -> float:
        """E[T(x, y)]: mean response time of a job of size x (and prediction y; for
        one-bit policies the bit, 0 short or 1 long). Arrays of sizes (and predictions)
        give an array, broadcast as numpy does. ``max_time``, ``progress``: as in
        :meth:`mean_response_time`.

        Examples
        --------
        >>> import qtheory as qt
        >>> q = qt.MG1(0.5, qt.Exponential(1.0))
        >>> q.response_time(qt.PS, size=2.0)
        4.0
        >>> q.response_time(qt.PS, size=[1.0, 2.0]).tolist()
        [2.0, 4.0]
        """
        policy = as_policy(policy)
        with budget(max_time, f"E[T(x)] under {policy.name}", progress):
            return self._response_time(policy, size, prediction, method)

    def _response_time(self, policy, size, prediction, method):
        policy, num = as_float_copy(policy), self.numeric()
        if num is not self:
            return num._response_time(policy, size, prediction, method)
        if method not in ("auto", "formula", "soap"):
            raise ParameterError(f"method = {method!r} is invalid: response_time takes "
                                 "'auto', 'formula' or 'soap'.")
        if np.ndim(size) or np.ndim(prediction):
            xs = np.asarray(size, float)
            ys = np.full(xs.shape, np.nan) if prediction is None else np.asarray(prediction, float)
            xs, ys = np.broadcast_arrays(xs, ys)
            out = [self._response_time(policy, x, None if prediction is None else y, method)
                   for x, y in zip(xs.ravel().tolist(), ys.ravel().tolist())]
            return np.array(out, float).reshape(xs.shape)
        x = float(size)
        if not (x >= 0 and math.isfinite(x)):
            raise ParameterError(f"size = {size!r} is invalid: it must be a finite number >= 0.")
        if prediction is not None:
            prediction = policy.check_prediction(prediction)
        if policy.descriptor == "prediction":
            self._check_descriptor(policy)
        if policy.descriptor in ("prediction", "bit") and prediction is None:
            if self.prediction is None or policy.descriptor == "prediction" and _perfect(self):
                prediction = x
            else:
                raise ParameterError(f"{policy.name} ranks by prediction: pass prediction=y.")
        if policy.descriptor == "size" or prediction is None:
            prediction = x
        from .units import rescaled
        unit = rescaled(self, policy)   # sizes far from 1: computed in units of s (units.py)
        if unit is not None:
            q1, p1, s = unit
            y = prediction if policy.descriptor == "bit" else prediction / s
            return s * q1._response_time(p1, x / s, y, method)
        if method in ("soap",) or (method == "auto" and not _has_formula(policy)):
            from ..methods.soap import soap_response_time
            return soap_response_time(self, policy, x, float(prediction))
        from ..methods.formula import formula_for
        return float(formula_for(policy).at(self, policy, x, float(prediction)))

    def mean_slowdown(self, policy: PolicyLike, method: str = "auto", *,
                      max_time: float = None, progress: bool = None) -> Result:
        """E[T(X, Y) / X], the mean slowdown (infinite when sizes near 0 wait).
        ``max_time``, ``progress``: as in :meth:`mean_response_time`.

        Size-based and blind policies average E[T(x)] / x; SPJF, PSPJF, SPRPT and Trail
        with noisy predictions use their waiting-plus-residence split (the waiting part
        depends on y only). With sizes near 0 that can wait behind others (a density at
        0, e.g. exponential sizes, under FCFS, SPJF or SPRPT) the mean slowdown is
        infinite, and an InfiniteMomentError says so.

        Examples
        --------
        >>> import qtheory as qt
        >>> q = qt.MG1(0.5, qt.Uniform(0.5, 1.5))
        >>> round(q.mean_slowdown(qt.PS).value, 12)     # PS: E[T(x)] / x = 1 / (1 - rho)
        2.0
        """
        policy = as_policy(policy)
        with budget(max_time, f"E[T/X] under {policy.name}", progress):
            return self._mean_slowdown(policy, method)

    def _mean_slowdown(self, policy, method):
        policy, num = as_float_copy(policy), self.numeric()
        if num is not self:
            return num._mean_slowdown(policy, method)
        from .units import rescaled
        unit = rescaled(self, policy)   # T / X does not depend on the unit of time
        if unit is not None:
            q1, p1, _ = unit
            return q1._mean_slowdown(p1, method)
        if self.prediction is not None and policy.descriptor == "prediction" and not _perfect(self):
            from ..methods.formula import formula_for
            formula = formula_for(policy) if _has_formula(policy) else None
            if not hasattr(formula, "slowdown") or method not in ("auto", "formula"):
                raise PolicyError(f"mean_slowdown of {policy.name} with noisy predictions has "
                                  "no closed form here; simulate and divide per job.")
            self._check_descriptor(policy)
            # the waiting time of y -> 0 is a floor for every job's
            self._infinite_slowdown(policy, lambda y: formula.waiting(self, policy, y))
            with self.joint.tracking() as inner:
                value, error = formula.slowdown(self, policy)
            error += 4 * abs(value) * inner.max_rel_error
            return Result(float(value), float(error), "formula", policy.name)
        self._infinite_slowdown(policy, lambda x: float(self._response_time(policy, x, None,
                                                                           method=method)))
        value, error = self.size.expect(
            lambda x: self._response_time(policy, x, None, method) / x if x > 0 else math.inf,
            what=f"the {policy.name} mean slowdown")
        used = "soap" if method == "soap" or not _has_formula(policy) else "formula"
        return Result(value, error, used, policy.name)

    def _infinite_slowdown(self, policy, floor):
        """Raise InfiniteMomentError if the mean slowdown is infinite: the size law has a
        density at 0 (so E[1/X] is infinite) while ``floor(u)``, the response (or
        waiting) time of the smallest jobs, stays positive as u -> 0 (both checked at
        u = 1e-9 and 1e-12 of the scale)."""
        if self.size.support[0] > 0:
            return
        a, b = 1e-9 * self.size.scale, 1e-12 * self.size.scale
        F = self.size.cdf
        dens_a, dens_b = float(F(a)) / a, float(F(b)) / b
        t_a, t_b = floor(a), floor(b)
        if dens_b > 0.5 * dens_a > 0 and t_b > 0.5 * t_a > 0:
            raise InfiniteMomentError(
                f"the mean slowdown of {policy.name} is infinite: sizes near 0 have a "
                f"density ({dens_b:.3g} at 0) while the smallest jobs still wait "
                f"(about {t_b:.4g}), so E[T / X] >= {t_b:.4g} E[1 / X] = inf. Use a size law "
                "bounded away from 0, or report the mean response time.")

    def simulate(self, policy: PolicyLike, jobs: int = 10**6, replications: int = 10,
                 seed: int = 1, *, max_time: float = None, progress: bool = None,
                 **options) -> SimulationResult:
        """Simulate ``policy``: independent replications with a 95% confidence interval
        (``options``: see :func:`qtheory.simulate`). ``max_time``, ``progress``: a time
        budget and a progress bar (:func:`qtheory.budget`)."""
        from ..methods.sim import simulate
        policy = as_policy(policy)
        self._check_descriptor(policy)
        with budget(max_time, f"simulating {policy.name}", progress,
                    fix="raise max_time, or simulate fewer jobs or replications"):
            return simulate(self.numeric(), as_float_copy(policy), jobs=jobs,
                            replications=replications, seed=seed, **options)

    def _check_descriptor(self, policy):
        from ..laws.predictions import is_bit
        from ..policies.catalogue import PriorityClasses
        if (policy.descriptor == "prediction" and self.prediction is None
                and not isinstance(policy, PriorityClasses)):   # classes by size: common
            warn(f"{policy.name} ranks by predicted size, but this queue has no "
                          "prediction model: predictions are taken as perfect (each "
                          "prediction is the size). Say so with prediction=qt.Perfect(), "
                          "or give a noise model such as qt.ExpNoise().", PredictionWarning)
        if policy.descriptor == "bit" and not is_bit(self.prediction):
            raise PolicyError(f"{policy.name} needs one-bit predictions: build the queue with "
                              "prediction=qt.Threshold(T, noise) (or qt.ClassBit(correct=...) "
                              "on a two-component mixture), or call qt.optimal_threshold.")
        if policy.descriptor == "prediction" and is_bit(self.prediction):
            raise PolicyError(f"{policy.name} ranks by predicted size but this queue's "
                              "predictions are one bit (Threshold or ClassBit).")


def _has_symbols(*objects):
    """True when an attribute of an object (or an item of a tuple attribute) is a sympy
    expression with free symbols: a symbolic size law, threshold or policy parameter."""
    values = [v for o in objects for v in getattr(o, "__dict__", {}).values()]
    return is_symbolic(*values, *(v for t in values if isinstance(t, tuple) for v in t))


def _perfect(q):
    from ..laws.predictions import Perfect
    return q.prediction is None or isinstance(q.prediction, Perfect)


def _has_formula(policy):
    from ..methods.formula import FORMULAS
    return type(policy) in FORMULAS
