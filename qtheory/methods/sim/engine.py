"""From (queue, policy) to a loop, and from a loop to independent replications.

A :class:`Plan` says which loop serves the policy and how each job's data are drawn;
:func:`run_replication` streams one replication through it chunk by chunk, keeping
O(jobs in system) memory; :func:`simulate` runs the replications (serially or on an
executor) and summarises them.
"""

import math
import os
import pickle
import time
import warnings

import numpy as np

from ...policies import catalogue as P
from ...core.errors import ParameterError, PolicyError
from . import kernels as K
from .stats import SimulationResult, SizeCurve, t_interval

#: Arrivals generated (and served) per chunk.
CHUNK = 1 << 16
#: Below this many jobs in total a run stays serial (a process pool costs ~0.5 s to start).
PARALLEL_MIN_JOBS = 4_000_000


class Plan:
    """How ``policy`` is simulated on ``q``: ``loop`` in {"lindley", "key", "soap", "ps", "fb",
    "pw", "generic"}, the SOAP rank ``code`` and parameters, the descriptor the ranks
    read, the rank pieces (``pw`` loop) and the job data sampler."""

    def __init__(self, q, policy):
        self.q, self.policy = q, policy
        self.lam = float(q.arrival_rate)
        self.code, self.params = K.CONST, np.zeros(3)
        self.descriptor = getattr(policy, "descriptor", None)
        self.gittins = self.shared = None
        self.loop = self._choose(policy)

    def _choose(self, p):
        q = self.q
        if q.symbolic:
            raise ParameterError("simulation needs numbers: build the queue with numeric "
                                 "arrival_rate and size-law parameters.")
        q._check_descriptor(p)
        t = type(p)
        if t is P.FCFS:
            return "lindley"
        if t is P.PS:
            return "ps"
        if t is P.FB:
            return "fb"
        if t is P.LCFS:
            self.code = K.LCFS
            return "soap"
        if t in (P.PSJF, P.PSPJF):
            self.code = K.STATIC
            return "key"
        if t in (P.SRPT, P.SPRPT):
            self.code = K.REMAINING
            return "key"
        if t in (P.SJF, P.SPJF):
            self.code = K.NONPREEMPTIVE
            return "soap"
        if t is P.Trail:
            self.code, self.params[0] = K.TRAIL, float(p.c)
            return "soap"
        if t in (P.PriorityClasses, P.OneBit):
            if p.preemptive is True:
                self.code = K.ONEBIT_ANY
            elif p.preemptive == "resume":
                self.code = K.STATIC
                return "key"
            else:
                self.code = K.NONPREEMPTIVE
            return "soap"
        if t is P.SkipPredict:
            self.code = K.SKIP
            self.params[:] = (p.cheap_cost, p.expensive_cost, float(p.server_time))
            return "soap"
        if t is P.DelayPredict:
            self.code = K.DELAY
            self.params[:] = (p.L, p.expensive_cost, float(p.server_time))
            return "soap"
        if t is P.SPRPTBounce or callable(getattr(p, "rank_pieces", None)):
            return "pw"
        if t is P.Gittins or callable(getattr(p, "pieces", None)):
            return self._gittins(p)
        if t is P.Rank or getattr(p, "rank", None) is not None:
            return "generic"
        raise PolicyError(f"the simulator does not know how to serve {p.name}; declare it "
                          "with qt.Rank(fn) to simulate it from its rank function.")

    def _gittins(self, p):
        """Gittins as the queue's information defines it (:func:`qtheory.gittins_policy`):
        its descriptor and its rank table."""
        if isinstance(p, P.Gittins):
            from ...policies.gittins import gittins_policy
            p = gittins_policy(self.q)
        self.gittins, self.descriptor = p, p.descriptor
        if self.descriptor == "size":  # a known size: the Gittins rank is x - a (SRPT)
            self.code = K.REMAINING
            return "key"
        if self.descriptor in (None, "bit"):  # one table (two for a bit) for every job
            rows = np.zeros(1) if self.descriptor is None else np.array([0.0, 1.0])
            self.shared = _profile_arrays(p.pieces(rows, {}))
            self.rows = lambda d: d
        elif getattr(p, "edges", None) is not None:  # a prediction seen through its cell
            self.shared = _profile_arrays(p.pieces(p.edges[:-1], {}))   # one row per cell
            self.rows = p.cell
        return "pw"

    def profiles(self, d):
        """Rank pieces of jobs with descriptors ``d``: (row per job, (S, E, C, V, M))."""
        n = d.size
        if self.shared is not None:
            return np.asarray(self.rows(d), np.int64), self.shared
        p, rows = self.policy, np.arange(n)
        if self.gittins is not None:  # a table per job
            return rows, _profile_arrays(self.gittins.pieces(d, {}))
        if type(p) is P.SPRPTBounce:  # rank y - a, then a - y (ages y .. 2y), then y
            z, inf = np.zeros(n), np.full(n, np.inf)
            pieces = [(z, d, z, d, -1.0), (d, 2 * d, z, z, 1.0), (2 * d, inf, z, d, 0.0)]
        else:
            pieces = p.rank_pieces(d)
        cols = [np.stack([np.broadcast_to(np.asarray(pc[k], float), (n,)) for pc in pieces],
                         axis=1) for k in range(5)]
        return rows, tuple(np.ascontiguousarray(c) for c in cols)

    # -- job data ------------------------------------------------------------------------
    def _prediction(self, x, rng):
        pred = self.q.prediction
        return x.copy() if pred is None else np.asarray(pred.sample(x, rng), float)

    def draw(self, rng, n, buf=None):
        """Arrival gaps, work, true size and descriptors (d, d2) of ``n`` new jobs (the
        gaps written into ``buf`` if given: a replication reuses one array)."""
        gaps = rng.standard_exponential(n) if buf is None else \
            rng.standard_exponential(n, out=buf[:n])
        gaps *= 1.0 / self.lam
        x = np.asarray(self.q.size.sample(rng, n), float)
        if x.shape != (n,) or not x.min() >= 0:  # also catches NaN
            raise ParameterError(f"the size law {self.q.size!r} sampled invalid sizes "
                                 "(negative, NaN or wrong shape); check its sample().")
        p, work = self.policy, x
        desc = self.descriptor
        t = type(p)
        if t is P.SkipPredict:
            bit = np.asarray(p.bit.sample(x, rng), float)
            y = self._prediction(x, rng)
            if p.server_time:
                work = x + p.cheap_cost + p.expensive_cost * bit
            return gaps, work, x, y, bit
        if t is P.DelayPredict:
            y = self._prediction(x, rng)
            if p.server_time:
                work = x + p.expensive_cost * (x > p.L)
            return gaps, work, x, y, self._zeros(n)
        if desc == "size":
            d = x
        elif desc == "prediction":
            d = self._prediction(x, rng)
            if t is P.PriorityClasses:
                d = np.searchsorted(np.asarray(p.thresholds), d, side="right").astype(float)
        elif desc == "bit":
            d = np.asarray(self.q.prediction.sample(x, rng), float)
        else:
            d = self._zeros(n)
        return gaps, work, x, d, self._zeros(n)

    def _zeros(self, n):
        """n zeros, allocated once (the loops never write descriptors)."""
        z = getattr(self, "_zero", None)
        if z is None or z.size < n:
            z = self._zero = np.zeros(n)
        return z[:n]


