"""What every method returns: a value with how far it may be off, and the method's key.

* :class:`Result` — an analytic answer: value, absolute error bound, method key.
* :class:`SimulationResult` — a simulation's answer: the same fields (``error`` is the
  standard error) plus its 95% interval, the replications and every other measured
  quantity as an :class:`Estimate`.
* :func:`t_interval` — the Student-t interval all simulation estimates are built with.
"""

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def t_interval(values, level: float = 0.95):
    """Mean, (lo, hi) Student-t interval and standard error of independent values.

    Parameters
    ----------
    values : array_like
        Independent, identically distributed estimates (an interval needs two or more).
    level : float
        Confidence level of the two-sided interval.

    Examples
    --------
    >>> m, (lo, hi), se = t_interval([1.0, 2.0, 3.0])
    >>> m, round(lo, 4), round(hi, 4), round(se, 4)
    (2.0, -0.4841, 4.4841, 0.5774)
    """
    from scipy import stats
    v = np.asarray(values, float)
    n = v.size
    mean = float(v.mean())
    if n < 2:
        return mean, (-math.inf, math.inf), math.inf
    se = float(v.std(ddof=1) / math.sqrt(n))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * se)
    return mean, (mean - half, mean + half), se


@dataclass(frozen=True)
class Result:
    """A number with its error estimate and the method that produced it.

    ``error`` is an absolute bound on the numerical error (quadrature, truncation);
    it is 0 for results that need no numerics. ``method`` is the key the number was
    asked for with ("formula", "soap", "symbolic", "simulation", "fluid", "bound", ...);
    what kind of number it is and where it comes from go in ``details``.
    ``float(result)`` gives the value.

    Examples
    --------
    >>> r = Result(2.5, 1e-12, "formula", "FCFS")
    >>> float(r), r.method
    (2.5, 'formula')
    >>> r
    Result(2.5 ± 1e-12, method='formula', policy='FCFS')
    """

    value: Any
    error: float = 0.0
    method: str = "formula"
    policy: str = ""
    details: dict = field(default_factory=dict, compare=False)

    def __float__(self):
        return float(self.value)

    def __repr__(self):
        return (f"{type(self).__name__}({self.value:.10g} ± {self.error:.2g}, "
                f"method={self.method!r}, policy={self.policy!r})")

    @property
    def relative_error(self) -> float:
        """The error estimate relative to the value."""
        return abs(self.error / self.value) if self.value else math.inf


@dataclass(frozen=True)
class Estimate:
    """One simulated quantity over independent replications: its mean, standard error,
    95% Student-t interval and the replication values.

    Examples
    --------
    >>> e = Estimate.of([1.0, 1.2, 0.9, 1.1])
    >>> round(e.mean, 3), round(e.z(1.0), 3), len(e.values)
    (1.05, 0.775, 4)
    """

    mean: float
    std_error: float
    ci: tuple
    values: np.ndarray = field(repr=False, compare=False)

    @classmethod
    def of(cls, values):
        """The estimate from independent replication values (:func:`t_interval`)."""
        values = np.asarray(values, float)
        mean, ci, se = t_interval(values)
        return cls(mean, se, ci, values)

    def z(self, exact) -> float:
        """(estimate − exact) / standard error: ``|z| < 4`` is agreement. With no spread over
        the replications (a deterministic quantity), 0 if equal to 1e-12, else ±inf."""
        exact = float(exact)
        if self.std_error == 0:
            close = abs(self.mean - exact) <= 1e-12 * max(1.0, abs(exact))
            return 0.0 if close else math.copysign(math.inf, self.mean - exact)
        return (self.mean - exact) / self.std_error


