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
from concurrent.futures import as_completed

import numpy as np

from ...core.budget import tick
from ...core.errors import ParameterError, PerformanceWarning, PolicyError
from ...core.result import SimulationResult
from ...laws.grid import size_cuts
from ...policies.pieces import INF, Profile, affine_template, discover_pieces
from . import kernels as K
from .stats import SizeCurve, TailHistogram

#: Arrivals generated (and served) per chunk.
CHUNK = 1 << 16
#: Below this many jobs in total a run stays serial (a process pool costs ~0.5 s to start).
PARALLEL_MIN_JOBS = 4_000_000


class Plan:
    """How ``policy`` is simulated on ``q``, derived from its declaration
    (:mod:`qtheory.policies.base`): the ``loop`` ("lindley", "key", "fb", "pw", "ps",
    "soap" for arrival-order ranks, or "generic"), the rank pieces of each job and how
    each job's data are drawn.

    The loop follows from the shape of the pieces: one constant piece is FCFS (Lindley's
    recursion), one piece d + m a with m in {0, -1} a priority key (PSJF, SRPT, ...), rank
    a without a descriptor FB, anything else the piecewise loop. A user's rank without
    declared pieces is discovered: once for all jobs without a descriptor (or per bit),
    else as pieces affine in the descriptor (:func:`qtheory.policies.affine_template`);
    when they are not, the Python loop serves it, with a :class:`PerformanceWarning`.
    """

    def __init__(self, q, policy):
        if q.symbolic:
            raise ParameterError("simulation needs numbers: build the queue with numeric "
                                 "arrival_rate and size-law parameters.")
        q._check_descriptor(policy)
        self.q, self.lam = q, float(q.arrival_rate)
        self.policy = policy.bind(q)
        self.descriptor = self.policy.descriptor
        self.shared = self.template = None
        self.arrival_order = self.policy.arrival_order
        self.parts = () if self.arrival_order or self.policy.rank is None else \
            self.policy.parts(q.prediction)
        self.shifts = np.array([pt.shift for pt in self.parts] or [0.0])
        self.loop = self._choose()

    def _choose(self):
        p = self.policy
        if p.loop is not None:   # not a SOAP policy: a loop of its own
            return p.loop
        if self.arrival_order:   # ranks by job number: pieces of the job numbers
            d = np.arange(64.0)
            part = d.astype(np.int64) % 2 if self.descriptor == "bit" else None
            return self._shape(self.profiles(d, part)[1])
        if p.rank is None:
            raise PolicyError(f"the simulator does not know how to serve {p.name}; declare it "
                              "with qt.Rank(fn) to simulate it from its rank function.")
        if getattr(p, "compiled", True) is False:
            return "generic"
        rows = self._finite_rows()
        if p.profile(np.ones(1), 0) is None and not self._discover(rows):
            warnings.warn(f"the rank of {p.name} is not piecewise linear with pieces affine "
                          "in the descriptor, so it runs in the Python loop (about 20 000 "
                          "jobs/s); declare its pieces for the compiled loops",
                          PerformanceWarning, stacklevel=4)
            return "generic"
        if rows is None:
            d = self._probe()
            part = np.arange(d.size) % len(self.parts) if len(self.parts) > 1 else None
            return self._shape(self.profiles(d, part)[1])
        return self._shape(self.shared)

    def _shape(self, probe):
        """The loop for pieces of this shape: one constant piece is FCFS, one piece
        d + m a (m in {0, -1}, one class) a key, rank a without a descriptor FB."""
        S, E, C, V, M = probe
        one = np.all(E[:, 0] == INF) and np.all(S[:, 0] == 0)
        if one and not self.shifts.any():
            if np.all(C[:, 0] == 0) and np.all(M[:, 0] == 0) and np.all(V[:, 0] == 0):
                return "lindley"
            if self.descriptor is None and np.all(M[:, 0] == 1) and np.all(V[:, 0] == 0):
                return "fb"
        if one and np.all(C[:, 0] == 0) and np.all(M[:, 0] == M[0, 0]) and M[0, 0] in (0, -1):
            self.slope = float(M[0, 0])
            return "key"
        return "pw"

    def _finite_rows(self):
        """Without a descriptor, or when each part of the population fixes the descriptor
        (a bit; Gittins' cells of predictions), one table of pieces serves every job: its
        rows, and the row of each descriptor, are set here."""
        p, desc = self.policy, self.descriptor
        if desc is None and len(self.parts) == 1:
            self.row_of, rows = (lambda d: np.zeros(d.size, np.int64)), np.zeros(1)
        elif self.parts and all(pt.fixed is not None for pt in self.parts):
            self.row_of, rows = p.cell_of, np.array([pt.fixed for pt in self.parts])
        else:
            return None
        if p.profile(np.ones(1), 0) is not None:
            pr = self.profiles(rows, np.arange(rows.size))[1]
        else:
            pr = _profile_arrays(discover_pieces(
                p.rank, None if desc is None else rows.astype(int) if desc == "bit" else rows,
                *self._age_scale()))
        self.shared = pr
        return rows

    def _age_scale(self):
        """(a_max, unit) of rank discovery: the top of the sizes and their scale."""
        size = self.q.size
        lo, hi = size.support
        if math.isfinite(hi):
            top = hi
        else:
            cuts = [c for c in size_cuts(size) if math.isfinite(c)]
            top = 4 * cuts[-1] if cuts else 100 * size.scale
        return top + float(self.shifts.max()), 2.0 ** round(math.log2(max(size.scale, 1e-300)))

    def _probe(self, n=4096):
        """Descriptors of ``n`` jobs from a private stream (the replications' streams are
        untouched)."""
        rng = np.random.default_rng(20261202)
        x = np.asarray(self.q.size.sample(rng, n), float)
        return x if self.descriptor == "size" else self._prediction(x, rng)

    def _discover(self, rows):
        """Pieces of a rank without declared ones: True when found (shared rows or an
        affine template)."""
        if rows is not None:
            return True
        d = self._probe()
        qs = np.quantile(d, np.linspace(0, 1, 33))
        probes = np.concatenate([qs, [qs[0] / 10, qs[-1] * 10]])
        probes = probes[probes > 0]
        a_max, unit = self._age_scale()
        self.template = affine_template(self.policy.rank, probes, 10 * a_max, unit)
        return self.template is not None

    def _pieces(self, d, part):
        p = self.policy
        pr = p.profile(d, part)
        if pr is not None:
            return pr
        t = self.template
        pr = t(d)
        out = (d < t.lo) | (d > t.hi)      # outside the checked range: discovered one by one
        if out.any():
            a_max, unit = self._age_scale()
            own = discover_pieces(p.rank, d[out], 10 * a_max, unit)
            pr = _merge(pr, own, out)
        return pr

    def profiles(self, d, part):
        """Rank pieces of jobs with descriptors ``d`` and parts ``part`` (None: one
        part): (row per job, (S, E, C, V, M))."""
        if self.shared is not None:
            return np.asarray(self.row_of(d), np.int64), self.shared
        n = d.size
        if part is None:
            return np.arange(n), _profile_arrays(self._pieces(d, 0))
        prs, sels = [], []
        for k in np.unique(part):
            sel = np.flatnonzero(part == k)
            prs.append(self._pieces(d[sel], int(k)))
            sels.append(sel)
        width = max(pr.S.shape[1] for pr in prs)
        cols = [np.full((n, width), INF) for _ in range(4)] + [np.zeros((n, width))]
        for pr, sel in zip(prs, sels):
            for z, src in zip(cols, (pr.S, pr.E, pr.C, pr.V, pr.M)):
                z[sel, :src.shape[1]] = src
        return np.arange(n), tuple(np.ascontiguousarray(c) for c in cols)

    def by_arrival(self, d, g0):
        """A rank by arrival order reads the job numbers (from ``g0``), and a one-bit
        descriptor as the part: (what the pieces read, part)."""
        return g0 + np.arange(d.size, dtype=float), \
            (d.astype(np.int64) if self.descriptor == "bit" else None)

    def keys(self, d, part):
        """The priority key of each job (the "key" loop): the value of its one piece."""
        rows, pr = self.profiles(d, part)
        return np.ascontiguousarray(pr[3][rows, 0])

    # -- job data ------------------------------------------------------------------------
    def _prediction(self, x, rng):
        pred = self.q.prediction
        return x.copy() if pred is None else np.asarray(pred.sample(x, rng), float)

    def draw(self, rng, n, buf=None):
        """Arrival gaps, work, true size, descriptor and part (None: one part) of ``n``
        new jobs (the gaps written into ``buf`` if given: a replication reuses one
        array)."""
        gaps = rng.standard_exponential(n) if buf is None else \
            rng.standard_exponential(n, out=buf[:n])
        gaps *= 1.0 / self.lam
        x = np.asarray(self.q.size.sample(rng, n), float)
        if x.shape != (n,) or not x.min() >= 0:  # also catches NaN
            raise ParameterError(f"the size law {self.q.size!r} sampled invalid sizes "
                                 "(negative, NaN or wrong shape); check its sample().")
        part = self.policy.part_of(x, rng)     # before the prediction: SkipPredict's bit
        work = x if part is None or not self.shifts.any() else x + self.shifts[part]
        desc = self.descriptor
        if desc == "size":
            d = x
        elif desc == "prediction":
            d = self._prediction(x, rng)
        elif desc == "bit":
            d = np.asarray(self.q.prediction.sample(x, rng), float)
        else:
            d = self._zeros(n)
        return gaps, work, x, d, part

    def _zeros(self, n):
        """n zeros, allocated once (the loops never write descriptors)."""
        z = getattr(self, "_zero", None)
        if z is None or z.size < n:
            z = self._zero = np.zeros(n)
        return z[:n]