def _profile_arrays(profile):
    """(S, E, C, V, M) of a :class:`qtheory.methods.soap.Profile`, contiguous float arrays."""
    return tuple(np.ascontiguousarray(getattr(profile, k), float) for k in "SECVM")


class _State:
    """The arrays a compiled loop keeps between chunks (grown on demand)."""

    #: per-slot arrays of each loop besides F, G, HK, HI, free: name -> (fill, dtype)
    EXTRA = {"fb": {"child": -1, "sib": -1, "glevel": 0.0, "groot": 0, "gcnt": 0,
                    "scratch": 0},
             "pw": {"run": 0},
             "key": {"hkey": 0.0, "hg": 0, "hs": 0}}

    def __init__(self, loop, capacity=256):
        self.loop = loop
        self.F = np.zeros((capacity, K.NF))
        self.G = np.zeros((capacity, K.NG), np.int64)
        self.HK = np.zeros((capacity, 3))
        self.HI = np.zeros((capacity, 2), np.int64)
        self.SEGS = np.zeros((capacity if loop == "pw" else 1, 1, 5))
        self.free = np.arange(capacity - 1, -1, -1, dtype=np.int64)
        self.fs = np.zeros(K.NFS)
        self.st = np.zeros(K.NST, np.int64)
        self.st[K.RUN] = -1
        self.st[K.FN] = capacity
        for name, fill in self.EXTRA.get(loop, {}).items():
            setattr(self, name, np.full(capacity, fill,
                                        np.float64 if isinstance(fill, float) else np.int64))

    @property
    def capacity(self):
        return self.F.shape[0]

    def widen(self, pieces):
        """Room for ``pieces`` rank pieces per slot (pw loop, per-job pieces)."""
        if self.SEGS.shape[1] < pieces:
            segs = np.zeros((self.SEGS.shape[0], pieces, 5))
            segs[:, :self.SEGS.shape[1]] = self.SEGS
            self.SEGS = segs

    def grow(self):
        """Double the number of job slots."""
        old = self.capacity
        new = 2 * old
        names = ["F", "G", "HK", "HI", *self.EXTRA.get(self.loop, {})]
        if self.loop == "pw":
            names.append("SEGS")
        for name in names:
            a = getattr(self, name)
            b = np.zeros((new, *a.shape[1:]), a.dtype)
            b[:old] = a
            setattr(self, name, b)
        free = np.empty(new, np.int64)
        nf = self.st[K.FN]
        free[:nf] = self.free[:nf]
        free[nf:nf + old] = np.arange(new - 1, old - 1, -1)
        self.free = free
        self.st[K.FN] = nf + old


