"""The response-time distribution of an M/G/1 queue under a policy: transform, moments,
CDF, tail and quantiles (docs/theory/distributions.md).

Examples
--------
M/M/1 FCFS: T ~ Exp(μ − λ), so P99 = ln(100) / (μ − λ):

>>> import math
>>> import qtheory as qt
>>> d = qt.MG1(0.5, qt.Exponential(1.0)).response_time_distribution(qt.FCFS)
>>> p99 = d.quantile(0.99)
>>> abs(p99.value - 2 * math.log(100)) < 1e-8, p99.error < 1e-6
(True, True)
>>> round(d.variance().value, 10)     # 1 / (μ − λ)²
4.0
"""

import math
import warnings

import numpy as np

from ...core.budget import budget
from ...core.errors import (
    ConvergenceError,
    InfiniteMomentError,
    ParameterError,
    PerformanceWarning,
    PolicyError,
)
from ...core.numerics import legendre_rule, piece_nodes, split_pieces
from ...core.result import Result
from ...laws.grid import size_cuts
from ...laws.predictions import Perfect, Threshold
from ...laws.transforms import has_closed_transform
from ...policies.catalogue import PS
from .inversion import ORDERS, euler, euler_nodes, rounding
from .noisy import NoisyStructure, covers
from .ps import PSMoments
from .structures import SIZE_DEPENDENT, size_jumps, structure
from .tagged import (
    DESCENDING,
    atom_at_size,
    busy_moments,
    busy_period,
    tagged_lst,
    tagged_moments,
)

#: 32 nodes for moments (no oscillation), 16 on the finer pieces of a transform grid.
_RULES = {32: legendre_rule(32), 16: legendre_rule(16)}
#: The Euler order of a quantile's first Newton steps (about 5 digits: enough to get
#: close, in half the transform values of the final order).
_PILOT = 8
#: e^{-Re(s) x} beyond this is dropped from a transform.
_DECAYED = 45.0


class _Grid:
    """Quadrature nodes of sizes (or levels) on [0, top]: the law's quantile pieces, each
    cut to hold at most two oscillations of e^{-i ω x} (and in ``split`` parts), with the
    weights of the size law; for a discrete law, its atoms up to ``top`` (and ``top``
    itself as a level point with ``with_top``)."""

    def __init__(self, law, top=math.inf, omega=0.0, split=1, with_top=False, nodes=32,
                 jumps=()):
        self.discrete = law.discrete
        self.S, self.WS, self.CUM = _RULES[nodes]
        self.tail = False
        if self.discrete:
            keep = law.values < top if with_top else law.values <= top
            self.x, self.w = law.values[keep], law.weights[keep]
            if with_top:
                self.x, self.w = np.append(self.x, top), np.append(self.w, 0.0)
            return
        c = np.array(size_cuts(law), float)
        c = np.unique(np.concatenate([c, [j for j in jumps if c[0] < j < c[-1]]]))
        if np.isinf(c[-1]) and top > c[-2] and not with_top:
            top = math.inf   # sizes past the last quantile cut (mass < 1e-16): one tail piece
        c = np.unique(np.concatenate([[0.0], c[c < top], [min(top, c[-1])]]))
        if with_top and top > c[-1]:
            # levels past the largest size (a tagged size beyond the support): one more
            # piece, where the level functions no longer change
            c = np.append(c, top)
        a, b = split_pieces(c[:-1], c[1:], omega, nodes, split)
        self.x, self.jac = piece_nodes(a, b, self.S)                   # (pieces, nodes)
        self.tail = bool(np.isinf(b[-1]))
        with np.errstate(all="ignore"):
            pdf = np.where(self.x > 0, np.asarray(law.pdf(self.x), float), 0.0)
        self.w = np.nan_to_num(pdf * self.jac * self.WS)

    def _weighted(self, values):
        if self.discrete:
            widths = np.diff(np.concatenate([[0.0], self.x]))
            return widths.reshape(widths.shape + (1,) * (np.ndim(values) - 1)) * values
        return values * self.jac.reshape(self.jac.shape + (1,) * (np.ndim(values) - 2))

    def integrate_levels(self, values):
        """∫_0^{x_j} g(ℓ) dℓ at every node x_j, from g at the nodes (``values`` shaped like
        the nodes, with trailing axes). For a discrete law g is read at the level points
        and held constant on (previous point, point]."""
        g = self._weighted(values)
        if self.discrete:
            return np.cumsum(g, axis=0)
        within = np.einsum("ij,pj...->pi...", self.CUM, g)
        totals = np.einsum("j,pj...->p...", self.WS, g)
        before = np.concatenate([np.zeros_like(totals[:1]), np.cumsum(totals, axis=0)[:-1]])
        out = within + before[:, None]
        if self.tail:
            # x = a / s on [a, inf): g dx/ds has a 1/s² pole that no interpolant follows;
            # the trapezoid rule in x over the piece's nodes (its mass is below 1e-16)
            x = self.x[-1][::-1]
            v = values[-1][::-1]
            x0 = np.concatenate([[self.x[-2][-1]], x])
            v0 = np.concatenate([values[-2][-1:], v])
            dx = np.diff(x0).reshape((-1,) + (1,) * (v.ndim - 1))
            steps = np.cumsum((v0[1:] + v0[:-1]) / 2 * dx, axis=0)
            out[-1] = (out[-2][-1] + steps)[::-1]
        return out

    def integrate_all(self, values):
        """∫_0^top g(ℓ) dℓ."""
        g = self._weighted(values)
        if self.discrete:
            return g.sum(axis=0)
        return np.einsum("j,pj...->...", self.WS, g)

    def expect(self, values):
        """E[g(X)] over the nodes' weights (the mass beyond ``top`` omitted)."""
        return np.tensordot(self.w, values, axes=(tuple(range(self.w.ndim)),) * 2)


