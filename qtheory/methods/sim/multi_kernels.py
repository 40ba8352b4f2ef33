"""Compiled event loops of the central k-server queue (M/G/k): the k jobs of lowest rank
run, one per server, preemptive-resume, ties to the earlier arrival.

The loops follow the conventions of :mod:`.kernels` (slot arrays ``F``/``G``, chunks of
arrivals, the time origin moved to the last arrival of each chunk, ``(next index,
n_out)`` returned, nothing allocated inside a loop). Every server works at rate
``speed`` (1, or 1/k in the convention of the SRPT-k literature).

* :func:`fcfs_k_chunk`: FCFS by the Kiefer–Wolfowitz recursion (each job starts on the
  server that frees first, in arrival order): O(k) per job.
* :func:`ps_k_chunk`: processor sharing on k servers (each of n jobs gets
  ``speed * min(1, k / n)``), by virtual time.
* :func:`key_k_chunk`: ranks ``d + m * age`` with one slope m in {-1, 0} (SRPT, PSJF,
  SPRPT, PSPJF, preemptive priority classes): a running job's rank never rises, so the
  running set changes only at arrivals (a newcomer strictly below the worst running
  job's rank takes its server) and completions (the best waiting job starts): O(k) per
  event plus a heap of waiting keys.
* :func:`pwk_chunk`: any rank given as linear pieces in age (the same piece tables as
  :func:`.kernels.pw_chunk`). After every event the jobs are ordered by (class, rank,
  rising flag, job number) and the first k run. A job whose rank rises (slope > 0) and
  meets the best waiting job's rank loses the tie to a job whose rank is not rising
  (flag 1 vs 0), as in the one-server loop; jobs tied at one rising level at the
  boundary between running and waiting share the servers left to them (c servers for
  the group: member j at rate c / (m_j sum 1/m), so they stay tied — the limit of FCFS
  tie-breaking; a member whose share would exceed one server runs alone at rate 1).
"""

import math

import numpy as np
from numba import njit

from .kernels import (
    AGE, ARR, B, CLS, CNT, END, FN, GIDX, M, NSYS, PID, RUN, S0, SEG, SIZE, SPAN, SUM, T_,
    V_, WIN, WORK, AREA, D, D2, _hpop, _hpush, _kpop, _kpush, _leave, _new_job, _pw_advance,
    _pw_piece,
)

INF = math.inf
_JIT = dict(cache=True, nogil=True, _nrt=False)

# extra int scalars of the k-server state (st has NST = 7 entries in kernels; ours more)
#   st[RUN] is unused; st[NSYS] number in system (= active list length)


@njit(**_JIT)
def fcfs_k_chunk(gaps, work, size, gidx0, w_lo, w_hi, record, speed, free_at, fs, st,
                 out_g, out_t, out_x):
    """FCFS on k = ``free_at.size`` servers: job i starts at max(arrival, earliest
    server-free time) on that server (Kiefer–Wolfowitz). ``free_at`` holds the servers'
    free times relative to the time origin (the previous chunk's last arrival)."""
    k = free_at.shape[0]
    tsum = fs[SUM]
    cnt = st[CNT]
    nout = 0
    ta = 0.0
    inv = 1.0 / speed
    for i in range(gaps.shape[0]):
        ta += gaps[i]
        j = 0
        m = free_at[0]
        for h in range(1, k):
            if free_at[h] < m:
                m = free_at[h]
                j = h
        start = ta if ta > m else m
        done = start + work[i] * inv
        free_at[j] = done
        g = gidx0 + i
        if g >= w_lo and g < w_hi:
            rt = done - ta
            tsum += rt
            cnt += 1
            if record:
                out_g[nout] = g
                out_t[nout] = rt
                out_x[nout] = size[i]
                nout += 1
    for h in range(k):
        free_at[h] -= ta
    fs[SUM] = tsum
    st[CNT] = cnt
    return gaps.shape[0], nout


