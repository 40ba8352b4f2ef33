"""Size laws as exact sympy expressions: density, tail and partial moments E[X^k 1{X <= t}]
in closed form for each catalogue law (and any scipy law with a closed form), for the
symbolic method."""

import sympy
from sympy import Add, S, exp, expand_func, gamma, log, lowergamma, oo, sqrt, uppergamma

from ..core.errors import PolicyError
from ..core.exact import INSIDE, U_VAR, X_VAR, exact, integrate_exact
from ..laws import sizes as D


class _Law:
    """A size law in sympy: density ``pdf(t)``, survival ``sf(t)``, partial moments
    ``pm(k, t)`` = E[X^k 1{X <= t}] for t inside the support, exact moments."""

    discrete = False

    def __init__(self, lo, hi):
        self.lo, self.hi = sympy.sympify(lo), sympy.sympify(hi)

    def pdf(self, t):
        raise NotImplementedError

    def pm(self, k, t):
        return integrate_exact(U_VAR**k * self.pdf(U_VAR), U_VAR, self.lo, t)

    def sf(self, t):
        return 1 - self.pm(0, t)

    #: The rate μ when the law is Exp(μ) (where busy periods have closed forms).
    exponential_rate = None

    def transform(self, s):
        """E[e^{-sX}]: an unevaluated integral of the density unless a law has it closed."""
        return sympy.Integral(exp(-s * X_VAR) * self.pdf(X_VAR), (X_VAR, self.lo, self.hi))

    def moment(self, k):
        return sympy.simplify(self.pm(k, self.hi)) if self.hi != oo else \
            integrate_exact(U_VAR**k * self.pdf(U_VAR), U_VAR, self.lo, oo)

    def expect(self, fn, lo=None, hi=None):
        """E[fn(X) 1{lo < X <= hi}] (limits clipped to the support)."""
        a = self.lo if lo is None else sympy.Max(self.lo, lo)
        b = self.hi if hi is None else sympy.Min(self.hi, hi)
        if lo is not None or hi is not None:
            b = sympy.Max(a, b)  # an empty range, not a negative integral
        return integrate_exact(fn(X_VAR) * self.pdf(X_VAR), X_VAR, a, b)

    # values at an arbitrary point t (clipped to the support)
    def pm_at(self, k, t, strict=False):
        t = sympy.sympify(t)
        if t.is_number:
            if (t <= self.lo) == S.true:
                return S.Zero
            if (t >= self.hi) == S.true:
                return self.moment(k)
            return self.pm(k, t)
        return self.pm(k, t) if t in INSIDE else self.pm_pw(k, t)

    def sf_pw(self, t):
        """P(X > t) for any t >= 0 (piecewise for a bounded support)."""
        pieces = []
        if self.lo != 0:
            pieces.append((S.One, t <= self.lo))
        if self.hi != oo:
            pieces.append((self.sf(t), t < self.hi))
            pieces.append((S.Zero, True))
        else:
            pieces.append((self.sf(t), True))
        return sympy.Piecewise(*pieces) if len(pieces) > 1 else pieces[0][0]

    def pm_pw(self, k, t):
        """E[X^k 1{X <= t}] for any t >= 0 (piecewise for a bounded support)."""
        pieces = []
        if self.lo != 0:
            pieces.append((S.Zero, t <= self.lo))
        if self.hi != oo:
            pieces.append((self.pm(k, t), t < self.hi))
            pieces.append((self.moment(k), True))
        else:
            pieces.append((self.pm(k, t), True))
        return sympy.Piecewise(*pieces) if len(pieces) > 1 else pieces[0][0]

    def sf_at(self, t):
        t = sympy.sympify(t)
        if t.is_number:
            if (t <= self.lo) == S.true:
                return S.One
            if (t >= self.hi) == S.true:
                return S.Zero
            return self.sf(t)
        return self.sf(t) if t in INSIDE else self.sf_pw(t)


class _ExpMixture(_Law):
    """Mixture of Erlang(k_i, rate_i) laws with weights w_i (Exponential: one phase)."""

    def __init__(self, weights, shapes, rates):
        super().__init__(0, oo)
        self.parts = list(zip(weights, shapes, rates))

    def pdf(self, t):
        return Add(*[w * r**n * t ** (n - 1) * exp(-r * t) / sympy.factorial(n - 1)
                     for w, n, r in self.parts])

    def pm(self, k, t):
        # E[X^k 1{X<=t}] for Erlang(n, r) = (n+k-1)!/((n-1)! r^k) P(Erlang(n+k, r) <= t)
        out = S.Zero
        for w, n, r in self.parts:
            m = n + k
            cdf = 1 - exp(-r * t) * Add(*[(r * t) ** j / sympy.factorial(j) for j in range(m)])
            out += w * sympy.factorial(m - 1) / (sympy.factorial(n - 1) * r**k) * cdf
        return out

    def sf(self, t):
        return Add(*[w * exp(-r * t) * Add(*[(r * t) ** j / sympy.factorial(j)
                                             for j in range(n)]) for w, n, r in self.parts])

    def moment(self, k):
        return Add(*[w * sympy.factorial(n + k - 1) / (sympy.factorial(n - 1) * r**k)
                     for w, n, r in self.parts])

    def transform(self, s):
        return Add(*[w * (r / (r + s)) ** n for w, n, r in self.parts])

    @property
    def exponential_rate(self):
        (w, n, r), *rest = self.parts
        return r if not rest and n == 1 else None


