"""Compiled event loops of the simulator (numba, ``cache=True``, ``nogil=True``).

Every loop is *exact* and event driven: between two events the state evolves linearly,
so the time of the next event (an arrival, a completion, a rank change, a crossing of
two ranks) is computed in closed form and the clock jumps to it. There is no time step.

All loops process one *chunk* of arrivals at a time and keep their state in numpy
arrays owned by the caller, so memory is O(jobs in system) whatever the number of jobs:

* ``F`` (capacity x NF float64) and ``G`` (capacity x NG int64): one row per job slot,
* ``HK`` / ``HI``: a binary heap of waiting jobs whose entries carry their own keys
  (class, rank, flag | job number, slot), so comparisons never leave the heap arrays,
* ``free``: a stack of free slots; ``fs`` (float64) and ``st`` (int64): scalars.

A loop reads inter-arrival times; at the end of each call it moves the time origin to
the last arrival it served (shifting the clock and the stored arrival times), so times
never grow large and response times keep full precision over 10^9 jobs.

A loop returns ``(next_index, n_out)``: it stops early (``next_index < len(gaps)``) only
when it runs out of job slots; the caller then grows the state and calls again. The
measured jobs' response times are summed in the state; with ``record`` they are also
written to ``out_g`` (job number), ``out_t`` (response time) and ``out_x`` (true size).
Nothing is allocated inside a loop (``_nrt=False``: no reference counting).

Loops:

* :func:`key_chunk` serves ranks ``d + m * age`` with one slope ``m`` in {-1, 0} for all
  ages (SRPT, SPRPT, PSJF, PSPJF, preemptive priority classes): a waiting job's rank is a
  single key, and the running job is kept in registers.
* :func:`pw_chunk` serves any rank given as linear pieces with slopes of any sign (SJF,
  Trail, priority classes, SkipPredict, SPRPT-bounce, Gittins tables, LCFS among short
  jobs, a user's rank). A rising rank preempts at the exact age it crosses the
  best waiting job's; jobs tied at one rising level share the server, each at a rate
  inversely proportional to its slope, so they stay tied (the limit of FCFS
  tie-breaking, as in SOAP's analysis of FB).
* :func:`ps_chunk` (processor sharing, by virtual time), :func:`fb_chunk` (FB) and
  :func:`lindley_chunk` (FCFS, vectorised numpy).

Ties in rank go to the earlier arrival (job number), except that a job whose rank is
rising loses a tie to one whose rank is not (flag 1 vs 0): served, it would lose at once.
"""

import math

import numpy as np
from numba import njit

INF = math.inf

# float columns of a job slot: arrival, work, true size, age, descriptors, and the current
# rank segment: end age, class, value b, slope m, start age (pw loop: rank b + m (a - s0))
ARR, WORK, SIZE, AGE, D, D2, END, CLS, B, M, S0 = range(11)
NF = 11
# int columns: job number, current segment, profile row (pw loop)
GIDX, SEG, PID = range(3)
NG = 3
# scalars: fs = [clock, area, span, virtual time, sum of response times, level, weight]
#          st = [running slot, heap size, free slots, in system, in window, measured jobs,
#                running jobs (pw loop)]
T_, AREA, SPAN, V_, SUM, LVL, WSUM = range(7)
RUN, HN, FN, NSYS, WIN, CNT, NR = range(7)
NFS, NST = 7, 7

_JIT = dict(cache=True, nogil=True, _nrt=False)   # no refcounting: nothing is allocated
_INLINE = dict(_JIT, inline="always")


# -- the heap of waiting jobs -----------------------------------------------------------------
# Entry k: HK[k] = (class, rank, flag), HI[k] = (job number, slot); lexicographic order.

@njit(**_INLINE)
def _kless(c, v, f, g, HK, HI, k):
    """Is the key (c, v, f, g) below heap entry k?"""
    if c != HK[k, 0]:
        return c < HK[k, 0]
    if v != HK[k, 1]:
        return v < HK[k, 1]
    if f != HK[k, 2]:
        return f < HK[k, 2]
    return g < HI[k, 0]


