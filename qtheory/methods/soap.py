"""The generic SOAP engine (``method="soap"``): mean response times of any policy given
by its rank function, from the SOAP theorem (Scully, Harchol-Balter, Scheller-Wolf 2018,
arXiv 1712.00790, Theorem 5.5; MATH.md section 3).

For a tagged job with descriptor d and work w, with r = r_worst(0),

    E[T_d(w)] = lambda sum_i E[(X_i^old[r])^2] / (2 (1 - rho_0^old[r]) (1 - rho^new[r]))
              + int_0^w da / (1 - rho^new[r_worst(a)]).

How it is evaluated
-------------------
* **Rank profiles.** For each descriptor the rank, as a function of age, is a list of
  *linear pieces* ``[s, e)`` (a piece with ``s == e`` is the single age ``s``, e.g. the
  rank of SJF at age 0), each with a class (the first component of a pair rank) and a
  value ``v + m (a - s)``. Catalogue policies give their pieces exactly
  (:func:`rank_pieces`); a policy may expose ``rank_pieces(d)`` itself; any other rank
  function (``qt.Rank(fn)``) is sampled on a dyadic age grid and split where it is not
  linear, jumps being bracketed and bisected to machine precision. Level sets
  {a : r(d, a) <= r} of linear pieces are then exact.
* **Other jobs.** For a threshold r the new work, the first old interval and the sum of
  squared old intervals of a job are explicit functions of its work with kinks at the
  level-set ends; they are integrated against the law of the work exactly through
  per-descriptor tables of E[W^k 1{W <= u}] (Legendre antiderivatives on Gauss pieces).
  For a continuous prediction Y the outer integral over y is split where the level-set
  structure changes (found by bisection in y).
* **Tagged job.** The worst future rank r_worst(a) is a suffix maximum of the profile:
  flat or following a linear piece. Flat parts cost one value of
  h(r) = 1 / (1 - rho^new[r]); sloped parts need the integral of h over a range of
  ranks, taken from an adaptive piecewise-Legendre interpolant of h with its exact
  antiderivative. The interpolant is cut where N(r) kinks (the ranks of the smallest
  descriptor and of class thresholds), and each piece is probed just inside its ends,
  where a kink beyond the outermost node would leave the node values smooth.

Nothing here calls :mod:`qtheory.methods.formula` (independent witness, DESIGN.md section 1).
"""

import math
from functools import lru_cache

import numpy as np
from numba import njit
from numpy.polynomial import legendre as _leg

from ..policies.base import as_policy
from ..core.errors import ConvergenceError, ParameterError, PolicyError
from ..laws.predictions import Perfect
from ..core.result import Result
from ..laws.grid import size_cuts
from ..policies.pieces import INF, Profile, as_key, discover_pieces, stack_rows

INF = math.inf

# Gauss-Legendre rules on [-1, 1] and the matrices that turn 32 node values into the
# Legendre coefficients of the interpolant and of its antiderivative from -1.
_T32, _W32 = _leg.leggauss(32)
_T16, _W16 = _leg.leggauss(16)
_T8, _W8 = _leg.leggauss(8)
_V32 = _leg.legvander(_T32, 31)                       # P_n(t_i)
_PROJ = (_V32 * _W32[:, None]).T * ((2 * np.arange(32) + 1) / 2)[:, None]
_INT = _leg.legint(np.eye(32), lbnd=-1)               # (33, 32)
_ANTI = 0.5 * _INT @ _PROJ                            # values -> antiderivative in s in [0, 1]
_S32, _S16 = (_T32 + 1) / 2, (_T16 + 1) / 2

#: Relative tolerance of the rank-space interpolants of 1 / (1 - rho^new[r]).
INTERP_RTOL = 1e-11
#: Where an interpolant's pieces are probed for kinks its nodes cannot see (fraction of
#: the piece from each end).
_EDGE = 1e-6


def _legval(t, c):
    """Sum_n c[..., n] P_n(t), vectorised (``t`` shape S, ``c`` shape S + (n,))."""
    p0, p1 = np.ones_like(t), t
    out = c[..., 0] * p0 + c[..., 1] * p1
    for n in range(1, c.shape[-1] - 1):
        p0, p1 = p1, ((2 * n + 1) * t * p1 - n * p0) / (n + 1)
        out = out + c[..., n + 1] * p1
    return out


# ======================================================================================
# rank profiles
# ======================================================================================
def _piece_values(pr):
    """The finite values a profile's rank takes at its piece ends (sorted, distinct)."""
    with np.errstate(invalid="ignore"):
        ends = pr.V + pr.M * (pr.E - pr.S)
    vals = np.concatenate([pr.V.ravel(), ends.ravel()])
    return np.unique(vals[np.isfinite(vals)])



# ======================================================================================
# level sets
# ======================================================================================
def levels(pr, rc, rv):
    """Level sets of profiles ``pr`` (K rows) at thresholds (rc, rv) (K,).

    Returns ``n`` = inf{a : r(a) >= r}, ``c0`` = inf{a : r(a) > r}, the maximal intervals
    [B, C) of {a : r(a) <= r} (arrays (K, P), NaN where unused) and a signature (K, P)
    of integer codes that is constant while the structure of the level sets is.
    """
    S, E, C, V, M = pr.S, pr.E, pr.C, pr.V, pr.M
    rc, rv = np.asarray(rc, float)[:, None], np.asarray(rv, float)[:, None]
    lt, gt = C < rc, C > rc
    eq = ~lt & ~gt
    point = E == S
    with np.errstate(invalid="ignore", divide="ignore"):
        dec, inc = eq & (M < 0) & ~point, eq & (M > 0) & ~point
        flat = eq & ~dec & ~inc
        astar = np.where(dec, S + (V - rv) / np.where(dec, -M, 1.0),
                         np.where(inc, S + (rv - V) / np.where(inc, M, 1.0), np.nan))
        # {r(a) >= r}: its first age; {r(a) > r}: its first age
        g_first = np.where(gt | (flat & (V >= rv)) | (dec & (V >= rv)), S,
                           np.where(inc & (astar < E), np.maximum(S, astar), INF))
        gs_first = np.where(gt | (flat & (V > rv)) | (dec & (V > rv)), S,
                            np.where(inc & (astar < E), np.maximum(S, astar), INF))
        # {r(a) <= r} within the piece: [lo, hi)
        in_l = lt | (flat & (V <= rv)) | (dec & (astar < E)) | (inc & (V <= rv))
        lo = np.where(dec, np.maximum(S, astar), S)
        hi = np.where(inc, np.minimum(astar, E), E)
        starts = lt | flat | (dec & (astar <= S)) | inc
        ends = lt | flat | dec | (inc & (astar >= E))
    n = g_first.min(axis=1)
    c0 = gs_first.min(axis=1)
    K, Pn = S.shape
    B = np.full((K, Pn), np.nan)
    Cr = np.full((K, Pn), np.nan)
    open_ = np.zeros(K, bool)
    cur_b = np.zeros(K)
    cur_c = np.zeros(K)
    slot = np.zeros(K, int)
    rows = np.arange(K)
    for p in range(Pn):
        il = in_l[:, p]
        connect = open_ & il & starts[:, p]
        close = open_ & ~connect
        B[rows[close], slot[close]] = cur_b[close]
        Cr[rows[close], slot[close]] = cur_c[close]
        slot = slot + close
        new = il & ~connect
        cur_b = np.where(new, lo[:, p], cur_b)
        cur_c = np.where(il, hi[:, p], cur_c)
        open_ = il & ends[:, p]
        # a run that does not reach the end of its piece closes here
        shut = il & ~ends[:, p]
        B[rows[shut], slot[shut]] = cur_b[shut]
        Cr[rows[shut], slot[shut]] = cur_c[shut]
        slot = slot + shut
    B[rows[open_], slot[open_]] = cur_b[open_]
    Cr[rows[open_], slot[open_]] = cur_c[open_]
    with np.errstate(invalid="ignore"):
        pos = np.where(dec | inc, np.select([astar < S, astar == S, astar < E, astar == E],
                                            [0, 1, 2, 3], 4), np.sign(V - rv) + 6)
    sig = np.where(lt, 10, np.where(gt, 20, 30 + np.nan_to_num(pos, nan=9))).astype(int)
    return n, c0, B, Cr, sig


def _job_quantities(w, n, c0, B, Cr):
    """Per-job new work, first old interval and sum of squared old intervals for works
    ``w`` (K, Q) and level sets of K rows."""
    new = np.minimum(w, n[:, None])
    old0 = np.minimum(w, c0[:, None])
    sq = np.zeros_like(w)
    for i in range(B.shape[1]):
        b, c = B[:, i:i + 1], Cr[:, i:i + 1]
        ok = np.isfinite(b)
        seg = np.where(ok, np.minimum(np.where(ok, c, 0), w) - np.minimum(np.where(ok, b, 0), w), 0.0)
        sq += seg * seg
    return new, old0, sq


# ======================================================================================
# tables of E[W^k 1{W <= u}] for a batch of descriptors
# ======================================================================================
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
        self.kind, self.a, self.b = _piece_kind(a, b), a, b
        x32, j32 = _map(a, b, _S32)
        x16, j16 = _map(a, b, _S16)
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


# ======================================================================================
# the job population
# ======================================================================================
def _piece_kind(a, b):
    """How pieces [a, b] are mapped from s in (0, 1): 0 linear; 1 x = a (b/a)^s (wide
    pieces, b >= 2a > 0: exact for powers of x); 2 x = b s^2 (pieces from 0: absorbs
    x^(-1/2)); 3 x = a / s (infinite pieces)."""
    kind = np.zeros(np.shape(a), int)
    kind[(a > 0) & (b >= 2 * a) & np.isfinite(b)] = 1
    kind[(a == 0) & (b > 0) & np.isfinite(b)] = 2
    kind[~np.isfinite(b)] = 3
    return kind


