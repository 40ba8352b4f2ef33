"""The response-time transform and moments of any SOAP policy, derived from its rank
declaration alone: the generic path (docs/theory/distributions.md, "The generic path").

The SOAP engine (:mod:`qtheory.methods.soap`) gives, for a threshold rank r, the level
sets of every other job's rank: the age n at which a new arrival stops outranking r, the
age c_0 at which an old job's first interval of rank ≤ r ends, and its later intervals
[b_i, c_i). Here the other jobs are quadrature nodes, one set per threshold, with the
pieces of their work those level sets cut out (new work min(W, n), old work min(W, c_0),
vacations min(W, c_i) − min(W, b_i)); every node set is cut where a piece has a kink, so
each is integrated to quadrature accuracy. From them:

* the busy period of new work at every threshold, B̃_r(s) (Kendall, Newton);
* the wait Ũ_{r*}(σ_{r*}(s)) of a tagged job at its worst future rank r* (generalised
  vacations, :func:`~qtheory.methods.distribution.tagged.vacation_lst`);
* the residence exp(−∫_0^x σ_{r_worst(a)}(s) da): flat stretches of the worst future rank
  at their own level, sloped ones (r_worst decreasing at slope m) as (1/|m|) ∫ σ_r dr on
  a Legendre grid of levels.

Components whose descriptor is a noisy prediction (a density h(y | x)) make every node
set a product over (y, x): :mod:`~qtheory.methods.distribution.conditional`.

This shares nothing with the closed structures of
:mod:`~qtheory.methods.distribution.structures` but the busy-period Newton and the wait's
formula, so the two check each other (tests/test_distributions.py).
"""

import math

import numpy as np
from numba import njit, prange

from ...core.budget import tick
from ...core.errors import PolicyError
from ...core.numerics import (
    legendre_rule,
    oscillation_cuts,
    piece_nodes,
    pieces_antiderivative,
    split_pieces,
)
from ...laws.grid import size_cuts
from ...policies.base import as_policy
from ..soap.api import soap_policy
from ..soap.engine import Engine
from ..soap.envelope import envelope
from ..soap.levels import distinct_ranks, levels
from ..soap.tables import split_points
from .tagged import (
    DESCENDING,
    Decomposition,
    busy_moments,
    busy_period,
    tagged_moments,
    vacation_lst,
)
from .conditional import CondComponent, CondVacations, _pack
from .nodes import Nodes, RowView, argument_class, compact

#: Gauss rules on (0, 1): nodes, weights, within-piece antiderivative matrix.
_RULES = {n: legendre_rule(n) for n in (16, 32)}


def _pieces(w, n, c0, B, Cr):
    """New work, first old interval and later old intervals (those starting after age 0)
    of jobs of work ``w`` (R, K) at level sets n, c0 (R, 1 or K), B, Cr (R, 1 or K, P)."""
    new, old0 = np.minimum(w, n), np.minimum(w, c0)
    # the interval [0, c_0) is the first old interval; any other is a vacation (one that
    # starts at age 0 when c_0 = 0: a non-preemptive job past the instant it started)
    ok = np.isfinite(B) & ((B > 0) | (np.asarray(c0)[..., None] == 0))
    b, c = np.where(ok, B, 0.0), np.where(ok, Cr, 0.0)
    seg = np.where(ok, np.minimum(c, w[..., None]) - np.minimum(b, w[..., None]), 0.0)
    return new, old0, np.maximum(seg, 0.0)


