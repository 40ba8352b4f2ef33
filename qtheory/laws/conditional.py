"""Conditional size laws: X given a < X <= b (SITA on sizes), and X given that its
prediction falls in [a, b) (SITA on predictions).

Examples
--------
>>> from qtheory.laws.sizes import Exponential
>>> law = Interval(Exponential(1.0), 0.0, 1.0)
>>> round(law.mean, 12) == round((1 - 2 / math.e) / (1 - 1 / math.e), 12)
True
"""

import math

import numpy as np

from ..core.errors import ParameterError
from .sizes import SizeLaw


def _rejection(law, accept, rng, n, mass):
    """``n`` draws of X from ``law`` kept with probability ``accept(x)``."""
    if mass < 1e-6:
        raise ParameterError(f"the interval holds probability {mass:.3g} of the size law: "
                             "too little to sample from it by rejection; widen it.")
    out = np.empty(0)
    while out.size < n:
        m = int(1.2 * (n - out.size) / mass) + 64
        x = np.asarray(law.sample(rng, m), float)
        keep = rng.random(m) < accept(x)
        out = np.concatenate([out, x[keep]])
    return out[:n]


class Interval(SizeLaw):
    """The law of X given lo < X <= hi: density f(x) / P(lo < X <= hi) there."""

    def __init__(self, law, lo, hi):
        self.law, self.lo, self.hi = law, float(lo), float(hi)
        base_lo, base_hi = law.support
        self.support = (max(self.lo, base_lo), min(self.hi, base_hi))
        self.mass = float(law.cdf(self.hi) - law.cdf(self.lo)) if math.isfinite(self.hi) \
            else float(law.sf(self.lo))
        if not self.mass > 0:
            raise ParameterError(f"the size interval ({lo!r}, {hi!r}] has probability 0 under "
                                 f"{law!r}: move the cutoffs inside its support.")

    def __repr__(self):
        return f"Interval({self.law!r}, {self.lo!r}, {self.hi!r})"

    @property
    def breakpoints(self):
        return tuple(b for b in self.law.breakpoints if self.support[0] < b < self.support[1])

    def pdf(self, x):
        x = np.asarray(x, float)
        return np.where((x > self.lo) & (x <= self.hi), self.law.pdf(x), 0.0) / self.mass

    def cdf(self, x):
        x = np.clip(np.asarray(x, float), self.lo, self.hi)
        return np.clip((self.law.cdf(x) - self.law.cdf(self.lo)) / self.mass, 0.0, 1.0)

    def sf(self, x):
        x = np.clip(np.asarray(x, float), self.lo, self.hi)
        top = self.law.sf(self.hi) if math.isfinite(self.hi) else 0.0
        return np.clip((self.law.sf(x) - top) / self.mass, 0.0, 1.0)

    def partial_moment(self, k, x, strict=False):
        x = min(float(x), self.hi)
        if x <= self.lo:
            return 0.0
        return float((self.law.partial_moment(k, x, strict)
                      - (self.law.partial_moment(k, self.lo) if self.lo > 0 else 0.0)) / self.mass)

    def moment(self, k):
        top = self.law.moment(k) if not math.isfinite(self.hi) else \
            self.law.partial_moment(k, self.hi)
        return float((top - (self.law.partial_moment(k, self.lo) if self.lo > 0 else 0.0))
                     / self.mass)

    @property
    def scale(self):
        return self.mean

    def sample(self, rng, n):
        return _rejection(self.law, lambda x: (x > self.lo) & (x <= self.hi), rng, n, self.mass)


_GL_T, _GL_W = np.polynomial.legendre.leggauss(32)


class PredictedInterval(SizeLaw):
    """The law of X given lo <= Y < hi for predictions Y from ``prediction``:
    density f(x) P(lo <= Y < hi | x) / P(lo <= Y < hi)."""

    def __init__(self, law, prediction, lo, hi):
        self.law, self.prediction, self.lo, self.hi = law, prediction, float(lo), float(hi)
        self.support = law.support
        pts = set()
        for c in (self.lo, self.hi):
            if 0 < c < math.inf:
                pts.update(prediction.kinks(c))
                pts.add(c)
        self._points = tuple(sorted(pts))
        self.mass = float(law.expect(self._weight, points=self._points,
                                     what="P(prediction in the interval)")[0])
        if not self.mass > 1e-300:
            raise ParameterError(f"the prediction interval [{lo!r}, {hi!r}) has probability 0: "
                                 "move the cutoffs.")

    def __repr__(self):
        return f"PredictedInterval({self.law!r}, {self.prediction!r}, {self.lo!r}, {self.hi!r})"

    def _weight(self, x):
        h = self.prediction
        below = h.cdf(self.lo, x) if self.lo > 0 else 0.0
        top = h.cdf(self.hi, x) if math.isfinite(self.hi) else 1.0
        return np.clip(np.asarray(top - below, float), 0.0, 1.0)

    @property
    def breakpoints(self):
        return tuple(self.law.breakpoints)

    @property
    def split_points(self):
        return sorted({*self.law.split_points, *self._points})

    @property
    def scale(self):
        return self.law.scale

    def pdf(self, x):
        return np.asarray(self.law.pdf(x), float) * self._weight(x) / self.mass

    def _table(self):
        """Cumulative mass at piece ends: 32-point Gauss-Legendre on the base law's split
        points and the prediction's kinks (pieces at most a factor 2 wide)."""
        if "_cum" not in self.__dict__:
            lo, hi = self.law.support
            pts = sorted({*(p for p in self.split_points if lo < p < hi)})
            edges = [lo if lo > 0 else 0.0]
            for b in pts + [hi if math.isfinite(hi) else max(pts[-1] if pts else 1.0, 1.0) * 1e3]:
                a = edges[-1]
                k = max(1, math.ceil(math.log2(b / a))) if a > 0 else 1
                edges += [a + (b - a) * i / k for i in range(1, k + 1)]
            e = np.array(edges)
            self.__dict__["_edges"] = e
            self.__dict__["_cum"] = np.concatenate([[0.0], np.cumsum(self._mass_between(e[:-1], e[1:]))])
        return self.__dict__["_edges"], self.__dict__["_cum"]

    def _mass_between(self, a, b):
        a, b = np.asarray(a, float), np.asarray(b, float)
        w = (b - a) / 2
        u = (a + b)[..., None] / 2 + w[..., None] * _GL_T
        f = np.asarray(self.law.pdf(u), float) * self._weight(u)
        return (f @ _GL_W) * w

    def cdf(self, x):
        x = np.asarray(x, float)
        e, cum = self._table()
        i = np.clip(np.searchsorted(e, x, side="right") - 1, 0, e.size - 2)
        xi = np.clip(x, e[0], e[-1])
        v = cum[i] + self._mass_between(e[i], xi)
        v = np.where(x >= e[-1], self.mass, v)
        return np.clip(v / self.mass, 0.0, 1.0)

    def sf(self, x):
        return 1.0 - self.cdf(x)

    def moment(self, k):
        return float(self.law.expect(lambda x: x**k * self._weight(x), points=self._points)[0] / self.mass)

    def sample(self, rng, n):
        return _rejection(self.law, self._weight, rng, n, self.mass)
