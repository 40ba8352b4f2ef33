"""The generic transform's jobs of a component whose descriptor is a noisy prediction y
with density h(y | x) (the SOAP engine's "cond" components): the tagged jobs and the
population's pieces of work become (y, x) products (docs/theory/distributions.md, "The
generic path under noisy predictions").

The structure comes from the SOAP mean engine's declaration-derived helpers, nothing
here knows a policy: :class:`~qtheory.methods.soap.affine.AffineCond` gives, for a
threshold rank r, the intervals of predictions on which the level sets of a job keep
their structure and their ends (n, c_0, B_i, C_i) as affine functions a + b y of the
prediction there, and the sizes where integrals over y of functions of min(w, end) kink;
:class:`~qtheory.methods.soap.affine.ScaleModel` the prediction model as a scale
family Y = x Z (conditional quantiles of Y / x, the ends of its support, closed-form
conditional masses). The y grid of the tagged jobs is the mean engine's
(:meth:`~qtheory.methods.soap.population.Population.y_cuts`, scanned by
:func:`~qtheory.laws.grid.prediction_scan`).

Per threshold, interval and size node x (work w = x + shift), the integral over the
predictions in the interval (within the support of Y | x, cut where an end equals w)
splits into ranges on which each piece of work is

* the work itself (an end above w): one node at w with the conditional mass of the range;
* a constant (an end with b = 0, or B and C of equal slope): one node, merged per row;
* a function a + b y of the prediction (b ≠ 0): Gauss nodes in y, cut at x times the
  conditional quantiles of Z and where e^{-i ω (a + b y)} turns.

New and first old work (min(W, n), min(W, c_0)) are of the first two kinds for every
catalogue policy (n, c_0 are 0, inf or a fixed age), so the busy periods keep one node
per size. The vacations min(W, C_i) − min(W, B_i) with B_i = y − r (SPRPT, Trail) are of
the third kind: a product of sizes and predictions, needed only at the tagged jobs' own
worst future ranks and once per set of transform arguments; it is summed in compiled code
in blocks of rows (:class:`CondVacations`), never stored whole.

Examples
--------
>>> import qtheory as qt
>>> from qtheory.methods.distribution.generic import GenericStructure
>>> q = qt.MG1(0.7, qt.Exponential(1.0), qt.ExpNoise())
>>> sorted(GenericStructure(q, qt.SkipPredict(1.0, qt.ExpNoise())).cond)   # two noisy parts
[0, 1]
"""

import math

import numpy as np
from numba import njit, prange

from ...core.budget import tick
from ...core.errors import PolicyError
from ...core.numerics import legendre_rule, oscillation_cuts, piece_nodes, split_pieces
from ...laws.grid import size_cuts
from ..soap.affine import AffineCond, ScaleModel
from ..soap.envelope import envelope

#: Gauss rules on (0, 1) (nodes, weights) by number of nodes.
_GAUSS = {n: legendre_rule(n)[:2] for n in (12, 16, 32)}
#: Nodes per piece over sizes and over predictions for the generic rules 32 and 16 (the
#: second computation, for the error estimate, has fewer on the same pieces).
_XNODES = {32: 16, 16: 12}
_YNODES = {32: 16, 16: 12}
#: Product nodes generated (and kept, below _KEEP in all) per block.
_BLOCK = 2_000
_KEEP = 8_000_000


@njit(cache=True, parallel=True)
def _row_sums(z, pos, row, g, v, out):
    """out[p, j] += Σ_k g[k] e^{-z[p, j] v[k]} over nodes k of row ``row[k]`` kept at
    position p = pos[row[k]] ≥ 0 (compiled: the columns split between cores)."""
    S = z.shape[1]
    for j in prange(S):
        for k in range(row.size):
            p = pos[row[k]]
            if p < 0:
                continue
            out[p, j] += g[k] * np.exp(-z[p, j] * v[k])


@njit(cache=True)
def _row_moments(row, g, v, out):
    """out[k, row] += g v^k, k = 0..4."""
    for i in range(row.size):
        t = g[i]
        for k in range(5):
            out[k, row[i]] += t
            t *= v[i]


def _mass(sm, x, lo, hi):
    """P(lo < Y ≤ hi | X = x) (0 where hi ≤ lo)."""
    return sm.moments(x, lo, np.maximum(hi, lo))[0]


