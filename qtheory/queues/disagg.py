"""Disaggregated prefill and decode (DistServe, Zhong et al. 2024, arXiv 2401.09670 §3.1;
MATH.md §9) against pooled GPUs, and goodput under TTFT/TPOT SLOs.

A prefill GPU serves one prompt at a time (prefill is compute-bound: batching prompts
does not shorten them), so with Poisson arrivals split at random over n_p GPUs each is an
M/G/1 FCFS queue with service D(s) = τ(s, 0, s) (the iteration of one prompt); for a
fixed prompt it is DistServe's M/D/1 and the mean TTFT is D + RD²/(2(1 − RD)) (R the
rate per GPU), its distribution Erlang's M/D/1 waiting-time formula shifted by D. The KV
cache then moves to a decode GPU (a delay per request); the decode GPUs run
continuous batching of decodes only, TPOT = d0 / (1 − λ_d (d_decode E[o] + d_kv E[g_d]))
in the fluid limit (g_d = Σ_{j=1}^{o} (s + j)).
"""

import math
import numbers

import numpy as np

from ..core.errors import ParameterError, UnstableError
from ..core.result import Result

__all__ = ["md1_waiting_cdf", "distserve_mean_ttft", "Disaggregated", "SLO"]


def md1_waiting_cdf(rate, D, t):
    """P(W ≤ t) for the M/D/1 FCFS queue (arrival rate ``rate``, service ``D``): Erlang's
    formula, **exact**,

        P(W ≤ t) = (1 − ρ) Σ_{k=0}^{⌊t/D⌋} e^{−λ(kD − t)} (λ(kD − t))^k / k!,  ρ = λD

    (Erlang 1909; e.g. Franx 2001, "A simple solution for the M/D/c waiting time
    distribution", Oper. Res. Lett. 29, eq. (1) with c = 1; DistServe §3.1). The sum
    alternates, so it is evaluated in mpmath with enough digits for e^{λt} cancellation.

    Examples
    --------
    >>> round(md1_waiting_cdf(0.5, 1.0, 0.0), 12)       # P(W = 0) = 1 − ρ
    0.5
    >>> round(md1_waiting_cdf(0.5, 1.0, 1.0), 12)       # k = 0 term only: 0.5 e^{0.5}
    0.82436063535
    """
    import mpmath
    if not (rate > 0 and D > 0 and rate * D < 1):
        raise UnstableError(rate * D, "the M/D/1 prefill queue needs rate * D < 1")
    t = float(t)
    if t < 0:
        return 0.0
    lam = float(rate)
    kmax = int(math.floor(t / D))
    digits = 20 + int(2 * lam * t / math.log(10)) + int(math.log10(kmax + 2))
    with mpmath.workdps(digits):
        total = mpmath.mpf(0)
        for k in range(kmax + 1):
            x = lam * (k * mpmath.mpf(D) - t)
            total += mpmath.exp(-x) * x**k / mpmath.factorial(k)
        v = (1 - lam * D) * total
    return float(min(max(v, 0.0), 1.0))


def distserve_mean_ttft(rate, D, parallel=None, K=1.0):
    """DistServe's mean TTFT of a prefill instance (arXiv 2401.09670, §3.1), **exact** for
    its M/D/1 model:

    * one GPU: D + RD² / (2(1 − RD));
    * ``parallel="pipeline"`` (two stages, each D/2, both GPUs): D + RD² / (4(2 − RD));
    * ``parallel="tensor"`` with speedup K: D/K + RD² / (2K(K − RD)).

    Examples
    --------
    >>> distserve_mean_ttft(2.0, 0.25)                   # 0.25 + 2/16 / (2 * 0.5)
    0.375
    >>> round(distserve_mean_ttft(2.0, 0.25, "tensor", K=2), 6)
    0.145833
    """
    R, D = float(rate), float(D)
    if parallel is None:
        if not R * D < 1:
            raise UnstableError(R * D, "prefill load R D must be < 1")
        return D + R * D * D / (2 * (1 - R * D))
    if parallel == "pipeline":
        if not R * D < 2:
            raise UnstableError(R * D / 2, "pipeline prefill load R D / 2 must be < 1")
        return D + R * D * D / (4 * (2 - R * D))
    if parallel == "tensor":
        if not (K >= 1 and R * D < K):
            raise UnstableError(R * D / K, "tensor-parallel prefill load R D / K must be < 1")
        return D / K + R * D * D / (2 * K * (K - R * D))
    raise ParameterError(f"parallel = {parallel!r} is invalid: None, 'pipeline' or 'tensor'.")


