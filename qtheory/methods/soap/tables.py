"""Tables of E[W^k 1{W <= u}] over a batch of descriptors: the work of other jobs integrated exactly against their law."""

import numpy as np

from ...core.numerics import piece_kind, piece_nodes
from .levels import _bisect_change
from .rules import _ANTI, _S16, _S32, _W16, _W32, _legval


class _Table:
    """For T weight functions g_t(x) (densities of the work W = x + shift restricted to a
    descriptor): P_k(u) = E[W^k 1{W <= u}], k = 0, 1, 2, at any u, exact to quadrature
    accuracy, plus Gauss nodes to integrate smooth functions of the work."""

    def __init__(self, weight, cuts, shift=0.0, anti=True):
        # cuts: (T, K+1) sorted, may repeat; last may be inf. Without ``anti`` P_k is
        # known only at the cuts (enough when every needed end is a cut).
        cuts = np.asarray(cuts, float)
        self.cuts, self.shift = cuts, float(shift)
        a, b = cuts[:, :-1], cuts[:, 1:]
        self.kind, self.a, self.b = piece_kind(a, b), a, b
        x32, j32 = piece_nodes(a, b, _S32)
        x16, j16 = piece_nodes(a, b, _S16)
        with np.errstate(all="ignore"):
            g32 = np.nan_to_num(weight(x32) * j32, nan=0.0, posinf=0.0)
            g16 = np.nan_to_num(weight(x16) * j16, nan=0.0, posinf=0.0)
        w32, w16 = x32 + self.shift, x16 + self.shift
        mom32 = np.stack([g32, g32 * w32, g32 * w32 * w32])      # (3, T, K, 32)
        mom16 = np.stack([g16, g16 * w16, g16 * w16 * w16])
        q32 = mom32 @ (_W32 / 2)
        q16 = mom16 @ (_W16 / 2)
        self.anti = np.einsum("...q,nq->...n", mom32, _ANTI) if anti else None
        self.piece = q32
        self.cum = np.concatenate([np.zeros(q32.shape[:-1] + (1,)), np.cumsum(q32, -1)], -1)
        self.total = self.cum[..., -1]
        self.error = np.abs(q32 - q16).sum(-1)
        if anti:
            self.error = self.error + np.abs(self.anti[..., -3:]).sum((-1, -2))
        self.nodes = (w32, (_W32 / 2) * g32, w16, (_W16 / 2) * g16)

    def P(self, rows, u):
        """(3, K, J): P_k at works ``u`` (K, J) for tables ``rows`` (K,)."""
        x = np.asarray(u, float) - self.shift
        cuts = self.cuts[rows]                                   # (K, C)
        idx = (cuts[:, None, :] <= x[:, :, None]).sum(-1) - 1    # (K, J)
        below = idx < 0
        npieces = cuts.shape[1] - 1
        idx = np.clip(idx, 0, npieces - 1)
        r2 = np.broadcast_to(rows[:, None], idx.shape)
        if self.anti is None:
            out = np.where(below, 0.0, self.cum[:, r2, idx])
            return np.where(np.isinf(x), self.total[:, rows][:, :, None], out)
        a, b, kind = self.a[r2, idx], self.b[r2, idx], self.kind[r2, idx]
        with np.errstate(all="ignore"):
            s = np.select([kind == 0, kind == 1, kind == 2],
                          [(x - a) / (b - a), np.log(x / a) / np.log(b / a), np.sqrt(x / b)],
                          a / x)
        s = np.clip(np.nan_to_num(s, nan=1.0, posinf=1.0), 0.0, 1.0)
        s = np.where(kind == 3, s, s)
        anti = self.anti[:, r2, idx]                              # (3, K, J, 33)
        inside = _legval(2 * s - 1, anti)
        # for the infinite piece the antiderivative runs from x = inf (s = 0) to x (s)
        part = np.where(kind == 3, self.piece[:, r2, idx] - inside, inside)
        out = self.cum[:, r2, idx] + part
        out = np.where(below, 0.0, out)
        return np.where(np.isinf(x), self.total[:, rows][:, :, None], out)


class _DiscreteTable:
    """The same interface for a discrete size law (atoms ``xs`` with weights per table)."""

    def __init__(self, xs, weights, shift=0.0):
        self.xs, self.shift = np.asarray(xs, float), float(shift)
        w = np.asarray(weights, float)                            # (T, A)
        wk = self.xs + self.shift
        mom = np.stack([w, w * wk, w * wk * wk])
        self.cum = np.concatenate([np.zeros(mom.shape[:-1] + (1,)), np.cumsum(mom, -1)], -1)
        self.total = self.cum[..., -1]
        self.error = np.zeros(self.total.shape)
        T = w.shape[0]
        self.nodes = (np.broadcast_to(wk, w.shape)[:, None, :], w[:, None, :]) * 2
        self.cuts = np.broadcast_to(self.xs, (T, self.xs.size))

    def P(self, rows, u):
        i = np.searchsorted(self.xs + self.shift, u, side="right")
        return self.cum[:, rows[:, None], i]


