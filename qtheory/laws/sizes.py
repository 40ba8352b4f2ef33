"""Job-size laws: densities, moments, partial moments and samplers.

A size law is anything with support in ``[0, inf)``. Each law here gives

* ``pdf``, ``cdf``, ``sf`` (vectorised over numpy arrays),
* ``moment(k)`` = E[X^k] and ``partial_moment(k, x)`` = E[X^k 1{X <= x}], in closed form
  where one exists (``strict=True`` gives E[X^k 1{X < x}], different only at atoms),
* ``expect(fn, lo, hi)`` = E[fn(X) 1{lo < X <= hi}] with an error estimate: the one
  place where qtheory integrates against a size law,
* ``sample(rng, n)`` from a ``numpy.random.Generator``.

Any frozen continuous ``scipy.stats`` distribution with support in ``[0, inf)`` is
accepted wherever a size law is (:func:`as_size_law` wraps it).
"""

import math

import numpy as np
from scipy import special

from ..core.errors import ParameterError
from ..core.numerics import gauss_pieces, integrate
from ..core.params import Domain, Param, finite, is_symbolic, nonnegative, positive


class SizeLaw:
    """Base class: a subclass gives ``pdf``, ``cdf``, ``sample``, ``moment`` and,
    ideally, ``partial_moment`` in closed form; everything else is derived."""

    discrete = False
    support = (0.0, math.inf)

    # -- to be provided ---------------------------------------------------------
    def pdf(self, x):
        raise NotImplementedError

    def cdf(self, x):
        raise NotImplementedError

    def sample(self, rng, n):
        raise NotImplementedError

    def moment(self, k):
        return self.expect(lambda x: x**k)[0]

    # -- derived ----------------------------------------------------------------
    def sf(self, x):
        """P(X > x)."""
        return 1.0 - self.cdf(x)

    @property
    def mean(self):
        return self.moment(1)

    @property
    def scale(self):
        """A characteristic size, used to place quadrature split points."""
        return self.mean

    @property
    def breakpoints(self):
        """Points inside the support where the density has a kink or jump."""
        return ()

    @property
    def split_points(self):
        """Quantiles from 1e-8 to 1 - 1e-12 (and the kinks): where quadrature over this law
        splits its range, so that heavy tails and sharp heads get pieces of their own."""
        if "_split_points" not in self.__dict__:
            lo, hi = self.support
            x = self.scale * np.logspace(-24, 8, 3000)
            x = x[(x > lo) & (x < hi)]
            if x.size < 2:     # a point mass (or a support too narrow to sample)
                self.__dict__["_split_points"] = sorted(set(self.breakpoints))
                return self.__dict__["_split_points"]
            logF = np.log(np.maximum(np.asarray(self.cdf(x), float), 1e-300))
            logS = np.log(np.maximum(np.asarray(self.sf(x), float), 1e-300))
            head = np.interp(np.log([1e-4, 1e-2, 0.1, 0.5]), logF, x, left=np.nan, right=np.nan)
            tail = np.interp(-np.log([0.1, 1e-2, 1e-4, 1e-6, 1e-9, 1e-12]), -logS, x,
                             left=np.nan, right=np.nan)
            pts = np.concatenate([head, tail])
            pts = sorted({float(p) for p in pts[np.isfinite(pts)] if lo < p < hi}
                         | set(self.breakpoints))
            # QUADPACK's error estimate is fooled by a piece [a, b], a > 0, spanning many
            # decades of a near-singular integrand: no piece wider than a factor 100
            out = pts[:1]
            for b in pts[1:]:
                a = out[-1]
                n = math.ceil(math.log(b / a, 100)) if a > 0 else 1
                out += [a * (b / a) ** (i / n) for i in range(1, n)] + [b]
            self.__dict__["_split_points"] = out
        return self.__dict__["_split_points"]

    def partial_moment(self, k, x, strict=False):
        """E[X^k 1{X <= x}] (or 1{X < x} with ``strict=True``).

        Without a closed form: a cumulative table at quantile cut points, plus a
        Gauss-Legendre pass over the last partial piece (adaptive quadrature if that
        pass cannot vouch for 1e-10)."""
        lo, hi = self.support
        if not x > lo:
            return 0.0
        if x >= hi:
            return self.moment(k)
        cuts, cum = self._cumulative(k)
        i = int(np.searchsorted(cuts, x, side="right")) - 1
        return cum[i] + self._piece(k, cuts[i], x, scale=cum[i])

    def _piece(self, k, a, b, scale=0.0):
        """E[X^k 1{a < X <= b}]: one Gauss-Legendre pass, adaptive quadrature when the
        pass cannot vouch for 1e-10 relative to ``scale`` or the result."""
        if b - a <= 1024 * np.spacing(abs(a)) and a > 0:
            # nodes would round onto a (a density may be infinite there); a^k (F(b) - F(a))
            # is within k (b - a) / a < 3e-13 k of the value
            return float(a**k * (self.cdf(b) - self.cdf(a)))
        v, err = gauss_pieces(lambda t: t**k * self.pdf(t), [a, b])
        tol = 1e-10 * max(abs(v), abs(scale), 1e-300)
        if err > tol and k > 0:
            # by parts, the integrand bounded even where the density is not (a singular
            # density at loc): a^k S(a) - b^k S(b) + ∫ k t^(k-1) S(t) dt, or its mirror in F
            # in the head (no cancellation on either side)
            head = float(self.cdf(b)) <= 0.5
            G = self.cdf if head else self.sf
            w, e = gauss_pieces(lambda t: k * t ** (k - 1) * G(t), [a, b])
            ends = b**k * G(b) - a**k * G(a)
            v, err = (ends - w, e) if head else (w - ends, e)
            tol = 1e-10 * max(abs(v), abs(scale), 1e-300)
        if err > tol:
            v = self.expect(lambda t: t**k, a, b)[0]
        return float(v)

    def _cumulative(self, k):
        """Cut points and E[X^k 1{X <= cut}] at each, computed once per k."""
        tables = self.__dict__.setdefault("_cumulative_tables", {})
        if k not in tables:
            from .joint import quantile_grid
            lo, hi = self.support
            cuts = np.array(sorted({lo, *quantile_grid(self), *self.breakpoints}))
            pieces = [self._piece(k, a, b) for a, b in zip(cuts[:-1], cuts[1:])]
            tables[k] = cuts, np.concatenate([[0.0], np.cumsum(pieces)])
        return tables[k]

    def expect(self, fn, lo=0.0, hi=math.inf, points=(), what=None, atol=1e-300):
        """E[fn(X) 1{lo < X <= hi}] as ``(value, error)``; ``atol`` is the absolute
        error that is good enough (for values known to be negligible next to others).

        Examples
        --------
        >>> v, err = Exponential(2.0).expect(lambda x: x**2)
        >>> round(v, 12), err < 1e-10
        (0.5, True)
        """
        a, b = max(lo, self.support[0]), min(hi, self.support[1])
        if not b > a:
            return 0.0, 0.0
        pts = [*points, *self.breakpoints, *self.split_points]
        return integrate(lambda x: fn(x) * self.pdf(x), a, b, pts, atol=atol,
                         what=what or f"an expectation over {self!r}")

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class Exponential(SizeLaw):
    """Exponential sizes with the given rate (mean 1/rate).

    Examples
    --------
    >>> X = Exponential(rate=2.0)
    >>> X.mean, X.moment(2)
    (0.5, 0.5)
    """

    rate = Param(positive)

    def __init__(self, rate=1.0):
        self.rate = rate

    def pdf(self, x):
        return self.rate * np.exp(-self.rate * np.asarray(x, float))

    def cdf(self, x):
        return -np.expm1(-self.rate * np.maximum(x, 0.0))

    def sf(self, x):
        return np.exp(-self.rate * np.maximum(x, 0.0))

    def moment(self, k):
        return math.gamma(k + 1) / self.rate**k

    def partial_moment(self, k, x, strict=False):
        return math.gamma(k + 1) / self.rate**k * special.gammainc(k + 1, self.rate * np.maximum(x, 0.0))

    def sample(self, rng, n):
        return rng.exponential(1.0 / self.rate, n)


