"""Prediction models: the law of the predicted size Y given the true size X = x.

A model gives the conditional CDF ``cdf(y, x)`` = P(Y <= y | X = x), density
``pdf(y, x)``, a sampler, and the conditional partial moments
``partial_moments(x, lo, hi)`` = E[Y^k 1{lo < Y <= hi} | X = x] for k = 0, 1, 2, from
which every quantity the policies need is derived (old work under SPRPT and Trail,
overshoot E[(x - Y)^+], ...). Subclasses override a derived quantity only where a
closed form is shorter or more accurate.

``Threshold(T, noise)`` turns a model into one bit: "short" iff Y < T.
"""

import functools
import math

import numpy as np
from scipy import special

from ..core.errors import ParameterError
from ..core.numerics import integrate
from ..core.params import Domain, Param, nonnegative, positive


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

    def sf(self, y, x):
        """P(Y > y | X = x). Models override it where 1 - cdf loses the tail to round-off
        (tail probabilities, and integrals of them, are then accurate relative to
        themselves rather than to 1)."""
        return 1.0 - self.cdf(y, x)

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
        """(M0, M1, M2) with Mk = E[Y^k 1{lo < Y <= hi} | X = x]; by quadrature here, one
        point at a time (``x``, ``lo`` and ``hi`` broadcast as numpy does)."""
        x, lo, hi = np.broadcast_arrays(*(np.asarray(v, float) for v in (x, lo, hi)))
        out = np.zeros((3, *x.shape))
        for i in np.ndindex(x.shape):
            if hi[i] > lo[i]:
                xi = float(x[i])
                out[(slice(None), *i)] = [
                    integrate(lambda u, k=k: u**k * float(self.pdf(u, xi)), float(lo[i]),
                              float(hi[i]), (xi,), what="a conditional moment of the "
                              "prediction")[0] for k in range(3)]
        return tuple(float(m) for m in out) if x.ndim == 0 else tuple(out)

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

    def sf(self, y, x):
        return (np.asarray(x) > y).astype(float)

    def pdf(self, y, x):
        raise ParameterError("Perfect predictions have no density: Y = X.")

    def sample(self, x, rng):
        return np.array(x, float, copy=True)

    def y_kinks(self, xs):
        return tuple(xs)

    def partial_moments(self, x, lo, hi):
        inside = (lo < x) & (x <= hi)
        return inside * 1.0, inside * x, inside * x * x


def _overflow_is_zero(method):
    """Run ``method`` with overflow in numpy ignored: the model's formulas are
    exponentials of -y/x, and a ratio that overflows to inf gives the exact limit 0."""
    @functools.wraps(method)
    def quiet(*args, **kwargs):
        with np.errstate(over="ignore"):
            return method(*args, **kwargs)
    return quiet