def _map(a, b, s):
    """Gauss nodes of pieces [a, b] (arrays of any shape) at s in (0, 1) (see
    :func:`_piece_kind`): x (shape + (len(s),)) and dx/ds."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    kind = _piece_kind(a, b)[..., None]
    a, b = a[..., None], b[..., None]
    with np.errstate(all="ignore"):
        lin = a + (b - a) * s
        lg = a * (b / a) ** s
        x = np.select([kind == 0, kind == 1, kind == 2], [lin, lg, b * s * s], a / s)
        jac = np.select([kind == 0, kind == 1, kind == 2],
                        [b - a + 0 * s, lg * np.log(b / a), 2 * b * s], a / (s * s))
    return np.where(np.isfinite(x), x, 0.0), np.where(np.isfinite(jac), jac, 0.0)


def _bisect_change(lo, hi, ref, signature, iters=64):
    """Where ``signature(y)`` (rows) first differs from ``ref`` between ``lo`` and ``hi``,
    with ``signature(lo) == ref`` and ``signature(hi) != ref``: ``iters`` bisections (64:
    the returned upper ends are the change points to rounding)."""
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        same = np.all(signature(mid) == ref, axis=1)
        lo, hi = np.where(same, mid, lo), np.where(same, hi, mid)
    return hi


#: Position weights of :func:`_code`: two independent sets of odd integers below 2^40
#: (codes below 64 over at most 4096 positions keep every sum below 2^58, exact).
_CODE_WEIGHTS = 2 * np.random.default_rng(20261128).integers(1, 2**39, (4096, 2)) + 1


def _code(codes, real):
    """Two integers per row for small non-negative integer ``codes`` (K, L), only where
    ``real``: the same for rows whose real columns agree, whatever the padding (rows of
    different widths compare). Rows that differ get the same pair with probability
    about 2^-80 (independent random weights), where a missed split would follow."""
    c = np.where(real, codes + 1, 0).astype(np.int64)
    return c @ _CODE_WEIGHTS[:c.shape[1]]


def _split_integrate(a, b, R, both, iters=64):
    """Integrals over x of val_fn for R thresholds, on the pieces [a_j, b_j], each piece
    split wherever the level-set signature changes (located by vectorised bisection).

    ``both(x, i)`` gives (3, K) integrand values (density included) at points x paired
    with threshold indices i and their signatures (K, L). Returns (3, R)."""
    Np = len(a)
    x32, j32 = _map(a, b, _S32)
    xs = np.concatenate([x32.ravel(), a, np.where(np.isfinite(b), b, a)])
    K = xs.size
    ii = np.repeat(np.arange(R), K)
    xx = np.tile(xs, R)
    vals, sig = both(xx, ii)
    vals, sig = vals.reshape(3, R, K), sig.reshape(R, K, -1)
    res = (vals[:, :, :Np * 32].reshape(3, R, Np, 32) * (j32 * _W32 / 2)).sum(-1)
    # per piece, its sample points in increasing x: a, nodes, b
    order = np.argsort(x32, axis=1)
    samp = np.concatenate([(Np * 32 + np.arange(Np))[:, None],
                           np.arange(Np)[:, None] * 32 + order,
                           (Np * 33 + np.arange(Np))[:, None]], 1)
    pos = xs[samp]
    sg = sig[:, samp]                                        # (R, Np, 34, L)
    change = np.any(sg[:, :, 1:] != sg[:, :, :-1], axis=3)   # (R, Np, 33)
    change &= pos[None, :, 1:] > pos[None, :, :-1]
    br = np.argwhere(change)
    if br.size == 0:
        return res.sum(-1)
    i, j, g = br[:, 0], br[:, 1], br[:, 2]
    hi = _bisect_change(pos[j, g], pos[j, g + 1], sg[i, j, g], lambda y: both(y, i)[1], iters)
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
    sx, sj = _map(np.array(sa), np.array(sb), _S32)
    sv = both(sx.ravel(), np.repeat(subs_i, 32))[0].reshape(3, len(sa), 32)
    contrib = (sv * (sj * _W32 / 2)).sum(-1)
    np.add.at(res, (slice(None), subs_i, np.array(subs_j)), contrib)
    return res.sum(-1)


class _Component:
    """Part of the job population: jobs with weight w(x) f(x) dx, work x + shift, and a
    descriptor that is fixed (``kind="fixed"``), the size (``"size"``) or a continuous
    prediction y with density h(y | x) (``"cond"``)."""

    def __init__(self, kind, weight=None, shift=0.0, fixed=0.0, part=0, jumps=()):
        self.kind, self.weight, self.shift, self.fixed = kind, weight, float(shift), fixed
        self.part, self.jumps = part, tuple(jumps)


def _distinct(c, v):
    """Distinct rank levels (c, v) (a (2, m) array, sorted) and the index of each input."""
    c, v = np.ravel(np.asarray(c, float)), np.ravel(np.asarray(v, float))
    if c.size and np.all(c == c[0]):          # one class: sort the values alone
        u, inv = np.unique(v, return_inverse=True)
        return np.stack([np.full(u.size, c[0]), u]), inv.ravel()
    z = np.empty(v.size, complex)             # (class, value) pairs, sorted fast
    z.real, z.imag = c, v
    z, inv = np.unique(z, return_inverse=True)
    return np.stack([z.real, z.imag]), inv.ravel()


class Engine:
    """The SOAP theorem for one queue and one policy (see the module docstring)."""

    def __init__(self, q, policy, y_pieces=None):
        if q.symbolic:
            raise ParameterError("method='soap' needs numbers: build the queue with numeric "
                                 "arrival_rate and size-law parameters (or use 'symbolic').")
        self.q, self.policy = q, policy
        self.lam = float(q.arrival_rate)
        self.size = q.size
        self.pred = q.prediction
        self.components = self._components()
        self.a_max = self._a_max()
        self._cache = {}
        self.errors = []
        self._y_pieces = y_pieces
        self._fast = {}
        self._interp = {}
        self._rank_values = {}

    # -- population ------------------------------------------------------------------------
    def _components(self):
        """The policy's parts of the job population, each with the kind of descriptor its
        jobs have: fixed (a bit, a cell, or none), the size itself, or a continuous y."""
        p, pred = self.policy, self.pred
        desc = p.descriptor
        sees_size = desc == "size" or (desc == "prediction" and (pred is None
                                                                  or isinstance(pred, Perfect)))
        out = []
        for k, part in enumerate(p.parts(pred)):
            if part.fixed is not None or desc not in ("size", "prediction"):
                kind = "fixed"
            else:
                kind = "size" if sees_size else "cond"
            out.append(_Component(kind, part.weight, part.shift, fixed=part.fixed or 0.0,
                                  part=k, jumps=part.jumps))
        return out

    def _a_max(self):
        lo, hi = self.size.support
        if math.isfinite(hi):
            top = hi
        else:
            cuts = [c for c in size_cuts(self.size) if math.isfinite(c)]
            top = 4 * cuts[-1] if cuts else 100 * self.size.scale
        return top + max((c.shift for c in self.components), default=0.0)

    def profile(self, comp, d):
        """Rank pieces of descriptors ``d`` (array) in component ``comp``."""
        d = np.atleast_1d(np.asarray(d, float))
        pr = self.policy.profile(d, comp.part)
        if pr is not None:
            return pr
        fn = self.policy.rank
        if fn is None:
            raise PolicyError(f"{self.policy.name} has no rank function: it is not a SOAP policy.")
        unit = 2.0 ** round(math.log2(max(self.size.scale, 1e-300)))
        desc = self.policy.descriptor
        cache = self._cache.setdefault(("profiles", id(comp)), {})
        todo = sorted({v for v in map(float, d) if v not in cache})
        if todo:
            dd = None if desc is None else np.array(todo, int if desc == "bit" else float)
            found = discover_pieces(fn, dd, self.a_max, unit)
            for i, key in enumerate(todo):
                r = 0 if dd is None else i  # without a descriptor: one profile for all
                real = np.isfinite(found.S[r])
                cache[key] = [z[r][real] for z in (found.S, found.E, found.C, found.V, found.M)]
        pieces = [cache[v] for v in map(float, d)]
        row = np.repeat(np.arange(d.size), [p[0].size for p in pieces])
        return stack_rows(d.size, row, *(np.concatenate(z) for z in zip(*pieces)))

    def _weight(self, comp):
        f = self.size.pdf
        if comp.weight is None:
            return f
        return lambda x: f(x) * comp.weight(x)

    def _table(self, comp, ys=None, extra=None, anti=True):
        """Tables for component ``comp`` (one per descriptor in ``ys`` for "cond")."""
        X = self.size
        if X.discrete:
            xs = X.values
            w = X.weights * (1.0 if comp.weight is None else np.asarray(comp.weight(xs), float))
            if comp.kind == "cond":
                h = self.pred
                w = w[None, :] * np.asarray(h.pdf(np.asarray(ys)[:, None], xs[None, :]), float)
            else:
                w = w[None, :]
            return _DiscreteTable(xs, w, comp.shift)
        base = size_cuts(X) + list(comp.jumps)
        lo, hi = X.support
        T = 1 if ys is None else len(ys)
        rows = []
        for t in range(T):
            pts = set(base)
            if ys is not None:
                y = float(ys[t])
                if y > 0:
                    pts.update(y * 4.0 ** np.arange(-3, 3))
                    pts.update(self.pred.kinks(y))
            if extra is not None:
                pts.update(float(v) - comp.shift for v in np.ravel(extra[t]) if np.isfinite(v))
            rows.append(sorted(p for p in pts if lo <= p <= hi))
        width = max(len(r) for r in rows)
        cuts = np.array([r + [r[-1]] * (width - len(r)) for r in rows])
        wfn = self._weight(comp)
        if comp.kind == "cond":
            h = self.pred
            yy = np.asarray(ys, float)

            def weight(x):
                shape = x.shape
                yb = yy.reshape((-1,) + (1,) * (x.ndim - 1))
                return np.asarray(wfn(x), float) * np.asarray(h.pdf(yb, x), float).reshape(shape)
        else:
            def weight(x):
                return np.asarray(wfn(x), float)
        return _Table(weight, cuts, comp.shift, anti)

    # -- the y grid of a continuous prediction ---------------------------------------------
    def y_cuts(self, comp):
        key = ("ycuts", id(comp))
        if key in self._cache:
            return self._cache[key]
        X, h = self.size, self.pred
        tab = self._table(_Component("fixed", comp.weight), None)
        xs, wx = tab.nodes[0][0].ravel(), tab.nodes[1][0].ravel()
        ys = X.scale * np.logspace(-14, 8, 1500)
        F = np.array([np.dot(wx, h.cdf(y, xs)) for y in ys]) / max(wx.sum(), 1e-300)
        S = 1 - F
        head = np.interp(-np.arange(1, 12) * np.log(16.0), np.log(np.maximum(F, 1e-300)), ys,
                         left=np.nan, right=np.nan)
        tail = np.interp(np.arange(1, 15) * np.log(8.0), -np.log(np.maximum(S, 1e-300)), ys,
                         left=np.nan, right=np.nan)
        n_mid = self._y_pieces or 12
        mid = np.interp(np.linspace(0, 1, n_mid + 1)[1:-1], F, ys)
        pts = {0.0, *head[np.isfinite(head)], *tail[np.isfinite(tail)], *mid}
        alpha = getattr(h, "alpha", None)
        if alpha is not None:  # the density of Y has kinks at (1 +- alpha) x for x at kinks of f
            for s in (X.support[0], X.support[1], *X.breakpoints):
                if 0 < s < INF:
                    pts.update({(1 - alpha) * s, (1 + alpha) * s})
        # the rank jumps in y at the policy's class thresholds, and so does the tagged
        # job's response time: a Gauss piece across a jump is off by ~1e-4
        pts.update(self.policy.jumps())
        gone = np.flatnonzero(S <= 0)
        top = ys[gone[0]] if gone.size else INF
        pts = sorted(p for p in pts if 0 <= p < top)
        cuts = np.array(pts + [INF])
        self._cache[key] = cuts
        return cuts

    # -- exact threshold functions --------------------------------------------------------
    def exact(self, rc, rv):
        """(N, O0, S): E[X^new[r]], E[X_0^old[r]] and sum_i E[(X_i^old[r])^2] at thresholds
        r = (rc, rv) (arrays), over the whole job population."""
        (rc, rv), inv = _distinct(rc, rv)
        return sum(self._population(comp, rc, rv) for comp in self.components)[:, inv]

    def _population(self, comp, rc, rv):
        """The contribution of component ``comp`` to :meth:`exact`: from its interpolants
        (:meth:`prepare`) away from its own rank values, else exactly (each distinct
        threshold computed once per engine)."""
        out = np.zeros((3, rc.size))
        done = np.zeros(rc.size, bool)
        for cls, (ip, special) in self._interp.get(id(comp), {}).items():
            sel = (rc == cls) & (rv > ip.lo) & (rv < ip.hi) & ~np.isin(rv, special)
            if sel.any():
                out[:, sel] = ip(rv[sel])
                done |= sel
        if done.all():
            return out
        pairs, inv = _distinct(rc[~done], rv[~done])
        cache = self._cache.setdefault(("exact", id(comp)), {})
        keys = list(zip(*pairs.tolist()))
        vals = np.array([cache.get(k, (np.nan,) * 3) for k in keys], float).reshape(-1, 3).T
        todo = np.flatnonzero(np.isnan(vals[0]))
        for lo in range(0, todo.size, 256):
            sl = todo[lo:lo + 256]
            vals[:, sl] = self._exact_comp(comp, pairs[0, sl], pairs[1, sl])
        for i in todo:
            cache[keys[i]] = vals[:, i]
        out[:, ~done] = vals[:, inv]
        return out

    def fast(self, comp):
        """The closed-form-in-y path of a continuous-prediction component, or None."""
        if comp.kind != "cond":
            return None
        if id(comp) not in self._fast:
            self._fast[id(comp)] = _AffineCond.of(self, comp)
        return self._fast[id(comp)]

    def _exact_comp(self, comp, rc, rv):
        R = rc.size
        fast = self.fast(comp)
        if fast is not None:
            return fast.population(rc, rv)
        if comp.kind == "fixed":
            tab = self._fixed_table(comp)
            pr = self._fixed_profile(comp)
            prR = pr.take(np.zeros(R, int))
            n, c0, B, Cr, _ = levels(prR, rc, rv)
            return np.array(_moments(tab, np.zeros(R, int), n, c0, B, Cr))
        if comp.kind == "size":
            return self._exact_size(comp, rc, rv)
        return self._exact_cond(comp, rc, rv)

    def _fixed_profile(self, comp):
        key = ("fprof", id(comp))
        if key not in self._cache:
            pr = self.profile(comp, [comp.fixed])
            self._cache[key] = pr
            # N(r) has kinks at the values the rank takes at piece ends: interpolant cuts
            self._rank_values[id(comp)] = _piece_values(pr)
        return self._cache[key]

    def rank_values(self):
        """The values the fixed components' ranks take at piece ends (sorted): where the
        population functions may have kinks or jumps."""
        vals = list(self._rank_values.values())
        return np.unique(np.concatenate(vals)) if vals else np.zeros(0)

    def kink_values(self):
        """:meth:`rank_values` and, for components with a size or prediction descriptor,
        the values their ranks take at its lower end (0) and at the policy's thresholds:
        N(r) has a kink where r crosses the rank of the smallest descriptor (SPRPT: no
        new work below rank 0, linear growth above). A rank-space interpolant must be cut
        there: a kink closer to a piece's end than its outermost node is invisible to
        the piece's error estimate."""
        if "kinks" not in self._cache:
            d = np.array([0.0, *self.policy.jumps()])
            vals = [np.zeros(0)]
            for comp in self.components:
                if comp.kind != "fixed":
                    try:
                        vals.append(_piece_values(self.profile(comp, d)))
                    except (ArithmeticError, ValueError, PolicyError):
                        pass  # a user's rank undefined at descriptor 0: no known kinks
            self._cache["kinks"] = np.unique(np.concatenate(vals))
        return np.union1d(self.rank_values(), self._cache["kinks"])

    def _fixed_table(self, comp):
        key = ("ftab", id(comp))
        if key not in self._cache:
            pr = self._fixed_profile(comp)
            self._cache[key] = self._table(comp, None, extra=self._critical(pr))
            self.errors.append(float(np.max(self._cache[key].error)))
        return self._cache[key]

    def _critical(self, pr):
        """Ages where a level-set or suffix-maximum structure can change: piece ends and the
        ages where a rising piece reaches the start or end value of an earlier piece."""
        S, E, C, V, M = (z[:, :, None, None] for z in (pr.S, pr.E, pr.C, pr.V, pr.M))
        with np.errstate(all="ignore"):
            lv = np.stack([pr.V, pr.V + pr.M * (pr.E - pr.S)], -1)[:, None, :, :]
            a = S + (lv - V) / M                                     # (n, p, q, 2)
            Pn = pr.S.shape[1]
            earlier = np.tril(np.ones((Pn, Pn), bool), -1)[None, :, :, None]
            ok = (M > 0) & earlier & (C == pr.C[:, None, :, None]) & (a > S) & (a < E)
        a = np.where(ok, a, np.nan).reshape(pr.S.shape[0], -1)
        a = a[:, ~np.all(np.isnan(a), axis=0)]
        return np.concatenate([pr.breakpoints(), a], axis=1)

    # size-descriptor population: descriptor = x, integrated directly over x
    def _size_nodes(self, comp):
        key = ("snodes", id(comp))
        if key not in self._cache:
            X = self.size
            if X.discrete:
                xs = X.values
                w = X.weights * (1.0 if comp.weight is None else np.asarray(comp.weight(xs), float))
                self._cache[key] = ("discrete", xs, w)
            else:
                cuts = np.array(sorted(set(size_cuts(X)) | set(comp.jumps)))
                self._cache[key] = ("continuous", cuts)
        return self._cache[key]

    def _exact_size(self, comp, rc, rv):
        nodes = self._size_nodes(comp)
        if nodes[0] == "discrete":
            xs, w = nodes[1], nodes[2]
            R, A = rc.size, xs.size
            vals, _ = self._size_pairs(comp, np.tile(xs, R), np.repeat(rc, A), np.repeat(rv, A))
            return vals.reshape(3, R, A) @ w
        cuts = nodes[1]
        wfn = self._weight(comp)

        def both(x, i):
            v, sg = self._size_pairs(comp, x, rc[i], rv[i])
            # nodes of empty pieces sit at x = 0, where a density may be infinite
            # (Gamma(1/2)); they carry nothing
            with np.errstate(invalid="ignore"):
                return np.where(v == 0, 0.0, v * np.asarray(wfn(x), float)), sg
        return _split_integrate(cuts[:-1], cuts[1:], rc.size, both)

    def _size_pairs(self, comp, xs, rc, rv):
        """Per-job quantities (3, K) and level-set signatures (K, L) for size descriptors
        ``xs`` paired with thresholds (rc, rv)."""
        pr = self.profile(comp, xs)
        P = pr.S.shape[1]
        n, c0, B, Cr, s = levels(pr, rc, rv)
        w = (xs + comp.shift)[:, None]
        new, old0, sq = _job_quantities(w, n, c0, B, Cr)
        vals = np.stack([new[:, 0], old0[:, 0], sq[:, 0]])
        bps = np.concatenate([pr.S, pr.E, n[:, None], c0[:, None], B, Cr], 1)
        wpos = np.where(np.isnan(bps), 2, (w >= bps)).astype(int)
        # profiles are padded to the widest in the call: code each block by its real
        # pieces only, so that signatures from calls of different widths compare
        real = np.isfinite(pr.S)
        blocks = [(s, real), (wpos[:, :P], real), (wpos[:, P:2 * P], real),
                  (wpos[:, 2 * P:2 * P + 2], np.ones((xs.size, 2), bool)),
                  (wpos[:, 2 * P + 2:3 * P + 2], real), (wpos[:, 3 * P + 2:], real)]
        return vals, np.concatenate([_code(c, m) for c, m in blocks], 1)

    # continuous predictions: outer integral over y
    def _cond_grid(self, comp):
        key = ("cgrid", id(comp))
        if key in self._cache:
            return self._cache[key]
        ycuts = self.y_cuts(comp)
        if self.size.discrete:
            ycuts = np.union1d(ycuts, self._atom_breaks(comp, ycuts))
        a, b = ycuts[:-1], ycuts[1:]
        y32, j32 = _map(a, b, _S32)
        y16, j16 = _map(a, b, _S16)
        ys = np.concatenate([y32.ravel(), y16.ravel()])
        wy = np.concatenate([(j32 * _W32 / 2).ravel(), np.zeros(y16.size)])
        wy16 = np.concatenate([np.zeros(y32.size), (j16 * _W16 / 2).ravel()])
        pr = self.profile(comp, ys)
        tab = self._table(comp, ys, extra=self._critical(pr))
        self.errors.append(float(np.dot(wy, tab.error[0])))
        g = dict(ycuts=ycuts, ys=ys, wy=wy, wy16=wy16, pr=pr, tab=tab, npiece=len(a),
                 y32=y32, y16=y16)
        self._cache[key] = g
        return g

    def _add_pieces(self, comp, rc, rv, si, sj, sa, sb, res32, res16):
        """Add to the y piece sums of :meth:`_exact_cond` the integrals over sub-pieces
        [sa, sb] of piece ``sj`` at thresholds ``si`` (32- and 16-point rules)."""
        y3, j3 = _map(sa, sb, _S32)
        y1, j1 = _map(sa, sb, _S16)
        yf = np.concatenate([y3, y1], 1).ravel()
        thr = np.repeat(si, 48)
        prf = self.profile(comp, yf)
        nf, cf, Bf, Crf, _ = levels(prf, rc[thr], rv[thr])
        ends = np.concatenate([nf[:, None], cf[:, None], Bf, Crf], 1)
        tabf = self._table(comp, yf, extra=ends, anti=False)
        vf = np.array(_moments(tabf, np.arange(yf.size), nf, cf, Bf, Crf)).reshape(3, sa.size, 48)
        np.add.at(res32, (slice(None), si, sj), (vf[:, :, :32] * (j3 * _W32 / 2)).sum(-1))
        np.add.at(res16, (slice(None), si, sj), (vf[:, :, 32:] * (j1 * _W16 / 2)).sum(-1))

    def _atom_breaks(self, comp, ycuts):
        """Discrete sizes: the predictions y at which the rank profile changes its
        structure relative to an atom's work (a piece end or a critical age crosses it).
        The tagged job's response time has a kink or jump there, which the y rule must
        not straddle (Trail(0.5) on three atoms was off by 7e-7 while claiming 1e-7).
        Found between consecutive Gauss nodes of each y piece and bisected."""
        works = np.asarray(self.size.values, float) + comp.shift
        a, b = ycuts[:-1], ycuts[1:]
        ys, _ = _map(a, b, _S32)
        ends = np.where(np.isfinite(b), b, ys[:, -1])
        ys = np.sort(np.concatenate([a[:, None], ys, ends[:, None]], 1), 1)  # (npc, 34)

        def signature(y):
            pr = self.profile(comp, y)
            ages = np.concatenate([pr.S, pr.E, self._critical(pr)], 1)
            with np.errstate(invalid="ignore"):
                below = ages[:, :, None] < works                            # (n, F, A)
            return np.where(np.isnan(ages)[:, :, None], False, below).reshape(len(y), -1)

        sig = signature(ys.ravel()).reshape(ys.shape + (-1,))
        i, j = np.nonzero(np.any(sig[:, 1:] != sig[:, :-1], axis=2))
        if not i.size:
            return np.zeros(0)
        return np.unique(_bisect_change(ys[i, j], ys[i, j + 1], sig[i, j], signature))

    def _exact_cond(self, comp, rc, rv):
        g = self._cond_grid(comp)
        ys, wy, wy16, pr, tab = g["ys"], g["wy"], g["wy16"], g["pr"], g["tab"]
        R, T = rc.size, ys.size
        rows = np.tile(np.arange(T), R)
        prr = pr.take(rows)
        n, c0, B, Cr, sig = levels(prr, np.repeat(rc, T), np.repeat(rv, T))
        sig = _code(sig, np.isfinite(prr.S))  # padded pieces do not count
        vals = np.array(_moments(tab, rows, n, c0, B, Cr)).reshape(3, R, T)
        npc = g["npiece"]
        part32 = (vals[:, :, :npc * 32].reshape(3, R, npc, 32) * wy[:npc * 32].reshape(npc, 32))
        part16 = (vals[:, :, npc * 32:].reshape(3, R, npc, 16) * wy16[npc * 32:].reshape(npc, 16))
        res32, res16 = part32.sum(-1), part16.sum(-1)
        # signatures at the piece ends and the nodes, in increasing y
        cuts = g["ycuts"]
        ends = np.where(np.isfinite(cuts), cuts, 0.0)
        prc = g.setdefault("prc", self.profile(comp, ends))
        rows_c = np.tile(np.arange(ends.size), R)
        prc = prc.take(rows_c)
        sig_c = _code(levels(prc, np.repeat(rc, ends.size), np.repeat(rv, ends.size))[4],
                      np.isfinite(prc.S))
        sig = sig.reshape(R, T, -1)
        sig_c = sig_c.reshape(R, ends.size, -1)
        allsig = np.concatenate([sig, sig_c], 1)
        pos_all = np.concatenate([ys, ends])
        samp = g.get("samp")
        if samp is None:
            order = np.argsort(np.concatenate([g["y32"], g["y16"]], 1), axis=1)
            nodes = np.concatenate([np.arange(npc)[:, None] * 32 + np.arange(32),
                                    npc * 32 + np.arange(npc)[:, None] * 16 + np.arange(16)], 1)
            nodes = np.take_along_axis(nodes, order, 1)
            last = np.where(np.isfinite(cuts[1:]), T + np.arange(1, npc + 1), nodes[:, -1])
            samp = np.concatenate([(T + np.arange(npc))[:, None], nodes, last[:, None]], 1)
            g["samp"] = samp
        pos = pos_all[samp]
        sg = allsig[:, samp]
        change = np.any(sg[:, :, 1:] != sg[:, :, :-1], axis=3) & (pos[None, :, 1:] > pos[None, :, :-1])
        br = np.argwhere(change)
        if br.size:
            i, j, k = br[:, 0], br[:, 1], br[:, 2]

            def code(y):
                prm = self.profile(comp, y)
                return _code(levels(prm, rc[i], rv[i])[4], np.isfinite(prm.S))
            hi = _bisect_change(pos[j, k], pos[j, k + 1], sg[i, j, k], code)
            si, sj, sa, sb = [], [], [], []
            for (ti, pj) in sorted(set(zip(i.tolist(), j.tolist()))):
                sel = (i == ti) & (j == pj)
                edges = [cuts[pj], *sorted(hi[sel].tolist()), cuts[pj + 1]]
                for u, v in zip(edges[:-1], edges[1:]):
                    if v > u:
                        si.append(ti); sj.append(pj); sa.append(u); sb.append(v)
                res32[:, ti, pj] = 0.0
                res16[:, ti, pj] = 0.0
            si, sj, sa, sb = (np.array(z) for z in (si, sj, sa, sb))
            # in batches: each piece needs a table of 48 y nodes x its cuts x 32 nodes
            # (one batch of a user's rank on Exp(1) took 1 GB, the whole validate_all 22)
            for k in range(0, si.size, 128):
                self._add_pieces(comp, rc, rv, si[k:k + 128], sj[k:k + 128], sa[k:k + 128],
                                 sb[k:k + 128], res32, res16)
        out, out16 = res32.sum(-1), res16.sum(-1)
        self.pop_error = max(getattr(self, "pop_error", 0.0), float(np.max(np.abs(out - out16)
                                                                          / np.maximum(out, 1e-300))))
        return out

    # -- the tagged job ---------------------------------------------------------------------
    def tagged_nodes(self, comp):
        """Tagged-job nodes of a component: profile rows, works, weights (32- and 16-point
        rules)."""
        if comp.kind == "fixed":
            tab = self._fixed_table(comp)
            pr = self._fixed_profile(comp)
            w32, g32, w16, g16 = (z[0].ravel() for z in tab.nodes)
            works = np.concatenate([w32, w16])
            return (pr.take(np.zeros(works.size, int)), works,
                    np.concatenate([g32, 0 * g16]), np.concatenate([0 * g32, g16]))
        if comp.kind == "size":
            nodes = self._size_nodes(comp)
            if nodes[0] == "discrete":
                xs, w = nodes[1], nodes[2]
                return self.profile(comp, xs), xs + comp.shift, w, w
            # one table for the size law (fixed-descriptor style) gives the Gauss nodes
            tab = self._table(_Component("fixed", comp.weight, 0.0, jumps=comp.jumps), None)
            w32, g32, w16, g16 = (z[0].ravel() for z in tab.nodes)
            xs = np.concatenate([w32, w16])
            return (self.profile(comp, xs), xs + comp.shift,
                    np.concatenate([g32, 0 * g16]), np.concatenate([0 * g32, g16]))
        fast = self.fast(comp)
        if fast is not None:
            return fast.tagged_nodes()
        g = self._cond_grid(comp)
        tab = g["tab"]
        w32, g32, w16, g16 = tab.nodes
        T = g["ys"].size
        Q32, Q16 = w32.reshape(T, -1).shape[1], w16.reshape(T, -1).shape[1]
        rows = np.repeat(np.arange(T), Q32 + Q16)
        works = np.concatenate([w32.reshape(T, -1), w16.reshape(T, -1)], 1).ravel()
        gx32 = np.concatenate([g32.reshape(T, -1), 0 * g16.reshape(T, -1)], 1)
        gx16 = np.concatenate([0 * g32.reshape(T, -1), g16.reshape(T, -1)], 1)
        # weights: (outer y rule) x (inner x rule); mixed rules give the error estimate
        wa = (gx32 * g["wy"][:, None]).ravel()
        wb = (gx16 * g["wy16"][:, None]).ravel()
        keep = (wa != 0) | (wb != 0)
        return g["pr"].take(rows[keep]), works[keep], wa[keep], wb[keep]

    def prepare(self, envs):
        """Interpolants in r of each component's population functions (N, O0, S), one per
        rank class, over the ranks the tagged jobs need: worth it when each exact value is
        an integral over sizes (continuous predictions on the closed-form path, Gittins
        tables). Each component gets its own: its kinks are its own rank values only,
        while their sum has the kinks of all components (Gittins: one per cell)."""
        tables = self.policy.tabulated
        comps = [c for c in self.components
                 if self.fast(c) is not None or (tables and c.kind == "fixed")]
        if not comps:
            return
        cs, vs = [], []
        for env in envs:
            fl, fc, fv = env["flat"]
            ln, c, a, b, _ = env["slope"]
            cs += [env["r0"][0], fc[fl > 0], c[ln > 0], c[ln > 0]]
            vs += [env["r0"][1], fv[fl > 0], a[ln > 0], b[ln > 0]]
        cs, vs = np.concatenate(cs), np.concatenate(vs)
        keep = np.isfinite(cs) & np.isfinite(vs)
        cs, vs = cs[keep], vs[keep]
        ranges = {}              # class -> its range, quantiles and the sum's magnitude
        for cls in np.unique(cs):
            v = vs[cs == cls]
            if np.unique(v).size > 64:
                qs = np.quantile(v, np.linspace(0, 1, 9))
                total = np.abs(self.exact(np.full(qs.size, cls), qs)).max(1)
                ranges[cls] = (qs[0], qs[-1], qs, total)
        for comp in comps:
            f = self.fast(comp)
            for cls, (lo, hi, quantiles, total) in ranges.items():
                if f is None:
                    special = self._rank_values[id(comp)]
                    cuts = special
                else:
                    co = f.coef
                    special = [co[name][0][(co[name][1] == 0) & np.isfinite(co[name][0])
                                           & (co["C"] == cls)] for name in ("V", "Vend")]
                    special = np.unique(np.concatenate([np.ravel(z) for z in special]))
                    cuts = np.concatenate([co[name][0].ravel() for name in ("V", "Vend")])
                cuts = np.concatenate([[lo, hi], quantiles, cuts])
                cuts = cuts[np.isfinite(cuts) & (cuts >= lo) & (cuts <= hi)]
                # accuracy relative to the whole population: a cell of small mass is
                # not refined down to its own rounding noise
                ip = _Interp(lambda r, cls=cls, comp=comp:
                             self._population(comp, np.full(r.size, cls), r), cuts, nodes=16,
                             scale=total)
                self._interp.setdefault(id(comp), {})[float(cls)] = (ip, special)
                self.errors.append(ip.error)

    def mean(self):
        parts = []
        for comp in self.components:
            pr, w, wa, wb = self.tagged_nodes(comp)
            env = envelope(pr, w)
            parts.append((env, wa, wb))
        self.prepare([p[0] for p in parts])
        h = _HFunction(self, [p[0] for p in parts])
        total_a = total_b = 0.0
        for env, wa, wb in parts:
            r0c, r0v = env["r0"]
            Nv, O0, Sv = self.exact(r0c, r0v)
            lam = self.lam
            denom = (1 - lam * O0) * (1 - lam * Nv)
            if np.any(denom <= 0):
                raise PolicyError("the SOAP waiting-time denominator is not positive: the "
                                  "queue is unstable for this policy.")
            wait = lam * Sv / (2 * denom)
            res = h.residence(env)
            tagged = wait + res
            total_a += float(np.dot(wa, tagged))
            total_b += float(np.dot(wb, tagged))
        err = abs(total_a - total_b) + h.error * max(total_a, 1.0) + sum(self.errors) * 10
        return total_a, err