@njit(**_JIT)
def ps_k_chunk(gaps, work, size, gidx0, start, w_lo, w_hi, record, servers, speed,
               F, G, HK, HI, free, fs, st, out_g, out_t, out_x):
    """Processor sharing on ``servers`` servers: with n jobs each is served at
    ``speed * min(1, servers / n)``; virtual time V advances at that rate and a job
    arriving at V0 with work x leaves when V = V0 + x."""
    t, area, span, tsum = fs[T_], fs[AREA], fs[SPAN], fs[SUM]
    hn, fn, win, cnt = st[NSYS], st[FN], st[WIN], st[CNT]
    V = fs[V_]
    nout = 0
    ta = 0.0
    i = start
    n_arr = gaps.shape[0]
    while i < n_arr:
        tn = ta + gaps[i]
        while hn > 0:
            dt = tn - t
            rate = speed * (1.0 if hn <= servers else servers / hn)
            to_done = (HK[0, 1] - V) / rate
            if to_done > dt:
                V += dt * rate
                break
            if win:
                area += hn * to_done
                span += to_done
            t += to_done
            V = HK[0, 1]
            s, hn = _hpop(HK, HI, hn)
            rt, c, nout = _leave(F, G, s, t, w_lo, w_hi, record, out_g, out_t, out_x, nout)
            tsum += rt
            cnt += c
            free[fn] = s
            fn += 1
            if hn == 0:
                V = 0.0
        if win:
            area += hn * (tn - t)
            span += tn - t
        t = tn
        if fn == 0:
            break
        ta = tn
        fn -= 1
        s = free[fn]
        g = gidx0 + i
        _new_job(F, G, s, ta, work[i], size[i], 0.0, 0.0, g)
        if g == w_lo:
            win = 1
        if g == w_hi:
            win = 0
        hn = _hpush(HK, HI, hn, 0.0, V + work[i], 0.0, g, s)
        i += 1
    for h in range(F.shape[0]):
        F[h, ARR] -= ta
    fs[T_] = t - ta
    fs[AREA] = area
    fs[SPAN] = span
    fs[SUM] = tsum
    fs[V_] = V
    st[NSYS] = hn
    st[FN] = fn
    st[WIN] = win
    st[CNT] = cnt
    return i, nout


@njit(**_JIT)
def key_k_chunk(slope, gaps, work, size, d, gidx0, start, w_lo, w_hi, record, servers, speed,
                F, G, rs, rft, hkey, hg, hs, free, fs, st, out_g, out_t, out_x):
    """Serve one chunk on ``servers`` servers under the rank ``d + slope * age``
    (arguments as in :func:`.kernels.key_chunk`; ``rs``/``rft``: the running slots and
    the times they would finish, every running job being served at ``speed``;
    ``st[RUN]`` the number running)."""
    t, area, span, tsum = fs[T_], fs[AREA], fs[SPAN], fs[SUM]
    hn, fn, win, cnt = st[NSYS], st[FN], st[WIN], st[CNT]
    nr = st[RUN]
    if nr < 0:
        nr = 0
    nsys = nr + hn
    inv = 1.0 / speed
    nout = 0
    ta = 0.0
    i = start
    n_arr = gaps.shape[0]
    while i < n_arr:
        tn = ta + gaps[i]
        while nr > 0:
            j = 0
            for h in range(1, nr):
                if rft[h] < rft[j]:
                    j = h
            if rft[j] > tn:
                break
            tau = rft[j] - t
            if win:
                area += nsys * tau
                span += tau
            t = rft[j]
            s = rs[j]
            rt, c, nout = _leave(F, G, s, t, w_lo, w_hi, record, out_g, out_t, out_x, nout)
            tsum += rt
            cnt += c
            free[fn] = s
            fn += 1
            nsys -= 1
            if hn > 0:
                s, hn = _kpop(hkey, hg, hs, hn)
                rs[j] = s
                rft[j] = t + (F[s, WORK] - F[s, AGE]) * inv
            else:
                nr -= 1
                rs[j] = rs[nr]
                rft[j] = rft[nr]
        if win:
            area += nsys * (tn - t)
            span += tn - t
        t = tn
        if fn == 0:
            break
        ta = tn
        fn -= 1
        s = free[fn]
        g = gidx0 + i
        _new_job(F, G, s, ta, work[i], size[i], d[i], 0.0, g)
        nsys += 1
        if g == w_lo:
            win = 1
        if g == w_hi:
            win = 0
        if nr < servers:
            rs[nr] = s
            rft[nr] = t + work[i] * inv
            nr += 1
        else:
            # the worst running job: highest rank, ties to the later arrival
            j = 0
            r = rs[0]
            kj = F[r, D] + slope * (F[r, WORK] - (rft[0] - t) * speed) if slope != 0.0 \
                else F[r, D]
            for h in range(1, nr):
                r = rs[h]
                kh = F[r, D] + slope * (F[r, WORK] - (rft[h] - t) * speed) if slope != 0.0 \
                    else F[r, D]
                if kh > kj or (kh == kj and G[r, GIDX] > G[rs[j], GIDX]):
                    j, kj = h, kh
            if d[i] < kj:   # strictly better: it takes that server
                r = rs[j]
                F[r, AGE] = F[r, WORK] - (rft[j] - t) * speed
                hn = _kpush(hkey, hg, hs, hn, kj, G[r, GIDX], r)
                rs[j] = s
                rft[j] = t + work[i] * inv
            else:
                hn = _kpush(hkey, hg, hs, hn, d[i], g, s)
        i += 1
    for h in range(nr):
        F[rs[h], AGE] = F[rs[h], WORK] - (rft[h] - t) * speed
        rft[h] -= ta
    for h in range(F.shape[0]):
        F[h, ARR] -= ta
    fs[T_] = t - ta
    fs[AREA] = area
    fs[SPAN] = span
    fs[SUM] = tsum
    st[NSYS] = hn
    st[FN] = fn
    st[WIN] = win
    st[CNT] = cnt
    st[RUN] = nr
    return i, nout