class ExpNoise(PredictionModel):
    """Y | X = x ~ Exponential with mean x (Mitzenmacher 2020).

    Examples
    --------
    >>> m = ExpNoise()
    >>> float(m.overshoot(2.0)) == 2.0 / math.e   # E[(x - Y)^+] = x / e
    True
    """

    scale_family = True

    # y / x overflows to inf for y >> x (1e300 / 1e-10): the exponentials are then
    # exactly 0, which is right (@_overflow_is_zero)
    @_overflow_is_zero
    def cdf(self, y, x):
        return -np.expm1(-np.maximum(y, 0.0) / x)

    @_overflow_is_zero
    def sf(self, y, x):
        return np.exp(-np.maximum(y, 0.0) / x)

    @_overflow_is_zero
    def pdf(self, y, x):
        return np.where(np.asarray(y) >= 0, np.exp(-np.maximum(y, 0.0) / x) / x, 0.0)

    def sample(self, x, rng):
        y = rng.standard_exponential(np.shape(x))
        y *= x
        return y

    def kinks(self, y):
        return (y,)

    @_overflow_is_zero
    def partial_moments(self, x, lo, hi):
        # integral of u^k e^{-u/x} / x over (lo, hi] = x^k k! [Q(k+1, lo/x) - Q(k+1, hi/x)],
        # with Q(k+1, t) = e^{-t} sum_{j<=k} t^j / j! (two exponentials, no gamma calls)
        def Q(t):
            e = np.exp(-t)
            t = np.where(e > 0, t, 0.0)
            return e, e * (1 + t), e * (1 + t + 0.5 * t * t)
        qa, qb = Q(np.divide(lo, x)), Q(np.divide(hi, x))
        return tuple(x**k * math.factorial(k) * (qa[k] - qb[k]) for k in range(3))

    @_overflow_is_zero
    def _square_moment(self, x, a, b, lo, hi):
        # integral of (a - b u)^2 e^{-u/x} / x over (lo, hi] = [e^{-u/x} P(u)]_hi^lo with
        # P(u) = (a - b u)^2 - 2 b x (a - b u) + 2 b^2 x^2  (P/x - P' = (a - b u)^2 / x)
        def P(u):
            r = a - b * u
            return r * r - 2 * b * x * r + 2 * b * b * x * x
        hi = np.maximum(hi, lo)
        upper = np.where(np.isfinite(hi), np.exp(-hi / x) * P(np.where(np.isfinite(hi), hi, 0.0)), 0.0)
        return np.maximum(np.exp(-lo / x) * P(lo) - upper, 0.0)

    @_overflow_is_zero
    def excess_square(self, x, y):
        # memoryless: Y - y | Y > y ~ Exp(mean x); E[((x - W)^+)^2] = x^2 (1 - 2/e)
        return np.exp(-y / x) * x * x * (1.0 - 2.0 / math.e)

    def overshoot(self, x):
        return x / math.e

    @_overflow_is_zero
    def exceed_prob(self, x, v):
        return np.exp(-1.0 - v / x)


class UniformNoise(PredictionModel):
    """Y | X = x ~ Uniform[(1 - alpha) x, (1 + alpha) x], 1e-6 <= alpha <= 1."""

    # a band narrower than 1e-6 of x is exact predictions for every purpose (SPJF differs
    # from SJF by 2e-12 at alpha = 1e-6), while the quadratures across it stall: at 1e-9
    # SPJF ran out of a 20 s budget, at 1e-12 it did not converge, at 1e-76 it divided by 0
    alpha = Param(Domain("a number in [1e-6, 1] (a smaller alpha is exact predictions to "
                         "within 1e-6: use qt.Perfect())", lambda v: 1e-6 <= v <= 1,
                         lambda s: s.is_positive))
    scale_family = True

    @property
    def ratio_range(self):
        return 1.0 - self.alpha, 1.0 + self.alpha

    def __init__(self, alpha):
        self.alpha = alpha

    def _edges(self, x):
        return (1 - self.alpha) * x, (1 + self.alpha) * x

    def cdf(self, y, x):
        lo, hi = self._edges(x)
        return np.clip((y - lo) / (hi - lo), 0.0, 1.0)

    def sf(self, y, x):
        lo, hi = self._edges(x)
        return np.clip((hi - y) / (hi - lo), 0.0, 1.0)

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

    def sf(self, y, x):
        return special.ndtr(-np.log(np.maximum(y, 1e-300) / x) / self.sigma)

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
        return tuple(x**k * math.exp(k * k * s * s / 2) * _normal_mass(zl - k * s, zh - k * s)
                     for k in range(3))

    def excess_square(self, x, y):
        # E[(x + y - Y)^2 1{y < Y <= x + y} | x]. From the partial moments it is a
        # difference of terms ~(1 + y/x)^2 times larger than itself: every digit is gone by
        # y ~ 1e4 x (and the noise stalled the quadratures over x and y). For y > x
        # integrate over the band in U = Z - z_y instead, Z = log(Y/x)/sigma, z_y = log(y/x)/sigma:
        # x + y - Y = x - y expm1(sigma U) and phi(z_y + U) = phi(z_y) exp(-z_y U - U^2/2),
        # cut where that exponent reaches -40 (the rest is below e^-40 of the start):
        # 24-point Gauss-Legendre then agrees with 30-digit mpmath to 2e-13 for sigma in
        # [0.003, 8] and y/x up to where the value underflows.
        x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
        out = np.zeros(x.shape)
        far = y > x
        if not np.all(far):
            out[~far] = PredictionModel.excess_square(self, x[~far], y[~far])
        s = self.sigma
        far &= np.log(np.where(far, y, 1.0) / x) < 38.7 * s  # else phi(z_y) underflows: 0
        if np.any(far):
            xf, yf = x[far], y[far]
            zl = np.log(yf / xf) / s
            width = np.minimum(np.log1p(xf / yf) / s, 80.0 / (np.sqrt(zl * zl + 80.0) + zl))
            u = width[:, None] * _GL_U
            g = (xf[:, None] - yf[:, None] * np.expm1(s * u)) ** 2 * np.exp(-zl[:, None] * u
                                                                          - 0.5 * u * u)
            out[far] = np.exp(-0.5 * zl * zl) / math.sqrt(2 * math.pi) * width * (g @ _GL_W)
        return out

    def exceed_prob(self, x, v):
        return special.ndtr(-np.log1p(v / x) / self.sigma)


