"""Statistics of simulation output: replication summaries, Student-t intervals, batch means.

Examples
--------
>>> lo, hi = t_interval([1.0, 2.0, 3.0])[1]
>>> round(lo, 4), round(hi, 4)
(-0.4841, 4.4841)
"""

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats as _st


def t_interval(values, level=0.95):
    """Mean, (lo, hi) Student-t interval and standard error of independent values.

    Parameters
    ----------
    values : array_like
        At least two independent, identically distributed estimates.
    level : float
        Confidence level of the two-sided interval.
    """
    v = np.asarray(values, float)
    n = v.size
    mean = float(v.mean())
    se = float(v.std(ddof=1) / math.sqrt(n)) if n > 1 else math.inf
    half = float(_st.t.ppf(0.5 + level / 2, n - 1) * se) if n > 1 else math.inf
    return mean, (mean - half, mean + half), se


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


@dataclass
class SimulationResult:
    """The outcome of :func:`qtheory.methods.sim.simulate`: an estimate with its 95% confidence
    interval from independent replications.

    ``float(result)`` is the point estimate. ``value`` and ``error`` (the standard error)
    make it interchangeable with :class:`qtheory.core.result.Result` in reports.

    Attributes
    ----------
    mean_response_time : float
        Average of the replication means.
    ci : tuple of float
        95% Student-t confidence interval (lo, hi) over replications.
    std_error : float
        Standard error of ``mean_response_time``.
    replications : numpy.ndarray
        Mean response time of each replication (jobs after the warm-up).
    jobs, warmup : int
        Jobs per replication and how many were dropped at the start: the measured jobs
        are those numbered ``warmup`` .. ``jobs - 1``.
    mean_number : float
        Time-average number in system over the measurement window (Little's law: it should
        match ``arrival_rate_estimate * mean_response_time``); NaN for the FCFS fast path.
    arrival_rate_estimate : float
        Measured jobs per unit time in the window.
    by_size : SizeCurve or None
        E[T | size] per size bin (``by_size=`` option).
    per_job : dict or None
        ``per_job=True``: arrays ``response_time`` and ``size`` of every measured job of the
        first replication, in arrival order.
    """

    mean_response_time: float
    ci: tuple
    std_error: float
    replications: np.ndarray
    jobs: int
    warmup: int
    policy: str = ""
    mean_number: float = math.nan
    arrival_rate_estimate: float = math.nan
    mean_number_replications: np.ndarray = None
    by_size: SizeCurve = None
    per_job: dict = None
    elapsed: float = math.nan
    method: str = "simulation"
    details: dict = field(default_factory=dict)

    def __float__(self):
        return float(self.mean_response_time)

    @property
    def value(self):
        return self.mean_response_time

    @property
    def error(self):
        """The standard error (what a z-score divides by)."""
        return self.std_error

    @property
    def relative_half_width(self):
        """Half-width of the confidence interval relative to the estimate."""
        return (self.ci[1] - self.ci[0]) / 2 / abs(self.mean_response_time)

    def z_score(self, value):
        """(estimate - value) / standard error."""
        return (self.mean_response_time - float(value)) / self.std_error

    def __repr__(self):
        return (f"SimulationResult({self.mean_response_time:.6g}, 95% CI "
                f"[{self.ci[0]:.6g}, {self.ci[1]:.6g}], {len(self.replications)} x "
                f"{self.jobs} jobs, policy={self.policy!r})")
