"""Gauss-Legendre rules and Legendre interpolation shared by the SOAP engine (the map of
quadrature pieces is :func:`qtheory.core.numerics.piece_nodes`)."""

import math

import numpy as np
from numpy.polynomial import legendre as _leg

from ...core.numerics import legendre_antiderivative

INF = math.inf


# Gauss-Legendre rules on [-1, 1], and the matrix that turns 32 node values into the
# Legendre coefficients of the interpolant's antiderivative from -1.
_T32, _W32 = _leg.leggauss(32)


_T16, _W16 = _leg.leggauss(16)


_T8, _W8 = _leg.leggauss(8)


_ANTI = legendre_antiderivative(32)                   # values -> antiderivative in s in [0, 1]


_S32, _S16 = (_T32 + 1) / 2, (_T16 + 1) / 2


def _legval(t, c):
    """Sum_n c[..., n] P_n(t), vectorised (``t`` shape S, ``c`` shape S + (n,))."""
    p0, p1 = np.ones_like(t), t
    out = c[..., 0] * p0 + c[..., 1] * p1
    for n in range(1, c.shape[-1] - 1):
        p0, p1 = p1, ((2 * n + 1) * t * p1 - n * p0) / (n + 1)
        out = out + c[..., n + 1] * p1
    return out