class Erlang(SizeLaw):
    """Sum of ``k`` independent Exponential(rate) phases (mean k/rate)."""

    k = Param(positive)
    rate = Param(positive)

    def __init__(self, k, rate):
        if not is_symbolic(k) and int(k) != k:
            raise ParameterError(f"k = {k!r} is invalid: the number of phases must be an integer.")
        self.k, self.rate = (k if is_symbolic(k) else int(k)), rate

    def pdf(self, x):
        x = np.maximum(np.asarray(x, float), 0.0)
        k, r = self.k, self.rate
        return np.exp(k * np.log(r) + (k - 1) * np.log(np.maximum(x, 1e-300)) - r * x
                      - math.lgamma(k)) * (x > 0 if k > 1 else 1.0)

    def cdf(self, x):
        return special.gammainc(self.k, self.rate * np.maximum(x, 0.0))

    def sf(self, x):
        return special.gammaincc(self.k, self.rate * np.maximum(x, 0.0))

    def moment(self, j):
        return math.exp(math.lgamma(self.k + j) - math.lgamma(self.k)) / self.rate**j

    def partial_moment(self, j, x, strict=False):
        return self.moment(j) * special.gammainc(self.k + j, self.rate * np.maximum(x, 0.0))

    def sample(self, rng, n):
        return rng.gamma(self.k, 1.0 / self.rate, n)