_GL_U, _GL_W = (lambda t, w: ((t + 1) / 2, w / 2))(*np.polynomial.legendre.leggauss(24))


def _normal_mass(a, b):
    """P(a < Z <= b) for Z ~ N(0, 1), from the nearer tail: no 1 - 1 round-off when the
    interval lies far above 0.

    Examples
    --------
    >>> float(_normal_mass(np.float64(10.0), np.float64(np.inf))) > 0
    True
    """
    return np.where(a > 0, special.ndtr(-a) - special.ndtr(-b), special.ndtr(b) - special.ndtr(a))


class CustomPrediction(PredictionModel):
    """A user's model from its conditional density ``pdf(y, x)`` and a sampler
    ``sample(x, rng)``; optionally its ``cdf(y, x)``.

    The analytic methods need the conditional law's cdf, tail and partial moments.
    Without ``cdf`` they are derived from the density when the model is a scale family,
    ``scale_family=True`` (Y = x Z, Z's law the same for every x, i.e.
    pdf(y, x) = pdf(y / x, 1) / x): the density at x = 1 is integrated once, by 32-point
    Gauss-Legendre pieces of a quarter octave for t from 2^-60 to 2^60, into cumulative
    tables read through each piece's Legendre interpolant; the tables' own error
    (32 against 16 points, and how far the density's total is from 1) is
    ``table_error`` and must be below 1e-9, else the model is refused with the reason.
    Any other model without ``cdf`` is refused by the analytic methods with a
    ParameterError naming ``cdf``; ``method="simulation"`` needs only the sampler.

    Examples
    --------
    >>> m = CustomPrediction(pdf=lambda y, x: np.exp(-y / x) / x,
    ...                      sample=lambda x, rng: x * rng.exponential(1.0, np.shape(x)),
    ...                      scale_family=True)
    >>> abs(float(m.cdf(1.0, 1.0)) - (1 - math.exp(-1))) < 1e-13
    True
    >>> abs(float(m.sf(40.0, 1.0)) / math.exp(-40) - 1) < 1e-9   # tails from the tail side
    True
    """

    def __init__(self, pdf, sample, cdf=None, name="custom", scale_family=False):
        self._pdf, self._sample, self._cdf, self.name = pdf, sample, cdf, name
        self.scale_family = bool(scale_family)
        self._tables = None

    def __repr__(self):
        return f"CustomPrediction({self.name!r})"

    def pdf(self, y, x):
        return self._pdf(y, x)

    def sample(self, x, rng):
        return self._sample(x, rng)

    # -- the law derived from the density --------------------------------------------------
    def _table(self):
        if self._tables is None:
            if not self.scale_family:
                raise ParameterError(
                    f"{self!r} has no cdf: the analytic methods need P(Y <= y | X = x). Pass "
                    "cdf=lambda y, x: ... , or scale_family=True if Y = x Z with Z's law the "
                    "same for every x (then the cdf and moments are integrated from pdf); "
                    "method='simulation' needs only the sampler.")
            self._tables = _ScaleTables(lambda t: np.asarray(self._pdf(t, 1.0), float))
            if not self._tables.error <= 1e-9:
                raise ParameterError(
                    f"{self!r}: integrating pdf(t, 1) over t in (0, inf) gave "
                    f"{self._tables.total[0]:.12g} with error {self._tables.error:.2g} "
                    "(it must be 1 within 1e-9): check that pdf is a normalised density in y, "
                    "or pass cdf=... .")
        return self._tables

    @property
    def table_error(self):
        """Relative error of the tables the cdf and moments are read from (scale_family)."""
        return self._table().error if self._cdf is None else 0.0

    def cdf(self, y, x):
        if self._cdf is not None:
            return self._cdf(y, x)
        return self._table().lower(0, np.asarray(y, float) / np.asarray(x, float))

    def sf(self, y, x):
        if self._cdf is not None:
            return 1.0 - self._cdf(y, x)
        return self._table().upper(0, np.asarray(y, float) / np.asarray(x, float))

    def partial_moments(self, x, lo, hi):
        if self._cdf is not None and not self.scale_family:
            return PredictionModel.partial_moments(self, x, lo, hi)
        T = self._table()
        x = np.asarray(x, float)
        a, b = np.asarray(lo, float) / x, np.asarray(hi, float) / x
        out = []
        for k in range(3):
            # from whichever side is smaller: no 1 - 1 round-off in the tails
            left = T.lower(k, b) - T.lower(k, a)
            right = T.upper(k, a) - T.upper(k, b)
            out.append(x**k * np.maximum(np.where(a >= 1.0, right, left), 0.0))
        return tuple(out)

    def exceed_prob(self, x, v):
        return self.sf(np.asarray(x, float) + v, x)