class _GammaLaw(_Law):
    """Erlang(k, rate) with a symbolic number of phases k (a Gamma law)."""

    def __init__(self, k, rate):
        super().__init__(0, oo)
        self.k, self.r = k, rate

    def pdf(self, t):
        return self.r**self.k * t ** (self.k - 1) * exp(-self.r * t) / gamma(self.k)

    def pm(self, j, t):
        return lowergamma(self.k + j, self.r * t) / (gamma(self.k) * self.r**j)

    def sf(self, t):
        return uppergamma(self.k, self.r * t) / gamma(self.k)

    def moment(self, j):
        return sympy.rf(self.k, j) / self.r**j


class _UniformLaw(_Law):
    def __init__(self, a, b):
        super().__init__(a, b)

    def pdf(self, t):
        return 1 / (self.hi - self.lo)

    def pm(self, k, t):
        return (t ** (k + 1) - self.lo ** (k + 1)) / ((k + 1) * (self.hi - self.lo))

    def sf(self, t):
        return (self.hi - t) / (self.hi - self.lo)

    def moment(self, k):
        return self.pm(k, self.hi)

    def transform(self, s):
        return (exp(-s * self.lo) - exp(-s * self.hi)) / (s * (self.hi - self.lo))


class _WeibullLaw(_Law):
    def __init__(self, c, s):
        super().__init__(0, oo)
        self.c, self.s = c, s

    def pdf(self, t):
        c, s = self.c, self.s
        return c / s * (t / s) ** (c - 1) * exp(-(t / s) ** c)

    def pm(self, k, t):
        g = lowergamma(1 + k / self.c, (t / self.s) ** self.c)
        return self.s**k * (expand_func(g) if (1 + k / self.c).is_Integer else g)

    def sf(self, t):
        return exp(-(t / self.s) ** self.c)

    def moment(self, k):
        return self.s**k * gamma(1 + k / self.c)


def normal_cdf(z):
    return (1 + sympy.erf(z / sqrt(2))) / 2


class _LognormalLaw(_Law):
    def __init__(self, mu, sigma):
        super().__init__(0, oo)
        self.mu, self.sigma = mu, sigma

    def pdf(self, t):
        return exp(-(log(t) - self.mu) ** 2 / (2 * self.sigma**2)) / (t * self.sigma * sqrt(2 * sympy.pi))

    def pm(self, k, t):
        return self.moment(k) * normal_cdf((log(t) - self.mu - k * self.sigma**2) / self.sigma)

    def sf(self, t):
        return normal_cdf((self.mu - log(t)) / self.sigma)

    def moment(self, k):
        return exp(k * self.mu + k**2 * self.sigma**2 / 2)


class _BoundedParetoLaw(_Law):
    def __init__(self, alpha, a, b):
        super().__init__(a, b)
        self.alpha = alpha
        self.C = alpha * a**alpha / (1 - (a / b) ** alpha)

    def pdf(self, t):
        return self.C * t ** (-self.alpha - 1)

    def pm(self, k, t):
        if (self.alpha - k) == 0:
            return self.C * log(t / self.lo)
        return self.C * (t ** (k - self.alpha) - self.lo ** (k - self.alpha)) / (k - self.alpha)

    def sf(self, t):
        return self.C / self.alpha * (t ** (-self.alpha) - self.hi ** (-self.alpha))

    def moment(self, k):
        return self.pm(k, self.hi)


class DensityLaw(_Law):
    """Any density on [lo, hi] (a sympy.stats random variable)."""

    def __init__(self, density, var, lo, hi):
        super().__init__(lo, hi)
        self._f, self._v = density, var

    def pdf(self, t):
        return self._f.subs(self._v, t)