class SLO:
    """Service-level objective: the ``percentile`` of TTFT at most ``ttft`` seconds and of
    TPOT at most ``tpot`` seconds (DistServe uses P90).

    Examples
    --------
    >>> SLO(ttft=0.4, tpot=0.04)
    SLO(ttft=0.4, tpot=0.04, percentile=0.9)
    """

    def __init__(self, ttft, tpot, percentile=0.9):
        for name, v in (("ttft", ttft), ("tpot", tpot)):
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not v > 0:
                raise ParameterError(f"{name} = {v!r} is invalid: a positive time in seconds.")
        if not 0 < percentile < 1:
            raise ParameterError(f"percentile = {percentile!r} is invalid: in (0, 1).")
        self.ttft, self.tpot, self.percentile = float(ttft), float(tpot), float(percentile)

    def __repr__(self):
        return f"SLO(ttft={self.ttft:g}, tpot={self.tpot:g}, percentile={self.percentile:g})"


def _bisect_rate(ok, hi, tol=1e-3, steps=40):
    """Largest rate in (0, hi) with ok(rate) True (ok monotone: True below, False above)."""
    lo = 0.0
    if ok(hi * (1 - 1e-9)):
        return hi
    for _ in range(steps):
        mid = (lo + hi) / 2
        if ok(mid):
            lo = mid
        else:
            hi = mid
        if hi - lo <= tol * hi:
            break
    return lo


