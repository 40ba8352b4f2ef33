"""Simulating the central k-server queue (M/G/k): the one-server :class:`.engine.Plan`
(the policy's declared rank pieces, the job data) served by the k-server loops of
:mod:`.multi_kernels`, with the replication, seeding and summary conventions of
:func:`.engine.simulate` (``SeedSequence(seed).spawn``, warm-up dropped, Student-t
intervals over replications).
"""

import math
import time

import numpy as np

from ...core.budget import tick
from ...core.errors import ParameterError, PolicyError
from . import kernels as K
from .engine import (CHUNK, QUANTILES, Plan, _Accumulator, _check_int, _size_edges,
                     _summarise, run_replications)
from .stats import TailHistogram


def _loop_of(plan):
    """The k-server loop serving ``plan``: "fcfs" (one constant rank), "key" (one piece
    d + m a, m in {-1, 0}), "ps", or "pwk" (any rank pieces)."""
    if plan.loop == "lindley":
        return "fcfs"
    if plan.loop == "ps":
        return "ps"
    if plan.loop == "key":
        return "key"
    if plan.loop in ("pw", "fb"):
        return "pwk"
    raise PolicyError(f"the k-server simulator serves policies with declared rank pieces "
                      f"(every catalogue rank policy, qt.Rank with piecewise-linear ranks) and "
                      f"PS; {plan.policy.name} needs the one-server Python loop "
                      f"({plan.loop!r}): declare its pieces, or simulate it on one server.")


