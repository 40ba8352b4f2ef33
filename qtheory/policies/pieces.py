"""Linear rank pieces: how a policy's rank, as a function of age, is declared exactly
(:meth:`qtheory.policies.Policy.pieces`) or found from its rank function
(:func:`discover_pieces`), and how pieces affine in the descriptor are recognised
(:func:`affine_template`) so that a user's rank simulates in the compiled loops.

A rank profile lists, for each descriptor, pieces ``[s, e)`` of age (a piece with
``s == e`` is the single age ``s``, e.g. SJF's rank at age 0), each with a class ``c``
(the first component of a pair rank; -inf: never preempted) and the value
``v + m (a - s)``.
"""

import math

import numpy as np

from ..core.budget import tick
from ..core.errors import PolicyError

INF = math.inf

class Profile:
    """Linear rank pieces of n descriptors: arrays (n, P) of start ``S``, end ``E``
    (``S == E``: a single age), class ``C``, start value ``V`` and slope ``M``."""

    def __init__(self, S, E, C, V, M):
        self.S, self.E, self.C, self.V, self.M = (np.asarray(z, float) for z in (S, E, C, V, M))

    @property
    def n(self):
        return self.S.shape[0]

    def take(self, idx):
        return Profile(*(z[idx] for z in (self.S, self.E, self.C, self.V, self.M)))

    def breakpoints(self):
        """Finite piece boundaries, per descriptor (n, 2P)."""
        b = np.concatenate([self.S, self.E], axis=1)
        return np.where(np.isfinite(b), b, np.nan)



def stack(pieces, n):
    """A Profile of ``n`` descriptors from pieces ``(s, e, c, v, m)``, each entry a number
    or an array of length ``n``."""
    cols = [[np.broadcast_to(np.asarray(c, float), (n,)) for c in piece] for piece in pieces]
    return Profile(*(np.stack([col[k] for col in cols], axis=1) for k in range(5)))


def as_key(value):
    """A rank as (class, value): scalars are class 0, +-inf scalars class +-inf, pairs
    (class, value). Longer tuples are not supported."""
    if isinstance(value, tuple):
        if len(value) == 1:
            return as_key(value[0])
        if len(value) != 2:
            raise PolicyError(f"rank {value!r}: the SOAP engine compares ranks that are numbers "
                              "or pairs (class, value); fold extra components into the class.")
        return float(value[0]), float(value[1])
    v = float(value)
    if math.isnan(v):
        raise PolicyError("the rank function returned NaN; ranks must be numbers, +-inf or pairs.")
    return (v if math.isinf(v) else 0.0), v



def array_keys(fn, d, a):
    """Ranks fn(d_i, a_i) as (class, value) arrays from one call on whole arrays, or None
    when ``fn`` is not numpy-style (it fails, or disagrees with its point calls on three
    probes). ``d`` is None or an array like ``a``."""
    try:
        with np.errstate(all="ignore"):
            out = fn(d, a)
        if isinstance(out, tuple) and len(out) == 2:
            c, v = (np.broadcast_to(np.asarray(z, float), a.shape) for z in out)
        elif not isinstance(out, tuple) and np.shape(out) == a.shape:
            v = np.asarray(out, float)
            c = np.where(np.isinf(v), v, 0.0)
        else:
            return None
    except Exception:  # not a numpy-style function
        return None
    probe = np.unique(np.linspace(0, a.size - 1, 3).astype(int))
    pc, pv = point_keys(fn, None if d is None else d[probe], a[probe])
    if not (np.array_equal(pc, c[probe]) and np.allclose(pv, v[probe], rtol=1e-14, atol=0)):
        return None
    if np.isnan(v).any():
        raise PolicyError("the rank function returned NaN; ranks must be numbers, +-inf or pairs.")
    return c, v


def point_keys(fn, d, a):
    """Ranks fn(d_i, a_i) as (class, value) arrays, one call per point."""
    ds = [None] * a.size if d is None else d.tolist()
    keys = [as_key(fn(di, ai)) for di, ai in zip(ds, a.tolist())]
    return tuple(np.array(keys, float).reshape(-1, 2).T)


