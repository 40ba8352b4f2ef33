"""Prediction models: the law of the predicted size Y given the true size X = x.

A model gives the conditional CDF ``cdf(y, x)`` = P(Y <= y | X = x), density
``pdf(y, x)``, a sampler, and the conditional partial moments
``partial_moments(x, lo, hi)`` = E[Y^k 1{lo < Y <= hi} | X = x] for k = 0, 1, 2, from
which every quantity the policies need is derived (old work under SPRPT and Trail,
overshoot E[(x - Y)^+], ...). Subclasses override a derived quantity only where a
closed form is shorter or more accurate.

``Threshold(T, noise)`` turns a model into one bit: "short" iff Y < T.
"""

import math

import numpy as np
from scipy import special

from ..core.errors import ParameterError
from ..core.numerics import integrate
from ..core.params import Param, nonnegative, positive, unit_interval


class PredictionModel:
    """Base class. Vectorised over ``x`` (and ``y``); x > 0.

    A model declares what the engines may rely on: ``scale_family`` (Y = x Z with the law
    of Z the same for every x, and closed-form :meth:`partial_moments`) and
    ``ratio_range`` ((beta, alpha) with beta x <= Y <= alpha x, or None when unbounded).
    """

    scale_family = False
    ratio_range = None

    def cdf(self, y, x):
        raise NotImplementedError

    def pdf(self, y, x):
        raise NotImplementedError

    def sample(self, x, rng):
        raise NotImplementedError

    def kinks(self, y):
        """Sizes x at which, for this y, the integrands in x have kinks."""
        return ()

    def y_kinks(self, xs):
        """Predictions y at which functions of y (loads and moments below y) may have
        kinks, given the sizes ``xs`` where the size density jumps or ends. A density
        h(y | x) smooth in y mixes them away: none."""
        return ()

    def partial_moments(self, x, lo, hi):
        """(M0, M1, M2) with Mk = E[Y^k 1{lo < Y <= hi} | X = x]; by quadrature here."""
        x, lo, hi = float(x), float(lo), float(hi)
        return tuple(integrate(lambda u, k=k: u**k * float(self.pdf(u, x)), lo, hi, (x,),
                               what="a conditional moment of the prediction")[0]
                     for k in range(3))

    # -- derived quantities --------------------------------------------------------
    def _square_moment(self, x, a, b, lo, hi):
        """E[(a - b Y)^2 1{lo < Y <= hi} | X = x]."""
        m0, m1, m2 = self.partial_moments(x, lo, hi)
        return np.maximum(a * a * m0 - 2 * a * b * m1 + b * b * m2, 0.0) * (hi > lo)

    def excess_square(self, x, y):
        """E[((x - (Y - y))^+)^2 1{Y > y} | X = x]: what an old job predicted above y still
        owes once its remaining prediction falls to y (SPRPT's old work)."""
        return self._square_moment(x, x + y, 1.0, y, x + y)

    def limited_square(self, x, y, c):
        """E[((x - min(Y - y, cY))^+)^2 1{Y > y} | X = x], the Trail(c) old work
        (Y - y <= cY iff Y <= y / (1 - c))."""
        if c >= 1:
            return self.excess_square(x, y)
        cut = y / (1.0 - c)
        first = self._square_moment(x, x + y, 1.0, y, np.minimum(cut, x + y))
        stop = np.maximum(cut, x / c) if c > 0 else math.inf  # (x - cY)^+ vanishes past x/c
        return first + self._square_moment(x, x, c, cut, stop)

    def overshoot(self, x):
        """E[(x - Y)^+ | X = x]: service beyond the prediction."""
        m0, m1, _ = self.partial_moments(x, 0.0, x)
        return x * m0 - m1

    def exceed_prob(self, x, v):
        """P(Y - x >= v | X = x) for v > 0."""
        return 1.0 - self.cdf(x + v, x)

    def __repr__(self):
        args = ", ".join(f"{v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class Perfect(PredictionModel):
    """Exact predictions, Y = X: prediction policies become their size-based twins."""

    scale_family, ratio_range = True, (1.0, 1.0)

    def cdf(self, y, x):
        return (np.asarray(x) <= y).astype(float)

    def pdf(self, y, x):
        raise ParameterError("Perfect predictions have no density: Y = X.")

    def sample(self, x, rng):
        return np.array(x, float, copy=True)

    def y_kinks(self, xs):
        return tuple(xs)

    def partial_moments(self, x, lo, hi):
        inside = (lo < x) & (x <= hi)
        return inside * 1.0, inside * x, inside * x * x


class ExpNoise(PredictionModel):
    """Y | X = x ~ Exponential with mean x (Mitzenmacher 2020).

    Examples
    --------
    >>> m = ExpNoise()
    >>> float(m.overshoot(2.0)) == 2.0 / math.e   # E[(x - Y)^+] = x / e
    True
    """

    scale_family = True

    def cdf(self, y, x):
        return -np.expm1(-np.maximum(y, 0.0) / x)

    def pdf(self, y, x):
        return np.where(np.asarray(y) >= 0, np.exp(-np.maximum(y, 0.0) / x) / x, 0.0)

    def sample(self, x, rng):
        y = rng.standard_exponential(np.shape(x))
        y *= x
        return y

    def kinks(self, y):
        return (y,)

    def partial_moments(self, x, lo, hi):
        # integral of u^k e^{-u/x} / x over (lo, hi] = x^k k! [Q(k+1, lo/x) - Q(k+1, hi/x)],
        # with Q(k+1, t) = e^{-t} sum_{j<=k} t^j / j! (two exponentials, no gamma calls)
        def Q(t):
            e = np.exp(-t)
            t = np.where(e > 0, t, 0.0)
            return e, e * (1 + t), e * (1 + t + 0.5 * t * t)
        qa, qb = Q(np.divide(lo, x)), Q(np.divide(hi, x))
        return tuple(x**k * math.factorial(k) * (qa[k] - qb[k]) for k in range(3))

    def _square_moment(self, x, a, b, lo, hi):
        # integral of (a - b u)^2 e^{-u/x} / x over (lo, hi] = [e^{-u/x} P(u)]_hi^lo with
        # P(u) = (a - b u)^2 - 2 b x (a - b u) + 2 b^2 x^2  (P/x - P' = (a - b u)^2 / x)
        def P(u):
            r = a - b * u
            return r * r - 2 * b * x * r + 2 * b * b * x * x
        hi = np.maximum(hi, lo)
        upper = np.where(np.isfinite(hi), np.exp(-hi / x) * P(np.where(np.isfinite(hi), hi, 0.0)), 0.0)
        return np.maximum(np.exp(-lo / x) * P(lo) - upper, 0.0)

    def excess_square(self, x, y):
        # memoryless: Y - y | Y > y ~ Exp(mean x); E[((x - W)^+)^2] = x^2 (1 - 2/e)
        return np.exp(-y / x) * x * x * (1.0 - 2.0 / math.e)

    def overshoot(self, x):
        return x / math.e

    def exceed_prob(self, x, v):
        return np.exp(-1.0 - v / x)


class UniformNoise(PredictionModel):
    """Y | X = x ~ Uniform[(1 - alpha) x, (1 + alpha) x], 0 < alpha <= 1."""

    alpha = Param(unit_interval)
    scale_family = True

    @property
    def ratio_range(self):
        return 1.0 - self.alpha, 1.0 + self.alpha

    def __init__(self, alpha):
        self.alpha = alpha
        if alpha == 0:
            raise ParameterError("alpha = 0 is invalid: it must be in (0, 1]; use "
                                 "qt.Perfect() for exact predictions.")

    def _edges(self, x):
        return (1 - self.alpha) * x, (1 + self.alpha) * x

    def cdf(self, y, x):
        lo, hi = self._edges(x)
        return np.clip((y - lo) / (hi - lo), 0.0, 1.0)

    def pdf(self, y, x):
        lo, hi = self._edges(x)
        return np.where((y >= lo) & (y <= hi), 1.0 / (hi - lo), 0.0)

    def sample(self, x, rng):
        lo, hi = self._edges(np.asarray(x, float))
        return rng.uniform(lo, hi)

    def kinks(self, y):
        a = self.alpha
        return tuple(k for k in (y / (1 + a), y / a, y / (1 - a) if a < 1 else None) if k)

    def y_kinks(self, xs):
        return tuple(e for x in xs for e in self._edges(x))

    def partial_moments(self, x, lo, hi):
        e0, e1 = self._edges(x)
        l, h = np.clip(lo, e0, e1), np.clip(hi, e0, e1)
        width = e1 - e0
        return tuple((h ** (k + 1) - l ** (k + 1)) / ((k + 1) * width) for k in range(3))

    def excess_square(self, x, y):
        # integral of (x + y - u)^2 / width over u in (max(y, e0), min(x + y, e1))
        e0, e1 = self._edges(x)
        l, h = np.maximum(y, e0), np.minimum(x + y, e1)
        return np.where(h > l, ((x + y - l) ** 3 - (x + y - h) ** 3) / (3 * (e1 - e0)), 0.0)


class LognormalNoise(PredictionModel):
    """Y = x exp(sigma Z), Z ~ N(0, 1): multiplicative error, median exactly x."""

    scale_family = True

    sigma = Param(positive)

    def __init__(self, sigma):
        self.sigma = sigma

    def cdf(self, y, x):
        return special.ndtr(np.log(np.maximum(y, 1e-300) / x) / self.sigma)

    def pdf(self, y, x):
        y = np.maximum(y, 1e-300)
        z = np.log(y / x) / self.sigma
        return np.exp(-0.5 * z * z) / (self.sigma * y * math.sqrt(2 * math.pi))

    def sample(self, x, rng):
        return np.asarray(x) * np.exp(self.sigma * rng.standard_normal(np.shape(x)))

    def kinks(self, y):
        return (y,)

    def partial_moments(self, x, lo, hi):
        s = self.sigma
        zl = np.log(np.maximum(lo, 1e-300) / x) / s
        zh = np.log(np.maximum(hi, 1e-300) / x) / s
        return tuple(x**k * math.exp(k * k * s * s / 2)
                     * (special.ndtr(zh - k * s) - special.ndtr(zl - k * s)) for k in range(3))

    def exceed_prob(self, x, v):
        return special.ndtr(-np.log1p(v / x) / self.sigma)


class CustomPrediction(PredictionModel):
    """A user's model from its conditional density ``pdf(y, x)`` and a sampler
    ``sample(x, rng)``; a ``cdf(y, x)`` speeds it up (else it is integrated).

    Examples
    --------
    >>> m = CustomPrediction(pdf=lambda y, x: np.exp(-y / x) / x,
    ...                      sample=lambda x, rng: x * rng.exponential(1.0, np.shape(x)))
    >>> round(float(m.cdf(1.0, 1.0)), 10) == round(1 - math.exp(-1), 10)
    True
    """

    def __init__(self, pdf, sample, cdf=None, name="custom"):
        self._pdf, self._sample, self._cdf, self.name = pdf, sample, cdf, name

    def __repr__(self):
        return f"CustomPrediction({self.name!r})"

    def pdf(self, y, x):
        return self._pdf(y, x)

    def sample(self, x, rng):
        return self._sample(x, rng)

    def cdf(self, y, x):
        if self._cdf is not None:
            return self._cdf(y, x)
        fn = np.vectorize(lambda yy, xx: integrate(lambda u: float(self._pdf(u, xx)), 0.0,
                                                   yy, (xx,))[0] if yy > 0 else 0.0)
        return fn(y, x)


class Threshold(PredictionModel):
    """One bit of advice: a job is "short" iff its prediction from ``noise`` is below T.

    The scheduler sees only the bit (0 = short, 1 = long).

    Examples
    --------
    >>> bit = Threshold(1.0, Perfect())
    >>> bit.short_prob(np.array([0.5, 2.0])).tolist()
    [1.0, 0.0]
    """

    T = Param(nonnegative)

    def __init__(self, T, noise=None):
        self.T = T
        self.noise = Perfect() if noise is None else noise
        if not isinstance(self.noise, PredictionModel) or isinstance(self.noise, Threshold):
            raise ParameterError(f"noise = {noise!r} is invalid: pass a continuous prediction "
                                 "model such as qt.ExpNoise() or qt.Perfect().")

    @property
    def size_jumps(self):
        """Sizes where P(short | X = x) jumps: T under perfect predictions, none otherwise."""
        return (self.T,) if isinstance(self.noise, Perfect) else ()

    def short_prob(self, x):
        """P(short | X = x) = P(Y < T | x)."""
        if isinstance(self.noise, Perfect):
            return (np.asarray(x, float) < self.T).astype(float)
        return self.noise.cdf(self.T, x)

    def sample(self, x, rng):
        return (self.noise.sample(x, rng) >= self.T).astype(float)

    def cdf(self, y, x):
        p = self.short_prob(x)
        return np.where(np.asarray(y) >= 1, 1.0, np.where(np.asarray(y) >= 0, p, 0.0))


def is_noisy(prediction):
    """Whether predictions (or the bit's underlying predictions) carry noise, a density
    h(y | x), rather than being the true sizes (None or Perfect).

    Examples
    --------
    >>> is_noisy(ExpNoise()), is_noisy(Threshold(1.0)), is_noisy(None)
    (True, False, False)
    """
    noise = prediction.noise if isinstance(prediction, Threshold) else prediction
    return noise is not None and not isinstance(noise, Perfect)


def as_prediction(obj):
    """Validate what a user passes as ``prediction``."""
    if obj is None or isinstance(obj, PredictionModel):
        return obj
    raise ParameterError(f"prediction = {obj!r} is not a prediction model: pass e.g. "
                         "qt.ExpNoise(), qt.Perfect() or qt.Threshold(T, noise).")
