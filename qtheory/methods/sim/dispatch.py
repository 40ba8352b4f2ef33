"""Simulator of dispatching to n separate queues (exact events, numba).

Each of the n queues keeps its own jobs and serves them by its own copy of the policy:
a priority order read from the policy's declared rank pieces (FCFS, SRPT, SPRPT, SJF,
SPJF, one-bit priority non-preemptive or preemptive-resume, priority classes: any policy
whose rank is one piece (class c, value v + m a) with m in {0, -1} on all ages, or its
non-preemptive form), or processor sharing. Ties go to the earlier arrival. Events are
exact: a heap holds each queue's next completion, arrivals are Poisson at the total
rate, the dispatcher sees the queues' state at the arrival instant.

Replications are independent streams from ``numpy.random.SeedSequence(seed).spawn``, the
first ``warmup`` jobs of each are dropped, arrivals continue until every measured job has
left, and the result carries a 95% Student-t interval over replications
(:class:`~qtheory.core.result.SimulationResult`), with per-queue means in
``details["per_queue"]``.

Examples
--------
>>> import qtheory as qt
>>> f = qt.Dispatch(8.0, qt.Exponential(1.0), servers=10, rule=qt.Random())
>>> s = f.simulate(jobs=40_000, replications=4, seed=2)
>>> abs(s.value - 5.0) < 5 * s.error          # each queue M/M/1 at 0.8: E[T] = 5
True
"""

import math
import time

import numpy as np
from numba import njit

from ...core.budget import tick
from ...core.errors import ParameterError, PolicyError
from ...core.result import SimulationResult

CHUNK = 1 << 16
NEG = -math.inf

# rule codes
ROUTE, JSQ_D, JSQ_ALL, LL_D, LL_ALL = 0, 1, 2, 3, 4


@njit(cache=True)
def _sift(hk, hq, pos, i):
    n = hk.size
    # up
    while i > 0:
        p = (i - 1) >> 1
        if hk[i] < hk[p]:
            hk[i], hk[p] = hk[p], hk[i]
            hq[i], hq[p] = hq[p], hq[i]
            pos[hq[i]] = i
            pos[hq[p]] = p
            i = p
        else:
            break
    # down
    while True:
        l = 2 * i + 1
        if l >= n:
            break
        m = l
        if l + 1 < n and hk[l + 1] < hk[l]:
            m = l + 1
        if hk[m] < hk[i]:
            hk[i], hk[m] = hk[m], hk[i]
            hq[i], hq[m] = hq[m], hq[i]
            pos[hq[i]] = i
            pos[hq[m]] = m
            i = m
        else:
            break


@njit(cache=True)
def _advance(q, t, cnt, serving, tlast, rem, ps):
    dt = t - tlast[q]
    if dt > 0 and cnt[q] > 0:
        if ps:
            share = dt / cnt[q]
            for s in range(cnt[q]):
                rem[q, s] -= share
        else:
            rem[q, serving[q]] -= dt
    tlast[q] = t


@njit(cache=True)
def _choose(q, cnt, rem, x0, cls, val, slope, npf, gid):
    """The slot served next: a started non-preemptive job, else the lowest (class, value
    + slope age, arrival)."""
    best = -1
    bc, bv, bg = 0.0, 0.0, 0
    for s in range(cnt[q]):
        age = x0[q, s] - rem[q, s]
        if npf[q, s] and age > 0:
            return s
        c = cls[q, s]
        v = val[q, s] + slope[q, s] * age
        g = gid[q, s]
        if best < 0 or c < bc or (c == bc and (v < bv or (v == bv and g < bg))):
            best, bc, bv, bg = s, c, v, g
    return best


@njit(cache=True)
def _next_time(q, t, cnt, serving, rem, ps):
    if cnt[q] == 0:
        return math.inf
    if ps:
        m = rem[q, 0]
        for s in range(1, cnt[q]):
            if rem[q, s] < m:
                m = rem[q, s]
        return t + max(m, 0.0) * cnt[q]
    return t + max(rem[q, serving[q]], 0.0)


