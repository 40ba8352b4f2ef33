"""Exact mean response times as sympy expressions (``method="symbolic"``).

Every closed form of MATH.md sections 1, 2, 4 and 6 (Trail, SkipPredict) is derived here
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
>>> sympy.simplify(q.mean_response_time(qt.FCFS, method="symbolic"))
-1/(lambda - mu)
>>> q.mean_response_time(qt.PS, method="symbolic")
1/(mu*(-lambda/mu + 1))
"""

import math
import numbers
from fractions import Fraction
from functools import lru_cache

import mpmath
import numpy as np
import sympy
from sympy import (Add, Integral, Mul, Rational, S, besselk, exp, expand_func, gamma, log,
                   lowergamma, oo, sqrt, uppergamma)

from ..laws import sizes as D
from ..policies import catalogue as P
from ..laws import predictions as PR
from ..core.errors import ParameterError, PolicyError
from ..policies.catalogue import as_policy

__all__ = ["symbolic_mean_response_time", "symbolic_response_time", "size_law_from_sympy",
           "SympyLaw", "evaluate", "latex", "light_traffic", "heavy_traffic",
           "symbolic_optimal_threshold", "reference_mean_response_time", "bessel_integral",
           "exact"]

# Bound (integration) variables. Plain positive symbols so results print and compare
# reproducibly; they are always bound by an Integral or substituted.
_X = sympy.Symbol("x", positive=True)
_Y = sympy.Symbol("y", positive=True)
_Z = sympy.Symbol("z", positive=True)
_U = sympy.Symbol("u", positive=True)
# the derivations integrate _X and _Y over the support only: no case split needed there
_INSIDE = (_X, _Y)


# ---------------------------------------------------------------------------------------
# numbers
# ---------------------------------------------------------------------------------------
def exact(value, name="value"):
    """A parameter as an exact sympy number (or the sympy expression itself).

    Examples
    --------
    >>> exact(0.8), exact(1 / 3), exact(0.1234567), exact(2)
    (4/5, 1/3, 1234567/10000000, 2)
    >>> exact(float("nan"), "rate")
    Traceback (most recent call last):
    ...
    qtheory.core.errors.ParameterError: rate = nan is invalid: a symbolic result needs a finite number or a sympy expression.
    """
    if isinstance(value, sympy.Basic):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.number)):
        raise ParameterError(f"{name} = {value!r} is invalid: a symbolic result needs a "
                             "finite number or a sympy expression.")
    if isinstance(value, (numbers.Integral, np.integer)):
        return sympy.Integer(int(value))
    v = float(value)
    if v == math.inf:
        return oo
    if not math.isfinite(v):
        raise ParameterError(f"{name} = {value!r} is invalid: a symbolic result needs a "
                             "finite number or a sympy expression.")
    simple = Fraction(v).limit_denominator(10**6)
    if float(simple) == v:
        return Rational(simple.numerator, simple.denominator)
    return Rational(repr(v))


def _positive_part(e):
    return sympy.Max(e, 0)


# ---------------------------------------------------------------------------------------
# integration: closed forms for x^p exp(-a x - b/x), else an unevaluated Integral
# ---------------------------------------------------------------------------------------
def bessel_integral(nu, a, b):
    """int_0^inf x^(nu-1) exp(-a x - b/x) dx = 2 (b/a)^(nu/2) K_nu(2 sqrt(a b)), a, b > 0
    (Gradshteyn & Ryzhik 3.471.9; MATH.md section 2).

    Examples
    --------
    >>> import sympy
    >>> y = sympy.Symbol("y", positive=True)
    >>> bessel_integral(0, 1, y)          # f_Y(y) for ExpNoise and Exp(1) sizes
    2*besselk(0, 2*sqrt(y))
    >>> x = sympy.Symbol("x", positive=True)
    >>> v = bessel_integral(sympy.Rational(5, 2), 3, 2).evalf(30)
    >>> i = sympy.Integral(x**sympy.Rational(3, 2) * sympy.exp(-3*x - 2/x), (x, 0, sympy.oo))
    >>> abs(v - i.evalf(30)) < 1e-28
    True
    """
    nu, a, b = map(sympy.sympify, (nu, a, b))
    return 2 * (b / a) ** (nu / 2) * besselk(sympy.Abs(nu) if nu.is_number else nu,
                                                2 * sqrt(a * b))


def _match_power_exp(term, v):
    """Write ``term`` = c * v^p * exp(e0 - a v - b/v) with c, p, a, b, e0 free of v;
    return (c * exp(e0), p, a, b) or None."""
    coeff, dep = term.as_independent(v, as_Add=False)
    p, expo = S.Zero, S.Zero
    for f in Mul.make_args(dep):
        if f == v:
            p += 1
        elif f.is_Pow and f.base == v and not f.exp.has(v):
            p += f.exp
        elif isinstance(f, exp):
            expo += f.args[0]
        elif f.is_Pow and isinstance(f.base, exp) and not f.exp.has(v):
            expo += f.base.args[0] * f.exp
        elif f.is_Pow and f.base == S.Exp1:
            expo += f.exp
        else:
            return None
    a = b = e0 = S.Zero
    for t in Add.make_args(sympy.expand(expo)):
        if t == 0:
            continue
        ind, d = t.as_independent(v, as_Add=False)
        if d == 1:
            e0 += t
        elif d == v:
            a -= ind
        elif d == 1 / v:
            b -= ind
        else:
            return None
    return coeff * exp(e0), p, a, b


def _gamma_piece(p, a, lo, hi):
    """int_lo^hi v^p exp(-a v) dv for a > 0 (or a = 0), lo >= 0."""
    if a == 0:
        if p == -1:
            return log(hi) - log(lo) if hi != oo else None
        if hi == oo:
            return None
        return (hi ** (p + 1) - lo ** (p + 1)) / (p + 1)
    if a.is_positive is False or (p + 1).is_positive is False and lo == 0:
        return None
    if lo == 0 and hi == oo:
        return gamma(p + 1) / a ** (p + 1)
    upper = uppergamma(p + 1, a * lo) if lo != 0 else gamma(p + 1)
    lower_tail = uppergamma(p + 1, a * hi) if hi != oo else S.Zero
    out = (upper - lower_tail) / a ** (p + 1)
    return expand_func(out) if (p.is_integer and p.is_nonnegative) else out


def _integrate_term(term, v, lo, hi):
    m = _match_power_exp(term, v)
    if m is None:
        return None
    c, p, a, b = m
    if b == 0:
        r = _gamma_piece(p, a, lo, hi)
    elif lo == 0 and hi == oo and a.is_positive and b.is_negative is not True:
        r = bessel_integral(p + 1, a, b)
    else:
        r = None
    return None if r is None else c * r


def _integrate(expr, v, lo, hi):
    """int_lo^hi expr dv: term by term in closed form where the term is
    c v^p exp(-a v - b/v), the rest as one unevaluated Integral."""
    lo, hi = sympy.sympify(lo), sympy.sympify(hi)
    if lo == hi:
        return S.Zero
    if not expr.has(v):
        return expr * (hi - lo)
    if _exp_class(expr, v):
        done, rest = [], []
        for term in Add.make_args(sympy.expand(expr)):
            r = _integrate_term(term, v, lo, hi)
            if r is None:
                rest.append(term)
            else:
                done.append(r)
        out = Add(*done)
        if rest:
            out += Integral(Add(*rest), (v, lo, hi))
        return out
    coeff, dep = expr.as_independent(v, as_Add=False)
    return coeff * Integral(dep, (v, lo, hi))


