"""Work given by quadrature nodes: per row (one row per threshold or tagged prediction),
weights g on values v, with the transform Σ g e^{-zv} summed in compiled code. The
generic SOAP path and the noisy-prediction structures build their pieces of work so.

Examples
--------
>>> import numpy as np
>>> n = Nodes(np.array([[0.5, 0.5]]), np.array([[1.0, 2.0]]))     # 1 or 2, equally likely
>>> bool(abs(n.lst(np.array([[0.1]]))[0, 0] - 0.5 * (np.exp(-0.1) + np.exp(-0.2))) < 1e-15)
True
"""

import copy
import math

import numpy as np
from numba import njit, prange

from .work import Work


@njit(cache=True, parallel=True)
def _exp_sums(z, rows, g, v, count, base, val, slope):
    """val[e] = base[r] + Σ_k g[r, k] e^{-z_e v[r, k]} and slope[e] = Σ_k g v e^{-z v}
    for r = rows[e], over each row's ``count[r]`` live nodes (compiled: one pass, no
    temporaries, both cores)."""
    for e in prange(z.size):
        r = rows[e]
        zz = z[e]
        acc = 0j
        acc1 = 0j
        for k in range(count[r]):
            t = g[r, k] * np.exp(-zz * v[r, k])
            acc += t
            acc1 += t * v[r, k]
        val[e] = acc + base[r]
        slope[e] = acc1


@njit(cache=True, parallel=True)
def _tagged_sums(w, x, coef, extra, out):
    """out[r, j] = Σ_k w[r, k] e^{-(coef[r, j] x[r, k] + extra[r, k, j])} (``extra``
    empty: 0), without the (R, K, S) exponentials in memory."""
    R, K = w.shape
    S = coef.shape[1]
    has_extra = extra.shape[0] > 0
    for r in prange(R):
        for k in range(K):
            wk = w[r, k]
            if wk == 0:
                continue
            xk = x[r, k]
            for j in range(S):
                e = coef[r, j] * xk
                if has_extra:
                    e += extra[r, k, j]
                out[r, j] += wk * np.exp(-e)


def tagged_sums(w, x, coef, extra=None):
    """Σ_k w[r, k] e^{-(coef[r, j] x[r, k] + extra[r, k, j])} for tagged jobs of sizes x
    and weights w (R, K) at transform arguments with per-row coefficients ``coef``
    (R, S): the (R, S) sums that the wait multiplies."""
    w = np.ascontiguousarray(np.broadcast_to(w, np.broadcast_shapes(np.shape(w), np.shape(x))), float)
    x = np.ascontiguousarray(np.broadcast_to(x, w.shape), float)
    coef = np.ascontiguousarray(np.broadcast_to(coef, (w.shape[0], np.shape(coef)[-1])), complex)
    extra = (np.zeros((0, 0, 0), complex) if extra is None
             else np.ascontiguousarray(extra, complex))
    out = np.zeros(coef.shape, complex)
    _tagged_sums(w, x, coef, extra, out)
    return out


class Nodes(Work):
    """A piece of work per threshold row: weights ``g`` (R, K) on values ``v`` (R, K), and
    ``base`` (R,) the mass at value 0 not listed. ``lst(z)`` takes z with R rows (or, after
    :meth:`flat`, one entry per row index)."""

    def __init__(self, g, v, base=None):
        self.g, self.v = np.ascontiguousarray(g, float), np.ascontiguousarray(v, float)
        self.base = np.zeros(g.shape[0]) if base is None else np.asarray(base, float)
        live = (self.g != 0) | (self.v != 0)     # rows are packed to the left
        self.count = np.where(live.any(1), self.g.shape[1] - np.argmax(live[:, ::-1], 1), 0)
        self.rows = None

    def _rows(self, z):
        z = np.asarray(z, complex)
        if self.rows is not None:
            return z.ravel(), self.rows
        R = self.g.shape[0]
        zz = np.broadcast_to(z, np.broadcast_shapes(z.shape, (R, 1)))
        return zz.ravel(), np.repeat(np.arange(R), zz.shape[1]), zz.shape

    def _sums(self, z, with_slope):
        got = self._rows(z)
        flat = np.ascontiguousarray(got[0], complex)
        val, slope = np.empty(flat.size, complex), np.empty(flat.size, complex)
        _exp_sums(flat, np.ascontiguousarray(got[1], np.int64), self.g, self.v,
                  self.count.astype(np.int64), self.base, val, slope)
        shape = got[2] if len(got) == 3 else np.shape(z)
        return val.reshape(shape), slope.reshape(shape) if with_slope else None

    def lst(self, z):
        return self._sums(z, False)[0]

    def pair(self, z):
        return self._sums(z, True)

    def dlst(self, z):
        return self._sums(z, True)[1]

    def moment(self, k):
        if k == 0:
            return self.g.sum(1) + self.base
        return (self.g * self.v**k).sum(1)

    def positive(self):
        return (self.g * (self.v > 0)).sum(1)

    def _view(self, rows):
        out = copy.copy(self)
        out.rows = rows
        return out

    def flat(self, shape):
        return self._view(np.broadcast_to(np.arange(self.g.shape[0])[:, None], shape).ravel())

    def take(self, keep):
        return self._view(self.rows[keep])

    def select(self, idx):
        """The rows ``idx`` as their own piece."""
        return Nodes(self.g[idx], self.v[idx], self.base[idx])


def compact(g, v):
    """Drop nodes of no weight or value 0 (their mass goes to ``base``), packing each row's
    remaining nodes to the left: fewer exponentials per transform value."""
    zero = (v == 0) | (g == 0)
    base = np.where(zero, g, 0.0).sum(1)
    keep = ~zero
    slot = np.cumsum(keep, 1) - 1                  # each kept node's place in its row
    width = max(int(slot[:, -1].max(initial=0)) + 1, 1) if g.shape[1] else 1
    gg, vv = np.zeros((g.shape[0], width)), np.zeros((g.shape[0], width))
    r, k = np.nonzero(keep)
    gg[r, slot[r, k]], vv[r, slot[r, k]] = g[r, k], v[r, k]
    return gg, vv, base


def argument_class(omega, decay):
    """Transform arguments of oscillation ω and real parts ≥ ``decay`` fall in classes
    (ω rounded up, the decay down, to powers of two) that share one set of nodes: the
    cache key of a computation."""
    om = 0.0 if omega <= 0 else 2.0 ** math.ceil(math.log2(omega))
    dk = 0.0 if decay <= 0 else 2.0 ** math.floor(math.log2(decay))
    return om, dk


class RowView(Work):
    """A :class:`Nodes` piece with moments shaped (rows, 1), to broadcast against tagged
    quantities with one row per threshold (rows, K) or transform arguments."""

    def __init__(self, nodes):
        self.nodes = nodes

    def lst(self, z):
        return self.nodes.lst(z)

    def pair(self, z):
        return self.nodes.pair(z)

    def dlst(self, z):
        return self.nodes.dlst(z)

    def moment(self, k):
        return self.nodes.moment(k)[:, None]

    def positive(self):
        return self.nodes.positive()[:, None]

    def flat(self, shape):
        return RowView(self.nodes.flat(shape))

    def take(self, keep):
        return RowView(self.nodes.take(keep))