def _pack(R, row, val, wt):
    """Per-row node arrays (R, K) (packed to the left) from (row, value, weight) triples
    (value 0 kept: :func:`~.nodes.compact` moves it to the row's mass at 0)."""
    keep = wt != 0
    row, val, wt = row[keep], val[keep], wt[keep]
    if not row.size:
        return np.zeros((R, 1)), np.zeros((R, 1))
    order = np.argsort(row, kind="stable")
    row, val, wt = row[order], val[order], wt[order]
    counts = np.bincount(row, minlength=R)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(row.size) - start[row]
    g, v = np.zeros((R, max(int(counts.max()), 1))), np.zeros((R, max(int(counts.max()), 1)))
    g[row, slot], v[row, slot] = wt, val
    return g, v


def _merge_constants(row, val, wt):
    """Nodes of one row with the same value summed into one."""
    if not row.size:
        return row, val, wt
    z = np.empty(row.size, complex)
    z.real, z.imag = row, val
    u, inv = np.unique(z, return_inverse=True)
    return u.real.astype(np.int64), u.imag, np.bincount(inv.ravel(), weights=wt, minlength=u.size)


class _Triples:
    """(row, value, weight) nodes: single ones (values of the work or constants) and
    product items whose values a + b y run over a range of predictions."""

    def __init__(self):
        self.single = [[], [], []]
        self.const = [[], [], []]
        self.items = {k: [] for k in ("row", "x", "gx", "ya", "yb", "av", "bv")}

    def add(self, kind, row, val, wt):
        keep = wt != 0
        target = self.const if kind == "const" else self.single
        for lst, arr in zip(target, (row, val, wt)):
            lst.append(np.asarray(arr)[keep])

    def add_items(self, **kw):
        keep = kw["yb"] > kw["ya"]
        for k, arr in kw.items():
            self.items[k].append(np.asarray(arr)[keep])

    def arrays(self):
        def cat(lst, dtype=float):
            return np.concatenate(lst).astype(dtype) if lst else np.zeros(0, dtype)
        s = [cat(self.single[0], np.int64), cat(self.single[1]), cat(self.single[2])]
        c = _merge_constants(cat(self.const[0], np.int64), cat(self.const[1]),
                             cat(self.const[2]))
        nodes = tuple(np.concatenate([a, b]) for a, b in zip(s, c))
        items = {k: cat(v, np.int64 if k == "row" else float) for k, v in self.items.items()}
        return nodes, items