class _ScaleTables:
    """Cumulative integrals of t^k h(t), k = 0, 1, 2, of a density h on (0, inf), from the
    left and from the right (tails stay accurate relative to themselves), on
    Gauss-Legendre pieces [2^(j/4), 2^((j+1)/4)], read through each piece's Legendre
    interpolant."""

    def __init__(self, h, lo=-60, hi=60, n=32, per_octave=4):
        from ..core.numerics import legendre_antiderivative
        edges = np.concatenate([[0.0], 2.0 ** (np.arange(lo * per_octave, hi * per_octave + 1)
                                               / per_octave)])
        self.edges, self.n = edges, n
        width = np.diff(edges)

        def at(m):
            t, w = np.polynomial.legendre.leggauss(m)
            nodes = edges[:-1, None] + width[:, None] * (t + 1) / 2
            return nodes, np.nan_to_num(h(nodes.ravel()).reshape(nodes.shape)), w
        nodes, vals, w = at(n)
        nodes16, vals16, w16 = at(16)
        A = legendre_antiderivative(n)                      # (n + 1, n)
        self.left, self.right, self.piece, err = [], [], [], []
        for k in range(3):
            v = vals * nodes**k
            self.left.append(v @ A.T * width[:, None])       # from each piece's start
            self.right.append(v[:, ::-1] @ A.T * width[:, None])   # from its end (mirrored)
            tot = (v * w).sum(1) * width / 2
            tot16 = (vals16 * nodes16**k * w16).sum(1) * width / 2
            self.piece.append(tot)
            err.append(np.abs(tot - tot16).sum() / max(tot.sum(), 1e-300))
        self.total = np.array([p.sum() for p in self.piece])
        # where the density's total is not 1, the difference is an error of the tables
        self.error = float(max(max(err), abs(self.total[0] - 1.0)))
        self.prefix = [np.concatenate([[0.0], np.cumsum(p)]) for p in self.piece]
        self.suffix = [np.concatenate([np.cumsum(p[::-1])[::-1], [0.0]]) for p in self.piece]

    def _where(self, t):
        t = np.clip(t, 0.0, self.edges[-1])
        p = np.clip(np.searchsorted(self.edges, t, side="right") - 1, 0, self.edges.size - 2)
        lo, w = self.edges[p], self.edges[p + 1] - self.edges[p]
        return p, np.clip(2 * (t - lo) / w - 1, -1.0, 1.0)

    def lower(self, k, t):
        """integral of u^k h(u) over (0, t]."""
        t = np.asarray(t, float)
        p, tau = self._where(t)
        part = np.einsum("...j,...j->...", np.polynomial.legendre.legvander(tau, self.n),
                         self.left[k][p])
        return np.where(t <= 0, 0.0, self.prefix[k][p] + part).reshape(t.shape)

    def upper(self, k, t):
        """integral of u^k h(u) over (t, inf), summed from the right."""
        t = np.asarray(t, float)
        p, tau = self._where(t)
        part = np.einsum("...j,...j->...", np.polynomial.legendre.legvander(-tau, self.n),
                         self.right[k][p])
        return np.where(t <= 0, self.total[k], self.suffix[k][p + 1] + part).reshape(t.shape)


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
        if isinstance(self.noise, ClassBit):
            raise ParameterError(f"noise = {noise!r} is invalid: a ClassBit is already one bit "
                                 "(about the size's component), with no threshold T to set or "
                                 "optimise; pass it as the queue's prediction directly.")
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


