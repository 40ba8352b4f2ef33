"""Exact numbers and integrals for the symbolic method: floats read as the rationals
that were typed, and integrals of x^p exp(-a x - b/x) in closed form (Gamma functions;
for b > 0 the Bessel rule of Gradshteyn & Ryzhik 3.471.9); anything else stays an
unevaluated sympy.Integral."""

import math
import numbers
from fractions import Fraction

import numpy as np
import sympy
from sympy import (
    Add,
    Integral,
    Mul,
    Rational,
    S,
    besselk,
    exp,
    expand_func,
    gamma,
    log,
    oo,
    sqrt,
    uppergamma,
)

from ..core.errors import ParameterError

# Bound (integration) variables. Plain positive symbols so results print and compare
# reproducibly; they are always bound by an Integral or substituted.
X_VAR = sympy.Symbol("x", positive=True)


Y_VAR = sympy.Symbol("y", positive=True)


Z_VAR = sympy.Symbol("z", positive=True)


U_VAR = sympy.Symbol("u", positive=True)


# the derivations integrate X_VAR and Y_VAR over the support only: no case split needed there
INSIDE = (X_VAR, Y_VAR)


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


def positive_part(e):
    return sympy.Max(e, 0)


def bessel_integral(nu, a, b):
    """int_0^inf x^(nu-1) exp(-a x - b/x) dx = 2 (b/a)^(nu/2) K_nu(2 sqrt(a b)), a, b > 0
    (Gradshteyn & Ryzhik 3.471.9; docs/theory/predictions.md).

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


def integrate_exact(expr, v, lo, hi):
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