@njit(**_INLINE)
def _hmove(HK, HI, dst, src):
    HK[dst, 0] = HK[src, 0]
    HK[dst, 1] = HK[src, 1]
    HK[dst, 2] = HK[src, 2]
    HI[dst, 0] = HI[src, 0]
    HI[dst, 1] = HI[src, 1]


@njit(**_INLINE)
def _hset(HK, HI, k, c, v, f, g, s):
    HK[k, 0] = c
    HK[k, 1] = v
    HK[k, 2] = f
    HI[k, 0] = g
    HI[k, 1] = s


@njit(**_INLINE)
def _hpush(HK, HI, n, c, v, f, g, s):
    """Insert slot ``s`` with key (c, v, f, g) into a heap of ``n``; return the new size."""
    k = n
    while k > 0:
        parent = (k - 1) >> 1
        if _kless(c, v, f, g, HK, HI, parent):
            _hmove(HK, HI, k, parent)
            k = parent
        else:
            break
    _hset(HK, HI, k, c, v, f, g, s)
    return n + 1


@njit(**_INLINE)
def _hpop(HK, HI, n):
    """Remove the top entry; return (its slot, new size)."""
    top = HI[0, 1]
    n -= 1
    if n > 0:  # sift the last entry down from the root
        c, v, f, g, s = HK[n, 0], HK[n, 1], HK[n, 2], HI[n, 0], HI[n, 1]
        k = 0
        while True:
            ch = 2 * k + 1
            if ch >= n:
                break
            if ch + 1 < n and _kless(HK[ch + 1, 0], HK[ch + 1, 1], HK[ch + 1, 2],
                                     HI[ch + 1, 0], HK, HI, ch):
                ch += 1
            if _kless(c, v, f, g, HK, HI, ch):
                break
            _hmove(HK, HI, k, ch)
            k = ch
        _hset(HK, HI, k, c, v, f, g, s)
    return top, n


@njit(**_INLINE)
def _leave(F, G, s, t, w_lo, w_hi, record, out_g, out_t, out_x, nout):
    """Job in slot ``s`` leaves at ``t``: (its response time if measured else 0,
    1 if measured else 0, new output count)."""
    g = G[s, GIDX]
    if g < w_lo or g >= w_hi:
        return 0.0, 0, nout
    rt = t - F[s, ARR]
    if record:
        out_g[nout] = g
        out_t[nout] = rt
        out_x[nout] = F[s, SIZE]
        nout += 1
    return rt, 1, nout


@njit(**_INLINE)
def _new_job(F, G, s, ta, work, size, d, d2, g):
    F[s, ARR] = ta
    F[s, WORK] = work
    F[s, SIZE] = size
    F[s, AGE] = 0.0
    F[s, D] = d
    F[s, D2] = d2
    G[s, GIDX] = g


@njit(**_JIT)
def shift_origin(F, fs, ta):
    """Move the time origin to ``ta`` (the last arrival served)."""
    for k in range(F.shape[0]):
        F[k, ARR] -= ta
    fs[T_] -= ta


@njit(**_INLINE)
def _load(fs, st):
    """The scalars every loop keeps between chunks: (clock, area, span, sum of response
    times, heap size, free slots, in system, in window, measured jobs)."""
    return (fs[T_], fs[AREA], fs[SPAN], fs[SUM], st[HN], st[FN], st[NSYS], st[WIN],
            st[CNT])


@njit(**_INLINE)
def _save(F, fs, st, ta, t, area, span, tsum, hn, fn, nsys, win, cnt):
    """Store the scalars of :func:`_load` and move the time origin to ``ta``."""
    fs[T_] = t
    shift_origin(F, fs, ta)
    fs[AREA] = area
    fs[SPAN] = span
    fs[SUM] = tsum
    st[HN] = hn
    st[FN] = fn
    st[NSYS] = nsys
    st[WIN] = win
    st[CNT] = cnt


@njit(**_INLINE)
def _below(k, g, hkey, hg, j):
    return k < hkey[j] or (k == hkey[j] and g < hg[j])