class CondComponent:
    """Tagged jobs and population pieces of one "cond" component of a SOAP engine."""

    def __init__(self, eng, comp):
        sm = ScaleModel.of(eng.pred)
        why = None
        if sm is None:
            why = (f"{eng.pred!r} is not a scale family (Y = x Z): the generic transform's "
                   "prediction integrals need it (CustomPrediction(..., scale_family=True) "
                   "declares one)")
        elif eng.policy.profile(np.ones(1), comp.part) is None:
            why = ("its rank is given as a function, not as pieces affine in the "
                   "prediction (a user's qt.Rank)")
        else:
            aff = AffineCond(eng, comp, sm)
            if aff.coef is None:
                why = "its rank pieces are not affine in the prediction"
        if why is not None:
            raise PolicyError(
                f"{eng.policy.name} with {eng.pred!r}: the response-time distribution under "
                f"noisy predictions is not covered by the generic SOAP transform: {why}. "
                "Its mean is (q.mean_response_time); its tail and quantiles come from "
                "method='simulation'.")
        self.eng, self.comp, self.aff, self.sm = eng, comp, aff, sm
        self.pred, self.law = eng.pred, eng.size
        self.shift = comp.shift
        self.zcuts = np.unique(np.concatenate([sm.zcuts[::2], sm.zedges]))

    # -- sizes -------------------------------------------------------------------------------
    def _weight(self, x):
        with np.errstate(all="ignore"):
            return np.nan_to_num(np.asarray(self.eng._weight(self.comp)(x), float),
                                 nan=0.0, posinf=0.0)

    def _x_nodes(self, cuts, n):
        """Size nodes and weights (weight function, Gauss weight and Jacobian) on pieces
        between the sorted cut rows ``cuts`` (J, C); a discrete law's atoms otherwise."""
        if self.law.discrete:
            xs = np.asarray(self.law.values, float)
            g = np.asarray(self.law.weights, float) * (
                1.0 if self.comp.weight is None else np.asarray(self.comp.weight(xs), float))
            J = cuts.shape[0]
            return np.broadcast_to(xs, (J, xs.size)), np.broadcast_to(g, (J, xs.size))
        S, W = _GAUSS[n]
        a, b = cuts[:, :-1], cuts[:, 1:]
        x, jac = piece_nodes(a, b, S)
        g = np.where((b > a)[..., None], jac * W * self._weight(x), 0.0)
        J = cuts.shape[0]
        return x.reshape(J, -1), g.reshape(J, -1)

    def _base_cuts(self, omega, live, n):
        lo, hi = self.law.support
        c = np.array(sorted({lo, hi, *size_cuts(self.law), *self.comp.jumps}), float)
        c = c[(c >= lo) & (c <= max(hi, lo))]
        return oscillation_cuts(c, omega, live, nodes=n)

    # -- the tagged jobs ---------------------------------------------------------------------
    def y_rows(self, omega, live, rule, size=None):
        """The tagged predictions and their weights: the mean engine's y pieces (a
        discrete law's also cut where the profile's structure crosses an atom), each
        cut to hold one turn of e^{-i ω y} below ``live``, ``_YNODES[rule]`` nodes each."""
        eng = self.eng
        with np.errstate(divide="ignore", invalid="ignore"):   # empty pieces' nodes at x = 0
            cuts = eng.y_cuts(self.comp)
        if self.law.discrete or size is not None:
            # where the profile's structure crosses an atom's (or the given size's) work,
            # T_{x,y} kinks or jumps in y: the y rule must not straddle it
            works = None if size is None else np.array([float(size) + self.shift])
            cuts = np.union1d(cuts, eng._atom_breaks(self.comp, cuts, works))
        a, b = cuts[:-1], cuts[1:]
        if omega > 0:
            # a transform (|T~| <= 1) loses at most the mass it leaves out: the pieces
            # beyond P(Y > y) < 1e-13 are dropped (they would cut the levels for
            # oscillations up to e^{-45} of decay, thousands of rows for nothing)
            tail = self.tail(a)
            a, b = a[tail >= 1e-13], b[tail >= 1e-13]
        near = a < live
        sa, sb = split_pieces(a[near], b[near], omega, nodes=16)
        a, b = np.concatenate([sa, a[~near]]), np.concatenate([sb, b[~near]])
        S, W = _GAUSS[_YNODES[rule]]
        y, jac = piece_nodes(a, b, S)
        return y.ravel(), (jac * W).ravel()

    def tail(self, y):
        """P(Y > y) over this component (its weight times the size law), by the size
        law's Gauss nodes (the mean engine's table) and the model's conditional masses."""
        from ..soap.population import Component
        tab = self.eng._table(Component("fixed", self.comp.weight), None)
        xs, wx = tab.nodes[0][0].ravel() - tab.shift, tab.nodes[1][0].ravel()
        keep = (wx != 0) & (xs > 0)
        xs, wx = xs[keep], wx[keep]
        y = np.asarray(y, float)
        return np.array([wx @ _mass(self.sm, xs, np.full(xs.size, v), np.full(xs.size, np.inf))
                         for v in y]) if y.size else y

    def tagged(self, omega, live, rule, size=None, block=48):
        """Tagged sets (envelope, works, weights) in blocks of ``block`` predictions: over
        (y, x) with weight w(x) f(x) h(y | x) (given the size x: h(y | x))."""
        ys, wy = self.y_rows(omega, live, rule, size)
        n = _XNODES[rule]
        base = None if size is not None else self._base_cuts(omega, live, n)
        out = []
        for lo in range(0, ys.size, block):
            tick(stage="tagged jobs under noisy predictions")
            y, w_y = ys[lo:lo + block], wy[lo:lo + block]
            pr = self.eng.profile(self.comp, y)
            if size is not None:
                x = np.full((y.size, 1), float(size))
                h = np.nan_to_num(np.asarray(self.pred.pdf(y[:, None], x), float))
                g = w_y[:, None] * h
            else:
                if self.law.discrete:
                    x, gx = self._x_nodes(np.zeros((y.size, 2)), n)
                else:
                    # where the integrand in x turns: y 4^k, the model's kinks, and the
                    # ages where the profile's structure changes (the mean engine's cuts)
                    extra = [y[:, None] * 4.0 ** np.arange(-3, 3)]
                    kinks = [np.array(self.pred.kinks(float(v)), float) for v in y]
                    width = max((k.size for k in kinks), default=0)
                    extra.append(np.array([np.pad(k, (0, width - k.size),
                                                  constant_values=np.nan) for k in kinks]
                                          ).reshape(y.size, width))
                    extra.append(self.eng._critical(pr) - self.shift)
                    e = np.concatenate(extra, 1)
                    e = np.where(np.isfinite(e) & (e > base[0]) & (e < base[-1]), e, base[0])
                    cuts = np.sort(np.concatenate(
                        [np.broadcast_to(base, (y.size, base.size)), e], 1), 1)
                    x, gx = self._x_nodes(cuts, n)
                with np.errstate(all="ignore"):
                    h = np.nan_to_num(np.asarray(self.pred.pdf(y[:, None], x), float))
                g = w_y[:, None] * gx * h
            keep = g != 0
            rows = np.broadcast_to(np.arange(y.size)[:, None], x.shape)[keep]
            xk, gk = np.asarray(x)[keep], g[keep]
            w = xk + self.shift
            out.append((envelope(pr.take(rows), w), w, gk))
        return out

    # -- the population ------------------------------------------------------------------------
    def _structure(self, rc, rv, omega, live, n):
        """Intervals of predictions per threshold with their affine ends and size nodes:
        (threshold index, lo, hi, a, b, x, g), x and g (J, K)."""
        aff = self.aff
        ri, lo, hi = aff._intervals(rc, rv)
        ea, eb = aff.ends(rc[ri], rv[ri], lo, hi)
        if self.law.discrete:
            x, g = self._x_nodes(np.zeros((ri.size, 2)), n)
        else:
            base = self._base_cuts(omega, live, n)
            kinks = aff.x_kinks(ea, eb, lo, hi, base[0], base[-1])
            cuts = np.sort(np.concatenate([np.broadcast_to(base, (ri.size, base.size)),
                                           kinks], 1), 1)
            x, g = self._x_nodes(cuts, n)
        return ri, lo, hi, ea, eb, x, g

    def population(self, rc, rv, need, omega, live, rule):
        """New work at every threshold (rc, rv), first old work and vacations at the
        thresholds ``need`` (boolean): new and old as (row, value, weight) nodes, the
        vacations as :class:`CondVacations`."""
        n = _XNODES[rule]
        new, old, vac = _Triples(), _Triples(), _Triples()
        R = rc.size
        for start in range(0, R, 64):
            tick(stage=f"population under noisy predictions ({start} of {R} thresholds)")
            sl = np.arange(start, min(start + 64, R))
            ri, lo, hi, ea, eb, x, g = self._structure(rc[sl], rv[sl], omega, live, n)
            ri = sl[ri]
            w = x + self.shift
            L = np.maximum(lo[:, None], self.sm.zlo * x)
            H = np.minimum(hi[:, None], self.sm.zhi * x)
            H = np.maximum(H, L)
            rows = np.broadcast_to(ri[:, None], x.shape)
            self._min_piece(new, rows, x, g, w, L, H, ea[:, 0], eb[:, 0])
            wanted = need[ri]
            if not wanted.any():
                continue
            sel = (rows[wanted], x[wanted], g[wanted], w[wanted], L[wanted], H[wanted])
            self._min_piece(old, *sel, ea[wanted, 1], eb[wanted, 1])
            P = (ea.shape[1] - 2) // 2
            # a vacation is an interval [B, C) that starts after age 0, or at 0 when c_0 = 0
            # (structure is constant on the interval: judged at a prediction inside it)
            lw, hw = lo[wanted], hi[wanted]
            yin = np.where(np.isfinite(hw), 0.5 * (lw + hw), lw + self.law.scale)
            c0 = ea[wanted, 1] + eb[wanted, 1] * yin
            for i in range(P):
                aB, bB = ea[wanted, 2 + i], eb[wanted, 2 + i]
                aC, bC = ea[wanted, 2 + P + i], eb[wanted, 2 + P + i]
                with np.errstate(invalid="ignore"):
                    ok = np.isfinite(aB) & ((aB + bB * yin > 0) | (c0 == 0))
                if ok.any():
                    self._gap_piece(vac, *(z[ok] for z in sel), aB[ok], bB[ok], aC[ok], bC[ok])
        return new, old, vac

    def _min_piece(self, out, rows, x, g, w, L, H, a, b):
        """min(W, a + b y) over the predictions in (L, H] (rows (J, K); a, b (J,))."""
        a, b = a[:, None], b[:, None]
        flat = (b == 0) | ~np.isfinite(a)
        with np.errstate(all="ignore"):
            root = np.where(flat, L, (w - a) / np.where(flat, 1.0, b))
        root = np.clip(np.nan_to_num(root, nan=L), L, H)
        # the range where the end is above the work (value w) and where it is below
        up = (b > 0) & ~flat
        wlo, whi = np.where(flat, L, np.where(up, root, L)), np.where(flat, H, np.where(up, H, root))
        elo, ehi = np.where(up, L, root), np.where(up, root, H)
        with np.errstate(invalid="ignore"):
            const = flat & np.isfinite(a) & (a < w)
        mw = _mass(self.sm, x, wlo, whi)
        out.add("single", rows[~const], w[~const], (g * mw)[~const])
        out.add("const", rows[const], np.broadcast_to(a, w.shape)[const], (g * mw)[const])
        prod = ~flat & (ehi > elo)
        if prod.any():
            out.add_items(row=rows[prod], x=x[prod], gx=g[prod], ya=elo[prod], yb=ehi[prod],
                          av=np.broadcast_to(a, w.shape)[prod],
                          bv=np.broadcast_to(b, w.shape)[prod])

    def _gap_piece(self, out, rows, x, g, w, L, H, aB, bB, aC, bC):
        """min(W, C) − min(W, B) for B = aB + bB y ≤ C = aC + bC y over (L, H]."""
        aB, bB, aC, bC = (z[:, None] for z in (aB, bB, aC, bC))
        pts = [L, H]
        with np.errstate(all="ignore"):
            for a, b in ((aB, bB), (aC, bC)):
                r = np.where((b != 0) & np.isfinite(a), (w - a) / np.where(b != 0, b, 1.0), L)
                pts.append(np.clip(np.nan_to_num(r, nan=L), L, H))
        pts = np.sort(np.stack(pts, -1), -1)
        shape = w.shape
        for k in range(3):
            lo, hi = pts[..., k], pts[..., k + 1]
            live = hi > lo
            if not live.any():
                continue
            with np.errstate(all="ignore"):
                mid = np.where(np.isfinite(hi), 0.5 * (lo + hi), lo + 1.0)
                Bm, Cm = aB + bB * mid, np.where(np.isfinite(aC), aC + bC * mid, np.inf)
            inside = live & (Bm < w) & (w <= Cm)          # value w − B(y)
            past = live & (Cm < w)                         # value C(y) − B(y)
            m = np.where(inside | past, _mass(self.sm, x, lo, np.where(inside | past, hi, lo)),
                         0.0)
            flatB = np.broadcast_to(bB == 0, shape)
            sel = inside & flatB
            out.add("single", rows[sel], (w - aB)[sel], (g * m)[sel])
            sel = inside & ~flatB
            if sel.any():
                out.add_items(row=rows[sel], x=x[sel], gx=g[sel], ya=lo[sel], yb=hi[sel],
                              av=(w - aB)[sel], bv=np.broadcast_to(-bB, shape)[sel])
            same = np.broadcast_to(bC == bB, shape)
            sel = past & same
            out.add("const", rows[sel], np.broadcast_to(aC - aB, shape)[sel], (g * m)[sel])
            sel = past & ~same
            if sel.any():
                out.add_items(row=rows[sel], x=x[sel], gx=g[sel], ya=lo[sel], yb=hi[sel],
                              av=np.broadcast_to(aC - aB, shape)[sel],
                              bv=np.broadcast_to(bC - bB, shape)[sel])

    def product_nodes(self, items, omega, live, rule, lo, hi):
        """The Gauss nodes (row, value, weight) of product items lo:hi: each range of
        predictions cut at x times Z's quantile cuts and where e^{-i ω (a + b y)} turns."""
        it = {k: v[lo:hi] for k, v in items.items()}
        x, ya, yb, av, bv = it["x"], it["ya"], it["yb"], it["av"], it["bv"]
        # every other conditional quantile cut of Z and the ends of its support
        cand = np.clip(x[:, None] * self.zcuts[None, :], ya[:, None], yb[:, None])
        # and where the value reaches ``live`` (beyond, e^{-Re(z) v} has decayed: no
        # oscillation cuts there; a size of 10^5 spanned 10^4 turns)
        with np.errstate(all="ignore"):
            far = np.where(np.isfinite(live) & (bv != 0), (live - av) / np.where(bv != 0, bv, 1.0), ya)
        far = np.clip(np.nan_to_num(far, nan=0.0, posinf=0.0, neginf=0.0), ya, yb)
        cuts = np.sort(np.concatenate([ya[:, None], cand, far[:, None], yb[:, None]], 1), 1)
        a, b = cuts[:, :-1], cuts[:, 1:]
        i, _ = np.nonzero(b > a)
        pa, pb = a[b > a], b[b > a]
        with np.errstate(invalid="ignore"):
            vmin = np.minimum(av[i] + bv[i] * pa, av[i] + bv[i] * pb)
        turns = np.where(vmin < live, np.ceil(omega * np.abs(bv[i]) * (pb - pa) / (2 * math.pi)), 1)
        parts = np.clip(np.nan_to_num(turns, nan=1.0), 1, 4000).astype(np.int64)
        rep = np.repeat(np.arange(pa.size), parts)
        k = np.arange(rep.size) - np.repeat(np.cumsum(parts) - parts, parts)
        sa = pa[rep] + (pb - pa)[rep] * k / parts[rep]
        sb = np.where(k + 1 == parts[rep], pb[rep], pa[rep] + (pb - pa)[rep] * (k + 1) / parts[rep])
        S, W = _GAUSS[_YNODES[rule]]
        jac = (sb - sa)[:, None]
        y = sa[:, None] + jac * S
        item = i[rep]
        with np.errstate(all="ignore"):
            h = np.nan_to_num(np.asarray(self.pred.pdf(y, x[item][:, None]), float))
        g = it["gx"][item][:, None] * h * jac * W
        v = av[item][:, None] + bv[item][:, None] * y
        row = np.broadcast_to(it["row"][item][:, None], y.shape)
        return row.ravel(), v.ravel(), g.ravel()


