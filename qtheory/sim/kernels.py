"""Compiled event loops of the simulator (numba, ``cache=True``, ``nogil=True``).

Every loop is *exact* and event driven: between two events the state evolves linearly,
so the time of the next event (an arrival, a completion, a rank change) is computed in
closed form and the clock jumps to it. There is no time step.

All loops process one *chunk* of arrivals at a time and keep their state in numpy
arrays owned by the caller, so memory is O(jobs in system) whatever the number of jobs:

* ``F`` (capacity x NF float64) and ``G`` (capacity x NG int64): one row per job slot,
* ``heap`` / ``free``: a binary heap of slots and a stack of free slots,
* ``fs`` (float64) and ``st`` (int64): scalars (clock, time-average accounting, counts).

A loop reads inter-arrival times; at the end of each call it moves the time origin to
the last arrival it served (shifting the clock and the stored arrival times), so times
never grow large and response times keep full precision over 10^9 jobs.

A loop returns ``(next_index, n_out)``: it stops early (``next_index < len(gaps)``) only
when it runs out of job slots; the caller then grows the state and calls again. The
measured jobs' response times are summed in the state; with ``record`` they are also
written to ``out_g`` (job number), ``out_t`` (response time) and ``out_x`` (true size).
Nothing is allocated inside a loop (``_nrt=False``: no reference counting).

The SOAP loop (:func:`soap_chunk`) serves every policy whose rank, on each *segment* of
age, is ``(class, b + m * age)`` with slope ``m`` in {-1, 0}: within a segment the
running job's rank never rises, so only arrivals and segment ends can preempt. Upward
jumps between segments (DelayPredict at age L, the server-time stages) are handled by
comparing with the best waiting job at the segment end. Ranks that rise continuously
(FB, SPRPT-bounce, Gittins, user ranks) use :func:`fb_chunk` or the generic loop in
:mod:`qtheory.sim.generic`. Ties in rank go to the earlier arrival (job number).
"""

import math

import numpy as np
from numba import njit

INF = math.inf

# policy codes of the SOAP loop --------------------------------------------------------------
CONST, STATIC, REMAINING, NONPREEMPTIVE, TRAIL, LCFS, ONEBIT_ANY, SKIP, DELAY = range(9)

# float columns of a job slot
ARR, WORK, SIZE, AGE, D, D2, END, CLS, B, M = range(10)
NF = 10
# int columns
GIDX, SEG = range(2)
NG = 2
# scalars: fs = [clock, area, span, virtual time, sum of measured response times]
#          st = [running slot, heap size, free slots, in system, in window, measured jobs]
T_, AREA, SPAN, V_, SUM = range(5)
RUN, HN, FN, NSYS, WIN, CNT = range(6)
NFS, NST = 5, 6

_JIT = dict(cache=True, nogil=True, _nrt=False)   # no refcounting: nothing is allocated
_INLINE = dict(_JIT, inline="always")


@njit(**_INLINE)
def _segment(code, p, s, d, d2, gidx):
    """Segment ``s`` of a job's rank: (end age, class, intercept b, slope m)."""
    if code == CONST:
        return INF, 0.0, 0.0, 0.0
    if code == STATIC:
        return INF, 0.0, d, 0.0
    if code == REMAINING:
        return INF, 0.0, d, -1.0
    if code == NONPREEMPTIVE:  # rank d at age 0, then -inf (class -1)
        if s == 0:
            return 0.0, 0.0, d, 0.0
        return INF, -1.0, 0.0, 0.0
    if code == TRAIL:  # rank d - a up to age c*d, then -inf
        if s == 0:
            return p[0] * d, 0.0, d, -1.0
        return INF, -1.0, 0.0, 0.0
    if code == LCFS:  # the latest arrival first
        return INF, 0.0, -float(gidx), 0.0
    if code == ONEBIT_ANY:  # shorts LCFS (class 0), longs FCFS (class 1)
        if d < 0.5:
            return INF, 0.0, -float(gidx), 0.0
        return INF, 1.0, 0.0, 0.0
    if code == SKIP:  # p = (c1, c2, server_time); d = y, d2 = bit
        if p[2] == 0.0:
            if d2 < 0.5:
                return INF, 0.0, 0.0, 0.0
            return INF, 1.0, d, -1.0
        if s == 0:  # the cheap prediction (c1 units), top priority, oldest first
            return p[0], 0.0, 0.0, -1.0
        if d2 < 0.5:  # predicted short: FCFS
            return INF, 1.0, 0.0, 0.0
        if s == 1:  # the expensive prediction (c2 units), FCFS
            return p[0] + p[1], 2.0, 0.0, 0.0
        return INF, 3.0, d + p[0] + p[1], -1.0  # SPRPT on the job's own age a - c1 - c2
    if code == DELAY:  # p = (L, c2, server_time); d = y
        if p[2] == 0.0:
            if s == 0:
                return p[0], 0.0, 0.0, -1.0
            return INF, 1.0, d, -1.0
        if s == 0:  # first L units, then (if longer) the prediction work c2, top priority
            return p[0] + p[1], 0.0, 0.0, -1.0
        return INF, 1.0, d + p[1], -1.0
    return INF, 0.0, 0.0, 0.0