@njit(**_INLINE)
def _kpush(hkey, hg, hs, n, k, g, s):
    j = n
    while j > 0:
        parent = (j - 1) >> 1
        if not _below(k, g, hkey, hg, parent):
            break
        hkey[j], hg[j], hs[j] = hkey[parent], hg[parent], hs[parent]
        j = parent
    hkey[j], hg[j], hs[j] = k, g, s
    return n + 1


@njit(**_INLINE)
def _kpop(hkey, hg, hs, n):
    top = hs[0]
    n -= 1
    if n > 0:
        k, g, s = hkey[n], hg[n], hs[n]
        j = 0
        while True:
            ch = 2 * j + 1
            if ch >= n:
                break
            if ch + 1 < n and _below(hkey[ch + 1], hg[ch + 1], hkey, hg, ch):
                ch += 1
            if _below(k, g, hkey, hg, ch):
                break
            hkey[j], hg[j], hs[j] = hkey[ch], hg[ch], hs[ch]
            j = ch
        hkey[j], hg[j], hs[j] = k, g, s
    return top, n


@njit(**_JIT)
def key_chunk(slope, gaps, work, size, d, gidx0, start, w_lo, w_hi, record,
              F, G, hkey, hg, hs, free, fs, st, out_g, out_t, out_x):
    """Serve one chunk under the rank ``d + slope * age`` (``slope`` -1: SRPT, SPRPT;
    0: PSJF, PSPJF, preemptive priority classes, LCFS with d the negated job number).

    ``gaps`` are the inter-arrival times (the first measured from the previous chunk's
    last arrival), ``work`` the service each job needs, ``size`` its true size, ``d`` its
    key; job ``i`` of the chunk is job number ``gidx0 + i``, served from index
    ``start``. Jobs numbered ``w_lo`` .. ``w_hi - 1`` are measured (sum and count in
    ``fs``/``st``, and, if ``record``, written to ``out_*``). The heap is in ``hkey``,
    ``hg``, ``hs``; the other arrays are the state described in the module docstring."""
    t, area, span, tsum, hn, fn, nsys, win, cnt = _load(fs, st)
    r = st[RUN]
    rem = F[r, WORK] - F[r, AGE] if r >= 0 else 0.0  # the running job's remaining work
    nout = 0
    ta = 0.0
    i = start
    n_arr = gaps.shape[0]
    while i < n_arr:
        tn = ta + gaps[i]
        while r >= 0:  # serve until the arrival
            dt = tn - t
            if rem > dt:
                rem -= dt
                break
            if win:
                area += nsys * rem
                span += rem
            t += rem
            rt, k, nout = _leave(F, G, r, t, w_lo, w_hi, record, out_g, out_t, out_x, nout)
            tsum += rt
            cnt += k
            free[fn] = r
            fn += 1
            nsys -= 1
            if hn == 0:
                r = -1
            else:
                r, hn = _kpop(hkey, hg, hs, hn)
                rem = F[r, WORK] - F[r, AGE]
        if win:
            area += nsys * (tn - t)
            span += tn - t
        t = tn
        if fn == 0:
            break  # out of job slots: the caller grows the state and calls again
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
        if r < 0:
            r, rem = s, work[i]
        else:
            age = F[r, WORK] - rem
            kr = F[r, D] + slope * age
            if d[i] < kr:  # the newcomer (age 0) is strictly better: it preempts
                F[r, AGE] = age
                hn = _kpush(hkey, hg, hs, hn, kr, G[r, GIDX], r)
                r, rem = s, work[i]
            else:
                hn = _kpush(hkey, hg, hs, hn, d[i], g, s)
        i += 1
    if r >= 0:
        F[r, AGE] = F[r, WORK] - rem
    _save(F, fs, st, ta, t, area, span, tsum, hn, fn, nsys, win, cnt)
    st[RUN] = r
    return i, nout


# -- processor sharing -------------------------------------------------------------------------
# Virtual time V with dV/dt = 1/n: a job arriving at V0 with size x leaves when V = V0 + x,
# so the heap is keyed by that finish time.