@njit(cache=True)
def _complete(t, q, cnt, nshort, serving, tlast, rem, x0, yv, bitv, cls, val, slope, npf,
              gid, arr, ps, warmup, jobs, acc, qsum, qcnt, tbuf, tn):
    _advance(q, t, cnt, serving, tlast, rem, ps)
    s = serving[q]
    if ps:
        s = 0
        for u in range(1, cnt[q]):
            if rem[q, u] < rem[q, s]:
                s = u
    g = gid[q, s]
    if g >= warmup and g < jobs:
        T = t - arr[q, s]
        acc[0] += T
        acc[1] += 1.0
        acc[2] += T * T
        qsum[q] += T
        qcnt[q] += 1.0
        if tbuf.size > 1:
            tbuf[tn[0]] = T
            tn[0] += 1
    if bitv[q, s] == 0:
        nshort[q] -= 1
    last = cnt[q] - 1
    if s != last:   # move the last job into the freed slot
        rem[q, s], x0[q, s], yv[q, s], bitv[q, s] = rem[q, last], x0[q, last], yv[q, last], bitv[q, last]
        cls[q, s], val[q, s], slope[q, s], npf[q, s] = cls[q, last], val[q, last], slope[q, last], npf[q, last]
        gid[q, s], arr[q, s] = gid[q, last], arr[q, last]
    cnt[q] = last
    serving[q] = _choose(q, cnt, rem, x0, cls, val, slope, npf, gid) if last > 0 else -1


@njit(cache=True)
def _chunk(ta, xs, ys, bits, cs, vs, ms, nps, route, samp, offs, g0, kind, advice, predicted,
           ps, warmup, jobs, cnt, nshort, serving, tlast, rem, x0, yv, bitv, cls, val, slope,
           npf, gid, arr, hk, hq, pos, acc, qsum, qcnt, tbuf, tn):
    """Serve the arrivals of one chunk (absolute times ``ta``) and every completion before
    each; returns -1, or the job index at which a queue ran out of slots."""
    n = cnt.size
    cap = rem.shape[1]
    for j in range(ta.size):
        t = ta[j]
        while hk[0] <= t:
            q = hq[0]
            _complete(hk[0], q, cnt, nshort, serving, tlast, rem, x0, yv, bitv, cls, val,
                      slope, npf, gid, arr, ps, warmup, jobs, acc, qsum, qcnt, tbuf, tn)
            hk[0] = _next_time(q, tlast[q], cnt, serving, rem, ps)
            _sift(hk, hq, pos, 0)
        # the dispatcher's choice
        if kind == ROUTE:
            q = route[j]
        else:
            m = samp.shape[1] if (kind == JSQ_D or kind == LL_D) else n
            q, bk1, bk2 = -1, 0.0, 0.0
            for i in range(m):
                c = samp[j, i] if (kind == JSQ_D or kind == LL_D) else (offs[j] + i) % n
                if kind == JSQ_D or kind == JSQ_ALL:
                    if advice and bits[j] == 0:
                        k1, k2 = float(nshort[c]), float(cnt[c])
                    elif advice:
                        k1, k2 = float(cnt[c]), float(nshort[c])
                    else:
                        k1, k2 = float(cnt[c]), 0.0
                else:
                    _advance(c, t, cnt, serving, tlast, rem, ps)
                    w = 0.0
                    for s in range(cnt[c]):
                        if predicted:
                            w += max(yv[c, s] - (x0[c, s] - rem[c, s]), 0.0)
                        else:
                            w += rem[c, s]
                    k1, k2 = w, 0.0
                if q < 0 or k1 < bk1 or (k1 == bk1 and k2 < bk2):
                    q, bk1, bk2 = c, k1, k2
        if cnt[q] >= cap:
            return g0 + j
        _advance(q, t, cnt, serving, tlast, rem, ps)
        s = cnt[q]
        rem[q, s], x0[q, s], yv[q, s], bitv[q, s] = xs[j], xs[j], ys[j], bits[j]
        cls[q, s], val[q, s], slope[q, s], npf[q, s] = cs[j], vs[j], ms[j], nps[j]
        gid[q, s], arr[q, s] = g0 + j, t
        cnt[q] = s + 1
        if bits[j] == 0:
            nshort[q] += 1
        if not ps:
            serving[q] = _choose(q, cnt, rem, x0, cls, val, slope, npf, gid)
        hk[pos[q]] = _next_time(q, t, cnt, serving, rem, ps)
        _sift(hk, hq, pos, pos[q])
    return -1


@njit(cache=True)
def _purge(q, t, cnt, head, dep, bitq, nshort):
    cap = dep.shape[1]
    while cnt[q] > 0 and dep[q, head[q]] <= t:
        if bitq[q, head[q]] == 0:
            nshort[q] -= 1
        head[q] = (head[q] + 1) % cap
        cnt[q] -= 1


