"""Dispatching to n separate queues: ``qt.Dispatch(arrival_rate, size, servers=n, rule=...,
policy=..., prediction=None)``.

``arrival_rate`` is the TOTAL rate; a queue's load is arrival_rate E[X] / n, and the
mean field (n -> infinity) keeps it fixed. What each number is (``details["kind"]``):

- "exact": Random (each queue an M/G/1 at lambda / n under the policy, by the one-server
  methods), SITA (queue i an M/G/1 with arrival rate lambda P(X in I_i) and the law of X
  given its size interval, or given its predicted interval with ``predicted=True``),
  RoundRobin with FCFS queues and exponential sizes (each queue E_n/M/1: Erlang-n gaps,
  E[T] = 1/(mu(1 - sigma)), sigma = (lambda / (lambda + mu (1 - sigma)))^n, the GI/M/1
  root; Kleinrock, Queueing Systems I, section 6.4), LeastWork(d=None) with FCFS queues and
  exponential sizes (the central M/M/n FCFS queue, path by path: Erlang C).
- "mean-field limit n -> infinity" (:mod:`qtheory.methods.meanfield`): JSQ(d) with FCFS
  queues and exponential sizes (closed form); JSQ(d) with FCFS or non-preemptive one-bit
  queues, or preemptive-resume ones, on a two-component exponential mixture with
  ``qt.ClassBit`` advice (ODE fixed point); LeastWork(d) with FCFS queues (exponential sizes in closed form, any size law by
  the Hellemans-Van Houdt integral equation).
- "simulation": the dispatch simulator (:mod:`qtheory.methods.sim.dispatch`), any rule,
  FCFS / SRPT / SPRPT / SJF / SPJF / one-bit / priority classes / PS per queue.

The measured gap of the mean field to simulation as n grows is in :class:`Dispatch`.
"""

import math

import numpy as np

from ..core.errors import ParameterError, PolicyError, UnstableError
from ..core.params import Param, positive
from ..core.result import Result
from ..laws.convert import as_size_law
from ..laws.predictions import as_prediction, is_bit
from ..policies.catalogue import as_policy
from ..policies.dispatch_rules import JSQ, SITA, LeastWork, Random, RoundRobin, as_rule

METHODS = ("auto", "exact", "mean-field", "simulation")
MEAN_FIELD = "mean-field limit n -> infinity"