def stack_rows(n, row, S, E, C, V, M):
    """A Profile of ``n`` descriptors from pieces listed row by row (``row`` sorted),
    padded with empty pieces at age inf of class inf, which never change a level set
    below infinite age."""
    count = np.bincount(row, minlength=n)
    col = np.arange(row.size) - np.repeat(np.cumsum(count) - count, count)
    out = [np.full((n, count.max()), INF) for _ in range(4)] + [np.zeros((n, count.max()))]
    for z, g in zip(out, (S, E, C, V, M)):
        z[row, col] = g
    return Profile(*out)


def _drop_kink_cells(n, unit, rtol, tiny, R, S, E, C, V, M):
    """Cells (sorted by row R and start S) without the ones narrower than 1e-10 of their
    age that bisection leaves around a kink: their slopes are rounding. A cell goes where
    the rank is continuous on both sides (jumps keep theirs) and its slope differs from a
    neighbour's, until none is left; the gaps close where the pieces' lines meet.
    Continuity is to ``rtol`` of the rank's scale, or to the resolution ``tiny`` of the
    ages times the slope."""
    for _ in range(64):
        with np.errstate(all="ignore"):
            end_v = np.where(M != 0, V + M * (E - S), V)
            mag = np.where(np.isfinite(V) & np.isfinite(end_v),
                           np.maximum(np.abs(V), np.abs(end_v)), 0.0)
            row_mag = np.zeros(n)
            np.maximum.at(row_mag, R, mag)          # the scale of each descriptor's rank
            res = 10 * tiny * np.maximum(np.maximum(np.abs(M[1:]), np.abs(M[:-1])), 1.0)
            gap = np.abs(V[1:] - end_v[:-1]) <= rtol * 10 * row_mag[R[1:]] + res
            joined = (R[1:] == R[:-1]) & (C[1:] == C[:-1]) & gap
            odd = np.abs(M[1:] - M[:-1]) > 1e-9 * np.maximum(np.abs(M[1:]), np.abs(M[:-1]))
        # (not the grid's own fine cells near age 0: those are where they should be)
        narrow = (E - S <= 1e-10 * np.maximum(S, unit)) & (E > S) & (S > 1e-9 * unit)
        drop = (narrow & np.concatenate([[False], joined]) & np.concatenate([joined, [False]])
                & (np.concatenate([[False], odd]) | np.concatenate([odd, [False]])))
        if not drop.any():
            break
        R, S, E, C, V, M = (z[~drop] for z in (R, S, E, C, V, M))
    return R, S, E, C, V, M


