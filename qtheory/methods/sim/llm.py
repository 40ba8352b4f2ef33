"""Simulator of iteration-level LLM serving (continuous batching; numba kernel,
``cache=True``) for :class:`~qtheory.queues.continuous.ContinuousBatching`.

Each iteration takes d0 + d_tok (tokens processed) + d1 (KV tokens held); a request with
prompt s and output o runs o + 1 iterations (iteration 0 is the prefill and emits the
first token) holding s, s + 1, …, s + o KV tokens. The admission policies, as the
kernel's codes (:mod:`qtheory.policies.admission` turns the policy objects into them):

``"fcfs"``     qt.FCFS: admit the head request only if the batch's *future peak* memory
               (outputs known) fits in M — no request is ever evicted;
``"reserve"``  qt.Reserve(): FCFS, reserving s + o_max tokens per request up front;
``"evict"``    qt.Evict(), vLLM-style: admit FCFS while the current KV fits; when the
               growing batch overflows, evict the latest-arrived running request, which
               is re-admitted first and recomputes its s + j tokens (prefill) — its
               progress j is kept;
``"spf"``      qt.Trail(c): shortest predicted remaining output first (rank y − j, y a
               prediction of o from a :mod:`qtheory.laws.predictions` model) with
               limited preemption: a running request with j ≤ c·y may be evicted to
               admit a request of strictly better rank (Shahout et al., ICLR 2025); when
               the growing batch overflows, the worst-ranked preemptable request is
               evicted (one past its limit only if none is preemptable).

Independent replications are seeded by ``numpy.random.SeedSequence(seed).spawn(replications)``
and reported with Student-t 95% confidence intervals; the first ``warmup`` and last
``cooldown`` fractions of requests (by arrival) are dropped.
"""

import math
import time

import numpy as np
from numba import njit

from ...core.errors import ParameterError, QTheoryError
from ...core.result import SimulationResult
from .batch import measured_window
from .engine import _check_int

__all__ = ["simulate_llm", "POLICIES"]

POLICIES = {"fcfs": 0, "reserve": 1, "evict": 2, "spf": 3}
#: Rank offset that puts requests past their preemption limit after all others (spf).
_NOT_PREEMPTABLE = 1e15


# The waiting requests of policy "spf": a 4-ary min-heap of (key, id) rows, ties to the
# lower id (FCFS); a node's four children share a cache line, which matters when the heap
# holds ~10^5 requests (an overloaded or saturated server).
@njit(cache=True)
def _heap_before(k1, i1, k2, i2):
    return k1 < k2 or (k1 == k2 and i1 < i2)


@njit(cache=True)
def _heap_push(heap, size, key, ident):
    """Add (key, ident) to heap[:size]; return the new size."""
    i = size
    while i > 0:
        p = (i - 1) >> 2
        if not _heap_before(key, ident, heap[p, 0], heap[p, 1]):
            break
        heap[i, 0], heap[i, 1] = heap[p, 0], heap[p, 1]
        i = p
    heap[i, 0], heap[i, 1] = key, ident
    return size + 1


@njit(cache=True)
def _heap_pop(heap, size):
    """Remove the top of heap[:size]; return the new size."""
    size -= 1
    key, ident = heap[size, 0], heap[size, 1]
    i = 0
    while 4 * i + 1 < size:
        m = 4 * i + 1
        for c in range(m + 1, min(m + 4, size)):
            if _heap_before(heap[c, 0], heap[c, 1], heap[m, 0], heap[m, 1]):
                m = c
        if not _heap_before(heap[m, 0], heap[m, 1], key, ident):
            break
        heap[i, 0], heap[i, 1] = heap[m, 0], heap[m, 1]
        i = m
    heap[i, 0], heap[i, 1] = key, ident
    return size


@njit(cache=True, inline="always")
def _spf_next(heap, nh, backlog, bp, y):
    """The best waiting request of policy "spf" (-1 if none), and whether it is the head
    of the backlog (requests present at time 0, sorted once) rather than the heap top."""
    if bp < backlog.size:
        b = backlog[bp]
        if nh == 0 or _heap_before(y[b], b, heap[0, 0], heap[0, 1]):
            return b, True
    if nh > 0:
        return int(heap[0, 1]), False
    return -1, False


