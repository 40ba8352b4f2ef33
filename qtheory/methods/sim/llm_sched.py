"""Simulator of LLM serving with phase costs and engine schedulers (numba, ``cache=True``)
for :class:`qtheory.LLMServer`.

An iteration takes ``cost(P, n_d, K)``: P prefill tokens, n_d decode sequences and K KV
tokens read (by default d0 + d_prefill P + d_decode n_d + d_kv K, see
:class:`qtheory.IterationCost`). A request with prompt s and output o runs a prefill that
emits its first token, then o decode iterations; at its j-th token it holds s + j KV
tokens (j = 0 the prefill), as in :class:`qtheory.ContinuousBatching`. Memory is counted
in blocks of B tokens: a request holding k tokens uses ⌈k/B⌉ blocks.

The schedulers are declared in :mod:`qtheory.policies.llm_schedulers` (codes 0 vllm,
1 orca, 2 sarathi, 3 reserve). Bookkeeping that makes an iteration O(1) apart from
admissions, completions and preemptions: every decoding request advances by one token in
every decode step D, so a request with offset b holds s + D − b tokens; a heap orders
the decoders by their last step b + o (another by arrival, for preemption); the KV total is Σ(s − b) + D·n_d; and the blocks it needs
anew in step D are those with (s − b) mod B = (1 − D) mod B, kept as B counters.

``stat`` on return: [iterations, preemptions, peak blocks, infeasible flag, prefill
tokens processed, decode tokens, prefill completions, preempted partial prefills,
recompute tokens owed by preempted decoders (Σ s + j), partial-prefill tokens lost,
forced preemptions (Trail: of a request past its limit)].

Orders of the waiting line: 0 FCFS (preempted requests first, a stack), 1 smallest
predicted remaining output y − j first (a heap), 2 the same with Trail's limited
preemption (Shahout et al., ICLR 2025): a decoder is preemptable while j ≤ c·y; a
waiting request that does not fit preempts preemptable decoders of strictly worse rank
(worst first) if that frees enough blocks; on overflow the worst preemptable decoder
goes first (one past its limit only if none is preemptable: a forced preemption).

A preempted request (vllm, orca, sarathi) keeps its progress j and waits at the front of
the line (a stack: the last preempted, the oldest, returns first); it then recomputes its
s + j tokens in one prefill, which emits its next token (vLLM's recompute mode).
"""

import numpy as np
from numba import njit

from .llm import _heap_before, _heap_pop, _heap_push  # one waiting-line heap for both engines

__all__ = ["run_kernel", "interp3"]


@njit(cache=True)
def _axis(ax, x):
    """Cell index and weight of x on a sorted axis, linear extrapolation beyond it."""
    n = ax.size
    if n == 1:
        return 0, 0.0
    k = 0
    if x >= ax[n - 1]:
        k = n - 2
    elif x > ax[0]:
        lo, hi = 0, n - 1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if ax[mid] <= x:
                lo = mid
            else:
                hi = mid
        k = lo
    return k, (x - ax[k]) / (ax[k + 1] - ax[k])


@njit(cache=True)
def interp3(p, d, k, a0, a1, a2, tab):
    """Trilinear interpolation of tab[i, j, l] on axes (a0, a1, a2) at (p, d, k), linear
    extrapolation outside (an axis of length 1 is constant)."""
    i, wi = _axis(a0, p)
    j, wj = _axis(a1, d)
    m, wm = _axis(a2, k)
    i1 = i + 1 if a0.size > 1 else i
    j1 = j + 1 if a1.size > 1 else j
    m1 = m + 1 if a2.size > 1 else m
    c00 = tab[i, j, m] * (1 - wm) + tab[i, j, m1] * wm
    c01 = tab[i, j1, m] * (1 - wm) + tab[i, j1, m1] * wm
    c10 = tab[i1, j, m] * (1 - wm) + tab[i1, j, m1] * wm
    c11 = tab[i1, j1, m] * (1 - wm) + tab[i1, j1, m1] * wm
    c0 = c00 * (1 - wj) + c01 * wj
    c1 = c10 * (1 - wj) + c11 * wj
    return c0 * (1 - wi) + c1 * wi


