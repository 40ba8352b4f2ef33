"""Gauss-Legendre rules and the map of quadrature pieces shared by the SOAP engine."""

import math

from numpy.polynomial import legendre as _leg
import numpy as np


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


def _legval(t, c):
    """Sum_n c[..., n] P_n(t), vectorised (``t`` shape S, ``c`` shape S + (n,))."""
    p0, p1 = np.ones_like(t), t
    out = c[..., 0] * p0 + c[..., 1] * p1
    for n in range(1, c.shape[-1] - 1):
        p0, p1 = p1, ((2 * n + 1) * t * p1 - n * p0) / (n + 1)
        out = out + c[..., n + 1] * p1
    return out


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