@njit(**_JIT)
def ps_chunk(gaps, work, size, gidx0, start, w_lo, w_hi, record, F, G, HK, HI, free, fs, st,
             out_g, out_t, out_x):
    """Serve one chunk under processor sharing (arguments as in :func:`key_chunk`)."""
    t, area, span, tsum, hn, fn, _, win, cnt = _load(fs, st)
    V = fs[V_]
    nout = 0
    ta = 0.0
    i = start
    n_arr = gaps.shape[0]
    while i < n_arr:
        tn = ta + gaps[i]
        while hn > 0:
            dt = tn - t
            to_done = (HK[0, 1] - V) * hn
            if to_done > dt:
                V += dt / hn
                break
            if win:
                area += hn * to_done
                span += to_done
            t += to_done
            V = HK[0, 1]
            s, hn = _hpop(HK, HI, hn)
            rt, k, nout = _leave(F, G, s, t, w_lo, w_hi, record, out_g, out_t, out_x, nout)
            tsum += rt
            cnt += k
            free[fn] = s
            fn += 1
            if hn == 0:
                V = 0.0  # empty system: restart the virtual clock
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
    _save(F, fs, st, ta, t, area, span, tsum, hn, fn, hn, win, cnt)
    fs[V_] = V
    return i, nout


# -- piecewise-linear ranks of any slope ---------------------------------------------------------
# Piece k of a job's rank: ages [S, E), class C, value V at age S, slope M. The pieces come
# from rows of a profile table (PS, PE, PC, PV, PM), row G[s, PID] of slot s: the table is
# either shared by all jobs for the whole run (``shared``: e.g. one Gittins table per bit)
# or per job, copied into the slot's own rows of SEGS at arrival.

@njit(**_INLINE)
def _pw_piece(F, G, s, k, shared, PS, PE, PC, PV, PM, SEGS):
    G[s, SEG] = k
    if shared:
        row = G[s, PID]
        F[s, S0] = PS[row, k]
        F[s, END] = PE[row, k]
        F[s, CLS] = PC[row, k]
        F[s, B] = PV[row, k]
        F[s, M] = PM[row, k]
    else:
        F[s, S0] = SEGS[s, k, 0]
        F[s, END] = SEGS[s, k, 1]
        F[s, CLS] = SEGS[s, k, 2]
        F[s, B] = SEGS[s, k, 3]
        F[s, M] = SEGS[s, k, 4]


@njit(**_INLINE)
def _pw_rank(F, s):
    return F[s, B] + F[s, M] * (F[s, AGE] - F[s, S0])


@njit(**_INLINE)
def _pw_advance(F, G, s, shared, PS, PE, PC, PV, PM, SEGS):
    """Move slot s past the pieces its age has reached; True if any."""
    moved = False
    while F[s, AGE] >= F[s, END] and F[s, END] < INF:
        _pw_piece(F, G, s, G[s, SEG] + 1, shared, PS, PE, PC, PV, PM, SEGS)
        moved = True
    return moved


@njit(**_INLINE)
def _pw_push(HK, HI, hn, F, G, s):
    return _hpush(HK, HI, hn, F[s, CLS], _pw_rank(F, s), 1.0 if F[s, M] > 0.0 else 0.0,
                  G[s, GIDX], s)


@njit(**_INLINE)
def _pw_dissolve(HK, HI, hn, F, G, run, nr, level):
    """Send the running jobs back to the heap (a tied group at its exact level)."""
    if nr == 1:
        return _pw_push(HK, HI, hn, F, G, run[0])
    for k in range(nr):
        s = run[k]
        hn = _hpush(HK, HI, hn, F[s, CLS], level, 1.0, G[s, GIDX], s)
    return hn