def _exp_class(expr, v):
    """True when expr is built from +, *, integer powers of sums, powers of v and exp of
    such, with v in no other denominator (so expanding it is safe and short)."""
    if not expr.has(v):
        return True
    if expr == v:
        return True
    if expr.is_Add or expr.is_Mul:
        return all(_exp_class(a, v) for a in expr.args)
    if expr.is_Pow:
        if expr.base == v:
            return not expr.exp.has(v)
        if expr.exp.has(v):
            return expr.base == S.Exp1 and _exp_class(expr.exp, v)
        return expr.exp.is_Integer and expr.exp > 0 and _exp_class(expr.base, v)
    if isinstance(expr, exp):
        return _exp_class(expr.args[0], v)
    return False


# ---------------------------------------------------------------------------------------
# size laws as sympy
# ---------------------------------------------------------------------------------------
class _Law:
    """A size law in sympy: density ``pdf(t)``, survival ``sf(t)``, partial moments
    ``pm(k, t)`` = E[X^k 1{X <= t}] for t inside the support, exact moments."""

    discrete = False

    def __init__(self, lo, hi):
        self.lo, self.hi = sympy.sympify(lo), sympy.sympify(hi)

    def pdf(self, t):
        raise NotImplementedError

    def pm(self, k, t):
        return _integrate(_U**k * self.pdf(_U), _U, self.lo, t)

    def sf(self, t):
        return 1 - self.pm(0, t)

    def moment(self, k):
        return sympy.simplify(self.pm(k, self.hi)) if self.hi != oo else \
            _integrate(_U**k * self.pdf(_U), _U, self.lo, oo)

    def expect(self, fn, lo=None, hi=None):
        """E[fn(X) 1{lo < X <= hi}] (limits clipped to the support)."""
        a = self.lo if lo is None else sympy.Max(self.lo, lo)
        b = self.hi if hi is None else sympy.Min(self.hi, hi)
        if lo is not None or hi is not None:
            b = sympy.Max(a, b)  # an empty range, not a negative integral
        return _integrate(fn(_X) * self.pdf(_X), _X, a, b)

    # values at an arbitrary point t (clipped to the support)
    def pm_at(self, k, t, strict=False):
        t = sympy.sympify(t)
        if t.is_number:
            if (t <= self.lo) == S.true:
                return S.Zero
            if (t >= self.hi) == S.true:
                return self.moment(k)
            return self.pm(k, t)
        return self.pm(k, t) if t in _INSIDE else self.pm_pw(k, t)

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
        return self.sf(t) if t in _INSIDE else self.sf_pw(t)


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


def _Phi(z):
    return (1 + sympy.erf(z / sqrt(2))) / 2


class _LognormalLaw(_Law):
    def __init__(self, mu, sigma):
        super().__init__(0, oo)
        self.mu, self.sigma = mu, sigma

    def pdf(self, t):
        return exp(-(log(t) - self.mu) ** 2 / (2 * self.sigma**2)) / (t * self.sigma * sqrt(2 * sympy.pi))

    def pm(self, k, t):
        return self.moment(k) * _Phi((log(t) - self.mu - k * self.sigma**2) / self.sigma)

    def sf(self, t):
        return _Phi((self.mu - log(t)) / self.sigma)

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


class _DensityLaw(_Law):
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


def _law(size):
    """The sympy twin of a qtheory size law."""
    if isinstance(size, SympyLaw):
        return size._law
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


# ---------------------------------------------------------------------------------------
# sympy.stats random variables as size laws
# ---------------------------------------------------------------------------------------
class SympyLaw(D.SizeLaw):
    """A ``sympy.stats`` continuous random variable used as a size law.

    Works numerically (pdf, cdf and sampler through lambdify, moments exact) and
    symbolically (its density feeds :func:`symbolic_mean_response_time`).

    Examples
    --------
    >>> import sympy.stats as ss, qtheory as qt
    >>> X = size_law_from_sympy(ss.Gamma("X", 2, sympy.Rational(1, 2)))
    >>> X.mean, float(X.cdf(1.0)) == float(1 - 3 * sympy.exp(-2))
    (1.0, True)
    >>> round(float(qt.MG1(0.5, X).mean_response_time(qt.FCFS)), 12)   # 1 + 0.5*1.5/(2*0.5)
    1.75
    """

    def __init__(self, rv):
        from sympy.stats.rv import RandomSymbol
        if not isinstance(rv, RandomSymbol) or not rv.pspace.is_Continuous:
            raise ParameterError(f"size = {rv!r} is invalid: pass a continuous sympy.stats "
                                 "random variable such as sympy.stats.Exponential('X', 1).")
        dom = rv.pspace.domain.set
        lo, hi = dom.inf, dom.sup
        if (lo < 0) == S.true:
            raise ParameterError(f"size = {rv} has support starting at {lo} < 0; sizes must "
                                 "be >= 0 (use a law on [0, oo)).")
        t = sympy.Symbol("t", positive=True)
        dens = sympy.expand_func(sympy.stats.density(rv)(t))
        self._holder = {"rv": rv, "t": t, "density": dens}
        self.params = sympy.Tuple(*sorted(dens.free_symbols - {t}, key=str))
        self._law = _law_from_density(rv, dens, t, lo, hi)
        self.support = (float(lo), float(hi)) if not self.params else (0.0, math.inf)
        self._np = {}

    @property
    def rv(self):
        """The sympy.stats random variable."""
        return self._holder["rv"]

    def __repr__(self):
        return f"SympyLaw({self.rv.pspace.distribution})"

    def _numeric(self, what):
        if self.params:
            raise ParameterError(f"{self!r} has symbolic parameters {tuple(self.params)}: "
                                 f"substitute numbers before asking for its {what}, or use "
                                 "method='symbolic'.")
        if what not in self._np:
            t = self._holder["t"]
            if what.startswith("pm"):
                expr = self._law.pm(int(what[2:]), t)
            else:
                expr = {"pdf": lambda: self._law.pdf(t),
                        "cdf": lambda: 1 - self._law.sf(t)}[what]()
            if expr.has(Integral):
                self._np[what] = None
                return None
            fn = sympy.lambdify(t, expr, modules=["scipy", "numpy"])
            lo, hi = self.support
            self._np[what] = lambda x, fn=fn, lo=lo, hi=hi, w=what: _clip_eval(fn, x, lo, hi, w)
        return self._np[what]

    def pdf(self, x):
        return self._numeric("pdf")(x)

    def cdf(self, x):
        fn = self._numeric("cdf")
        if fn is None:
            x = np.asarray(x, float)
            return np.vectorize(lambda v: super(SympyLaw, self).partial_moment(0, v))(x)
        return fn(x)

    def partial_moment(self, k, x, strict=False):
        fn = self._numeric(f"pm{k}") if k in (0, 1, 2) else None
        if fn is None:
            return super().partial_moment(k, x, strict)
        return fn(x)

    def moment(self, k):
        m = self._law.moment(k)
        if self.params:
            return m
        m = sympy.N(m, 20)
        return float(m) if m.is_finite else math.inf

    @property
    def scale(self):
        m = self.moment(1)
        return m if math.isfinite(m) and m > 0 else 1.0

    def sample(self, rng, n):
        self._numeric("cdf")
        return np.asarray(sympy.stats.sample(self.rv, size=n, seed=rng), float)


def _clip_eval(fn, x, lo, hi, what):
    """Evaluate a lambdified pdf, cdf or partial moment, with its value outside the
    support (0 below; above: 0 for the pdf, the full value otherwise)."""
    x = np.asarray(x, float)
    inside = (x >= lo) & (x <= hi)
    safe = lo if lo > 0 else (hi / 2 if math.isfinite(hi) else 1.0)
    with np.errstate(all="ignore"):
        v = np.broadcast_to(np.asarray(fn(np.where(inside, x, safe)), float), x.shape)
        top = 0.0 if what == "pdf" or not math.isfinite(hi) else float(fn(hi))
    return np.where(inside, v, np.where(x < lo, 0.0, top)) * 1.0