class Hyperexponential(SizeLaw):
    """Mixture of exponentials: with probability ``probs[i]`` the rate is ``rates[i]``."""

    def __init__(self, probs, rates):
        self.probs = np.asarray(probs, float)
        self.rates = np.asarray(rates, float)
        if self.probs.shape != self.rates.shape or self.probs.ndim != 1:
            raise ParameterError("probs and rates must be 1-D sequences of equal length.")
        if np.any(self.probs < 0) or not math.isclose(self.probs.sum(), 1.0, rel_tol=1e-12):
            raise ParameterError(f"probs = {probs!r} is invalid: they must be >= 0 and sum to 1.")
        if np.any(~np.isfinite(self.rates)) or np.any(self.rates <= 0):
            raise ParameterError(f"rates = {rates!r} is invalid: each must be positive and finite.")

    def pdf(self, x):
        x = np.asarray(x, float)[..., None]
        return np.sum(self.probs * self.rates * np.exp(-self.rates * x), axis=-1)

    def cdf(self, x):
        return 1.0 - self.sf(x)

    def sf(self, x):
        x = np.maximum(np.asarray(x, float), 0.0)[..., None]
        return np.sum(self.probs * np.exp(-self.rates * x), axis=-1)

    def moment(self, k):
        return float(np.sum(self.probs * math.gamma(k + 1) / self.rates**k))

    def partial_moment(self, k, x, strict=False):
        x = np.maximum(np.asarray(x, float), 0.0)[..., None]
        return np.sum(self.probs * math.gamma(k + 1) / self.rates**k
                      * special.gammainc(k + 1, self.rates * x), axis=-1)

    def sample(self, rng, n):
        which = rng.choice(len(self.probs), size=n, p=self.probs)
        return rng.exponential(1.0, n) / self.rates[which]

    @classmethod
    def balanced(cls, mean, scv):
        """Two-phase law with balanced means, the given mean and squared coefficient of
        variation ``scv`` >= 1 (a standard way to dial in variability)."""
        if not scv >= 1:
            raise ParameterError(f"scv = {scv!r} is invalid: a hyperexponential needs scv >= 1.")
        p = 0.5 * (1 + math.sqrt((scv - 1) / (scv + 1)))
        return cls([p, 1 - p], [2 * p / mean, 2 * (1 - p) / mean])


