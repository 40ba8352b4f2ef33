"""Prediction models as exact conditional laws, and the joint law of (X, Y) in sympy."""

import sympy
from sympy import (Add, S, exp, log, oo, sqrt)

from ...core.errors import PolicyError
from ...laws import predictions as PR
from ...core.exact import U_VAR, exact, integrate_exact
from ...laws.exact import normal_cdf


class _Noise:
    """Conditional law of Y given X = x: cdf H, density h, partial moments
    CM(k, x, a, b) = int_a^b u^k h(u|x) du (a <= b)."""

    def H(self, u, x):
        raise NotImplementedError

    def h(self, u, x):
        raise NotImplementedError

    def CM(self, k, x, a, b):
        return integrate_exact(U_VAR**k * self.h(U_VAR, x), U_VAR, a, b)


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
        return normal_cdf(log(u / x) / self.sigma)

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
            return normal_cdf(log(u / x) / s - k * s)
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
    """Loads and moments of (X, Y) in sympy (docs/theory/index.md notation). With ``noise=None``
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