def discover_pieces(fn, d, a_max, unit=1.0, rtol=1e-12):
    """Linear pieces of a general rank function ``fn(d, a)`` on [0, a_max], extended
    linearly beyond, for one descriptor ``d`` or an array of them (one profile row each).

    The age axis is cut on the dyadic grid unit * 2^k; a cell is accepted as linear when
    the rank has one class and three interior points lie on the chord through its ends
    (to ``rtol``), and is halved otherwise. A cell that stays non-linear down to width
    ~1e-13 holds a jump: it is closed there, so jumps are located to machine precision.
    A rank at age 0 different from its right limit becomes a one-point piece (SJF-like).
    All cells of all descriptors are probed together, round by round: a numpy-style
    ``fn`` is called once per round.

    Examples
    --------
    The SERPT rank of the docs/theory/soap.md worked example (X in {2, 14}) has a jump at age 2:

    >>> pr = discover_pieces(lambda d, a: 8 - a if a < 2 else 14 - a, None, 14.0, 8.0)
    >>> pr.S.tolist(), pr.V.tolist(), pr.M.tolist()
    ([[0.0, 2.0]], [[8.0, 12.0]], [[-1.0, -1.0]])
    """
    desc = None if d is None else np.atleast_1d(d)
    n = 1 if desc is None else desc.size
    a_max = float(a_max)
    top = unit * 2.0 ** math.ceil(math.log2(max(a_max, unit) / unit))
    grid = [0.0] + [unit * 2.0 ** k for k in range(-40, 1) if unit * 2.0 ** k <= top]
    grid += [top * (1 + i / 8) for i in range(1, 9)]  # beyond the grid: a few linear cells
    grid = np.array(sorted(set(grid)))
    tiny = 1e-13 * max(unit, 1.0)
    row = np.repeat(np.arange(n), grid.size - 1)
    a, b = np.tile(grid[:-1], n), np.tile(grid[1:], n)
    vector = True  # until fn shows it is not numpy-style

    def keys(ds, ages):
        nonlocal vector
        out = array_keys(fn, ds, ages) if vector else None
        vector = out is not None
        return out if vector else point_keys(fn, ds, ages)

    found = []  # per round: (row, s, e, c, v, m) of the accepted cells
    while row.size:
        tick(row.size, stage="the rank's linear pieces")
        w = b - a
        ages = np.stack([a, b - w * 1e-9, a + 0.25 * w, a + 0.5 * w, a + 0.75 * w])
        ds = None if desc is None else np.tile(desc[row], 5)
        c, v = keys(ds, ages.ravel())
        c, v = c.reshape(5, -1), v.reshape(5, -1)
        one_class = np.all(c == c[0], axis=0)
        with np.errstate(all="ignore"):
            finite = np.all(np.isfinite(v) | (v == v[0]), axis=0)
            m = (v[4] - v[2]) / (0.5 * w)
            scale = np.maximum(np.maximum(np.abs(v[0]), np.abs(m) * w), 1e-300)
            on_chord = np.all(np.abs(v[0] + m * (ages - a) - v) <= rtol * 10 * scale, axis=0)
        inf_start = ~np.isfinite(v[0])
        lin = one_class & finite & np.where(inf_start, np.all(v == v[0], axis=0), on_chord)
        m = np.where(inf_start, 0.0, m)
        # closed at the jump: the rank of its left end. A cell cannot be narrower than a
        # few units in the last place of its ages (at age 2e5 one is 3e-11, above tiny):
        # without that floor a kink there was bisected forever
        jump = ~lin & (w <= np.maximum(tiny, 8 * np.spacing(np.abs(b))))
        with np.errstate(all="ignore"):  # ... unless the rank is continuous there: a kink
            kink = jump & (c[1] == c[0]) & (np.abs(v[1] - v[0]) <= rtol * 10 * scale)
        done = lin | jump
        keep = done & ~kink         # a kink's cell is dropped; its neighbours close the gap
        found.append((row[keep], a[keep], b[keep], c[0][keep], v[0][keep],
                      np.where(lin, m, 0.0)[keep]))
        mid = 0.5 * (a + b)
        split = ~done
        row = np.repeat(row[split], 2)
        a = np.column_stack([a[split], mid[split]]).ravel()
        b = np.column_stack([mid[split], b[split]]).ravel()
    R, S, E, C, V, M = (np.concatenate(z) for z in zip(*found))
    order = np.lexsort((S, R))
    R, S, E, C, V, M = (z[order] for z in (R, S, E, C, V, M))
    R, S, E, C, V, M = _drop_kink_cells(n, unit, rtol, tiny, R, S, E, C, V, M)
    # merge cells that continue one another (same class, value and slope)
    with np.errstate(all="ignore"):
        end_v = np.where(M != 0, V + M * (E - S), V)
        # continuity to rtol of the values' scale on the two cells (a value near 0 on a
        # sloped piece is continuous to the slope times the width, not to itself)
        scale = np.maximum.reduce([np.abs(V[1:]), np.abs(end_v[:-1]),
                                   np.abs(M[:-1] * (E[:-1] - S[:-1])),
                                   np.abs(M[1:] * (E[1:] - S[1:])), np.full(V.size - 1, 1e-300)])
        cont = (R[1:] == R[:-1]) & (C[1:] == C[:-1]) & (
            (V[1:] == end_v[:-1]) | (np.abs(V[1:] - end_v[:-1]) <= rtol * 10 * scale)) & (
            (M[1:] == M[:-1]) | (np.abs(M[1:] - M[:-1]) <= 1e-9 * np.maximum(
                np.abs(M[1:]), np.abs(M[:-1]))))
    first = np.concatenate([[True], ~cont])
    last = np.concatenate([~cont, [True]])
    gs, ge = np.flatnonzero(first), np.flatnonzero(last)
    gR, gS, gE, gC, gV = R[gs], S[gs], E[ge], C[gs], V[gs]
    # slope of a merged piece: its chord, not the slope of its first (possibly tiny) cell
    with np.errstate(all="ignore"):
        gM = np.where(gE > gS, (end_v[ge] - gV) / (gE - gS), M[gs])
    gM = np.where(np.isfinite(gV) & np.isfinite(gM), gM, 0.0)
    row_last = np.concatenate([gR[1:] != gR[:-1], [True]])
    # a gap left by dropped cells closes at the kink, where the two lines meet
    with np.errstate(all="ignore"):
        nS, nV, nM = np.append(gS[1:], INF), np.append(gV[1:], 0.0), np.append(gM[1:], 0.0)
        meet = (nV - nM * nS - gV + gM * gS) / (gM - nM)
        meet = np.where(np.isfinite(meet), np.clip(meet, gE, nS), nS)
    meet = np.where(~row_last & (gE < nS), meet, nS)
    shift = np.concatenate([[False], (~row_last & (gE < nS))[:-1]])
    gV = np.where(shift, gV + gM * (np.append(gS[:1], meet[:-1]) - gS), gV)
    gS = np.where(shift, np.append(gS[:1], meet[:-1]), gS)
    gE = np.where(row_last, INF, meet)  # contiguous pieces
    # a rank of its own at age 0 (non-preemptive): a one-point piece before the others
    c0, v0 = keys(desc, np.zeros(n))
    row_first = np.concatenate([[True], gR[1:] != gR[:-1]])
    extra = np.flatnonzero(row_first)[(c0 != gC[row_first]) | (v0 != gV[row_first])]
    if extra.size:
        ins = (gR[extra], np.zeros(extra.size), np.zeros(extra.size), c0[gR[extra]],
               v0[gR[extra]], np.zeros(extra.size))
        pieces = [np.insert(z, extra, zi) for z, zi in zip((gR, gS, gE, gC, gV, gM), ins)]
        gR, gS, gE, gC, gV, gM = pieces
    order = np.argsort(gR, kind="stable")      # each row's pieces, in their order
    bounds = np.searchsorted(gR[order], np.arange(n + 1))
    cols = [z[order] for z in (gS, gE, gC, gV, gM)]
    tidy = [_tidy(*(z[bounds[r]:bounds[r + 1]] for z in cols), unit) for r in range(n)]
    gR = np.repeat(np.arange(n), [t[0].size for t in tidy])
    return stack_rows(n, gR, *(np.concatenate(z) for z in zip(*tidy)))