@njit(inline="always", cache=True, nogil=True, _nrt=False)
def _before(c1, v1, f1, g1, c2, v2, f2, g2):
    if c1 != c2:
        return c1 < c2
    if v1 != v2:
        return v1 < v2
    if f1 != f2:
        return f1 < f2
    return g1 < g2


@njit(**_JIT)
def _order(F, G, act, n, kc, kv, kf, kg):
    """Keys of the active jobs (class, rank, rising flag, job number) and insertion sort
    of ``act`` by them (nearly sorted from the previous event: O(n) usually)."""
    for p in range(n):
        s = act[p]
        kc[p] = F[s, CLS]
        kv[p] = F[s, B] + F[s, M] * (F[s, AGE] - F[s, S0])
        kf[p] = 1.0 if F[s, M] > 0.0 else 0.0
        kg[p] = G[s, GIDX]
    for p in range(1, n):
        s, c, v, f, g = act[p], kc[p], kv[p], kf[p], kg[p]
        q = p - 1
        while q >= 0 and _before(c, v, f, g, kc[q], kv[q], kf[q], kg[q]):
            act[q + 1], kc[q + 1], kv[q + 1], kf[q + 1], kg[q + 1] = \
                act[q], kc[q], kv[q], kf[q], kg[q]
            q -= 1
        act[q + 1], kc[q + 1], kv[q + 1], kf[q + 1], kg[q + 1] = s, c, v, f, g


@njit(**_JIT)
def _allocate(F, act, n, k, kc, kv, kf, rate, grp):
    """Service rates (in servers) of the ordered active jobs: the first k run at rate 1,
    unless the boundary falls inside a group tied at a rising level (then the group shares
    the servers the jobs before it leave). Returns (c, wsum, level): the group's servers,
    sum of 1/slope over its members and its level (c = 0: no group)."""
    for p in range(n):
        rate[p] = 0.0
        grp[p] = 0
    if n <= k:
        for p in range(n):
            rate[p] = 1.0
        return 0, 0.0, 0.0
    a = k - 1
    if not (kf[a] == 1.0 and kf[k] == 1.0 and kc[a] == kc[k] and kv[a] == kv[k]):
        for p in range(k):
            rate[p] = 1.0
        return 0, 0.0, 0.0
    lo = a
    while lo > 0 and kf[lo - 1] == 1.0 and kc[lo - 1] == kc[a] and kv[lo - 1] == kv[a]:
        lo -= 1
    hi = k + 1
    while hi < n and kf[hi] == 1.0 and kc[hi] == kc[a] and kv[hi] == kv[a]:
        hi += 1
    for p in range(lo):
        rate[p] = 1.0
    c = k - lo
    wsum = 0.0
    for p in range(lo, hi):
        grp[p] = 1
        wsum += 1.0 / F[act[p], M]
    while c > 0:   # water-filling: a member whose share exceeds one server runs alone
        best = -1
        for p in range(lo, hi):
            if grp[p] == 1 and (best < 0 or F[act[p], M] < F[act[best], M]):
                best = p
        mb = F[act[best], M]
        if c > mb * wsum * (1.0 + 1e-12):
            grp[best] = 0
            rate[best] = 1.0
            c -= 1
            wsum -= 1.0 / mb
        else:
            break
    if c == 0:
        for p in range(lo, hi):
            grp[p] = 0
        return 0, 0.0, 0.0
    for p in range(lo, hi):
        if grp[p] == 1:
            rate[p] = c / (F[act[p], M] * wsum)
    return c, wsum, kv[a]


