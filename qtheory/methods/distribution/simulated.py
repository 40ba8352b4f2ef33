"""The response-time distribution estimated by simulation: the same questions as the
analytic distribution (moments, variance, tail, quantiles), each answered with the
spread of independent replications. It serves every policy the simulator runs, PS and
the rank policies under noisy predictions among them, and it is what the analytic
numbers are held against.

Each replication streams its response times into a log-spaced histogram
(:class:`~qtheory.methods.sim.stats.TailHistogram`: bins of relative width 1/256), so a
quantile or tail probability at any p or t comes from the stored histograms, and every
number is the mean over replications with its standard error (``Result.error``) and
95% Student-t interval (``details["ci"]``).

Examples
--------
>>> import qtheory as qt
>>> q = qt.MG1(0.5, qt.Exponential(1.0))
>>> d = q.response_time_distribution(qt.PS, method="simulation", jobs=20_000,
...                                  replications=8, seed=3)
>>> m = d.mean()                               # M/M/1-PS: E[T] = 1 / (mu - lambda) = 2
>>> m.method, abs(m.value - 2.0) < 4 * m.error
('simulation', True)
"""

import numpy as np

from ...core.errors import ParameterError, PolicyError
from ...core.result import Estimate, Result


class SimulatedDistribution:
    """The law of T under ``policy`` from ``replications`` independent runs of ``jobs``
    jobs (simulated on first use; ``options`` go to ``q.simulate``)."""

    method = "simulation"

    def __init__(self, queue, policy, jobs=10**6, replications=10, seed=1, **options):
        if "quantiles" in options:
            raise ParameterError("quantiles= is implied: the simulated distribution keeps "
                                 "each replication's histogram and answers any p later.")
        self.queue, self.policy, self.name = queue, policy, policy.name
        self._run = dict(jobs=jobs, replications=replications, seed=seed, **options)
        self.size = self.prediction = None

    def __repr__(self):
        return f"SimulatedDistribution({self.name} on {self.queue!r})"

    @property
    def simulation(self):
        """The :class:`~qtheory.core.result.SimulationResult` behind every number."""
        if "_sim" not in self.__dict__:
            self._sim = self.queue.simulate(self.policy, quantiles=(0.5,), **self._run)
        return self._sim

    def _result(self, values, **details):
        e = Estimate.of(values)
        return Result(e.mean, e.std_error, self.method, self.name,
                      {"kind": "simulation", "ci": e.ci, **details})

    def moment(self, k):
        """E[T^k] (k = 1, 2, 3) as a Result: the mean over replications, its standard
        error as the error, the 95% interval in ``details["ci"]``."""
        if k not in (1, 2, 3):
            raise ParameterError(f"k = {k!r} is invalid: moments k = 1, 2, 3 are available.")
        return self._result(self.simulation.metric("T" if k == 1 else f"T^{k}").values,
                            moment=k)

    def mean(self):
        return self.moment(1)

    def variance(self):
        """Var T per replication (E[T²] − E[T]² of its jobs), over replications."""
        sim = self.simulation
        m1, m2 = sim.metric("T").values, sim.metric("T^2").values
        return self._result(m2 - m1**2)

    def sf(self, t, error=False):
        """P(T > t) (the fraction of jobs above t, averaged over replications); with
        ``error=True`` also its standard error."""
        t = np.atleast_1d(np.asarray(t, float))
        per = np.array([h.sf(t) for h in self.simulation.tails])        # (reps, ...)
        ests = [Estimate.of(col) for col in per.reshape(per.shape[0], -1).T]
        value = np.array([e.mean for e in ests]).reshape(t.shape)
        se = np.array([e.std_error for e in ests]).reshape(t.shape)
        return (value, se) if error else value

    def cdf(self, t, error=False):
        v, e = self.sf(t, error=True)
        return (1 - v, e) if error else 1 - v

    def quantile(self, p):
        """The p-quantile as a Result (each replication's, averaged)."""
        if not 0 < p < 1:
            raise ParameterError(f"p = {p!r} is invalid: a quantile needs 0 < p < 1.")
        return self._result([h.quantile(p) for h in self.simulation.tails], p=p)

    def lst(self, s):
        raise PolicyError("the simulated distribution estimates moments, the tail and "
                          "quantiles, not the transform: use method='formula' or 'soap' "
                          "for E[e^{-sT}].")

    def pdf(self, t):
        raise PolicyError("the simulated distribution gives the tail (sf, cdf) and "
                          "quantiles, not a density: use method='formula' or 'soap'.")
