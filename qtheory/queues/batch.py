"""Batch service with a memory cap: the M/G_k^(a,b)/1 bulk queue (docs/theory/batch.md).

Poisson(λ) arrivals wait in one FCFS queue. When the server frees up it takes
K = min(queue, b) jobs if at least ``a`` wait, otherwise it waits until ``a`` do and
takes them. A batch of k jobs is served in time S_k, whose law may depend on k (for GPU
inference S_k = α k + τ_0 is the classic fit). The cap b comes from memory:
b = ⌊M / m⌋ for a memory budget M and per-request reserved memory m.

Exact methods (they share nothing but the service laws):

* ``method="chain"`` (default): the number X left waiting at batch departures is a
  Markov chain, X' = (X − b)⁺ + A_{K(X)}, K(x) = min(max(x, a), b), A_k = Poisson
  arrivals during S_k. Its stationary law π is found on 0..N with the mass beyond N
  lumped into N; N grows until the mass above 0.9 N is below 1e-12.
* ``method="roots"``: the probability generating function of π; its b − 1 unknown
  boundary probabilities come from the zeros of z^b − Ã_b(z) inside the unit disk
  (Lambert-W in closed form for deterministic S_b, Newton otherwise); E[X] follows
  from the PGF's derivative at 1. The linear system is Vandermonde-like and loses about
  0.5 b digits, so it is set up in mpmath with 30 + 0.6 b digits and solved in binary
  fixed point on Python integers (:func:`~qtheory.queues.batch_roots.fixed_point_solve`); its cost grows like
  b³ · digits², so it is a cross-check for moderate b (see benchmarks/bench_batch.py).

Both give E[T] by level crossing + PASTA::

    E[T] = Σ_x π_x K(x) [(x − b)⁺ + λ E S_{K(x)} + (K(x) − 1)/2] / (λ Σ_x π_x K(x)).

(A departing job leaves behind X' jobs; it saw λ E[T] arrivals in the system on
average, of which the (K − 1)/2 later members of its own batch left with it.)

Closed forms (symbolic parameters allowed): :func:`inoue_bound` (b = ∞, deterministic
affine batch times; Inoue 2021), :func:`mm_ab1_mean_response_time` (exponential batch
times), :func:`mg1_clipped_mean_response_time` (one request at a time, output clipped).
"""

import math
import numbers

import numpy as np
import sympy

from ..core.errors import ParameterError, PolicyError, UnstableError
from ..core.params import Param, is_symbolic, positive
from ..core.report import Report
from ..core.result import Result, SimulationResult
from ..laws.sizes import (
    Exponential,
    SizeLaw,
)
from .batch_chain import TAIL_MASS, chain_summary, stationary
from .batch_forms import (
    inoue_bound,
    inoue_phi0,
    inoue_phi1,
    mg1_clipped_mean_response_time,
    mm_ab1_mean_response_time,
)
from .batch_roots import (
    pgf_roots,
    roots_summary,
)
from .batch_service import BatchService

__all__ = ["BatchQueue", "inoue_phi0", "inoue_phi1", "inoue_bound",
           "mm_ab1_mean_response_time", "mg1_clipped_mean_response_time"]

_POLICY = "BatchQueue"


