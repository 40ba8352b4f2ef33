"""The Gittins policy for the information the scheduler has (docs/theory/soap.md).

For a descriptor d (nothing, a one-bit prediction, a predicted size y, or the size
itself) the scheduler knows the conditional law of the size X given d — for a continuous
prediction by Bayes, f(x | y) proportional to f(x) h(y | x). The Gittins index at age a is

    G_d(a) = sup_{D > 0} P(X - a <= D | X > a, d) / E[min(X - a, D) | X > a, d],

and serving the highest index minimises the mean response time among policies that see
only d and the age (Gittins 1989; Scully, Harchol-Balter, Scheller-Wolf 2018, section 7).
The rank used here is 1 / G_d(a) (a strictly increasing transform of -G_d(a), so the
same policy): the least expected work per unit of completion probability. For a known
size it is exactly x - a (Gittins = SRPT).

The index is tabulated on ages at quantiles of the conditional law, the supremum over
D taken on the same grid, and the rank is the linear interpolant of the table — a
piecewise-linear rank that the SOAP engine evaluates exactly. The table is an
approximation of the true index; the policy it defines is evaluated exactly. Without a
prediction the table comes from the size law's own tail, exact to rounding (a constant
hazard gives a constant index, so Gittins on Exp(1) is seen as FCFS, as it should be).

A continuous prediction y is used through its cell among ``cells`` cells of equal
probability of the marginal law of Y (default :data:`CELLS`): the policy is the Gittins
policy of that information, with the exact conditional law of X given the cell,
f(x) P(Y in cell | x). It sees less than y itself, so its mean is an upper bound on the
Gittins mean for y that decreases as the cells are refined, slowly: for Exp(1) sizes,
ExpNoise predictions and load 0.5 (``benchmarks/bench_soap.py --full``) the mean drops
by 0.57% from 8 to 16 cells and by 0.22% from 16 to 32; if the decrease continues
geometrically, the default 16 cells are about 0.4% above the limit.
"""

import math

import numpy as np

from .base import Part, Policy
from ..core.errors import PolicyError
from ..core.numerics import gauss_each
from ..laws.predictions import ClassBit, Perfect, Threshold
from ..laws.grid import size_cuts
from .pieces import INF, Profile

#: Ages per descriptor in the index table.
AGES = 160
#: Cells of a continuous prediction (equal probability under the marginal law of Y).
CELLS = 16


def _conditional_grid(size, weight, n_ages, exact=False):
    """Ages, and the conditional F and C(b) = int_0^b P(X > t) dt on them, for the law
    with density proportional to f(x) weight(x) (or atoms for a discrete law); with
    ``exact`` (weight 1) F and C come from the law's closed forms."""
    if size.discrete:
        xs = size.values
        w = size.weights * np.asarray(weight(xs), float)
        if w.sum() <= 0:
            return None
        w = w / w.sum()
        ages = np.concatenate([[0.0], xs])
        F = np.concatenate([[0.0], np.cumsum(w)])
        S = 1 - F
        C = np.concatenate([[0.0], np.cumsum(S[:-1] * np.diff(ages))])
        return ages, np.minimum(F, 1.0), C
    cuts = np.array(size_cuts(size))
    lo, hi = size.support
    fin = cuts[np.isfinite(cuts)]
    top = fin[-1] * (1 if math.isfinite(hi) else 4)
    fine = np.unique(np.concatenate([np.linspace(lo, top, 4000),
                                     np.geomspace(max(lo, size.scale * 1e-9), top, 4000), fin]))
    fine = np.unique(np.concatenate([[0.0], fine[(fine >= lo) & (fine <= top)]]))
    with np.errstate(all="ignore"):  # the weight may divide by x = 0
        dens = np.asarray(size.pdf(fine), float) * np.asarray(weight(fine), float)
    dens = np.where(np.isfinite(dens), dens, 0.0)
    mass = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(fine))])
    if mass[-1] <= 0:
        return None
    F = mass / mass[-1]
    S = 1 - F
    C = np.concatenate([[0.0], np.cumsum(0.5 * (S[1:] + S[:-1]) * np.diff(fine))])
    u = 1 - np.geomspace(1.0, 1e-9, n_ages)
    ages = np.unique(np.concatenate([[0.0, lo], np.interp(u, F, fine)]))
    if exact:
        # the law itself, from its tail: F = -P(X > a) and C = -E[(X - a)^+] (only their
        # differences matter), each piece of the tail integrated on its own, so that a
        # constant hazard gives a constant index to rounding even far out (the trapezoid
        # grid left Exp(1) a rank rising by 1e-4, which the SOAP engine had to treat like
        # FB: 150 s and 2.6 GB)
        sf = lambda t: np.asarray(size.sf(t), float)
        piece = gauss_each(sf, ages, np.concatenate([ages[1:], [math.inf]]))[0]
        return ages, -sf(ages), -np.cumsum(piece[::-1])[::-1]
    return ages, np.interp(ages, fine, F), np.interp(ages, fine, C)