@dataclass(frozen=True, repr=False, eq=False)
class SimulationResult(Result):
    """A simulation's answer: the mean response time over independent replications.

    ``value`` is the point estimate and ``error`` its standard error (what a z-score
    divides by), so it sits beside analytic :class:`Result` objects in reports.

    Attributes
    ----------
    ci : tuple of float
        95% Student-t confidence interval (lo, hi) of the mean response time.
    replications : numpy.ndarray
        The mean response time of each replication (jobs after the warm-up).
    jobs, warmup : int
        Jobs per replication and how many were dropped at the start.
    metrics : dict of str to Estimate
        Every measured quantity by name, ``"T"`` (response time) among them; the
        queue's simulator documents the others (``"N"`` number in system, ``"W"`` wait,
        ``"TTFT"``, ``"throughput"``, ...).
    by_size : SizeCurve or None
        E[T | size] per size bin (M/G/1 ``by_size=`` option).
    per_job : dict or None
        Arrays of every measured job of the first replication (M/G/1 ``per_job=True``).
    tails : tuple or None
        Each replication's histogram of response times (M/G/1 ``quantiles=``): any
        quantile or tail probability after the run.
    elapsed : float
        Wall-clock seconds spent simulating.

    Examples
    --------
    >>> s = SimulationResult.from_replications({"T": [1.0, 1.2, 0.9, 1.1],
    ...                                          "W": [0.5, 0.6, 0.4, 0.5]}, jobs=100)
    >>> round(s.mean_response_time, 3), round(s.z(1.0), 3), round(s.mean("W"), 3)
    (1.05, 0.775, 0.5)
    """

    ci: tuple = (-math.inf, math.inf)
    replications: np.ndarray = None
    jobs: int = 0
    warmup: int = 0
    metrics: dict = field(default_factory=dict)
    by_size: Any = None
    per_job: dict = None
    tails: tuple = None
    elapsed: float = math.nan

    @classmethod
    def from_replications(cls, samples, jobs, warmup=0, policy="", **details):
        """The result from replication values ``{"T": [...], other name: [...]}``."""
        metrics = {name: Estimate.of(v) for name, v in samples.items()}
        t = metrics["T"]
        return cls(t.mean, t.std_error, "simulation", str(policy), details, ci=t.ci,
                   replications=t.values, jobs=jobs, warmup=warmup, metrics=metrics)

    def with_(self, **changes):
        """A copy with some fields changed (the result itself is immutable)."""
        import dataclasses
        return dataclasses.replace(self, **changes)

    @property
    def mean_response_time(self) -> float:
        return self.value

    @property
    def std_error(self) -> float:
        """The standard error of the mean response time."""
        return self.error

    @property
    def relative_half_width(self) -> float:
        """Half-width of the confidence interval relative to the estimate."""
        return (self.ci[1] - self.ci[0]) / 2 / abs(self.value)

    @property
    def mean_number(self) -> float:
        """Time-average number in system (Little: ``arrival_rate * mean_response_time``);
        NaN where the simulator does not measure it."""
        return self.mean("N") if "N" in self.metrics else math.nan

    def metric(self, name: str) -> Estimate:
        """The estimate of a measured quantity by name."""
        try:
            return self.metrics[name]
        except KeyError:
            raise KeyError(f"{name!r} was not measured: this simulation has "
                           f"{sorted(self.metrics)}") from None

    def mean(self, name: str = "T") -> float:
        return self.metric(name).mean

    def interval(self, name: str = "T") -> tuple:
        return self.metric(name).ci

    def z(self, exact, name: str = "T") -> float:
        """(simulated − exact) / standard error of a quantity: ``|z| < 4`` is agreement."""
        return self.metric(name).z(exact)

    @property
    def quantiles(self) -> dict:
        """The estimated quantiles of T (simulated with ``quantiles=``): p -> Estimate."""
        return {round(float(k[1:]) / 100, 12): v for k, v in self.metrics.items()
                if k.startswith("P") and k[1:].replace(".", "", 1).isdigit()}

    def quantile(self, p: float) -> Estimate:
        """The estimate of the p-quantile of T (simulate with ``quantiles=``)."""
        return self.metric(f"P{100 * p:g}")

    def moment(self, k: int) -> Estimate:
        """The estimate of E[T^k], k = 1, 2, 3 (k > 1: simulate with ``quantiles=``)."""
        return self.metric("T" if k == 1 else f"T^{k}")

    def __repr__(self):
        return (f"SimulationResult({self.value:.6g}, 95% CI [{self.ci[0]:.6g}, "
                f"{self.ci[1]:.6g}], {len(self.replications)} x {self.jobs} jobs, "
                f"policy={self.policy!r})")
