"""Statistics of simulation output beyond the replication means: batch means of a
correlated series, its lag-1 autocorrelation, the E[T | size] curve, and the streaming
tail histogram behind simulated quantiles.

The replication means themselves are summarised by
:class:`qtheory.core.result.SimulationResult` (Student-t intervals, ``t_interval``).
"""

from dataclasses import dataclass

import numpy as np

from ...core.errors import ParameterError


def batch_means(samples, batches=30):
    """Means of ``batches`` contiguous, equal batches of a (possibly autocorrelated) series.

    Leftover samples at the end (fewer than one batch) are dropped.

    Examples
    --------
    >>> batch_means(np.arange(10.0), batches=2).tolist()
    [2.0, 7.0]
    """
    x = np.asarray(samples, float).ravel()
    size = x.size // batches
    return x[:size * batches].reshape(batches, size).mean(axis=1)


def lag1_autocorrelation(v):
    """Lag-1 sample autocorrelation of a series (0 for constant series)."""
    v = np.asarray(v, float) - np.mean(v)
    den = float(np.dot(v, v))
    return float(np.dot(v[:-1], v[1:]) / den) if den > 0 else 0.0


@dataclass
class SizeCurve:
    """E[T | size in bin]: bin edges, mean size per bin, mean response time per bin with its
    standard error over replications, and the number of jobs per bin (all replications)."""

    edges: np.ndarray
    size: np.ndarray
    mean: np.ndarray
    std_error: np.ndarray
    count: np.ndarray

    def __repr__(self):
        return f"SizeCurve(<{len(self.mean)} bins>)"


class TailHistogram:
    """Response times counted on bins of relative width at most 1/256 (``PER_OCTAVE`` to
    an octave over ``OCTAVES`` octaves centred on the mean size, 2^±27 ≈ 10^±8) and their
    squares and cubes summed: quantiles and moments of a replication in O(bins) memory,
    however many jobs it has."""

    PER_OCTAVE, OCTAVES = 256, 54

    def __init__(self, scale):
        self.scale = scale
        e = np.arange(-self.OCTAVES // 2, self.OCTAVES // 2)
        j = np.arange(self.PER_OCTAVE)
        lower = (2.0 ** (e[:, None] - 1) * (1 + j[None, :] / self.PER_OCTAVE)).ravel()
        self.edges = scale * np.append(lower, 2.0 ** (self.OCTAVES // 2 - 1) * 2)
        self.counts = np.zeros(self.edges.size + 1, np.int64)   # + below and above
        self.powers = np.zeros(2)                                  # Σ T², Σ T³

    def add(self, T):
        from .kernels import tail_add
        T = np.ascontiguousarray(T, float)
        tail_add(T, (T / self.scale).view(np.int64), self.counts, self.PER_OCTAVE,
                 self.OCTAVES, self.powers)

    def sf(self, t):
        """The fraction of response times above ``t`` (array), linear inside a bin."""
        t = np.asarray(t, float)
        n = self.counts.sum()
        i = np.clip(np.searchsorted(self.edges, t, side="right"), 0, self.edges.size)
        above = np.concatenate([np.cumsum(self.counts[::-1])[::-1], [0]])   # counts from bin i
        lo = np.concatenate([[0.0], self.edges])[i]
        hi = np.concatenate([self.edges, [np.inf]])[np.minimum(i, self.edges.size - 1)]
        with np.errstate(all="ignore"):
            inside = np.where((i > 0) & (i < self.edges.size) & (hi > lo),
                              (hi - t) / (hi - lo), 0.0)
        return (above[i + 1] + inside * self.counts[i]) / max(n, 1)

    def quantile(self, p):
        """The p-quantile, interpolating linearly inside its bin (relative width at most
        0.4%, so the interpolation error is far below a simulation's CI)."""
        cum = np.cumsum(self.counts)
        k = p * cum[-1]
        i = int(np.searchsorted(cum, k, side="left"))
        if i == 0 or i > self.edges.size - 1:
            raise ParameterError(f"the {p}-quantile fell outside the histogram's range "
                                 "(2^±27 times the mean size).")
        frac = (k - cum[i - 1]) / max(self.counts[i], 1)
        return float(self.edges[i - 1] + frac * (self.edges[i] - self.edges[i - 1]))