class ClassBit(PredictionModel):
    """One bit of class advice on a two-component mixture of sizes (the model of
    Mitzenmacher 2021, "Queues with Small Advice", arXiv 2006.15463, as issue 16 states
    it; the paper's section was not re-read here).

    Sizes come from a mixture with two components, component 0 "short" and component 1
    "long" (``qt.Hyperexponential((p, 1 - p), (mu_S, mu_L))``); the bit says "short" with
    probability ``q_S`` for a job of the short component and ``1 - q_L`` for one of the
    long component: ``correct=(q_S, q_L)`` are the probabilities that the bit is right.
    The bit is 0 (short) or 1 (long), as for :class:`Threshold`, so the one-bit policies
    (``qt.OneBit``) use it unchanged.

    The queue binds the model to its size law (:meth:`bind`). Everything the methods need
    is derived from the declaration: the chance of "short" given the size,
    P(short | X = x) = [q_S p f_S(x) + (1 - q_L)(1 - p) f_L(x)] / f(x) (Bayes; what SOAP
    integrates and the simulator samples the bit from, exact in law since the bit depends
    on the job only through its component), and the classes' moments
    E[X^k; short] = q_S p E[X_S^k] + (1 - q_L)(1 - p) E[X_L^k] (what the formula uses).

    Examples
    --------
    >>> from qtheory import Hyperexponential
    >>> bit = ClassBit(correct=(0.9, 0.8)).bind(Hyperexponential((0.5, 0.5), (2.0, 0.5)))
    >>> [round(v, 6) for v in bit.class_table()[0]]   # P(short), E[X; short], E[X^2; short]
    [0.55, 0.425, 1.025]
    """

    def __init__(self, correct=(1.0, 1.0), size=None):
        try:
            q_s, q_l = (float(c) for c in correct)
        except (TypeError, ValueError):
            raise ParameterError(f"correct = {correct!r} is invalid: pass two probabilities "
                                 "(q_short, q_long), each in [0, 1].") from None
        for name, v in (("q_short", q_s), ("q_long", q_l)):
            if not 0.0 <= v <= 1.0:
                raise ParameterError(f"correct = {correct!r} is invalid: {name} = {v!r} "
                                     "must be a probability in [0, 1].")
        self.correct = (q_s, q_l)
        self.size = None
        if size is not None:
            self.size = _two_components(size)

    def __repr__(self):
        return f"ClassBit(correct={self.correct!r})"

    def bind(self, size):
        """This model on size law ``size`` (a two-component mixture)."""
        return ClassBit(self.correct, size)

    def _law(self):
        if self.size is None:
            raise ParameterError("ClassBit needs the size law it is a bit about: build the "
                                 "queue with it (qt.MG1(lam, size, prediction=qt.ClassBit(...))) "
                                 "or call .bind(size).")
        return self.size

    size_jumps = ()

    @property
    def components(self):
        """((p, 1 - p), (mu_S, mu_L)): the mixture's weights and its components' rates
        (exponential components)."""
        law = self._law()
        return tuple(float(v) for v in law.probs), tuple(float(r) for r in law.rates)

    @property
    def short_given_class(self):
        """(P(short | short component), P(short | long component)) = (q_S, 1 - q_L)."""
        return self.correct[0], 1.0 - self.correct[1]

    def short_prob(self, x):
        """P(short | X = x), by Bayes over the two components."""
        law = self._law()
        x = np.maximum(np.asarray(x, float), 0.0)
        a, b = self.short_given_class
        (p_s, p_l), (mu_s, mu_l) = law.probs, law.rates
        # weights of the components at x, relative to the short one (no underflow of
        # e^{-mu x} for large x: ratio = e^{-(mu_L - mu_S) x} (p_L mu_L)/(p_S mu_S))
        if p_s == 0:
            return np.full(x.shape, b) if x.ndim else float(b)
        if p_l == 0:
            return np.full(x.shape, a) if x.ndim else float(a)
        with np.errstate(over="ignore"):
            r = (p_l * mu_l) / (p_s * mu_s) * np.exp(-(mu_l - mu_s) * x)
            w_s = np.where(np.isinf(r), 0.0, 1.0 / (1.0 + r))
        return a * w_s + b * (1.0 - w_s)

    def sample(self, x, rng):
        return (rng.random(np.shape(x)) >= self.short_prob(x)).astype(float)

    def cdf(self, y, x):
        p = self.short_prob(x)
        return np.where(np.asarray(y) >= 1, 1.0, np.where(np.asarray(y) >= 0, p, 0.0))

    def class_table(self):
        """Per class (short, long): (P, E[X; class], E[X^2; class]), exactly from the
        component moments."""
        (p_s, p_l), (mu_s, mu_l) = self.components
        a, b = self.short_given_class
        rows = []
        for ws, wl in ((a * p_s, b * p_l), ((1 - a) * p_s, (1 - b) * p_l)):
            # E[Exp(mu)^k] = k! / mu^k
            rows.append(tuple(math.factorial(k) * (ws / mu_s**k + wl / mu_l**k)
                              for k in range(3)))
        return rows


def _two_components(size):
    # a Hyperexponential (laws.sizes imports this module: recognised by its parts)
    if (type(size).__name__ == "Hyperexponential" and len(getattr(size, "probs", ())) == 2):
        return size
    raise ParameterError(f"size = {size!r} is invalid for qt.ClassBit: the bit is about a "
                         "job's component in a two-component mixture; use "
                         "qt.Hyperexponential((p, 1 - p), (mu_short, mu_long)) with "
                         "component 0 the short one.")


def is_bit(prediction):
    """Whether ``prediction`` is one bit of advice (:class:`Threshold` or
    :class:`ClassBit`), the descriptor of the one-bit policies.

    Examples
    --------
    >>> is_bit(Threshold(1.0)), is_bit(ClassBit()), is_bit(ExpNoise())
    (True, True, False)
    """
    return isinstance(prediction, (Threshold, ClassBit))


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
                         "qt.ExpNoise(), qt.Perfect(), qt.Threshold(T, noise) or "
                         "qt.ClassBit(correct=(q_short, q_long)).")
