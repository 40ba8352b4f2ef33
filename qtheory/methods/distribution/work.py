"""Random amounts of work that another job brings against a tagged job (SOAP's old and new
r-work, docs/theory/distributions.md), each as its transform and moments.

A piece is a function of another job's size X: all of it below a threshold, all of it
above one, X capped at a level, or a fixed amount with some probability. Thresholds may
be arrays (one per tagged size), broadcast against the transform arguments.

Examples
--------
>>> import numpy as np
>>> from qtheory.laws.sizes import Exponential
>>> p = Capped(Exponential(1.0), 2.0)                   # min(X, 2)
>>> round(float(p.moment(1)), 12), round(1 - float(np.exp(-2.0)), 12)  # 1 - e^{-2}
(0.864664716763, 0.864664716763)
>>> complex(p.lst(np.array(0j)))
(1+0j)
"""

import copy

import numpy as np

from ...laws.sizes import SizeLaw
from ...laws.transforms import partial_lst, partial_lst_pair


def _partial_moment(law, k, u, strict):
    """E[X^k 1{X ≤ u}] (``X < u`` with ``strict``), vectorised over u: in one call where
    the law gives it in closed form, point by point otherwise."""
    u = np.asarray(u, float)
    if type(law).partial_moment is not SizeLaw.partial_moment:
        return np.asarray(law.partial_moment(k, u, strict=strict), float)[()]
    f = lambda v: float(law.partial_moment(k, v, strict=strict)) if np.isfinite(v) \
        else float(law.moment(k))   # noqa: E731
    return np.vectorize(f)(u) if u.ndim else f(float(u))


def _mass(law, u, strict):
    """P(X ≤ u) (P(X < u) with ``strict``), vectorised over u."""
    return _partial_moment(law, 0, u, strict)


class Work:
    """A piece of work: its transform ``lst``, ``dlst`` = E[P e^{-zP}] and moments.

    Its parameters named in ``_arrays`` may be arrays (one per tagged job); ``flat`` and
    ``take`` reshape them to follow a flattened, filtered set of transform arguments."""

    _arrays = ()

    def pair(self, z):
        """(lst, dlst) at once (subclasses share the exponentials where they can)."""
        return self.lst(z), self.dlst(z)

    def positive(self):
        """P(P > 0) (sizes are positive: the mass of the part that is the job's work)."""
        raise NotImplementedError

    def _with(self, fn):
        out = copy.copy(self)
        for name in self._arrays:
            setattr(out, name, fn(np.asarray(getattr(self, name), float)))
        return out

    def flat(self, shape):
        """This piece with its parameters broadcast to ``shape`` and flattened."""
        return self._with(lambda v: np.broadcast_to(v, shape).ravel())

    def take(self, keep):
        """This (flat) piece restricted to the entries ``keep``."""
        return self._with(lambda v: v[keep] if v.ndim else v)


class Below(Work):
    """X·1{X ≤ u} (``1{X < u}`` with ``strict``): the whole job if it is small enough."""

    _arrays = ("u", "_mass")

    def __init__(self, law, u, strict=False):
        self.law, self.u, self.strict = law, np.asarray(u, float), strict
        self._mass = _mass(law, self.u, strict)

    def positive(self):
        return self._mass

    def lst(self, z):
        return partial_lst(self.law, z, self.u, 0, self.strict) + (1 - self._mass)

    def dlst(self, z):
        """E[P e^{-zP}] = −d/dz E[e^{-zP}]."""
        return partial_lst(self.law, z, self.u, 1, self.strict)

    def pair(self, z):
        """(lst, dlst) in one pass."""
        v0, v1 = partial_lst_pair(self.law, z, self.u, self.strict)
        return v0 + (1 - self._mass), v1

    def moment(self, k):
        return _partial_moment(self.law, k, self.u, self.strict)


class Above(Work):
    """X·1{X > u} (``1{X ≥ u}`` with ``inclusive``): a job too large to count as old work
    in one piece, served whole once started (a non-preemptive policy's started job)."""

    def __init__(self, law, u, inclusive=False):
        self.law, self.u = law, np.asarray(u, float)
        self._below = Below(law, u, strict=inclusive)

    def lst(self, z):
        return (partial_lst(self.law, z, np.inf) - self._below.lst(z)) + 1

    def dlst(self, z):
        return partial_lst(self.law, z, np.inf, 1) - self._below.dlst(z)

    def moment(self, k):
        return self.law.moment(k) - self._below.moment(k)


class Capped(Work):
    """min(X, c): a job served until it reaches the level c (FB's work below age c)."""

    _arrays = ("c", "_over")

    def __init__(self, law, c):
        self.law, self.c = law, np.asarray(c, float)
        self._over = 1 - _mass(law, self.c, strict=True)     # P(X ≥ c)

    def positive(self):
        return 1.0 if np.all(self.c > 0) else np.where(self.c > 0, 1.0, 0.0)

    def lst(self, z):
        return partial_lst(self.law, z, self.c, 0, True) + self._over * np.exp(-z * self.c)

    def dlst(self, z):
        return (partial_lst(self.law, z, self.c, 1, True)
                + self._over * self.c * np.exp(-z * self.c))

    def moment(self, k):
        return _partial_moment(self.law, k, self.c, True) + self._over * self.c**k

    def pair(self, z):
        v0, v1 = partial_lst_pair(self.law, z, self.c, True)
        e = self._over * np.exp(-z * self.c)
        return v0 + e, v1 + self.c * e


class Fixed(Work):
    """c with probability p, else 0 (SRPT: an old job larger than the tagged one brings
    exactly the tagged size x once its remaining work is below x)."""

    _arrays = ("c", "p")

    def __init__(self, c, p):
        self.c, self.p = np.asarray(c, float), np.asarray(p, float)

    def lst(self, z):
        return 1 - self.p + self.p * np.exp(-z * self.c)

    def dlst(self, z):
        return self.p * self.c * np.exp(-z * self.c)

    def moment(self, k):
        return self.p * self.c**k


class Nothing(Work):
    """No work (a policy under which no new job ever overtakes)."""

    def positive(self):
        return 0.0

    def lst(self, z):
        return np.ones_like(np.asarray(z, complex))

    def dlst(self, z):
        return np.zeros_like(np.asarray(z, complex))

    def moment(self, k):
        return 0.0