@njit(cache=True)
def _fcfs_chunk(ta, xs, ys, bits, route, samp, offs, g0, kind, advice, predicted, warmup,
                jobs, cnt, nshort, head, last, dep, start, yq, bitq, acc, qsum, qcnt, tbuf, tn):
    """FCFS queues: a job's departure is known when it arrives (Lindley, per queue), so
    each queue keeps a ring of its jobs' (start, departure) and the dispatcher purges the
    departed ones of the queues it looks at. Returns -1 or the job where a ring was full."""
    n = cnt.size
    cap = dep.shape[1]
    for j in range(ta.size):
        t = ta[j]
        if kind == ROUTE:
            q = route[j]
        else:
            m = samp.shape[1] if (kind == JSQ_D or kind == LL_D) else n
            q, bk1, bk2 = -1, 0.0, 0.0
            for i in range(m):
                c = samp[j, i] if (kind == JSQ_D or kind == LL_D) else (offs[j] + i) % n
                _purge(c, t, cnt, head, dep, bitq, nshort)
                if kind == JSQ_D or kind == JSQ_ALL:
                    if advice and bits[j] == 0:
                        k1, k2 = float(nshort[c]), float(cnt[c])
                    elif advice:
                        k1, k2 = float(cnt[c]), float(nshort[c])
                    else:
                        k1, k2 = float(cnt[c]), 0.0
                elif predicted:
                    w = 0.0
                    for u in range(cnt[c]):
                        s = (head[c] + u) % cap
                        w += max(yq[c, s] - max(t - start[c, s], 0.0), 0.0)
                    k1, k2 = w, 0.0
                else:
                    k1, k2 = max(last[c] - t, 0.0), 0.0
                if q < 0 or k1 < bk1 or (k1 == bk1 and k2 < bk2):
                    q, bk1, bk2 = c, k1, k2
        _purge(q, t, cnt, head, dep, bitq, nshort)
        if cnt[q] >= cap:
            return g0 + j
        b = max(last[q], t)
        d = b + xs[j]
        last[q] = d
        s = (head[q] + cnt[q]) % cap
        dep[q, s], start[q, s], yq[q, s], bitq[q, s] = d, b, ys[j], bits[j]
        cnt[q] += 1
        if bits[j] == 0:
            nshort[q] += 1
        g = g0 + j
        if g >= warmup and g < jobs:
            T = d - t
            acc[0] += T
            acc[1] += 1.0
            acc[2] += T * T
            qsum[q] += T
            qcnt[q] += 1.0
            if tbuf.size > 1:
                tbuf[tn[0]] = T
                tn[0] += 1
    return -1


def rank_arrays(policy, d):
    """Per-job (class, value, slope, non-preemptive) from the policy's declared pieces,
    or None for processor sharing; other policies are refused by name."""
    from ...policies.catalogue import PS
    if isinstance(policy, PS):
        return None
    if getattr(policy, "arrival_order", False) or getattr(policy, "rank", None) is None:
        raise PolicyError(f"{policy.name} is not supported per queue by the dispatch "
                          "simulator (it serves priority orders declared by rank pieces, "
                          "and PS); use FCFS, SRPT, SPRPT, SJF, SPJF, OneBit(False or "
                          "'resume'), PriorityClasses or PS.")
    pr = policy.profile(d)
    if pr is None:
        raise PolicyError(f"{policy.name} declares no rank pieces: the dispatch simulator "
                          "cannot serve it per queue.")
    S, E, C, V, M = pr.S, pr.E, pr.C, pr.V, pr.M
    n = d.size
    if S.shape[1] == 1 and np.all(S[:, 0] == 0) and np.all(np.isinf(E[:, 0])) \
            and np.all(np.isin(M[:, 0], (0.0, -1.0))):
        return C[:, 0].copy(), V[:, 0].copy(), M[:, 0].copy(), np.zeros(n, np.bool_)
    if S.shape[1] == 2 and np.all(S == 0) and np.all(E[:, 0] == 0) and np.all(M[:, 0] == 0) \
            and np.all(np.isinf(C[:, 1]) & (C[:, 1] < 0)):
        return C[:, 0].copy(), V[:, 0].copy(), np.zeros(n), np.ones(n, np.bool_)
    raise PolicyError(f"{policy.name}'s rank changes with age in a way the dispatch simulator "
                      "does not serve per queue (it serves one rank piece (class, value + m "
                      "age) with m = 0 or -1, its non-preemptive form, and PS); use "
                      "method='mean-field'/'exact' or a supported policy.")


