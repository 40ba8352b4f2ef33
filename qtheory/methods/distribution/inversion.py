"""Numerical inversion of Laplace transforms: the Euler algorithm of Abate and Whitt.

f(t) ≈ (10^{M/3} / t) Σ_{k=0}^{2M} η_k Re f̂(β_k / t), β_k = M ln(10)/3 + iπk
(Abate & Whitt, "A unified framework for numerically inverting Laplace transforms",
INFORMS J. Computing 18(4), 2006, §5). Every node has Re s = M ln(10) / (3t) > 0, where
busy-period transforms are defined by their principal branch (no Talbot contour).
In double precision the method gives about 0.6 M significant digits and loses about
M/3 digits to rounding; M = 16 balances the two (measured on M/M/1 tails: absolute
error 1e-12 to 3e-11 at M = 16, 1e-10 at M = 14 and at M = 20). The error estimate is
the difference from a second inversion with M = 14 (two orders, as the paper
recommends) plus the rounding bound 10^{M/3} ε, ε the accuracy of the transform values
(1e-15 by default).

Examples
--------
>>> import numpy as np
>>> v, err = euler(lambda s: 1 / (s * (s + 1)), np.array([0.5, 2.0]))  # 1 - e^{-t}
>>> np.allclose(v, 1 - np.exp([-0.5, -2.0]), rtol=1e-9, atol=0), bool(np.all(err < 1e-8))
(True, True)
"""

import math
from functools import lru_cache

import numpy as np
from scipy.special import comb

from ...core.budget import tick


@lru_cache(maxsize=8)
def euler_nodes(M):
    """The nodes β_k and weights η_k 10^{M/3} of the order-M Euler algorithm."""
    xi = np.zeros(2 * M + 1)
    xi[0] = 0.5
    xi[1:M + 1] = 1.0
    xi[2 * M] = 2.0 ** -M
    for j in range(1, M):
        xi[2 * M - j] = xi[2 * M - j + 1] + 2.0 ** -M * comb(M, j, exact=True)
    k = np.arange(2 * M + 1)
    eta = (-1.0) ** k * xi * 10 ** (M / 3)
    beta = M * math.log(10) / 3 + 1j * math.pi * k
    return beta, eta


def euler_values(transform, t, M):
    """The order-M Euler inversion of ``transform`` at times ``t`` (one batch call)."""
    t = np.asarray(t, float)
    beta, eta = euler_nodes(M)
    s = beta[None, :] / t[:, None]
    tick(s.size, stage="inverting the transform")
    vals = np.asarray(transform(s), complex)
    return (vals.real @ eta) / t


#: The order of the values, and the one they are checked against.
ORDERS = (16, 14)


def rounding(M, eps=1e-15):
    """The absolute error rounding may leave in an order-M inversion of transform values
    good to ``eps``: the algorithm multiplies them by about 10^{M/3}."""
    return 10 ** (M / 3) * eps


def euler(transform, t, orders=ORDERS, eps=1e-15):
    """f(t) from its Laplace transform, with the difference between two orders as the
    error estimate.

    Parameters
    ----------
    transform : callable
        f̂(s) for a complex array ``s`` (any shape), vectorised.
    t : array_like
        Times t > 0.
    orders : tuple of int
        The order used for the value and the one it is checked against.
    eps : float
        The accuracy of the transform's values (:func:`rounding`).

    Returns
    -------
    value, error : numpy.ndarray
    """
    t = np.atleast_1d(np.asarray(t, float))
    if np.any(~(t > 0)):
        raise ValueError("inversion times must be > 0")
    hi = euler_values(transform, t, orders[0])
    lo = euler_values(transform, t, orders[1])
    return hi, np.abs(hi - lo) + rounding(orders[0], eps)