def index_table(ages, F, C):
    """1 / G(a_i) = min over later grid ages b of (C(b) - C(a)) / (F(b) - F(a)).

    Examples
    --------
    Two sizes {2, 14} (docs/theory/soap.md): 1/G(0) = 2 (the size-2 jobs finish after 2
    units w.p. 1/2: 1 / (1/2 / 2) = 4 units of work per completion... see below)

    >>> ages = np.array([0.0, 2.0, 14.0]); F = np.array([0.0, 0.5, 1.0])
    >>> C = np.array([0.0, 2.0, 8.0])
    >>> index_table(ages, F, C).tolist()     # 4 = 2 / (1/2); then 12 = 12 / 1
    [4.0, 12.0, 0.0]
    """
    dF = F[None, :] - F[:, None]
    dC = C[None, :] - C[:, None]
    later = np.triu(np.ones(dF.shape, bool), 1) & (dF > 1e-15)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(later, dC / np.where(later, dF, 1.0), INF)
    out = ratio.min(axis=1)
    out[-1] = 0.0 if not np.isfinite(out[-1]) else out[-1]
    return np.where(np.isfinite(out), out, 0.0)


class GittinsPolicy(Policy):
    """Gittins for a given queue: rank 1 / G_d(a) (see the module docstring)."""

    def __init__(self, q, cells=None):
        self.q = q
        pred = q.prediction
        self._tables = {}
        self.edges = None
        if pred is None:
            self.descriptor = None
        elif isinstance(pred, Perfect):
            self.descriptor = "size"
        elif isinstance(pred, (Threshold, ClassBit)):
            self.descriptor = "bit"
        else:
            self.descriptor = "prediction"
            self.edges = _marginal_quantiles(q.size, pred, int(cells or CELLS))

    def cell(self, y):
        """Index of the cell of predictions ``y``."""
        return np.clip(np.searchsorted(self.edges, y, side="right") - 1, 0, len(self.edges) - 2)

    def cell_prob(self, k, x):
        """P(Y in cell k | X = x)."""
        pred, lo, hi = self.q.prediction, self.edges[k], self.edges[k + 1]
        up = 1.0 if math.isinf(hi) else np.asarray(pred.cdf(hi, x), float)
        return up - (np.asarray(pred.cdf(lo, x), float) if lo > 0 else 0.0)

    @property
    def name(self):
        return "Gittins"

    def _table(self, d):
        key = None if d is None else float(d)
        if key in self._tables:
            return self._tables[key]
        q, size, pred = self.q, self.q.size, self.q.prediction
        if self.descriptor is None:
            weight = lambda x: np.ones_like(np.asarray(x, float))
        elif self.descriptor == "bit":
            weight = (lambda x: pred.short_prob(x)) if key == 0 else \
                (lambda x: 1.0 - pred.short_prob(x))
        else:
            weight = lambda x: self.cell_prob(int(key), x)
        grid = _conditional_grid(size, weight, AGES, exact=self.descriptor is None)
        if grid is None:
            raise PolicyError(f"the descriptor {d!r} has probability 0: no Gittins index.")
        ages, F, C = grid
        r = index_table(ages, F, C)
        # indices equal to 11 digits are equal (rounding, not the law, tells them apart)
        top = float(np.max(np.abs(r))) or 1.0
        tab = (ages, np.round(r / top, 11) * top)
        self._tables[key] = tab
        del q
        return tab

    @property
    def tabulated(self):
        return self.descriptor != "size"

    def parts(self, prediction):
        """A continuous prediction is seen through its cell: one part per cell."""
        if self.edges is None:
            return super().parts(prediction)
        return tuple(Part(lambda x, k=k: self.cell_prob(k, x), fixed=float(k))
                     for k in range(len(self.edges) - 1))

    def cell_of(self, d):
        return np.asarray(self.cell(d), np.int64) if self.edges is not None else \
            super().cell_of(d)

    def part_at(self, x, d=None, bit=None):
        if self.edges is None:
            return super().part_at(x, d, bit)
        return np.full(np.size(x), int(self.cell(d)))

    def pieces(self, d, part=None):
        d = np.asarray(d, float)
        if self.descriptor == "prediction":   # the engine passes cells, the simulator predictions
            d = np.full(d.size, part) if part is not None else self.cell(d)
        n = d.size
        if self.descriptor == "size":  # known size: 1/G(a) = x - a exactly
            z = np.zeros(n)
            return Profile(z[:, None], np.full((n, 1), INF), z[:, None], d[:, None],
                           -np.ones((n, 1)))
        rows = []
        for v in d:
            ages, r = self._table(None if self.descriptor is None else v)
            with np.errstate(invalid="ignore", divide="ignore"):
                M = np.concatenate([np.diff(r) / np.diff(ages), [0.0]])
            M = np.where(np.isfinite(M), M, 0.0)
            # one piece per run of equal slopes (the rank is the same linear interpolant)
            keep = np.concatenate([[True], np.abs(np.diff(M)) > 1e-12 * (np.abs(M[1:]) + 1e-300)])
            S, V, M = ages[keep], r[keep], M[keep]
            E = np.concatenate([S[1:], [INF]])
            rows.append((S, E, np.zeros_like(S), V, M))
        width = max(len(rw[0]) for rw in rows)
        out = []
        for k in range(5):
            fill = INF if k < 4 else 0.0
            out.append(np.array([np.concatenate([rw[k], np.full(width - len(rw[k]), fill)])
                                 for rw in rows]))
        return Profile(*out)

    def rank(self, d, a):
        if self.descriptor == "size":
            return d - a
        if self.descriptor == "prediction":
            d = int(self.cell(d))
        ages, r = self._table(None if self.descriptor is None else d)
        return float(np.interp(a, ages, r))