def simulate_dispatch(f, jobs=10**6, replications=10, seed=1, warmup=None, capacity=64,
                      chunk=CHUNK, fast=True, quantiles=None, per_job=False):
    """Simulate dispatch system ``f`` (:class:`qtheory.queues.dispatch.Dispatch`).

    FCFS queues take a fast path (each departure known on arrival, Lindley per queue;
    ``fast=False`` uses the general event loop, which gives the same response times up to
    rounding: a test compares them)."""
    from ...policies.dispatch_rules import JSQ, SITA, LeastWork, Random, RoundRobin
    for name, v, lo in (("jobs", jobs, 2), ("replications", replications, 2)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ParameterError(f"{name} = {v!r} is invalid: pass an integer >= {lo}.")
    warmup = jobs // 10 if warmup is None else warmup
    if isinstance(warmup, bool) or not isinstance(warmup, (int, np.integer)) \
            or not 0 <= warmup <= jobs - 2:
        raise ParameterError(f"warmup = {warmup!r} is invalid: an integer in [0, jobs - 2].")
    if quantiles is True:
        quantiles = (0.5, 0.9, 0.99, 0.999)
    if quantiles is not None:
        quantiles = tuple(float(p) for p in quantiles)
        if not all(0 < p < 1 for p in quantiles):
            raise ParameterError(f"quantiles = {quantiles!r} are invalid: give probabilities "
                                 "strictly between 0 and 1.")
    rule, n = f.rule, f.servers
    kind, d = ROUTE, 1
    if isinstance(rule, JSQ):
        kind, d = (JSQ_ALL, 1) if rule.d is None else (JSQ_D, rule.d)
        if rule.advice and f.bit is None:
            raise ParameterError("JSQ(advice=True) needs one-bit predictions: "
                                 "prediction=qt.ClassBit(...) or qt.Threshold(T, noise).")
    elif isinstance(rule, LeastWork):
        kind, d = (LL_ALL, 1) if rule.d is None else (LL_D, rule.d)
    elif not isinstance(rule, (Random, RoundRobin, SITA)):
        raise PolicyError(f"rule {rule!r} is not served by the dispatch simulator.")
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    started = time.perf_counter()
    means, qmeans, outs = [], [], []
    for child in ss.spawn(replications):
        cap = capacity
        while True:
            out = _replication(f, rule, kind, d, np.random.default_rng(child), jobs, warmup,
                               cap, chunk, fast, quantiles, per_job and not outs)
            if out is not None:
                break
            cap *= 4      # a queue outgrew its slots: rerun with room (same stream)
            if cap > 1 << 16:
                raise ParameterError("a queue held more than 65536 jobs: the system is "
                                     "(nearly) unstable under this rule.")
        means.append(out[0])
        qmeans.append(out[1])
        outs.append(out)
    samples = {"T": means}
    if quantiles is not None:
        for p in quantiles:
            samples[f"P{100 * p:g}"] = [o[3].quantile(p) for o in outs]
        samples["T^2"] = [o[3].powers[0] / o[2] for o in outs]
        samples["T^3"] = [o[3].powers[1] / o[2] for o in outs]
    q = np.array(qmeans)
    seen = np.isfinite(q).sum(axis=0)
    per_queue = np.where(seen > 0, np.nansum(q, axis=0) / np.maximum(seen, 1), np.nan)
    res = SimulationResult.from_replications(
        samples, jobs, warmup, f.policy.name, per_queue=per_queue, servers=n,
        rule=repr(rule))
    tails = tuple(o[3] for o in outs) if quantiles is not None else None
    pj = {"response_time": outs[0][4]} if per_job else None
    return res.with_(elapsed=time.perf_counter() - started, tails=tails, per_job=pj)


def _replication(f, rule, kind, d, rng, jobs, warmup, cap, chunk, fast=True, quantiles=None,
                 per_job=False):
    from ...policies.dispatch_rules import SITA, RoundRobin
    n = f.servers
    lam = float(f.arrival_rate)
    from ...policies.catalogue import FCFS
    ps = rank_arrays(f.policy, np.zeros(1)) is None
    fcfs = fast and isinstance(f.policy, FCFS)
    if fcfs:
        head = np.zeros(n, np.int64)
        last = np.zeros(n)
        dep, start, yq = np.zeros((n, cap)), np.zeros((n, cap)), np.zeros((n, cap))
    cnt = np.zeros(n, np.int64)
    nshort = np.zeros(n, np.int64)
    serving = np.full(n, -1, np.int64)
    tlast = np.zeros(n)
    shape = (n, cap)
    rem, x0, yv, val, slope, cls = (np.zeros(shape) for _ in range(6))
    bitv = np.zeros(shape, np.int64)
    npf = np.zeros(shape, np.bool_)
    gid = np.zeros(shape, np.int64)
    arr = np.zeros(shape)
    hk = np.full(n, math.inf)
    hq = np.arange(n, dtype=np.int64)
    pos = np.arange(n, dtype=np.int64)
    acc = np.zeros(3)
    qsum, qcnt = np.zeros(n), np.zeros(n)
    measured = jobs - warmup
    g0, t0 = 0, 0.0
    policy, pred, bit = f.policy, f.prediction, f.bit
    tail = None
    kept = [] if per_job else None
    tbuf, tn = np.zeros(1), np.zeros(1, np.int64)
    if quantiles is not None or per_job:
        from .stats import TailHistogram
        tail = TailHistogram(float(f.size.mean)) if quantiles is not None else None
        tbuf = np.zeros(chunk + n * cap + 2)      # completions in a chunk: at most these
    while acc[1] < measured:
        tick(stage=f"simulating dispatch ({int(acc[1])} of {measured} jobs)")
        m = min(chunk, jobs - g0) if g0 < jobs else max(256, chunk // 8)
        ta = t0 + np.cumsum(rng.exponential(1.0 / lam, m))
        t0 = float(ta[-1])
        x = np.asarray(f.size.sample(rng, m), float)
        if bit is not None:
            bits = np.asarray(bit.sample(x, rng), float).astype(np.int64)
            y = x.copy()
        else:
            bits = np.ones(m, np.int64)
            y = x.copy() if pred is None else np.asarray(pred.sample(x, rng), float)
        desc = policy.descriptor
        dv = (x if desc == "size" else y if desc == "prediction" else
              bits.astype(float) if desc == "bit" else np.zeros(m))
        ra = rank_arrays(policy, dv)
        if ra is None:
            cs, vs, ms, nps = np.zeros(m), np.zeros(m), np.zeros(m), np.zeros(m, np.bool_)
        else:
            cs, vs, ms, nps = ra
        if kind == ROUTE:
            if isinstance(rule, RoundRobin):
                route = (g0 + np.arange(m)) % n
            elif isinstance(rule, SITA):
                route = rule.queue_of(y if rule.predicted else x)
            else:
                route = rng.integers(0, n, m)
            route = route.astype(np.int64)
        else:
            route = np.zeros(1, np.int64)
        samp = rng.integers(0, n, (m, d)) if kind in (JSQ_D, LL_D) else np.zeros((1, 1), np.int64)
        offs = rng.integers(0, n, m) if kind in (JSQ_ALL, LL_ALL) else np.zeros(1, np.int64)
        if fcfs:
            bad = _fcfs_chunk(ta, x, y, bits, route, samp.astype(np.int64),
                              offs.astype(np.int64), g0, kind,
                              bool(getattr(rule, "advice", False)),
                              bool(getattr(rule, "predicted", False)), warmup, jobs, cnt,
                              nshort, head, last, dep, start, yq, bitv, acc, qsum, qcnt,
                              tbuf, tn)
            if bad >= 0:
                return None
            g0 += m
            if kept is not None:
                kept.append(tbuf[:tn[0]].copy())
            if tail is not None:
                tail.add(tbuf[:tn[0]])
            tn[0] = 0
            continue
        bad = _chunk(ta, x, y, bits, cs.astype(float), vs.astype(float), ms.astype(float),
                     nps.astype(np.bool_), route, samp.astype(np.int64), offs.astype(np.int64),
                     g0, kind, bool(getattr(rule, "advice", False)),
                     bool(getattr(rule, "predicted", False)), ps, warmup, jobs, cnt, nshort,
                     serving, tlast, rem, x0, yv, bitv, cls, val, slope, npf, gid, arr, hk, hq,
                     pos, acc, qsum, qcnt, tbuf, tn)
        if bad >= 0:
            return None
        g0 += m
        if kept is not None:
            kept.append(tbuf[:tn[0]].copy())
        if tail is not None:
            tail.add(tbuf[:tn[0]])
        tn[0] = 0
    with np.errstate(invalid="ignore"):
        return (acc[0] / acc[1], qsum / qcnt, acc[1], tail,
                None if kept is None else np.concatenate(kept))
