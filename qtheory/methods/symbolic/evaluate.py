"""Numerical evaluation of exact results to any precision with mpmath (tanh-sinh
quadrature split at kinks), or in double precision."""

from functools import lru_cache
import numbers

import mpmath
import sympy
from sympy import (Integral)

from ...core.errors import ParameterError
from ...core.errors import PolicyError
from ...core.exact import exact


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


def maximal_integrals(expr):
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
    ints = maximal_integrals(expr)
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