def _tidy(S, E, C, V, M, unit):
    """One profile row without padding and without the pieces narrower than 1e-9 of
    their age (unit) across which the rank is continuous: they are where bisection met a
    kink, and their number varies with the descriptor. A narrow piece at a jump stays."""
    keep = np.isfinite(S) | (M != 0)
    pieces = [list(z) for z in zip(S[keep], E[keep], C[keep], V[keep], M[keep])]
    scale = max([abs(p[3]) for p in pieces if np.isfinite(p[3])] + [unit])
    i = 1
    while i < len(pieces) - 1:
        s, e, c, v, m = pieces[i]
        prev, nxt = pieces[i - 1], pieces[i + 1]
        narrow = e - s <= 1e-9 * max(abs(s), unit) and e > s and s > 1e-9 * unit
        at_next = prev[3] + prev[4] * (nxt[0] - prev[0]) if np.isfinite(prev[3]) else prev[3]
        smooth = prev[2] == c == nxt[2] and np.isfinite(v) and \
            abs(at_next - nxt[3]) <= 1e-9 * scale
        if narrow and smooth:
            with np.errstate(all="ignore"):   # where the two lines meet, within the piece
                meet = (nxt[3] - nxt[4] * nxt[0] - prev[3] + prev[4] * prev[0]) / (prev[4] - nxt[4])
            meet = min(max(meet, s), e) if np.isfinite(meet) else nxt[0]
            nxt[3] += nxt[4] * (meet - nxt[0])
            prev[1] = nxt[0] = meet
            del pieces[i]
            if prev[2] == nxt[2] and abs(prev[4] - nxt[4]) <= 1e-9 * max(abs(prev[4]), 1.0):
                prev[1] = nxt[1]          # the two sides were one line all along
                del pieces[i]
        else:
            i += 1
    return tuple(np.array(z, float) for z in zip(*pieces))


