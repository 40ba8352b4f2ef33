"""What is known in closed form of the response time under processor sharing (PS is not
a SOAP policy: no transform from the SOAP decomposition).

* any size law: E[T | x] = x / (1 − ρ) and E[T] = E[X] / (1 − ρ) (Kleinrock 1967);
* exponential sizes (M/M/1-PS), Coffman, Muntz & Trotter, "Waiting time distributions
  for processor-sharing systems", J. ACM 17(1), 1970:

      Var[T | x] = 2ρx / ((1 − ρ)³ μ) − 2ρ (1 − e^{−(1−ρ)μx}) / ((1 − ρ)⁴ μ²),

  which, averaged over x ~ Exp(μ), gives E[T²] = 4 / ((2 − ρ)(μ − λ)²), so
  Var T = (2 + ρ) / ((2 − ρ)(μ − λ)²). Small jobs check it: Var[T | x] → ρx²/(1 − ρ)²,
  the variance of x(1 + N) with N the geometric number a job finds.

The third moment, the second for other laws, and the tail are not closed here: they
raise a PolicyError that points to ``method="simulation"``.

Examples
--------
>>> import qtheory as qt
>>> d = qt.MG1(0.5, qt.Exponential(1.0)).response_time_distribution(qt.PS)
>>> round(d.variance().value, 12)          # (2 + ρ) / ((2 − ρ)(μ − λ)²) = 2.5 / (1.5 · 0.25)
6.666666666667
"""

import math

import numpy as np

from ...core.errors import PolicyError
from ...laws.sizes import Exponential

_UNKNOWN = ("{what} under PS is not known in closed form here (PS is not a SOAP policy; "
            "exact: E[T | x] = x / (1 - rho) for any law, and the second moments for "
            "exponential sizes, Coffman-Muntz-Trotter 1970). Estimate it by simulation: "
            "q.response_time_distribution(qt.PS, method='simulation').")


class PSMoments:
    """The moments of T (or of T given the size) under PS that the literature gives in
    closed form; NaN for the others (:meth:`unknown` says why)."""

    method = "formula"
    eps = 1e-15

    def __init__(self, queue, policy):
        q = queue.numeric()
        self.law, self.lam, self.policy = q.size, float(q.arrival_rate), policy
        self.rho = self.lam * float(self.law.mean)
        self.mu = float(self.law.rate) if isinstance(self.law, Exponential) else None

    def unknown(self, what):
        return PolicyError(_UNKNOWN.format(what=what))

    def slow(self, size):
        return None

    def moments(self, size=None, prediction=None):
        rho, mu = self.rho, self.mu
        nan = math.nan
        if size is None:
            m1 = float(self.law.mean) / (1 - rho)
            m2 = nan if mu is None else 4 / ((2 - rho) * (mu - self.lam) ** 2)
        else:
            x = float(size)
            m1 = x / (1 - rho)
            if mu is None:
                m2 = nan
            else:
                u = (1 - rho) * mu * x
                # u − (1 − e^{−u}), by its series where the difference would cancel
                g = (u * u / 2 - u**3 / 6 + u**4 / 24 - u**5 / 120 if u < 1e-2
                     else u + math.expm1(-u))
                var = 2 * rho * g / ((1 - rho) ** 4 * mu**2)
                m2 = var + m1**2
        m = np.array([m1, m2, nan])
        return m, 1e-15 * np.abs(m)

    def transform(self, s, size=None, shifted=False, prediction=None):
        raise self.unknown("the transform (and so the tail and quantiles)")

    def atom(self, size, prediction=None):
        raise self.unknown("P(T = x)")