@njit(**_INLINE)
def _pw_select(F, G, HK, HI, hn, run, shared, PS, PE, PC, PV, PM, SEGS):
    """Take the best waiting job, and every job tied with it at a rising level, to run.
    Return (running count, heap size, level, sum of 1 / slope over the group)."""
    while hn > 0:
        v = HK[0, 1]
        s, hn = _hpop(HK, HI, hn)
        if _pw_advance(F, G, s, shared, PS, PE, PC, PV, PM, SEGS):
            v = _pw_rank(F, s)
            if hn > 0 and not _kless(F[s, CLS], v, 1.0 if F[s, M] > 0.0 else 0.0,
                                     G[s, GIDX], HK, HI, 0):
                hn = _pw_push(HK, HI, hn, F, G, s)
                continue
        run[0] = s
        nr = 1
        w = 0.0
        if F[s, M] > 0.0:
            c = F[s, CLS]
            w = 1.0 / F[s, M]
            while hn > 0 and HK[0, 0] == c and HK[0, 1] == v and HK[0, 2] == 1.0:
                s, hn = _hpop(HK, HI, hn)
                run[nr] = s
                nr += 1
                w += 1.0 / F[s, M]
        return nr, hn, v, w
    return 0, hn, 0.0, 0.0


@njit(**_JIT)
def pw_chunk(gaps, work, size, pid, gidx0, start, w_lo, w_hi, record, shared,
             PS, PE, PC, PV, PM, F, G, HK, HI, SEGS, run, free, fs, st, out_g, out_t, out_x):
    """Serve one chunk under ranks given as linear pieces (see the module docstring).

    Job ``i`` of the chunk has profile row ``pid[i]`` of ``PS`` .. ``PM``; the other
    arguments are as in :func:`key_chunk`, plus ``SEGS`` (per-slot pieces when not
    ``shared``) and ``run`` (the slots being served).
    """
    t, area, span, tsum, hn, fn, nsys, win, cnt = _load(fs, st)
    level = fs[LVL]
    wsum = fs[WSUM]
    nr = st[NR]
    npieces = PS.shape[1]
    nout = 0
    ta = 0.0
    i = start
    n_arr = gaps.shape[0]
    while i < n_arr:
        tn = ta + gaps[i]
        while nr > 0:
            dt = tn - t
            # the next event: 0 completion, 1 piece end, 2 crossing, 3 the arrival
            if nr == 1:
                r = run[0]
                age = F[r, AGE]
                tau, ev, who = F[r, WORK] - age, 0, 0
                x = F[r, END] - age
                if x < tau:
                    tau, ev = x, 1
                m = F[r, M]
                if m > 0.0 and hn > 0 and HK[0, 0] == F[r, CLS]:
                    x = max((HK[0, 1] - _pw_rank(F, r)) / m, 0.0)
                    if x < tau:
                        tau, ev = x, 2
            else:  # a tied group: member k is served at rate 1 / (M_k wsum)
                tau, ev, who = INF, 0, 0
                for k in range(nr):
                    s = run[k]
                    f = F[s, M] * wsum
                    x = (F[s, WORK] - F[s, AGE]) * f
                    if x < tau:
                        tau, ev, who = x, 0, k
                    x = (F[s, END] - F[s, AGE]) * f
                    if x < tau:
                        tau, ev, who = x, 1, k
                if hn > 0 and HK[0, 0] == F[run[0], CLS]:
                    x = max((HK[0, 1] - level) * wsum, 0.0)
                    if x < tau:
                        tau, ev = x, 2
            if tau > dt:
                tau, ev = dt, 3
            if win:
                area += nsys * tau
                span += tau
            t += tau
            if nr == 1:
                F[run[0], AGE] += tau
            else:
                for k in range(nr):
                    s = run[k]
                    F[s, AGE] += tau / (F[s, M] * wsum)
                level = HK[0, 1] if ev == 2 else level + tau / wsum
            if ev == 3:
                break
            s = run[who]
            if ev == 0:
                F[s, AGE] = F[s, WORK]
                rt, k, nout = _leave(F, G, s, t, w_lo, w_hi, record, out_g, out_t, out_x, nout)
                tsum += rt
                cnt += k
                free[fn] = s
                fn += 1
                nsys -= 1
                nr -= 1
                run[who] = run[nr]
                hn = _pw_dissolve(HK, HI, hn, F, G, run, nr, level) if nr > 0 else hn
            elif ev == 1:
                F[s, AGE] = F[s, END]
                _pw_advance(F, G, s, shared, PS, PE, PC, PV, PM, SEGS)
                hn = _pw_push(HK, HI, hn, F, G, s)
                nr -= 1
                run[who] = run[nr]
                if nr > 0:
                    hn = _pw_dissolve(HK, HI, hn, F, G, run, nr, level)
            else:  # crossing: the level meets the best waiting job's rank
                hn = _hpush(HK, HI, hn, F[s, CLS], HK[0, 1], 1.0, G[s, GIDX], s) if nr == 1 \
                    else _pw_dissolve(HK, HI, hn, F, G, run, nr, level)
            nr, hn, level, wsum = _pw_select(F, G, HK, HI, hn, run, shared, PS, PE, PC, PV,
                                              PM, SEGS)
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
        _new_job(F, G, s, ta, work[i], size[i], 0.0, 0.0, g)
        G[s, PID] = pid[i]
        if not shared:
            row = pid[i]
            for k in range(npieces):
                SEGS[s, k, 0] = PS[row, k]
                SEGS[s, k, 1] = PE[row, k]
                SEGS[s, k, 2] = PC[row, k]
                SEGS[s, k, 3] = PV[row, k]
                SEGS[s, k, 4] = PM[row, k]
        _pw_piece(F, G, s, 0, shared, PS, PE, PC, PV, PM, SEGS)
        nsys += 1
        if g == w_lo:
            win = 1
        if g == w_hi:
            win = 0
        c, v, f = F[s, CLS], F[s, B], 1.0 if F[s, M] > 0.0 else 0.0
        if nr > 0:
            r = run[0]
            cr = F[r, CLS]
            vr = _pw_rank(F, r) if nr == 1 else level
            fr = 1.0 if F[r, M] > 0.0 else 0.0
            if c < cr or (c == cr and (v < vr or (v == vr and f < fr))):
                hn = _pw_dissolve(HK, HI, hn, F, G, run, nr, level)
                nr = 0
        hn = _hpush(HK, HI, hn, c, v, f, g, s)
        if nr == 0:
            nr, hn, level, wsum = _pw_select(F, G, HK, HI, hn, run, shared, PS, PE, PC, PV,
                                              PM, SEGS)
        i += 1
    _save(F, fs, st, ta, t, area, span, tsum, hn, fn, nsys, win, cnt)
    fs[LVL] = level
    fs[WSUM] = wsum
    st[NR] = nr
    return i, nout


