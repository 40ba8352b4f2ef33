"""LLM serving with prefill and decode phases and real engine schedulers (MATH.md §9;
docs/theory/llm_serving.md).

:class:`LLMServer` is a :class:`~qtheory.queues.continuous.ContinuousBatching` whose
iteration cost separates the phases (:class:`~qtheory.queues.iteration_cost.IterationCost`)
and whose scheduler is one of vLLM, Orca, Sarathi-Serve or reserve-max
(:mod:`qtheory.policies.llm_schedulers`), with KV memory in blocks.
"""

import math
import numbers

import numpy as np

from ..core.errors import ParameterError, QTheoryError, UnstableError
from ..core.params import Param, positive
from ..core.result import Result, SimulationResult
from ..policies.llm_schedulers import as_order, as_scheduler
from .continuous import TokenLaw
from .iteration_cost import IterationCost

__all__ = ["LLMServer"]

_NAME = "LLMServer"


def _int_or_inf(name, v, low=1):
    if v is None or v == math.inf:
        return math.inf
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
        raise ParameterError(f"{name} = {v!r} is invalid: an integer >= {low} (or None for "
                             "no cap).")
    return int(v)


def _count(name, v, low, fix):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
        raise ParameterError(f"{name} = {v!r} is invalid: an integer >= {low}; {fix}.")
    return int(v)