class AffineTemplate:
    """Rank pieces whose ends and values are affine in the descriptor d (classes and
    slopes fixed): ``template(d)`` is the Profile of descriptors ``d``. Built by
    :func:`affine_template`, valid on the descriptors ``[lo, hi]`` it was checked on."""

    def __init__(self, lo, hi, C, M, coef):
        self.lo, self.hi, self.C, self.M, self.coef = lo, hi, C, M, coef

    def __call__(self, d):
        d = np.asarray(d, float)[:, None]
        S, E, V = (c0 + c1 * d if c1.any() else np.broadcast_to(c0, (d.shape[0], c0.size))
                   for c0, c1 in (self.coef[k] for k in "SEV"))
        n = d.shape[0]
        return Profile(S, E, np.broadcast_to(self.C, (n, self.C.size)), V,
                       np.broadcast_to(self.M, (n, self.M.size)))


def affine_template(fn, probes, a_max, unit=1.0, rtol=1e-9):
    """Pieces of a rank function ``fn(d, a)`` as affine functions of the descriptor, or
    None when they are not.

    The rank is discovered (:func:`discover_pieces`) at every descriptor in ``probes``;
    it is a template when all probes have the same number of pieces with the same classes
    and slopes, and the ends and values of each piece lie, at every probe, on the line
    through the extreme probes (to ``rtol`` of their magnitude). Ranks such as y - a, y,
    a cut-off at c y or min(|y - a|, y) are; a rank with a class threshold inside the
    probed range, or y^2 - a, is not. Breakpoints come from discovery: exact to about
    1e-13 relative.

    Examples
    --------
    >>> t = affine_template(lambda y, a: y - a if a <= 0.5 * y else -math.inf,
    ...                     [0.5, 1.0, 2.0, 4.0], 10.0)
    >>> pr = t(np.array([3.0]))                # never preempted from age 1.5 on
    >>> round(float(pr.S[0, -1]), 12), float(pr.C[0, -1]), float(pr.V[0, 0]), float(pr.M[0, 0])
    (1.5, -inf, 3.0, -1.0)
    """
    d = np.unique(np.asarray(probes, float))
    if d.size < 3:
        return None
    pr = discover_pieces(fn, d, a_max, unit)
    used = np.isfinite(pr.S) | (pr.M != 0)
    count = used.sum(axis=1)
    if np.any(count != count[0]):
        return None
    k = int(count[0])
    S, E, C, V, M = (z[:, :k] for z in (pr.S, pr.E, pr.C, pr.V, pr.M))
    if not (np.array_equal(C, np.broadcast_to(C[0], C.shape))
            and np.allclose(M, M[0], rtol=1e-9, atol=1e-12)):
        return None
    coef = {}
    for name, Z in (("S", S), ("E", E), ("V", V)):
        finite = np.isfinite(Z)
        if not np.all(finite == finite[0]) or not np.all(Z[:, ~finite[0]] == Z[0, ~finite[0]]):
            return None
        with np.errstate(invalid="ignore"):
            slope = np.where(finite[0], (Z[-1] - Z[0]) / (d[-1] - d[0]), 0.0)
            icpt = np.where(finite[0], Z[0] - slope * d[0], Z[0])
            fit = icpt + slope * d[:, None]
        scale = max(float(np.abs(Z[finite]).max(initial=0.0)), unit)
        with np.errstate(invalid="ignore"):
            off = np.where(finite, fit - Z, 0.0)
        if np.any(np.abs(off) > rtol * scale):
            return None
        coef[name] = (icpt, slope)
    return AffineTemplate(d[0], d[-1], C[0].copy(), M[0].copy(), coef)