class ClosedStructure:
    """The transform, moments and atom of a tagged job from a policy's closed structure
    (:mod:`~qtheory.methods.distribution.structures`): the fast path."""

    method = "formula"
    #: accuracy of the transform values (:func:`~.inversion.rounding`)
    eps = 1e-15

    def __init__(self, queue, policy):
        self.law = queue.numeric().size
        self.lam = float(queue.arrival_rate)
        self.policy = policy
        self.prediction = queue.prediction
        self._build = structure(policy, queue.prediction)
        #: sizes where T_x jumps (class thresholds): cuts of every grid over sizes
        self.jumps = size_jumps(policy, queue.prediction)

    def _levels(self, x, omega=0.0, split=1):
        return _Grid(self.law, x, omega, split, with_top=True, nodes=16 if omega else 32)

    def _tagged(self, x, s, grid=None, shifted=False):
        """T̃_x(s) at s (shape S) for the single size x, or for every node of ``grid``;
        with ``shifted`` the transform of T_x − x."""
        nodes = np.asarray(x, float) if grid is None else grid.x
        pad = (1,) * np.ndim(s)
        dec = self._build(self.law, nodes.reshape(nodes.shape + pad))
        integral = None
        if dec.residence == DESCENDING:
            omega = float(np.max(np.abs(np.imag(s)), initial=0.0)) + 2 * self.lam
            levels = grid or self._levels(float(x), omega)
            lv = levels.x.reshape(levels.x.shape + pad)
            sigma = self._sigma(dec, lv, s) - (s if shifted else 0)
            integral = (levels.integrate_levels(sigma) if grid is not None
                        else levels.integrate_all(sigma))
        return tagged_lst(s, self.lam, dec, integral, shifted)

    def _sigma(self, dec, levels, s):
        return busy_period(s + 0 * levels, self.lam, dec.new_at(levels))[0]

    def _expect(self, grid, values, bit):
        """E[g(X)] over the grid, or E[g(X) | bit] for the bit of a perfect Threshold
        (0: X < T, 1: X ≥ T)."""
        if bit is None:
            return grid.expect(values)
        T = float(self.prediction.T)
        keep = np.asarray((grid.x >= T) if bit else (grid.x < T), float)
        mass = float(grid.expect(keep))
        if not mass > 0:
            raise ParameterError(f"prediction = {bit!r}: no size of {self.law!r} gets "
                                 "this bit.")
        keep = keep.reshape(keep.shape + (1,) * (np.ndim(values) - keep.ndim))
        return grid.expect(keep * values) / mass

    def transform(self, s, size=None, shifted=False, prediction=None):
        """T̃(s) (1-d s), given the size x with ``size`` (of T − x with ``shifted``); given
        the bit of a perfect Threshold with ``prediction`` (the law of X given the bit)."""
        if size is not None:
            return self._tagged(size, s, shifted=shifted)
        omega = float(np.max(np.abs(s.imag), initial=0.0)) + 2 * self.lam
        grid = _Grid(self.law, _DECAYED / float(np.min(s.real)), omega, nodes=16,
                     jumps=self.jumps)
        return self._expect(grid, self._tagged(None, s, grid), prediction)

    def _given(self, x, grid, split=1):
        """(E[T_x], E[T_x²], E[T_x³]) at the single size x (grid None: its levels in
        ``split`` parts a piece) or at the grid's nodes."""
        nodes = np.asarray(x, float) if grid is None else grid.x
        dec = self._build(self.law, nodes)
        res = None
        if dec.residence == DESCENDING:
            levels = grid or self._levels(float(x), split=split)
            rates = busy_moments(self.lam, dec.new_at(levels.x))
            res = tuple(levels.integrate_levels(v) if grid is not None
                        else levels.integrate_all(v) for v in rates)
        return tagged_moments(self.lam, dec, res)

    def moments(self, size=None, prediction=None):
        """(E[T], E[T²], E[T³]) and their errors: the difference from a second computation
        on pieces cut in half."""
        runs = []
        for split in (2, 1):
            if size is not None:
                runs.append(np.array(self._given(size, None, split), float))
            else:
                grid = _Grid(self.law, split=split, jumps=self.jumps)
                runs.append(np.array([self._expect(grid, m, prediction)
                                      for m in self._given(None, grid)]))
        return runs[0], np.abs(runs[0] - runs[1]) + 1e-15 * np.abs(runs[0])

    def atom(self, size, prediction=None):
        dec = self._build(self.law, np.asarray(size))
        rate = None
        if dec.residence == DESCENDING:
            levels = self._levels(size)
            rate = levels.integrate_all(np.asarray(dec.new_at(levels.x).positive(), float))
        return float(atom_at_size(self.lam, dec, rate))

    def slow(self, size):
        """Why a transform value may take long here, or None."""
        if size is None and not has_closed_transform(self.law) and isinstance(self.policy, SIZE_DEPENDENT):
            return (f"{self.law!r} has no closed-form transform and {self.policy.name}'s new "
                    "work depends on the tagged size: each transform value costs "
                    "O(nodes^2) quadratures per Newton step (seconds to minutes per "
                    "tail value; the moments stay quick). Closed forms: Exponential, "
                    "Erlang, Hyperexponential, Uniform, Empirical.")
        return None