class Uniform(SizeLaw):
    """Uniform sizes on ``[low, high]``."""

    low = Param(nonnegative)
    high = Param(positive)

    def __init__(self, low, high):
        self.low, self.high = low, high
        symbolic = is_symbolic(low, high)  # then checked when numbers are substituted
        if not symbolic and not high > low:
            raise ParameterError(f"high = {high!r} is invalid: it must exceed low = {low!r}.")
        self.support = (low, high) if symbolic else (float(low), float(high))

    def pdf(self, x):
        x = np.asarray(x, float)
        return np.where((x >= self.low) & (x <= self.high), 1.0 / (self.high - self.low), 0.0)

    def cdf(self, x):
        return np.clip((np.asarray(x, float) - self.low) / (self.high - self.low), 0.0, 1.0)

    def moment(self, k):
        if not is_symbolic(self.low, self.high) and float(k).is_integer() and k >= 0:
            # sum_j high^j low^(k-j) / (k + 1): no high^(k+1) to under- or overflow (the
            # mean of Uniform(0, 1e-300) was 0, so its queue's load read 0)
            h, lo = float(self.high), float(self.low)
            return math.fsum(h**j * lo ** (int(k) - j) for j in range(int(k) + 1)) / (k + 1)
        return (self.high**(k + 1) - self.low**(k + 1)) / ((k + 1) * (self.high - self.low))

    def partial_moment(self, k, x, strict=False):
        u = np.clip(x, self.low, self.high)
        return (u**(k + 1) - self.low**(k + 1)) / ((k + 1) * (self.high - self.low))

    def sample(self, rng, n):
        return rng.uniform(self.low, self.high, n)


class Weibull(SizeLaw):
    """Weibull sizes: P(X > x) = exp(-(x/scale)^shape). Shape < 1 is heavy-ish tailed.

    Examples
    --------
    The law of Mitzenmacher's one-bit tables, F(x) = 1 - exp(-sqrt(2x)):

    >>> X = Weibull(shape=0.5, scale=0.5)
    >>> round(X.mean, 12), round(X.moment(2), 12)
    (1.0, 6.0)
    """

    # above shape 1000 the law is a point mass at ``scale`` to within 0.1 % (and its
    # density overflows double precision past it)
    shape = Param(Domain("a positive number at most 1000 (beyond, use qt.Deterministic("
                         "scale): the law is that point mass to within 0.1 %)",
                         lambda v: 0 < v <= 1000, lambda s: s.is_positive))
    scale_ = Param(positive)

    def __init__(self, shape, scale=1.0):
        self.shape, self.scale_ = shape, scale

    def __repr__(self):
        return f"Weibull(shape={self.shape!r}, scale={self.scale_!r})"

    def pdf(self, x):
        x = np.asarray(x, float)
        c, s = self.shape, self.scale_
        # (c / x) exp(c log(x/s) - (x/s)^c): at large shapes (x/s)^(c-1) overflows where
        # exp(-(x/s)^c) underflows, and their product was inf * 0 = NaN
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            u = np.log(x / s)
            return np.where(x > 0, c / x * np.exp(c * u - np.exp(c * u)), 0.0)

    def cdf(self, x):
        with np.errstate(over="ignore"):       # (x/s)^c = inf: the cdf is 1
            return -np.expm1(-(np.maximum(x, 0.0) / self.scale_) ** self.shape)

    def sf(self, x):
        with np.errstate(over="ignore"):
            return np.exp(-(np.maximum(x, 0.0) / self.scale_) ** self.shape)

    def moment(self, k):
        return self.scale_**k * math.gamma(1 + k / self.shape)

    def partial_moment(self, k, x, strict=False):
        with np.errstate(over="ignore"):
            z = (np.maximum(x, 0.0) / self.scale_) ** self.shape
        return self.moment(k) * special.gammainc(1 + k / self.shape, z)

    def sample(self, rng, n):
        return self.scale_ * rng.weibull(self.shape, n)


