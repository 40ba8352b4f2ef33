"""Response-time distributions under noisy predictions: the closed structures of the
prediction-based policies over the joint law of (size X, prediction Y)
(docs/theory/distributions.md, "Noisy predictions").

A tagged job of size x and prediction y meets, at its worst future rank r* = y
(SOAP, Scully et al. 2018, arXiv 1712.00790; MATH.md §7), with b_r(Y) = min(Y − r, cY)
the age at which another job's rank Y − a (Trail(c)) falls to r or it becomes
non-preemptible:

================  ==============  =========================  ============  ===================
policy            old X_0         vacations X_1              new           residence
================  ==============  =========================  ============  ===================
PSPJF             X 1{Y ≤ y}      —                          X 1{Y < y}    at level y
SPJF (c = 0)      X 1{Y ≤ y}      X 1{Y > y}                 X 1{Y < y}    none
Trail(c), SPRPT   X 1{Y ≤ y}      (X − b_y(Y))⁺ 1{Y > y}     X 1{Y < y}    levels y → y − min(x, cy)
  (c = 1)
one bit, short    X 1{Y < T}      X 1{Y ≥ T} (non-preempt.)  —             none
one bit, long     X               —                          X 1{Y < T}    none / at its level
================  ==============  =========================  ============  ===================

Every piece is an integral over the size law with the prediction model's conditional CDF
(``X 1{Y < u}``: weight H(u | x)) or density: the vacation (X − b_r(Y))⁺ has, in its own
value v, the density g_r(v) = ∫_v^{v + Δ} f(x) h(x − v + r | x) dx + (1/c) ∫_{v + Δ}^∞
f(x) h((x − v)/c | x) dx with Δ = rc/(1 − c) (the second part is absent for c = 1). It is
computed once per queue on a coarse grid of v (no oscillation), and interpolated onto the
finer grids the transform needs (each piece's Legendre interpolant). The descending
residence is exp(−s x − λ ∫_{y − m}^{y} (1 − B̃_ℓ(s)) dℓ), m = min(x, cy), from one
antiderivative over a grid of levels ℓ; the same grid carries the tagged predictions.

Nothing here calls the SOAP engine: the generic path and these structures check each
other where both apply, and the first moment equals Mitzenmacher's mean formulas
(tests/test_noisy_distributions.py).
"""

import math

import numpy as np

from ...core.budget import tick
from ...core.errors import ParameterError, PolicyError
from ...core.numerics import (
    legendre_rule,
    oscillation_cuts,
    piece_nodes,
    pieces_antiderivative,
)
from ...laws.grid import prediction_scan, size_cuts
from ...laws.predictions import Threshold, is_noisy
from ...policies.catalogue import PSPJF, SPJF, SPRPT, OneBit, Trail
from .nodes import Nodes, RowView, argument_class, compact, tagged_sums
from .tagged import (
    DESCENDING,
    NONE,
    SAME,
    Decomposition,
    busy_moments,
    busy_period,
    tagged_moments,
    vacation_lst,
)
from .work import Below, Nothing, Work

_RULES = {n: legendre_rule(n) for n in (16, 32)}
_T16 = 2 * _RULES[16][0] - 1
# values at the 16 Gauss nodes of a piece -> Legendre coefficients of their interpolant
_PROJ16 = ((np.polynomial.legendre.legvander(_T16, 15) * (2 * _RULES[16][1])[:, None]).T
           * ((2 * np.arange(16) + 1) / 2)[:, None])
_DECAYED = 45.0
#: The policies covered, as the c of Trail(c) (PSPJF: preemptive at a fixed rank).
_TRAIL_C = {SPJF: 0.0, SPRPT: 1.0}


def covers(policy, prediction):
    """Whether :class:`NoisyStructure` covers this policy under this prediction model."""
    if not is_noisy(prediction):
        return False
    if isinstance(policy, OneBit):
        return isinstance(prediction, Threshold) and policy.preemptive in (False, "resume")
    return (not isinstance(prediction, Threshold)
            and isinstance(policy, (PSPJF, SPJF, SPRPT, Trail)))