def _law_from_density(rv, dens, t, lo, hi):
    dist = rv.pspace.distribution
    name = type(dist).__name__
    a = dist.args
    if name == "ExponentialDistribution":
        return _ExpMixture([S.One], [1], [a[0]])
    if name == "GammaDistribution" and a[0].is_Integer:
        return _ExpMixture([S.One], [int(a[0])], [1 / a[1]])
    if name == "ErlangDistribution" and a[0].is_Integer:
        return _ExpMixture([S.One], [int(a[0])], [a[1]])
    if name == "WeibullDistribution":
        return _WeibullLaw(a[1], a[0])
    if name == "LogNormalDistribution":
        return _LognormalLaw(a[0], a[1])
    if name == "UniformDistribution":
        return _UniformLaw(a[0], a[1])
    return _DensityLaw(dens, t, lo, hi)


def size_law_from_sympy(rv):
    """Wrap a sympy.stats continuous random variable as a qtheory size law.

    Examples
    --------
    >>> import sympy, sympy.stats as ss, qtheory as qt
    >>> mu = sympy.Symbol("mu", positive=True)
    >>> q = qt.MG1(sympy.Rational(1, 2), ss.Exponential("X", mu))
    >>> sympy.simplify(q.mean_response_time(qt.FCFS))      # auto -> symbolic
    2/(2*mu - 1)
    """
    return SympyLaw(rv)


# ---------------------------------------------------------------------------------------
# the joint law of (X, Y)
# ---------------------------------------------------------------------------------------
class _Noise:
    """Conditional law of Y given X = x: cdf H, density h, partial moments
    CM(k, x, a, b) = int_a^b u^k h(u|x) du (a <= b)."""

    def H(self, u, x):
        raise NotImplementedError

    def h(self, u, x):
        raise NotImplementedError

    def CM(self, k, x, a, b):
        return _integrate(_U**k * self.h(_U, x), _U, a, b)


class _ExpNoise(_Noise):
    def H(self, u, x):
        return 1 - exp(-u / x)

    def h(self, u, x):
        return exp(-u / x) / x

    def CM(self, k, x, a, b):
        # int u^k e^{-u/x}/x du = -e^{-u/x} sum_j k!/j! u^j x^(k-j)
        def F(u):
            if u == oo:
                return S.Zero
            return -exp(-u / x) * Add(*[sympy.factorial(k) / sympy.factorial(j) * u**j
                                        * x ** (k - j) for j in range(k + 1)])
        return F(b) - F(a)


class _LognormalNoise(_Noise):
    def __init__(self, sigma):
        self.sigma = sigma

    def H(self, u, x):
        return _Phi(log(u / x) / self.sigma)

    def h(self, u, x):
        s = self.sigma
        return exp(-log(u / x) ** 2 / (2 * s**2)) / (s * u * sqrt(2 * sympy.pi))

    def CM(self, k, x, a, b):
        s = self.sigma

        def F(u):
            if u == oo:
                return S.One
            if u == 0:
                return S.Zero
            return _Phi(log(u / x) / s - k * s)
        return x**k * exp(k**2 * s**2 / 2) * (F(b) - F(a))


class _UniformNoise(_Noise):
    def __init__(self, alpha):
        self.alpha = alpha

    def _clip(self, u, x):
        return sympy.Min(sympy.Max(u, (1 - self.alpha) * x), (1 + self.alpha) * x)

    def H(self, u, x):
        return (self._clip(u, x) - (1 - self.alpha) * x) / (2 * self.alpha * x)

    def h(self, u, x):
        a = self.alpha
        return sympy.Piecewise((1 / (2 * a * x), (u >= (1 - a) * x) & (u <= (1 + a) * x)),
                               (0, True))

    def CM(self, k, x, a, b):
        A, B = self._clip(a, x), self._clip(b, x) if b != oo else (1 + self.alpha) * x
        return (B ** (k + 1) - A ** (k + 1)) / ((k + 1) * 2 * self.alpha * x)


def _noise(model):
    if isinstance(model, PR.ExpNoise):
        return _ExpNoise()
    if isinstance(model, PR.LognormalNoise):
        return _LognormalNoise(exact(model.sigma, "sigma"))
    if isinstance(model, PR.UniformNoise):
        return _UniformNoise(exact(model.alpha, "alpha"))
    raise PolicyError(f"prediction = {model!r} has no symbolic form: use ExpNoise, "
                      "UniformNoise, LognormalNoise or Perfect, or method='formula'.")


class _Joint:
    """Loads and moments of (X, Y) in sympy (MATH.md notation). With ``noise=None``
    predictions are perfect (Y = X)."""

    def __init__(self, law, noise):
        self.law, self.noise = law, noise
        self.perfect = noise is None

    def below(self, k, y, strict=True):
        """E[X^k 1{Y < y}] (``strict=False``: Y <= y; they differ only at atoms)."""
        if self.perfect:
            return self.law.pm_at(k, y, strict=strict)
        return self.law.expect(lambda x: x**k * self.noise.H(y, x))

    def above(self, y):
        """P(Y > y)."""
        if self.perfect:
            return self.law.sf_at(y)
        return self.law.expect(lambda x: 1 - self.noise.H(y, x))

    def density(self, k, y):
        """d/dy E[X^k 1{Y < y}] (continuous Y)."""
        if self.perfect:
            return y**k * self.law.pdf(y)
        return self.law.expect(lambda x: x**k * self.noise.h(y, x))

    def old_work(self, y, c=S.One):
        """E[((X - min(Y - y, cY))^+)^2 1{Y > y}]: work an earlier job predicted above y
        still gets ahead of a job predicted y (SPRPT for c = 1, Trail(c) otherwise)."""
        if self.perfect:  # Y = X: (max(y, (1 - c) X))^2 on X > y
            if c == 1:
                return y**2 * self.law.sf_at(y)
            if c == 0:
                return self.law.expect(lambda x: x**2, lo=y)
            cut = y / (1 - c)
            return (y**2 * (self.law.sf_at(y) - self.law.sf_pw(cut))
                    + (1 - c) ** 2 * self.law.expect(lambda x: x**2, lo=cut))
        CM = self.noise.CM

        def square(x, a0, b0, lo, hi):  # E[(a0 - b0 Y)^2 1{lo < Y <= hi} | x]
            return (a0**2 * CM(0, x, lo, hi) - 2 * a0 * b0 * CM(1, x, lo, hi)
                    + b0**2 * CM(2, x, lo, hi))
        if c == 1:
            return self.law.expect(lambda x: square(x, x + y, 1, y, x + y))
        if c == 0:
            return self.law.expect(lambda x: x**2 * (1 - self.noise.H(y, x)))
        # below x1 = cy/(1-c): (x + y - Y)^2 on y < Y <= x + y; above: that on
        # y < Y <= y/(1-c), then (x - cY)^2 on y/(1-c) < Y <= x/c
        x1, cut = c * y / (1 - c), y / (1 - c)
        return (self.law.expect(lambda x: square(x, x + y, 1, y, x + y), hi=x1)
                + self.law.expect(lambda x: square(x, x + y, 1, y, cut)
                                  + square(x, x, c, cut, x / c), lo=x1))

    def exceed(self, z, c=S.One):
        """P(Y - min(X, cY) >= z), z > 0: the job is still preemptible with its
        remaining prediction at least z."""
        if self.perfect:
            return S.Zero if c == 1 else self.law.sf_at(z / (1 - c))
        H = self.noise.H
        if c == 1:
            return self.law.expect(lambda x: 1 - H(x + z, x))
        if c == 0:
            return self.above(z)
        x1 = c * z / (1 - c)
        return (self.law.expect(lambda x: 1 - H(x + z, x), hi=x1)
                + self.law.expect(lambda x: 1 - H(z / (1 - c), x), lo=x1))

    def overshoot(self, c=S.One):
        """E[(X - cY)^+]: service received after the last preemptible age."""
        if self.perfect:
            return (1 - c) * self.law.moment(1)
        if c == 0:
            return self.law.moment(1)
        CM = self.noise.CM
        return self.law.expect(lambda x: x * CM(0, x, 0, x / c) - c * CM(1, x, 0, x / c))

    def y_range(self):
        if self.perfect:
            return self.law.lo, self.law.hi
        return S.Zero, oo