class SoapStructure:
    """The same from the generic SOAP path (:mod:`~qtheory.methods.distribution.generic`),
    with errors from a second computation on 16-point rules."""

    method = "soap"
    #: sums over 10^5 nodes and more: their rounding reaches the tail (as for the noisy ones)
    eps = 1e-14

    def __init__(self, queue, policy):
        from .generic import GenericStructure
        self.g = GenericStructure(queue, policy)
        self.policy = policy
        if self.g.cond:
            # noisy predictions: (y, x) products; measured 5e-11 relative against the
            # closed structure with refined pieces (SPRPT, ExpNoise, tests/test_generic_noisy.py)
            self.eps = 1e-10

    def transform(self, s, size=None, shifted=False, prediction=None):
        return self.g.transform(s, size, shifted)

    def moments(self, size=None, prediction=None):
        a, b = self.g.moments(size, 32), self.g.moments(size, 16)
        return a, np.abs(a - b) + 1e-14 * np.abs(a)

    def atom(self, size, prediction=None):
        return self.g.atom(size)

    def slow(self, size):
        if self.g.cond:
            return (f"{self.policy.name} under noisy predictions by the generic SOAP "
                    "transform: every set of transform values sums products of sizes and "
                    "predictions at ~10^3 thresholds (about a minute per set at moderate "
                    "s; the moments take seconds).")
        if size is not None:
            return None
        return (f"{self.policy.name} by the generic SOAP transform: every set of transform "
                "values solves a busy period at each of ~10^3 threshold ranks over ~10^3 "
                "job nodes (tens of seconds per tail value, minutes per quantile; the "
                "moments and the conditional law given the size stay quick).")


