"""Statistics of simulation output beyond the replication means: batch means of a
correlated series, its lag-1 autocorrelation, and the E[T | size] curve.

The replication means themselves are summarised by
:class:`qtheory.core.result.SimulationResult` (Student-t intervals, ``t_interval``).
"""

from dataclasses import dataclass

import numpy as np


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