# ---------------------------------------------------------------------------------------
# the policies
# ---------------------------------------------------------------------------------------
class _Model:
    """What the derivations read from a queue."""

    def __init__(self, q):
        self.lam = exact(q.arrival_rate, "arrival_rate")
        self.law = _law(q.size)
        pred = q.prediction
        self.bit = pred if isinstance(pred, PR.Threshold) else None
        if pred is None or isinstance(pred, (PR.Perfect, PR.Threshold)):
            self.joint = _Joint(self.law, None)
        else:
            self.joint = _Joint(self.law, _noise(pred))
        self.m1, self.m2 = self.law.moment(1), self.law.moment(2)
        self.rho = self.lam * self.m1
        if self.m2.is_finite is False or self.m2 == oo:
            from ..core.errors import InfiniteMomentError
            raise InfiniteMomentError(f"E[X^2] is infinite for {q.size!r}.")

    def size_joint(self):
        return _Joint(self.law, None)


def _residence_log(m):
    """E[X / (1 - rho'_{Y-})] for continuous Y: the integrand is (1/lambda) d rho'_y /
    (1 - rho'_y), so it equals -log(1 - rho)/lambda (rho'_0 = 0, rho'_oo = rho)."""
    return -log(1 - m.rho) / m.lam


def _mean_prediction_family(m, J, policy):
    """SPJF, PSPJF, SPRPT, Trail (and SJF, PSJF, SRPT with J perfect)."""
    lam, law = m.lam, J.law
    if isinstance(policy, P.PSJF):   # PSJF and PSPJF
        kind = "psjf"
    elif isinstance(policy, P.SJF):  # SJF and SPJF
        kind = "sjf"
    elif isinstance(policy, P.SRPT):
        kind, c = "trail", S.One
    else:
        kind, c = "trail", exact(policy.c, "c")
    if J.perfect and law.discrete:
        return _mean_discrete(m, kind, c if kind == "trail" else None)
    lo, hi = J.y_range()
    y = _Y
    rho_y = lam * J.below(1, y)
    fy = J.density(0, y)
    if kind == "sjf":
        return m.m1 + _integrate(fy * lam * m.m2 / (2 * (1 - rho_y) ** 2), y, lo, hi)
    if kind == "psjf":
        return (_integrate(fy * lam * J.below(2, y) / (2 * (1 - rho_y) ** 2), y, lo, hi)
                + _residence_log(m))
    if c == 0:
        return _mean_prediction_family(m, J, P.SPJF())
    wait = _integrate(fy * lam * (J.below(2, y, strict=False) + J.old_work(y, c))
                      / (2 * (1 - rho_y) ** 2), y, lo, hi)
    # E[int_{Y - min(X, cY)}^Y dz/(1 - rho'_z)] with the order of integration swapped:
    # int_0^oo [P(Y > z) - P(Y - min(X, cY) >= z)] / (1 - rho'_z) dz
    z = _Z
    if not J.perfect:
        rho_z = lam * J.below(1, z)
        res = _integrate((J.above(z) - J.exceed(z, c)) / (1 - rho_z), z, 0, oo)
    elif c == 1:  # rho_z = 0 and P(X > z) = 1 below the support
        res = law.lo + _integrate(law.sf(z) / (1 - lam * law.pm(1, z)), z, law.lo, law.hi)
    else:
        res = _integrate((law.sf_pw(z) - law.sf_pw(z / (1 - c))) / (1 - lam * law.pm_pw(1, z)),
                         z, 0, law.hi)
    return wait + res + J.overshoot(c)


def _mean_discrete(m, kind, c):
    """SJF, PSJF, SRPT, Trail on atoms: (1 - rho_{<x})(1 - rho_{<=x}) in place of
    (1 - rho_x)^2 (MATH.md)."""
    lam, law = m.lam, m.law
    vs, ws = law.values, law.weights
    order = sorted(range(len(vs)), key=lambda i: float(vs[i]))
    vs, ws = [vs[i] for i in order], [ws[i] for i in order]
    cum1 = [S.Zero]
    cum2 = [S.Zero]
    for v, w in zip(vs, ws):
        cum1.append(cum1[-1] + w * v)
        cum2.append(cum2[-1] + w * v**2)
    out = S.Zero
    for i, (v, w) in enumerate(zip(vs, ws)):
        lo, le = lam * cum1[i], lam * cum1[i + 1]
        den = 2 * (1 - lo) * (1 - le)
        if kind == "sjf":
            out += w * (v + lam * m.m2 / den)
        elif kind == "psjf":
            out += w * (v / (1 - lo) + lam * cum2[i + 1] / den)
        else:
            out += w * (lam * (cum2[i + 1] + _discrete_old(vs, ws, v, c)) / den
                        + _discrete_residence(lam, vs, ws, cum1, v, c) + (1 - c) * v)
    return out


def _discrete_old(vs, ws, y, c):
    return Add(*[w * sympy.Max(y, (1 - c) * v) ** 2 for v, w in zip(vs, ws) if (v > y) == S.true])


def _discrete_residence(lam, vs, ws, cum1, x, c):
    """int_{(1-c)x}^{x} dz / (1 - rho_{<z}) with rho piecewise constant between atoms."""
    a, out, prev = (1 - c) * x, S.Zero, S.Zero
    for i, v in enumerate(vs):
        l, r = sympy.Max(prev, a), sympy.Min(v, x)
        if (r > l) == S.true:
            out += (r - l) / (1 - lam * cum1[i])
        prev = v
    return out


def _mean_fb(m):
    law, lam = m.law, m.lam

    def at(x):
        sf = law.sf_at(x) if law.discrete else law.sf(x)
        pm1 = law.pm_at(1, x) if law.discrete else law.pm(1, x)
        pm2 = law.pm_at(2, x) if law.discrete else law.pm(2, x)
        rb = lam * (pm1 + x * sf)
        return lam * (pm2 + x**2 * sf) / (2 * (1 - rb) ** 2) + x / (1 - rb)
    return law.expect(at)


def _class_table(m, J, thresholds):
    """(P_i, E[X; i], E[X^2; i]) for classes split at predicted thresholds (Y < t)."""
    cum = [(S.Zero, S.Zero, S.Zero)]
    for t in thresholds:
        cum.append(tuple(J.below(k, t, strict=True) for k in range(3)))
    cum.append((S.One, m.m1, m.m2))
    return [tuple(b - a for a, b in zip(lo, hi)) for lo, hi in zip(cum[:-1], cum[1:])]


def _cobham_mean(m, table, preemptive):
    lam = m.lam
    R = lam * m.m2 / 2
    sigma, m2_up, out = S.Zero, S.Zero, S.Zero
    for prob, m1, m2 in table:
        prev, sigma, m2_up = sigma, sigma + lam * m1, m2_up + m2
        if preemptive == "resume":
            out += m1 / (1 - prev) + prob * lam * m2_up / (2 * (1 - prev) * (1 - sigma))
        else:
            out += m1 + prob * R / ((1 - prev) * (1 - sigma))
    return out