def _backend(queue, policy, method):
    """The closed structure (``"formula"``), the generic path (``"soap"``), or the first
    of the two that covers the policy (``"auto"``)."""
    if isinstance(policy, PS):
        if method == "soap":
            raise PolicyError("PS is not a SOAP policy: use method='formula' (its known "
                              "moments) or method='simulation'.")
        return PSMoments(queue, policy)
    if method == "soap":
        return SoapStructure(queue, policy)
    if covers(policy, queue.prediction):
        return NoisyStructure(queue, policy)
    try:
        return ClosedStructure(queue, policy)
    except PolicyError:
        bound = policy.bind(queue.numeric())
        if method == "formula" or bound.rank is None or bound.arrival_order:
            raise   # not a SOAP policy (PS): the closed structure's message says what is known
    return SoapStructure(queue, policy)


def _condition(queue, policy, backend, size, prediction):
    """(size, prediction) as the backend takes them: a continuous prediction y ≥ 0 for the
    noisy structures, a bit (0 short, 1 long) for one-bit policies, and under perfect
    predictions the size itself (the prediction equals it)."""
    if prediction is None:
        return size, None
    pred = queue.prediction
    if policy.descriptor == "bit" and isinstance(pred, Threshold):
        bit = policy.check_prediction(prediction)
        if isinstance(backend, NoisyStructure):
            return size, bit
        if size is not None:   # perfect bits: the size decides the bit
            if bit != int(size >= float(pred.T)):
                raise ParameterError(f"prediction = {bit} contradicts size = {size:g}: "
                                     f"perfect bits are 1{{X ≥ T}} with T = {pred.T:g}.")
            return size, None
        if not isinstance(backend, ClosedStructure):
            raise PolicyError("conditioning on the bit is available by method='formula'.")
        return None, bit
    if policy.descriptor == "prediction":
        y = policy.check_prediction(prediction)
        if isinstance(backend, NoisyStructure):
            return size, y
        if isinstance(backend, SoapStructure) and backend.g.cond:
            raise PolicyError(f"prediction = {prediction!r}: conditioning on a noisy "
                              "prediction is available from the closed structures (SPRPT, "
                              f"PSPJF, SPJF, Trail); for {policy.name} give size= or no "
                              "condition.")
        if pred is None or isinstance(pred, Perfect):
            if size is not None and size != y:
                raise ParameterError(f"prediction = {y:g} and size = {size:g}: under perfect "
                                     "predictions a job's prediction is its size.")
            if not y > 0:
                raise ParameterError("prediction = 0 under perfect predictions is size 0: "
                                     "give a prediction > 0.")
            return y, None
    raise PolicyError(f"prediction = {prediction!r}: {policy.name} does not rank by "
                      f"predictions under {pred!r}, so the condition is the size alone; "
                      "give size=.")


