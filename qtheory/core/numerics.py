"""Quadrature with honest error estimates.

Every integral in qtheory goes through :func:`integrate`, a thin layer over QUADPACK
(``scipy.integrate.quad``) that splits the range at known kinks, returns the value with
QUADPACK's absolute error estimate, and raises :class:`~qtheory.core.errors.ConvergenceError`
instead of returning a number it cannot vouch for.
"""

import math
import warnings

import numpy as np
from scipy import integrate as _spi

from .budget import active as active_budget
from .budget import tick
from .errors import ConvergenceError, MemoryLimitError

#: Relative accuracy requested from every quadrature.
RTOL = 1e-11
#: Most quadrature nodes one array may hold (2^24: 128 MiB of doubles; a transform under
#: noisy predictions on a hyperexponential of SCV 1e6 at load 0.99 asked for 1e8 and was
#: killed by the machine at 18 GB).
NODE_LIMIT = 2**24
#: Results whose estimated relative error exceeds this raise ConvergenceError.
ACCEPT_RTOL = 1e-6


def integrate(fn, lo, hi, points=(), *, rtol=RTOL, atol=1e-300, what="an integral",
              limit=500):
    """Integrate ``fn`` over ``[lo, hi]``; return ``(value, error)``.

    Parameters
    ----------
    fn : callable
        Scalar function of one float.
    lo, hi : float
        Limits; ``hi`` may be ``math.inf``.
    points : iterable of float
        Interior points where ``fn`` has kinks, jumps or steep changes.

    Examples
    --------
    >>> v, e = integrate(lambda t: math.exp(-t), 0, math.inf)
    >>> abs(v - 1) < 1e-12, e < 1e-9
    (True, True)
    """
    if not hi > lo:
        return 0.0, 0.0
    cuts = [lo] + sorted(p for p in set(points) if lo < p < hi) + [hi]
    b = active_budget()
    if b is not None:   # a budget counts evaluations and may stop the quadrature
        fn = _ticking(fn, b, what)
    value = error = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", _spi.IntegrationWarning)
        for a, b in zip(cuts[:-1], cuts[1:]):
            v, e = _spi.quad(fn, a, b, epsabs=atol, epsrel=rtol, limit=limit)[:2]
            value += v
            error += e
    if not math.isfinite(value) or error > max(ACCEPT_RTOL * abs(value), 1e3 * atol, 1e-13):
        raise ConvergenceError(what, value, error)
    return value, error


def _ticking(fn, b, what):
    def counted(t):
        b.tick(stage=what)
        return fn(t)
    return counted


def _rule_pair():
    (t1, w1), (t2, w2) = (np.polynomial.legendre.leggauss(n) for n in (16, 32))
    return 0.5 * (np.concatenate([t1, t2]) + 1.0), 0.5 * np.concatenate([w1, w2]), t1.size


_U, _W, _N1 = _rule_pair()  # nodes on (0, 1), weights, size of the first rule


def gauss_pieces(fn, cuts):
    """Integrate a vectorised ``fn`` over consecutive pieces ``cuts`` (the last may be inf)
    with 16- and 32-point Gauss-Legendre rules evaluated in one call.

    ``fn(x)`` may return shape ``(m, len(x))`` to integrate m functions at once. Returns
    ``(value, error)`` arrays: the 32-point value and |32-point - 16-point| summed over
    the pieces, a conservative error estimate for smooth pieces. A piece [a, b] with
    b >= 2a > 0 is integrated in log x (x = a (b/a)^u, exact for powers of x), the first
    piece [0, b] by x = b u^2 (which absorbs x^(-1/2) singularities at 0) and an infinite
    last piece [a, inf) by x = a / u.

    Examples
    --------
    >>> v, e = gauss_pieces(lambda x: np.exp(-x), [0.0, 1.0, 4.0, 64.0, math.inf])
    >>> bool(abs(v - 1) < 1e-14), bool(e < 1e-10)
    (True, True)
    """
    cuts = np.asarray(cuts, float)
    vals, err = gauss_each(fn, cuts[:-1], cuts[1:])
    return vals.sum(axis=-1), err.sum(axis=-1)