def _marginal_quantiles(size, pred, k):
    """Edges 0 = y_0 < ... < y_k = inf with P(Y < y_i) = i / k under the marginal law of
    the prediction (bisection in log y on a Gauss-Legendre integral over sizes)."""
    from ..core.numerics import gauss_pieces
    cuts = np.array(size_cuts(size))

    def F(y):
        return gauss_pieces(lambda x: np.asarray(size.pdf(x), float)
                            * np.asarray(pred.cdf(y[:, None], x[None, :]), float), cuts)[0]
    u = np.arange(1, k) / k
    lo, hi = np.full(k - 1, -60.0), np.full(k - 1, 60.0)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        below = F(size.scale * np.exp(mid)) < u
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return np.concatenate([[0.0], size.scale * np.exp(0.5 * (lo + hi)), [INF]])


def gittins_policy(q, cells=None):
    """The Gittins policy of queue ``q`` (its information: ``q.prediction``; a continuous
    prediction through its cell among ``cells`` equal-probability cells, default
    :data:`CELLS`).

    Examples
    --------
    >>> import qtheory as qt
    >>> q = qt.MG1(0.5, qt.Exponential(1.0))
    >>> p = gittins_policy(q)            # memoryless sizes: every index is the rate
    >>> round(p.rank(None, 0.0), 3), round(p.rank(None, 3.0), 3)
    (1.0, 1.0)
    """
    return GittinsPolicy(q, CELLS if cells is None else cells)
