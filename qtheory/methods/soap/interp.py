"""Adaptive piecewise-Legendre interpolation in rank space, with exact antiderivatives."""

import math
from functools import lru_cache

import numpy as np
from numba import njit
from numpy.polynomial import legendre as _leg

from ...core.budget import tick
from ...core.errors import ConvergenceError
from .rules import INF

#: Relative tolerance of the rank-space interpolants of 1 / (1 - rho^new[r]).
INTERP_RTOL = 1e-11


#: Where an interpolant's pieces are probed for kinks its nodes cannot see (fraction of
#: the piece from each end).
_EDGE = 1e-6


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
    and exact antiderivatives; ``error`` is the largest accepted relative error (relative
    to ``scale``, the largest |value| seen). With ``noise`` > 0 a piece is also accepted
    below ``noise`` times that largest value: the function's rounding floor."""

    def __init__(self, fn, cuts, rtol=INTERP_RTOL, nodes=32, scale=None, noise=0.0):
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
            tick(len(pieces), stage="SOAP interpolation")
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
            # ``noise``: the function's own relative rounding times its scale, below which
            # halving pieces only chases noise (1 / (1 - lambda N) near rho = 1)
            ok = (err <= max(rtol, noise * float(np.max(scale)))) | (b - a <= tiny)
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
        self.scale = float(np.max(scale))       # error * scale bounds the absolute error
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