def _moments(tab, rows, n, c0, B, Cr):
    """E over the table's work law of (new work, first old interval, sum of squared old
    intervals) for level sets of K rows. P_k is looked up only at finite positive ends
    (at 0 it vanishes, at infinity it is the total)."""
    K, Pn = B.shape
    ends = np.concatenate([n[:, None], c0[:, None], np.where(np.isfinite(B), B, 0.0),
                           np.where(np.isfinite(B), Cr, 0.0)], 1)        # (K, 2 + 2P)
    tot = tab.total[:, rows]                                            # (3, K)
    Pk = np.zeros((3,) + ends.shape)
    Pk[:, np.isinf(ends)] = np.broadcast_to(tot[:, :, None], Pk.shape)[:, np.isinf(ends)]
    need = np.isfinite(ends) & (ends > 0)
    if need.any():
        r_idx, c_idx = np.nonzero(need)
        Pk[:, r_idx, c_idx] = tab.P(rows[r_idx], ends[r_idx, c_idx][:, None])[:, :, 0]

    def emin(j):
        u = ends[:, j]
        with np.errstate(invalid="ignore"):
            val = Pk[1, :, j] + u * (tot[0] - Pk[0, :, j])
        return np.where(np.isinf(u), tot[1], val)

    new, old0 = emin(0), emin(1)
    ok = np.isfinite(B)
    b, c = ends[:, 2:2 + Pn], ends[:, 2 + Pn:]
    Pb, Pc = Pk[:, :, 2:2 + Pn], Pk[:, :, 2 + Pn:]
    with np.errstate(invalid="ignore"):
        inner = (Pc[2] - Pb[2]) - 2 * b * (Pc[1] - Pb[1]) + b * b * (Pc[0] - Pb[0])
        tail = np.where(np.isinf(c), 0.0, (c - b) ** 2 * (tot[0][:, None] - Pc[0]))
    sq = np.where(ok & (c > b), inner + tail, 0.0).sum(1)
    return new, old0, sq


def _samples(a, b):
    """The points :func:`split_points` scans: each piece's 32 Gauss nodes, then the
    pieces' starts and ends."""
    x32, _ = piece_nodes(a, b, _S32)
    return np.concatenate([x32.ravel(), a, np.where(np.isfinite(b), b, a)])


def split_points(a, b, R, signature, iters=64, sig=None):
    """Where the level-set signature changes inside the pieces [a_j, b_j], for R
    thresholds: ``signature(x, i)`` gives the signatures (K, L) of points x paired with
    threshold indices i (``sig``: those at the :func:`_samples`, if already known). Scans
    each piece at its 32 Gauss nodes and ends, then bisects every change (``iters``
    times). Returns (threshold i, piece j, point) arrays."""
    Np = len(a)
    x32, _ = piece_nodes(a, b, _S32)
    xs = _samples(a, b)
    K = xs.size
    if sig is None:
        sig = signature(np.tile(xs, R), np.repeat(np.arange(R), K))
    sig = sig.reshape(R, K, -1)
    # per piece, its sample points in increasing x: a, nodes, b
    order = np.argsort(x32, axis=1)
    samp = np.concatenate([(Np * 32 + np.arange(Np))[:, None],
                           np.arange(Np)[:, None] * 32 + order,
                           (Np * 33 + np.arange(Np))[:, None]], 1)
    pos = xs[samp]
    sg = sig[:, samp]                                        # (R, Np, 34, L)
    change = np.any(sg[:, :, 1:] != sg[:, :, :-1], axis=3)   # (R, Np, 33)
    change &= pos[None, :, 1:] > pos[None, :, :-1]
    i, j, g = np.nonzero(change)
    if i.size == 0:
        return i, j, np.zeros(0)
    hi = _bisect_change(pos[j, g], pos[j, g + 1], sg[i, j, g], lambda y: signature(y, i), iters)
    return i, j, hi


def _split_integrate(a, b, R, both, iters=64):
    """Integrals over x of val_fn for R thresholds, on the pieces [a_j, b_j], each piece
    split wherever the level-set signature changes (:func:`split_points`).

    ``both(x, i)`` gives (3, K) integrand values (density included) at points x paired
    with threshold indices i and their signatures (K, L). Returns (3, R)."""
    Np = len(a)
    _, j32 = piece_nodes(a, b, _S32)
    xs = _samples(a, b)
    vals, sig = both(np.tile(xs, R), np.repeat(np.arange(R), xs.size))
    vals = vals.reshape(3, R, xs.size)
    res = (vals[:, :, :Np * 32].reshape(3, R, Np, 32) * (j32 * _W32 / 2)).sum(-1)
    i, j, hi = split_points(a, b, R, lambda x, ii: both(x, ii)[1], iters, sig)
    if i.size == 0:
        return res.sum(-1)
    # sub-pieces of every broken (threshold, piece)
    subs_i, subs_j, sa, sb = [], [], [], []
    for (ti, pj) in sorted(set(zip(i.tolist(), j.tolist()))):
        sel = (i == ti) & (j == pj)
        edges = [a[pj], *sorted(hi[sel].tolist()), b[pj]]
        for u, v in zip(edges[:-1], edges[1:]):
            if v > u:
                subs_i.append(ti); subs_j.append(pj); sa.append(u); sb.append(v)
        res[:, ti, pj] = 0.0
    subs_i = np.array(subs_i)
    sx, sj = piece_nodes(np.array(sa), np.array(sb), _S32)
    sv = both(sx.ravel(), np.repeat(subs_i, 32))[0].reshape(3, len(sa), 32)
    contrib = (sv * (sj * _W32 / 2)).sum(-1)
    np.add.at(res, (slice(None), subs_i, np.array(subs_j)), contrib)
    return res.sum(-1)