@njit(cache=True)
def _run_insert(rc, rid, rh, nr, c, ident):
    """Insert (c, ident) into the c-sorted run list rc/rid[rh:rh+nr]; return new rh."""
    if rh + nr + 1 > rc.size:
        for i in range(nr):
            rc[i], rid[i] = rc[rh + i], rid[rh + i]
        rh = 0
    lo, hi = rh, rh + nr
    while lo < hi:
        mid = (lo + hi) // 2
        if rc[mid] <= c:
            lo = mid + 1
        else:
            hi = mid
    for i in range(rh + nr, lo, -1):
        rc[i], rid[i] = rc[i - 1], rid[i - 1]
    rc[lo], rid[lo] = c, ident
    return rh


@njit(cache=True)
def _run_remove(rc, rid, rh, nr, pos):
    for i in range(pos, rh + nr - 1):
        rc[i], rid[i] = rc[i + 1], rid[i + 1]


@njit(cache=True)
def _peak_ok(rc, rid, rh, nr, acoef, SA, a_new, c_new, it, M):
    """Does the running batch plus a new request (KV a_new + t at iteration t, finishing
    after iteration c_new) stay within M at every future iteration? Between completions
    the running KV Σ_{c_i ≥ t} (a_i + t) grows, so the peak is at some c_i (or c_new).
    Scanned from the earliest completion, where a violation usually is (early exit)."""
    if a_new + c_new > M:
        return False
    prefix = 0
    for k in range(rh, rh + nr):
        ck = rc[k]
        lowc = rc[k - 1] if k > rh else it - 1
        if ck != lowc:
            if c_new <= lowc:
                break                   # later segments start after the new request ends
            t = ck if ck < c_new else c_new
            if SA - prefix + (nr - (k - rh)) * t + a_new + t > M:
                return False
        prefix += acoef[rid[k]]
    return True


@njit(cache=True, inline="always")
def _victim(rc, rid, rh, nr, policy, it, y, base, trail_c, rank):
    """Run-list position of the request to evict. Policy 2: the latest arrival. Policy 3:
    the worst predicted remaining y − j, among the preemptable (j ≤ c y) of rank worse
    than ``rank`` (Trail admission; -1 if none), or with ``rank = -inf`` among all,
    preemptable ones first (memory overflow). Ties go to the earliest completion."""
    best, bestkey = -1, -math.inf
    for k in range(rh, rh + nr):
        i = rid[k]
        if policy == 2:
            key = float(i)
        else:
            j = it - base[i]
            key = y[i] - j
            if j > trail_c * y[i]:
                if rank > -math.inf:
                    continue
                key -= _NOT_PREEMPTABLE
            elif key <= rank:
                continue
        if key > bestkey:
            best, bestkey = k, key
    return best


@njit(cache=True)
def _can_free(short, rank, it, trail_c, rc, rid, rh, nr, s, y, base):
    """Would evicting the preemptable requests of rank worse than ``rank`` free at least
    ``short`` KV tokens? (Stops as soon as they would.)"""
    free = 0
    for k in range(rh, rh + nr):
        q = rid[k]
        jq = it - base[q]
        if jq <= trail_c * y[q] and y[q] - jq > rank:
            free += s[q] + jq
            if free >= short:
                return True
    return False


@njit(cache=True, inline="always")
def _evict_until(limit, rank, policy, it, trail_c, s, y, base, prog, acoef, rc, rid, rh, nr,
                 SA, kv, tok, stk, nstk, heap, nh, stat):
    """Evict :func:`_victim` requests until the batch's KV is at most ``limit``. An evicted
    request keeps its progress j and waits on the stack (policy 2) or the heap (policy 3)
    to recompute its s + j tokens. Counts evictions in stat[1] (forced ones, of requests
    past their preemption limit, in stat[2]); returns the updated scalars."""
    while kv > limit:
        k = _victim(rc, rid, rh, nr, policy, it, y, base, trail_c, rank)
        i = rid[k]
        if policy == 3 and it - base[i] > trail_c * y[i]:
            stat[2] += 1
        _run_remove(rc, rid, rh, nr, k)
        nr -= 1
        SA -= acoef[i]
        prog[i] = it - base[i]
        kv -= s[i] + prog[i]
        tok -= 1
        stat[1] += 1
        if policy == 2:
            stk[nstk] = i
            nstk += 1
        else:
            nh = _heap_push(heap, nh, y[i] - prog[i], i)
    return nr, SA, kv, tok, nstk, nh