@njit(**_JIT)
def pwk_chunk(gaps, work, size, pid, gidx0, start, w_lo, w_hi, record, shared, servers,
              speed, PS, PE, PC, PV, PM, F, G, SEGS, act, kc, kv, kf, kg, rate, grp, free,
              fs, st, out_g, out_t, out_x):
    """Serve one chunk on ``servers`` servers under ranks given as linear pieces (see the
    module docstring). Arguments as in :func:`.kernels.pw_chunk`, plus ``act`` (active
    slots, ordered), the per-position work arrays ``kc .. grp`` and the number of
    servers and their speed."""
    k = servers
    t, area, span, tsum = fs[T_], fs[AREA], fs[SPAN], fs[SUM]
    n, fn, win, cnt = st[NSYS], st[FN], st[WIN], st[CNT]
    npieces = PS.shape[1]
    nout = 0
    ta = 0.0
    i = start
    n_arr = gaps.shape[0]
    c, wsum, level = 0, 0.0, 0.0
    if n > 0:
        _order(F, G, act, n, kc, kv, kf, kg)
        c, wsum, level = _allocate(F, act, n, k, kc, kv, kf, rate, grp)
    while i < n_arr:
        tn = ta + gaps[i]
        while n > 0:
            # a running job at the end of its current piece moves on (a piece [s, s]
            # holds one age: SJF's rank at age 0), and the order is rebuilt
            moved = False
            for p in range(n):
                if rate[p] > 0.0:
                    s = act[p]
                    if _pw_advance(F, G, s, shared, PS, PE, PC, PV, PM, SEGS):
                        moved = True
            if moved:
                _order(F, G, act, n, kc, kv, kf, kg)
                c, wsum, level = _allocate(F, act, n, k, kc, kv, kf, rate, grp)
                continue
            dt = tn - t
            # next event: 0 completion, 1 piece end, 2 crossing of the best waiting job,
            # 4 a rising job catching the group's level, 3 the arrival
            tau, ev, who = dt, 3, -1
            wpos = -1
            for p in range(n):
                r = rate[p]
                if r > 0.0:
                    s = act[p]
                    x = (F[s, WORK] - F[s, AGE]) / (r * speed)
                    if x < tau:
                        tau, ev, who = x, 0, p
                    x = (F[s, END] - F[s, AGE]) / (r * speed)
                    if x < tau:
                        tau, ev, who = x, 1, p
                elif wpos < 0:
                    wpos = p
            lrate = c / wsum if c > 0 else 0.0
            target = 0.0
            if wpos >= 0:
                cw, vw = kc[wpos], kv[wpos]
                for p in range(wpos):
                    if grp[p] == 0 and rate[p] > 0.0 and kf[p] == 1.0 and kc[p] == cw:
                        x = max((vw - kv[p]) / (F[act[p], M] * speed), 0.0)
                        if x < tau:
                            tau, ev, who, target = x, 2, p, vw
                if c > 0 and kc[wpos] == _grp_class(kc, grp, n):
                    x = max((vw - level) / (lrate * speed), 0.0)
                    if x < tau:
                        tau, ev, who, target = x, 2, -2, vw
            if c > 0:
                gc = _grp_class(kc, grp, n)
                for p in range(n):
                    if grp[p] == 0 and rate[p] > 0.0 and kf[p] == 1.0 and kc[p] == gc \
                            and kv[p] < level and F[act[p], M] > lrate:
                        x = (level - kv[p]) / ((F[act[p], M] - lrate) * speed)
                        if x < tau:
                            tau, ev, who = x, 4, p
            # advance every running job by tau
            if win:
                area += n * tau
                span += tau
            t += tau
            for p in range(n):
                r = rate[p]
                if r > 0.0:
                    F[act[p], AGE] += r * speed * tau
            if c > 0:
                level = target if (ev == 2 and who == -2) else level + lrate * speed * tau
                for p in range(n):
                    if grp[p] == 1:   # tied members: exactly at the level
                        s = act[p]
                        F[s, B] = level
                        F[s, S0] = F[s, AGE]
            if ev == 3:
                break
            if ev == 0:
                s = act[who]
                F[s, AGE] = F[s, WORK]
                rt, m_, nout = _leave(F, G, s, t, w_lo, w_hi, record, out_g, out_t, out_x,
                                      nout)
                tsum += rt
                cnt += m_
                free[fn] = s
                fn += 1
                for p in range(who, n - 1):
                    act[p] = act[p + 1]
                n -= 1
            elif ev == 1:
                s = act[who]
                F[s, AGE] = F[s, END]
                _pw_advance(F, G, s, shared, PS, PE, PC, PV, PM, SEGS)
            elif ev == 2 and who >= 0:
                s = act[who]
                F[s, B] = target
                F[s, S0] = F[s, AGE]
            elif ev == 4:
                s = act[who]
                F[s, B] = level
                F[s, S0] = F[s, AGE]
            if n > 0:
                _order(F, G, act, n, kc, kv, kf, kg)
                c, wsum, level = _allocate(F, act, n, k, kc, kv, kf, rate, grp)
            else:
                c, wsum, level = 0, 0.0, 0.0
        if win:
            area += n * (tn - t)
            span += tn - t
        t = tn
        if fn == 0:
            break
        ta = tn
        fn -= 1
        s = free[fn]
        g = gidx0 + i
        _new_job(F, G, s, ta, work[i], size[i], 0.0, 0.0, g)
        G[s, PID] = pid[i]
        if not shared:
            row = pid[i]
            for h in range(npieces):
                SEGS[s, h, 0] = PS[row, h]
                SEGS[s, h, 1] = PE[row, h]
                SEGS[s, h, 2] = PC[row, h]
                SEGS[s, h, 3] = PV[row, h]
                SEGS[s, h, 4] = PM[row, h]
        _pw_piece(F, G, s, 0, shared, PS, PE, PC, PV, PM, SEGS)
        if g == w_lo:
            win = 1
        if g == w_hi:
            win = 0
        act[n] = s
        n += 1
        _order(F, G, act, n, kc, kv, kf, kg)
        c, wsum, level = _allocate(F, act, n, k, kc, kv, kf, rate, grp)
        i += 1
    for h in range(F.shape[0]):
        F[h, ARR] -= ta
    fs[T_] = t - ta
    fs[AREA] = area
    fs[SPAN] = span
    fs[SUM] = tsum
    st[NSYS] = n
    st[FN] = fn
    st[WIN] = win
    st[CNT] = cnt
    return i, nout