# -- FB / LAS: processor sharing among the least-attained jobs ------------------------------------
# Jobs of equal age form a group; the groups form a stack (youngest on top: it is served,
# shared equally). Each group is a pairing heap of its jobs keyed by size (its minimum
# leaves first); two groups merge when the top one's age reaches the next one's.

@njit(**_INLINE)
def _meld(F, child, sib, a, b):
    if a < 0:
        return b
    if b < 0:
        return a
    if F[b, SIZE] < F[a, SIZE]:
        a, b = b, a
    sib[b] = child[a]
    child[a] = b
    return a


@njit(**_INLINE)
def _delete_min(F, child, sib, scratch, root):
    c = child[root]
    child[root] = -1
    k = 0
    while c >= 0:
        nxt = sib[c]
        sib[c] = -1
        scratch[k] = c
        k += 1
        c = nxt
    if k == 0:
        return -1
    m = 0
    j = 0
    while j < k:  # pair up left to right ...
        if j + 1 < k:
            scratch[m] = _meld(F, child, sib, scratch[j], scratch[j + 1])
        else:
            scratch[m] = scratch[j]
        m += 1
        j += 2
    r = scratch[m - 1]
    for j in range(m - 2, -1, -1):  # ... then meld right to left
        r = _meld(F, child, sib, scratch[j], r)
    return r