class Lognormal(SizeLaw):
    """X = exp(mu + sigma Z), Z ~ N(0, 1)."""

    mu = Param(finite)
    sigma = Param(positive)

    def __init__(self, mu=0.0, sigma=1.0):
        self.mu, self.sigma = mu, sigma

    @classmethod
    def from_mean(cls, mean, sigma):
        """The lognormal law with the given mean and log-standard deviation."""
        return cls(math.log(mean) - sigma**2 / 2, sigma)

    @property
    def scale(self):
        return math.exp(self.mu)

    def pdf(self, x):
        x = np.maximum(np.asarray(x, float), 1e-300)
        z = (np.log(x) - self.mu) / self.sigma
        return np.exp(-0.5 * z * z) / (x * self.sigma * math.sqrt(2 * math.pi))

    def cdf(self, x):
        return special.ndtr((np.log(np.maximum(x, 1e-300)) - self.mu) / self.sigma)

    def sf(self, x):
        return special.ndtr((self.mu - np.log(np.maximum(x, 1e-300))) / self.sigma)

    def moment(self, k):
        return math.exp(k * self.mu + (k * self.sigma) ** 2 / 2)

    def partial_moment(self, k, x, strict=False):
        z = (np.log(np.maximum(x, 1e-300)) - self.mu - k * self.sigma**2) / self.sigma
        return self.moment(k) * special.ndtr(z)

    def sample(self, rng, n):
        return rng.lognormal(self.mu, self.sigma, n)


class BoundedPareto(SizeLaw):
    """Pareto(alpha) sizes truncated to ``[low, high]``: density proportional to x^(-alpha-1)."""

    # above alpha = 1e4 the mass sits within 0.15 % of ``low`` (1 - 1e-6 of it), and the
    # density (low/x)^(alpha+1) carries a relative round-off of about alpha * 1e-16 that
    # no quadrature can remove: at alpha = 1e6, E[T] at load 1e-12 came out 1.6e-10 below
    # E[X] with a claimed error of 4e-11
    alpha = Param(Domain("a positive number at most 1e4 (beyond, use qt.Deterministic(low "
                         "* alpha / (alpha - 1)): the law is that point mass to within "
                         "0.15 %)", lambda v: 0 < v <= 1e4, lambda s: s.is_positive))
    low = Param(positive)
    high = Param(positive)

    def __init__(self, alpha, low, high):
        self.alpha, self.low, self.high = alpha, low, high
        symbolic = is_symbolic(low, high)  # then checked when numbers are substituted
        if not symbolic and not high > low:
            raise ParameterError(f"high = {high!r} is invalid: it must exceed low = {low!r}.")
        self.support = (low, high) if symbolic else (float(low), float(high))
        # in units of low (z = x / low), so that low^alpha never appears: it overflows for
        # a large alpha, and 1 - (low / high)^alpha cancels for a small one
        if symbolic or is_symbolic(alpha):
            self._mass = 1 - (low / high) ** alpha
        else:
            self._mass = -math.expm1(alpha * math.log(low / high))

    @property
    def scale(self):
        return self.low

    def pdf(self, x):
        x = np.asarray(x, float)
        inside = (x >= self.low) & (x <= self.high)
        z = np.where(inside, x, self.low) / self.low
        return np.where(inside, self.alpha / (self.low * self._mass) * z ** (-self.alpha - 1),
                        0.0)

    def cdf(self, x):
        z = np.clip(x, self.low, self.high) / self.low
        if is_symbolic(self.alpha, z):
            return (1 - z ** -self.alpha) / self._mass
        return -np.expm1(-self.alpha * np.log(z)) / self._mass

    def sf(self, x):  # not 1 - cdf: the tail is integrated over ranges as long as 1e6
        z = np.clip(x, self.low, self.high) / self.low
        if is_symbolic(self.alpha, z):
            return (z ** -self.alpha - (self.high / self.low) ** -self.alpha) / self._mass
        # z^-alpha (1 - (high / x)^-alpha), without the cancellation for a small alpha
        return z ** -self.alpha * -np.expm1(-self.alpha * np.log(self.high / self.low / z)
                                            ) / self._mass

    def moment(self, k):
        return float(self.partial_moment(k, self.high))

    def partial_moment(self, k, x, strict=False):
        z = np.clip(x, self.low, self.high) / self.low
        c = self.alpha * self.low**k / self._mass
        if k == self.alpha:
            return c * np.log(z)
        return c * (z ** (k - self.alpha) - 1) / (k - self.alpha)

    def sample(self, rng, n):
        v = rng.random(n)
        a, lo, hi = self.alpha, self.low, self.high
        return lo * (1 - v * (1 - (lo / hi) ** a)) ** (-1 / a)