class ResponseTimeDistribution:
    """The law of the response time T (or of T given the size, with ``size=x``).

    Built from the policy's closed structure where it has one
    (:mod:`qtheory.methods.distribution.structures`, ``method="formula"``), else from the
    generic SOAP path (:mod:`qtheory.methods.distribution.generic`, ``method="soap"``):
    the transform :meth:`lst`, the moments (:meth:`moment`, k = 1, 2, 3), and the CDF,
    tail and quantiles by Euler inversion of the transform with an error estimate from
    two orders (:mod:`qtheory.methods.distribution.inversion`).
    """

    def __init__(self, queue, policy, size=None, method="auto", prediction=None):
        self.queue, self.policy = queue, policy
        self.law = queue.numeric().size
        self.lam = float(queue.arrival_rate)
        size = None if size is None else float(size)
        if size is not None and not (size > 0 and math.isfinite(size)):
            raise ParameterError(f"size = {size!r} is invalid: give a finite job size > 0.")
        self.backend = _backend(queue, policy, method)
        self.size, self.prediction = _condition(queue, policy, self.backend, size, prediction)
        self.given = {} if self.prediction is None else {"prediction": self.prediction}
        self.method = self.backend.method
        self.name = policy.name
        self._warned = False

    def __repr__(self):
        given = [f"size={self.size:g}"] if self.size is not None else []
        if self.prediction is not None:
            given.append(f"prediction={self.prediction:g}")
        bar = f" | {', '.join(given)}" if given else ""
        return f"ResponseTimeDistribution({self.name} on {self.queue!r}{bar})"

    def lst(self, s):
        """E[e^{-sT}] at complex ``s`` (Re s > 0), vectorised."""
        if not self._warned and (why := self.backend.slow(self.size)):
            self._warned = True
            warnings.warn(why, PerformanceWarning, stacklevel=2)
        s = np.asarray(s, complex)
        flat = s.ravel()
        if flat.size and not float(np.min(flat.real)) > 0:
            raise ParameterError("lst needs Re s > 0 (the transform at s = 0 is 1; use "
                                 "moment() for derivatives there).")
        if self.size is not None:
            return (self.backend.transform(flat, self.size, shifted=True, **self.given)
                    * np.exp(-flat * self.size)).reshape(s.shape)
        return self.backend.transform(flat, **self.given).reshape(s.shape)

    def _moments(self):
        if "_m" not in self.__dict__:
            with np.errstate(invalid="ignore"):   # inf - inf where a moment is infinite
                self._m = self.backend.moments(self.size, **self.given)
        return self._m

    def moment(self, k):
        """E[T^k] (k = 1, 2, 3) as a Result, in closed form from the policy's structure."""
        if k not in (1, 2, 3):
            raise ParameterError(f"k = {k!r} is invalid: moments k = 1, 2, 3 are available.")
        m, e = self._moments()
        if math.isnan(m[k - 1]) and isinstance(self.backend, PSMoments):
            raise self.backend.unknown(f"E[T^{k}]")   # not known (elsewhere NaN is inf − inf)
        if not math.isfinite(m[k - 1]):
            raise InfiniteMomentError(
                f"E[T^{k}] under {self.name} is infinite: it needs E[X^{k + 1}] of "
                f"{self.law!r} (through the work a job finds, or a started job's "
                "remainder), which is infinite. The tail P(T > t) still inverts "
                "(d.sf, d.quantile).")
        return Result(float(m[k - 1]), float(e[k - 1]), self.method, self.name,
                      {"kind": "exact", "moment": k})

    def mean(self):
        return self.moment(1)

    def variance(self):
        """Var T = E[T²] − E[T]² as a Result."""
        self.moment(2)   # raises where it is infinite
        (m1, m2, _), (e1, e2, _) = self._moments()
        return Result(float(m2 - m1**2), float(e2 + 2 * abs(m1) * e1), self.method,
                      self.name, {"kind": "exact"})

    # -- inversion ---------------------------------------------------------------------
    def _check_continuous(self):
        if isinstance(self.backend, SoapStructure) and self.backend.g.cond:
            raise PolicyError(
                f"{self.name} under noisy predictions: the tail, density and quantiles by "
                "inversion need the transform at the Euler nodes (|Im s| up to 2 pi M / t), "
                "where the generic transform's products of sizes and predictions grow past "
                "memory (over 18 GB at 21 nodes for t = 10, M/M/1 at 0.8); its moments "
                "(d.moment, d.variance) and its transform at moderate s (d.lst) are "
                "available. Tails and quantiles: method='simulation'.")
        if self.law.discrete:
            raise PolicyError(f"{self.law!r} is discrete, so T has atoms (a job that meets "
                              "no competing work finishes at exactly its size): its CDF "
                              "jumps, and the inversion of the transform cannot resolve "
                              "jumps (it would print a smooth, wrong curve). The transform "
                              "and the moments are exact; the tail comes from "
                              "method='simulation'.")

    def _inverted(self, s):
        """The transform of T − x given the size x (T ≥ x, with an atom at x), else of
        T: what the inversion works on."""
        if self.size is None:
            return self.lst(s)
        s = np.asarray(s, complex)
        return self.backend.transform(s.ravel(), self.size, shifted=True,
                                      **self.given).reshape(s.shape)

    @property
    def _shift(self):
        return 0.0 if self.size is None else self.size

    def atom(self):
        """P(T = x) given the size x (the job meets no work and is never overtaken); 0
        without a size (T then has a density)."""
        if self.size is None:
            return 0.0
        if "_atom" not in self.__dict__:
            self._atom = self.backend.atom(self.size, **self.given)
        return self._atom

    def sf(self, t, error=False):
        """P(T > t) by Euler inversion of (1 − T̃(s))/s (of T − x given the size x); with
        ``error=True`` also the estimated absolute error (difference of two inversion
        orders)."""
        self._check_continuous()
        t = np.atleast_1d(np.asarray(t, float))
        vals, errs = np.empty(t.shape), np.empty(t.shape)
        for i, ti in np.ndenumerate(t):
            u = ti - self._shift
            if u <= 0:
                vals[i], errs[i] = (1.0 if u < 0 or self.size is None else 1 - self.atom()), 0.0
                continue
            v, e = euler(lambda s: (1 - self._inverted(s)) / s, [u], eps=self.backend.eps)
            vals[i], errs[i] = v[0], e[0]
        vals = np.clip(vals, 0.0, 1.0)
        return (vals, errs) if error else vals

    def cdf(self, t, error=False):
        """P(T ≤ t) (see :meth:`sf`)."""
        v, e = self.sf(t, error=True)
        return (1 - v, e) if error else 1 - v

    def pdf(self, t):
        """The density of T by Euler inversion of T̃(s) (given the size: of its continuous
        part, beside the atom at x, :meth:`atom`)."""
        self._check_continuous()
        t = np.atleast_1d(np.asarray(t, float))
        u = t.ravel() - self._shift
        return np.array([euler(self._inverted, [v])[0][0] if v > 0 else 0.0
                         for v in u]).reshape(t.shape)

    def _sf_pdf(self, u, M=ORDERS[0]):
        """P(T − x > u) and its density at u (x = 0 without a size) from one set of
        transform values."""
        beta, eta = euler_nodes(M)
        s = beta / u
        L = self._inverted(s)
        return float(((1 - L) / s).real @ eta / u), float(L.real @ eta / u)

    def _start(self, p):
        """A first guess of the p-quantile of T − x: that of an exponential law with the
        mean E[X]/(1 − ρ) (M/M/1's scale; given the size x, its mean E[T_x] − x). Cheap:
        the moments of some structures cost more than the quantile's transform values."""
        if self.size is not None:
            scale = self.mean().value - self.size
        else:
            m = float(self.law.mean)
            scale = m / max(1 - self.lam * m, 1e-3)
        return max(scale * -math.log1p(-p), 1e-12)

    def quantile(self, p, *, max_time=None, progress=None):
        """The p-quantile (p < 1) as a Result, by Newton's method on log P(T > t) in log t
        (tail and density come from the same transform values). Its error: the tail's
        inversion error (two orders, at the last point) over the density, plus the last
        Newton step. Given the size x, a p at or below the atom P(T = x) has the quantile
        x exactly. ``max_time``, ``progress``: a time budget and a progress bar
        (:func:`qtheory.budget`; wrap any other call in ``with qt.budget(...)``)."""
        with budget(max_time, f"the {p}-quantile of T under {self.name}", progress):
            return self._quantile(p)

    def _quantile(self, p):
        if not 0 < p < 1:
            raise ParameterError(f"p = {p!r} is invalid: a quantile needs 0 < p < 1.")
        self._check_continuous()
        if self.size is not None and p <= self.atom():
            return Result(self.size, 0.0, self.method, self.name,
                          {"kind": "exact (the atom at the size)", "p": p})
        target = math.log1p(-p)
        lt = math.log(self._start(p))
        lo, hi = -math.inf, math.inf
        order = _PILOT       # a low order while far away: about half the transform values
        for _ in range(60):
            u = math.exp(lt)
            sf, pdf = self._sf_pdf(u, order)
            g = math.log(max(sf, 1e-300)) - target
            if g > 0:
                lo = lt
            else:
                hi = lt
            slope = -u * pdf / max(sf, 1e-300)
            step = -g / slope if slope < 0 else math.inf
            if order == _PILOT and abs(step) < 1e-3:
                order, lo, hi = ORDERS[0], -math.inf, math.inf   # the pilot's bracket may
                                                                 # miss the true quantile
            elif abs(step) < 1e-8:
                # Newton converges quadratically: what is left after a step this small is
                # far below it; smaller ones would chase the transform's rounding
                break
            new = lt + max(min(step, 1.0), -1.0)
            if not lo < new < hi:   # bisect when Newton leaves the bracket
                new = (lo + hi) / 2 if math.isfinite(lo + hi) else lt + (1 if g > 0 else -1)
            lt = new
        else:
            raise ConvergenceError(f"the {p}-quantile (Newton on the inverted tail)", u, 0.0)
        if not pdf > 0:
            raise PolicyError(f"the density at the {p}-quantile is not positive ({pdf:g}): "
                              "the quantile is not well defined by inversion here.")
        other, _ = self._sf_pdf(u, ORDERS[1])
        err = abs(sf - other) + rounding(ORDERS[0], self.backend.eps)
        t = u * math.exp(step) + self._shift
        return Result(t, err / pdf + abs(step) * u + 1e-11 * t, self.method, self.name,
                      {"kind": "numerical inversion", "p": p})


