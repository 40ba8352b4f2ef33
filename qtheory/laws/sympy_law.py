"""sympy.stats random variables as size laws."""

import math

import numpy as np
import sympy
from sympy import (Integral, S)

from ..core.errors import ParameterError
from ..laws import sizes as D
from .exact import DensityLaw, _ExpMixture, _LognormalLaw, _UniformLaw, _WeibullLaw


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
    def exact_form(self):
        """Its exact law (the symbolic method's view of it)."""
        return self._law

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
    return DensityLaw(dens, t, lo, hi)


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