@njit(cache=True)
def _llm_kernel(arr, s, o, y, policy, M, d0, d1, dtok, kmax, btok, omax, trail_c,
                fin, first, cum, stat, tr_t, tr_kv, tr_info):
    n = arr.size
    base = np.zeros(n, np.int64)       # KV of a running request at iteration t: s + t - base
    prog = np.zeros(n, np.int64)       # progress j kept across an eviction
    acoef = np.zeros(n, np.int64)      # s - base
    rc = np.zeros(2 * n + 2, np.int64)
    rid = np.zeros(2 * n + 2, np.int64)
    stk = np.zeros(n, np.int64)
    heap = np.zeros((n, 2))           # policy 3: waiting (predicted remaining, id)
    newl = np.zeros(n, np.int64)
    # policy 3: the requests present at time 0 (a saturated run: all of them) wait in one
    # array sorted by (y, id), not in the heap, whose pops would each cost log n misses
    nb = 0
    while policy == 3 and nb < n and arr[nb] <= 0.0:
        nb += 1
    backlog = np.argsort(y[:nb], kind="mergesort")   # stable: ties to the lower id (FCFS)
    bp = 0
    rh = 0
    nr = 0
    nstk = 0
    nh = 0
    SA = 0
    nxt = 0
    narr = nb
    done = 0
    it = 0
    now = 0.0
    reserved = 0
    kv_time = 0.0
    nr_time = 0.0
    busy = 0.0
    stride = tr_info[0]
    ntr = 0
    maxkey = -1e300                    # max of y + base over running (-1e300: recompute)
    L = tr_t.size
    while done < n:
        while narr < n and arr[narr] <= now:
            if policy == 3:
                nh = _heap_push(heap, nh, y[narr], narr)
            narr += 1
        kv = SA + it * nr
        tok = nr
        nnew = 0
        evicted = False
        # -- overflow: evict (policies 2, 3) -------------------------------------------
        if policy >= 2 and kv > M:
            nr, SA, kv, tok, nstk, nh = _evict_until(
                M, -math.inf, policy, it, trail_c, s, y, base, prog, acoef, rc, rid, rh, nr,
                SA, kv, tok, stk, nstk, heap, nh, stat)
            maxkey = -1e300
            evicted = True
        # -- admission -------------------------------------------------------------------
        if not evicted:
            while nr < kmax:
                if policy == 2 and nstk > 0:
                    i = stk[nstk - 1]
                elif policy == 3:
                    i, head = _spf_next(heap, nh, backlog, bp, y)
                    if i < 0:
                        break
                elif nxt < narr:
                    i = nxt
                else:
                    break
                j = prog[i]
                need = s[i] + j
                if tok + need > btok:
                    break
                if policy == 0:
                    ok = _peak_ok(rc, rid, rh, nr, acoef, SA, s[i] - it, it + o[i], it, M)
                elif policy == 1:
                    ok = reserved + s[i] + omax <= M
                else:
                    ok = kv + need <= M
                if not ok and policy == 3 and nr > 0:
                    # the order of running ranks y - (t - base) never changes: key = y + base
                    if maxkey < -1e299:
                        for k in range(rh, rh + nr):
                            q = rid[k]
                            if y[q] + base[q] > maxkey:
                                maxkey = y[q] + base[q]
                    if maxkey <= y[i] - j + it:
                        break                   # no running request ranks worse
                    # Trail: evict preemptable running requests of strictly worse rank (never
                    # one admitted in this loop: its rank is <= the candidate's)
                    rank = y[i] - j
                    if _can_free(kv + need - M, rank, it, trail_c, rc, rid, rh, nr, s, y, base):
                        nr, SA, kv, tok, nstk, nh = _evict_until(
                            M - need, rank, policy, it, trail_c, s, y, base, prog, acoef, rc,
                            rid, rh, nr, SA, kv, tok, stk, nstk, heap, nh, stat)
                        maxkey = -1e300
                        ok = True
                    # the heap changed only by pushes of worse rank: i stays the best
                if not ok:
                    break
                # admit i at stage j
                if policy == 2 and nstk > 0:
                    nstk -= 1
                elif policy == 3:
                    if head:
                        bp += 1
                    else:
                        nh = _heap_pop(heap, nh)
                else:
                    nxt += 1
                base[i] = it - j
                acoef[i] = s[i] - base[i]
                rh = _run_insert(rc, rid, rh, nr, base[i] + o[i], i)
                if maxkey > -1e299 and y[i] + base[i] > maxkey:
                    maxkey = y[i] + base[i]
                nr += 1
                SA += acoef[i]
                kv += need
                tok += need
                if policy == 1:
                    reserved += s[i] + omax
                newl[nnew] = i
                nnew += 1
        if nr == 0:
            waiting = nh > 0 or bp < nb if policy == 3 else (nxt < narr or nstk > 0)
            if waiting:
                stat[3] = 1         # cannot admit into an empty batch: infeasible request
                break
            if narr < n:
                now = arr[narr]
                continue
            break
        # -- one iteration -------------------------------------------------------------
        tau = d0 + d1 * kv + dtok * tok
        now += tau
        kv_time += kv * tau
        nr_time += nr * tau
        busy += tau
        for q in range(nnew):
            i = newl[q]
            if first[i] < 0:
                first[i] = now
        while nr > 0 and rc[rh] == it:
            i = rid[rh]
            fin[i] = now
            if y[i] + base[i] >= maxkey:
                maxkey = -1e300
            cum[i, 0] = kv_time
            cum[i, 1] = nr_time
            cum[i, 2] = busy
            cum[i, 3] = it + 1
            rh += 1
            nr -= 1
            SA -= acoef[i]
            if policy == 1:
                reserved -= s[i] + omax
            done += 1
        if it % stride == 0:
            if ntr == L:
                for q in range(L // 2):
                    tr_t[q], tr_kv[q] = tr_t[2 * q], tr_kv[2 * q]
                ntr = L // 2
                stride *= 2
            if it % stride == 0:
                tr_t[ntr] = now
                tr_kv[ntr] = kv
                ntr += 1
        it += 1
    stat[0] = it
    tr_info[0] = stride
    tr_info[1] = ntr
    return it


def simulate_llm(cb, jobs=100_000, seed=1, replications=10, policy=None, prediction=None,
                 trail_c=None, warmup=0.1, cooldown=0.1, saturated=False, max_output=None,
                 trace_points=4096):
    """Simulate continuous batching for a :class:`~qtheory.queues.continuous.ContinuousBatching`.

    Parameters
    ----------
    policy : qt.FCFS, qt.Reserve(), qt.Evict() or qt.Trail(c)
        Admission policy (:mod:`qtheory.policies.admission`; default qt.FCFS).
    prediction : PredictionModel, optional
        For qt.Trail: the law of the predicted output y given o (default: perfect).
    saturated : bool
        All requests arrive at time 0 (an infinite backlog): measures the maximal
        throughput of the policy.
    max_output : int, optional
        For qt.Reserve(): o_max reserved per request (default: the largest output).
    trail_c : float, deprecated
        With the deprecated ``policy="spf"``; pass ``qt.Trail(c)`` instead.

    Returns
    -------
    SimulationResult
        Metrics ``T`` (response time), ``TTFT``, ``TPOT`` (mean over requests with o ≥ 1
        of (T − TTFT)/o), ``throughput`` (completions per unit time), ``memory_util``
        (time-average KV / M), ``batch`` (time-average running requests),
        ``iteration_time`` (mean), ``evictions`` (per request); ``details`` holds the
        memory trace of the first replication and the simulated iterations per second.
    """
    from ...laws.predictions import Perfect, as_prediction
    from ...policies.admission import as_admission
    from ...policies.catalogue import FCFS
    rule = as_admission(FCFS if policy is None else policy, trail_c, max_output)
    policy, trail_c, max_output = rule.code, rule.c, rule.max_output
    pred = as_prediction(prediction) or Perfect()
    lam = float(cb.arrival_rate)
    lo, hi = measured_window(jobs, warmup, cooldown)
    M = int(cb.memory)
    kmax = int(min(cb.max_seqs, jobs + 1))
    btok = int(min(cb.max_tokens, 2**62))
    replications = _check_int("replications", replications, 2,
                              "use at least 2 independent replications (10 is typical)")
    children = np.random.SeedSequence(seed).spawn(replications)
    keys = ["T", "TTFT", "TPOT", "throughput", "memory_util", "batch", "iteration_time",
            "evictions"]
    samples = {k: [] for k in keys}
    details = {"iterations_per_second": [], "iterations": 0, "forced_evictions": 0}
    for r, child in enumerate(children):
        rng = np.random.default_rng(child)
        arr = (np.zeros(jobs) if saturated else np.cumsum(rng.exponential(1.0 / lam, jobs)))
        s, o = cb.sample_tokens(rng, jobs)
        y = np.asarray(pred.sample(o.astype(float), rng), float)
        omax = int(max_output if max_output is not None else o.max())
        if np.any(o > omax):
            raise ParameterError(f"max_output = {max_output} is below a sampled output "
                                 f"{o.max()}: reserve-max needs a true cap.")
        if np.any(s + o > M) or (policy == "reserve" and np.any(s + omax > M)):
            raise ParameterError(f"memory = {M} tokens cannot hold a request with s + o = "
                                 f"{int((s + o).max())}: raise memory or cap the outputs.")
        if np.any(s > btok):
            raise ParameterError(f"max_tokens = {btok} is below a prompt of {s.max()} tokens "
                                 "(chunked prefill is not modelled).")
        if saturated and policy == "spf":
            # the backlog is served in order of prediction: number it that way (ties in
            # draw order), so the kernel meets requests nearly in memory order (1.5x
            # faster with 2e5 requests); the window below stays the one of draw order
            perm = np.argsort(y, kind="stable")
            s, o, y = s[perm], o[perm], y[perm]
            w = (perm >= lo) & (perm < hi)
        else:
            w = slice(lo, hi)
        fin = np.zeros(jobs)
        first = -np.ones(jobs)
        cum = np.zeros((jobs, 4))
        stat = np.zeros(4, np.int64)
        tr_t = np.zeros(trace_points)
        tr_kv = np.zeros(trace_points)
        tr_info = np.array([1, 0], np.int64)
        t0 = time.perf_counter()
        _llm_kernel(arr, s, o, y, POLICIES[policy], M, float(cb.d0), float(cb.d1),
                    float(cb.d_tok), kmax, btok, omax, float(trail_c), fin, first, cum, stat,
                    tr_t, tr_kv, tr_info)
        dt = time.perf_counter() - t0
        if stat[3]:
            raise QTheoryError("the simulator could not admit a request into an empty batch "
                               "(memory, max_seqs or max_tokens too small for it).")
        details["iterations_per_second"].append(stat[0] / dt)
        details["iterations"] += int(stat[0])
        details["forced_evictions"] += int(stat[2])
        T = fin[w] - arr[w]
        ttft = first[w] - arr[w]
        ow = o[w]
        tpot = (fin[w] - first[w])[ow > 0] / ow[ow > 0]
        # the 10% and 80% completions (tied completions share their cum rows)
        k1, k2 = int(0.1 * jobs), int(0.8 * jobs)
        order = np.argpartition(fin, (k1, k2))
        i1, i2 = order[k1], order[k2]
        dt_w = fin[i2] - fin[i1]
        c1, c2 = cum[i1], cum[i2]
        samples["T"].append(T.mean())
        samples["TTFT"].append(ttft.mean())
        samples["TPOT"].append(tpot.mean() if tpot.size else 0.0)
        # admissions (first tokens) are in FCFS order for fcfs/reserve/evict: their rate
        # is the throughput without the end effects of out-of-order completions
        ft = np.partition(first, (k1, k2))
        samples["throughput"].append((k2 - k1) / (ft[k2] - ft[k1]))
        samples["memory_util"].append((c2[0] - c1[0]) / (M * dt_w))
        samples["batch"].append((c2[1] - c1[1]) / dt_w)
        samples["iteration_time"].append((c2[2] - c1[2]) / max(c2[3] - c1[3], 1))
        samples["evictions"].append(stat[1] / jobs)
        if r == 0:
            k = int(tr_info[1])
            details["memory_trace"] = (tr_t[:k].copy(), tr_kv[:k].copy())
    details["iterations_per_second"] = float(np.median(details["iterations_per_second"]))
    return SimulationResult.from_replications(samples, jobs, lo, rule.name, **details)