def piece_kind(a, b):
    """How pieces [a, b] are mapped from s in (0, 1): 0 linear, x = a + (b − a) s;
    1 x = a (b/a)^s for wide pieces (b ≥ 2a > 0: exact for powers of x); 2 x = b s² for
    pieces from 0 (absorbs x^(-1/2) at 0); 3 x = a / s for infinite pieces."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    kind = np.zeros(np.broadcast(a, b).shape, int)
    kind[(a > 0) & (b >= 2 * a) & np.isfinite(b)] = 1
    kind[(a == 0) & (b > 0) & np.isfinite(b)] = 2
    kind[~np.isfinite(b)] = 3
    return kind


def piece_nodes(a, b, s):
    """The nodes x and the Jacobian dx/ds of pieces [a, b] (arrays of one shape) at the
    points ``s`` in (0, 1) of a rule, mapped as :func:`piece_kind` says; shape
    ``a.shape + s.shape``. The one map of quadrature pieces every integral here uses.

    Examples
    --------
    >>> x, jac = piece_nodes(np.array([0.0, 1.0, 2.0]), np.array([1.0, 4.0, np.inf]),
    ...                      np.array([0.5]))
    >>> x.ravel().tolist(), jac.ravel().tolist()
    ([0.25, 2.0, 4.0], [1.0, 2.772588722239781, 8.0])
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    needed = np.broadcast(a, b).size * np.size(s)
    if needed > NODE_LIMIT:
        raise MemoryLimitError("a quadrature over the size law", needed, NODE_LIMIT)
    kind = piece_kind(a, b)[..., None]
    a, b = a[..., None], b[..., None]
    with np.errstate(all="ignore"):
        lr = np.log(b / a)
        wide = a * np.exp(lr * s)
        x = np.select([kind == 0, kind == 1, kind == 2], [a + (b - a) * s, wide, b * s**2],
                      a / s)
        jac = np.select([kind == 0, kind == 1, kind == 2],
                        [(b - a) + 0 * s, wide * lr, b * 2 * s], a / s**2)
    return np.where(np.isfinite(x), x, 0.0), np.where(np.isfinite(jac), jac, 0.0)


