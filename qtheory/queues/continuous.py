"""Continuous (iteration-level) batching with growing KV memory (docs/theory/batch.md).

A request with prompt s and output o occupies o + 1 iterations (iteration 0 is the
prefill and emits the first token) holding s, s + 1, …, s + o KV tokens: its lifetime
memory·iterations is g = (o + 1)(s + o/2). An iteration takes

    τ = d0 + d_tok · (tokens processed) + d1 · (KV tokens in the batch)

(Ao, Luo, Simchi-Levi, Wang 2025, arXiv 2504.11320, with d_tok = 0). Over a busy period
time = d0 · iterations + d_tok · tokens + d1 · Σ g, which gives the mean iteration time
τ* = d0 / (1 − λ (d_tok E[s + o] + d1 E[g])) exactly while the server never idles
(the fluid equilibrium otherwise), the memory in use M* = λ E[g] τ*, and the
memory-stable region λ ≤ λ_max where M* = M.

Token counts are integers: a continuous law for s or o is discretised by rounding up
(k = ⌈X⌉), in the analysis and in the simulator alike.
"""

import math
import numbers

import numpy as np
from scipy import stats

from ..core.errors import ParameterError, UnstableError
from ..core.params import Param, nonnegative, positive, positive_or_inf
from ..core.report import Report
from ..core.result import Result, SimulationResult
from ..laws.convert import as_size_law
from ..laws.sizes import Empirical

__all__ = ["ContinuousBatching", "TokenLaw"]

_NAME = "ContinuousBatching"


class TokenLaw:
    """A law on the integers >= 0 (token counts), with exact moments and a sampler.

    Built from an integer, a qtheory/scipy law (continuous laws are rounded up:
    P(k) = F(k) − F(k − 1)) or a frozen discrete ``scipy.stats`` law.

    Examples
    --------
    >>> TokenLaw(128, "prompt").mean
    128.0
    >>> t = TokenLaw(stats.geom(0.01), "output")          # mean 100
    >>> round(t.mean, 6), round(t.moment(2), 3)
    (100.0, 19900.0)
    """

    def __init__(self, spec, name, tail=1e-13, max_points=10**7):
        self.name = name
        if isinstance(spec, (numbers.Real,)) and not isinstance(spec, bool):
            if not (spec >= 0 and spec == int(spec) and math.isfinite(spec)):
                raise ParameterError(f"{name} = {spec!r} is invalid: a token count must be an "
                                     "integer >= 0.")
            self.values, self.probs = np.array([int(spec)], np.int64), np.array([1.0])
        elif hasattr(spec, "dist") and isinstance(getattr(spec, "dist", None), stats.rv_discrete):
            lo, _ = spec.support()
            if lo < 0:
                raise ParameterError(f"{name} has support below 0: token counts are >= 0.")
            hi = int(spec.ppf(1 - tail))
            if hi - lo > max_points:
                raise ParameterError(f"{name}: the law is too spread out ({hi - lo} points).")
            k = np.arange(int(lo), hi + 1)
            self.values, self.probs = k.astype(np.int64), spec.pmf(k)
        else:
            law = as_size_law(spec)
            if isinstance(law, Empirical):
                v = law.values
                if np.any(v != np.round(v)):
                    raise ParameterError(f"{name} values must be whole token counts; round "
                                         "them (or pass a continuous law to be rounded up).")
                self.values, self.probs = v.astype(np.int64), law.weights.copy()
            else:
                lo = int(math.floor(law.support[0]))
                hi = lo + 1
                while float(law.sf(hi)) > tail:
                    hi *= 2
                    if hi - lo > max_points:
                        raise ParameterError(f"{name}: the law's tail is too heavy to tabulate "
                                             f"({hi} tokens at P = {tail}); cap it.")
                k = np.arange(lo, hi + 1)
                cdf = np.asarray(law.cdf(k.astype(float)), float)
                p = np.diff(np.concatenate([[0.0], cdf]))
                p[-1] += float(law.sf(hi))
                self.values, self.probs = k.astype(np.int64), np.clip(p, 0, None)
        keep = self.probs > 0
        self.values, self.probs = self.values[keep], self.probs[keep] / self.probs[keep].sum()
        self._cum = np.cumsum(self.probs)
        self._cum[-1] = 1.0

    def moment(self, k):
        return float(np.dot(self.probs, self.values.astype(float) ** k))

    @property
    def mean(self):
        return self.moment(1)

    def sample(self, rng, n):
        return self.values[np.searchsorted(self._cum, rng.random(n), side="right")]

    def __repr__(self):
        return f"TokenLaw({self.name}, mean={self.mean:.4g}, {self.values.size} values)"