@njit(cache=True)
def _cost(kind, P, nd, kv, cp, a0, a1, a2, tab):
    if kind == 0:
        if cp[1] == cp[2]:          # one per-token cost: as ContinuousBatching computes it
            return cp[0] + cp[3] * kv + cp[1] * (P + nd)
        return cp[0] + cp[3] * kv + cp[1] * P + cp[2] * nd
    return interp3(float(P), float(nd), float(kv), a0, a1, a2, tab)


@njit(cache=True)
def _nb(k, B):
    return (k + B - 1) // B


@njit(cache=True)
def _h3_push(h, size, key, ident, ver):
    """Push (key, ident, ver) on the min-heap h[:size] (ties to the lower ident); grows h
    when full. Returns (h, new size)."""
    if size == h.shape[0]:
        g = np.zeros((2 * size + 16, 3))
        g[:size] = h[:size]
        h = g
    i = size
    while i > 0:
        p = (i - 1) >> 1
        if not _heap_before(key, ident, h[p, 0], h[p, 1]):
            break
        h[i, 0], h[i, 1], h[i, 2] = h[p, 0], h[p, 1], h[p, 2]
        i = p
    h[i, 0], h[i, 1], h[i, 2] = key, ident, ver
    return h, size + 1


@njit(cache=True)
def _h3_pop(h, size):
    size -= 1
    key, ident, ver = h[size, 0], h[size, 1], h[size, 2]
    i = 0
    while 2 * i + 1 < size:
        m = 2 * i + 1
        if m + 1 < size and _heap_before(h[m + 1, 0], h[m + 1, 1], h[m, 0], h[m, 1]):
            m += 1
        if not _heap_before(h[m, 0], h[m, 1], key, ident):
            break
        h[i, 0], h[i, 1], h[i, 2] = h[m, 0], h[m, 1], h[m, 2]
        i = m
    h[i, 0], h[i, 1], h[i, 2] = key, ident, ver
    return size


@njit(cache=True)
def _h3_clean(h, size, running, ver):
    """Pop stale entries (request no longer running, or an older admission) off the top."""
    while size > 0:
        i = int(h[0, 1])
        if running[i] and int(h[0, 2]) == ver[i]:
            break
        size = _h3_pop(h, size)
    return size


@njit(cache=True)
def _trail_victim(vh, nvh, ph, nph, running, ver, base, y, tc, D, forced_ok):
    """Trail (order 2): the running decoder of worst predicted remaining output y − j
    among the preemptable (j = D − b ≤ c y), popped from its heap; entries past their
    limit move to the protected heap ph for good. With ``forced_ok`` and no preemptable
    one, the worst protected. Returns (id or −1, forced, vh, nvh, ph, nph)."""
    while True:
        nvh = _h3_clean(vh, nvh, running, ver)
        if nvh == 0:
            break
        i = int(vh[0, 1])
        if D - base[i] > tc * y[i]:
            e0, e2 = vh[0, 0], vh[0, 2]
            nvh = _h3_pop(vh, nvh)
            ph, nph = _h3_push(ph, nph, e0, float(i), e2)
            continue
        nvh = _h3_pop(vh, nvh)
        return i, False, vh, nvh, ph, nph
    if forced_ok:
        nph = _h3_clean(ph, nph, running, ver)
        if nph > 0:
            i = int(ph[0, 1])
            nph = _h3_pop(ph, nph)
            return i, True, vh, nvh, ph, nph
    return -1, False, vh, nvh, ph, nph


@njit(cache=True)
def _trail_can_free(vh, nvh, running, ver, base, y, s, tc, D, rank, short, B, off):
    """Would preempting the preemptable decoders ranked worse than ``rank`` (at progress
    j = D − b) free at least ``short`` blocks (each ⌈(s + j − off)/B⌉: off = 1 where the
    step's token is not yet written)? A scan of the victim heap."""
    free = 0
    for k in range(nvh):
        i = int(vh[k, 1])
        if not running[i] or int(vh[k, 2]) != ver[i]:
            continue
        j = D - base[i]
        if j <= tc * y[i] and y[i] - j > rank:
            free += _nb(s[i] + j - off, B)
            if free >= short:
                return True
    return False