@njit(inline="always", cache=True, nogil=True, _nrt=False)
def _grp_class(kc, grp, n):
    for p in range(n):
        if grp[p] == 1:
            return kc[p]
    return INF


def new_state(loop, servers, capacity=256):
    """The arrays a k-server loop keeps between chunks (see :class:`KState`)."""
    return KState(loop, servers, capacity)


class KState:
    """State of a k-server loop between chunks, grown on demand."""

    def __init__(self, loop, servers, capacity=256):
        from .kernels import NF, NG, NFS, NST
        self.loop, self.servers = loop, servers
        self.free_at = np.zeros(servers)
        self.F = np.zeros((capacity, NF))
        self.G = np.zeros((capacity, NG), np.int64)
        self.HK = np.zeros((capacity, 3))
        self.HI = np.zeros((capacity, 2), np.int64)
        self.SEGS = np.zeros((capacity if loop == "pwk" else 1, 1, 5))
        self.free = np.arange(capacity - 1, -1, -1, dtype=np.int64)
        self.act = np.zeros(capacity, np.int64)
        self.kc, self.kv, self.kf = (np.zeros(capacity) for _ in range(3))
        self.kg = np.zeros(capacity, np.int64)
        self.rate = np.zeros(capacity)
        self.grp = np.zeros(capacity, np.int64)
        self.rs = np.zeros(servers, np.int64)
        self.rft = np.zeros(servers)
        self.hkey = np.zeros(capacity)
        self.hg = np.zeros(capacity, np.int64)
        self.hs = np.zeros(capacity, np.int64)
        self.fs = np.zeros(NFS)
        self.st = np.zeros(NST, np.int64)
        self.st[RUN] = -1
        self.st[FN] = capacity

    @property
    def capacity(self):
        return self.F.shape[0]

    def widen(self, pieces):
        if self.SEGS.shape[1] < pieces:
            segs = np.zeros((self.SEGS.shape[0], pieces, 5))
            segs[:, :self.SEGS.shape[1]] = self.SEGS
            self.SEGS = segs

    def grow(self):
        old = self.capacity
        new = 2 * old
        names = ["F", "G", "HK", "HI", "act", "kc", "kv", "kf", "kg", "rate", "grp", "hkey",
                 "hg", "hs"]
        if self.loop == "pwk":
            names.append("SEGS")
        for name in names:
            a = getattr(self, name)
            b = np.zeros((new, *a.shape[1:]), a.dtype)
            b[:old] = a
            setattr(self, name, b)
        free = np.empty(new, np.int64)
        nf = self.st[FN]
        free[:nf] = self.free[:nf]
        free[nf:nf + old] = np.arange(new - 1, old - 1, -1)
        self.free = free
        self.st[FN] = nf + old


__all__ = ["fcfs_k_chunk", "ps_k_chunk", "key_k_chunk", "pwk_chunk", "KState", "D", "D2", "SEG", "SIZE",
           "ARR", "WORK", "GIDX"]