class Dispatch:
    """n queues, each with one server and its own copy of ``policy``; a dispatcher sends
    each arriving job (Poisson, total rate ``arrival_rate``) to one of them by ``rule``.

    Mean field against simulation, JSQ(2), FCFS, Exp(1) sizes, load 0.9 per queue (mean
    field 2.614057; simulation 10 replications, seed 1, 2e5 jobs each for n = 10 and 100,
    2e6 for n = 1000; measured): n = 10: 3.1114 +- 0.0178 (gap +19.0 %); n = 100:
    2.6569 +- 0.0113 (+1.64 %); n = 1000: 2.6154 +- 0.0036 (+0.05 %, within 1 SE). The
    gap shrinks like 1/n (tenfold from n = 10 to 100).

    Examples
    --------
    >>> import qtheory as qt
    >>> f = qt.Dispatch(0.8 * 100, qt.Exponential(1.0), servers=100, rule=qt.JSQ(d=2))
    >>> r = f.mean_response_time(method="mean-field")
    >>> round(r.value, 6), r.details["kind"]        # sum_i 0.8^(2^i - 2)
    (1.947363, 'mean-field limit n -> infinity')
    >>> f = qt.Dispatch(4.0, qt.Exponential(1.0), servers=5, rule=qt.Random())
    >>> round(float(f.mean_response_time(method="exact")), 12)   # M/M/1 at 0.8
    5.0
    """

    arrival_rate = Param(positive)

    def __init__(self, arrival_rate, size, servers=2, rule=None, policy=None, prediction=None):
        self.arrival_rate = arrival_rate
        self.size = as_size_law(size)
        if isinstance(servers, bool) or not isinstance(servers, (int, np.integer)) \
                or not 1 <= servers <= 10**6:
            raise ParameterError(f"servers = {servers!r} is invalid: pass the number of "
                                 "queues, an integer from 1 to 10^6.")
        self.servers = int(servers)
        self.rule = as_rule(JSQ(d=2) if rule is None else rule)
        if self.rule.d is not None and self.rule.d > self.servers:
            raise ParameterError(f"d = {self.rule.d} is invalid for servers = {servers}: "
                                 f"sample at most {servers} queues (or d=None for all).")
        self.rule.check(self.servers)
        from ..policies.catalogue import FCFS
        self.policy = as_policy(FCFS if policy is None else policy)
        self.prediction = as_prediction(prediction)
        if hasattr(self.prediction, "bind"):
            self.prediction = self.prediction.bind(self.size)
        self.bit = self.prediction if is_bit(self.prediction) else None
        if self.policy.descriptor == "bit" and self.bit is None:
            raise PolicyError(f"{self.policy.name} needs one-bit predictions: pass "
                              "prediction=qt.ClassBit(correct=...) or qt.Threshold(T, noise).")
        if self.policy.descriptor == "prediction" and self.bit is not None:
            raise PolicyError(f"{self.policy.name} ranks by predicted size but the predictions "
                              "are one bit.")
        if getattr(self.rule, "predicted", False) and (self.prediction is None or self.bit):
            raise ParameterError(f"{self.rule!r} dispatches on predicted sizes: pass a "
                                 "prediction model such as qt.ExpNoise() (not a one-bit one).")
        mean = self.size.mean
        if not self.load < 1:
            raise UnstableError(self.load, f"the load per queue is arrival_rate E[X] / servers "
                                f"= {self.load:.6g}; lower arrival_rate below "
                                f"{self.servers / mean:.6g}")

        if isinstance(self.rule, SITA) and not self.rule.predicted:
            e, lam = self.rule.edges, float(self.arrival_rate)
            pm = [0.0, *(self.size.partial_moment(1, c) for c in e[1:-1]), mean]
            for i, (a, b) in enumerate(zip(pm[:-1], pm[1:])):
                if not lam * (b - a) < 1:
                    raise UnstableError(lam * (b - a), f"SITA's queue {i} (sizes in "
                                        f"[{e[i]:.6g}, {e[i + 1]:.6g})) is overloaded; move "
                                        "the cutoffs (qt.optimal_cutoffs) or lower "
                                        "arrival_rate")

    def __repr__(self):
        pred = f", prediction={self.prediction!r}" if self.prediction is not None else ""
        return (f"Dispatch(arrival_rate={self.arrival_rate!r}, size={self.size!r}, servers="
                f"{self.servers}, rule={self.rule!r}, policy={self.policy.name}{pred})")

    @property
    def load(self):
        """Load per queue, arrival_rate E[X] / servers."""
        return float(self.arrival_rate) * self.size.mean / self.servers

    # -- exact -------------------------------------------------------------------------------
    def queues(self):
        """For rules with an exact answer: a list of (probability a job joins it, MG1) per
        queue (Random: one representative queue with probability 1)."""
        from .mg1 import MG1
        lam, rule = float(self.arrival_rate), self.rule
        if isinstance(rule, Random):
            return [(1.0, MG1(lam / self.servers, self.size, self.prediction))]
        if isinstance(rule, SITA):
            from ..laws.conditional import Interval, PredictedInterval
            if rule.predicted and self.policy.descriptor == "prediction":
                raise PolicyError("SITA on predicted sizes with a prediction-based policy per "
                                  "queue has no exact method here (each queue would need the "
                                  "law of its predictions given the interval); use "
                                  "method='simulation'.")
            if self.bit is not None:
                raise PolicyError("SITA with one-bit queues: use method='simulation'.")
            out = []
            e = rule.edges
            for lo, hi in zip(e[:-1], e[1:]):
                law = PredictedInterval(self.size, self.prediction, lo, hi) if rule.predicted \
                    else Interval(self.size, lo, hi)
                pred = None if rule.predicted or self.prediction is None else self.prediction
                out.append((law.mass, MG1(lam * law.mass, law, pred)))
            return out
        raise PolicyError(f"{rule!r} has no per-queue exact decomposition.")

    def _exact(self, **options):
        rule = self.rule
        if isinstance(rule, RoundRobin):
            return self._round_robin()
        if isinstance(rule, LeastWork) and rule.d is None and not rule.predicted:
            return self._least_work_all()
        if not isinstance(rule, (Random, SITA)):
            raise PolicyError(f"{rule!r} has no exact result: use method='mean-field' (the "
                              "n -> infinity limit, where available) or method='simulation'.")
        total, err = 0.0, 0.0
        per = []
        for p, q in self.queues():
            r = q.mean_response_time(self.policy, **options)
            total += p * float(r)
            err += p * float(r.error)
            per.append(float(r))
        src = ("Poisson splitting: each queue M/G/1 at lambda / n" if isinstance(rule, Random)
               else "SITA: queue i is M/G/1 with the law of its interval")
        return Result(total, err, "exact", self.policy.name,
                      {"kind": "exact", "source": src, "per_queue": per})

    def _least_work_all(self):
        """Least work of all n FCFS queues is the central M/G/n FCFS queue, path by path
        (a job waits exactly as long as the first of n servers to free up): exact where
        M/G/n FCFS is, i.e. Erlang C for exponential sizes."""
        from ..laws.sizes import Exponential
        from ..policies.catalogue import FCFS
        from .mgk import MGk
        if not (isinstance(self.policy, FCFS) and isinstance(self.size, Exponential)):
            raise PolicyError("LeastWork(d=None) with FCFS queues is the central M/G/n FCFS "
                              "queue, exact here for exponential sizes (Erlang C); use "
                              "qt.MGk(...) for its approximations, or method='simulation'.")
        r = MGk(self.arrival_rate, self.size, self.servers).mean_response_time(
            self.policy, method="exact")
        return Result(r.value, r.error, "exact", self.policy.name,
                      {"kind": "exact", "source": "least work of all FCFS queues = M/M/n "
                       "FCFS (Erlang C)"})

    def _round_robin(self):
        from scipy.optimize import brentq

        from ..laws.sizes import Exponential
        from ..policies.catalogue import FCFS
        if not (isinstance(self.policy, FCFS) and isinstance(self.size, Exponential)):
            raise PolicyError("RoundRobin has an exact result only for FCFS queues and "
                              "exponential sizes (E_n/M/1); use method='simulation'.")
        lam, mu, n = float(self.arrival_rate), float(self.size.rate), self.servers
        # sigma = A*(mu (1 - sigma)), A*(s) = (lam / (lam + s))^n: the root in (0, 1)
        g = lambda s: (lam / (lam + mu * (1 - s))) ** n - s
        sigma = brentq(g, 0.0, 1.0 - 1e-15 if g(1 - 1e-15) < 0 else 1.0 - 1e-12,
                       xtol=1e-16, rtol=1e-15) if n > 1 else lam / mu
        value = 1.0 / (mu * (1.0 - sigma))
        return Result(value, 8e-16 * value / (1 - sigma), "exact", self.policy.name,
                      {"kind": "exact", "source": "E_n/M/1 (GI/M/1 root sigma)",
                       "sigma": sigma})

    # -- mean field --------------------------------------------------------------------------
    def _mean_field(self):
        from ..laws.sizes import Exponential, Hyperexponential
        from ..methods import meanfield as MF
        from ..policies.catalogue import FCFS, OneBit
        rule, pol, lam = self.rule, self.policy, float(self.arrival_rate) / self.servers
        d = rule.d
        if isinstance(rule, Random) or (isinstance(rule, (JSQ, LeastWork)) and d == 1
                                        and not getattr(rule, "advice", False)):
            r = self._exact() if isinstance(rule, Random) else \
                Dispatch(self.arrival_rate, self.size, self.servers, Random(), pol,
                         self.prediction)._exact()   # one sample: a random queue
            return Result(r.value, r.error, "mean-field", pol.name,
                          {"kind": MEAN_FIELD, "source": "Random: independent M/G/1 queues "
                           "for every n"})
        if d is None or not isinstance(rule, (JSQ, LeastWork)) or getattr(rule, "advice", False):
            raise PolicyError(f"{rule!r} has no mean-field analysis here (JSQ(d) and "
                              "LeastWork(d) with finite d do); use method='simulation'.")
        if isinstance(rule, LeastWork):
            if not isinstance(pol, FCFS) or rule.predicted:
                raise PolicyError("LeastWork(d)'s mean field is for FCFS queues and true sizes "
                                  "(Hellemans & Van Houdt 2018); dispatching on predicted work "
                                  "is simulation only: method='simulation'.")
            m = self.size.mean
            if isinstance(self.size, Exponential):
                v, e, src = m * MF.ll_exponential(lam * m, d), 1e-13, "LL(d), closed form"
            else:
                v, e = MF.ll_general(self.size, lam, d)
                src = "LL(d), Hellemans-Van Houdt integral equation (arXiv 1802.05420)"
            return Result(v, e, "mean-field", pol.name, {"kind": MEAN_FIELD, "source": src})
        # JSQ(d)
        if isinstance(pol, FCFS) and isinstance(self.size, Exponential):
            m = self.size.mean
            return Result(m * MF.jsq_exponential(lam * m, d), 1e-15 * m, "mean-field", pol.name,
                          {"kind": MEAN_FIELD, "source": "JSQ(d): Mitzenmacher 1996, "
                           "Vvedenskaya et al. 1996"})
        H2 = isinstance(self.size, Hyperexponential) and len(self.size.probs) == 2
        onebit = isinstance(pol, OneBit) and pol.preemptive in (False, "resume") and \
            type(self.bit).__name__ == "ClassBit"
        if H2 and (isinstance(pol, FCFS) or onebit):
            qs = self.bit.short_given_class if onebit else (0.5, 0.5)
            # FCFS: a bit independent of the component leaves the counts' law unchanged
            v, res = MF.onebit_jsq(lam, self.size.probs, self.size.rates, qs, d,
                                   preemptive=pol.preemptive if onebit else False)
            return Result(v, max(res, 1e-12) * v, "mean-field", pol.name,
                          {"kind": MEAN_FIELD, "source": "JSQ(d) with one bit of advice: "
                           "mean-field ODE fixed point (Mitzenmacher 2021)", "residual": res})
        raise PolicyError(f"JSQ(d)'s mean field here covers FCFS queues with exponential or "
                          f"two-phase hyperexponential sizes, and OneBit(False or 'resume') queues "
                          f"with "
                          f"qt.ClassBit advice; {pol.name} on {self.size!r}: use "
                          "method='simulation'.")

    # -- answers -----------------------------------------------------------------------------
    def mean_response_time(self, method="auto", **options):
        """E[T] by ``method``: "exact", "mean-field" (the n -> infinity limit), "simulation"
        (options as :meth:`simulate`), or "auto" (exact, else mean-field)."""
        if method not in METHODS:
            raise ParameterError(f"method = {method!r} is invalid: use one of {METHODS}.")
        if method == "simulation":
            return self.simulate(**options)
        if method == "exact":
            return self._exact(**options)
        if method == "mean-field":
            return self._mean_field()
        try:
            return self._exact(**options)
        except PolicyError:
            pass
        try:
            return self._mean_field()
        except PolicyError:
            raise PolicyError(f"{self.rule!r} with {self.policy.name} queues has neither an "
                              "exact nor a mean-field value here: use method='simulation'.") \
                from None

    def validate(self, policy=None, jobs=200_000, replications=10, seed=1, z_max=None,
                 **sim_options):
        """Every method side by side (what :func:`qtheory.validate` calls on a Dispatch):
        the exact value (held to the simulation's CI by a Student-t test of z), the
        mean-field limit (held to the CI plus 5/n of its value: it is the n -> infinity
        limit, finite systems differ by O(1/n)) and the simulation. ``policy`` replaces
        the queues' policy.

        Examples
        --------
        >>> import qtheory as qt
        >>> f = qt.Dispatch(1.2, qt.Exponential(1.0), servers=2, rule=qt.SITA([1.5]))
        >>> r = qt.validate(f, jobs=40_000, replications=4, seed=1)
        >>> r.passed, [row.method for row in r.rows]
        (True, ['exact', 'mean-field', 'simulation'])
        """
        return _validate(self, policy, jobs, replications, seed, z_max, **sim_options)

    def simulate(self, jobs=10**6, replications=10, seed=1, warmup=None, **options):
        """Simulate the n queues (:func:`qtheory.methods.sim.dispatch.simulate_dispatch`):
        a :class:`~qtheory.core.result.SimulationResult`, per-queue means in
        ``details["per_queue"]``."""
        from ..methods.sim.dispatch import simulate_dispatch
        return simulate_dispatch(self, jobs=jobs, replications=replications, seed=seed,
                                 warmup=warmup, **options)