class _Accumulator:
    """Per-job output (only when per-job arrays or a size curve are asked for)."""

    def __init__(self, jobs, warmup, edges, per_job):
        self.jobs, self.warmup, self.edges = jobs, warmup, edges
        self.sum = 0.0
        self.count = 0
        nb = 0 if edges is None else len(edges) - 1
        self.bsum, self.bx, self.bcount = np.zeros(nb), np.zeros(nb), np.zeros(nb, np.int64)
        self.T = self.X = None
        if per_job:
            m = jobs - warmup
            self.T = np.full(m, np.nan)
            self.X = np.full(m, np.nan)

    @property
    def record(self):
        return self.edges is not None or self.T is not None

    def add(self, g, T, x):
        """Completions (job numbers ``g``, response times, sizes); unmeasured ones dropped."""
        keep = (g >= self.warmup) & (g < self.jobs)
        if not keep.all():
            g, T, x = g[keep], T[keep], x[keep]
        self.sum += float(T.sum())
        self.count += T.size
        if self.edges is not None and T.size:
            nb = len(self.bsum)
            b = np.clip(np.searchsorted(self.edges, x, side="right") - 1, 0, nb - 1)
            self.bsum += np.bincount(b, T, nb)
            self.bx += np.bincount(b, x, nb)
            self.bcount += np.bincount(b, minlength=nb)
        if self.T is not None:
            self.T[g - self.warmup] = T
            self.X[g - self.warmup] = x