def _one_bit_table(m):
    bit = m.bit
    if bit is None:
        raise PolicyError("OneBit needs a queue whose prediction is qt.Threshold(T, noise).")
    noise = None if isinstance(bit.noise, PR.Perfect) else _noise(bit.noise)
    return _class_table(m, _Joint(m.law, noise), [exact(bit.T, "T")])


def _mean_one_bit(m, policy):
    (ps, m1s, m2s), (pl, m1l, _) = _one_bit_table(m)
    lam = m.lam
    rho_s = lam * m1s
    R = lam * m.m2 / 2
    if policy.preemptive is True:   # Mitzenmacher 2021, preempt-any (MATH.md section 4)
        return m.m1 / (1 - rho_s) + pl * R / ((1 - rho_s) * (1 - m.rho))
    if policy.preemptive == "resume":
        return (m1s + m1l / (1 - rho_s) + ps * lam * m2s / (2 * (1 - rho_s))
                + pl * R / ((1 - rho_s) * (1 - m.rho)))
    return m.m1 + R * (ps / (1 - rho_s) + pl / ((1 - rho_s) * (1 - m.rho)))


def _mean_skip_predict(m, policy, q):
    """SkipPredict with external costs (MATH.md section 6): shorts (cheap bit below T)
    are an FCFS class on top; longs run SPRPT on the expensive prediction below them."""
    if policy.server_time:
        raise PolicyError("SkipPredict with server_time=True has no closed form; use "
                          "method='soap' or method='simulation'.")
    if not isinstance(q.prediction, (PR.ExpNoise, PR.UniformNoise, PR.LognormalNoise)) \
            or m.law.discrete:
        raise PolicyError("symbolic SkipPredict needs a continuous size law and a noisy "
                          "expensive prediction (ExpNoise, UniformNoise, LognormalNoise); "
                          "use method='formula' otherwise.")
    law, lam, T = m.law, m.lam, exact(policy.T, "T")
    f = law.pdf(_X)  # short and long parts: densities f(x) w(x), of mass below 1
    if isinstance(policy.bit.noise, PR.Perfect):
        cut = sympy.Max(law.lo, sympy.Min(T, law.hi))
        short, long_ = _DensityLaw(f, _X, law.lo, cut), _DensityLaw(f, _X, cut, law.hi)
    else:
        p_long = 1 - _noise(policy.bit.noise).H(T, _X)   # P(cheap prediction >= T | x)
        short = _DensityLaw(f * (1 - p_long), _X, law.lo, law.hi)
        long_ = _DensityLaw(f * p_long, _X, law.lo, law.hi)
    m2s, rho_s = short.moment(2), lam * short.moment(1)
    out = short.moment(1) + short.moment(0) * lam * m2s / (2 * (1 - rho_s))
    J, y, z = _Joint(long_, _noise(q.prediction)), _Y, _Z
    out += _integrate(J.density(0, y) * lam * (m2s + J.below(2, y, strict=False) + J.old_work(y))
                      / (2 * (1 - rho_s - lam * J.below(1, y)) ** 2), y, 0, oo)
    out += _integrate((J.above(z) - J.exceed(z)) / (1 - rho_s - lam * J.below(1, z)), z, 0, oo)
    return out + J.overshoot() / (1 - rho_s)


_SUPPORTED = (P.FCFS, P.PS, P.LCFS, P.SJF, P.PSJF, P.SRPT, P.FB, P.SPJF, P.PSPJF, P.SPRPT,
              P.Trail, P.PriorityClasses, P.OneBit, P.SkipPredict)


def _check_policy(policy):
    if type(policy) not in _SUPPORTED:
        raise PolicyError(f"{policy.name} has no symbolic closed form: use method='soap' "
                          "or method='simulation'.")


def _joint_for(m, policy):
    if policy.descriptor == "size":
        return m.size_joint()
    return m.joint


def symbolic_mean_response_time(q, policy, simplify=False):
    """E[T] of ``policy`` on the M/G/1 queue ``q`` as an exact sympy expression.

    Parameters
    ----------
    q : qtheory.MG1
        Parameters may be numbers or sympy expressions.
    policy : policy class or instance
        FCFS, PS, LCFS, SJF, PSJF, SRPT, FB, PriorityClasses, SPJF, PSPJF, SPRPT,
        Trail(c), OneBit (on a queue with ``prediction=qt.Threshold(T, noise)``),
        SkipPredict (external costs, noisy expensive predictions).
    simplify : bool
        Run ``sympy.simplify`` on the result (slow for large expressions).

    Returns
    -------
    sympy.Expr
        Closed form where one is derived; integrals without one stay unevaluated.

    Examples
    --------
    >>> import sympy, qtheory as qt
    >>> lam = sympy.Symbol("lambda", positive=True)
    >>> q = qt.MG1(lam, qt.Exponential(1), prediction=qt.ExpNoise())
    >>> e = symbolic_mean_response_time(q, qt.SPJF)
    >>> e.has(sympy.besselk)
    True
    >>> round(evaluate(e.subs(lam, sympy.Rational(1, 2)), fast=True), 12)
    1.794814491691
    """
    policy = as_policy(policy)
    _check_policy(policy)
    m = _Model(q)
    if isinstance(policy, P.FCFS):
        out = m.m1 + m.lam * m.m2 / (2 * (1 - m.rho))
    elif isinstance(policy, (P.PS, P.LCFS)):
        out = m.m1 / (1 - m.rho)
    elif isinstance(policy, P.FB):
        out = _mean_fb(m)
    elif isinstance(policy, P.OneBit):
        out = _mean_one_bit(m, policy)
    elif isinstance(policy, P.SkipPredict):
        out = _mean_skip_predict(m, policy, q)
    elif isinstance(policy, P.PriorityClasses):
        J = _joint_for(m, policy)
        out = _cobham_mean(m, _class_table(m, J, [exact(t, "thresholds")
                                                  for t in policy.thresholds]),
                           policy.preemptive)
    else:
        if m.bit is not None:
            raise PolicyError(f"{policy.name} ranks by predicted size but this queue's "
                              "predictions are one bit (Threshold).")
        out = _mean_prediction_family(m, _joint_for(m, policy), policy)
    return sympy.simplify(out) if simplify else out


def symbolic_response_time(q, policy, x, y=None):
    """E[T(x)] (or E[T(x, y)] for a job predicted y) as a sympy expression.

    ``x`` and ``y`` may be numbers or sympy symbols (piecewise in them where the size
    law's support is bounded). For policies that rank by prediction, ``y`` defaults
    to ``x`` when predictions are perfect; for OneBit, ``y`` is the bit (0 short, 1 long).

    Examples
    --------
    >>> import sympy, qtheory as qt
    >>> lam, x = sympy.symbols("lambda x", positive=True)
    >>> q = qt.MG1(lam, qt.Exponential(1))
    >>> symbolic_response_time(q, qt.PS, x)
    x/(1 - lambda)
    >>> symbolic_response_time(q, qt.SRPT, x)
    lambda*(x**2*exp(-x) - 2*(x**2/2 + x + 1)*exp(-x) + 2)/(2*(-lambda*(-(x + 1)*exp(-x) + 1) + 1)**2) + Integral(1/(-lambda*(-(t + 1)*exp(-t) + 1) + 1), (t, 0, x))
    """
    # a user's symbol x or y equals the module's own bound variables: derive with
    # stand-ins so points given as symbols are never taken to lie inside the support
    given = [_point(v, n) for v, n in ((x, "size"), (y, "y")) if v is not None]
    clash = set().union(*(v.free_symbols for v in given)) & set(_INSIDE)
    stand = {s: sympy.Dummy(s.name, positive=True) for s in clash}
    x, y = (v.xreplace(stand) if isinstance(v, sympy.Basic) else v for v in (x, y))
    out = _response_time(q, as_policy(policy), x, y)
    return out.xreplace({d: s for s, d in stand.items()})


