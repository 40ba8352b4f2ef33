"""The generic event loop: any SOAP policy given by a Python rank function.

Much slower than the compiled loops (every event evaluates the rank function a few
dozen times) but it needs nothing from the policy except ``rank(d, a)``, so it serves
any ``qt.Rank(fn)``, including ranks that *rise* with age. (Ranks known as linear
pieces, such as SPRPT-bounce and Gittins, use the compiled :func:`~.kernels.pw_chunk`.)

Between arrivals the loop repeats one of two moves, each ending at an exact event:

* **serve alone** the job of lowest key (rank, arrival number) until it completes, the
  next arrival comes, or its rank rises past the best waiting job's. That crossing is
  located by scanning the step on a grid of ``GRID`` points and bisecting the first
  bracket to machine precision (a rise and fall narrower than a grid cell is missed);
* **share** when several jobs are tied at the lowest rank and all of their ranks rise
  (FB, the rising part of bounce): each is served at a rate inversely proportional to
  the slope of its rank, so they stay tied (the SOAP limit of FCFS tie-breaking), until a
  member completes, the tied level reaches another job's rank, or the slopes change
  (detected by bisection on the step).

Tuple ranks are compared lexicographically; ties within ``TOL`` (relative) on the last
component count as ties.
"""

import math

import numpy as np

GRID = 32
TOL = 1e-10


def _as_key(v):
    if isinstance(v, tuple):
        return tuple(float(z) for z in v)
    return (float(v),)


def _close(k1, k2):
    if len(k1) != len(k2) or k1[:-1] != k2[:-1]:
        return False
    a, b = k1[-1], k2[-1]
    if a == b:
        return True
    return abs(a - b) <= TOL * (1.0 + max(abs(a), abs(b))) if math.isfinite(a + b) else False


def _above(k1, k2):
    """k1 > k2 beyond the tie tolerance."""
    return k1 > k2 and not _close(k1, k2)


def _bisect(good, lo, hi):
    """Last point where ``good`` holds and first where it fails, between ``lo`` (good)
    and ``hi`` (not good), to machine precision."""
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if good(mid):
            lo = mid
        else:
            hi = mid
    return lo, hi


class _Job:
    __slots__ = ("g", "arr", "work", "size", "age", "d", "key")


class GenericLoop:
    """The generic loop's state between chunks (see module docstring)."""

    def __init__(self, plan):
        self.fn = plan.policy.rank
        self.descriptor = plan.descriptor
        self.t = 0.0
        self.area = self.span = 0.0
        self.win = False
        self.jobs = []
        self.out = []

    def key(self, job, age):
        return _as_key(self.fn(job.d, age))

    # -- the two moves ---------------------------------------------------------------------
    def _advance(self, dt):
        if self.win:
            self.area += len(self.jobs) * dt
            self.span += dt
        self.t += dt

    def _finish(self, job):
        self.jobs.remove(job)
        self.out.append((job.g, self.t - job.arr, job.size))

    def _rising(self, job):
        h = 1e-7 * (1.0 + job.age)
        if job.age + h >= job.work:
            return False
        return _above(self.key(job, job.age + h), job.key)

    def _serve_alone(self, job, rival, budget, strict=False):
        horizon = min(budget, job.work - job.age)

        def loses(s):  # exact comparison: the crossing is found to machine precision
            k = self.key(job, job.age + s)
            if strict:
                return k > rival.key
            return k > rival.key or (k == rival.key and rival.g < job.g)

        step = horizon
        if rival is not None and horizon > 0:
            lo = 0.0
            for i in range(1, GRID + 1):
                s = horizon * i / GRID
                if loses(s):
                    step = _bisect(lambda u: not loses(u), lo, s)[1]
                    break
                lo = s
        self._advance(step)
        job.age = job.work if step == job.work - job.age else job.age + step
        if job.age >= job.work:
            self._finish(job)
        else:
            job.key = self.key(job, job.age)
        return step

    def _share(self, group, rival, budget):
        slopes = []
        for j in group:
            h = 1e-7 * (1.0 + j.age)
            slopes.append(max((self.key(j, j.age + h)[-1] - j.key[-1]) / h, 1e-300))
        w = np.array([1.0 / s for s in slopes])
        rates = w / w.sum()
        horizon = min([budget] + [(j.work - j.age) / c for j, c in zip(group, rates)])

        def keys(tau):
            return [self.key(j, min(j.age + c * tau, j.work)) for j, c in zip(group, rates)]

        spread0 = max(j.key[-1] for j in group) - min(j.key[-1] for j in group)

        def ok(tau):
            ks = keys(tau)
            top, bottom = max(ks), min(ks)
            if top[:-1] != bottom[:-1] or top[-1] - bottom[-1] > spread0 + TOL * (
                    1.0 + abs(top[-1])):
                return False
            return rival is None or not top > rival.key

        tau = horizon
        if not ok(horizon):
            lo, hi = _bisect(ok, 0.0, horizon)
            tau = hi if lo == 0.0 else lo
        self._advance(tau)
        for j, c in zip(group, rates):
            done = tau * c >= j.work - j.age - 1e-13 * (1.0 + j.work)
            j.age = j.work if done else j.age + c * tau
        for j in list(group):
            if j.age >= j.work:
                self._finish(j)
            else:
                j.key = self.key(j, j.age)
        return tau

    def serve(self, until):
        """Serve the jobs in system until time ``until`` (the next arrival)."""
        while self.jobs and self.t < until:
            budget = until - self.t
            order = sorted(self.jobs, key=lambda j: (j.key, j.g))
            best = order[0]
            tied = [j for j in order if _close(j.key, best.key)]
            others = order[len(tied):]
            if len(tied) == 1:
                rival = others[0] if others else None
                self._serve_alone(best, rival, budget)
                continue
            rising = [j for j in tied if self._rising(j)]
            flat = [j for j in tied if j not in rising]
            if flat:  # served alone while it stays at the tied level (rising ones wait)
                if rising:
                    self._serve_alone(flat[0], rising[0], budget, strict=True)
                else:
                    self._serve_alone(flat[0], flat[1] if len(flat) > 1 else
                                      (others[0] if others else None), budget)
            else:
                self._share(tied, others[0] if others else None, budget)
        if self.t < until:
            self._advance(until - self.t)

    def chunk(self, gaps, work, x, d, part, g0, w_lo, w_hi):
        """Serve one chunk of arrivals; return the measured completions (g, T, size)."""
        self.out = []
        ta = 0.0
        for i in range(len(gaps)):
            ta += gaps[i]
            self.serve(ta)
            job = _Job()
            job.g, job.arr, job.work, job.size, job.age = g0 + i, ta, work[i], x[i], 0.0
            job.d = None if self.descriptor is None else float(d[i])
            job.key = self.key(job, 0.0)
            if job.g == w_lo:
                self.win = True
            if job.g == w_hi:
                self.win = False
            self.jobs.append(job)
        self.t -= ta
        for j in self.jobs:
            j.arr -= ta
        if not self.out:
            return np.empty(0, np.int64), np.empty(0), np.empty(0)
        g, T, s = map(np.array, zip(*self.out))
        return g.astype(np.int64), T.astype(float), s.astype(float)