def _validate(f, policy=None, jobs=200_000, replications=10, seed=1, z_max=None,
              **sim_options):
    from ..core.report import Z_MAX, Report, Row, t_limit
    if policy is not None:
        f = Dispatch(f.arrival_rate, f.size, f.servers, f.rule, policy, f.prediction)
    z_max = Z_MAX if z_max is None else z_max
    report = Report(repr(f), f.policy.name, z_max=z_max)
    for name, fn in (("exact", f._exact), ("mean-field", f._mean_field)):
        try:
            r = fn()
            if name == "mean-field" and isinstance(f.rule, Random):
                continue          # the exact row already (the same number)
            report.rows.append(Row(name, r.value, r.error, status="ok",
                                   note=r.details.get("source", "")))
        except PolicyError as exc:
            report.rows.append(Row(name, status="n/a", note=str(exc).split(":")[0]))
    if jobs:
        s = f.simulate(jobs=jobs, replications=replications, seed=seed, **sim_options)
        sim = Row("simulation", s.value, s.error, s.ci, status="ok",
                  note=f"{replications} x {jobs} jobs, n = {f.servers}")
        limit = t_limit(z_max, replications)
        for row in report.rows:
            if row.status != "ok":
                continue
            row.z = (s.value - row.value) / math.hypot(s.error, row.error)
            if row.method == "exact" and abs(row.z) >= limit:
                row.status = sim.status = "FAIL"
                row.note += f"; simulation |z| = {abs(row.z):.1f} >= {limit:.2f}"
            elif row.method == "mean-field":
                # a limit: the finite system may differ by O(1/n); held to 5/n of it
                gap = s.value - row.value
                row.note += f"; finite n = {f.servers} is {100 * gap / row.value:+.2g}% off"
                if abs(gap) > limit * math.hypot(s.error, row.error) + 5.0 / f.servers * row.value:
                    row.status = sim.status = "FAIL"
                    row.note += " (beyond the CI + 5/n)"
        report.rows.append(sim)
    return report