def _response_time(q, policy, x, y):
    _check_policy(policy)
    m = _Model(q)
    x = _point(x, "size")
    lam = m.lam
    if isinstance(policy, P.FCFS):
        return x + lam * m.m2 / (2 * (1 - m.rho))
    if isinstance(policy, (P.PS, P.LCFS)):
        return x / (1 - m.rho)
    law = m.law
    if isinstance(policy, P.FB):
        sf, pm1, pm2 = law.sf_at(x), law.pm_at(1, x), law.pm_at(2, x)
        rb = lam * (pm1 + x * sf)
        return lam * (pm2 + x**2 * sf) / (2 * (1 - rb) ** 2) + x / (1 - rb)
    if isinstance(policy, P.OneBit):
        if y is None:
            raise ParameterError("OneBit response times need the bit: pass y=0 (short) or "
                                 "y=1 (long).")
        b = _point(y, "y")
        (ps, m1s, m2s), (pl, m1l, _) = _one_bit_table(m)
        rho_s, R = lam * m1s, lam * m.m2 / 2
        if policy.preemptive is True:
            return x / (1 - rho_s) + b * R / ((1 - rho_s) * (1 - m.rho))
        table = [(ps, m1s, m2s), (pl, m1l, m.m2 - m2s)]
        return _cobham_at(m, table, int(b != 0), x, policy.preemptive)
    J = _joint_for(m, policy)
    if policy.descriptor == "size" or (y is None and J.perfect):
        y = x
    if y is None:
        raise ParameterError(f"{policy.name} ranks by prediction: pass y (the prediction).")
    y = _point(y, "y")
    if isinstance(policy, P.PriorityClasses):
        ts = [exact(t, "thresholds") for t in policy.thresholds]
        i = sum(1 for t in ts if (y >= t) == S.true)
        return _cobham_at(m, _class_table(m, J, ts), i, x, policy.preemptive)
    lo_load = lam * J.below(1, y, strict=True)
    le_load = lam * J.below(1, y, strict=False)
    if J.perfect and law.discrete:
        den = 2 * (1 - lo_load) * (1 - le_load)
    else:  # Y continuous: rho'_{y-} = rho'_y
        den = 2 * (1 - lo_load) ** 2
    if isinstance(policy, P.PSJF):
        return x / (1 - lo_load) + lam * J.below(2, y, strict=False) / den
    if isinstance(policy, P.SJF):
        return x + lam * m.m2 / den
    c = S.One if isinstance(policy, P.SRPT) else exact(policy.c, "c")
    old = J.below(2, y, strict=False) + J.old_work(y, c)
    if J.perfect and law.discrete:
        res = _discrete_interval(lam, law, y - sympy.Min(x, c * y), y)
    else:
        t = _fresh("t", x, y)
        res = _residence_integral(m, J, t, y - sympy.Min(x, c * y), y)
    return lam * old / den + res + _positive_part(x - c * y)


def _discrete_interval(lam, law, a, b):
    """int_a^b dz / (1 - lambda E[X 1{X < z}]) for a discrete law."""
    vs = sorted(law.values, key=float)
    ws = dict(zip(law.values, law.weights))
    out, prev, cum = S.Zero, S.Zero, S.Zero
    for v in vs + [oo]:
        l, r = sympy.Max(prev, a), sympy.Min(v, b)
        if (r > l) == S.true:
            out += (r - l) / (1 - lam * cum)
        if v != oo:
            cum += ws[v] * v
        prev = v
    return out


def _residence_integral(m, J, t, a, b):
    """int_a^b dt / (1 - rho'_t), split where the support of X starts (rho'_t = 0 below
    it for perfect predictions)."""
    lam = m.lam
    if a == b:
        return S.Zero
    if J.perfect and J.law.lo != 0:
        lo = J.law.lo
        head = sympy.Max(sympy.Min(b, lo) - a, 0)
        pm = J.law.pm if J.law.hi == oo else J.law.pm_pw  # rho'_t = rho above the support
        return head + _integrate(1 / (1 - lam * pm(1, t)), t, sympy.Max(a, lo),
                                 sympy.Max(b, lo))
    return _integrate(1 / (1 - lam * J.below(1, t)), t, a, b)


def _cobham_at(m, table, i, x, preemptive):
    lam = m.lam
    prev = lam * Add(*[m1 for _, m1, _ in table[:i]])
    sig = prev + lam * table[i][1]
    if preemptive == "resume":
        m2_up = Add(*[m2 for _, _, m2 in table[:i + 1]])
        return x / (1 - prev) + lam * m2_up / (2 * (1 - prev) * (1 - sig))
    return x + lam * m.m2 / (2 * (1 - prev) * (1 - sig))


def _point(v, name):
    e = exact(v, name)
    if e.is_number and (e.is_negative or not e.is_finite):
        raise ParameterError(f"{name} = {v!r} is invalid: it must be a finite number >= 0.")
    if not e.is_number and e.is_negative:
        raise ParameterError(f"{name} = {v!r} is invalid: declare it nonnegative.")
    return e


def _fresh(name, *exprs):
    s = sympy.Symbol(name, positive=True)
    used = set().union(*(sympy.sympify(e).free_symbols for e in exprs))
    return s if s not in used else sympy.Dummy(name, positive=True)


# ---------------------------------------------------------------------------------------
# evaluation at any precision
# ---------------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def _k01_cached(z, dps):
    with mpmath.workdps(dps):
        return _k01(z)


def _k01(z):
    """(K_0(z), K_1(z)) at the current precision, z > 0: the ascending series (with
    guard digits for its cancellation) or, for large z, the asymptotic series
    (Abramowitz & Stegun 9.6.13, 9.6.11, 9.7.2). mpmath's besselk handles integer
    orders by a limit and is about 100 times slower."""
    dps = mpmath.mp.dps
    if z > 1.2 * dps + 10:   # asymptotic series: smallest term ~ e^{-2z} < 10^{-dps}
        out = []
        for nu in (0, 1):
            mu = 4 * nu * nu
            term, s, k = mpmath.mpf(1), mpmath.mpf(1), 1
            while True:
                new = term * (mu - (2 * k - 1) ** 2) / (k * 8 * z)
                if abs(new) >= abs(term) or abs(new) < mpmath.eps * abs(s):
                    break
                term = new
                s += term
                k += 1
            out.append(mpmath.sqrt(mpmath.pi / (2 * z)) * mpmath.exp(-z) * s)
        return tuple(out)
    extra = int(2 * float(z) / 2.302585) + 10
    with mpmath.extradps(extra):
        z = mpmath.mpf(z)
        q = z * z / 4
        L = mpmath.log(z / 2)
        g = mpmath.euler
        # K0 = -(L + g) I0 + sum q^k/(k!)^2 H_k
        # K1 = 1/z + L I1 - (z/4) sum (psi(k+1)+psi(k+2)) q^k/(k!(k+1)!)
        t0 = mpmath.mpf(1)  # q^k/(k!)^2
        t1 = mpmath.mpf(1)  # q^k/(k!(k+1)!)
        H = mpmath.mpf(0)
        I0 = s0 = I1s = s1 = mpmath.mpf(0)
        k = 0
        tol = mpmath.eps
        while True:
            I0 += t0
            s0 += t0 * H
            I1s += t1
            s1 += t1 * (2 * H + 1 / mpmath.mpf(k + 1) - 2 * g)
            k += 1
            H += 1 / mpmath.mpf(k)
            t0 *= q / (k * k)
            t1 *= q / (k * (k + 1))
            if t0 < tol * I0 and k > 2:
                break
        K0 = -(L + g) * I0 + s0
        K1 = 1 / z + L * (z / 2) * I1s - (z / 4) * s1
        return +K0, +K1