class Empirical(SizeLaw):
    """A discrete law on the given values (a trace), optionally weighted.

    Examples
    --------
    >>> X = Empirical([1.0, 2.0, 2.0, 5.0])
    >>> X.mean, float(X.partial_moment(1, 2.0)), float(X.partial_moment(1, 2.0, strict=True))
    (2.5, 1.25, 0.25)
    """

    discrete = True

    def __init__(self, values, weights=None):
        v = np.asarray(values, float).ravel()
        w = np.ones_like(v) if weights is None else np.asarray(weights, float).ravel()
        if v.size == 0 or w.shape != v.shape:
            raise ParameterError("values must be non-empty, and weights (if given) of the same length.")
        if np.any(~np.isfinite(v)) or np.any(v < 0):
            raise ParameterError("values must be finite sizes >= 0; drop negative or NaN entries.")
        if np.any(w < 0) or not w.sum() > 0:
            raise ParameterError("weights must be >= 0 with a positive sum.")
        self.values, inverse = np.unique(v, return_inverse=True)
        self.weights = np.bincount(inverse, weights=w) / w.sum()
        self._cum = np.concatenate([[0.0], np.cumsum(self.weights)])
        self.support = (float(self.values[0]), float(self.values[-1]))

    def __repr__(self):
        return f"Empirical(<{self.values.size} values, mean {self.mean:.4g}>)"

    @property
    def breakpoints(self):
        return tuple(self.values)

    def pdf(self, x):
        raise ParameterError(f"{self!r} is discrete and has no density; use expect() or cdf().")

    def cdf(self, x):
        return self._cum[np.searchsorted(self.values, x, side="right")]

    def moment(self, k):
        return float(np.dot(self.weights, self.values**k))

    def partial_moment(self, k, x, strict=False):
        i = np.searchsorted(self.values, x, side="left" if strict else "right")
        return np.cumsum(np.concatenate([[0.0], self.weights * self.values**k]))[i]

    def expect(self, fn, lo=0.0, hi=math.inf, points=(), what=None, atol=0.0):
        keep = (self.values > lo) & (self.values <= hi)
        vals = np.array([fn(v) for v in self.values[keep]], float)
        return float(np.dot(self.weights[keep], vals)), 0.0

    def sample(self, rng, n):
        return rng.choice(self.values, size=n, p=self.weights)


class Deterministic(Empirical):
    """Every job has the same size ``value``."""

    value = Param(positive)

    def __init__(self, value):
        self.value = value
        super().__init__([value])

    def __repr__(self):
        return f"Deterministic({self.value!r})"