def optimal_cutoffs(arrival_rate, size, servers=2, policy=None, prediction=None,
                    predicted=False):
    """SITA cutoffs c_1 < ... < c_{n-1} minimising the exact mean response time
    E[T] = sum_i P(job joins i) E[T_i] of :class:`Dispatch` with rule SITA (on sizes, or
    on predictions with ``predicted=True``), by Nelder-Mead on the cutoffs' logarithms
    (n = 2: bounded Brent search on log c), starting from cutoffs that split the load
    evenly. Returns ``(cutoffs, Result)``.

    Examples
    --------
    >>> import qtheory as qt
    >>> c, r = optimal_cutoffs(1.6, qt.Hyperexponential((0.9, 0.1), (2.0, 0.2)), servers=2)
    >>> r.value < float(qt.Dispatch(1.6, qt.Hyperexponential((0.9, 0.1), (2.0, 0.2)), 2,
    ...                             rule=qt.Random()).mean_response_time())
    True
    """
    from scipy import optimize
    size = as_size_law(size)
    lam = float(arrival_rate)
    m = size.mean

    def value(logc):
        c = np.sort(np.exp(np.atleast_1d(logc)))
        if np.any(np.diff(c) <= 0):
            return math.inf
        try:
            f = Dispatch(lam, size, servers, SITA(c, predicted), policy, prediction)
            return float(f.mean_response_time(method="exact"))
        except (UnstableError, ParameterError):
            return math.inf

    # even split of the load: E[X; X <= c_k] = k/n E[X]
    from scipy.optimize import brentq
    start = []
    for k in range(1, servers):
        target = k / servers * m
        hi = m
        while size.partial_moment(1, hi) < target:
            hi *= 2
        start.append(math.log(brentq(lambda c: size.partial_moment(1, c) - target, 1e-12 * m, hi)))
    if servers == 2 and not predicted:
        # the cutoffs where a queue's load reaches 1 - 1e-9 bound the search
        s0 = start[0]
        load1 = lambda lc: lam * size.partial_moment(1, math.exp(lc)) - (1 - 1e-9)
        load2 = lambda lc: lam * (m - size.partial_moment(1, math.exp(lc))) - (1 - 1e-9)
        lo, hi = s0 - 30, s0 + 30
        if load2(lo) > 0:
            lo = brentq(load2, lo, s0)
        if load1(hi) > 0:
            hi = brentq(load1, s0, hi)
        res = optimize.minimize_scalar(value, bounds=(lo, hi), method="bounded",
                                       options={"xatol": 1e-8})
        best = np.array([res.x])
    else:
        res = optimize.minimize(value, np.array(start), method="Nelder-Mead",
                                options={"xatol": 1e-7, "fatol": 1e-12, "maxiter": 4000})
        best = np.sort(res.x)
    cuts = tuple(float(v) for v in np.exp(best))
    f = Dispatch(lam, size, servers, SITA(cuts, predicted), policy, prediction)
    return cuts, f.mean_response_time(method="exact")
