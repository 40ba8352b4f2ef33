"""Exact mean response times as sympy expressions (``method="symbolic"``).

Every closed form of docs/theory (classical, predictions, advice: Trail and SkipPredict included) is derived here
from the size law's density and the prediction model's conditional law, as a sympy
expression in the queue's parameters (numbers or symbols):

* integrals of the class x^p exp(-a x - b/x) are done in closed form: Gamma functions
  for b = 0 and, for b > 0, the Bessel rule
  int_0^inf x^(nu-1) exp(-a x - b/x) dx = 2 (b/a)^(nu/2) K_nu(2 sqrt(a b))
  (Gradshteyn & Ryzhik 3.471.9), which gives Mitzenmacher's ExpNoise forms;
* size-law partial moments E[X^k 1{X <= t}] come from each law's own closed form;
* anything else stays an exact, unevaluated :class:`sympy.Integral` - never a float.

:func:`evaluate` evaluates any such expression to any number of digits with mpmath
(tanh-sinh quadrature for the integrals that remain, split at their kinks), or in
double precision with ``fast=True``.

Floats given as parameters are read as the rational the user typed: the simplest
fraction (denominator <= 10^6) that rounds to the same double, else the float's
shortest decimal representation (0.8 -> 4/5, 0.1234567 -> 1234567/10^7).

Examples
--------
>>> import sympy, qtheory as qt
>>> lam, mu = sympy.symbols("lambda mu", positive=True)
>>> q = qt.MG1(lam, qt.Exponential(mu))
>>> q.mean_response_time(qt.FCFS, method="symbolic")     # canonical: as papers write it
1/(-lambda + mu)
>>> q.mean_response_time(qt.PS, method="symbolic", simplify=False)   # the raw derivation
1/(mu*(-lambda/mu + 1))
"""

from .evaluate import evaluate
from .latex import in_load, latex
from .means import symbolic_mean_response_time, symbolic_response_time

__all__ = ["symbolic_mean_response_time", "symbolic_response_time", "evaluate", "in_load", "latex"]