def split_pieces(a, b, omega, nodes=32, split=1, cap=20_000):
    """Pieces [a_i, b_i] cut into equal parts so that each holds at most ``nodes / 16``
    oscillations of e^{-i ω x} (two for a 32-node rule, one for 16 nodes), each finite
    piece into at least ``split`` parts and at most ``cap``; an infinite last piece stays
    whole. The parts are contiguous: every part ends where the next begins.

    Examples
    --------
    >>> a, b = split_pieces(np.array([0.0, 1.0]), np.array([1.0, np.inf]), omega=0.0, split=2)
    >>> a.tolist(), b.tolist()
    ([0.0, 0.5, 1.0], [0.5, 1.0, inf])
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.size == 0:
        return a, b
    finite = np.isfinite(b)
    width = np.where(finite, b - a, 0.0)
    n = np.maximum(np.ceil(omega * width / (math.pi * nodes / 8)), 1)
    n = np.clip(n * np.where(finite, split, 1), 1, cap).astype(int)
    starts = np.concatenate([lo + (hi - lo) * np.arange(k) / k if fin else [lo]
                             for lo, hi, k, fin in zip(a, b, n, finite)])
    ends = np.concatenate([starts[1:], b[-1:]])
    # a gap between consecutive input pieces is kept: a part never runs past its piece
    last = np.cumsum(n) - 1
    ends[last] = b
    return starts, ends


def oscillation_cuts(c, omega, live=math.inf, nodes=32):
    """Sorted cuts ``c`` with the pieces that start below ``live`` cut to hold at most
    ``nodes / 16`` oscillations of e^{-i ω x} each (beyond ``live`` a transform's
    e^{-Re(s) x} has decayed, and the pieces stay whole).

    Examples
    --------
    >>> oscillation_cuts(np.array([0.0, 2.0, 10.0]), omega=4 * math.pi, live=1.0).tolist()
    [0.0, 1.0, 2.0, 10.0]
    """
    a, b = c[:-1], c[1:]
    near = a < live
    sa, sb = split_pieces(a[near], b[near], omega, nodes=nodes)
    return np.concatenate([sa, a[~near], b[-1:]])


def legendre_rule(n):
    """n Gauss–Legendre nodes and weights on (0, 1), and the matrix that takes values at
    the nodes of a piece to their integrals from the piece's start to each node (through
    the Legendre interpolant, :func:`legendre_antiderivative`)."""
    t, w = np.polynomial.legendre.leggauss(n)
    cum = np.polynomial.legendre.legvander(t, n) @ legendre_antiderivative(n)
    return (t + 1) / 2, w / 2, cum


def legendre_antiderivative(n):
    """The (n + 1) × n matrix from the values at n Gauss–Legendre nodes to the Legendre
    coefficients (in t on [-1, 1]) of the interpolant's antiderivative from -1, in units
    of s = (t + 1) / 2."""
    leg = np.polynomial.legendre
    t, w = leg.leggauss(n)
    proj = (leg.legvander(t, n - 1) * w[:, None]).T * ((2 * np.arange(n) + 1) / 2)[:, None]
    return 0.5 * leg.legint(np.eye(n), lbnd=-1) @ proj


def pieces_antiderivative(edges, values, at):
    """∫_{edges[0]}^{at} g(x) dx for g given at the n Gauss–Legendre nodes of each linear
    piece between consecutive ``edges`` (``values``: (pieces · n, ...), piece by piece),
    through each piece's Legendre interpolant; ``at`` any array, clipped to the edges.
    Returns ``at.shape`` + the trailing shape of ``values``.

    Examples
    --------
    >>> s, _, _ = legendre_rule(16)
    >>> e = np.array([0.0, 1.0, 3.0])
    >>> x = (e[:-1, None] + np.diff(e)[:, None] * s).ravel()
    >>> float(pieces_antiderivative(e, x**2, np.array(2.0)))      # ∫_0^2 x² dx
    2.666666666666667
    """
    P = edges.size - 1
    n = values.shape[0] // P
    tail = values.shape[1:]
    width = np.diff(edges)
    coef = np.einsum("nq,pq...->pn...", legendre_antiderivative(n),
                     values.reshape((P, n) + tail))                   # per piece, from its start
    totals = coef.sum(1) * width.reshape((P,) + (1,) * len(tail))      # P_k(1) = 1
    cum = np.concatenate([np.zeros_like(totals[:1]), np.cumsum(totals, 0)])
    r = np.clip(np.asarray(at, float), edges[0], edges[-1])
    p = np.clip(np.searchsorted(edges, r, side="right") - 1, 0, P - 1)
    t = (2 * np.clip((r - edges[p]) / width[p], 0.0, 1.0) - 1).ravel()
    pf = p.ravel()
    flat = coef.reshape(P, n + 1, -1)
    acc = np.zeros((pf.size, flat.shape[2]), np.result_type(values, float))
    for k in np.unique(pf):          # per piece: (points in it, n + 1) @ (n + 1, rest)
        sel = np.flatnonzero(pf == k)
        acc[sel] = np.polynomial.legendre.legvander(t[sel], n) @ flat[k]
    widths = width[p].reshape(r.shape + (1,) * len(tail))
    return cum[p] + acc.reshape(r.shape + tail) * widths


def gauss_each(fn, a, b):
    """Per-piece 32-point values and |32 - 16| errors over the pieces [a_i, b_i]."""
    x, jac = piece_nodes(a, b, _U)
    w = jac * _W
    vals = np.asarray(fn(x.ravel()), float)
    vals = vals.reshape(vals.shape[:-1] + x.shape) * w
    lo, hi = vals[..., :_N1].sum(axis=-1), vals[..., _N1:].sum(axis=-1)
    return hi, np.abs(hi - lo)


def adaptive_gauss(fn, cuts, rtol, scale=0.0, rounds=60, max_pieces=3000):
    """:func:`gauss_pieces` refined where it is needed: pieces whose error estimate is
    large for a row short of its tolerance, ``rtol`` times the larger of its value and
    its ``scale``, are bisected and re-evaluated, all rows in one call per round, until
    every row meets its tolerance, ``rounds`` pass or the pieces number ``max_pieces``
    (round-off, not the rule, limits the error). A jump or kink missing from ``cuts``
    costs a few dozen cheap rounds. Returns ``(value, error)`` (per row).

    Examples
    --------
    >>> v, e = adaptive_gauss(lambda x: np.vstack([np.exp(-x), x < 0.3]), [0.0, 1.0, 8.0],
    ...                       1e-13)
    >>> bool(abs(v[0] - (1 - math.exp(-8))) < 1e-14), bool(abs(v[1] - 0.3) <= e[1] <= 1e-13)
    (True, True)
    """
    cuts = np.asarray(cuts, float)
    a, b = cuts[:-1], cuts[1:]
    vals, errs = gauss_each(fn, a, b)
    single = vals.ndim == 1
    vals, errs = np.atleast_2d(vals), np.atleast_2d(errs)
    for _ in range(rounds):
        total = errs.sum(axis=1)
        tol = rtol * np.maximum(np.abs(vals.sum(axis=1)), scale)
        short = total > tol
        if not short.any():
            break
        tick(a.size, achieved=float(np.max(total / np.maximum(tol / rtol, 1e-300))))
        # bisect pieces holding more than their share of a short row's budget, and
        # always each short row's worst piece
        share = errs[short] > (tol[short] / a.size)[:, None]
        share[np.arange(share.shape[0]), np.argmax(errs[short], axis=1)] = True
        split = share.any(axis=0) & np.isfinite(b)
        if not split.any() or a.size + split.sum() > max_pieces:
            break
        sa, sb = a[split], b[split]
        mid = np.where((sa > 0) & (sb > 2 * sa), np.sqrt(sa * sb), 0.5 * (sa + sb))
        new = np.column_stack([sa, mid, mid, sb]).reshape(-1, 2)
        v, e = gauss_each(fn, new[:, 0], new[:, 1])
        v, e = np.atleast_2d(v), np.atleast_2d(e)
        # a child's error is at least half of what bisecting changed: the two rules
        # may agree by chance across a jump, the parent and its halves rarely do
        change = np.abs(vals[:, split] - v[:, 0::2] - v[:, 1::2])
        e = np.maximum(e, np.repeat(0.5 * change, 2, axis=1))
        keep = ~split
        a = np.concatenate([a[keep], new[:, 0]])
        b = np.concatenate([b[keep], new[:, 1]])
        vals = np.concatenate([vals[:, keep], v], axis=1)
        errs = np.concatenate([errs[:, keep], e], axis=1)
    vals, errs = vals.sum(axis=1), errs.sum(axis=1)
    return (vals[0], errs[0]) if single else (vals, errs)