# -- grids ---------------------------------------------------------------------------------
def _law_cuts(law):
    c = np.array(sorted({0.0, *size_cuts(law)}), float)
    lo, hi = law.support
    return c[(c >= lo) & (c <= max(hi, lo))]


def _pieces_nodes(cuts, rule):
    """Nodes and quadrature weights (jacobian × Gauss weight) of the pieces between the
    sorted cut rows ``cuts`` (R, C): arrays (R, (C − 1) · n); empty pieces weigh 0."""
    S, W, _ = _RULES[rule]
    a, b = cuts[:, :-1], cuts[:, 1:]
    x, jac = piece_nodes(a, b, S)
    w = np.where((b > a)[..., None], jac * W, 0.0)
    return x.reshape(cuts.shape[0], -1), w.reshape(cuts.shape[0], -1)


def _with_cuts(base, extra):
    """Rows of ``base`` cuts (1-d) each with its own ``extra`` points (R, E; nan: none)
    inside the base's range."""
    lo, hi = base[0], base[-1]
    e = np.where(np.isfinite(extra) & (extra > lo) & (extra < hi), extra, lo)
    return np.sort(np.concatenate([np.broadcast_to(base, (e.shape[0], base.size)), e], 1), 1)


def _density(law, x):
    with np.errstate(all="ignore"):
        return np.nan_to_num(np.where(x > 0, np.asarray(law.pdf(x), float), 0.0),
                             nan=0.0, posinf=0.0)


class _Levels:
    """Linear Legendre pieces over the predictions [0, top]: nodes, weights, and the
    antiderivative of a function given at the nodes, at any points."""

    def __init__(self, edges):
        S, W, _ = _RULES[16]
        self.edges = edges
        self.width = np.diff(edges)
        self.y = (edges[:-1, None] + self.width[:, None] * S).ravel()
        self.w = (self.width[:, None] * W).ravel()

    def antiderivative(self, values, at):
        """∫_0^{at} g(ℓ) dℓ for g given at the nodes (``values``: (nodes, ...)); ``at``
        any array of points in [0, top] (clipped there). Returns at.shape + values' tail."""
        return pieces_antiderivative(self.edges, values, at)


def _y_edges(law, noise, split=1):
    """Pieces over the predictions: the marginal law of Y at quantiles (its head F = 16^-k,
    middle, tail 1 − F = 10^-2k down to 1e-16) and where the law of Y kinks; each cut in
    ``split`` parts."""
    xs, wx = _pieces_nodes(_law_cuts(law)[None, :], 32)
    xs, wx = xs[0], wx[0] * _density(law, xs[0])
    keep = wx > 0
    xs, wx = xs[keep], wx[keep]
    ys = prediction_scan(law, below=1e-12, per_decade=60)
    F = np.asarray(noise.cdf(ys[:, None], xs[None, :]), float) @ wx / wx.sum()
    S = 1 - F
    head = np.interp(-np.arange(1, 7) * np.log(16.0), np.log(np.maximum(F, 1e-300)), ys,
                     left=np.nan, right=np.nan)
    tail = np.interp(np.arange(1, 9) * np.log(100.0), -np.log(np.maximum(S, 1e-300)), ys,
                     left=np.nan, right=np.nan)
    mid = np.interp(np.linspace(0, 1, 9)[1:-1], F, ys)
    lo, hi = law.support
    kinks = noise.y_kinks([v for v in (lo, hi, *law.breakpoints) if 0 < v < math.inf])
    top = np.nanmax(tail) if np.isfinite(tail).any() else ys[-1]
    pts = np.array([0.0, *head, *tail, *mid, *kinks, top], float)
    e = np.unique(pts[np.isfinite(pts) & (pts >= 0) & (pts <= top)])
    if split > 1:
        a, b = e[:-1], e[1:]
        e = np.unique(np.append((a[:, None] + (b - a)[:, None] * np.arange(split) / split),
                                top))
    return e


