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
* Priority classes by prediction (``PriorityClasses``, and ``OneBit``'s two classes),
  perfect or noisy: E[T], E[T²], E[T³] from the SOAP pieces of each class (old work of
  the classes up to its own, new work of the classes above it, a lower class's job in
  service as the vacation when non-preemptive), whose moments are the joint law's
  E[X^k 1{Y < t}] (:func:`~qtheory.methods.distribution.tagged.tagged_moments`, the
  numeric structures' formula, fed sympy moments). Given its size x a job's moments are
  polynomials in x, so each class needs E[X^k; class] only. The transforms are not
  elementary: a class's busy period solves Kendall's equation for truncated sizes.

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
from ...core.exact import exact
from ...laws import predictions as PR
from ...laws.exact import exact_law
from ...policies.catalogue import FCFS, LCFS, OneBit, PriorityClasses
from ..distribution.tagged import NONE, SAME, Decomposition, tagged_moments
from .noise import _Joint, _noise


class _Piece:
    """A piece of work X 1{lo ≤ class < hi} known by its sympy moments E[X^k; ...]."""

    def __init__(self, table, lo, hi):
        self.table, self.lo, self.hi = table, lo, hi

    def moment(self, k):
        return self.table[self.hi][k] - self.table[self.lo][k]


def _class_moments(queue, policy):
    """(E[T], E[T²], E[T³]) of priority classes by prediction, as sympy expressions."""
    lam = exact(queue.arrival_rate, "arrival_rate")
    law = exact_law(queue.size)
    pred = queue.prediction
    if isinstance(policy, OneBit):
        if not isinstance(pred, PR.Threshold):
            raise PolicyError("OneBit needs a queue whose prediction is qt.Threshold(T, noise).")
        if policy.preemptive is True:
            raise PolicyError("OneBit(preemptive=True) serves the short jobs LCFS: no "
                              "symbolic moments; use OneBit(False) or OneBit('resume').")
        noise, cuts = pred.noise, [exact(pred.T, "T")]
    else:
        noise, cuts = pred, [exact(t, "thresholds") for t in policy.thresholds]
    perfect = noise is None or isinstance(noise, PR.Perfect)
    J = _Joint(law, None if perfect else _noise(noise))
    # E[X^k 1{Y < t}] at every cut, k = 0..4, from 0 (nothing) to all jobs
    table = [[sympy.S.Zero] * 5]
    table += [[J.below(k, t, strict=True) for k in range(5)] for t in cuts]
    table += [[sympy.S.One] + [law.moment(k) for k in range(1, 5)]]
    n = len(cuts) + 1
    x = sympy.Dummy("x", positive=True)
    total = [sympy.S.Zero] * 3
    for i in range(n):
        old, new = _Piece(table, 0, i + 1), _Piece(table, 0, i)
        if policy.preemptive == "resume":
            dec = Decomposition(x, old, new, SAME)
        else:
            dec = Decomposition(x, old, new, NONE, [_Piece(table, i + 1, n)])
        mine = _Piece(table, i, i + 1)
        for k, m in enumerate(tagged_moments(lam, dec)):
            # a polynomial in x of degree k + 1: its coefficients by differentiation at 0
            # (expanding would multiply out the rational functions of the parameters)
            for j in range(k + 2):
                coef = m.diff(x, j).subs(x, 0) / sympy.factorial(j)
                total[k] += coef * mine.moment(j)
    return tuple(total)


class SymbolicDistribution:
    """The response time as sympy expressions: for FCFS and LCFS ``lst(s)``,
    ``moment(k)`` (k = 1, 2) and ``variance()``; for priority classes by prediction
    (``PriorityClasses``, ``OneBit``) ``moment(k)`` (k = 1, 2, 3) and ``variance()``."""

    def __init__(self, queue, policy):
        self.policy = policy
        self._classes = None
        if isinstance(policy, (OneBit, PriorityClasses)):
            self._classes = _class_moments(queue, policy)
            return
        if not isinstance(policy, (FCFS, LCFS)):
            raise PolicyError(f"{policy.name}: the response-time distribution is symbolic "
                              "for FCFS, LCFS and priority classes (OneBit, "
                              "PriorityClasses) only; use method='formula' for the "
                              "numbers of the other policies.")
        self.policy, self.lam = policy, sympy.sympify(queue.arrival_rate)
        self.law = exact_law(queue.size)
        m1, m2, m3 = (self.law.moment(k) for k in (1, 2, 3))
        self.rho = self.lam * m1
        self._m = (m1, m2, m3)

    def lst(self, s):
        """E[e^{-sT}] as a sympy expression in ``s``."""
        if self._classes is not None:
            raise PolicyError(f"{self.policy.name}: the transform is not elementary (a "
                              "class's busy period solves Kendall's equation for truncated "
                              "sizes); its moments are symbolic, its transform numeric "
                              "(method='formula').")
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
        """E[T^k] as a sympy expression: k = 1, 2 (k = 3 too for priority classes)."""
        if self._classes is not None:
            if k not in (1, 2, 3):
                raise PolicyError(f"k = {k!r}: moments k = 1, 2, 3 are available.")
            return self._classes[k - 1]
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