@njit(**_INLINE)
def _better(F, G, i, j):
    """Is slot i's key (class, rank, job number) below slot j's?"""
    ci = F[i, CLS]
    cj = F[j, CLS]
    if ci != cj:
        return ci < cj
    vi = F[i, B] + F[i, M] * F[i, AGE]
    vj = F[j, B] + F[j, M] * F[j, AGE]
    if vi != vj:
        return vi < vj
    return G[i, GIDX] < G[j, GIDX]


@njit(**_INLINE)
def _push(heap, n, F, G, s):
    k = n
    while k > 0:
        parent = (k - 1) >> 1
        if _better(F, G, s, heap[parent]):
            heap[k] = heap[parent]
            k = parent
        else:
            break
    heap[k] = s
    return n + 1


@njit(**_INLINE)
def _pop(heap, n, F, G):
    top = heap[0]
    n -= 1
    if n > 0:
        s = heap[n]
        k = 0
        while True:
            c = 2 * k + 1
            if c >= n:
                break
            if c + 1 < n and _better(F, G, heap[c + 1], heap[c]):
                c += 1
            if _better(F, G, heap[c], s):
                heap[k] = heap[c]
                k = c
            else:
                break
        heap[k] = s
    return top, n


@njit(**_INLINE)
def _set_segment(F, G, s, code, p, seg):
    e, c, b, m = _segment(code, p, seg, F[s, D], F[s, D2], G[s, GIDX])
    G[s, SEG] = seg
    F[s, END] = e
    F[s, CLS] = c
    F[s, B] = b
    F[s, M] = m


@njit(**_INLINE)
def _select(F, G, heap, r, hn, code, p):
    """Make the best job run: advance the running job ``r`` (-1: none) past the segment
    ends it has reached, and swap it with the best waiting job while that one is better."""
    while True:
        if r < 0:
            if hn == 0:
                break
            r, hn = _pop(heap, hn, F, G)
        while F[r, AGE] >= F[r, END] and F[r, END] < INF:
            _set_segment(F, G, r, code, p, G[r, SEG] + 1)
        if hn > 0 and _better(F, G, heap[0], r):
            hn = _push(heap, hn, F, G, r)
            r, hn = _pop(heap, hn, F, G)
            continue
        break
    return r, hn


@njit(**_JIT)
def soap_chunk(code, p, gaps, work, size, d, d2, gidx0, start, w_lo, w_hi, record,
               F, G, heap, free, fs, st, out_g, out_t, out_x):
    """Serve arrivals ``start`` .. of one chunk under a SOAP policy with piecewise ranks.

    ``gaps`` are the inter-arrival times (the first measured from the previous chunk's
    last arrival), ``work`` the service each job needs, ``size`` its true size, ``d`` and
    ``d2`` its descriptors; job ``i`` of the chunk is job number ``gidx0 + i``. Jobs
    numbered ``w_lo`` .. ``w_hi - 1`` are measured (sum and count in ``fs``/``st``, and,
    if ``record``, written to ``out_*``).
    """
    t = fs[T_]
    area = fs[AREA]
    span = fs[SPAN]
    tsum = fs[SUM]
    r = st[RUN]
    hn = st[HN]
    fn = st[FN]
    nsys = st[NSYS]
    win = st[WIN]
    cnt = st[CNT]
    nout = 0
    ta = 0.0
    i = start
    n_arr = gaps.shape[0]
    while i < n_arr:
        tn = ta + gaps[i]
        while r >= 0:  # serve until the arrival
            age = F[r, AGE]
            dt = tn - t
            to_done = F[r, WORK] - age
            to_seg = F[r, END] - age
            if to_done <= dt and to_done <= to_seg:
                if win:
                    area += nsys * to_done
                    span += to_done
                t += to_done
                g = G[r, GIDX]
                if g >= w_lo and g < w_hi:
                    rt = t - F[r, ARR]
                    tsum += rt
                    cnt += 1
                    if record:
                        out_g[nout] = g
                        out_t[nout] = rt
                        out_x[nout] = F[r, SIZE]
                        nout += 1
                free[fn] = r
                fn += 1
                nsys -= 1
                r, hn = _select(F, G, heap, -1, hn, code, p)
                continue
            if to_seg < dt:
                if win:
                    area += nsys * to_seg
                    span += to_seg
                t += to_seg
                F[r, AGE] = F[r, END]
                r, hn = _select(F, G, heap, r, hn, code, p)
                continue
            F[r, AGE] = age + dt
            break
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
        F[s, ARR] = ta
        F[s, WORK] = work[i]
        F[s, SIZE] = size[i]
        F[s, AGE] = 0.0
        F[s, D] = d[i]
        F[s, D2] = d2[i]
        G[s, GIDX] = g
        _set_segment(F, G, s, code, p, 0)
        nsys += 1
        if g == w_lo:
            win = 1
        if g == w_hi:
            win = 0
        if r < 0:
            r, hn = _select(F, G, heap, s, hn, code, p)
        elif _better(F, G, s, r):
            hn = _push(heap, hn, F, G, r)
            r, hn = _select(F, G, heap, s, hn, code, p)
        else:
            hn = _push(heap, hn, F, G, s)
        i += 1
    # move the time origin to the last arrival served
    for k in range(F.shape[0]):
        F[k, ARR] -= ta
    fs[T_] = t - ta
    fs[AREA] = area
    fs[SPAN] = span
    fs[SUM] = tsum
    st[RUN] = r
    st[HN] = hn
    st[FN] = fn
    st[NSYS] = nsys
    st[WIN] = win
    st[CNT] = cnt
    return i, nout


