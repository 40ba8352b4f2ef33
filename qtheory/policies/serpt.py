"""SERPT, shortest expected remaining processing time: a policy declared in one class.

The scheduler knows only a job's age a; it serves the job whose expected remaining work
E[X - a | X > a] is least (a SOAP policy with no descriptor; Scully, Harchol-Balter,
Scheller-Wolf 2018, section 6). This file is all that the SOAP engine, the simulator and
the validation need: the rank is read from the queue's size law when the policy is
bound to a queue.
"""

import math

import numpy as np

from ..core.errors import PolicyError
from ..laws.grid import size_cuts
from .base import INF, Policy
from .pieces import Profile

#: About how many ages the rank table of a continuous size law has.
AGES = 160


class SERPT(Policy):
    """Shortest expected remaining processing time: rank E[X - a | X > a].

    For a discrete size law the rank is exactly linear between atoms: on [x_(i-1), x_i)
    it is E[X | X >= x_i] - a. For a continuous law it is the linear interpolant of the
    exact mean residual life on :data:`AGES` ages at quantiles of the law (the policy so
    defined is then evaluated exactly, as for Gittins).

    Examples
    --------
    The worked example of the SOAP paper's style, X in {2, 14} with probability 1/2:
    rank 8 - a before age 2 and 14 - a after, so E[T] = (E[T_2] + E[T_14]) / 2 with
    E[T_2] = 18 lam / (1 - 2 lam) + 2 and
    E[T_14] = 50 lam / ((1 - 8 lam)(1 - 2 lam)) + 6 / (1 - 2 lam) + 8:

    >>> import qtheory as qt
    >>> lam = 0.05
    >>> q = qt.MG1(lam, qt.Empirical([2.0, 14.0]))
    >>> t2 = 18 * lam / (1 - 2 * lam) + 2
    >>> t14 = 50 * lam / ((1 - 8 * lam) * (1 - 2 * lam)) + 6 / (1 - 2 * lam) + 8
    >>> r = q.mean_response_time(SERPT())
    >>> r.method, abs(r.value - (t2 + t14) / 2) < 1e-12
    ('soap', True)
    """

    def bind(self, q):
        return _SERPTRank(q.size)

    def rank(self, d, a):  # a placeholder until bound: the rank needs the size law
        raise PolicyError("SERPT's rank depends on the size law: bind it to a queue, "
                          "SERPT().bind(q), or pass it to a queue's methods.")


class _SERPTRank(Policy):
    """SERPT for one size law: its rank pieces, one profile shared by every job."""

    def __init__(self, size):
        self.size = size
        if size.discrete:   # E[X | X >= x_i] - a on [x_(i-1), x_i)
            xs, w = size.values, size.weights
            tail_mass = np.cumsum(w[::-1])[::-1]
            tail_work = np.cumsum((w * xs)[::-1])[::-1]
            S = np.concatenate([[0.0], xs[:-1]])
            self._pieces = (S, np.concatenate([xs[:-1], [INF]]), tail_work / tail_mass - S,
                            -np.ones(xs.size))
        else:
            ages = self._ages()
            m = self._residual(ages)
            top = float(np.max(np.abs(m))) or 1.0   # equal to 11 digits is equal: rounding
            m = np.round(m / top, 11) * top          # must not make a constant rank rise
            slope = np.concatenate([np.diff(m) / np.diff(ages), [0.0]])
            self._pieces = (ages, np.concatenate([ages[1:], [INF]]), m, slope)

    @property
    def name(self):
        return "SERPT"

    def _ages(self):
        """The law's quantile grid (dense in its head and tail), each piece cut in
        ``AGES // 40`` equal parts, below the top of the support."""
        cuts = np.array([c for c in size_cuts(self.size) if math.isfinite(c)])
        cuts = cuts[cuts < self.size.support[1]]
        k = max(AGES // 40, 1)
        inner = [a + (b - a) * np.arange(k) / k for a, b in zip(cuts[:-1], cuts[1:])]
        return np.unique(np.concatenate([[0.0], *inner, cuts[-1:]]))

    def _residual(self, ages):
        """E[X - a | X > a] = (E[X] - E[X 1{X <= a}]) / P(X > a) - a, exactly."""
        X = self.size
        tail = np.array([X.mean - float(X.partial_moment(1, a)) for a in ages])
        return tail / np.maximum(np.asarray(X.sf(ages), float), 1e-300) - ages

    def rank(self, d, a):
        S, E, V, M = self._pieces
        i = int(np.searchsorted(S, a, side="right")) - 1
        return float(V[i] + M[i] * (a - S[i]))

    def pieces(self, d, part=None):
        n = np.size(d)
        S, E, V, M = (np.broadcast_to(z, (n, z.size)) for z in self._pieces)
        return Profile(S, E, np.zeros_like(S), V, M)