# ======================================================================================
# adaptive piecewise-Legendre interpolation in rank space
# ======================================================================================
@lru_cache(maxsize=None)
def _legendre_rule(n):
    """Gauss-Legendre nodes on (0, 1) and the matrices that turn n node values into the
    Legendre coefficients of their interpolant and of its antiderivative (in s, from 0)."""
    t, w = _leg.leggauss(n)
    proj = (_leg.legvander(t, n - 1) * w[:, None]).T * ((2 * np.arange(n) + 1) / 2)[:, None]
    return (t + 1) / 2, proj, 0.5 * _leg.legint(np.eye(n), lbnd=-1) @ proj


@njit(cache=True, nogil=True)
def _legendre_at(table, piece, t, out):
    """out[j, k] = sum_n table[j, piece[k], n] P_n(t[k]) (the recurrence of :func:`_legval`,
    point by point: no (functions x points x degree) temporaries)."""
    m, n = table.shape[0], table.shape[2]
    for k in range(t.size):
        x, p = t[k], piece[k]
        for j in range(m):
            p0, p1 = 1.0, x
            acc = table[j, p, 0] + table[j, p, 1] * x
            for d in range(1, n - 1):
                p0, p1 = p1, ((2 * d + 1) * x * p1 - d * p0) / (d + 1)
                acc += table[j, p, d + 1] * p1
            out[j, k] = acc