def run_replication(plan, seed, jobs, warmup, edges=None, per_job=False, chunk=CHUNK):
    """One replication: serve arrivals numbered 0, 1, ... until jobs ``warmup`` ..
    ``jobs - 1`` have all left; return their summary (a dict).

    Arrivals keep coming after job ``jobs - 1`` until every measured job is done, so the
    last measured jobs see the same (stationary) traffic as the others.
    """
    rng = np.random.default_rng(seed)
    acc = _Accumulator(jobs, warmup, edges, per_job)
    measured = jobs - warmup
    record = acc.record
    dummy_i, dummy_f = np.empty(1, np.int64), np.empty(1)
    loop = state = None
    if plan.loop == "generic":
        from .generic import GenericLoop
        loop = GenericLoop(plan)
    elif plan.loop != "lindley":
        state = _State(plan.loop)
    lindley = np.zeros(2)
    gap_buf = np.empty(max(chunk, 64))
    g0 = 0
    count = 0
    while count < measured:
        # draw no more than the run needs, then small chunks until the last measured job left
        n = min(chunk, jobs - g0) if g0 < jobs else max(64, min(chunk // 16, jobs // 4))
        gaps, work, x, d, d2 = plan.draw(rng, n, gap_buf)
        if plan.loop == "lindley":
            T = K.lindley_chunk(gaps, work, lindley)
            lo, hi = min(max(warmup - g0, 0), n), min(max(jobs - g0, 0), n)
            if lo < hi:
                if record:
                    acc.add(np.arange(g0 + lo, g0 + hi), T[lo:hi], x[lo:hi])
                else:
                    acc.sum += float(T[lo:hi].sum())
                    acc.count += hi - lo
            count = acc.count
        elif loop is not None:
            acc.add(*loop.chunk(gaps, work, x, d, d2, g0, warmup, jobs))
            count = acc.count
        else:
            if plan.loop == "pw":
                pid, pieces = plan.profiles(d)
                shared = plan.shared is not None
                if not shared:
                    state.widen(pieces[0].shape[1])
            start = 0
            while start < n:
                if record:
                    cap = n + state.capacity
                    out = (np.empty(cap, np.int64), np.empty(cap), np.empty(cap))
                else:
                    out = (dummy_i, dummy_f, dummy_f)
                if plan.loop == "fb":
                    start, m = K.fb_chunk(gaps, x, g0, start, warmup, jobs, record, state.F,
                                          state.G, state.free, state.child, state.sib,
                                          state.glevel, state.groot, state.gcnt,
                                          state.scratch, state.fs, state.st, *out)
                elif plan.loop == "pw":
                    start, m = K.pw_chunk(gaps, work, x, pid, g0, start, warmup, jobs, record,
                                          shared, *pieces, state.F, state.G, state.HK,
                                          state.HI, state.SEGS, state.run, state.free,
                                          state.fs, state.st, *out)
                elif plan.loop == "key":
                    slope = -1.0 if plan.code == K.REMAINING else 0.0
                    start, m = K.key_chunk(slope, gaps, work, x, d, g0, start, warmup, jobs,
                                           record, state.F, state.G, state.hkey, state.hg,
                                           state.hs, state.free, state.fs, state.st, *out)
                else:
                    fn = K.ps_chunk if plan.loop == "ps" else K.soap_chunk
                    start, m = fn(plan.code, plan.params, gaps, work, x, d, d2, g0, start,
                                  warmup, jobs, record, state.F, state.G, state.HK, state.HI,
                                  state.free, state.fs, state.st, *out)
                if record:
                    acc.add(out[0][:m], out[1][:m], out[2][:m])
                if start < n:
                    state.grow()
            count = int(state.st[K.CNT])
        g0 += n
    if state is not None:
        acc.sum, acc.count = float(state.fs[K.SUM]), int(state.st[K.CNT])
        area, span = float(state.fs[K.AREA]), float(state.fs[K.SPAN])
    elif loop is not None:
        area, span = loop.area, loop.span
    else:
        area = span = 0.0
    out = {"sum": acc.sum, "count": acc.count, "bsum": acc.bsum, "bx": acc.bx,
           "bcount": acc.bcount, "area": area, "span": span}
    if per_job:
        out["T"], out["X"] = acc.T, acc.X
    return out


def _picklable(obj):
    try:
        pickle.dumps(obj)
        return True
    except Exception:
        return False


def _check_int(name, value, minimum, fix):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ParameterError(f"{name} = {value!r} is invalid: it must be an integer >= "
                             f"{minimum}; {fix}.")
    return int(value)


def simulate(q, policy, jobs=10**6, replications=10, seed=1, warmup=None, executor=None,
             per_job=False, by_size=None, precision=None, chunk=CHUNK):
    """Simulate ``policy`` on the M/G/1 queue ``q`` by independent replications.

    Parameters
    ----------
    q : qtheory.MG1
        The queue (numeric parameters).
    policy : qtheory.policies.catalogue.Policy or class
        Any catalogue policy or ``qt.Rank(fn)``.
    jobs : int
        Jobs per replication, warm-up included (>= 2 more than ``warmup``).
    replications : int
        Independent replications (>= 2), each from its own child of
        ``numpy.random.SeedSequence(seed)``: the output is reproducible bit for bit,
        serial or parallel.
    seed : int or numpy.random.SeedSequence
    warmup : int, optional
        Jobs dropped at the start of each replication (default ``jobs // 10``).
    executor : concurrent.futures.Executor, optional
        Runs the replications. Default: a process pool over all cores when the run has at
        least ``PARALLEL_MIN_JOBS`` jobs in total (and the policy pickles), else serial.
        Pass ``False`` to force a serial run. The compiled loops release the GIL, so a
        ``ThreadPoolExecutor`` also runs them in parallel.
    per_job : bool
        Keep every measured job's response time and size (first replication; O(jobs)
        memory), e.g. for :func:`qtheory.analysis.validate.check_samples`.
    by_size : int or array_like, optional
        Estimate E[T | size] on this many size-quantile bins (or these bin edges).
    precision : float, optional
        Target relative half-width of the 95% CI; a warning with the CI says when the run
        is too short to reach it.
    chunk : int
        Arrivals drawn per chunk (memory/speed trade-off; results depend on it only
        through the order of random draws).

    Returns
    -------
    SimulationResult

    Examples
    --------
    >>> import qtheory as qt
    >>> q = qt.MG1(0.5, qt.Exponential(1.0))
    >>> s = simulate(q, qt.PS, jobs=20_000, replications=4, seed=3)
    >>> s.ci[0] < 2.0 < s.ci[1]          # M/M/1 PS: E[T] = 1/(1 - 0.5) = 2
    True
    >>> float(simulate(q, qt.PS, jobs=20_000, replications=4, seed=3)) == float(s)
    True
    """
    from ...policies.catalogue import as_policy
    policy = as_policy(policy)
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
    if isinstance(seed, np.random.SeedSequence):
        ss = seed
    else:
        try:
            ss = np.random.SeedSequence(seed)
        except (TypeError, ValueError):
            raise ParameterError(f"seed = {seed!r} is invalid: pass a non-negative integer "
                                 "or a numpy.random.SeedSequence.") from None
    children = ss.spawn(replications + 1)
    edges = _size_edges(q, by_size, children[-1])
    t0 = time.perf_counter()
    args = [(plan, children[r], jobs, warmup, edges, per_job and r == 0, chunk)
            for r in range(replications)]
    own = None
    if executor is None and jobs * replications >= PARALLEL_MIN_JOBS and (os.cpu_count() or 1) > 1 \
            and _picklable(plan):
        from concurrent.futures import ProcessPoolExecutor
        own = executor = ProcessPoolExecutor(max_workers=min(replications, os.cpu_count()))
    try:
        if executor:
            futures = [executor.submit(run_replication, *a) for a in args]
            outs = [f.result() for f in futures]
        else:
            outs = [run_replication(*a) for a in args]
    finally:
        if own is not None:
            own.shutdown()
    elapsed = time.perf_counter() - t0
    return _summarise(plan, outs, jobs, warmup, edges, elapsed, precision)


def _size_edges(q, by_size, seed):
    if by_size is None or by_size is False:
        return None
    if np.ndim(by_size) == 0:
        nb = _check_int("by_size", by_size, 1, "ask for e.g. by_size=20 bins")
        pilot = np.sort(np.asarray(q.size.sample(np.random.default_rng(seed), 100_000), float))
        edges = np.unique(np.quantile(pilot, np.linspace(0, 1, nb + 1)))
    else:
        edges = np.asarray(by_size, float)
        if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise ParameterError("by_size edges must be an increasing 1-d array of >= 2 sizes.")
    edges = edges.copy()
    edges[0], edges[-1] = 0.0, math.inf
    return edges


def _summarise(plan, outs, jobs, warmup, edges, elapsed, precision):
    means = np.array([o["sum"] / o["count"] for o in outs])
    mean, ci, se = t_interval(means)
    spans = np.array([o["span"] for o in outs])
    if np.all(spans > 0):
        L = np.array([o["area"] / o["span"] for o in outs])
        lam_hat = float(np.mean((jobs - warmup) / spans))
        mean_number = float(L.mean())
    else:
        L, lam_hat, mean_number = None, math.nan, math.nan
    curve = None
    if edges is not None:
        bm = np.array([np.where(o["bcount"] > 0, o["bsum"] / np.maximum(o["bcount"], 1), np.nan)
                       for o in outs])
        cnt = np.sum([o["bcount"] for o in outs], axis=0)
        bx = np.sum([o["bx"] for o in outs], axis=0) / np.maximum(cnt, 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            curve = SizeCurve(edges, bx, np.nanmean(bm, axis=0),
                              np.nanstd(bm, axis=0, ddof=1) / np.sqrt(np.sum(~np.isnan(bm), 0)),
                              cnt)
    per_job = None
    if "T" in outs[0]:
        per_job = {"response_time": outs[0]["T"], "size": outs[0]["X"]}
    res = SimulationResult(mean, ci, se, means, jobs, warmup, plan.policy.name, mean_number,
                           lam_hat, L, curve, per_job, elapsed)
    if precision is not None and res.relative_half_width > precision:
        warnings.warn(f"{plan.policy.name}: the 95% CI [{ci[0]:.6g}, {ci[1]:.6g}] has relative "
                      f"half-width {res.relative_half_width:.3g} > precision = {precision}; "
                      f"simulate about {math.ceil((res.relative_half_width / precision) ** 2)}"
                      "x more jobs or replications.", stacklevel=3)
    return res