class BatchQueue:
    """The M/G_k^(a,b)/1 batch-service queue of docs/theory/batch.md.

    Parameters
    ----------
    arrival_rate : float or sympy expression
        Poisson arrival rate λ > 0.
    batch_time : callable, number or size law
        ``batch_time(k)`` gives the service time of a batch of k jobs: a number
        (deterministic), a :class:`~qtheory.laws.sizes.SizeLaw` or a frozen
        ``scipy.stats`` law. A number or a law (not callable) means S_k does not depend
        on k.
    max_batch : int or None
        The cap b (``None`` or ``math.inf``: no cap).
    min_batch : int
        The threshold a: the server waits until a jobs are present (a = b is the WAIT
        policy).

    Examples
    --------
    The reference of docs/theory/batch.md (b = 8, deterministic affine batch times):

    >>> b = BatchQueue(2.37, lambda k: 0.1438 * k + 1.8874, max_batch=8)
    >>> r = b.mean_response_time()
    >>> round(r.value, 5), r.method
    (5.52148, 'chain')
    >>> abs(b.mean_response_time(method="roots").value - r.value) < 1e-9
    True
    >>> round(b.capacity, 4), round(b.utilisation(), 4), round(b.mean_batch_size(), 4)
    (2.6335, 0.9998, 6.7874)

    A memory budget of 80 units and 10 per request gives the same cap:

    >>> BatchQueue.from_memory(2.37, 80, 10, lambda k: 0.1438 * k + 1.8874).max_batch
    8
    """

    arrival_rate = Param(positive)

    def __init__(self, arrival_rate, batch_time, max_batch=None, min_batch=1):
        self.arrival_rate = arrival_rate
        self.max_batch = _check_batch("max_batch", max_batch, allow_inf=True)
        self.min_batch = _check_batch("min_batch", min_batch, allow_inf=False)
        if self.min_batch > self.max_batch:
            raise ParameterError(f"min_batch = {min_batch!r} exceeds max_batch = {max_batch!r}: "
                                 "the server could never start; lower min_batch.")
        if not (callable(batch_time) and not isinstance(batch_time, SizeLaw)
                and not hasattr(batch_time, "rvs")):
            constant = batch_time
            batch_time = lambda k: constant  # noqa: E731  (S_k independent of k)
        self.batch_time = batch_time
        self._svc = {}
        self._summaries = {}
        self.symbolic = is_symbolic(arrival_rate, self._service_value(self.min_batch))
        if not self.symbolic:
            self.check_stable()

    @classmethod
    def from_memory(cls, arrival_rate, memory, job_memory, batch_time, min_batch=1):
        """The queue whose cap is b = ⌊memory / job_memory⌋ requests.

        Examples
        --------
        >>> BatchQueue.from_memory(1.0, 5.0, 8.0, 1.0)
        Traceback (most recent call last):
        ...
        qtheory.core.errors.ParameterError: memory = 5.0 is smaller than one request's job_memory = 8.0: no batch fits; raise memory or lower job_memory.
        """
        for name, v in (("memory", memory), ("job_memory", job_memory)):
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not (0 < v < math.inf):
                raise ParameterError(f"{name} = {v!r} is invalid: it must be a positive "
                                     "finite number.")
        if memory < job_memory:
            raise ParameterError(f"memory = {memory!r} is smaller than one request's job_memory "
                                 f"= {job_memory!r}: no batch fits; raise memory or lower "
                                 "job_memory.")
        b = int(math.floor(memory / job_memory * (1 + 1e-12)))
        return cls(arrival_rate, batch_time, max_batch=b, min_batch=min_batch)

    @classmethod
    def affine(cls, arrival_rate, alpha, tau0, max_batch=None, min_batch=1):
        """Deterministic batch times S_k = alpha k + tau0 (Inoue 2021's GPU fit)."""
        q = cls(arrival_rate, lambda k: alpha * k + tau0, max_batch, min_batch)
        q.alpha, q.tau0 = alpha, tau0
        return q

    def __repr__(self):
        b = "inf" if self.max_batch == math.inf else self.max_batch
        return (f"BatchQueue(arrival_rate={self.arrival_rate!r}, max_batch={b}, "
                f"min_batch={self.min_batch})")

    # -- service laws --------------------------------------------------------------------
    def service(self, k):
        """The law of S_k (cached)."""
        k = int(k)
        if k not in self._svc:
            self._svc[k] = BatchService(self.batch_time(k), k)
        return self._svc[k]

    def _service_value(self, k):
        s = self.service(k)
        return s.mean

    @property
    def finite_cap(self):
        """max_batch, or None when it is infinite."""
        return self.max_batch if self.max_batch != math.inf else None

    @property
    def capacity(self):
        """Jobs per unit time at saturation: b / E[S_b] (for b = ∞, k / E[S_k] at
        k = 10⁶, which for S_k = α k + τ_0 is ≈ 1/α)."""
        b = self.finite_cap if self.finite_cap is not None else 10**6
        return b / self.service(b).mean

    @property
    def load(self):
        """λ / capacity: the queue is stable iff this is below 1."""
        return self.arrival_rate / self.capacity

    def stability_margin(self):
        """1 − λ / capacity (positive iff stable)."""
        return 1.0 - self.load

    def check_stable(self):
        rho = self.load
        if not rho < 1:
            raise UnstableError(rho, f"capacity b/E[S_b] = {self.capacity:.6g} jobs per unit "
                                     f"time is below arrival_rate = {self.arrival_rate!r}; lower "
                                     "arrival_rate or raise max_batch (memory)")

    # -- the pieces the exact methods share -------------------------------------------------
    def batch_size(self, x):
        """K(x) = min(max(x, a), b): the jobs a batch takes when x wait."""
        a, b = self.min_batch, self.max_batch
        return np.minimum(np.maximum(x, a), b if b != math.inf else np.iinfo(np.int64).max)

    def arrival_pmfs(self, ks):
        """For each batch size k: (first index, pmf) of the Poisson arrivals during S_k."""
        lam = float(self.arrival_rate)
        out = {}
        for k in ks:
            k = int(k)
            s = self.service(k)
            if not hasattr(s, "_pmf"):
                s._pmf = s.arrivals_pmf(lam)
            out[k] = s._pmf
        return out

    def stationary(self, tail=TAIL_MASS, max_states=2_000_000):
        """π, the law of the number waiting right after a batch departure, on 0..N (the
        truncated embedded chain, :mod:`qtheory.queues.batch_chain`).

        Examples
        --------
        >>> pi = BatchQueue(0.5, 1.0, max_batch=1).stationary()   # M/D/1
        >>> float(round(pi[0], 12))   # P(empty after a departure) = 1 - rho
        0.5
        """
        return stationary(self, tail, max_states)

    # -- exact: PGF roots ------------------------------------------------------------------
    def roots(self, dps=None):
        """The b − 1 zeros of z^b − Ã_b(z) in the unit disk other than z = 1, as mpmath
        complex numbers (Ã_b(z) = E[z^{A_b}] = E[exp(-λ(1 − z) S_b)])."""
        return pgf_roots(self, dps)

    # -- answers ---------------------------------------------------------------------------
    def _summary_for(self, method):
        if self.symbolic:
            raise PolicyError("exact methods need numeric parameters; with sympy symbols use "
                              "method='formula' (M/M^(a,b)/1, M/G/1) or inoue_bound().")
        if method in ("auto", "chain"):
            if self._summaries.get("chain") is None:
                self._summaries["chain"] = chain_summary(self)
            return self._summaries["chain"], "chain"
        if method == "roots":
            if self._summaries.get("roots") is None:
                self._summaries["roots"] = roots_summary(self)
            return self._summaries["roots"], "roots"
        raise ParameterError(f"method = {method!r} is invalid: use 'chain', 'roots', "
                             "'formula', 'bound' or 'simulation'.")

    def mean_response_time(self, method: str = "auto", **options) -> Result:
        """E[T], mean time from arrival to the end of the job's batch.

        ``method``: "auto"/"chain" (truncated embedded chain), "roots" (PGF roots),
        "formula" (a closed form: M/M^(a,b)/1 for exponential k-independent batch times,
        Pollaczek–Khinchine for b = 1), "bound" (Inoue's min(φ0, φ1) ≥ E[T], b = ∞,
        a = 1, affine deterministic batch times) or "simulation".
        """
        if method == "simulation":
            return self.simulate(**options)
        if method == "formula" or (method == "auto" and self.symbolic):
            r = self._formula()
            return r.value if is_symbolic(r.value) else r
        if method == "bound":
            alpha, tau0 = self._affine()
            if self.max_batch != math.inf or self.min_batch != 1:
                raise PolicyError("Inoue's bound is for max_batch = inf and min_batch = 1.")
            return Result(inoue_bound(self.arrival_rate, alpha, tau0), 0.0, "bound", _POLICY,
                          details={"kind": "upper bound", "source": "Inoue 2021, arXiv 1912.06322"})
        s, m = self._summary_for(method)
        return Result(s["T"], s["error"], m, _POLICY,
                      details={k: v for k, v in s.items() if k not in ("T", "error")})

    def mean_wait(self, method: str = "auto") -> Result:
        """E[W] = E[T] − E[batch time of the job's batch] (time until its batch starts)."""
        s, m = self._summary_for(method)
        return Result(s["T"] - s["ES_job"], s["error"], m, _POLICY)

    def mean_batch_size(self, method: str = "auto") -> float:
        """E[K], the mean number of jobs per batch."""
        return self._summary_for(method)[0]["EK"]

    def utilisation(self, method: str = "auto") -> float:
        """Fraction of time the server is busy: λ E[S_K] / E[K]."""
        return self._summary_for(method)[0]["busy"]

    def prob_idle(self, method: str = "auto") -> float:
        """Fraction of time the server is idle (waiting for jobs or for min_batch)."""
        return 1.0 - self.utilisation(method)

    def _affine(self):
        if hasattr(self, "alpha"):
            return self.alpha, self.tau0
        s = [self.service(k) for k in (1, 2, 3, 5)]
        if any(x.kind != "det" for x in s):
            raise PolicyError("this closed form needs deterministic batch times S_k = α k + τ0.")
        alpha = s[1].value - s[0].value
        tau0 = s[0].value - alpha
        for k, x in zip((3, 5), s[2:]):
            gap = sympy.simplify(x.value - (alpha * k + tau0))
            # floats: S_k read back from α k + τ0 differ in the last bits
            if gap != 0 and not (gap.is_number and abs(float(gap)) <= 1e-12 * abs(float(x.value))):
                raise PolicyError("this closed form needs affine batch times S_k = α k + τ0; "
                                  f"batch_time({k}) = {x.value} breaks it.")
        return alpha, tau0

    def _formula(self):
        a, b = self.min_batch, self.max_batch
        laws = [self.service(k) for k in sorted({a, 1, 2, 3, b if b != math.inf else 4})]
        rates = [s.law.rate if isinstance(s.law, Exponential) else None for s in laws]
        if rates[0] is not None and all(r is not None and (r == rates[0]) for r in rates):
            return Result(mm_ab1_mean_response_time(self.arrival_rate, rates[0], a, b), 0.0,
                          "formula", _POLICY)
        s_b = self.service(1)
        if b == 1:
            lam = self.arrival_rate
            m1, m2 = s_b.mean, s_b.m2
            return Result(m1 + lam * m2 / (2 * (1 - lam * m1)), 0.0, "formula", _POLICY)
        raise PolicyError("no closed form for this batch queue: 'formula' covers exponential "
                          "batch times not depending on k (M/M^(a,b)/1) and max_batch = 1 "
                          "(M/G/1); use method='chain' or 'roots'.")

    def validate(self, jobs: int = 200_000, replications: int = 10, seed: int = 1,
                 z_max: float = 4.0, rtol: float = 1e-9,
                 roots_max_batch=96):
        """E[T] by every method that applies, side by side: the exact ones (chain, roots,
        closed form) must agree to their errors plus ``rtol``, the simulation within
        ``z_max`` (Student t, see :func:`qtheory.core.report.t_limit`), and Inoue's bound,
        where it applies, must not be below them. The roots method is skipped above
        ``roots_max_batch`` (its cost grows like b⁵).

        Returns a :class:`qtheory.core.report.Report`: ``print(report)``, ``report.passed``.

        Examples
        --------
        >>> q = BatchQueue(2.37, lambda k: 0.1438 * k + 1.8874, max_batch=8)
        >>> report = q.validate(jobs=20_000, replications=4, seed=3)
        >>> report.passed, [(r.method, r.status) for r in report.rows]
        (True, [('chain', 'ok'), ('roots', 'ok'), ('formula', 'n/a'), ('simulation', 'ok')])
        """
        from ..core.report import Row, t_limit
        report = Report(repr(self), "FCFS batches", z_max=z_max, rtol=rtol)
        for m in ("chain", "roots", "formula"):
            if m == "roots" and roots_max_batch < self.max_batch < math.inf:
                note = f"max_batch > roots_max_batch = {roots_max_batch}"
                report.rows.append(Row(m, status="n/a", note=note))
                continue
            try:
                r = self.mean_response_time(method=m)
            except PolicyError as exc:
                report.rows.append(Row(m, status="n/a", note=str(exc)[:60]))
                continue
            report.rows.append(Row(m, float(r.value), float(r.error), status="ok"))
        exact = [r for r in report.rows if r.status == "ok"]
        for r in exact:
            if any(abs(r.value - o.value) > r.error + o.error + rtol * abs(o.value)
                   for o in exact):
                r.status, r.note = "FAIL", "disagrees with another exact method"
        try:
            bound = self.mean_response_time(method="bound").value
            ok = all(bound >= r.value - r.error for r in exact)
            report.rows.append(Row("bound", bound, 0.0, status="ok" if ok else "FAIL",
                                   note="Inoue 2021 upper bound"))
        except PolicyError:
            pass
        s = self.simulate(jobs=jobs, replications=replications, seed=seed)
        sim = Row("simulation", s.value, s.error, s.ci, status="ok",
                  note=f"{replications} x {jobs} jobs")
        limit = t_limit(z_max, replications)
        for r in exact:
            r.z = (s.value - r.value) / math.hypot(s.error, r.error)
            if abs(r.z) >= limit:
                r.status = sim.status = "FAIL"
        report.rows.append(sim)
        return report

    def simulate(self, jobs: int = 200_000, seed: int = 1, replications: int = 10,
                 warmup: float = 0.1, **options) -> SimulationResult:
        """Simulate the queue exactly as modelled (see :func:`qtheory.methods.sim.batch.simulate_batch`)."""
        from ..methods.sim.batch import simulate_batch
        return simulate_batch(self, jobs=jobs, seed=seed, replications=replications,
                              warmup=warmup, **options)


def _check_batch(name, v, allow_inf):
    if v is None and allow_inf:
        return math.inf
    if allow_inf and isinstance(v, numbers.Real) and v == math.inf:
        return math.inf
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not v >= 1 or v != int(v):
        raise ParameterError(f"{name} = {v!r} is invalid: it must be a positive integer"
                             + (" (or None for no cap)." if allow_inf else "."))
    return int(v)