class LLMServer:
    """An LLM engine with phase costs, a KV cache of ``memory`` tokens in blocks and a
    scheduler.

    Parameters
    ----------
    arrival_rate : float
        Poisson request rate λ (requests per second).
    prompt, output : int or law
        Prompt length s and output length o in tokens (as :class:`ContinuousBatching`:
        integers, qtheory or scipy laws, continuous laws rounded up). A request emits
        o + 1 tokens: the prefill's and o decode iterations'.
    cost : IterationCost
        Iteration time τ(P, n_d, K).
    memory : int
        KV-cache capacity in tokens (:func:`qtheory.kv_tokens`); the engine has
        ⌊memory / block_size⌋ blocks.
    scheduler : {"vllm", "orca", "sarathi", "reserve"}
        :mod:`qtheory.policies.llm_schedulers`.
    max_seqs, max_tokens : int or None
        Caps per iteration: sequences (vLLM's ``max_num_seqs``) and tokens
        (``max_num_batched_tokens``; Sarathi's token budget, default 512 there).
    block_size : int
        Tokens per KV block (vLLM: 16); 1 counts memory in tokens.
    order : "fcfs", "spf" or qt.Trail(c)
        Waiting line order: arrival, or smallest predicted remaining output y − j (y from
        ``prediction``, a qtheory prediction model of o; perfect by default); with
        ``qt.Trail(c)`` a waiting request also preempts running ones of worse rank that
        are still preemptable (progress j ≤ c·y), and overflow preempts the worst
        preemptable first (Shahout et al., ICLR 2025).
    max_output : int, optional
        o_max reserved by ``"reserve"`` (default: the largest output of the law).

    Examples
    --------
    >>> cost = IterationCost(0.01, 1e-4, 1e-4, 1e-7)
    >>> srv = LLMServer(2.0, prompt=200, output=100, cost=cost, memory=40_000,
    ...                 scheduler="orca")
    >>> r = srv.capacity()         # 1 / (W + d0 E[g_B] / M), g_B = 26000 block-token-its
    >>> round(r.value, 4), r.details["kind"], r.details["binding"]
    (25.6246, 'bound', 'memory')
    >>> s = srv.simulate(jobs=4000, replications=2, seed=1)
    >>> s.mean("TTFT") < s.mean("T"), s.mean("preemptions") >= 0
    (True, True)
    """

    arrival_rate = Param(positive)

    def __init__(self, arrival_rate, prompt=None, output=None, cost=None, memory=None,
                 scheduler="vllm", max_seqs=None, max_tokens=None, block_size=16,
                 order="fcfs", prediction=None, max_output=None):
        self.arrival_rate = arrival_rate
        if prompt is None or output is None:
            raise ParameterError("prompt and output (token counts or laws) are required.")
        if not isinstance(cost, IterationCost):
            raise ParameterError(f"cost = {cost!r} is invalid: pass qt.IterationCost(d0, "
                                 "d_prefill, d_decode, d_kv) (or .roofline(model, gpu)).")
        self.cost = cost
        self.prompt, self.output = (p if isinstance(p, TokenLaw) else TokenLaw(p, name)
                                    for p, name in ((prompt, "prompt"), (output, "output")))
        if self.prompt.values.min() < 1:
            raise ParameterError("prompt has 0-token requests: a prompt holds at least one "
                                 "token (the BOS token); shift the law by 1.")
        self.scheduler = as_scheduler(scheduler)
        self.order = order
        self._order_code, self._trail_c = as_order(order)
        self.prediction = prediction
        self.block_size = _int_or_inf("block_size", block_size)
        if memory is None or isinstance(memory, bool) or not isinstance(
                memory, numbers.Real) or not memory >= self.block_size:
            raise ParameterError(f"memory = {memory!r} is invalid: the KV capacity in tokens, "
                                 f"at least one block ({self.block_size}).")
        self.memory = int(memory)
        self.blocks = self.memory // self.block_size
        self.max_seqs = _int_or_inf("max_seqs", max_seqs)
        mt = _int_or_inf("max_tokens", max_tokens)
        if cost.max_tokens is not None:
            mt = min(mt, cost.max_tokens)
        if self.scheduler.chunked and mt == math.inf:
            mt = 512
        self.max_tokens = mt
        self.max_output = int(self.output.values.max()) if max_output is None else \
            _int_or_inf("max_output", max_output)
        if self.max_output < self.output.values.max() and self.scheduler.reserve:
            raise ParameterError(f"max_output = {max_output} is below the largest output "
                                 f"{self.output.values.max()}: reserve-max needs a true cap.")
        s_max, o_max = int(self.prompt.values.max()), int(self.output.values.max())
        peak = s_max + (self.max_output if self.scheduler.reserve else o_max)
        if -(-peak // self.block_size) > self.blocks:
            raise ParameterError(f"memory = {memory} tokens cannot hold the largest request "
                                 f"({peak} KV tokens in blocks of {self.block_size}): raise "
                                 "memory or cap the lengths.")
        if not self.scheduler.chunked and s_max > self.max_tokens:
            raise ParameterError(f"max_tokens = {self.max_tokens} is below the longest prompt "
                                 f"({s_max}): raise it or use scheduler='sarathi' (chunked).")
        s1, o1, o2 = self.prompt.mean, self.output.mean, self.output.moment(2)
        self.mean_prompt, self.mean_output = s1, o1
        self.mean_g = (o1 + 1) * s1 + (o2 + o1) / 2

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_preset(cls, model, gpu, arrival_rate, prompt, output, scheduler="vllm",
                    efficiency=1.0, num_gpus=1, block_size=16, utilization=0.9, **options):
        """A server for ``model`` on ``num_gpus`` × ``gpu``: cost by
        :meth:`IterationCost.roofline`, memory the whole KV blocks of
        :func:`qtheory.kv_tokens` (weights and the utilization margin subtracted).

        Examples
        --------
        >>> srv = LLMServer.from_preset("Llama-3-8B", "A100-80GB", 4.0, 512, 256)
        >>> srv.memory, srv.blocks     # ⌊(0.9 x 80 GiB - 16.06 GB) / 128 KiB⌋ // 16 blocks
        (467280, 29205)
        """
        from .llm import kv_blocks
        cost = IterationCost.roofline(model, gpu, efficiency=efficiency, num_gpus=num_gpus)
        blocks = kv_blocks(model, gpu, block_size=block_size, num_gpus=num_gpus,
                           utilization=utilization)
        return cls(arrival_rate, prompt, output, cost=cost, memory=blocks * block_size,
                   scheduler=scheduler, block_size=block_size, **options)

    @classmethod
    def from_continuous(cls, cb, scheduler="orca", block_size=1, **options):
        """The :class:`ContinuousBatching` ``cb`` as an LLMServer: its cost
        d0 + d_tok·tokens + d1·KV as :meth:`IterationCost.from_continuous`, memory in
        tokens (block_size 1). With ``scheduler="orca"`` the simulator runs
        ``cb.simulate(policy=qt.Evict())``'s model (same draws for the same seed); with
        ``"reserve"`` that of ``qt.Reserve()``."""
        if cb.prompt is None:
            raise ParameterError("from_continuous needs independent prompt and output laws "
                                 "(not joint=).")
        return cls(cb.arrival_rate, cb.prompt, cb.output, cb.iteration_cost, cb.memory,
                   scheduler, None if cb.max_seqs == math.inf else int(cb.max_seqs),
                   None if cb.max_tokens == math.inf else int(cb.max_tokens),
                   block_size, **options)

    def __repr__(self):
        return (f"LLMServer(arrival_rate={self.arrival_rate!r}, E[s]={self.mean_prompt:.6g}, "
                f"E[o]={self.mean_output:.6g}, cost={self.cost!r}, memory={self.memory}, "
                f"scheduler={self.scheduler.name!r})")

    def sample_tokens(self, rng, n):
        return self.prompt.sample(rng, n), self.output.sample(rng, n)

    # -- capacity ---------------------------------------------------------------------
    def mean_block_g(self):
        """E[Σ_{j=0}^{o} B⌈(s + j)/B⌉]: a request's lifetime memory·iterations in whole
        blocks (= E[g] = E[(o + 1)(s + o/2)] when B = 1)."""
        B = self.block_size
        if B == 1:
            return self.mean_g

        def F(n):        # Σ_{t=1}^{n} B⌈t/B⌉ for integer arrays n >= 0
            q, r = n // B, n % B
            return B * B * q * (q + 1) / 2 + r * B * (q + 1)
        sv, sp = self.prompt.values, self.prompt.probs
        ov, op = self.output.values, self.output.probs
        # E[F(s + o)] − E[F(s − 1)]: the law of s + o by convolution of the pmfs
        lo = int(sv.min() + ov.min())
        ps = np.zeros(int(sv.max() - sv.min()) + 1)
        ps[sv - sv.min()] = sp
        po = np.zeros(int(ov.max() - ov.min()) + 1)
        po[ov - ov.min()] = op
        pso = np.convolve(ps, po)
        n = np.arange(lo, lo + pso.size)
        return float(pso @ F(n) - sp @ F(np.maximum(sv - 1, 0)))

    def capacity(self) -> Result:
        """The largest request rate any scheduler sustains: a **bound**.

        λ* = 1 / (d_prefill E[s] + d_decode E[o] + d_kv E[g] + d0 · max{E[g_B]/M,
        E[o + 1]/k_max, E[s + o]/B_tok}),

        g = Σ_j (s + j) a request's KV·iterations, g_B the same in whole blocks, M the
        memory, k_max and B_tok the caps per iteration. Each request costs its own phase
        work plus d0 per iteration, and an iteration holds at most M of KV, k_max
        sequences and B_tok tokens, hence at least max{...} iterations per request. This
        generalises MATH.md §5.2's bound to phase costs; with memory not binding it is
        Li, Dai and Peng's (2025, arXiv 2504.07347, Thm. 1) λ(m_p + m_d) < b / t_b,
        t_b the time of a full batch of b tokens. Work-conserving token-budget
        schedulers (orca, sarathi) reach it when the token budget binds; vLLM's
        prefill-only iterations cost an extra d0 per prefill iteration and it does not.

        Measured (tests/test_llm_phases.py, saturated simulation throughput / λ*): sarathi
        with a binding token budget −0.4 % to −1.5 %; see the docs page for the table.

        Only for the linear cost.
        """
        if not self.cost.linear:
            raise ParameterError("capacity() needs the linear IterationCost; with a table "
                                 "or a function, measure it: simulate(saturated=True).")
        d0, dp, dd, dk = self.cost.coefficients
        work = dp * self.mean_prompt + dd * self.mean_output + dk * self.mean_g
        if self.scheduler.reserve:
            # a request holds B⌈(s + o_max)/B⌉ reserved tokens through its o + 1 iterations
            B = self.block_size
            res = B * np.ceil((self.prompt.values + self.max_output) / B)
            mem = float(self.prompt.probs @ res) * (self.mean_output + 1)
        else:
            mem = self.mean_block_g()
        terms = {"memory": mem / (self.blocks * self.block_size),
                 "max_seqs": (self.mean_output + 1) / self.max_seqs,
                 "max_tokens": (self.mean_prompt + self.mean_output) / self.max_tokens}
        binding = max(terms, key=terms.get)
        cap = 1.0 / (work + d0 * terms[binding])
        return Result(cap, 0.0, "bound", _NAME,
                      details={"kind": "bound", "binding": binding,
                               "per_request_work": work, "iterations_per_request":
                               terms[binding], "source": "Li, Dai, Peng 2025 (phase costs)"})

    @property
    def load(self):
        """λ / capacity()."""
        return self.arrival_rate / self.capacity().value

    # -- fluid approximations ----------------------------------------------------------
    def _work(self):
        d0, dp, dd, dk = self.cost.coefficients
        return dp * self.mean_prompt + dd * self.mean_output + dk * self.mean_g

    def iteration_time(self) -> Result:
        """Mean iteration time while the engine never idles: τ* = d0 / (1 − λW), W the
        per-request work d_prefill E[s] + d_decode E[o] + d_kv E[g] (an identity over a
        busy period: time = d0 · iterations + λ W · time). vLLM: the mean *decode*
        iteration stretched by the prefill iterations between decodes (see
        :meth:`time_per_output_token`)."""
        if not self.cost.linear:
            raise ParameterError("the fluid analysis needs the linear IterationCost.")
        d0 = self.cost.d0
        lam = self.arrival_rate
        denom = 1 - lam * self._work()
        if self.scheduler.prefill_first:
            denom -= lam * d0              # one prefill iteration per request (each its d0)
        if not denom > 0:
            raise UnstableError(1 - denom, "the engine's work exceeds its time: lower "
                                "arrival_rate")
        return Result(d0 / denom, 0.0, "fluid", _NAME, details={"kind": "approximation"})

    def time_per_output_token(self) -> Result:
        """Mean TPOT, a **fluid approximation**: the time between a request's decode
        iterations, τ* of :meth:`iteration_time`.

        orca / sarathi / reserve: every iteration advances every decoding request, so
        TPOT = τ* = d0 / (1 − λW). vLLM: a prefill-only iteration (one per request, its
        own d0) stalls the decoders, and the same balance gives
        TPOT = d0 / (1 − λ(d0 + W)). Measured error against the simulator in the docs
        page (docs/theory/llm_serving.md) and in tests/test_llm_phases.py.
        """
        r = self.iteration_time()
        return Result(r.value, 0.0, "fluid", _NAME, details={"kind": "approximation"})

    def time_to_first_token(self) -> Result:
        """Mean TTFT, a **fluid approximation**: half an iteration of waiting, then the
        iteration (or, for sarathi, the chunks) that carry the prompt.

        orca / reserve: the arrival waits out the current iteration, R = E[τ²] / (2E[τ])
        (inspection paradox), then runs in the next one, which carries the prompts of
        everyone who arrived meanwhile: TTFT ≈ R + a + w̄ (1 + 2λR). Here w = (d_prefill +
        d_kv) s is a prompt's work, w̄ = E[w], a = τ*(1 − λw̄) the rest of an iteration,
        and the iteration times follow τ_k = a + Σ_{arrivals in iteration k−1} w, whose
        stationary law has E[τ] = τ* and Var τ = λτ* E[w²] / (1 − λ² w̄²). vLLM: the next
        iteration is prefill-only, d0 + w̄(1 + 2λR); the current one is a decode iteration
        a_d = TPOT (1 − u) with probability 1 − u, u = λ(d0 + w̄) the time share of
        prefill iterations (one per request), else a prefill iteration of length d0 + w,
        so R = (1 − u) a_d / 2 + u E[(d0 + w)²] / (2E[d0 + w]). sarathi: prompts form a
        FCFS queue of tokens served c = B_tok − n̄_d per iteration (n̄_d = λ E[o] τ*
        decoders) in iterations of overhead a = d0 + d_decode n̄_d + d_kv K̄: an M/G/1 queue
        with service S = ⌈s/c⌉ a + (d_prefill + d_kv) s, TTFT ≈ τ*/2 + λE[S²] / (2(1 −
        λE[S])) + E[S]. Near capacity requests also queue for memory and sequence slots,
        which none of these sees. Measured error in docs/theory/llm_serving.md.
        """
        tau = self.iteration_time().value
        d0, dp, dd, dk = self.cost.coefficients
        lam = self.arrival_rate
        s1, s2 = self.mean_prompt, self.prompt.moment(2)
        wbar, w2 = (dp + dk) * s1, (dp + dk) ** 2 * s2
        name = self.scheduler.name
        if name == "sarathi":
            nd = lam * self.mean_output * tau
            K = lam * (self.mean_g - self.mean_prompt) * tau
            c = max(self.max_tokens - nd, 1.0)
            sv, sp = self.prompt.values.astype(float), self.prompt.probs
            tau_c = d0 + dp * c + dd * nd + dk * (K + c)
            # prompts are a FCFS queue served in chunks of c tokens: M/G/1 with service
            # S(s) = ⌈s/c⌉ (iteration overhead a) + (d_prefill + d_kv) s
            a_it = tau_c - (dp + dk) * c
            S = np.ceil(sv / c) * a_it + (dp + dk) * sv
            ES, ES2 = float(sp @ S), float(sp @ S**2)
            rho = lam * ES
            if not rho < 1:
                raise UnstableError(rho, "the prefill token budget is saturated")
            v = 0.5 * tau + lam * ES2 / (2 * (1 - rho)) + ES
        else:
            if name == "vllm":
                up = lam * (d0 + wbar)          # time share of prefill-only iterations
                ad = tau * (1 - up)             # a decode iteration
                p1, p2 = d0 + wbar, d0 * d0 + 2 * d0 * wbar + w2
                R = (1 - up) * ad / 2 + up * p2 / (2 * p1)
                v = R + d0 + wbar * (1 + 2 * lam * R)
            else:
                var = lam * tau * w2 / max(1 - (lam * wbar) ** 2, 1e-12)
                R = (tau * tau + var) / (2 * tau)
                v = R + tau * (1 - lam * wbar) + wbar * (1 + 2 * lam * R)
        return Result(v, 0.0, "fluid", _NAME, details={"kind": "approximation"})

    # -- goodput --------------------------------------------------------------------------
    def goodput(self, slo, jobs=20_000, replications=2, seed=1, tol=5e-3) -> Result:
        """Goodput per GPU: the largest arrival rate at which the simulated
        ``slo.percentile`` of TTFT and of TPOT (:class:`qtheory.SLO`) meet the SLO, on
        this one GPU (n pooled GPUs with a random split each see λ/n: the same goodput per
        GPU). Bisection to relative ``tol`` on simulations with common random numbers
        (the same ``seed`` at every rate), each percentile the mean over replications.
        Compare with :meth:`qtheory.Disaggregated.goodput`.

        Examples
        --------
        >>> import qtheory as qt
        >>> srv = qt.LLMServer(1.0, 256, 64, cost=qt.IterationCost(0.01, 1e-4, 1e-4, 5e-8),
        ...                    memory=100_000, scheduler="sarathi")
        >>> g = srv.goodput(qt.SLO(ttft=0.2, tpot=0.03), jobs=4000)
        >>> 0 < g.value < srv.capacity().value, g.method
        (True, 'simulation')
        """
        from .disagg import _bisect_rate
        p = f"P{100 * slo.percentile:g}"
        keep = self.arrival_rate
        cap = self.capacity().value if self.cost.linear else \
            self.simulate(jobs=jobs, replications=replications, seed=seed,
                          saturated=True).mean("throughput")

        def ok(r):
            self.arrival_rate = r
            try:
                s = self.simulate(jobs=jobs, replications=replications, seed=seed,
                                  quantiles=(slo.percentile,))
            except UnstableError:
                return False
            return s.mean(f"TTFT_{p}") <= slo.ttft and s.mean(f"TPOT_{p}") <= slo.tpot
        try:
            lam = _bisect_rate(ok, cap * (1 - 1e-6), tol=tol, steps=30)
        finally:
            self.arrival_rate = keep
        return Result(lam, 0.0, "simulation", _NAME,
                      details={"kind": "simulation", "rate": lam, "slo": repr(slo),
                               "gpus": 1})

    # -- simulation ---------------------------------------------------------------------
    def simulate(self, jobs=100_000, seed=1, replications=10, saturated=False, warmup=0.1,
                 cooldown=0.1, quantiles=(0.5, 0.9, 0.99), ready=False) -> SimulationResult:
        """Simulate the engine (:mod:`qtheory.methods.sim.llm_sched`).

        Returns a :class:`SimulationResult` whose ``metrics`` hold, with 95 % CIs over
        replications: ``T`` (end-to-end), ``TTFT``, ``TPOT`` (per request (T − TTFT)/o,
        o ≥ 1), ``TPOT_token`` (time per decode token weighted by tokens: Σ over iterations
        of τ × the decoders present, stalled ones included, / decode tokens), ``queue`` (arrival to first scheduled), ``preemptions`` (per request),
        their percentiles ``T_P50``, ``TTFT_P90``, ``TPOT_P99``, ... , ``throughput``
        (completions per second), ``memory_util`` (time-average blocks in use × B / M),
        ``batch`` (sequences per iteration, time-average), ``iteration_time``;
        ``details``: ``iterations_per_second``, ``peak_blocks`` (largest blocks held in
        an iteration), ``iterations``, ``finished`` (requests completed, all
        replications), ``accounting`` (per replication: prompt and output tokens of the
        requests, prefill and decode tokens processed, prefill completions, preemptions,
        recompute tokens owed Σ(s + j) over preempted decoders, partial-prefill tokens
        lost: prefill tokens = prompt tokens + recompute + lost, and decode tokens +
        prefill completions = output tokens, exactly).
        ``saturated=True``: every request arrives at time 0 (the engine's maximal
        throughput; the time averages then cover the whole run, drain included).
        """
        from ..laws.predictions import Perfect, as_prediction
        from ..methods.sim.batch import measured_window
        from ..methods.sim.llm_sched import run_kernel
        import time
        jobs = _count("jobs", jobs, 20, "simulate at least 20 requests")
        replications = _count("replications", replications, 2,
                              "use at least 2 independent replications")
        if not saturated:
            cap = self.capacity().value if self.cost.linear else math.inf
            if not self.arrival_rate < cap:
                raise UnstableError(self.arrival_rate / cap, f"capacity() is {cap:.6g} "
                                    "requests/s: lower arrival_rate")
        lo, hi = measured_window(jobs, warmup, cooldown)
        pred = as_prediction(self.prediction) or Perfect()
        kind, cp, a0, a1, a2, tab, fn = self.cost.kernel_args()
        kmax = int(min(self.max_seqs, jobs + 1))
        btok = int(min(self.max_tokens, 2**62))
        lam = float(self.arrival_rate)
        keys = ["T", "TTFT", "TPOT", "TPOT_token", "queue", "preemptions", "throughput",
                "memory_util", "batch", "iteration_time"]
        qnames = [(m, p) for m in ("T", "TTFT", "TPOT") for p in quantiles]
        samples = {k: [] for k in keys + [f"{m}_P{100 * p:g}" for m, p in qnames]}
        details = {"iterations_per_second": [], "iterations": 0, "peak_blocks": 0,
                   "finished": 0, "accounting": []}
        t_start = time.perf_counter()
        for child in np.random.SeedSequence(seed).spawn(replications):
            rng = np.random.default_rng(child)
            arr = np.zeros(jobs) if saturated else np.cumsum(rng.exponential(1 / lam, jobs))
            s, o = self.sample_tokens(rng, jobs)
            y = np.asarray(pred.sample(o.astype(float), rng), float)
            fin = np.zeros(jobs)
            first = -np.ones(jobs)
            admit = -np.ones(jobs)
            npre = np.zeros(jobs, np.int64)
            acc = np.zeros(7)
            stat = np.zeros(11, np.int64)
            rdy = np.zeros(jobs, np.bool_) if ready is False else np.asarray(ready, np.bool_)
            win = np.array([arr[lo], arr[hi - 1]]) if not saturated else \
                np.array([0.0, np.inf])       # saturated: the whole run
            t0 = time.perf_counter()
            run_kernel(arr, s, o, y, rdy, self.scheduler.code, self._order_code, self._trail_c,
                       self.blocks, self.block_size, kmax, btok, self.max_output, kind, cp,
                       a0, a1, a2, tab, fin, first, admit, npre, acc, win, stat, fn=fn)
            dt = time.perf_counter() - t0
            if stat[3]:
                raise QTheoryError("the simulator could not fit a request into an empty "
                                   "engine (memory, max_seqs or max_tokens too small).")
            details["iterations_per_second"].append(stat[0] / dt)
            details["iterations"] += int(stat[0])
            details["peak_blocks"] = max(details["peak_blocks"], int(stat[2]))
            details["finished"] += int(np.count_nonzero(fin > 0))
            details["accounting"].append(dict(
                prompt_tokens=int(s.sum()), output_tokens=int((o + 1).sum()),
                prefill_tokens=int(stat[4]), decode_tokens=int(stat[5]),
                prefill_completions=int(stat[6]), preemptions=int(stat[1]),
                partial_preemptions=int(stat[7]), recompute_tokens=int(stat[8]),
                lost_partial_tokens=int(stat[9]), forced_preemptions=int(stat[10])))
            w = slice(lo, hi)
            T = fin[w] - arr[w]
            ttft = first[w] - arr[w]
            ow = o[w]
            tpot = ((fin[w] - first[w])[ow > 0] / ow[ow > 0])
            samples["T"].append(T.mean())
            samples["TTFT"].append(ttft.mean())
            samples["TPOT"].append(tpot.mean() if tpot.size else 0.0)
            samples["queue"].append((admit[w] - arr[w]).mean())
            samples["preemptions"].append(npre.mean())
            for m, p in qnames:
                v = {"T": T, "TTFT": ttft, "TPOT": tpot}[m]
                samples[f"{m}_P{100 * p:g}"].append(float(np.quantile(v, p)) if v.size
                                                    else 0.0)
            k1, k2 = int(0.1 * jobs), int(0.8 * jobs)
            ft = np.partition(fin, (k1, k2))
            samples["throughput"].append((k2 - k1) / (ft[k2] - ft[k1]))
            if acc[0] == 0:
                samples["memory_util"].append(math.nan)
                samples["batch"].append(math.nan)
                samples["iteration_time"].append(math.nan)
            else:
                samples["memory_util"].append(acc[1] / (self.memory * acc[0]))
                samples["batch"].append(acc[2] / acc[0])
                samples["iteration_time"].append(acc[0] / acc[3])
            samples["TPOT_token"].append(acc[5] / acc[6] if acc[6] > 0 else math.nan)
        details["iterations_per_second"] = float(np.median(details["iterations_per_second"]))
        res = SimulationResult.from_replications(samples, jobs, lo,
                                                 f"{self.scheduler.name}/{self.order!r}",
                                                 **details)
        return res.with_(elapsed=time.perf_counter() - t_start)