class ScipyLaw(SizeLaw):
    """A frozen ``scipy.stats`` continuous distribution used as a size law."""

    def __init__(self, frozen):
        from scipy import stats
        if not hasattr(frozen.dist, "pdf") or isinstance(frozen.dist, stats.rv_discrete):
            raise ParameterError(f"size = {frozen!r} is invalid: only continuous scipy.stats "
                                 "distributions are size laws; use qt.Empirical for discrete sizes.")
        lo, hi = frozen.support()
        if not lo <= hi or lo == math.inf:    # scipy's (nan, nan) for invalid parameters
            call = ", ".join([*map(repr, frozen.args),
                              *(f"{k}={v!r}" for k, v in frozen.kwds.items())])
            raise ParameterError(f"size = scipy.stats.{frozen.dist.name}({call}) has invalid "
                                 f"parameters (scipy.stats gives support [{lo}, {hi}]): "
                                 "shapes and scale must lie in the law's domain (scale > 0) "
                                 "and loc must be finite.")
        if lo < 0:
            raise ParameterError(f"size = {frozen.dist.name}{frozen.args} has support starting at "
                                 f"{lo} < 0; sizes must be >= 0 (shift it with loc, or use a "
                                 "law on [0, inf)).")
        self.frozen = frozen
        self.support = (float(lo), float(hi))
        self._moments = {}

    def __repr__(self):
        kw = ", ".join(f"{k}={v}" for k, v in self.frozen.kwds.items())
        args = ", ".join([*map(str, self.frozen.args), kw]).strip(", ")
        return f"scipy.stats.{self.frozen.dist.name}({args})"

    @property
    def scale(self):
        return float(self.frozen.median())

    def pdf(self, x):
        # an infinite density at a point (weibull_min(c < 1) at its loc) is set to 0: one
        # point carries no mass, and quadrature nodes that round onto it gave inf
        with np.errstate(divide="ignore"):
            f = np.asarray(self.frozen.pdf(x), float)
        return np.where(np.isinf(f), 0.0, f)

    def cdf(self, x):
        return self.frozen.cdf(x)

    def sf(self, x):
        return self.frozen.sf(x)

    def moment(self, k):
        # scipy's generic moments can be silently wrong for heavy tails (its pareto(1.5)
        # gives E[X^2] = -3), so divergence is decided from the tail and finite moments
        # are integrated here, with an error check
        if k not in self._moments:
            if self._tail_index() <= k:
                self._moments[k] = math.inf
            else:
                self._moments[k] = self._finite_moment(k)
        return self._moments[k]

    def _finite_moment(self, k):
        """E[X^k] below the tail index: quadrature up to the 1 - 1e-12 quantile b plus the
        regularly varying tail b^k P(X > b) alpha / (alpha - k) (QUADPACK's own estimate
        is unreliable on tails this slow); scipy's value, exact for most laws, when it
        agrees within that tail's uncertainty."""
        if k in (1, 2):  # scipy's stats() is analytic for more laws than its moment()
            mean, var = (float(v) for v in self.frozen.stats("mv"))
            exact = mean if k == 1 else var + mean * mean
        else:
            exact = float(self.frozen.moment(k))
        if exact == math.inf:
            # scipy's analytic value overflows (lognorm(s = 1e300): exp(s^2 / 2)); the
            # truncated integral below would report the body, 5e7, as the mean
            return math.inf
        if math.isfinite(self.support[1]):
            m = self.expect(lambda x: x**k, what=f"E[X^{k}] of {self!r}")[0]
            return exact if abs(exact - m) <= 1e-9 * abs(m) else m
        if not self.split_points:
            raise ParameterError(f"size = {self!r}: its mass sits where double precision "
                                 "cannot resolve it (no quantile between 1e-24 and 1e8 of "
                                 f"its scale {self.scale:.3g} is finite and distinct): "
                                 "measure sizes in another unit, or choose parameters of "
                                 "moderate size.")
        b = self.split_points[-1]
        body = self.expect(lambda x: x**k, hi=b, what=f"E[X^{k}] of {self!r}")[0]
        alpha = self._tail_index()
        tail = b**k * float(self.sf(b)) * (alpha / (alpha - k) if math.isfinite(alpha) else 1.0)
        m = body + tail
        return exact if abs(exact - m) <= 0.5 * tail + 1e-9 * m else m

    def _tail_index(self):
        """The local tail index -d log P(X > x) / d log x far out (inf for bounded laws):
        the moments of order >= it are infinite for regularly varying tails."""
        if math.isfinite(self.support[1]):
            return math.inf
        x1, x2 = (float(self.frozen.isf(p)) for p in (1e-14, 1e-16))
        if not (math.isfinite(x2) and x2 > x1 > 0):
            return math.inf
        return math.log(1e2) / math.log(x2 / x1)

    def sample(self, rng, n):
        return self.frozen.rvs(size=n, random_state=rng)