class Disaggregated:
    """n_p prefill GPUs and n_d decode GPUs for one workload (random split over the GPUs
    of a pool), with a KV transfer delay per request.

    Parameters
    ----------
    server : LLMServer
        The workload and one GPU's engine (cost, memory, caps); its scheduler is what the
        *decode* GPUs run (orca by default there: decodes only).
    n_prefill, n_decode : int
        GPUs in each pool.
    transfer : float
        KV transfer time per request, seconds (fixed part).
    transfer_per_token : float
        Added per prompt KV token (bytes per token / link bandwidth).

    Examples
    --------
    >>> import qtheory as qt
    >>> srv = qt.LLMServer(1.0, 512, 128, cost=qt.IterationCost(0.01, 1e-4, 1e-4, 5e-8),
    ...                    memory=200_000, scheduler="orca")
    >>> dis = Disaggregated(srv, 1, 1)
    >>> D = 0.01 + (1e-4 + 5e-8) * 512                  # d0 + (d_p + d_kv) s
    >>> dis.prefill_time() == D
    True
    >>> abs(dis.mean_ttft().value - (D + D**2 / (2 * (1 - D)))) < 1e-15   # M/D/1, R = 1
    True
    """

    def __init__(self, server, n_prefill, n_decode, transfer=0.0, transfer_per_token=0.0):
        for name, v in (("n_prefill", n_prefill), ("n_decode", n_decode)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ParameterError(f"{name} = {v!r} is invalid: an integer >= 1 GPUs.")
        for name, v in (("transfer", transfer), ("transfer_per_token", transfer_per_token)):
            if not (isinstance(v, numbers.Real) and 0 <= v < math.inf):
                raise ParameterError(f"{name} = {v!r} is invalid: a time >= 0 in seconds.")
        if not server.cost.linear:
            raise ParameterError("Disaggregated needs the linear IterationCost.")
        self.server, self.n_prefill, self.n_decode = server, int(n_prefill), int(n_decode)
        self.transfer, self.transfer_per_token = float(transfer), float(transfer_per_token)

    @property
    def gpus(self):
        return self.n_prefill + self.n_decode

    @property
    def arrival_rate(self):
        return self.server.arrival_rate

    # -- prefill pool ------------------------------------------------------------------
    def _prefill_times(self):
        d0, dp, dd, dk = self.server.cost.coefficients
        sv = self.server.prompt.values.astype(float)
        return d0 + (dp + dk) * sv, self.server.prompt.probs

    def prefill_time(self):
        """E[D], D = d0 + (d_prefill + d_kv) s: one prompt's prefill iteration alone."""
        D, p = self._prefill_times()
        return float(p @ D)

    def mean_ttft(self, rate=None):
        """Mean TTFT: M/G/1 FCFS per prefill GPU (Pollaczek–Khinchine), **exact** under
        random splitting; with a fixed prompt DistServe's M/D/1 formula."""
        R = (self.arrival_rate if rate is None else rate) / self.n_prefill
        D, p = self._prefill_times()
        ED, ED2 = float(p @ D), float(p @ D**2)
        if not R * ED < 1:
            raise UnstableError(R * ED, "prefill GPUs saturated: add prefill GPUs")
        return Result(ED + R * ED2 / (2 * (1 - R * ED)), 0.0, "exact (M/G/1)", "prefill",
                      details={"kind": "exact", "load": R * ED})

    def ttft_quantile(self, q, rate=None):
        """The q-quantile of TTFT for a fixed prompt (M/D/1, Erlang's formula, **exact**;
        bisection to 1e-10 relative)."""
        D, p = self._prefill_times()
        if D.size != 1:
            raise ParameterError("ttft_quantile needs a fixed prompt length (M/D/1); for a "
                                 "prompt law use simulate().")
        R = (self.arrival_rate if rate is None else rate) / self.n_prefill
        D = float(D[0])
        if md1_waiting_cdf(R, D, 0.0) >= q:
            return D
        lo, hi = 0.0, D
        while md1_waiting_cdf(R, D, hi) < q:
            lo, hi = hi, 2 * hi
        while hi - lo > 1e-10 * hi:
            mid = (lo + hi) / 2
            if md1_waiting_cdf(R, D, mid) < q:
                lo = mid
            else:
                hi = mid
        return D + hi

    # -- decode pool -------------------------------------------------------------------
    def mean_tpot(self, rate=None):
        """Decode-pool TPOT, **fluid approximation**: d0 / (1 − λ_d (d_decode E[o] + d_kv
        E[g_d])), λ_d the rate per decode GPU, g_d = o s + o(o + 1)/2 the KV·iterations of
        the decodes (DistServe §3.1's t0 / (1 − λ_d t1 E[O]) with phase costs). Excludes
        the transfer delay (which :meth:`simulate`'s TPOT includes, spread over o)."""
        lam_d = (self.arrival_rate if rate is None else rate) / self.n_decode
        d0, dp, dd, dk = self.server.cost.coefficients
        srv = self.server
        o1, o2, s1 = srv.mean_output, srv.output.moment(2), srv.mean_prompt
        gd = o1 * s1 + (o2 + o1) / 2
        denom = 1 - lam_d * (dd * o1 + dk * gd)
        if not denom > 0:
            raise UnstableError(1 - denom, "decode GPUs saturated: add decode GPUs")
        return Result(d0 / denom, 0.0, "fluid", "decode", details={"kind": "approximation"})

    # -- goodput -----------------------------------------------------------------------
    def goodput(self, slo, method="analysis"):
        """Largest arrival rate meeting ``slo`` (:class:`SLO`), divided by the GPUs.

        ``method="analysis"``: the prefill pool's TTFT percentile from M/D/1 (exact; a
        fixed prompt) and the decode pool's fluid TPOT held against the TPOT SLO (the
        fluid TPOT is a mean: an approximation of its percentile); the rate is the
        smaller of the two pools' largest rates. ``"simulation"``: bisection on the
        simulated percentiles (:meth:`simulate`, common random numbers).
        """
        if method == "simulation":
            return self._goodput_sim(slo)
        D = self.prefill_time()
        cap_p = self.n_prefill / D
        Ds, _ = self._prefill_times()
        if Ds.size != 1:
            raise ParameterError("goodput(method='analysis') needs a fixed prompt length "
                                 "(M/D/1 prefill); use method='simulation'.")

        def ok_p(r):      # P(TTFT <= slo) = P(W <= slo - D) >= percentile
            return slo.ttft >= D and md1_waiting_cdf(r / self.n_prefill, D,
                                                     slo.ttft - D) >= slo.percentile
        lam_p = _bisect_rate(ok_p, cap_p) if ok_p(1e-12 * cap_p) else 0.0

        def ok_d(r):
            try:
                return self.mean_tpot(r).value <= slo.tpot
            except UnstableError:
                return False
        hi = 1.0
        while ok_d(hi):
            hi *= 2
        lam_d = _bisect_rate(ok_d, hi) if ok_d(1e-12) else 0.0
        lam = min(lam_p, lam_d)
        return Result(lam / self.gpus, 0.0, "analysis", f"{self.n_prefill}P{self.n_decode}D",
                      details={"kind": "approximation", "rate": lam, "prefill_rate": lam_p,
                               "decode_rate": lam_d})

    def _goodput_sim(self, slo, jobs=20_000, replications=2, seed=1):
        def ok(r):
            try:
                s = self.simulate(rate=r, jobs=jobs, replications=replications, seed=seed,
                                  quantiles=(slo.percentile,))
            except UnstableError:
                return False
            p = f"P{100 * slo.percentile:g}"
            return s.mean(f"TTFT_{p}") <= slo.ttft and s.mean(f"TPOT_{p}") <= slo.tpot
        hi = self.n_prefill / self.prefill_time()
        lam = _bisect_rate(ok, hi, tol=5e-3, steps=14)
        return Result(lam / self.gpus, 0.0, "simulation", f"{self.n_prefill}P{self.n_decode}D",
                      details={"kind": "simulation", "rate": lam})

    @classmethod
    def best_split(cls, server, gpus, slo, transfer=0.0, method="analysis"):
        """The (n_prefill, n_decode) with n_prefill + n_decode = ``gpus`` of largest
        goodput per GPU, and the table of all splits: ``(best, {(n_p, n_d): Result})``."""
        table = {}
        for n_p in range(1, gpus):
            d = cls(server, n_p, gpus - n_p, transfer)
            table[(n_p, gpus - n_p)] = d.goodput(slo, method)
        best = max(table, key=lambda k: table[k].value)
        return best, table

    # -- simulation --------------------------------------------------------------------
    def simulate(self, rate=None, jobs=40_000, replications=4, seed=1, warmup=0.1,
                 cooldown=0.1, quantiles=(0.5, 0.9, 0.99)):
        """The tandem simulated: Poisson arrivals split at random over the prefill GPUs
        (each FCFS, one prompt at a time, Lindley's recursion), the KV transfer, then at
        random over the decode GPUs (each the server's engine with the KV already present:
        :mod:`qtheory.methods.sim.llm_sched` with ``ready`` requests). Metrics as
        :meth:`LLMServer.simulate`: T, TTFT, TPOT (with the transfer), their percentiles,
        with CIs over replications."""
        from ..core.result import SimulationResult
        from ..methods.sim.batch import measured_window
        from ..methods.sim.llm_sched import run_kernel
        srv = self.server
        lam = float(self.arrival_rate if rate is None else rate)
        ED = self.prefill_time()
        if not lam * ED < self.n_prefill:
            raise UnstableError(lam * ED / self.n_prefill, "prefill GPUs saturated")
        lo, hi = measured_window(jobs, warmup, cooldown)
        d0, dp, dd, dk = srv.cost.coefficients
        kind, cp, a0, a1, a2, tab, fn = srv.cost.kernel_args()
        names = [f"{m}_P{100 * p:g}" for m in ("T", "TTFT", "TPOT") for p in quantiles]
        samples = {k: [] for k in ["T", "TTFT", "TPOT", "preemptions"] + names}
        for child in np.random.SeedSequence(seed).spawn(replications):
            rng = np.random.default_rng(child)
            arr = np.cumsum(rng.exponential(1 / lam, jobs))
            s, o = srv.sample_tokens(rng, jobs)
            gp = rng.integers(0, self.n_prefill, jobs)
            gd = rng.integers(0, self.n_decode, jobs)
            D = d0 + (dp + dk) * s
            first = np.empty(jobs)
            for g in range(self.n_prefill):       # Lindley per prefill GPU (FCFS)
                idx = np.flatnonzero(gp == g)
                first[idx] = _fcfs_departures(arr[idx], D[idx])
            ready_at = first + self.transfer + self.transfer_per_token * s
            fin = first.copy()
            npre = np.zeros(jobs, np.int64)
            for g in range(self.n_decode):
                idx = np.flatnonzero((gd == g) & (o > 0))
                idx = idx[np.argsort(ready_at[idx], kind="stable")]
                m = idx.size
                if m == 0:
                    continue
                f = np.zeros(m)
                fst = first[idx].copy()
                adm = -np.ones(m)
                pre = np.zeros(m, np.int64)
                stat = np.zeros(11, np.int64)
                run_kernel(ready_at[idx], s[idx], o[idx], o[idx].astype(float),
                           np.ones(m, np.bool_), srv.scheduler.code, 0, 0.0,
                           srv.blocks, srv.block_size, int(min(srv.max_seqs, m + 1)),
                           int(min(srv.max_tokens, 2**62)), srv.max_output, kind, cp, a0, a1,
                           a2, tab, f, fst, adm, pre, np.zeros(7), np.zeros(2), stat, fn=fn)
                fin[idx] = f
                npre[idx] = pre
            w = slice(lo, hi)
            T, ttft, ow = fin[w] - arr[w], first[w] - arr[w], o[w]
            tpot = (fin[w] - first[w])[ow > 0] / ow[ow > 0]
            samples["T"].append(T.mean())
            samples["TTFT"].append(ttft.mean())
            samples["TPOT"].append(tpot.mean())
            samples["preemptions"].append(npre.mean())
            for m_, v in (("T", T), ("TTFT", ttft), ("TPOT", tpot)):
                for p in quantiles:
                    samples[f"{m_}_P{100 * p:g}"].append(float(np.quantile(v, p)))
        return SimulationResult.from_replications(samples, jobs, lo,
                                                  f"{self.n_prefill}P{self.n_decode}D")


def _fcfs_departures(arr, svc):
    """Departure times of a FCFS single server (Lindley's recursion, numpy loop-free via
    the running maximum: d_k = max_{i <= k} (a_i + Σ_{i..k} S) )."""
    c = np.cumsum(svc)
    # d_k = c_k + max_{i<=k} (a_i - c_{i-1})
    prev = np.concatenate([[0.0], c[:-1]])
    return c + np.maximum.accumulate(arr - prev)
