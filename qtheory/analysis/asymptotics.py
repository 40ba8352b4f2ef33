"""Light- and heavy-traffic expansions, exact optimal thresholds and high-precision
reference values, built on the symbolic method."""

import numbers

import sympy
from sympy import (Integral, Rational, S)

from ..core.errors import ParameterError
from ..core.errors import PolicyError
from ..laws import predictions as PR
from ..laws import sizes as D
from ..policies import catalogue as P
from ..policies.base import as_policy
from ..core.exact import exact, integrate_exact
from ..laws.exact import exact_law
from ..methods.symbolic.evaluate import evaluate, maximal_integrals
from ..methods.symbolic.means import symbolic_mean_response_time


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
        return integrate_exact(f, v, lo, hi)
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
    if any(I.has(lam) for I in maximal_integrals(expr)):
        raise PolicyError(f"{as_policy(policy).name}: the mean keeps integrals over the "
                          "load, so no heavy-traffic term is derived here; use "
                          "light_traffic or evaluate near rho = 1.")
    rho = rho if rho is not None else sympy.Symbol("rho", positive=True)
    eps = sympy.Symbol("epsilon", positive=True)
    m1 = exact_law(q.size).moment(1)
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