class ContinuousBatching:
    """An LLM server with iteration-level (continuous) batching and a KV memory of M
    tokens (docs/theory/batch.md).

    Parameters
    ----------
    arrival_rate : float
        Poisson request rate λ.
    prompt, output : int, law or None
        Prompt length s and output length o in tokens: an integer, a qtheory law, a
        frozen scipy.stats law (discrete, or continuous and rounded up). Independent.
    d0, d1 : float
        Iteration time d0 + d1 · (KV tokens in the batch).
    memory : int
        KV-cache capacity M in tokens (see :mod:`qtheory.queues.llm` to get it from a model
        and a GPU).
    d_tok : float
        Optional compute time per processed token (prefill tokens + one per decode).
    max_seqs, max_tokens : int or None
        Caps on sequences per iteration (k_max) and tokens per iteration (B_tok).
    joint : array of shape (n, 2) or callable, optional
        Instead of independent ``prompt`` and ``output``: a trace of (s, o) pairs (exact
        moments over the trace) or a sampler ``joint(rng, n) -> (s, o)`` (moments from
        10⁶ draws, with their Monte-Carlo error in the results' ``error``).

    Examples
    --------
    >>> cb = ContinuousBatching(0.5, prompt=100, output=100, d0=0.01, d1=1e-5,
    ...                         memory=20_000)
    >>> cb.mean_g
    15150.0
    >>> round(cb.max_throughput(), 6)           # M / (E[g] (d0 + d1 M))
    6.286343
    >>> round(cb.iteration_time().value, 6)     # d0 / (1 - d1 λ E[g])
    0.01082
    >>> r = cb.mean_response_time()
    >>> round(r.value, 4), r.method, r.details["kind"]
    (1.0982, 'fluid', 'approximation')
    >>> round(cb.lower_bound(), 4)              # d0 E[o+1] + d1 E[g]
    1.1615

    Here d1 M = 20 d0 (the iteration time is dominated by the KV term) and the fluid
    value falls below the lower bound: see :meth:`mean_response_time` for the regime
    where the approximation is good.
    """

    arrival_rate = Param(positive)
    d0 = Param(positive)
    d1 = Param(nonnegative)
    d_tok = Param(nonnegative)
    memory = Param(positive)
    max_seqs = Param(positive_or_inf)
    max_tokens = Param(positive_or_inf)

    def __init__(self, arrival_rate, prompt=None, output=None, d0=None, d1=0.0, memory=None,
                 d_tok=0.0, max_seqs=None, max_tokens=None, joint=None):
        if d0 is None or memory is None:
            raise ParameterError("d0 and memory are required: the iteration time d0 + d1·KV "
                                 "and the KV capacity in tokens.")
        self.arrival_rate, self.d0, self.d1, self.d_tok = arrival_rate, d0, d1, d_tok
        self.memory = memory
        self.max_seqs = math.inf if max_seqs is None else max_seqs
        self.max_tokens = math.inf if max_tokens is None else max_tokens
        self._joint_sampler = None
        self.moment_error = 0.0
        if joint is not None:
            if prompt is not None or output is not None:
                raise ParameterError("pass either joint=... or prompt and output, not both.")
            self._set_joint(joint)
        else:
            if prompt is None or output is None:
                raise ParameterError("prompt and output (token counts or laws) are required.")
            self.prompt, self.output = TokenLaw(prompt, "prompt"), TokenLaw(output, "output")
            s1, o1, o2 = self.prompt.mean, self.output.mean, self.output.moment(2)
            self.mean_prompt, self.mean_output = s1, o1
            self.mean_g = (o1 + 1) * s1 + (o2 + o1) / 2
            self._min_peak = int(self.prompt.values.min() + self.output.values.min())
        smallest = max(1, self._min_peak)     # s + o: a request's KV at its last iteration
        if self.memory < smallest:
            raise ParameterError(f"memory = {memory!r} tokens is smaller than one request: "
                                 f"the smallest holds s + o = {smallest} KV tokens at its "
                                 "last iteration; raise memory or shorten the requests.")

    def _set_joint(self, joint):
        if callable(joint):
            rng = np.random.default_rng(20250101)
            s, o = joint(rng, 10**6)
            self._joint_sampler = joint
            exact = False
        else:
            arr = np.asarray(joint)
            if arr.ndim != 2 or arr.shape[1] != 2:
                raise ParameterError("joint must be an (n, 2) array of (prompt, output) token "
                                     "counts or a sampler joint(rng, n) -> (s, o).")
            s, o = arr[:, 0], arr[:, 1]
            self._joint_sampler = lambda rng, n: tuple(arr[rng.integers(0, len(arr), n)].T)
            exact = True
        s, o = np.asarray(s, np.int64), np.asarray(o, np.int64)
        if np.any(s < 0) or np.any(o < 0):
            raise ParameterError("token counts in joint must be integers >= 0.")
        g = (o + 1) * (s + o / 2.0)
        self._joint_draws = (s, o)
        self.mean_prompt, self.mean_output = float(s.mean()), float(o.mean())
        self.mean_g = float(g.mean())
        self._min_peak = int((s + o).min())
        self.moment_error = 0.0 if exact else 2 * float(g.std() / math.sqrt(g.size))
        self.prompt = self.output = None

    def __repr__(self):
        return (f"ContinuousBatching(arrival_rate={self.arrival_rate!r}, E[s]="
                f"{self.mean_prompt:.6g}, E[o]={self.mean_output:.6g}, d0={self.d0!r}, "
                f"d1={self.d1!r}, memory={self.memory!r})")

    def sample_tokens(self, rng, n):
        """(s, o): n independent requests as int64 arrays."""
        if self._joint_sampler is not None:
            s, o = self._joint_sampler(rng, n)
            return np.asarray(s, np.int64), np.asarray(o, np.int64)
        return self.prompt.sample(rng, n), self.output.sample(rng, n)

    @property
    def iteration_cost(self):
        """This server's iteration d0 + d_tok·(tokens) + d1·(KV) as a
        :class:`qtheory.IterationCost` (d_prefill = d_decode = d_tok, d_kv = d1): with it
        :meth:`qtheory.LLMServer.from_continuous` runs the same model on the phase
        simulator (scheduler "orca" = ``policy=qt.Evict()``, "reserve" = ``qt.Reserve()``,
        bit for bit for the same seed)."""
        from .iteration_cost import IterationCost
        return IterationCost.from_continuous(self.d0, self.d1, self.d_tok)

    # -- capacity -----------------------------------------------------------------------
    @property
    def _work(self):
        """Server time per request besides d0: d_tok E[s + o] + d1 E[g]."""
        return self.d_tok * (self.mean_prompt + self.mean_output) + self.d1 * self.mean_g

    def max_throughput(self) -> float:
        """λ_max = M / (E[g] d0 + M (d_tok E[s+o] + d1 E[g])): where the fluid memory in
        use M* reaches M (with d_tok = 0: M / (E[g](d0 + d1 M)), docs/theory/batch.md)."""
        M = self.memory
        return M / (self.mean_g * self.d0 + M * self._work)

    def capacity_bound(self) -> float:
        """The general bound λ ≤ 1 / (d_tok E[s+o] + d1 E[g] + d0 max{E[g]/M, E[I]/k_max,
        E[s+o]/B_tok}), I = o + 1 iterations per request (Li, Dai, Peng 2025): no policy
        sustains more."""
        per_iter = max(self.mean_g / self.memory, (self.mean_output + 1) / self.max_seqs,
                       (self.mean_prompt + self.mean_output) / self.max_tokens)
        return 1.0 / (self._work + self.d0 * per_iter)

    @property
    def load(self):
        """λ / capacity_bound()."""
        return self.arrival_rate / self.capacity_bound()

    def _check_stable(self):
        cap = self.capacity_bound()
        if not self.arrival_rate < cap:
            raise UnstableError(self.arrival_rate / cap,
                                f"the capacity bound is {cap:.6g} requests per unit time; "
                                "lower arrival_rate or raise memory")

    # -- fluid quantities ----------------------------------------------------------------
    def iteration_time(self):
        """τ* = d0 / (1 − λ (d_tok E[s+o] + d1 E[g])): the mean iteration time, exact while
        the server never idles, the fluid equilibrium otherwise."""
        denom = 1 - self.arrival_rate * self._work
        if not denom > 0:
            raise UnstableError(self.arrival_rate * self._work,
                                "compute alone exceeds the server: lower arrival_rate")
        tau = self.d0 / denom
        err = tau * self.arrival_rate * self.d1 * self.moment_error / denom
        return Result(tau, err, "fluid (exact identity while never idle)", _NAME)

    def memory_in_use(self):
        """M* = λ E[g] τ*, the mean KV tokens held per iteration at equilibrium."""
        return self.arrival_rate * self.mean_g * self.iteration_time().value

    # -- the caps ----------------------------------------------------------------------------
    def request_time_moments(self):
        """(E[S], E[S²]) of S = (o + 1) d0 + d1 g + d_tok (s + o), a request's iteration
        times when it runs alone: its service time with ``max_seqs=1``."""
        d0, d1, dt = self.d0, self.d1, self.d_tok
        if self.prompt is None:
            s, o = (a.astype(float) for a in self._joint_draws)
            S = (o + 1) * d0 + d1 * (o + 1) * (s + o / 2) + dt * (s + o)
            return float(S.mean()), float((S * S).mean())
        o, po = self.output.values.astype(float), self.output.probs
        a = (o + 1) * d0 + d1 * (o + 1) * o / 2 + dt * o      # S = a(o) + b(o) s, s independent
        b = (o + 1) * d1 + dt
        s1, s2 = self.prompt.mean, self.prompt.moment(2)
        return float(po @ (a + b * s1)), float(po @ (a * a + 2 * a * b * s1 + b * b * s2))

    def effective_max_seqs(self):
        """k = min(max_seqs, max_tokens E[o + 1] / E[s + o]): sequences per iteration the
        caps allow on average (the form of :meth:`capacity_bound`)."""
        return min(self.max_seqs,
                   self.max_tokens * (self.mean_output + 1) / (self.mean_prompt + self.mean_output))

    def _slot_wait(self):
        """Mean wait for one of k sequence slots, M/G/k by Lee and Longton's approximation
        W = (1 + C²)/2 · W(M/M/k) on the slot holding time B = (o + 1)(d0 + k w), w the
        per-sequence work of an iteration (d1 E[g] + d_tok E[s + o]) / E[o + 1]: the
        iteration time of a full batch, which is when requests wait for a slot."""
        k = self.effective_max_seqs()
        if not math.isfinite(k):
            return 0.0
        kk = max(int(math.floor(k)), 1)
        n1 = self.mean_output + 1
        it = self.d0 + k * self._work / n1
        EB = n1 * it
        o = self.output.values.astype(float) if self.prompt is not None else \
            self._joint_draws[1].astype(float)
        po = self.output.probs if self.prompt is not None else np.full(o.size, 1.0 / o.size)
        c2 = float(po @ (o + 1) ** 2) / n1**2 - 1.0
        a = self.arrival_rate * EB * kk / k            # offered slots, on kk whole slots
        if not a < kk:
            raise UnstableError(a / kk, f"the {kk} sequence slots are saturated")
        # Erlang C, stably: P(wait) with terms a^j / j! accumulated in ratio form
        term, total = 1.0, 1.0
        for j in range(1, kk):
            term *= a / j
            total += term
        last = term * a / kk / (1 - a / kk)
        p_wait = last / (total + last)
        return (1 + c2) / 2 * p_wait * EB / (kk - a)

    def mean_response_time(self, method: str = "auto", **options) -> Result:
        """E[T] ≈ (E[o] + 1.5) τ* — a **fluid approximation**, not an exact result.

        It assumes every request waits half an iteration and then runs its o + 1
        iterations at the mean iteration time τ*. But requests sit in the fuller
        iterations, which are the longer ones when the KV term d1·(KV in the batch) is a
        sizeable part of τ (an inspection bias), and near λ_max they also queue for
        memory. Measured against simulation (table below), the approximation is

        * good, within 1 %, when d1·M ≪ d0 (here d1·M = 0.2 d0) and λ ≤ 0.8 λ_max;
        * low by 1–6 % at 0.9 λ_max and by 20–25 % at 0.95 λ_max;
        * low by 12–27 % at **every** load when d1·M ≳ d0 (here d1·M = 20 d0): then it
          can even fall below :meth:`lower_bound`.

        Use ``method="simulation"`` (or :meth:`simulate`) for the exact value, and
        :meth:`validate` to see the error at your parameters.

        Measured error (fluid / simulation − 1; "evict" policy, 6 × 10⁵ requests, seed 7;
        M = 20 000 tokens, d0 = 0.01; regenerated by ``tests/test_llm.py``, slow mark):

        ============ ============== ============== ================ ================
        λ / λ_max    d1 = 1e-7,     d1 = 1e-7,     d1 = 1e-5,       d1 = 1e-5,
                     s = o = 100    s~U, o~Geom    s = o = 100      s~U, o~Geom
        ============ ============== ============== ================ ================
        0.3          −0.2 %         −0.5 %         −12.5 %          −18.1 %
        0.5          −0.2 %         −0.5 %         −12.4 %          −18.9 %
        0.7          −0.2 %         −0.6 %         −12.2 %          −19.9 %
        0.8          −0.2 %         −0.9 %         −12.2 %          −20.6 %
        0.9          −1.2 %         −5.8 %         −12.2 %          −22.0 %
        0.95         −24.8 %        −19.9 %        −12.3 %          −26.5 %
        ============ ============== ============== ================ ================

        (s~U: prompt uniform on 20..199; o~Geom: geometric output with mean 100.)

        **Caps.** The fluid equilibrium never fills ``max_seqs`` slots below the capacity
        bound, so the value above ignores the caps (it was 45 % low with ``max_seqs=1``).
        With ``max_seqs=1`` the server runs one request at a time: an M/G/1 FCFS queue
        whose service is the request's own iteration-time sum S (:meth:`request_time_moments`)
        and E[T] = E[S] + λE[S²]/(2(1 − λE[S])) is **exact** (method "exact (M/G/1)").
        With k = :meth:`effective_max_seqs` finite and above 1, the wait for a sequence
        slot (:meth:`_slot_wait`, M/G/k by Lee–Longton) is added to the fluid value
        (method "fluid + M/G/k", an approximation); with no caps the value is unchanged.
        Measured against simulation (FCFS admission, s = 100, o ~ Geom mean 100, d0 = 0.01,
        d1 = 1e-7, memory 10⁶, 4 × 40 000 requests, seed 3), value / simulation − 1 at
        0.3 / 0.6 / 0.85 of :meth:`capacity_bound`: max_seqs = 1 (exact) −0.2 / −0.5 /
        −1.6 % (all within the simulation's CI); max_seqs = 2: −0.1 / −0.7 / −1.4 %;
        max_seqs = 8: −0.5 / −0.6 / −0.8 %. The uncapped caveats above still apply to the
        fluid part.
        """
        if method == "simulation":
            return self.simulate(**options)
        if method not in ("auto", "fluid"):   # auto: the only analytic method here
            raise ParameterError(f"method = {method!r} is invalid: use 'fluid' (or 'auto') "
                                 "or 'simulation'.")
        self._check_stable()
        if not self.arrival_rate < self.max_throughput():
            raise UnstableError(self.arrival_rate / self.max_throughput(),
                                "the fluid memory in use exceeds M")
        if self.max_seqs == 1:
            ES, ES2 = self.request_time_moments()
            rho = self.arrival_rate * ES
            if not rho < 1:
                raise UnstableError(rho, "with max_seqs=1 one request runs at a time")
            err = self.arrival_rate * self.d1 * self.moment_error * 4 / (1 - rho) ** 2
            return Result(ES + self.arrival_rate * ES2 / (2 * (1 - rho)), err, "exact (M/G/1)",
                          _NAME, details={"kind": "exact", "load": rho})
        tau = self.iteration_time()
        wait = self._slot_wait()
        if wait > 0:
            return Result((self.mean_output + 1.5) * tau.value + wait,
                          (self.mean_output + 1.5) * tau.error, "fluid + M/G/k", _NAME,
                          details={"kind": "approximation", "slot_wait": wait,
                                   "max_seqs_effective": self.effective_max_seqs(),
                                   "load": self.arrival_rate / self.capacity_bound()})
        return Result((self.mean_output + 1.5) * tau.value, (self.mean_output + 1.5) * tau.error,
                      "fluid", _NAME,
                      details={"kind": "approximation", "regime": "within 1% only if d1*M << d0 and load <= 0.8 "
                                         "lambda_max; 12-27% low if d1*M >~ d0; up to 25% "
                                         "low near lambda_max",
                               "load": self.arrival_rate / self.max_throughput()})

    def time_to_first_token(self):
        """Fluid approximation of the mean TTFT: 1.5 τ* (half an iteration of waiting plus
        the prefill iteration); same caveats as :meth:`mean_response_time`."""
        tau = self.iteration_time()
        return Result(1.5 * tau.value, 1.5 * tau.error, "fluid", _NAME,
                      details={"kind": "approximation"})

    def time_per_output_token(self):
        """Fluid approximation of the mean TPOT: τ* per decode iteration."""
        tau = self.iteration_time()
        return Result(tau.value, tau.error, "fluid", _NAME, details={"kind": "approximation"})

    def lower_bound(self) -> float:
        """E[T] ≥ d0 E[o+1] + d1 E[g] (+ d_tok E[s+o]) for any policy: each of a request's
        o + 1 iterations takes at least d0 plus its own KV and token terms."""
        return self.d0 * (self.mean_output + 1) + self._work

    # -- WAIT threshold batching (§5.3) ----------------------------------------------------
    def wait_queue(self, n):
        """The prefill queue under WAIT(n) as an M/D^(n,n)/1 :class:`BatchQueue` with
        service ΔT = d0 + d1 n (o + 1)(s + o/2) (one request type: s, o fixed). Its mean
        response time is the exact mean time to first token.

        Examples
        --------
        >>> cb = ContinuousBatching(2.0, 50, 20, d0=0.05, d1=1e-4, memory=10**6)
        >>> q = cb.wait_queue(4)
        >>> (q.min_batch, q.max_batch), round(q.service(4).value, 6)
        ((4, 4), 0.554)
        """
        if self.prompt is None or self.prompt.values.size != 1 or self.output.values.size != 1:
            raise ParameterError("WAIT analysis (docs/theory/batch.md) is for one request type: pass "
                                 "fixed integer prompt and output lengths.")
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ParameterError(f"n = {n!r} is invalid: the WAIT threshold is an integer >= 1.")
        from .batch import BatchQueue
        s, o = int(self.prompt.values[0]), int(self.output.values[0])
        dT = self.d0 + self.d1 * n * (o + 1) * (s + o / 2)
        if n * (o + 1) * (s + o / 2) > self.memory:
            raise ParameterError(f"WAIT({n}) holds n (o+1)(s+o/2) = {n * (o + 1) * (s + o / 2):g}"
                                 f" KV tokens, above memory = {self.memory}; lower n.")
        return BatchQueue(self.arrival_rate, dT, max_batch=n, min_batch=n)

    def wait_ttft(self, n, method="auto"):
        """Exact mean TTFT under WAIT(n): the sojourn time of :meth:`wait_queue`."""
        return self.wait_queue(n).mean_response_time(method=method)

    # -- validation -------------------------------------------------------------------------
    def validate(self, jobs: int = 40_000, replications: int = 4, seed: int = 1,
                 policy=None) -> Report:
        """The analytic results against the simulator.

        Rows: ``capacity`` — a saturated simulation's throughput must not exceed
        :meth:`capacity_bound` (beyond its 95% CI; the gap is in the note; with the FCFS
        peak check it is within ~2% when requests are small against M); ``lower bound``
        — the simulated E[T] at ``arrival_rate`` must not be below :meth:`lower_bound`;
        ``fluid`` — the approximation is not judged (status n/a), its error against the
        simulation is in the note.

        Examples
        --------
        >>> cb = ContinuousBatching(50.0, prompt=stats.randint(20, 200),
        ...                         output=stats.geom(0.01), d0=0.01, d1=1e-7, memory=20_000)
        >>> report = cb.validate(jobs=20_000, replications=3, seed=2)
        >>> report.passed, [r.status for r in report.rows]
        (True, ['ok', 'ok', 'ok', 'ok', 'n/a'])
        """
        from ..core.report import Report, Row
        from ..policies.admission import as_admission
        from ..policies.catalogue import FCFS
        policy = FCFS() if policy is None else policy
        report = Report(repr(self), f"continuous batching, {as_admission(policy).name}")
        cap = self.capacity_bound()
        sat = self.simulate(jobs=jobs, replications=replications, seed=seed, policy=policy,
                            saturated=True)
        thr, (lo, hi) = sat.mean("throughput"), sat.interval("throughput")
        report.rows.append(Row("capacity", cap, 0.0, status="ok", note="capacity_bound()"))
        report.rows.append(Row("saturated sim", thr, sat.metric("throughput").std_error, (lo, hi),
                               status="ok" if lo <= cap else "FAIL",
                               note=f"throughput {100 * (thr / cap - 1):+.2f}% vs bound"))
        s = self.simulate(jobs=jobs, replications=replications, seed=seed, policy=policy)
        lb = self.lower_bound()
        report.rows.append(Row("lower bound", lb, 0.0, status="ok", note="lower_bound()"))
        report.rows.append(Row("simulation", s.value, s.error, s.ci,
                               status="ok" if s.ci[1] >= lb else "FAIL",
                               note=f"{replications} x {jobs} requests, E[T]"))
        fluid = self.mean_response_time().value
        report.rows.append(Row("fluid", fluid, math.nan, status="n/a",
                               note=f"approximation: {100 * (fluid / s.value - 1):+.1f}% vs "
                                    "simulation"))
        return report

    # -- simulation -------------------------------------------------------------------------
    def simulate(self, jobs: int = 100_000, seed: int = 1, replications: int = 10, policy=None,
                 **options) -> SimulationResult:
        """Iteration-level simulation under an admission policy (qt.FCFS by default,
        qt.Reserve(), qt.Evict(), qt.Trail(c); :mod:`qtheory.policies.admission`); see
        :func:`qtheory.methods.sim.llm.simulate_llm` for the options and metrics."""
        from ..methods.sim.llm import simulate_llm
        if not options.get("saturated", False):
            self._check_stable()
        return simulate_llm(self, jobs=jobs, seed=seed, replications=replications,
                            policy=policy, **options)