def _merge(pr, own, rows):
    """Profile ``pr`` with rows ``rows`` (mask) replaced by the profile ``own``."""
    width = max(pr.S.shape[1], own.S.shape[1])
    out = []
    for k, (a, b) in enumerate(zip((pr.S, pr.E, pr.C, pr.V, pr.M),
                                   (own.S, own.E, own.C, own.V, own.M))):
        z = np.full((a.shape[0], width), 0.0 if k == 4 else INF)
        z[:, :a.shape[1]] = a
        z[rows] = np.pad(b, ((0, 0), (0, width - b.shape[1])),
                         constant_values=0.0 if k == 4 else INF)
        out.append(z)
    return Profile(*out)


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
    """Per-job output (only when per-job arrays, a size curve or the tail are asked for)."""

    def __init__(self, jobs, warmup, edges, per_job, tail=None):
        self.jobs, self.warmup, self.edges = jobs, warmup, edges
        self.tail = tail
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
        return self.edges is not None or self.T is not None or self.tail is not None

    def add_run(self, first, T, x):
        """Completions of consecutive measured jobs numbered ``first``, ``first + 1``, ...
        (FCFS): the job numbers are built only when per-job output or a size curve needs
        them."""
        if self.edges is not None or self.T is not None:
            self.add(np.arange(first, first + T.size), T, x)
            return
        self.sum += float(T.sum())
        self.count += T.size
        if self.tail is not None:
            self.tail.add(T)

    def add(self, g, T, x):
        """Completions (job numbers ``g``, response times, sizes); unmeasured ones dropped."""
        keep = (g >= self.warmup) & (g < self.jobs)
        if not keep.all():
            g, T, x = g[keep], T[keep], x[keep]
        self.sum += float(T.sum())
        self.count += T.size
        if self.tail is not None:
            self.tail.add(T)
        if self.edges is not None and T.size:
            nb = len(self.bsum)
            b = np.clip(np.searchsorted(self.edges, x, side="right") - 1, 0, nb - 1)
            self.bsum += np.bincount(b, T, nb)
            self.bx += np.bincount(b, x, nb)
            self.bcount += np.bincount(b, minlength=nb)
        if self.T is not None:
            self.T[g - self.warmup] = T
            self.X[g - self.warmup] = x