def run_replication_k(plan, servers, speed, seed, jobs, warmup, edges=None, per_job=False,
                      chunk=CHUNK, tail=False, loop=None):
    """One replication of the k-server queue (as :func:`.engine.run_replication`);
    ``loop="pwk"`` serves any rank-piece policy by the general loop (a check of the
    faster ones)."""
    from . import multi_kernels as MK
    rng = np.random.default_rng(seed)
    acc = _Accumulator(jobs, warmup, edges, per_job,
                       TailHistogram(float(plan.q.size.mean)) if tail else None)
    measured = jobs - warmup
    record = acc.record
    loop = _loop_of(plan) if loop is None else loop
    state = MK.KState(loop, servers)
    dummy_i, dummy_f = np.empty(1, np.int64), np.empty(1)
    buffers = None
    gap_buf = np.empty(max(chunk, 64))
    g0 = 0
    while int(state.st[K.CNT]) < measured:
        tick(stage=f"simulating ({int(state.st[K.CNT])} of {measured} jobs)")
        n = min(chunk, jobs - g0) if g0 < jobs else max(64, min(chunk // 16, jobs // 4))
        gaps, work, x, d, part = plan.draw(rng, n, gap_buf)
        if plan.arrival_order:
            d, part = plan.by_arrival(d, g0)
        shared = True
        if loop == "key":
            d = plan.keys(d, part)
        elif loop == "pwk":
            pid, pieces = plan.profiles(d, part)
            shared = plan.shared is not None
            if not shared:
                state.widen(pieces[0].shape[1])
        start = 0
        while start < n:
            if record:
                cap = n + state.capacity
                if buffers is None or buffers[0].size < cap:
                    buffers = (np.empty(cap, np.int64), np.empty(cap), np.empty(cap))
                out = buffers
            else:
                out = (dummy_i, dummy_f, dummy_f)
            if loop == "fcfs":
                start, m = MK.fcfs_k_chunk(gaps, work, x, g0, warmup, jobs, record, speed,
                                           state.free_at, state.fs, state.st, *out)
            elif loop == "key":
                start, m = MK.key_k_chunk(plan.slope, gaps, work, x, d, g0, start, warmup,
                                          jobs, record, servers, speed, state.F, state.G,
                                          state.rs, state.rft, state.hkey, state.hg,
                                          state.hs, state.free, state.fs, state.st, *out)
            elif loop == "ps":
                start, m = MK.ps_k_chunk(gaps, work, x, g0, start, warmup, jobs, record,
                                         servers, speed, state.F, state.G, state.HK,
                                         state.HI, state.free, state.fs, state.st, *out)
            else:
                start, m = MK.pwk_chunk(gaps, work, x, pid, g0, start, warmup, jobs, record,
                                        shared, servers, speed, *pieces, state.F, state.G,
                                        state.SEGS, state.act, state.kc, state.kv, state.kf,
                                        state.kg, state.rate, state.grp, state.free,
                                        state.fs, state.st, *out)
            if record:
                acc.add(out[0][:m], out[1][:m], out[2][:m])
            if start < n:
                state.grow()
        g0 += n
    out = {"sum": float(state.fs[K.SUM]), "count": int(state.st[K.CNT]), "bsum": acc.bsum,
           "bx": acc.bx, "bcount": acc.bcount, "area": float(state.fs[K.AREA]),
           "span": float(state.fs[K.SPAN])}
    if per_job:
        out["T"], out["X"] = acc.T, acc.X
    if tail:
        out["tail"] = acc.tail
    return out


def simulate_k(q, policy, servers, speed=1.0, jobs=10**6, replications=10, seed=1,
               warmup=None, executor=None, per_job=False, by_size=None, precision=None,
               chunk=CHUNK, quantiles=None, loop=None):
    """Simulate ``policy`` on a central queue with ``servers`` servers of speed ``speed``
    (arrivals at rate ``q.arrival_rate``, sizes and predictions from ``q``): the
    ``servers`` jobs of lowest rank run, one per server, preemptive-resume, ties to the
    earlier arrival; non-preemptive policies keep a started job on its server (their
    rank's class -inf once started). Options and result as :func:`.engine.simulate`;
    ``loop="pwk"`` forces the general piecewise loop on a FCFS or key-shaped rank (an
    independent check of the faster loops: same draws, different arithmetic).

    Examples
    --------
    >>> import qtheory as qt
    >>> m = qt.MGk(1.0, qt.Exponential(1.0), servers=2)     # rho = 0.5
    >>> s = simulate_k(m, qt.FCFS, servers=2, jobs=40_000, replications=4, seed=2)
    >>> s.ci[0] < 4 / 3 < s.ci[1]                  # M/M/2: E[T] = 1/(mu (1 - rho^2))
    True
    """
    from ...policies.catalogue import as_policy
    policy = as_policy(policy)
    servers = _check_int("servers", servers, 1, "give the number of servers, e.g. servers=4")
    jobs = _check_int("jobs", jobs, 1, "simulate at least a few thousand jobs, e.g. jobs=10**5")
    replications = _check_int("replications", replications, 2,
                              "use at least 2 independent replications (10 is typical)")
    if warmup is None:
        warmup = jobs // 10
    warmup = _check_int("warmup", warmup, 0, "drop e.g. jobs // 10 jobs")
    if jobs - warmup < 2:
        raise ParameterError(f"jobs = {jobs} leaves {jobs - warmup} measured jobs after "
                             f"warmup = {warmup}: raise jobs or lower warmup.")
    chunk = _check_int("chunk", chunk, 16, "use e.g. 65536")
    if precision is not None and not (0 < precision < math.inf):
        raise ParameterError(f"precision = {precision!r} is invalid: it must be a positive "
                             "relative half-width, e.g. 0.01.")
    plan = Plan(q, policy)
    _loop_of(plan)
    if loop not in (None, "pwk") or (loop == "pwk" and plan.loop not in ("lindley", "key",
                                                                          "pw", "fb")):
        raise ParameterError(f"loop = {loop!r} is invalid here: use None, or 'pwk' for a "
                             "policy given by rank pieces.")
    try:
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    except (TypeError, ValueError):
        raise ParameterError(f"seed = {seed!r} is invalid: pass a non-negative integer "
                             "or a numpy.random.SeedSequence.") from None
    children = ss.spawn(replications + 1)
    edges = _size_edges(q, by_size, children[-1])
    if quantiles is True:
        quantiles = QUANTILES
    if quantiles is not None:
        quantiles = tuple(float(p) for p in quantiles)
        if not all(0 < p < 1 for p in quantiles):
            raise ParameterError(f"quantiles = {quantiles!r} are invalid: give probabilities "
                                 "strictly between 0 and 1, e.g. (0.5, 0.9, 0.99).")
    args = [(plan, servers, float(speed), children[r], jobs, warmup, edges,
             per_job and r == 0, chunk, quantiles is not None, loop)
            for r in range(replications)]
    t0 = time.perf_counter()
    outs = run_replications(run_replication_k, args, plan, jobs, executor)
    elapsed = time.perf_counter() - t0
    return _summarise(plan, outs, jobs, warmup, edges, elapsed, precision, quantiles)