def _fixed_vacations(w, g, c0, B, Cr):
    """The vacations of jobs of works ``w`` (R, K) with one level set per row: a job in
    the interval [b_i, c_i) brings w − b_i, and every interval it has passed brings
    c_i − b_i, which is one atom per interval of mass P(W ≥ c_i) (K + P nodes instead of
    K × P)."""
    ok = np.isfinite(B) & ((B > 0) | (c0[:, None] == 0))
    b = np.ascontiguousarray(np.where(ok, B, np.inf))
    c = np.ascontiguousarray(np.where(ok, Cr, np.inf))
    inner, mass = np.zeros(w.shape), np.zeros(B.shape)
    w, g = np.ascontiguousarray(w), np.ascontiguousarray(g)
    rows = max(1, int(2e7 // max(1, w.shape[1] * B.shape[1])))   # ~0.1 s of work per call
    for lo in range(0, w.shape[0], rows):
        tick(stage="SOAP vacations")
        sl = slice(lo, lo + rows)
        _vacation_nodes(w[sl], g[sl], b[sl], c[sl], inner[sl], mass[sl])
    real = ok & np.isfinite(c)
    length = np.where(real, c, 0.0) - np.where(real, b, 0.0)
    return np.concatenate([g, mass], 1), np.concatenate([inner, length], 1)


@njit(cache=True, parallel=True)
def _vacation_nodes(w, g, b, c, inner, mass):
    """The loop of :func:`_fixed_vacations` (intervals sorted and disjoint per row;
    unused ones at b = inf)."""
    R, K = w.shape
    for r in prange(R):
        for k in range(K):
            wk = w[r, k]
            for i in range(b.shape[1]):
                if not b[r, i] < wk:
                    continue
                if wk < c[r, i]:
                    inner[r, k] = wk - b[r, i]
                else:
                    mass[r, i] += g[r, k]


class _RowMoments:
    """The moments of a piece at the rows ``rows`` (one per tagged node), shaped
    (nodes, 1): all that the closed moments read."""

    def __init__(self, moments, rows):
        self.m, self.rows = moments, rows

    def moment(self, k):
        return self.m[k][self.rows][:, None]


class _Population:
    """The other jobs at thresholds (rc, rv) (R,): node sets of new work, first old
    interval and vacations (all vacations of a job in one piece), over every component.
    Components with a noisy prediction (``cond``: their :class:`CondComponent`) give
    their first old interval and vacations only at the thresholds ``need`` (the tagged
    jobs' worst future ranks), their vacations as :class:`CondVacations` (``cvac``)."""

    def __init__(self, eng, rc, rv, omega, rule, splits, live=math.inf, cond=None,
                 need=None):
        self.eng, self.R, self.splits, self.live = eng, rc.size, splits, live
        S, W, _ = _RULES[rule]
        R = rc.size
        parts = [self._component(comp, rc, rv, omega, S, W) for comp in eng.components
                 if comp.kind != "cond"]
        gN, vN = [p[0] for p in parts], [p[1] for p in parts]
        gO, vO = [p[0] for p in parts], [p[2] for p in parts]
        gV, vV = [p[3] for p in parts], [p[4] for p in parts]
        self.cvac = None
        cvac = []
        need = np.ones(R, bool) if need is None else need
        for comp in eng.components:
            if comp.kind != "cond":
                continue
            cc = cond[comp.part]
            new, old, vac = cc.population(rc, rv, need, omega, live, rule)
            for tri, gs, vs in ((new, gN, vN), (old, gO, vO)):
                (row, val, wt), items = tri.arrays()
                if items["row"].size:
                    pr, pv, pg = cc.product_nodes(items, omega, live, rule, 0, items["row"].size)
                    row, val, wt = (np.concatenate(z) for z in ((row, pr), (val, pv), (wt, pg)))
                g, v = _pack(R, row, val, wt)
                gs.append(g)
                vs.append(v)
            cvac.append((cc, vac, omega, live, rule))
        if cvac:
            self.cvac = CondVacations(R, cvac)
        if not gV:
            gV, vV = [np.zeros((R, 1))], [np.zeros((R, 1))]
        self.new = Nodes(*compact(np.concatenate(gN, 1), np.concatenate(vN, 1)))
        self.old = Nodes(*compact(np.concatenate(gO, 1), np.concatenate(vO, 1)))
        gg, vv, base = compact(np.concatenate(gV, 1), np.concatenate(vV, 1))
        self.vac = Nodes(gg, vv, base)
        # the vacations enter the wait as sum_i (1 - X~_i(z)): mass of zero length is inert
        self.vac.base = 1.0 - gg.sum(1)

    def vacations(self, rows):
        """The vacation pieces at the distinct threshold rows ``rows``."""
        out = [RowView(self.vac.select(rows))]
        if self.cvac is not None:
            out.append(self.cvac.select(rows))
        return out

    def vacation_moment(self, k):
        """Σ_i E[X_i^k] at every threshold (R,)."""
        m = self.vac.moment(k)
        if self.cvac is not None:
            m = m + self.cvac.moments()[k]
        return m

    def _cuts(self, comp, omega, live):
        """The law's pieces, those below ``live`` cut for the oscillation of e^{-i ω x}
        (beyond it e^{-Re(z) x} has decayed below e^{-45} for the pieces whose value
        grows with the size; capped pieces do not oscillate)."""
        return oscillation_cuts(_law_cuts(self.eng.size, comp), omega, live)

    @staticmethod
    def _nodes(eng, comp, cuts, S, W):
        """Quadrature nodes x (R, K) and weights on pieces between the sorted cut rows."""
        a, b = cuts[:, :-1], cuts[:, 1:]
        x, jac = piece_nodes(a, b, S)
        weight = eng._weight(comp)
        with np.errstate(all="ignore"):
            g = np.nan_to_num(np.asarray(weight(x), float) * jac * W, nan=0.0, posinf=0.0)
        g = np.where(b[..., None] > a[..., None], g, 0.0)
        R = cuts.shape[0]
        return x.reshape(R, -1), g.reshape(R, -1)

    def _split_nodes(self, comp, rc, rv, omega, S, W):
        """Size descriptors: the law's nodes, shared by every threshold, and for each
        threshold the pieces its level sets break (where their structure changes in x,
        found once per threshold set: :func:`size_splits`) replaced by sub-pieces of
        their own (few: one or two per threshold)."""
        R = rc.size
        base = self._cuts(comp, omega, self.live)
        a, b = base[:-1], base[1:]
        xb, gb = self._nodes(self.eng, comp, base[None, :], S, W)
        i, hi = self.splits[comp.part]
        j = np.clip(np.searchsorted(base, hi, side="right") - 1, 0, a.size - 1)
        inside = (hi > a[j]) & (hi < b[j])
        i, j, hi = i[inside], j[inside], hi[inside]
        gb = np.repeat(gb, R, 0).reshape(R, a.size, -1)
        subs = {}
        for ti, pj, h in zip(i.tolist(), j.tolist(), hi.tolist()):
            subs.setdefault((ti, pj), []).append(h)
        rows, sa, sb = [], [], []
        for (ti, pj), hs in subs.items():
            gb[ti, pj] = 0.0
            edges = [a[pj], *sorted(hs), b[pj]]
            rows += [ti] * (len(edges) - 1)
            sa += edges[:-1]
            sb += edges[1:]
        gb = gb.reshape(R, -1)
        Kb = xb.shape[1]
        ib = np.broadcast_to(np.arange(Kb), gb.shape)
        xb = np.broadcast_to(xb, gb.shape)
        if not rows:
            return xb, gb, xb[0], ib
        rows = np.array(rows)
        xs, gs = self._nodes(self.eng, comp, np.stack([sa, sb], 1), S, W)      # (pieces, Q)
        slot = np.zeros(rows.size, int)             # each sub-piece's place in its row
        order = np.argsort(rows, kind="stable")
        starts = np.searchsorted(rows[order], rows[order])
        slot[order] = np.arange(rows.size) - starts
        width = int(slot.max()) + 1
        Q = xs.shape[1]
        xe, ge = np.zeros((R, width, Q)), np.zeros((R, width, Q))
        ie = np.full((R, width, Q), Kb)               # padding: any node (weight 0)
        xe[rows, slot], ge[rows, slot] = xs, gs
        ie[rows, slot] = Kb + np.arange(xs.size).reshape(xs.shape)
        return (np.concatenate([xb, xe.reshape(R, -1)], 1),
                np.concatenate([gb, ge.reshape(R, -1)], 1),
                np.concatenate([xb[0], xs.ravel()]),
                np.concatenate([ib, ie.reshape(R, -1)], 1))

    def _component(self, comp, rc, rv, omega, S, W):
        eng, X, R = self.eng, self.eng.size, rc.size
        if comp.kind == "fixed":
            pr = eng._fixed_profile(comp).take(np.zeros(R, int))
            n, c0, B, Cr, _ = levels(pr, rc, rv)
            if X.discrete:
                x = np.broadcast_to(X.values, (R, X.values.size))
                g = np.broadcast_to(np.asarray(eng._size_nodes(comp)[2], float), x.shape)
            else:
                base = self._cuts(comp, omega, self.live)
                ends = np.concatenate([n[:, None], c0[:, None], B, Cr], 1) - comp.shift
                ends = np.where(np.isfinite(ends) & (ends > base[0]) & (ends < base[-1]),
                                ends, base[0])
                cuts = np.sort(np.concatenate([np.broadcast_to(base, (R, base.size)), ends], 1), 1)
                x, g = self._nodes(self.eng, comp, cuts, S, W)
            w = x + comp.shift
            g = np.broadcast_to(g, w.shape)
            new, old = np.minimum(w, n[:, None]), np.minimum(w, c0[:, None])
            gv, vac = _fixed_vacations(w, g, c0, B, Cr)
            return g, new, old, gv, vac
        else:   # the descriptor is the size: level sets per node, cut where they change
            if X.discrete:
                xs = X.values
                x = np.broadcast_to(xs, (R, xs.size))
                g = np.broadcast_to(np.asarray(eng._size_nodes(comp)[2], float), x.shape)
                ux, inv = xs, np.broadcast_to(np.arange(xs.size), x.shape)
            else:
                x, g, ux, inv = self._split_nodes(comp, rc, rv, omega, S, W)
            K = x.shape[1]
            pr = eng.profile(comp, ux).take(inv.ravel())
            n, c0, B, Cr, _ = levels(pr, np.repeat(rc, K), np.repeat(rv, K))
            w = x + comp.shift
            new, old, vac = _pieces(w, n.reshape(R, K), c0.reshape(R, K),
                                    B.reshape(R, K, -1), Cr.reshape(R, K, -1))
        g = np.broadcast_to(g, new.shape)
        P = vac.shape[2]
        return (g, new, old, np.repeat(g, P, axis=1) if P else g[:, :0],
                vac.reshape(R, -1))


def _law_cuts(X, comp):
    """The size law's quadrature pieces and the component's jumps, within its support."""
    lo, hi = X.support
    c = np.array(sorted({*size_cuts(X), *comp.jumps}), float)
    return c[(c >= lo) & (c <= max(hi, lo))]


def size_splits(eng, rc, rv):
    """Per size-descriptor component, the sizes where the level sets at thresholds
    (rc, rv) change structure: (threshold index, size) arrays, by bisection from the
    law's pieces (:func:`~qtheory.methods.soap.tables.split_points`)."""
    out = {}
    X = eng.size
    for comp in eng.components:
        if comp.kind != "size" or X.discrete:
            continue
        c = _law_cuts(X, comp)
        i, _, pts = split_points(c[:-1], c[1:], rc.size,
                                 lambda xx, ii: eng._size_pairs(comp, xx, rc[ii], rv[ii])[1])
        out[comp.part] = (i, pts)
    return out


class _Levels:
    """A Legendre grid of threshold values per rank class over the ranges the sloped parts
    of the tagged jobs' worst future ranks cover, cut at the values where the population
    functions may kink; antiderivatives of functions given at its nodes."""

    def __init__(self, eng, ranges, omega=0.0, live=math.inf):
        S, _, _ = _RULES[16]
        self.cls, self.edges, self.nodes = [], [], []
        kinks = eng.kink_values()
        scale = [c for c in size_cuts(eng.size) if 0 < c < math.inf]
        # under noisy predictions the levels are predictions: the marginal law of Y's
        # quantile cuts (a population function varies on Y's scale, not on X's)
        floor = -math.inf
        for comp in eng.components:
            if comp.kind == "cond":
                scale += [c for c in eng.y_cuts(comp) if 0 < c < math.inf]
                # a job's rank falls below every arrival rank (SPRPT: y − a < 0): there
                # no new work outranks it, the functions of the level are constant, and
                # one piece holds it (cut for oscillations it spanned 10^6 levels on
                # Weibull(1/2) sizes, whose tagged jobs reach ranks −10^5)
                floor = float(kinks.min()) if kinks.size else floor
        for cls, (lo, hi) in ranges.items():
            if not hi > lo:
                continue
            inner = [v for v in (*kinks, *scale) if lo < v < hi]
            e = np.unique([lo, hi, *inner, *np.linspace(max(lo, min(floor, hi)), hi, 9)])
            # σ_r(s) turns like e^{-σ r} in r until that has decayed: one turn a piece
            a, b = e[:-1], e[1:]
            near = (a < live) & (b > floor)
            sa, sb = split_pieces(a[near], b[near], omega, nodes=16)
            e = np.unique(np.concatenate([sa, sb, a[~near], b[~near]]))
            self.cls.append(cls)
            self.edges.append(e)
            self.nodes.append(e[:-1, None] + np.diff(e)[:, None] * S)
        self.count = [n.size for n in self.nodes]

    def thresholds(self):
        if not self.cls:
            return np.zeros(0), np.zeros(0)
        return (np.concatenate([np.full(n, c) for c, n in zip(self.cls, self.count)]),
                np.concatenate([n.ravel() for n in self.nodes]))

    def integrals(self, values, cls, lo, hi):
        """∫_lo^hi g(r) dr in class ``cls`` for every query (arrays (Q,)), from g at the
        grid's nodes (``values``: (grid size, ...)). Returns (Q, ...)."""
        out = np.zeros((lo.size,) + values.shape[1:], values.dtype)
        start = 0
        for c, e, n in zip(self.cls, self.edges, self.count):
            v = values[start:start + n].reshape((e.size - 1, 16) + values.shape[1:])
            start += n
            sel = np.flatnonzero(cls == c)
            if not sel.size:
                continue
            ends = pieces_antiderivative(e, v.reshape((-1,) + values.shape[1:]),
                                         np.stack([hi[sel], lo[sel]]))
            out[sel] = ends[0] - ends[1]
        return out


class GenericStructure:
    """The response time of a tagged job under any SOAP policy, from the engine's level
    sets (module docstring): its transform, moments and atom, overall or given the size.

    Examples
    --------
    >>> import numpy as np
    >>> import qtheory as qt
    >>> q = qt.MG1(0.5, qt.Exponential(1.0))
    >>> g = GenericStructure(q, qt.FCFS)
    >>> s = np.array([0.3 + 0.4j])
    >>> bool(abs(g.transform(s)[0] - 0.5 / (0.5 + s[0])) < 1e-12)   # M/M/1: Exp(mu - lambda)
    True
    """

    def __init__(self, queue, policy):
        q = queue.numeric()
        self.pol = soap_policy(q, as_policy(policy))
        self.eng = Engine(q, self.pol)
        # noisy predictions: (y, x) products (conditional.py); refused by name where the
        # prediction model is no scale family or the rank not affine in the prediction
        self.cond = {c.part: CondComponent(self.eng, c) for c in self.eng.components
                     if c.kind == "cond"}
        self.lam = self.eng.lam
        self._cache = {}

    # -- the tagged jobs ---------------------------------------------------------------
    @staticmethod
    def key(size=None, omega=0.0, decay=0.0, rule=32):
        """The cache key of a computation (:func:`~.nodes.argument_class`)."""
        return (size, *argument_class(omega, decay), rule)

    def _tagged(self, key):
        """Tagged nodes: their envelopes, works and weights. Over all jobs, the size law's
        pieces (and the policy's jumps), cut for the oscillation of e^{-sx} where it has
        not decayed: the same nodes as the population's (:class:`_Population`)."""
        if ("tagged", key) in self._cache:
            return self._cache[("tagged", key)]
        size, om, dk, rule = key
        eng, out = self.eng, []
        S, W, _ = _RULES[rule]
        for comp in eng.components:
            if comp.kind == "cond":
                sets = self.cond[comp.part].tagged(om, 45.0 / dk if dk > 0 else math.inf,
                                                   rule, size)
                if size is not None and comp.weight is not None:
                    # given the size, the job is in this part with probability weight(x)
                    p = float(np.asarray(comp.weight(np.array([size])), float).ravel()[0])
                    sets = [(env, w, g * p) for env, w, g in sets]
                out += [st for st in sets if st[2].size]
                continue
            if size is not None:
                x = np.array([size])
                if int(np.asarray(self.pol.part_at(x, size, None)).ravel()[0]) != comp.part:
                    continue
                g = np.ones(1)
            elif eng.size.discrete:
                x, g = eng.size.values, np.asarray(eng._size_nodes(comp)[2], float)
            else:
                cuts = oscillation_cuts(_law_cuts(eng.size, comp), om,
                                         45.0 / dk if dk > 0 else math.inf)
                x, g = _Population._nodes(eng, comp, cuts[None, :], S, W)
                x, g = x[0], g[0]
            keep = g != 0
            x, g = x[keep], g[keep]
            d = x if comp.kind == "size" else np.full(x.size, comp.fixed)
            w = x + comp.shift
            out.append((envelope(eng.profile(comp, d), w), w, g))
        self._cache[("tagged", key)] = out
        return out

    def _plan(self, key):
        """Every threshold the tagged jobs need (their r*, their flat levels, the level
        grid of their sloped parts), and where each tagged quantity finds its own."""
        if ("plan", key) in self._cache:
            return self._cache[("plan", key)]
        tagged = self._tagged(key)
        ranges = {}
        for env, *_ in tagged:
            ln, c, v, to, _ = env["slope"]
            for cls in np.unique(c[ln > 0]):
                sel = (ln > 0) & (c == cls)
                lo, hi = ranges.get(float(cls), (math.inf, -math.inf))
                ranges[float(cls)] = (min(lo, float(to[sel].min())), max(hi, float(v[sel].max())))
        _, om, dk, _ = key
        grid = _Levels(self.eng, ranges, om, 45.0 / dk if dk > 0 else math.inf)
        cs, vs = [grid.thresholds()[0]], [grid.thresholds()[1]]
        for env, *_ in tagged:
            fl, fc, fv = env["flat"]
            cs += [env["r0"][0], np.where(fl > 0, fc, env["r0"][0][:, None]).ravel()]
            vs += [env["r0"][1], np.where(fl > 0, fv, env["r0"][1][:, None]).ravel()]
        cs, vs = np.concatenate(cs), np.concatenate(vs)
        vs = np.where(cs == -math.inf, 0.0, vs)     # never preempted: no value needed
        if not (np.all(np.isfinite(vs)) and np.all(np.isfinite(cs) | (cs == -math.inf))):
            raise PolicyError(f"{self.pol.name}: a tagged job's worst future rank is not "
                              "finite; the generic transform needs finite ranks.")
        pairs, inv = distinct_ranks(cs, vs)
        n_grid = grid.thresholds()[0].size
        idx_grid, rest = inv[:n_grid], inv[n_grid:]
        where, at = [], 0
        for env, *_ in tagged:
            K, P = env["flat"][0].shape
            r0 = rest[at:at + K]
            flat = rest[at + K:at + K + K * P].reshape(K, P)
            at += K + K * P
            where.append((r0, flat))
        plan = dict(pairs=pairs, grid=grid, idx_grid=idx_grid, where=where)
        self._cache[("plan", key)] = plan
        return plan

    def population(self, key):
        """The population's node sets at the plan's thresholds."""
        if ("pop", key) not in self._cache:
            size, om, dk, rule = key
            plan = self._plan(key)
            pairs = plan["pairs"]
            need = np.zeros(pairs.shape[1], bool)
            for r0, _ in plan["where"]:
                need[r0] = True
            self._cache[("pop", key)] = _Population(
                self.eng, pairs[0], pairs[1], om, rule, size_splits(self.eng, *pairs),
                45.0 / dk if dk > 0 else math.inf, self.cond, need)
        return self._cache[("pop", key)]

    def _residence(self, key, per_level):
        """For each tagged set: Σ flat length · g(level) + Σ (1/|m|) ∫ g(r) dr over the
        sloped parts, for g given at every threshold (``per_level``: (R, ...)); one set
        at a time (a generator: under noisy predictions the sets hold 10^6 nodes)."""
        plan = self._plan(key)
        grid_vals = per_level[plan["idx_grid"]]
        for (env, *_), (_, flat) in zip(self._tagged(key), plan["where"]):
            fl = env["flat"][0]
            total = np.einsum("kp,kp...->k...", fl, per_level[flat])
            ln, c, v, to, m = env["slope"]
            k, p = np.nonzero(ln > 0)
            if k.size:
                parts = plan["grid"].integrals(grid_vals, c[k, p], to[k, p], v[k, p])
                parts = parts / m[k, p].reshape((-1,) + (1,) * (per_level.ndim - 1))
                np.add.at(total, k, parts)
            yield total

    # -- the transform -----------------------------------------------------------------
    def transform(self, s, size=None, shifted=False, rule=32):
        """E[e^{-sT}] at ``s`` (1-d, Re s > 0): over all jobs, or given the size (of
        T − x with ``shifted``)."""
        s = np.asarray(s, complex).ravel()
        omega = float(np.max(np.abs(s.imag), initial=0.0)) + 2 * self.lam
        key = self.key(size, omega, float(np.min(s.real)), rule)
        pop, plan = self.population(key), self._plan(key)
        _, B = busy_period(s[None, :], self.lam, pop.new)
        extra = self.lam * (1 - B)                      # σ_r(s) − s at every threshold
        total = np.zeros(s.size, complex)
        # the wait at each distinct worst future rank, computed once
        rows = np.unique(np.concatenate([r0 for r0, _ in plan["where"]]))
        waits = vacation_lst(s[None, :] + extra[rows], self.lam,
                             RowView(pop.old.select(rows)), pop.vacations(rows))
        at = np.full(extra.shape[0], -1)
        at[rows] = np.arange(rows.size)
        for (env, w, g), (r0, _), rexp in zip(self._tagged(key), plan["where"],
                                              self._residence(key, extra)):
            wait = waits[at[r0]]
            shift = 0.0 if shifted else s[None, :] * w[:, None]
            total += g @ (wait * np.exp(-(rexp + shift)))
        return total

    # -- moments and the atom -----------------------------------------------------------
    def moments(self, size=None, rule=32):
        """(E[T], E[T²], E[T³]) over all jobs or given the size."""
        key = self.key(size, rule=rule)
        pop, plan = self.population(key), self._plan(key)
        kappa = np.stack(busy_moments(self.lam, pop.new), 1)       # (R, 3)
        old = [pop.old.moment(k) for k in range(5)]
        new = [pop.new.moment(k) for k in range(5)]
        vac = [pop.vacation_moment(k) for k in range(5)]
        out = np.zeros(3)
        for (env, w, g), (r0, _), cum in zip(self._tagged(key), plan["where"],
                                             self._residence(key, kappa)):
            dec = Decomposition(w[:, None], _RowMoments(old, r0), _RowMoments(new, r0),
                                DESCENDING, [_RowMoments(vac, r0)])
            m = np.array(tagged_moments(self.lam, dec, tuple(cum.T[:, :, None])),
                         float)[:, :, 0]                                        # (3, K)
            out += m @ g
        return out

    def atom(self, size):
        """P(T_x = x): no relevant work found and no new work while served."""
        key = self.key(size)
        pop = self.population(key)
        total = 0.0
        busy = pop.old.moment(1) + pop.vacation_moment(1)
        for (_, _, g), rate, (r0, _) in zip(self._tagged(key),
                                            self._residence(key, pop.new.positive()),
                                            self._plan(key)["where"]):
            total += float(g @ ((1 - self.lam * busy[r0]) * np.exp(-self.lam * rate)))
        return total