# -- processor sharing -------------------------------------------------------------------------
# Virtual time V with dV/dt = 1/n: a job arriving at V0 with size x leaves when V = V0 + x.
# The heap is keyed by that finish time (column B).

@njit(**_INLINE)
def _vless(F, G, i, j):
    if F[i, B] != F[j, B]:
        return F[i, B] < F[j, B]
    return G[i, GIDX] < G[j, GIDX]


@njit(**_INLINE)
def _vpush(heap, n, F, G, s):
    k = n
    while k > 0:
        parent = (k - 1) >> 1
        if _vless(F, G, s, heap[parent]):
            heap[k] = heap[parent]
            k = parent
        else:
            break
    heap[k] = s
    return n + 1


@njit(**_INLINE)
def _vpop(heap, n, F, G):
    top = heap[0]
    n -= 1
    if n > 0:
        s = heap[n]
        k = 0
        while True:
            c = 2 * k + 1
            if c >= n:
                break
            if c + 1 < n and _vless(F, G, heap[c + 1], heap[c]):
                c += 1
            if _vless(F, G, heap[c], s):
                heap[k] = heap[c]
                k = c
            else:
                break
        heap[k] = s
    return top, n


@njit(**_JIT)
def ps_chunk(code, p, gaps, work, size, d, d2, gidx0, start, w_lo, w_hi, record,
             F, G, heap, free, fs, st, out_g, out_t, out_x):
    """Serve one chunk under processor sharing (same signature as :func:`soap_chunk`)."""
    t = fs[T_]
    V = fs[V_]
    area = fs[AREA]
    span = fs[SPAN]
    tsum = fs[SUM]
    hn = st[HN]
    fn = st[FN]
    win = st[WIN]
    cnt = st[CNT]
    nout = 0
    ta = 0.0
    i = start
    n_arr = gaps.shape[0]
    while i < n_arr:
        tn = ta + gaps[i]
        while hn > 0:
            s = heap[0]
            dt = tn - t
            to_done = (F[s, B] - V) * hn
            if to_done <= dt:
                if win:
                    area += hn * to_done
                    span += to_done
                t += to_done
                V = F[s, B]
                s, hn = _vpop(heap, hn, F, G)
                g = G[s, GIDX]
                if g >= w_lo and g < w_hi:
                    rt = t - F[s, ARR]
                    tsum += rt
                    cnt += 1
                    if record:
                        out_g[nout] = g
                        out_t[nout] = rt
                        out_x[nout] = F[s, SIZE]
                        nout += 1
                free[fn] = s
                fn += 1
                if hn == 0:
                    V = 0.0  # empty system: restart the virtual clock
                continue
            V += dt / hn
            break
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
        F[s, ARR] = ta
        F[s, SIZE] = size[i]
        F[s, B] = V + work[i]
        G[s, GIDX] = g
        if g == w_lo:
            win = 1
        if g == w_hi:
            win = 0
        hn = _vpush(heap, hn, F, G, s)
        i += 1
    for k in range(F.shape[0]):
        F[k, ARR] -= ta
    fs[T_] = t - ta
    fs[V_] = V
    fs[AREA] = area
    fs[SPAN] = span
    fs[SUM] = tsum
    st[HN] = hn
    st[FN] = fn
    st[NSYS] = hn
    st[WIN] = win
    st[CNT] = cnt
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
    t = fs[T_]
    area = fs[AREA]
    span = fs[SPAN]
    tsum = fs[SUM]
    ng = st[HN]  # number of groups
    fn = st[FN]
    nsys = st[NSYS]
    win = st[WIN]
    cnt = st[CNT]
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
                g = G[root, GIDX]
                if g >= w_lo and g < w_hi:
                    rt = t - F[root, ARR]
                    tsum += rt
                    cnt += 1
                    if record:
                        out_g[nout] = g
                        out_t[nout] = rt
                        out_x[nout] = F[root, SIZE]
                        nout += 1
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
        F[s, ARR] = ta
        F[s, SIZE] = size[i]
        G[s, GIDX] = g
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
    for k in range(F.shape[0]):
        F[k, ARR] -= ta
    fs[T_] = t - ta
    fs[AREA] = area
    fs[SPAN] = span
    fs[SUM] = tsum
    st[HN] = ng
    st[FN] = fn
    st[NSYS] = nsys
    st[WIN] = win
    st[CNT] = cnt
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