class _Interp:
    """Adaptive piecewise-Legendre interpolant of a vector function ``fn(r) -> (m, len(r))``
    on [lo, hi]: a piece is accepted when its last fifth of Legendre coefficients sums
    below ``rtol`` times the function's scale over the whole range, or ``scale`` if larger
    (a part of a sum interpolated on its own: its error counts against the sum), and the
    function at two probes a millionth of the piece inside its ends is within 10 ``rtol``
    of the interpolant there; or when it is narrower than 1e-12 of the range. Pieces
    away from 0 that span a factor 2 or more are interpolated in log |r|. Gives values
    and exact antiderivatives; ``error`` is the largest accepted relative error."""

    def __init__(self, fn, cuts, rtol=INTERP_RTOL, nodes=32, scale=None):
        s_n, proj, anti = _legendre_rule(nodes)
        # two probes just inside each piece's ends: a kink between the outermost node and
        # the end leaves the node values, and so the coefficients, smooth, but not the
        # probes; a kink within EDGE of an end stays hidden and costs O(EDGE^2)
        probes = np.array([_EDGE, 1 - _EDGE])
        at_probes = _leg.legvander(2 * probes - 1, nodes - 1)            # (2, nodes)
        cuts = np.unique(np.asarray(cuts, float))
        lo, hi = cuts[0], cuts[-1]
        tiny = 1e-12 * max(hi - lo, abs(lo), abs(hi), 1.0)
        pieces, done = list(zip(cuts[:-1], cuts[1:])), []
        for _ in range(60):
            if not pieces:
                break
            a = np.array([p[0] for p in pieces])
            b = np.array([p[1] for p in pieces])
            r, jac = self._nodes(a, b, np.concatenate([s_n, probes]))
            every = np.asarray(fn(r.ravel()), float)
            every = every.reshape(every.shape[0], len(a), nodes + 2)      # (m, pieces, nodes+2)
            vals, jac = every[..., :nodes], jac[:, :nodes]
            step = np.max(np.abs(every), axis=(1, 2))
            scale = step if scale is None else np.maximum(scale, step)
            coef = vals @ proj.T
            norm = np.maximum(scale, 1e-300)[:, None]
            tail = (np.abs(coef[..., -nodes // 5:]).sum(-1) / norm).max(0)
            edge = (np.abs(coef @ at_probes.T - every[..., nodes:]).max(-1) / norm).max(0)
            err = np.maximum(tail, edge / 10)
            ok = (err <= rtol) | (b - a <= tiny)
            done += [(a[i], b[i], coef[:, i], (vals[:, i] * jac[i]) @ anti.T, err[i])
                     for i in np.flatnonzero(ok)]
            pieces = []
            for i in np.flatnonzero(~ok):
                m = math.sqrt(a[i] * b[i]) if a[i] > 0 and b[i] >= 2 * a[i] else \
                    -math.sqrt(a[i] * b[i]) if b[i] < 0 and a[i] <= 2 * b[i] else 0.5 * (a[i] + b[i])
                pieces += [(a[i], m), (m, b[i])]
        if pieces:
            raise ConvergenceError("a rank-space interpolant", len(pieces), INF)
        done.sort(key=lambda z: z[0])
        self.A = np.array([d[0] for d in done])
        self.B = np.array([d[1] for d in done])
        self.coef = np.stack([d[2] for d in done], 1)              # (m, pieces, nodes)
        self.anti = np.stack([d[3] for d in done], 1)              # (m, pieces, nodes + 1)
        piece = self.anti.sum(-1)                                        # P_n(1) = 1
        self.cum = np.concatenate([np.zeros((piece.shape[0], 1)), np.cumsum(piece, 1)], 1)
        self.error = float(max(d[4] for d in done))
        self.lo, self.hi = lo, hi

    @staticmethod
    def _kind(a, b):
        return np.where((a > 0) & (b >= 2 * a), 1, np.where((b < 0) & (a <= 2 * b), 2, 0))

    @classmethod
    def _nodes(cls, a, b, s):
        """Points r(s) of pieces [a, b] at s in [0, 1] and dr/ds, shape (n, len(s))."""
        a, b, k = a[:, None], b[:, None], cls._kind(a, b)[:, None]
        with np.errstate(all="ignore"):
            up = a * (b / a) ** s
            dn = b * (a / b) ** (1 - s)
            r = np.select([k == 1, k == 2], [up, dn], a + (b - a) * s)
            jac = np.select([k == 1, k == 2], [up * np.log(b / a), -dn * np.log(a / b)],
                            (b - a) + 0 * s)
        return r, jac

    def _locate(self, r):
        i = np.clip(np.searchsorted(self.A, r, side="right") - 1, 0, len(self.A) - 1)
        a, b = self.A[i], self.B[i]
        k = self._kind(a, b)
        with np.errstate(all="ignore"):
            s = np.select([k == 1, k == 2], [np.log(r / a) / np.log(b / a),
                                             1 - np.log(r / b) / np.log(a / b)], (r - a) / (b - a))
        return i, 2 * np.clip(np.nan_to_num(s), 0.0, 1.0) - 1

    def _eval(self, table, r):
        i, t = self._locate(np.asarray(r, float).ravel())
        out = np.empty((table.shape[0], t.size))
        _legendre_at(np.ascontiguousarray(table), i, t, out)
        return out, i

    def __call__(self, r):
        return self._eval(self.coef, r)[0]

    def integral(self, r):
        """Integral from ``lo`` to ``r``."""
        out, i = self._eval(self.anti, r)
        return self.cum[:, i] + out


# ======================================================================================
# continuous predictions with ranks affine in the prediction: x outer, y inner exactly
# ======================================================================================
_SX = np.concatenate([_S16, (_T8 + 1) / 2])
_WX16 = np.concatenate([_W16 / 2, np.zeros(8)])
_WX8 = np.concatenate([np.zeros(16), _W8 / 2])
#: Levels u of the conditional quantiles of Y / x that cut the inner y integrals.
_ZLEVELS = np.concatenate([4.0 ** -np.arange(6, 0, -1), [0.5], 1 - 4.0 ** -np.arange(1, 16)])


class _ScaleModel:
    """A prediction model that is a scale family, Y = x Z, with closed-form conditional
    partial moments: the support [zlo, zhi] of Z and quantiles of Z (or None)."""

    @staticmethod
    def of(pred):
        from ..laws.predictions import PredictionModel
        if pred is None or type(pred).partial_moments is PredictionModel.partial_moments:
            return None
        z, x = np.array([0.3, 1.0, 3.0]), np.array([0.5, 2.0])
        try:
            same = np.allclose(pred.cdf(z[:, None] * x, x), pred.cdf(z, 1.0)[:, None],
                               rtol=0, atol=1e-13)
        except (ParameterError, TypeError, ValueError):
            return None
        return _ScaleModel(pred) if same else None

    def __init__(self, pred):
        self.pred = pred
        F = lambda z: float(pred.cdf(z, 1.0))

        def inverse(u):
            lo, hi = 0.0, 1.0
            while F(hi) <= u and hi < 1e12:
                hi *= 2
            for _ in range(200):
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if F(mid) <= u else (lo, mid)
                if hi - lo <= 1e-15 * hi:
                    break
            return hi
        zlo = inverse(0.0)
        zlo = zlo if zlo > 1e-8 else 0.0
        zhi = INF
        if F(1e8) >= 1:         # the least z with F(z) = 1 in floating point (mass < 1e-16 above)
            lo, zhi = 0.0, 1e8
            for _ in range(200):
                mid = 0.5 * (lo + zhi)
                lo, zhi = (mid, zhi) if F(mid) < 1 else (lo, mid)
        self.zlo, self.zhi = zlo, zhi
        # where the density of Z may jump: the ends of its support, and those of the
        # model's kinks (at y = 1, x = 1 / z) across which the density differs
        inner = []
        for k in pred.kinks(1.0):
            z = 1.0 / k if k > 0 else INF
            if zlo < z < zhi:
                below, above = (float(pred.pdf(z * (1 + s), 1.0)) for s in (-1e-9, 1e-9))
                if abs(above - below) > 1e-6 * max(abs(above), abs(below)):
                    inner.append(z)
        self.zedges = np.unique([z for z in (zlo, zhi, *inner) if 0 < z < INF])
        qs = [inverse(u) for u in _ZLEVELS]
        self.zcuts = np.unique([zlo, *[q for q in qs if zlo < q < zhi], *self.zedges, zhi])

    def moments(self, x, lo, hi):
        """(3, ...) E[Y^k 1{lo < Y <= hi} | X = x], zero where hi <= lo (only the
        non-empty intervals are evaluated)."""
        x, lo, hi = np.broadcast_arrays(x, lo, hi)
        out = np.zeros((3,) + x.shape)
        live = (hi > lo) & (x > 0)
        if live.any():
            m = self.pred.partial_moments(x[live], lo[live], hi[live])
            for k in range(3):
                out[k][live] = np.nan_to_num(m[k])
        return out


def _affine(y1, z1, y2, z2):
    """Affine (a, b) with z = a + b y through two points; infinite or NaN ends stay
    constant (b = 0)."""
    fin = np.isfinite(z1) & np.isfinite(z2)
    with np.errstate(invalid="ignore"):
        b = np.where(fin, (z2 - z1) / (y2 - y1), 0.0)
        a = np.where(fin, z1 - b * y1, z1)
    return a, b


def _min_integral(sm, x, w, lo, hi, a, b):
    """int_lo^hi min(w, a + b y) h(y | x) dy (w = the job's work; a + b y may be inf)."""
    with np.errstate(all="ignore"):  # infinite ends are resolved by np.where
        ys = np.where(b != 0, (w - a) / np.where(b != 0, b, 1.0), hi)
        ys = np.clip(np.nan_to_num(ys, nan=hi), lo, hi)
        out = 0.0
        for l, h in ((lo, ys), (ys, hi)):
            mid = np.where(np.isfinite(h), 0.5 * (l + h), l + 1.0)
            lin = np.isfinite(a) & (a + b * mid < w)
            m = sm.moments(x, l, h)
            out = out + np.where(lin, np.where(lin, a, 0) * m[0] + b * m[1], w * m[0])
        return out


def _square_integral(sm, x, w, lo, hi, b0, b1, c0, c1):
    """int_lo^hi (min(C, w) - min(B, w))^2 h(y | x) dy for B = b0 + b1 y <= C = c0 + c1 y
    (C may be inf)."""
    with np.errstate(all="ignore"):  # infinite ends are resolved by np.where
        pts = []
        for a, b in ((b0, b1), (c0, c1)):
            ys = np.where(b != 0, (w - a) / np.where(b != 0, b, 1.0), hi)
            pts.append(np.clip(np.nan_to_num(ys, nan=hi), lo, hi))
        p1, p2 = np.minimum(*pts), np.maximum(*pts)
        out = 0.0
        for l, h in ((lo, p1), (p1, p2), (p2, hi)):
            mid = np.where(np.isfinite(h), 0.5 * (l + h), l + 1.0)
            bl = b0 + b1 * mid < w                    # min(B, w) = B
            cl = np.isfinite(c0) & (c0 + c1 * mid < w)
            u0, u1 = np.where(cl, c0, w), np.where(cl, c1, 0.0)
            l0, l1 = np.where(bl, b0, w), np.where(bl, b1, 0.0)
            d0, d1 = np.where(np.isfinite(u0 - l0), u0 - l0, 0.0), u1 - l1
            live = (bl | cl) & ((d0 != 0) | (d1 != 0))
            if not np.any(live):
                continue
            m = sm.moments(x, l, np.where(live, h, l))
            out = out + np.where(live, d0 * d0 * m[0] + 2 * d0 * d1 * m[1] + d1 * d1 * m[2], 0.0)
        return out


class _AffineCond:
    """A continuous-prediction component whose rank pieces (starts, ends, values) are
    affine in the prediction y between fixed jumps (every catalogue prediction policy).

    For a threshold r the level sets of a job with prediction y have a structure that is
    constant between the roots (in y) of a few affine functions, and their ends are
    affine in y there. So for a job of size x the integral over y of its new work, first
    old interval and squared old intervals is a sum of conditional partial moments
    E[Y^k 1{lo < Y <= hi} | x] (closed form for the scale-family models), and only the
    outer integral over x is numerical: Gauss pieces on the size law's quantile grid
    cut at the kinks the ends create. The tagged job is integrated over x (outer) and
    y | x (inner, cut at conditional quantiles of Y / x and where a rank breakpoint of
    the job's profile meets its work).
    """

    @staticmethod
    def of(eng, comp):
        if eng.size.discrete or eng.policy.profile(np.ones(1), comp.part) is None:
            return None
        sm = _ScaleModel.of(eng.pred)
        if sm is None:
            return None
        fast = _AffineCond(eng, comp, sm)
        return fast if fast.coef is not None else None

    def __init__(self, eng, comp, sm):
        self.eng, self.comp, self.sm = eng, comp, sm
        self.shift = comp.shift
        self.edges = np.array([0.0, *eng.policy.jumps(), INF])
        self.coef = self._coefficients()
        X = eng.size
        lo, hi = X.support
        # the size law's quantile grid without its outermost pieces (probability < 1e-9
        # below, < 1e-12 above: merged into the end pieces, whose maps absorb them)
        cuts = np.array(sorted({lo, hi, *size_cuts(X), *comp.jumps}))
        cuts = cuts[(cuts >= lo) & (cuts <= hi)]
        F, S = np.asarray(X.cdf(cuts), float), np.asarray(X.sf(cuts), float)
        self.xcuts = cuts[(cuts == lo) | (cuts == hi) | ((F >= 1e-9) & (S >= 1e-12))
                          | np.isin(cuts, comp.jumps)]
        self.errors = []

    # -- the profile as affine functions of y, per segment ---------------------------------
    def _coefficients(self):
        eng, comp = self.eng, self.comp
        a, b = self.edges[:-1], self.edges[1:]
        s = eng.size.scale
        fr = np.array([0.2, 0.5, 0.8])
        ys = np.where(np.isfinite(b)[:, None], a[:, None] + (b - a)[:, None] * fr,
                      a[:, None] + s * np.array([1.0, 2.5, 4.0]))           # (G, 3)
        pr = eng.profile(comp, ys.ravel())
        crit = eng._critical(pr)
        G, Pn = len(a), pr.S.shape[1]
        with np.errstate(invalid="ignore"):
            vend = np.where(np.isfinite(pr.E), pr.V + pr.M * (pr.E - pr.S), np.nan)
        fields = {"S": pr.S, "E": pr.E, "V": pr.V, "Vend": vend,
                  "EmS": np.where(np.isfinite(pr.E), pr.E - pr.S, np.nan), "crit": crit}
        out = {}
        for name, z in fields.items():
            z = z.reshape(G, 3, -1)
            y = ys[:, :, None]
            c0, c1 = _affine(y[:, 0], z[:, 0], y[:, 2], z[:, 2])
            with np.errstate(invalid="ignore"):
                pred = c0 + c1 * y[:, 1]
                bad = ~((z[:, 1] == pred) | (np.isnan(z[:, 1]) & np.isnan(pred))
                        | (np.abs(z[:, 1] - pred) <= 1e-9 * (np.abs(z[:, 1]) + s)))
            if np.any(bad):
                return None
            out[name] = (c0, c1)
        for name in ("C", "M"):
            z = getattr(pr, name).reshape(G, 3, Pn)
            if np.any((z[:, 0] != z[:, 1]) | (z[:, 1] != z[:, 2])):
                return None
            out[name] = z[:, 0]
        # ages where a sloped piece crosses a rank level at which the population
        # functions have a kink (the ranks of the prediction y = 0, e.g. 0 for SPRPT)
        lv = np.concatenate([out["V"][0].ravel(), out["Vend"][0].ravel()])
        lv = np.unique(lv[np.isfinite(lv)])[:8]
        (s0, s1), (v0, v1), m = out["S"], out["V"], out["M"]
        with np.errstate(all="ignore"):
            sl = (m != 0) & np.isfinite(v0) & np.isfinite(s0)
            c0 = [np.where(sl, s0 + (l - v0) / m, np.nan) for l in lv]
            c1 = [np.where(sl, s1 - v1 / m, 0.0) for l in lv]
        out["cross"] = (np.concatenate(c0 or [np.zeros((G, 0))], 1),
                        np.concatenate(c1 or [np.zeros((G, 0))], 1))
        return out

    # -- the population at thresholds (rc, rv) ---------------------------------------------
    def _intervals(self, rc, rv):
        """y intervals of constant level-set structure: (threshold index, lo, hi)."""
        co, R = self.coef, rc.size
        cand = [np.zeros((R, 1)), np.broadcast_to(self.edges[1:-1], (R, len(self.edges) - 2))]
        for g in range(len(self.edges) - 1):
            ga, gb = self.edges[g], self.edges[g + 1]
            for name, target in (("V", rv), ("Vend", rv), ("EmS", np.zeros(R))):
                c0, c1 = co[name][0][g], co[name][1][g]
                with np.errstate(invalid="ignore", divide="ignore"):
                    root = (target[:, None] - c0) / np.where(c1 != 0, c1, np.nan)
                root = np.where((root > ga) & (root < gb), root, np.nan)
                cand.append(root)
        cand = np.sort(np.concatenate(cand, 1), 1)
        cand = np.where(np.isnan(cand), INF, cand)
        lo, hi = cand, np.concatenate([cand[:, 1:], np.full((R, 1), INF)], 1)
        ok = np.isfinite(lo) & (hi > lo)
        ri = np.nonzero(ok)[0]
        return ri, lo[ok], hi[ok]

    def population(self, rc, rv):
        """(3, R): E over this component of new work, first old interval, squared old
        intervals at thresholds (rc, rv)."""
        out = np.zeros((3, rc.size))
        ri, lo, hi = self._intervals(rc, rv)
        for k in range(0, ri.size, 128):
            sl = slice(k, k + 128)
            vals = self._pairs(rc[ri[sl]], rv[ri[sl]], lo[sl], hi[sl])
            np.add.at(out, (slice(None), ri[sl]), vals)
        return out

    def _pairs(self, rc, rv, lo, hi):
        J = rc.size
        step = np.where(np.isfinite(hi), (hi - lo) / 3, np.maximum(lo, self.eng.size.scale))
        y1, y2 = lo + step, lo + 2 * step
        pr = self.eng.profile(self.comp, np.concatenate([y1, y2]))
        n, c0, B, Cr, _ = levels(pr, np.tile(rc, 2), np.tile(rv, 2))
        ends = np.concatenate([n[:, None], c0[:, None], B, Cr], 1)       # (2J, 2 + 2P)
        ea, eb = _affine(y1[:, None], ends[:J], y2[:, None], ends[J:])   # (J, 2 + 2P)
        Pn = B.shape[1]
        # x pieces: the size law's grid plus the kinks of this pair
        sh = self.shift
        kinks = [ea - sh]
        with np.errstate(invalid="ignore", over="ignore"):
            kinks += [ea + eb * lo[:, None] - sh, ea + eb * hi[:, None] - sh]
            for z in self.sm.zedges:
                kinks += [lo[:, None] / z, hi[:, None] / z, (ea - sh) / (1 - eb * z)]
        kinks = np.concatenate(kinks, 1)
        xl, xh = self.xcuts[0], self.xcuts[-1]
        valid = np.isfinite(kinks) & (kinks > xl) & (kinks < xh)
        kinks = np.where(valid, kinks, xl)[:, valid.any(0)]
        cuts = np.sort(np.concatenate([np.broadcast_to(self.xcuts, (J, self.xcuts.size)),
                                       kinks], 1), 1)
        x, jac = _map(cuts[:, :-1].ravel(), cuts[:, 1:].ravel(), _S16)
        npc = cuts.shape[1] - 1
        x = x.reshape(J, -1)
        jac = jac.reshape(J, npc, -1)
        wt = self.eng._weight(self.comp)
        with np.errstate(all="ignore"):
            fx = np.nan_to_num(np.asarray(wt(x), float))
        w = x + sh
        L, H = lo[:, None], hi[:, None]
        a, b = ea[:, :, None], eb[:, :, None]
        vals = np.zeros((3,) + x.shape)
        vals[0] = _min_integral(self.sm, x, w, L, H, a[:, 0], b[:, 0])
        same = np.array_equal(ea[:, 0], ea[:, 1]) and np.array_equal(eb[:, 0], eb[:, 1])
        vals[1] = vals[0] if same else _min_integral(self.sm, x, w, L, H, a[:, 1], b[:, 1])
        for i in range(Pn):
            use = np.isfinite(ea[:, 2 + i])
            if not use.any():
                continue
            bb = np.where(use[:, None], a[:, 2 + i], INF)
            vals[2] += np.where(use[:, None], _square_integral(
                self.sm, x, w, L, H, bb, b[:, 2 + i], a[:, 2 + Pn + i], b[:, 2 + Pn + i]), 0.0)
        return ((vals * fx).reshape(3, J, npc, -1) * jac * (_W16 / 2)).sum((-1, -2))

    # -- the tagged job ---------------------------------------------------------------------
    def tagged_nodes(self):
        """Profile rows, works and weights (16- and 8-point rules) of the tagged job."""
        sh, sm = self.shift, self.sm
        k0, k1 = self.age_kinks()                                            # (G, K)
        xl, xh = self.xcuts[0], self.xcuts[-1]
        extra = [k0[k1 == 0] - sh]
        with np.errstate(all="ignore"):
            for z in sm.zedges:
                extra.append(((k0 - sh) / (1 - k1 * z)).ravel())
            for j in self.edges[1:-1]:
                extra.append((k0 + k1 * j - sh).ravel())
                # where the support of Y | x (x zlo, x zhi) crosses a segment edge, the
                # inner integral over y kinks in x
                extra.append(j / sm.zedges)
        extra = np.concatenate(extra)
        extra = extra[np.isfinite(extra) & (extra > xl) & (extra < xh)]
        xcuts = np.unique(np.concatenate([self.xcuts, extra]))
        x, jx = _map(xcuts[:-1], xcuts[1:], _SX)                          # (npx, 24)
        x, jx = x.ravel(), jx.ravel()
        wx16, wx8 = jx * np.tile(_WX16, xcuts.size - 1), jx * np.tile(_WX8, xcuts.size - 1)
        with np.errstate(all="ignore"):
            fx = np.nan_to_num(np.asarray(self.eng._weight(self.comp)(x), float))
        keep = fx != 0
        x, wx16, wx8, fx = x[keep], wx16[keep], wx8[keep], fx[keep]
        xi, ys, h16, h8 = self.y_nodes(x, k0, k1)
        wa, wb = (fx * wx16)[xi] * h16, (fx * wx8)[xi] * h8
        use = (wa != 0) | (wb != 0)
        return self.eng.profile(self.comp, ys[use]), x[xi[use]] + sh, wa[use], wb[use]

    def age_kinks(self):
        """Affine coefficients (G, K) of the ages where a job's response time has kinks."""
        kk = [self.coef[name] for name in ("S", "E", "crit", "cross")]
        return np.concatenate([k[0] for k in kk], 1), np.concatenate([k[1] for k in kk], 1)

    def y_nodes(self, x, k0=None, k1=None):
        """Nodes of the integral over y given sizes ``x``: (index into x, y, weights of the
        16- and 8-point rules times h(y | x)). The pieces end at conditional quantiles of
        Y / x, at segment edges and where an age kink of the profile meets the work."""
        if k0 is None:
            k0, k1 = self.age_kinks()
        sm, sh = self.sm, self.shift
        cand = [x[:, None] * sm.zcuts[None, :],
                np.broadcast_to(self.edges[1:-1], (x.size, self.edges.size - 2))]
        for g in range(self.edges.size - 1):
            with np.errstate(all="ignore"):
                root = (x[:, None] + sh - k0[g]) / np.where(k1[g] != 0, k1[g], np.nan)
            cand.append(np.where((root > self.edges[g]) & (root < self.edges[g + 1]), root, np.nan))
        cand = np.concatenate(cand, 1)
        ylo, yhi = sm.zlo * x[:, None], sm.zhi * x[:, None]
        cand = np.sort(np.where((cand >= ylo) & (cand <= yhi), cand, np.nan), 1)
        a, b = cand[:, :-1], cand[:, 1:]
        ok = np.isfinite(a) & ~np.isnan(b) & (b > a)
        xi = np.nonzero(ok)[0]
        y, jy = _map(a[ok], b[ok], _SX)                                    # (n, 24)
        with np.errstate(all="ignore"):
            hy = np.nan_to_num(np.asarray(self.eng.pred.pdf(y, x[xi][:, None]), float)) * jy
        xi = np.broadcast_to(xi[:, None], y.shape).ravel()
        return xi, y.ravel(), (hy * _WX16).ravel(), (hy * _WX8).ravel()


# ======================================================================================
# suffix maxima (the tagged job's worst future rank) and the residence time
# ======================================================================================
@njit(cache=True, nogil=True)
def _suffix_max(S, E, C, V, M, w, mc, mv, flat_len, flat_c, flat_v, sl_len, sl_to):
    """The loop of :func:`envelope`, row by row from the last piece back (compiled: the
    rows are independent and each step is a handful of scalar comparisons)."""
    K, Pn = S.shape
    for k in range(K):
        c_max, v_max, seen = -INF, -INF, False
        for p in range(Pn - 1, -1, -1):
            s, c, v, m = S[k, p], C[k, p], V[k, p], M[k, p]
            sl_to[k, p] = v
            if not s < w[k]:           # inactive (beyond the work, or a padded piece)
                flat_c[k, p], flat_v[k, p] = c_max, v_max
                continue
            t = min(E[k, p], w[k])
            length = max(t - s, 0.0)
            vend = v + m * (t - s) if m != 0 else v
            top = vend if m > 0 else v             # the piece's maximum on [s, t)
            if seen and (c_max > c or (c_max == c and v_max > top)):
                kc, kv = c_max, v_max
            else:
                kc, kv = c, top
            if m < 0:
                # sloped from v down to max(vend, running max) while above it, then flat
                above = not seen or c > c_max or (c == c_max and vend >= v_max)
                below = c < c_max or (c == c_max and v <= v_max)
                if above:
                    sl_len[k, p], sl_to[k, p] = length, vend
                elif below:
                    flat_len[k, p] = length
                else:                               # crosses the running maximum
                    ac = s + (v - v_max) / -m
                    sl_len[k, p], sl_to[k, p] = ac - s, v_max
                    flat_len[k, p] = length - (ac - s)
                flat_c[k, p], flat_v[k, p] = c_max, v_max
            else:                                   # flat at max(running max, top)
                flat_len[k, p] = length
                flat_c[k, p], flat_v[k, p] = kc, kv
            c_max, v_max, seen = kc, kv, True
        mc[k], mv[k] = c_max, v_max


def envelope(pr, w):
    """Suffix maximum r_worst(a) = sup_{a <= b < w} r(b) of each profile row on [0, w):
    per piece a sloped part (following the rank) and a flat part (an earlier maximum).
    Returns a dict with ``r0`` = r_worst(0) and the parts."""
    S, E, C, V, M = (np.ascontiguousarray(z, float) for z in (pr.S, pr.E, pr.C, pr.V, pr.M))
    K, Pn = S.shape
    w = np.ascontiguousarray(np.broadcast_to(np.asarray(w, float), (K,)))
    mc, mv = np.empty(K), np.empty(K)
    flat_len, flat_c, flat_v = np.zeros((K, Pn)), np.empty((K, Pn)), np.empty((K, Pn))
    sl_len, sl_to = np.zeros((K, Pn)), np.empty((K, Pn))
    _suffix_max(S, E, C, V, M, w, mc, mv, flat_len, flat_c, flat_v, sl_len, sl_to)
    return dict(r0=(mc, mv), flat=(flat_len, flat_c, flat_v),
                slope=(sl_len, C, V, sl_to, np.abs(M)))


class _HFunction:
    """h(r) = 1 / (1 - lambda N(r)) at the flat levels (exactly) and its integrals over the
    sloped rank ranges (from an adaptive piecewise-Legendre interpolant per class)."""

    def __init__(self, eng, envs):
        self.eng, self.lam = eng, eng.lam
        self.error = 0.0
        self.interp = {}
        ranges = {}
        for env in envs:
            ln, c, a, b, _ = env["slope"]
            use = ln > 0
            for cls in np.unique(c[use]):
                sel = use & (c == cls)
                lo = float(np.min(np.minimum(a[sel], b[sel])))
                hi = float(np.max(np.maximum(a[sel], b[sel])))
                pts = np.concatenate([a[sel], b[sel]])
                old = ranges.get(cls)
                ranges[cls] = (min(lo, old[0]), max(hi, old[1]), np.concatenate([old[2], pts])) \
                    if old else (lo, hi, pts)
        for cls, (lo, hi, pts) in ranges.items():
            self.interp[cls] = self._build(cls, lo, hi, pts)

    def h(self, c, v):
        N = self.eng.exact(c, v)[0]
        return 1.0 / (1.0 - self.lam * N)

    def _build(self, cls, lo, hi, pts):
        if not hi > lo:
            return None
        q = np.quantile(pts, np.linspace(0, 1, 17))
        kinks = self.eng.kink_values()
        cuts = np.unique(np.concatenate([[lo, hi], q, kinks[(kinks > lo) & (kinks < hi)]]))
        ip = _Interp(lambda r: self.h(np.full(r.size, cls), r)[None], cuts,
                     nodes=32 if cuts.size < 64 else 16)
        self.error += ip.error * (hi - lo)
        return ip

    def integral(self, cls, r):
        """int_{lo}^{r} h, for ranks r of class ``cls``."""
        return self.interp[cls].integral(r)[0]

    def at(self, c, v):
        """h at many levels (c, v): from the interpolants where they cover them, away from
        the rank values where N may jump; exactly elsewhere or when the levels are few."""
        (c, v), inv = _distinct(c, v)
        return self._at(c, v)[inv]

    def _at(self, c, v):
        out = np.empty(v.shape)
        todo = np.ones(v.shape, bool)
        if np.unique(v).size > 256:
            jumps = self.eng.kink_values()
            for cls, ip in self.interp.items():
                if ip is not None:
                    sel = (c == cls) & (v > ip.lo) & (v < ip.hi) & ~np.isin(v, jumps)
                    out[sel] = ip(v[sel])[0]
                    todo &= ~sel
        if todo.any():
            out[todo] = self.h(c[todo], v[todo])
        return out

    def residence(self, env):
        fl, fc, fv = env["flat"]
        use = fl > 0
        res = np.zeros(fl.shape[0])
        if use.any():
            hv = self.at(fc[use], fv[use])
            tmp = np.zeros(fl.shape)
            tmp[use] = hv * fl[use]
            res += tmp.sum(1)
        ln, c, a, b, m = env["slope"]
        use = ln > 0
        if use.any():
            tmp = np.zeros(ln.shape)
            for cls in np.unique(c[use]):
                sel = use & (c == cls)
                tmp[sel] = (self.integral(cls, a[sel]) - self.integral(cls, b[sel])) / m[sel]
            res += tmp.sum(1)
        return res


# ======================================================================================
# public entry points
# ======================================================================================
def _bound(q, policy):
    """The policy as the queue defines it, checked to be a SOAP policy."""
    pol = as_policy(policy).bind(q)
    if pol.rank is None:
        raise PolicyError(f"{pol.name} is not a SOAP policy (it has no rank function); "
                          "use method='formula' or method='simulation'.")
    return pol


def soap_mean_response_time(q, policy, y_pieces=None):
    """E[T] of ``policy`` on ``q`` from the SOAP theorem.

    Parameters
    ----------
    q : qtheory.MG1
    policy : Policy
        Any SOAP policy: a catalogue policy, ``qt.Gittins`` or ``qt.Rank(fn)``.
    y_pieces : int, optional
        Number of equal-probability pieces of the prediction's law in the outer
        quadrature (default 12); raise it for more accuracy on unusual laws.

    Returns
    -------
    Result
        ``value`` with ``error`` an estimate of the absolute quadrature error
        (difference of nested Gauss rules plus the interpolation and table errors).

    Examples
    --------
    >>> import qtheory as qt
    >>> q = qt.MG1(0.5, qt.Exponential(1.0))
    >>> r = soap_mean_response_time(q, qt.FCFS())     # P-K: 1 + 0.5 * 2 / (2 * 0.5) = 2
    >>> round(r.value, 10), r.method
    (2.0, 'soap')
    """
    policy = as_policy(policy)
    eng = Engine(q, _bound(q, policy), y_pieces=y_pieces)
    value, error = eng.mean()
    cost = policy.prediction_cost(q)
    details = {} if cost is None else {"cost": value + cost}
    return Result(float(value), float(error), "soap", policy.name, details)


def soap_response_time(q, policy, x, y=None, bit=None):
    """E[T(x, y)] from the SOAP theorem, vectorised over sizes ``x``.

    Parameters
    ----------
    q : qtheory.MG1
    policy : Policy
    x : float or array
        True sizes.
    y : float, optional
        The descriptor the scheduler sees: the prediction (or the bit, 0 short / 1 long,
        for one-bit policies). Ignored for policies that see the size or nothing.
    bit : {0, 1}, optional
        SkipPredict only: the cheap bit of the job.

    Returns
    -------
    float or ndarray
        E[T(x, y)] (an array when ``x`` is one).

    Examples
    --------
    >>> import qtheory as qt
    >>> q = qt.MG1(0.5, qt.Exponential(1.0))
    >>> float(soap_response_time(q, qt.PSJF(), 0.0))   # a size-0 job waits for nothing
    0.0
    """
    pol = _bound(q, policy)
    eng = Engine(q, pol)
    xa = np.asarray(x, float)
    if np.any(~np.isfinite(xa)) or np.any(xa < 0):
        raise ParameterError(f"size = {x!r} is invalid: sizes must be finite numbers >= 0.")
    xs = xa.ravel()
    yy = float(xs[0]) if y is None else float(y)
    parts = np.asarray(pol.part_at(xs, yy, bit), int)
    out, work = np.empty(xs.size), np.empty(xs.size)
    for k in np.unique(parts):
        sel = parts == k
        comp = eng.components[k]
        d = {"size": xs[sel], "fixed": np.full(sel.sum(), comp.fixed),
             "cond": np.full(sel.sum(), yy)}[comp.kind]
        work[sel] = xs[sel] + comp.shift
        out[sel] = _tagged(eng, envelope(eng.profile(comp, d), work[sel]))
    out = np.where(work > 0, out, 0.0)   # no work: done on arrival
    return float(out[0]) if np.ndim(x) == 0 else out.reshape(xa.shape)


def _tagged(eng, env):
    eng.prepare([env])
    h = _HFunction(eng, [env])
    Nv, O0, Sv = eng.exact(*env["r0"])
    lam = eng.lam
    return lam * Sv / (2 * (1 - lam * O0) * (1 - lam * Nv)) + h.residence(env)


def soap_response_curve(q, policy, x):
    """E[T(x)] averaged over the prediction given the size, vectorised over ``x``:
    E[T(x)] = integral of h(y | x) E[T(x, y)] dy (the size itself for policies that see
    the size or nothing).

    Examples
    --------
    >>> import qtheory as qt
    >>> q = qt.MG1(0.5, qt.Exponential(1.0))
    >>> [round(float(v), 10) for v in soap_response_curve(q, qt.FCFS(), [1.0, 2.0])]
    [2.0, 3.0]
    """
    policy = as_policy(policy)
    xa = np.atleast_1d(np.asarray(x, float))
    pred = q.prediction
    if policy.descriptor != "prediction" or pred is None or isinstance(pred, Perfect) \
            or len(policy.parts(pred)) > 1:
        if policy.descriptor == "bit":
            p = np.asarray(pred.short_prob(xa), float)
            return (p * soap_response_time(q, policy, xa, 0.0)
                    + (1 - p) * soap_response_time(q, policy, xa, 1.0))
        return np.atleast_1d(soap_response_time(q, policy, xa))
    eng = Engine(q, _bound(q, policy))
    fast = eng.fast(eng.components[0]) if len(eng.components) == 1 else None
    if fast is not None:   # every (x, y) node in one pass, y | x on the engine's pieces
        xi, ys, w16, _ = fast.y_nodes(xa)
        keep = w16 != 0
        xi, ys, w16 = xi[keep], ys[keep], w16[keep]
        env = envelope(eng.profile(fast.comp, ys), xa[xi] + fast.shift)
        t = np.where(xa[xi] > 0, _tagged(eng, env), 0.0)
        return np.bincount(xi, w16 * t, xa.size)
    out = np.empty(xa.size)
    for i, xv in enumerate(xa):
        # E over y | x by Gauss pieces on the conditional quantiles of y
        u = np.concatenate([(_S32 * 0.5), 0.5 + 0.5 * _S32])
        wts = np.concatenate([_W32 / 4, _W32 / 4])
        ys = _cond_quantile(pred, xv, u)
        vals = np.array([soap_response_time(q, policy, xv, yv) for yv in ys])
        out[i] = float(np.dot(wts, vals))
    return out


def _cond_quantile(pred, x, u):
    from scipy.optimize import brentq
    out = []
    for p in u:
        hi = 2 * x + 1.0
        while float(pred.cdf(hi, x)) < p:
            hi *= 2
        out.append(brentq(lambda y: float(pred.cdf(y, x)) - p, 0.0, hi, xtol=1e-14))
    return np.array(out)