def _scale_points(u, factors):
    return u[:, None] * factors[None, :]


# -- the pieces of work ------------------------------------------------------------------
def _kink_points(noise, u):
    """The sizes where h(u | x) kinks (the model's ``kinks``), one row per u, padded
    with nan: (len(u), widest)."""
    kinks = [np.array(noise.kinks(float(v)), float) for v in u]
    width = max((k.size for k in kinks), default=0)
    return np.array([np.pad(k, (0, width - k.size), constant_values=np.nan) for k in kinks]
                    ).reshape(len(kinks), width)


def _below(law, noise, u, base, rule, above=False):
    """X 1{Y < u} (X 1{Y ≥ u} with ``above``) for thresholds u (R,): one row each, on the
    law's pieces ``base`` cut where H(u | x) turns (u 4^k, the model's kinks)."""
    extra = np.concatenate([_scale_points(u, 4.0 ** np.arange(-3, 3)),
                            _kink_points(noise, u)], 1)
    x, w = _pieces_nodes(_with_cuts(base, extra), rule)
    H = np.asarray(noise.cdf(u[:, None], x), float)
    g = w * _density(law, x) * (1 - H if above else H)
    gg, vv, _ = compact(g, x)
    out = Nodes(gg, vv)
    out.base = 1.0 - gg.sum(1)
    return out