class _DiscreteLaw(_Law):
    """Atoms ``values`` with probabilities ``weights``; sums instead of integrals."""

    discrete = True

    def __init__(self, values, weights):
        super().__init__(min(values, key=float) if all(sympy.sympify(v).is_number for v in values)
                         else values[0], values[-1])
        self.values, self.weights = list(values), list(weights)

    def transform(self, s):
        return Add(*[w * exp(-s * v) for v, w in zip(self.values, self.weights)])

    def pdf(self, t):
        raise PolicyError("a discrete size law has no density")

    def expect(self, fn, lo=None, hi=None):
        out = S.Zero
        for v, w in zip(self.values, self.weights):
            ind = S.One
            if lo is not None:
                ind *= sympy.Piecewise((1, v > lo), (0, True))
            if hi is not None:
                ind *= sympy.Piecewise((1, v <= hi), (0, True))
            out += w * fn(v) * ind
        return out

    def pm_at(self, k, t, strict=False):
        t = sympy.sympify(t)
        out = S.Zero
        for v, w in zip(self.values, self.weights):
            cond = (v < t) if strict else (v <= t)
            if cond in (S.true, S.false):
                out += w * v**k if cond == S.true else 0
            else:
                out += w * v**k * sympy.Piecewise((1, cond), (0, True))
        return out

    pm = pm_at

    def sf_at(self, t):
        return 1 - self.pm_at(0, t)

    sf = sf_at

    def moment(self, k):
        return Add(*[w * v**k for v, w in zip(self.values, self.weights)])


def exact_law(size):
    """The sympy twin of a qtheory size law."""
    if getattr(size, "exact_form", None) is not None:   # a law that carries its sympy twin
        return size.exact_form
    if isinstance(size, D.Deterministic):
        return _DiscreteLaw([exact(size.value, "value")], [S.One])
    if isinstance(size, D.Empirical):
        return _DiscreteLaw([exact(v, "values") for v in size.values],
                            [exact(w, "weights") for w in size.weights])
    if isinstance(size, D.Exponential):
        return _ExpMixture([S.One], [1], [exact(size.rate, "rate")])
    if isinstance(size, D.Erlang):
        if isinstance(size.k, sympy.Basic) and not size.k.is_Integer:
            return _GammaLaw(size.k, exact(size.rate, "rate"))
        return _ExpMixture([S.One], [int(size.k)], [exact(size.rate, "rate")])
    if isinstance(size, D.Hyperexponential):
        ws = [exact(p, "probs") for p in size.probs]
        if sum(ws) != 1:  # probabilities read from doubles: renormalise exactly
            ws = [w / sum(ws) for w in ws]
        return _ExpMixture(ws, [1] * len(ws), [exact(r, "rates") for r in size.rates])
    if isinstance(size, D.Uniform):
        return _UniformLaw(exact(size.low, "low"), exact(size.high, "high"))
    if isinstance(size, D.Weibull):
        return _WeibullLaw(exact(size.shape, "shape"), exact(size.scale_, "scale"))
    if isinstance(size, D.Lognormal):
        return _LognormalLaw(exact(size.mu, "mu"), exact(size.sigma, "sigma"))
    if isinstance(size, D.BoundedPareto):
        return _BoundedParetoLaw(exact(size.alpha, "alpha"), exact(size.low, "low"),
                                 exact(size.high, "high"))
    if isinstance(size, D.ScipyLaw):
        return _scipy_law(size.frozen)
    raise PolicyError(f"size = {size!r} has no symbolic form: use a qtheory law "
                      "(Exponential, Erlang, Hyperexponential, Uniform, Weibull, Lognormal, "
                      "BoundedPareto, Empirical), a sympy.stats random variable, or "
                      "method='formula'.")


def _scipy_law(frozen):
    name = frozen.dist.name
    args, kw = frozen.args, dict(frozen.kwds)
    shapes = [s.strip() for s in (frozen.dist.shapes or "").split(",") if s.strip()]
    vals = dict(zip(shapes + ["loc", "scale"], args))
    vals.update(kw)
    loc, scale = exact(vals.get("loc", 0), "loc"), exact(vals.get("scale", 1), "scale")
    if loc != 0:
        raise PolicyError(f"size = scipy.stats.{name} with loc = {loc} has no symbolic form "
                          "here; use loc = 0 or method='formula'.")
    if name == "expon":
        return _ExpMixture([S.One], [1], [1 / scale])
    if name in ("gamma", "erlang") and float(vals["a"]).is_integer():
        return _ExpMixture([S.One], [int(vals["a"])], [1 / scale])
    if name == "weibull_min":
        return _WeibullLaw(exact(vals["c"], "c"), scale)
    if name == "lognorm":
        return _LognormalLaw(log(scale), exact(vals["s"], "s"))
    if name == "uniform":
        return _UniformLaw(S.Zero, scale)
    raise PolicyError(f"size = scipy.stats.{name} has no symbolic form: use a qtheory law "
                      "or a sympy.stats random variable, or method='formula'.")
