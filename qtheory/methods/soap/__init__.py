"""The generic SOAP engine (``method="soap"``): mean response times of any policy given
by its rank function, from the SOAP theorem (Scully, Harchol-Balter, Scheller-Wolf 2018,
arXiv 1712.00790, Theorem 5.5; docs/theory/soap.md).

For a tagged job with descriptor d and work w, with r = r_worst(0),

    E[T_d(w)] = lambda sum_i E[(X_i^old[r])^2] / (2 (1 - rho_0^old[r]) (1 - rho^new[r]))
              + int_0^w da / (1 - rho^new[r_worst(a)]).

How it is evaluated
-------------------
* **Rank profiles.** For each descriptor the rank, as a function of age, is a list of
  *linear pieces* ``[s, e)`` (a piece with ``s == e`` is the single age ``s``, e.g. the
  rank of SJF at age 0), each with a class (the first component of a pair rank) and a
  value ``v + m (a - s)``. Catalogue policies give their pieces exactly
  (:func:`rank_pieces`); a policy may expose ``rank_pieces(d)`` itself; any other rank
  function (``qt.Rank(fn)``) is sampled on a dyadic age grid and split where it is not
  linear, jumps being bracketed and bisected to machine precision. Level sets
  {a : r(d, a) <= r} of linear pieces are then exact.
* **Other jobs.** For a threshold r the new work, the first old interval and the sum of
  squared old intervals of a job are explicit functions of its work with kinks at the
  level-set ends; they are integrated against the law of the work exactly through
  per-descriptor tables of E[W^k 1{W <= u}] (Legendre antiderivatives on Gauss pieces).
  For a continuous prediction Y the outer integral over y is split where the level-set
  structure changes (found by bisection in y).
* **Tagged job.** The worst future rank r_worst(a) is a suffix maximum of the profile:
  flat or following a linear piece. Flat parts cost one value of
  h(r) = 1 / (1 - rho^new[r]); sloped parts need the integral of h over a range of
  ranks, taken from an adaptive piecewise-Legendre interpolant of h with its exact
  antiderivative. The interpolant is cut where N(r) kinks (the ranks of the smallest
  descriptor and of class thresholds), and each piece is probed just inside its ends,
  where a kink beyond the outermost node would leave the node values smooth.

Nothing here calls :mod:`qtheory.methods.formula` (independent witness, docs/theory/simulation.md).
"""

from .api import soap_mean_response_time, soap_response_curve, soap_response_time
from .engine import Engine
from .envelope import envelope

__all__ = ["soap_mean_response_time", "soap_response_curve", "soap_response_time", "Engine",
           "envelope"]