class ScaledDistribution:
    """The law of s T from the law of T: a queue whose sizes are far from 1 is computed
    in units of s (:mod:`qtheory.queues.units`), and every answer is scaled back exactly
    (s is a power of two). Same methods as :class:`ResponseTimeDistribution`."""

    def __init__(self, inner, s):
        self.inner, self.s = inner, float(s)
        self.method, self.name, self.policy = inner.method, inner.name, inner.policy

    def __repr__(self):
        return f"{self.inner!r} in units of {self.s:g}"

    def _scaled(self, r, power):
        log2 = math.log2(self.s) * power + math.log2(abs(r.value)) if r.value else 0.0
        if not -1074 < log2 < 1024:
            raise ParameterError(
                f"{'E[T^%d]' % power if power > 1 else 'the value'} of {self.name} is "
                f"{r.value:.6g} x ({self.s:.6g})^{power}, outside double precision: give "
                "the sizes in a unit nearer to them (e.g. qt.Exponential(1.0) and read times "
                f"in units of {self.s:.6g}).")
        f = self.s**power
        return Result(r.value * f, r.error * f, r.method, r.policy,
                      {**r.details, "unit": self.s})

    def lst(self, s):
        return self.inner.lst(np.asarray(s, complex) * self.s)

    def moment(self, k):
        return self._scaled(self.inner.moment(k), k)

    def mean(self):
        return self.moment(1)

    def variance(self):
        return self._scaled(self.inner.variance(), 2)

    def atom(self):
        return self.inner.atom()

    def sf(self, t, error=False):
        return self.inner.sf(np.asarray(t, float) / self.s, error)

    def cdf(self, t, error=False):
        return self.inner.cdf(np.asarray(t, float) / self.s, error)

    def pdf(self, t):
        return self.inner.pdf(np.asarray(t, float) / self.s) / self.s

    def quantile(self, p, **budget_options):
        return self._scaled(self.inner.quantile(p, **budget_options), 1)