class _ExcessTable:
    """The density g_r(v) of the vacation (X − b_r(Y))⁺ 1{Y > r} at thresholds r (R,),
    on coarse pieces of v (16 nodes each, values G = g · dv/ds in the piece's variable s),
    with its moments; :meth:`nodes` interpolates it onto finer pieces."""

    def __init__(self, law, noise, r, c):
        self.r, self.c = r, c
        R = r.size
        beta, alpha = noise.ratio_range or (0.0, math.inf)
        cuts = _law_cuts(law)
        finite = cuts[np.isfinite(cuts)]
        top = finite[-1]
        # a few of the law's quantile cuts for the inner integrals over x and for v
        big = finite[finite > 1e-4 * law.scale]
        self.inner = big[::max(1, big.size // 6)]
        coarse = np.unique(np.concatenate([[0.0], big[::2], [top]]))
        # coarse pieces of v: the law's cuts, and where g_r(v) may turn (v = r, r 2^k,
        # the ends of the model's ratio range)
        special = [_scale_points(r, 2.0 ** np.arange(-4, 4))]
        special.append(np.stack([r / alpha if alpha < math.inf else r * np.nan,
                                 r / beta if beta > 0 else r * np.nan], 1))
        if 0 < c < 1:
            # where an inner cut (the ratio range's ends in x) meets the switch x = v + Δ
            D = r * c / (1 - c)
            with np.errstate(all="ignore"):
                special.append(np.stack([D * (1 - c * beta) / (c * beta),
                                         D * (1 - c * alpha) / (c * alpha),
                                         (r + (1 - beta) * D) / beta,
                                         (r - (alpha - 1) * D) / alpha], 1))
        self.cuts = _with_cuts(coarse, np.concatenate(special, 1))     # (R, C)
        a, b = self.cuts[:, :-1], self.cuts[:, 1:]
        S, W, _ = _RULES[16]
        v, jac = piece_nodes(a, b, S)                                   # (R, P, 16)
        G = np.zeros(v.shape)
        for lo in range(0, R, 8):
            sl = slice(lo, lo + 8)
            G[sl] = self._density(law, noise, r[sl, None, None], v[sl], top, beta,
                                  alpha) * jac[sl]
        G = np.where((b > a)[..., None], G, 0.0)
        self.G = G
        self.a, self.b = a, b
        self.mass_w = G * W                                             # (R, P, 16)
        self.v = v

    def _density(self, law, noise, r, v, top, beta, alpha):
        """g_r(v) by Gauss pieces in x over (v, ∞), cut at v + Δ, at the scales of
        d = v − r and of v, and where x − d or (x − v)/c meets the ratio range."""
        c = self.c
        d = v - r
        delta = r * c / (1 - c) if c < 1 else np.full_like(r, np.inf)
        switch = v + delta
        pts = [v, switch, v + np.abs(d) * 0.25, v + np.abs(d), v + 4 * np.abs(d),
               v + 16 * np.abs(d), 4 * v, np.broadcast_to(top, v.shape)]
        if beta < 1:
            pts.append(np.where(d > 0, d / (1 - beta), v))
        if alpha > 1 and alpha < math.inf:
            pts.append(np.where(d < 0, -d / (alpha - 1), v))
        if 0 < c < 1:
            pts.append(v / (1 - c * beta))
            if c * alpha < 1:
                pts.append(v / (1 - c * alpha))
        pts += [np.broadcast_to(p, v.shape) for p in self.inner]
        P = np.stack([np.broadcast_to(p, v.shape) for p in pts], -1)
        P = np.where(np.isfinite(P), np.clip(P, v[..., None], np.maximum(top, v[..., None])),
                     v[..., None])
        P = np.sort(np.concatenate([P, np.broadcast_to(top, v.shape)[..., None]], -1), -1)
        S, W, _ = _RULES[16]
        lo, hi = P[..., :-1, None], P[..., 1:, None]
        # linear pieces, and geometric ones where wide (b ≥ 2a > 0): piece_nodes' map
        # without its branches for infinite pieces and pieces from 0 (none here but the
        # first of v = 0, where the density is smooth)
        wide = (lo > 0) & (hi >= 2 * lo)
        with np.errstate(all="ignore"):
            lr = np.where(wide, np.log(hi / np.where(lo > 0, lo, 1.0)), 0.0)
            geo = lo * np.exp(lr * S)
        x = np.where(wide, geo, lo + (hi - lo) * S)
        jac = np.where(wide, geo * lr, hi - lo)
        wx = np.where(hi > lo, jac * W, 0.0) * _density(law, x)
        vv, rr = v[..., None, None], r[..., None, None]
        with np.errstate(all="ignore"):
            inA = x < switch[..., None, None]
            hA = np.asarray(noise.pdf(x - vv + rr, x), float)
            if 0 < c < 1:
                hB = np.asarray(noise.pdf((x - vv) / c, x), float) / c
            else:
                hB = 0.0
            h = np.where(inA, hA, hB)
        h = np.nan_to_num(np.where(x > vv, h, 0.0), nan=0.0, posinf=0.0)
        return (wx * h).sum((-1, -2))

    def moments(self):
        """E[V^k], k = 0..4, per threshold: (5, R)."""
        return np.stack([(self.mass_w * self.v**k).sum((1, 2)) for k in range(5)])

    def nodes(self, omega, live):
        """The vacation as :class:`Nodes` on the coarse pieces, each cut to hold one
        oscillation of e^{-i ω v} below ``live``."""
        coef = np.einsum("nq,rpq->rpn", _PROJ16, self.G)               # (R, P, 16)
        rows = []
        for i in range(self.r.size):
            a, b = self.a[i], self.b[i]
            real = b > a
            a, b = a[real], b[real]
            if not a.size:
                rows.append((np.zeros(0), np.zeros(0)))
                continue
            near = a < live
            n = np.where(near, np.maximum(np.ceil(omega * (b - a) / (math.pi * 2)), 1), 1)
            n = np.minimum(n, 4000).astype(int)
            parent = np.repeat(np.arange(a.size), n)
            k = np.concatenate([np.arange(m) for m in n])
            sa = a[parent] + (b - a)[parent] * k / n[parent]
            sb = a[parent] + (b - a)[parent] * (k + 1) / n[parent]
            x, jac = piece_nodes(sa, sb, _RULES[16][0])                 # (F, 16)
            s = _inverse(a[parent][:, None], b[parent][:, None], x)
            dxds = _slope(a[parent][:, None], b[parent][:, None], s)
            t = 2 * s - 1
            Gx = np.einsum("fqn,fn->fq", np.polynomial.legendre.legvander(t, 15),
                           coef[i][np.flatnonzero(real)][parent])
            with np.errstate(all="ignore"):
                g = np.where(dxds > 0, Gx / dxds, 0.0) * jac * _RULES[16][1]
            rows.append((g.ravel(), x.ravel()))
        K = max(max(r[0].size for r in rows), 1)
        gg, vv = np.zeros((len(rows), K)), np.zeros((len(rows), K))
        for i, (g, x) in enumerate(rows):
            gg[i, :g.size], vv[i, :x.size] = g, x
        out = Nodes(gg, vv)
        out.base = 1.0 - gg.sum(1)
        return out


def _inverse(a, b, x):
    """The variable s in (0, 1) of the point x in the piece [a, b] (finite), as
    :func:`~qtheory.core.numerics.piece_nodes` maps it."""
    with np.errstate(all="ignore"):
        wide = (a > 0) & (b >= 2 * a)
        return np.clip(np.where(a == 0, np.sqrt(x / b),
                                np.where(wide, np.log(x / a) / np.log(b / a),
                                         (x - a) / (b - a))), 0.0, 1.0)


def _slope(a, b, s):
    """dx/ds of that map at s."""
    with np.errstate(all="ignore"):
        wide = (a > 0) & (b >= 2 * a)
        return np.where(a == 0, 2 * b * s,
                        np.where(wide, a * (b / a) ** s * np.log(b / a), b - a))


# -- the structure -------------------------------------------------------------------------
class NoisyStructure:
    """The transform, moments and atom of the response time under noisy predictions, for
    PSPJF, SPJF, SPRPT, Trail(c) and the one-bit classes (module docstring)."""

    method = "formula"
    #: accuracy of the transform values (:func:`~.inversion.rounding`): the P99 of SPRPT
    #: under exponential noise at ρ = 0.9 moves by 5e-6 (density 1.8e-4 there) when only
    #: the order of the sums over ~3·10^5 tagged nodes changes: 1e-9 in the tail, which is
    #: 10^{16/3} · 5e-15
    eps = 1e-14

    def __init__(self, queue, policy):
        q = queue.numeric()
        if not covers(policy, q.prediction):
            raise PolicyError(f"{policy.name} with {q.prediction!r}: no closed structure "
                              "under noisy predictions.")
        self.law, self.lam, self.policy = q.size, float(q.arrival_rate), policy
        pred = q.prediction
        self.bit = isinstance(policy, OneBit)
        self.noise = pred.noise if self.bit else pred
        self.T = float(pred.T) if self.bit else None
        if self.bit:
            self.c, self.residence = None, None
        elif isinstance(policy, PSPJF):
            self.c, self.residence = None, SAME
        else:
            self.c = float(policy.c) if isinstance(policy, Trail) else _TRAIL_C[type(policy)]
            self.residence = NONE if self.c == 0 else DESCENDING
        self._cache = {}

    def slow(self, size):
        return None

    # -- grids and pieces, cached per (split, omega class, decay class) -----------------------
    def _levels(self, split):
        if ("levels", split) not in self._cache:
            self._cache[("levels", split)] = _Levels(_y_edges(self.law, self.noise, split))
        return self._cache[("levels", split)]

    def _base(self, omega, live):
        return oscillation_cuts(_law_cuts(self.law), omega, live, nodes=16)

    def _work(self, key, split=1, y=None):
        """(levels, rows, the work X 1{Y < row} at each row): the rows are the levels, or
        the single level y (a tagged job's, given its prediction)."""
        if ("work", key, split, y) not in self._cache:
            tick(stage="the work below each prediction level")
            om, dk = key
            lv = self._levels(split)
            rows = lv.y if y is None else np.array([y])
            base = self._base(om, _DECAYED / dk if dk > 0 else math.inf)
            below = _below(self.law, self.noise, rows, base, 16 if om > 0 else 32)
            self._cache[("work", key, split, y)] = (lv, rows, below)
        return self._cache[("work", key, split, y)]

    def _table(self, split=1, y=None):
        """Trail's vacation table (c > 0) at the levels, or at the single level y (the
        same for every split)."""
        key = ("table", split if y is None else None, y)
        if key not in self._cache:
            tick(stage="Trail's vacation table")
            rows = self._levels(split).y if y is None else np.array([y])
            self._cache[key] = _ExcessTable(self.law, self.noise, rows, self.c)
        return self._cache[key]

    def _vacation_moments(self, split=1, y=None):
        """The vacations at the rows as pieces the closed moments read (Trail: the table's
        moments; SPJF: the nodes; PSPJF: none)."""
        if self.c is None:
            return []
        if self.c > 0:
            return [_Moments(self._table(split, y).moments())]
        return [RowView(self._vacation((0.0, 0.0), split, y))]

    def _vacation(self, key, split=1, y=None):
        """The vacations at the rows of :meth:`_work` as nodes, or None (PSPJF)."""
        if ("vacation", key, split, y) not in self._cache:
            om, dk = key
            live = _DECAYED / dk if dk > 0 else math.inf
            vac = None
            if self.c is not None and self.c > 0:
                vac = self._table(split, y).nodes(om, live)
            elif self.c == 0:
                rows = self._work(key, split, y)[1]
                vac = _below(self.law, self.noise, rows, self._base(om, live),
                             16 if om > 0 else 32, above=True)
            self._cache[("vacation", key, split, y)] = vac
        return self._cache[("vacation", key, split, y)]

    def _tagged(self, key, size, split=1, y=None):
        """Tagged nodes (rows: the level grid's predictions, or the one prediction ``y``;
        K sizes per row): sizes x (R, K) and weights (R, K) of f(x) h(y | x) dx dy (given
        the size: h(y | x) dy; given the prediction: the law of X given Y = y)."""
        if ("tagged", key, size, split, y) in self._cache:
            return self._cache[("tagged", key, size, split, y)]
        om, dk = key
        lv = self._levels(split)
        rows = lv.y if y is None else np.array([y])
        if size is not None:
            x = np.full((rows.size, 1), float(size))
            w = (lv.w[:, None] * np.asarray(self.noise.pdf(rows[:, None], x), float)
                 if y is None else np.ones((1, 1)))
        else:
            live = _DECAYED / dk if dk > 0 else math.inf
            extra = [_scale_points(rows, 4.0 ** np.arange(-3, 3)),
                     _kink_points(self.noise, rows)]
            if self.c:
                extra.append(self.c * rows[:, None])
            x, wx = _pieces_nodes(_with_cuts(self._base(om, live), np.concatenate(extra, 1)),
                                  16 if om > 0 else 32)
            w = wx * _density(self.law, x) * np.nan_to_num(
                np.asarray(self.noise.pdf(rows[:, None], x), float))
            if y is None:
                w = lv.w[:, None] * w
            else:
                mass = float(w.sum())      # the density of Y at y
                if not mass > 0:
                    raise ParameterError(f"prediction = {y!r} has density 0 under "
                                         f"{self.noise!r} and {self.law!r}: no job has it.")
                w = w / mass
        out = (x, np.nan_to_num(w))
        self._cache[("tagged", key, size, split, y)] = out
        return out

    # -- one bit -----------------------------------------------------------------------------
    def _bit_parts(self, key, size, bit=None):
        """The short and long classes: (decomposition, weights); given the ``bit``, its
        class alone, with the weights of the law of X given the bit."""
        parts = self._bit_classes(key, size)
        if bit is None:
            return parts
        dec, w = parts[bit]
        mass = float(np.sum(w))
        if not mass > 0:
            raise ParameterError(f"prediction = {bit!r}: no job gets this bit "
                                 f"{'given its size ' if size is not None else ''}under "
                                 f"{self.noise!r} and T = {self.T:g}.")
        return ((dec, w / mass),)

    def _bit_classes(self, key, size):
        om, dk = key
        live = _DECAYED / dk if dk > 0 else math.inf
        rule = 16 if om > 0 else 32
        T = np.array([self.T])
        base = self._base(om, live)
        short = _below(self.law, self.noise, T, base, rule)
        if size is not None:
            x = np.array([[float(size)]])
            H = float(self.noise.cdf(self.T, float(size)))
            w = np.array([[1.0]])
        else:
            x, w = _pieces_nodes(_with_cuts(base, np.concatenate(
                [_scale_points(T, 4.0 ** np.arange(-3, 3)), _kink_points(self.noise, T)], 1)),
                rule)
            w = w * _density(self.law, x)
            H = np.asarray(self.noise.cdf(self.T, x), float)
        pre = self.policy.preemptive == "resume"
        shorts = Decomposition(x, RowView(short), Nothing(), NONE,
                               [] if pre else [RowView(_below(
                                   self.law, self.noise, T, base, rule, above=True))])
        longs = Decomposition(x, Below(self.law, np.inf), RowView(short),
                              SAME if pre else NONE)
        return ((shorts, w * H), (longs, w * (1 - H)))

    # -- the transform -----------------------------------------------------------------------
    def transform(self, s, size=None, shifted=False, prediction=None):
        """E[e^{-sT}] (1-d s, Re s > 0), given the size with ``size`` (of T − x with
        ``shifted``) and given the prediction (the bit, 0 short or 1 long, for one bit)
        with ``prediction``."""
        s = np.asarray(s, complex).ravel()
        omega = float(np.max(np.abs(s.imag), initial=0.0)) + 2 * self.lam
        key = argument_class(omega, float(np.min(s.real)))
        if self.bit:
            total = np.zeros(s.size, complex)
            for dec, w in self._bit_parts(key, size, prediction):
                sigma, _ = busy_period(s[None, :], self.lam, dec.new)
                wait = vacation_lst(sigma, self.lam, dec.old, dec.vacations)[0]
                if dec.residence == SAME:
                    expo = (sigma[0] - s if shifted else sigma[0]) * dec.x[0][:, None]
                else:
                    expo = 0.0 if shifted else s * dec.x[0][:, None]
                total += wait * (w[0] @ np.exp(-expo))
            return total
        lv, rows, below = self._work(key, y=prediction)
        vac = self._vacation(key, y=prediction)
        x, w = self._tagged(key, size, y=prediction)
        tick(s.size, stage="the transform at every prediction level")
        sigma, B = busy_period(np.broadcast_to(s, (rows.size, s.size)), self.lam, below)
        vacs = [] if vac is None else [RowView(vac)]
        wait = vacation_lst(sigma, self.lam, RowView(below), vacs)       # (rows, S)
        extra = None
        if self.residence == SAME:
            coef = sigma - s if shifted else sigma
        else:
            coef = np.zeros_like(sigma) if shifted else np.broadcast_to(s, sigma.shape)
            if self.residence == DESCENDING:
                if prediction is not None:   # the levels below the tagged one
                    below_all = self._work(key)[2]
                    B = busy_period(np.broadcast_to(s, (lv.y.size, s.size)), self.lam,
                                    below_all)[1]
                extra = self._descending(lv, self.lam * (1 - B), x, rows)
        return np.einsum("rs,rs->s", wait, tagged_sums(w, x, coef, extra))

    def _descending(self, lv, values, x, rows):
        """∫_{y − m}^{y} g(ℓ) dℓ, m = min(x, cy), for every tagged node (rows y, sizes x),
        from g at the levels (``values``: (levels, ...)). Sizes past cy share one lower
        end per row, so only the sizes below it need points of their own."""
        y = rows[:, None]
        below = x < self.c * y
        r, k = np.nonzero(below)
        ends = lv.antiderivative(values, np.concatenate([rows, rows * (1 - self.c),
                                                         (y - x)[r, k]]))
        R = rows.size
        top, low = ends[:R], ends[R:2 * R]
        out = np.broadcast_to((top - low)[:, None], x.shape + values.shape[1:]).copy()
        out[r, k] = top[r] - ends[2 * R:]
        return out

    # -- moments and the atom -----------------------------------------------------------------
    def _moments_once(self, size, split, prediction=None):
        tick(stage=f"moments (prediction pieces split {split})")
        key = (0.0, 0.0)
        if self.bit:
            out = np.zeros(3)
            for dec, w in self._bit_parts(key, size, prediction):
                m = np.array(tagged_moments(self.lam, dec), float)
                out += np.array([np.sum(w * np.broadcast_to(v, w.shape)) for v in m])
            return out
        lv, rows, below = self._work(key, split, prediction)
        x, w = self._tagged(key, size, split, prediction)
        vac = self._vacation_moments(split, prediction)
        cum = None
        if self.residence == DESCENDING:
            below_all = below if prediction is None else self._work(key, split)[2]
            kappa = np.stack(busy_moments(self.lam, below_all), 1)          # (levels, 3)
            m = np.minimum(x, self.c * rows[:, None])
            A = self._descending(lv, kappa, x, rows)
            cum = tuple(A[:, :, i] for i in range(3))
            # past age m the job runs alone (rank below 0, or non-preemptible): x − m
            cum = (cum[0] + (x - m), cum[1], cum[2])
        dec = Decomposition(x, RowView(below), RowView(below), self.residence, vac)
        m = tagged_moments(self.lam, dec, cum)
        return np.array([np.sum(w * np.broadcast_to(v, x.shape)) for v in m])

    def moments(self, size=None, prediction=None):
        """(E[T], E[T²], E[T³]) and their errors: the difference from a second computation
        with every prediction piece cut in two."""
        a = self._moments_once(size, 2, prediction)
        b = self._moments_once(size, 1, prediction)
        return a, np.abs(a - b) + 1e-14 * np.abs(a)

    def atom(self, size, prediction=None):
        """P(T_x = x): no relevant work found, no new work while served (averaged over
        the predictions given x, or given the prediction too)."""
        key = (0.0, 0.0)
        if self.bit:
            total = 0.0
            for dec, w in self._bit_parts(key, size, prediction):
                empty = 1 - self.lam * (np.asarray(dec.old.moment(1)) + sum(
                    np.asarray(v.moment(1)) for v in dec.vacations))
                alone = (np.exp(-self.lam * np.asarray(dec.new.positive()) * dec.x)
                         if dec.residence == SAME else 1.0)
                total += float(np.sum(w * empty * alone))
            return total
        lv, rows, below = self._work(key, y=prediction)
        x, w = self._tagged(key, size, y=prediction)
        vm = sum(v.moment(1)[:, 0] for v in self._vacation_moments(y=prediction))
        empty = 1 - self.lam * (below.moment(1) + vm)
        pos = below.positive()
        if self.residence == SAME:
            alone = np.exp(-self.lam * pos[:, None] * x)
        elif self.residence == DESCENDING:
            pos_all = pos if prediction is None else self._work(key)[2].positive()
            alone = np.exp(-self.lam * self._descending(lv, pos_all, x, rows))
        else:
            alone = 1.0
        return float(np.sum(w * empty[:, None] * alone))


class _Moments(Work):
    """A vacation known by its moments only (E[V^k], k = 0..4, per row): enough for the
    closed moments."""

    def __init__(self, m):
        self.m = m

    def moment(self, k):
        return self.m[k][:, None]

