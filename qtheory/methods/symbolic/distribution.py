"""Response-time transforms and second moments as sympy expressions, where they are
elementary (docs/theory/distributions.md).

* FCFS on any size law: the Pollaczek–Khinchine transform
  T̃(s) = X̃(s) (1 − ρ) s / (s − λ(1 − X̃(s))) in terms of the size transform X̃ (closed
  for exponential mixtures, uniform and discrete laws; an unevaluated integral
  otherwise), and E[T²] = E[X²] + 2 E[X] E[W] + E[W²] with Takács'
  E[W²] = 2 E[W]² + λ E[X³] / (3(1 − ρ)).
* LCFS (preemptive): E[T²] = E[X²] / (1 − ρ)³ on any law (T_x is a busy period started
  by x); the transform X̃(σ(s)), σ = s + λ(1 − B̃(s)), is elementary for exponential
  sizes, where Kendall's equation is a quadratic:
  B̃(s) = (λ + μ + s − √((λ + μ + s)² − 4λμ)) / (2λ).

Examples
--------
>>> import sympy, qtheory as qt
>>> lam, mu, s = sympy.symbols("lambda mu s", positive=True)
>>> d = qt.MG1(lam, qt.Exponential(mu)).response_time_distribution(qt.FCFS, method="symbolic")
>>> sympy.simplify(d.lst(s))          # T ~ Exp(mu - lambda)
(lambda - mu)/(lambda - mu - s)
>>> sympy.factor(d.variance())
(lambda - mu)**(-2)
"""

import sympy

from ...core.errors import PolicyError
from ...laws.exact import exact_law
from ...policies.catalogue import FCFS, LCFS


class SymbolicDistribution:
    """The response time of FCFS or LCFS as sympy expressions: ``lst(s)``, ``moment(k)``
    (k = 1, 2) and ``variance()``."""

    def __init__(self, queue, policy):
        if not isinstance(policy, (FCFS, LCFS)):
            raise PolicyError(f"{policy.name}: the response-time transform is elementary "
                              "for FCFS and LCFS only; use method='formula' for the "
                              "numbers of the other policies.")
        self.policy, self.lam = policy, sympy.sympify(queue.arrival_rate)
        self.law = exact_law(queue.size)
        m1, m2, m3 = (self.law.moment(k) for k in (1, 2, 3))
        self.rho = self.lam * m1
        self._m = (m1, m2, m3)

    def lst(self, s):
        """E[e^{-sT}] as a sympy expression in ``s``."""
        s = sympy.sympify(s)
        lam, rho = self.lam, self.rho
        if isinstance(self.policy, FCFS):
            X = self.law.transform(s)
            return X * (1 - rho) * s / (s - lam * (1 - X))
        mu = self.law.exponential_rate
        if mu is None:
            raise PolicyError("LCFS's transform needs the busy-period transform, elementary "
                              "for exponential sizes only (Kendall's equation is then a "
                              "quadratic); its moments are given for any law.")
        r = lam + mu + s
        B = (r - sympy.sqrt(r**2 - 4 * lam * mu)) / (2 * lam)
        sigma = s + lam * (1 - B)
        return mu / (mu + sigma)

    def moment(self, k):
        """E[T^k], k = 1, 2, as a sympy expression."""
        m1, m2, m3 = self._m
        lam, rho = self.lam, self.rho
        if k not in (1, 2):
            raise PolicyError(f"k = {k!r}: moments k = 1, 2 are available.")
        if isinstance(self.policy, FCFS):
            EW = lam * m2 / (2 * (1 - rho))
            if k == 1:
                return m1 + EW
            EW2 = 2 * EW**2 + lam * m3 / (3 * (1 - rho))
            return m2 + 2 * m1 * EW + EW2
        return m1 / (1 - rho) if k == 1 else m2 / (1 - rho) ** 3

    def variance(self):
        return self.moment(2) - self.moment(1) ** 2