def run_replication(plan, seed, jobs, warmup, edges=None, per_job=False, chunk=CHUNK,
                    tail=False):
    """One replication: serve arrivals numbered 0, 1, ... until jobs ``warmup`` ..
    ``jobs - 1`` have all left; return their summary (a dict).

    Arrivals keep coming after job ``jobs - 1`` until every measured job is done, so the
    last measured jobs see the same (stationary) traffic as the others.
    """
    rng = np.random.default_rng(seed)
    acc = _Accumulator(jobs, warmup, edges, per_job,
                       TailHistogram(float(plan.q.size.mean)) if tail else None)
    measured = jobs - warmup
    record = acc.record
    dummy_i, dummy_f = np.empty(1, np.int64), np.empty(1)
    buffers = None
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
        tick(stage=f"simulating ({count} of {measured} jobs)")
        # draw no more than the run needs, then small chunks until the last measured job left
        n = min(chunk, jobs - g0) if g0 < jobs else max(64, min(chunk // 16, jobs // 4))
        gaps, work, x, d, part = plan.draw(rng, n, gap_buf)
        if plan.loop == "lindley":
            T = K.lindley_chunk(gaps, work, lindley)
            lo, hi = min(max(warmup - g0, 0), n), min(max(jobs - g0, 0), n)
            if lo < hi:
                acc.add_run(g0 + lo, T[lo:hi], x[lo:hi])
            count = acc.count
        elif loop is not None:
            acc.add(*loop.chunk(gaps, work, x, d, part, g0, warmup, jobs))
            count = acc.count
        else:
            if plan.arrival_order:
                d, part = plan.by_arrival(d, g0)
            if plan.loop == "key":
                d = plan.keys(d, part)
            elif plan.loop == "pw":
                pid, pieces = plan.profiles(d, part)
                shared = plan.shared is not None
                if not shared:
                    state.widen(pieces[0].shape[1])
            start = 0
            while start < n:
                if record:
                    cap = n + state.capacity
                    if buffers is None or buffers[0].size < cap:
                        # kept across chunks: fresh pages would fault on every write
                        buffers = (np.empty(cap, np.int64), np.empty(cap), np.empty(cap))
                    out = buffers
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
                    start, m = K.key_chunk(plan.slope, gaps, work, x, d, g0, start, warmup, jobs,
                                           record, state.F, state.G, state.hkey, state.hg,
                                           state.hs, state.free, state.fs, state.st, *out)
                else:
                    start, m = K.ps_chunk(gaps, work, x, g0, start, warmup, jobs, record,
                                          state.F, state.G, state.HK, state.HI, state.free,
                                          state.fs, state.st, *out)
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
    if tail:
        out["tail"] = acc.tail
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


#: The quantiles a simulation estimates with ``quantiles=True``.
QUANTILES = (0.5, 0.9, 0.99, 0.999)


#: Size scales the simulator accepts: their squares, times a noisy prediction's spread,
#: stay inside double precision.
SCALE_RANGE = (1e-150, 1e150)


def simulate(q, policy, jobs=10**6, replications=10, seed=1, warmup=None, executor=None,
             per_job=False, by_size=None, precision=None, chunk=CHUNK, quantiles=None):
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
    quantiles : tuple of float or True, optional
        Also estimate these quantiles of T (``True``: P50, P90, P99, P99.9) and E[T²],
        E[T³], each with its CI over the replications (``s.quantile(p)``,
        ``s.moment(k)``), from a streaming log-spaced histogram per replication (memory
        O(bins), not O(jobs)).

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
    scale = float(q.size.scale)
    if not (SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]):
        raise ParameterError(
            f"size = {q.size!r} has scale {scale:.3g}: the simulator works in double "
            "precision, where squares of times this size (E[T^2], busy periods, noisy "
            f"predictions) overflow or underflow outside [{SCALE_RANGE[0]:g}, "
            f"{SCALE_RANGE[1]:g}]. Express sizes in another unit (the analytic methods "
            "rescale by themselves).")
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
    if quantiles is True:
        quantiles = QUANTILES
    if quantiles is not None:
        quantiles = tuple(float(p) for p in quantiles)
        if not all(0 < p < 1 for p in quantiles):
            raise ParameterError(f"quantiles = {quantiles!r} are invalid: give probabilities "
                                 "strictly between 0 and 1, e.g. (0.5, 0.9, 0.99).")
    args = [(plan, children[r], jobs, warmup, edges, per_job and r == 0, chunk,
             quantiles is not None) for r in range(replications)]
    outs = run_replications(run_replication, args, plan, jobs, executor)
    elapsed = time.perf_counter() - t0
    return _summarise(plan, outs, jobs, warmup, edges, elapsed, precision, quantiles)


def run_replications(worker, args, plan, jobs, executor):
    """``worker(*a)`` for every ``a`` in ``args`` (one per replication): on ``executor``,
    or on a process pool over all cores when the run is large enough and ``plan``
    pickles (``executor=None``), or serially (``executor=False``); each finished
    replication ticks the time budget."""
    replications = len(args)
    own = None
    if executor is None and jobs * replications >= PARALLEL_MIN_JOBS and (os.cpu_count() or 1) > 1 \
            and _picklable(plan):
        from concurrent.futures import ProcessPoolExecutor
        own = executor = ProcessPoolExecutor(max_workers=min(replications, os.cpu_count()))
    try:
        if not executor:
            return [worker(*a) for a in args]
        futures = [executor.submit(worker, *a) for a in args]
        for k, f in enumerate(as_completed(futures)):
            f.result()
            tick(stage=f"replication {k + 1} of {replications}")
        return [f.result() for f in futures]
    finally:
        if own is not None:
            own.shutdown(cancel_futures=True)


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


def _summarise(plan, outs, jobs, warmup, edges, elapsed, precision, quantiles=None):
    samples = {"T": [o["sum"] / o["count"] for o in outs]}
    if quantiles is not None:
        for p in quantiles:
            samples[f"P{100 * p:g}"] = [o["tail"].quantile(p) for o in outs]
        samples["T^2"] = [o["tail"].powers[0] / o["count"] for o in outs]
        samples["T^3"] = [o["tail"].powers[1] / o["count"] for o in outs]
    spans = np.array([o["span"] for o in outs])
    if np.all(spans > 0):
        samples["N"] = [o["area"] / o["span"] for o in outs]
        samples["arrival_rate"] = (jobs - warmup) / spans
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
    res = SimulationResult.from_replications(samples, jobs, warmup, plan.policy.name)
    tails = tuple(o["tail"] for o in outs) if quantiles is not None else None
    res = res.with_(by_size=curve, per_job=per_job, tails=tails, elapsed=elapsed)
    ci = res.ci
    if precision is not None and res.relative_half_width > precision:
        warnings.warn(f"{plan.policy.name}: the 95% CI [{ci[0]:.6g}, {ci[1]:.6g}] has relative "
                      f"half-width {res.relative_half_width:.3g} > precision = {precision}; "
                      f"simulate about {math.ceil((res.relative_half_width / precision) ** 2)}"
                      "x more jobs or replications.", stacklevel=3)
    return res