class CondVacations:
    """The vacations of the "cond" components at every threshold row (the rows outside
    ``need`` are empty): single nodes and product items, summed per row in compiled
    code, the product nodes generated block by block (kept while they fit in memory).
    The piece's transform is 1 − Σ g (1 − e^{-z v}) (its mass is not a probability:
    all vacations of a job in one piece, as in the generic path's other components)."""

    def __init__(self, R, parts):
        self.R = R
        singles, self.items = [], []
        for comp, tri, omega, live, rule in parts:
            nodes, items = tri.arrays()
            singles.append(nodes)
            self.items.append((comp, items, omega, live, rule))
        self.single = tuple(np.concatenate(z) for z in zip(*singles)) if singles else (
            np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
        self._kept, self._mom = None, None
        self.pos = np.arange(R)

    def _blocks(self):
        """The product nodes, block by block (from memory when kept)."""
        if self._kept is not None:
            yield from self._kept
            return
        kept, total = [], 0
        for comp, items, omega, live, rule in self.items:
            N = items["row"].size
            for lo in range(0, N, _BLOCK):
                tick(stage=f"vacations under noisy predictions ({lo} of {N})")
                blk = comp.product_nodes(items, omega, live, rule, lo, lo + _BLOCK)
                total += blk[0].size
                if kept is not None:
                    kept = kept + [blk] if total <= _KEEP else None
                yield blk
        self._kept = kept

    def moments(self):
        """Σ g v^k per row, k = 0..4: (5, R)."""
        if self._mom is None:
            mom = np.zeros((5, self.R))
            for row, v, g in [self.single, *self._blocks()]:
                _row_moments(np.ascontiguousarray(row, np.int64), np.ascontiguousarray(g, float),
                             np.ascontiguousarray(v, float), mom)
            self._mom = mom
        return self._mom

    def select(self, idx):
        """A view on the rows ``idx`` (distinct), in that order."""
        out = CondVacations.__new__(CondVacations)
        out.__dict__.update(self.__dict__)
        out.pos = np.full(self.R, -1, np.int64)
        out.pos[idx] = np.arange(len(idx))
        out.idx = np.asarray(idx)
        out.parent = self
        return out

    # the Work interface, on the selected rows
    def moment(self, k):
        return self.parent.moments()[k][self.idx][:, None]

    def lst(self, z):
        z = np.ascontiguousarray(np.broadcast_to(z, (self.idx.size, np.shape(z)[-1])), complex)
        out = np.zeros(z.shape, complex)
        parent = self.parent
        for row, v, g in [parent.single, *parent._blocks()]:
            _row_sums(z, self.pos, np.ascontiguousarray(row, np.int64),
                      np.ascontiguousarray(g, float), np.ascontiguousarray(v, float), out)
        base = 1.0 - parent.moments()[0][self.idx][:, None]
        return base + out