def _besselk(nu, z):
    """K_nu(z) for mpmath: integer orders through K_0, K_1 and the upward recurrence
    K_{n+1} = K_{n-1} + (2n/z) K_n (stable for K)."""
    if nu == int(nu) and z > 0:
        n = abs(int(nu))
        k0, k1 = _k01_cached(mpmath.mpf(z), mpmath.mp.dps)
        if n == 0: return k0
        for j in range(1, n):
            k0, k1 = k1, k0 + 2 * j / z * k1
        return k1
    return mpmath.besselk(nu, z)


def _maximal_integrals(expr):
    out = []

    def walk(e):
        if isinstance(e, Integral):
            out.append(e)
            return
        for a in e.args:
            walk(a)
    walk(expr)
    return list(dict.fromkeys(out))


def _kinks(integrand, v):
    """Points (as expressions of the outer variables) where the integrand has a kink:
    arguments of Min/Max/Abs/Piecewise conditions that cross as v varies."""
    pts = []
    for node in sympy.preorder_traversal(integrand):
        pairs = []
        if isinstance(node, (sympy.Min, sympy.Max)) and node.has(v):
            args = node.args
            pairs = [(a, b) for i, a in enumerate(args) for b in args[i + 1:]]
        elif isinstance(node, sympy.Piecewise):
            for _, cond in node.args:
                for rel in cond.atoms(sympy.core.relational.Relational):
                    pairs.append((rel.lhs, rel.rhs))
        for a, b in pairs:
            d = a - b
            if d.has(v):
                try:
                    sol = sympy.solve(d, v)
                except NotImplementedError:
                    sol = []
                pts += [s for s in sol if s.is_real is not False]
    return pts


def _namespace(ctx):
    """Names the lambdified code calls: mpmath's, or its double-precision twin."""
    if ctx is mpmath.mp:
        return [{"besselk": _besselk}, "mpmath"]
    from scipy import special
    names = {n: getattr(mpmath.fp, n) for n in dir(mpmath.fp) if not n.startswith("_")}
    names.update(besselk=special.kv, mpf=float)
    return [names]


def _compile(expr, args, ctx):
    """A function of ``args`` computing ``expr`` in the mpmath context ``ctx`` (``mp`` or
    ``fp``), with integrals by ``ctx.quad`` split at their kinks."""
    ints = _maximal_integrals(expr)
    holders = [sympy.Dummy(f"I{i}") for i in range(len(ints))]
    body = expr.xreplace(dict(zip(ints, holders)))
    outer = sympy.lambdify(list(args) + holders, body, modules=_namespace(ctx))
    parts = [_compile_integral(I, args, ctx) for I in ints]

    def fn(*vals):
        return outer(*vals, *[p(*vals) for p in parts])
    return fn


def _compile_integral(I, args, ctx):
    f = I.function
    limits = list(I.limits)
    v, lo, hi = limits[-1]
    if len(limits) > 1:  # integrate the innermost variable first
        f = Integral(f, *limits[:-1])
    inner = _compile(f, list(args) + [v], ctx)
    lo_f = _compile(sympy.sympify(lo), args, ctx)
    hi_f = _compile(sympy.sympify(hi), args, ctx)
    kinks = [_compile(k, args, ctx) for k in _kinks(f, v)]

    def fn(*vals):
        a, b = lo_f(*vals), hi_f(*vals)
        sign = 1
        if a > b:
            a, b, sign = b, a, -1
        if a == b:
            return ctx.zero
        pts = set()
        for k in kinks:
            try:
                p = k(*vals)
            except (TypeError, ValueError, ZeroDivisionError):
                continue
            if isinstance(p, (complex, mpmath.mpc)):
                if abs(p.imag) > 0:
                    continue
                p = p.real
            if a < p < b:
                pts.add(p)
        if b == ctx.inf:  # geometric split points help tanh-sinh on long tails
            base = max(a, ctx.zero)
            pts.update(base + s for s in (1, 8, 64))
        if ctx is mpmath.fp and a == 0:
            # in double precision the nodes near 0 lose the digits an integrable
            # singularity there (x^(-1/2) for Weibull(1/2)) needs: split it off geometrically
            pts.update(10.0 ** -e * min(b, 1) for e in (2, 4, 8, 12))
        pts = {p for p in pts if a < p < b}
        grid = [a, *sorted(pts), b]
        return sign * ctx.quad(lambda t: inner(*vals, t), grid)
    return fn


def evaluate(expr, digits=30, subs=None, fast=False):
    """Evaluate an exact expression to ``digits`` significant digits.

    Integrals that remain are done by mpmath's tanh-sinh quadrature at ``digits + 15``
    working digits, split at kinks and along long tails. Nested integrals (Trail with
    noisy predictions) cost minutes at 15 digits this way; ``fast=True`` runs the same
    quadrature in double precision (``mpmath.fp``, SciPy's K_nu) in about a second.

    Parameters
    ----------
    expr : sympy.Expr
        Any result of this module (its symbols substituted, e.g. via ``subs``).
    digits : int
        Significant digits wanted.
    subs : dict, optional
        Values for the free symbols.
    fast : bool
        Evaluate in double precision (``digits`` is then ignored). No error bound is
        computed; against the full-precision path it agreed to 1e-14 relative for
        SJF, PSJF, SRPT, FB, SPJF, PSPJF, SPRPT and Trail on Exponential, Weibull(1/2)
        and Lognormal sizes at loads 0.5 to 0.95. Use the default when digits matter.

    Returns
    -------
    sympy.Float (float with ``fast=True``)

    Examples
    --------
    >>> import sympy, qtheory as qt
    >>> q = qt.MG1(sympy.Rational(1, 2), qt.Exponential(1))
    >>> print(evaluate(q.mean_response_time(qt.SRPT, method="symbolic"), 40))
    1.425372663877785739955252151375024104422
    """
    expr = sympy.sympify(expr)
    if subs:
        expr = expr.subs({k: exact(v) for k, v in subs.items()})
    free = expr.free_symbols
    if free:
        raise ParameterError(f"expr has free symbols {sorted(map(str, free))}: give their "
                             "values with subs={symbol: value}.")
    if not isinstance(digits, numbers.Integral) or digits < 1:
        raise ParameterError(f"digits = {digits!r} is invalid: it must be a positive integer.")
    if fast:
        val = complex(_compile(expr, [], mpmath.fp)())
        if abs(val.imag) > abs(val.real) * 1e-12:
            raise PolicyError(f"the expression evaluates to a complex number {val}.")
        return val.real
    with mpmath.workdps(digits + 15):
        val = _compile(expr, [], mpmath.mp)()
        if isinstance(val, mpmath.mpc):
            if abs(val.imag) > abs(val.real) * mpmath.mpf(10) ** (-digits - 5):
                raise PolicyError(f"the expression evaluates to a complex number {val}.")
            val = val.real
        return sympy.Float(val, digits)