@njit(**_JIT)
def fb_chunk(gaps, size, gidx0, start, w_lo, w_hi, record, F, G, free, child, sib, glevel,
             groot, gcnt, scratch, fs, st, out_g, out_t, out_x):
    """Serve one chunk under FB (least attained service first, PS among equals)."""
    t, area, span, tsum, ng, fn, nsys, win, cnt = _load(fs, st)   # ng: number of groups
    nout = 0
    ta = 0.0
    i = start
    n_arr = gaps.shape[0]
    while i < n_arr:
        tn = ta + gaps[i]
        while ng > 0:
            top = ng - 1
            A = glevel[top]
            k = gcnt[top]
            root = groot[top]
            dt = tn - t
            to_done = (F[root, SIZE] - A) * k
            to_merge = (glevel[top - 1] - A) * k if top > 0 else INF
            if to_done <= dt and to_done <= to_merge:
                if win:
                    area += nsys * to_done
                    span += to_done
                t += to_done
                glevel[top] = F[root, SIZE]
                rt, c, nout = _leave(F, G, root, t, w_lo, w_hi, record, out_g, out_t, out_x,
                                     nout)
                tsum += rt
                cnt += c
                groot[top] = _delete_min(F, child, sib, scratch, root)
                free[fn] = root
                fn += 1
                nsys -= 1
                gcnt[top] = k - 1
                if k == 1:
                    ng = top
                continue
            if to_merge < dt:
                if win:
                    area += nsys * to_merge
                    span += to_merge
                t += to_merge
                groot[top - 1] = _meld(F, child, sib, groot[top - 1], root)
                gcnt[top - 1] += k
                ng = top
                continue
            glevel[top] = A + dt / k
            break
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
        _new_job(F, G, s, ta, size[i], size[i], 0.0, 0.0, g)
        child[s] = -1
        sib[s] = -1
        if g == w_lo:
            win = 1
        if g == w_hi:
            win = 0
        glevel[ng] = 0.0
        groot[ng] = s
        gcnt[ng] = 1
        ng += 1
        nsys += 1
        i += 1
    _save(F, fs, st, ta, t, area, span, tsum, ng, fn, nsys, win, cnt)
    return i, nout


def lindley_chunk(gaps, work, state):
    """FCFS response times of one chunk by the Lindley recursion, vectorised in numpy.

    ``state = [W, S]``: waiting time and work of the previous chunk's last job (updated).
    With X_n = S_{n-1} - tau_n and C_n = X_1 + ... + X_n, the waiting time is
    W_n = max(W_0 + C_n, C_n - min_{k <= n} C_k).

    Examples
    --------
    >>> st = np.zeros(2)
    >>> lindley_chunk(np.array([0.0, 1.0, 0.5]), np.array([2.0, 1.0, 1.0]), st).tolist()
    [2.0, 2.0, 2.5]
    """
    X = np.empty_like(gaps)
    X[0] = state[1] - gaps[0]
    np.subtract(work[:-1], gaps[1:], out=X[1:])
    C = np.cumsum(X)
    W = np.minimum.accumulate(C)
    np.minimum(W, -state[0], out=W)
    np.subtract(C, W, out=W)
    state[0] = W[-1]
    state[1] = work[-1]
    W += work
    return W


@njit(**_JIT)
def tail_add(T, bits, counts, per_octave, octaves, powers):
    """Count response times on bins ``per_octave`` (a power of two) to an octave over
    ``octaves`` octaves centred on a scale (bin 1 + (e + octaves/2) per_octave + j holds
    scale 2^{e-1} (1 + j/per_octave) <= T < scale 2^{e-1} (1 + (j+1)/per_octave); bin 0
    and the last bin catch what falls outside), and add the squares and cubes of T to
    ``powers``. No logarithm: ``bits``, those of T / scale = (1 + f) 2^{E - 1023} as
    int64, give the bin, e = E − 1022 and j the top bits of the fraction f (what
    math.frexp would give, without the call)."""
    top = counts.size - 1
    half = octaves // 2
    shift = 52
    while (1 << (52 - shift)) < per_octave:
        shift -= 1
    mask = per_octave - 1
    s2 = 0.0
    s3 = 0.0
    for k in range(T.size):
        b = bits[k]
        e = ((b >> 52) & 0x7FF) - 1022
        if e < -half:
            i = 0
        elif e >= half:
            i = top
        else:
            i = 1 + (e + half) * per_octave + ((b >> shift) & mask)
        counts[i] += 1
        t = T[k]
        t2 = t * t
        s2 += t2
        s3 += t2 * t
    powers[0] += s2
    powers[1] += s3