def _kernel_py(arr, s, o, y, ready, sched, order, tc, Mb, B, kmax, btok, omax, kind, cp,
               a0, a1, a2, tab, fin, first, admit, npre, acc, win, stat):
    n = arr.size
    base = np.zeros(n, np.int64)
    prog = np.zeros(n, np.int64)
    rdy = ready.copy()
    for i in range(n):
        if rdy[i]:
            prog[i] = 1                 # first token emitted elsewhere: decode from j = 1
    # running decoders: a completion min-heap on b + o and a victim heap on −id (newest
    # first), both with lazy deletion (an entry is live iff its request runs with that
    # admission's version)
    ch = np.zeros((1024, 3))
    vh = np.zeros((1024, 3))
    ph = np.zeros((1024, 3))             # Trail: decoders past their preemption limit
    nch = 0
    nvh = 0
    nph = 0
    running = np.zeros(n, np.bool_)
    ver = np.zeros(n, np.int64)
    stk = np.zeros(n, np.int64)
    heap = np.zeros((n, 2))
    newl = np.zeros(n, np.int64)        # requests whose prefill ends in this iteration
    cnt = np.zeros(B, np.int64)
    nr = 0
    SA = 0
    D = 0
    blocks = 0                           # blocks held (committed) by run list + partial
    reserved = 0
    nstk = 0
    nh = 0
    nxt = 0
    narr = 0
    done = 0
    now = 0.0
    pp = -1                              # sarathi: the partially prefilled request
    ppdone = 0
    iters = 0
    t_lo, t_hi = win[0], win[1]
    while done < n:
        while narr < n and arr[narr] <= now:
            if order >= 1:
                nh = _heap_push(heap, nh, y[narr] - prog[narr], narr)
            narr += 1
        P = 0
        KVp = 0
        nd = 0
        nnew = 0
        extra_d = 0                      # ready (decode-pool) requests decoding now
        decode = False
        evicted = False
        tent = blocks
        if sched != 0:
            D += 1
            decode = True
            r = (1 - D) % B
            tent = blocks + cnt[r]
            if sched != 3 and tent > Mb:
                evicted = True
        # -- preemption in a mixed iteration (newest first) ---------------------------
        if sched != 0 and evicted:
            while tent > Mb:
                if order == 2:
                    best, forced, vh, nvh, ph, nph = _trail_victim(
                        vh, nvh, ph, nph, running, ver, base, y, tc, D, True)
                    if forced:
                        stat[10] += 1
                else:
                    nvh = _h3_clean(vh, nvh, running, ver)
                    best = int(vh[0, 1]) if nvh > 0 else -1
                if pp >= 0 and (best < 0 or (order != 2 and pp > best)):
                    stat[7] += 1
                    stat[9] += ppdone
                    tent -= _nb(s[pp] + prog[pp], B)
                    blocks -= _nb(s[pp] + prog[pp], B)
                    npre[pp] += 1
                    stat[1] += 1
                    if order >= 1:
                        nh = _heap_push(heap, nh, y[pp] - prog[pp], pp)
                    else:
                        stk[nstk] = pp
                        nstk += 1
                    pp = -1
                    continue
                i = best
                if order != 2:
                    nvh = _h3_pop(vh, nvh)
                running[i] = False
                j = D - base[i]
                tent -= _nb(s[i] + j, B)
                blocks -= _nb(s[i] + j - 1, B)
                cnt[(s[i] - base[i]) % B] -= 1
                SA -= s[i] - base[i]
                nr -= 1
                prog[i] = j
                rdy[i] = False
                stat[8] += s[i] + j
                npre[i] += 1
                stat[1] += 1
                if order >= 1:
                    nh = _heap_push(heap, nh, y[i] - j, i)
                else:
                    stk[nstk] = i
                    nstk += 1
        tok = nr if sched != 0 else 0
        # -- sarathi: the partial prefill continues first ------------------------------
        if sched == 2 and pp >= 0:
            need = s[pp] + prog[pp]
            c = min(need - ppdone, btok - tok)
            if c > 0:
                P += c
                KVp += ppdone + c
                tok += c
                ppdone += c
                if ppdone == need:
                    newl[nnew] = pp
                    nnew += 1
                    pp = -1
        # -- admission ---------------------------------------------------------------
        if not evicted:
            while True:
                inflight = nr + nnew + (1 if pp >= 0 else 0)
                if inflight >= kmax:
                    break
                fromstk = False
                if order >= 1:
                    if nh == 0:
                        break
                    i = int(heap[0, 1])
                elif nstk > 0:
                    i = stk[nstk - 1]
                    fromstk = True
                elif nxt < narr:
                    i = nxt
                else:
                    break
                j = prog[i]
                held = s[i] + j
                need = 0 if rdy[i] else held
                if sched == 2 and need > 0:
                    c = min(need, btok - tok)
                    if c <= 0:
                        break
                else:
                    c = need
                    if tok + (need if need > 0 else 1) > btok:
                        break
                if sched == 3:
                    if reserved + _nb(s[i] + omax, B) > Mb:
                        break
                else:
                    # vllm checks the blocks held now; mixed ones this step's total
                    dd = D + 1 if sched == 0 else D        # the step decoders are at
                    cur = blocks if sched == 0 else tent
                    if cur + _nb(held, B) > Mb:
                        if order != 2 or nr == 0:
                            break
                        rank = y[i] - j
                        short = cur + _nb(held, B) - Mb
                        # ranks at the progress a victim would keep (j = dd − b), so
                        # the victims rank strictly below i in the waiting heap too
                        if not _trail_can_free(vh, nvh, running, ver, base, y, s, tc, dd,
                                               rank, short, B, 1 if sched == 0 else 0):
                            break
                        # Trail: preempt worse-ranked preemptable decoders until it fits
                        while cur + _nb(held, B) > Mb:
                            q, forced, vh, nvh, ph, nph = _trail_victim(
                                vh, nvh, ph, nph, running, ver, base, y, tc, dd, False)
                            if q < 0:
                                break               # cannot happen after _trail_can_free
                            running[q] = False
                            jq = dd - base[q]
                            if sched == 0:
                                blocks -= _nb(s[q] + jq - 1, B)
                                cur = blocks
                            else:
                                tent -= _nb(s[q] + jq, B)
                                blocks -= _nb(s[q] + jq - 1, B)
                                cur = tent
                            cnt[(s[q] - base[q]) % B] -= 1
                            SA -= s[q] - base[q]
                            nr -= 1
                            prog[q] = jq
                            rdy[q] = False
                            stat[8] += s[q] + jq
                            npre[q] += 1
                            stat[1] += 1
                            nh = _heap_push(heap, nh, y[q] - jq, q)
                        if cur + _nb(held, B) > Mb:
                            break
                # admit i
                if order >= 1:
                    nh = _heap_pop(heap, nh)
                elif fromstk:
                    nstk -= 1
                else:
                    nxt += 1
                if admit[i] < 0:
                    admit[i] = now
                if sched == 3:
                    reserved += _nb(s[i] + omax, B)
                if sched == 0:
                    blocks += _nb(held, B)
                else:
                    tent += _nb(held, B)
                if need == 0:
                    extra_d += 1
                    tok += 1
                    KVp += held
                    newl[nnew] = i
                    nnew += 1
                elif c < need:
                    pp = i
                    ppdone = c
                    P += c
                    KVp += c
                    tok += c
                else:
                    P += need
                    KVp += need
                    tok += need
                    newl[nnew] = i
                    nnew += 1
        if sched == 0:
            if nnew > 0:
                decode = False           # a prefill-only iteration
            elif nr > 0:
                decode = True
                D += 1
                r = (1 - D) % B
                tent = blocks + cnt[r]
                while tent > Mb:
                    if order == 2:
                        i, forced, vh, nvh, ph, nph = _trail_victim(
                            vh, nvh, ph, nph, running, ver, base, y, tc, D, True)
                        if forced:
                            stat[10] += 1
                    else:
                        nvh = _h3_clean(vh, nvh, running, ver)
                        i = int(vh[0, 1])
                        nvh = _h3_pop(vh, nvh)
                    running[i] = False
                    j = D - base[i]
                    tent -= _nb(s[i] + j, B)
                    blocks -= _nb(s[i] + j - 1, B)
                    cnt[(s[i] - base[i]) % B] -= 1
                    SA -= s[i] - base[i]
                    nr -= 1
                    prog[i] = j
                    stat[8] += s[i] + j
                    npre[i] += 1
                    stat[1] += 1
                    if order >= 1:
                        nh = _heap_push(heap, nh, y[i] - j, i)
                    else:
                        stk[nstk] = i
                        nstk += 1
                blocks = tent
        else:
            blocks = tent
        if decode:
            nd = nr
        if nd == 0 and nnew == 0 and P == 0:
            waiting = nh > 0 if order >= 1 else (nxt < narr or nstk > 0)
            if waiting or pp >= 0:
                stat[3] = 1               # nothing fits an empty engine: infeasible
                break
            if narr < n:
                now = arr[narr]
                if sched != 0:
                    D -= 1
                continue
            break
        kv = KVp + (SA + D * nd if nd > 0 else 0)
        ndx = nd + extra_d
        tau = _cost(kind, P, ndx, kv, cp, a0, a1, a2, tab)
        if blocks > stat[2]:
            stat[2] = blocks              # peak blocks held during an iteration
        if t_lo <= now < t_hi:
            acc[0] += tau
            acc[1] += blocks * B * tau
            acc[2] += (ndx + nnew - extra_d + (1 if pp >= 0 else 0)) * tau
            acc[3] += 1.0
            acc[4] += kv * tau
            acc[5] += (nr if sched == 0 else nd) * tau   # decoders present (vllm: stalled)
            acc[6] += nd
        now += tau
        iters += 1
        stat[4] += P
        stat[5] += ndx
        stat[6] += nnew - extra_d
        # -- prefills done in this iteration join the decoders ---------------------------
        for q in range(nnew):
            i = newl[q]
            j = prog[i]
            if first[i] < 0:
                first[i] = now
            b = D - j
            base[i] = b
            rdy[i] = False
            if j >= o[i]:
                fin[i] = now
                blocks -= _nb(s[i] + j, B)
                if sched == 3:
                    reserved -= _nb(s[i] + omax, B)
                done += 1
            else:
                ver[i] += 1
                running[i] = True
                ch, nch = _h3_push(ch, nch, float(b + o[i]), float(i), float(ver[i]))
                vkey = -(y[i] + b) if order == 2 else float(-i)
                vh, nvh = _h3_push(vh, nvh, vkey, float(i), float(ver[i]))
                nr += 1
                SA += s[i] - b
                cnt[(s[i] - b) % B] += 1
        # -- decode completions ----------------------------------------------------------
        if decode:
            while nr > 0:
                nch = _h3_clean(ch, nch, running, ver)
                if ch[0, 0] != D:
                    break
                i = int(ch[0, 1])
                nch = _h3_pop(ch, nch)
                running[i] = False
                fin[i] = now
                blocks -= _nb(s[i] + o[i], B)
                if sched == 3:
                    reserved -= _nb(s[i] + omax, B)
                SA -= s[i] - base[i]
                cnt[(s[i] - base[i]) % B] -= 1
                nr -= 1
                done += 1
    stat[0] = iters
    return iters


_kernel = njit(cache=True)(_kernel_py)
_user_kernels = {}


def run_kernel(*args, fn=None):
    """Run the kernel (the built-in linear or table cost), or, with ``fn`` a numba-compiled
    cost function of (P, n_d, K), a copy of it compiled once per function."""
    if fn is None:
        return _kernel(*args)
    if fn not in _user_kernels:
        import types

        @njit
        def user_cost(kind, P, nd, kv, cp, a0, a1, a2, tab):
            return fn(P, nd, kv)

        g = dict(_kernel_py.__globals__)
        g["_cost"] = user_cost
        body = types.FunctionType(_kernel_py.__code__, g, "_kernel_user")
        _user_kernels[fn] = njit(body)
    return _user_kernels[fn](*args)