# ---------------------------------------------------------------------------------------
# for papers
# ---------------------------------------------------------------------------------------
def latex(expr, mathtext=False, **settings):
    """LaTeX source of a result (``sympy.latex`` with qtheory's defaults).

    ``mathtext=True`` gives a string Matplotlib's mathtext renders (no ``\\limits``,
    ``\\operatorname``): ``ax.set_title("$" + latex(e, mathtext=True) + "$")``.

    Examples
    --------
    >>> import sympy, qtheory as qt
    >>> lam = sympy.Symbol("lambda", positive=True)
    >>> e = qt.MG1(lam, qt.Exponential(1)).mean_response_time(qt.PS)
    >>> latex(e)
    '\\\\frac{1}{1 - \\\\lambda}'
    """
    opts = {"ln_notation": True}
    opts.update(settings)
    s = sympy.latex(sympy.sympify(expr), **opts)
    if mathtext:
        import re
        s = s.replace("\\limits", "")
        s = re.sub(r"\\operatorname\{([^}]*)\}", r"\\mathrm{\1}", s)
    return s


def _symbolic_rate_queue(q, lam):
    from ..queues.mg1 import MG1
    if isinstance(q.arrival_rate, sympy.Symbol):
        return q, q.arrival_rate
    lam = lam if lam is not None else sympy.Symbol("lambda", positive=True)
    return MG1(lam, q.size, q.prediction), lam


def _do_integrals(expr):
    """Re-run the integrator on every Integral (after a substitution made it easier)."""
    def redo(I):
        f = I.function
        if f.has(Integral):
            f = _do_integrals(f)
        (v, lo, hi), = I.limits
        return _integrate(f, v, lo, hi)
    return expr.replace(lambda e: isinstance(e, Integral), redo)


def light_traffic(q, policy, order=3, lam=None):
    """Light-traffic expansion of E[T] in the arrival rate: sum_{n < order} c_n lambda^n
    + O(lambda^order), each c_n exact (integrals left unevaluated if needed).

    The queue's arrival rate is replaced by the symbol ``lam`` (default ``lambda``).

    Examples
    --------
    >>> import sympy, qtheory as qt
    >>> light_traffic(qt.MG1(0.5, qt.Exponential(1)), qt.FCFS, order=3)
    1 + lambda + lambda**2 + O(lambda**3)
    >>> light_traffic(qt.MG1(0.5, qt.Exponential(1)), qt.SRPT, order=2)
    1 + lambda/2 + O(lambda**2)
    """
    if not isinstance(order, numbers.Integral) or order < 1:
        raise ParameterError(f"order = {order!r} is invalid: it must be a positive integer.")
    q2, lam = _symbolic_rate_queue(q, lam)
    expr = symbolic_mean_response_time(q2, policy)
    out, d = S.Zero, expr
    for n in range(order):
        c = _do_integrals(d.subs(lam, 0))
        out += sympy.nsimplify(sympy.simplify(c)) * lam**n if not c.has(Integral) else c * lam**n
        d = sympy.diff(d, lam) / (n + 1)
    return out + sympy.O(lam**order)


def heavy_traffic(q, policy, rho=None):
    """Leading term of E[T] as the load rho -> 1 (arrival rate rho / E[X]).

    Returns c / (1 - rho)^k with c and k exact. Needs a closed form in the arrival rate
    (FCFS, PS, LCFS, OneBit, PriorityClasses); policies whose mean keeps integrals over
    loads (SJF, SRPT, ...) raise PolicyError.

    Examples
    --------
    >>> import sympy, qtheory as qt
    >>> heavy_traffic(qt.MG1(0.5, qt.Exponential(2)), qt.FCFS)
    1/(2*(1 - rho))
    """
    q2, lam = _symbolic_rate_queue(q, None)
    expr = symbolic_mean_response_time(q2, policy)
    if any(I.has(lam) for I in _maximal_integrals(expr)):
        raise PolicyError(f"{as_policy(policy).name}: the mean keeps integrals over the "
                          "load, so no heavy-traffic term is derived here; use "
                          "light_traffic or evaluate near rho = 1.")
    rho = rho if rho is not None else sympy.Symbol("rho", positive=True)
    eps = sympy.Symbol("epsilon", positive=True)
    m1 = _law(q.size).moment(1)
    e = sympy.together(expr.subs(lam, (1 - eps) / m1))
    num, den = sympy.fraction(e)
    try:
        pn, pd = sympy.Poly(sympy.expand(num), eps), sympy.Poly(sympy.expand(den), eps)
    except sympy.PolynomialError:
        raise PolicyError(f"{as_policy(policy).name}: the mean is not rational in the load, "
                          "so no heavy-traffic term is derived here.") from None

    def lowest(p):  # (degree, coefficient) of the lowest nonzero term
        for (d,), c in sorted(p.terms()):
            if not sympy.simplify(c).equals(0):
                return d, c
        return None, S.Zero
    dn, cn = lowest(pn)
    dd, cd = lowest(pd)
    if dn is None:
        return S.Zero
    k = dd - dn
    c = sympy.simplify(cn / cd)
    return c / (1 - rho) ** k if k > 0 else (c if k == 0 else S.Zero)


def symbolic_optimal_threshold(q, policy):
    """Stationary points in T of E[T] for a one-bit queue with a symbolic threshold.

    Returns the solutions sympy finds of d E[T] / dT = 0 (a list). For Exp(1) sizes,
    perfect bits and preemptive one-bit advice this is Mitzenmacher's
    T* = 1 + W_0(lambda / (e (1 - lambda))).

    Examples
    --------
    >>> import sympy, qtheory as qt
    >>> lam, T = sympy.symbols("lambda T", positive=True)
    >>> q = qt.MG1(lam, qt.Exponential(1), prediction=qt.Threshold(T, qt.Perfect()))
    >>> symbolic_optimal_threshold(q, qt.OneBit(preemptive=True))
    [LambertW(-lambda*exp(-1)/(lambda - 1)) + 1]
    """
    policy = as_policy(policy)
    if not isinstance(policy, P.OneBit) or not isinstance(q.prediction, PR.Threshold):
        raise PolicyError("symbolic_optimal_threshold needs qt.OneBit on a queue with "
                          "prediction=qt.Threshold(T, noise).")
    T = q.prediction.T
    if not isinstance(T, sympy.Symbol):
        raise ParameterError(f"T = {T!r} is invalid here: pass a sympy Symbol as the "
                             "threshold, e.g. sympy.Symbol('T', positive=True).")
    e = symbolic_mean_response_time(q, policy)
    num = sympy.numer(sympy.together(sympy.diff(e, T)))
    sols = sympy.solve(num, T)
    return [s for s in sols if s.is_real is not False and s.is_negative is not True]


def reference_mean_response_time(policy="SRPT", arrival_rate="0.5", digits=50):
    """High-precision E[T] of an M/M/1 queue (Exp(1) sizes) for checking other tools.

    ``policy`` is "SRPT" (Schrage-Miller) or "SPRPT" (ExpNoise predictions,
    Mitzenmacher 2020); ``arrival_rate`` a number or decimal string, read exactly.

    Examples
    --------
    >>> print(reference_mean_response_time("SRPT", "0.5", 30))
    1.42537266387778573995525215137
    """
    from ..queues.mg1 import MG1
    lam = Rational(str(arrival_rate)) if isinstance(arrival_rate, str) else exact(arrival_rate)
    pol = {"SRPT": P.SRPT(), "SPRPT": P.SPRPT()}.get(str(policy).upper())
    if pol is None:
        raise ParameterError(f"policy = {policy!r} is invalid: use 'SRPT' or 'SPRPT'.")
    if not (0 < lam < 1):
        raise ParameterError(f"arrival_rate = {arrival_rate!r} is invalid: it must lie in "
                             "(0, 1) for Exp(1) sizes.")
    q = MG1(sympy.Symbol("lambda", positive=True), D.Exponential(1),
            PR.ExpNoise() if pol.name == "SPRPT" else None)
    e = symbolic_mean_response_time(q, pol).subs(q.arrival_rate, lam)
    return evaluate(e, digits)
