"""Closed forms for batch service (symbolic parameters allowed; docs/theory/batch.md):
Inoue's bound for dynamic batching, the M/M^(a,b)/1 mean and the clipped-output M/G/1."""

import math
import numbers

import numpy as np
import sympy

from ..core.errors import ParameterError, PolicyError, UnstableError
from ..core.params import is_symbolic
from ..laws.convert import as_size_law

__all__ = ["inoue_phi0", "inoue_phi1", "inoue_bound", "mm_ab1_mean_response_time",
           "mg1_clipped_mean_response_time"]


def inoue_phi0(arrival_rate, alpha, tau0):
    """Inoue (2021), φ0 = (α + τ0)/(2(1 − λα)) · [1 + 2λτ0 + (1 − λτ0)/(1 + λα)].

    Examples
    --------
    With α = 0 (batch time τ0 whatever the size) φ0 = τ0 + λτ0²/2:

    >>> import sympy
    >>> lam, tau = sympy.symbols("lambda tau0", positive=True)
    >>> sympy.expand(inoue_phi0(lam, 0, tau))
    lambda*tau0**2/2 + tau0
    """
    lam = arrival_rate
    return (alpha + tau0) / (2 * (1 - lam * alpha)) * (
        1 + 2 * lam * tau0 + (1 - lam * tau0) / (1 + lam * alpha))


def inoue_phi1(arrival_rate, alpha, tau0):
    """Inoue (2021), φ1 = 1.5 τ0/(1 − λα) + (α/2)(λα + 2)/(1 − λ²α²)."""
    lam = arrival_rate
    return (sympy.Rational(3, 2) if is_symbolic(lam, alpha, tau0) else 1.5) * tau0 / (
        1 - lam * alpha) + alpha / 2 * (lam * alpha + 2) / (1 - lam**2 * alpha**2)


def _check_rates(**values):
    """Numeric rates must be finite and > 0, the batch-time coefficients finite and >= 0."""
    for name, v in values.items():
        if is_symbolic(v):
            continue
        zero_ok = name in ("alpha", "tau0")
        if not (math.isfinite(float(v)) and (float(v) >= 0 if zero_ok else float(v) > 0)):
            raise ParameterError(f"{name} = {v!r} is invalid: it must be a finite number "
                                 f"{'>= 0' if zero_ok else '> 0'}.")


def inoue_bound(arrival_rate, alpha, tau0):
    """Inoue's closed-form upper bound min(φ0, φ1) on E[T] for dynamic batching with no
    cap (b = ∞, a = 1) and deterministic batch times α k + τ0 (arXiv 1912.06322).

    Examples
    --------
    V100 / ResNet-50 fit (α = 0.1438 ms, τ0 = 1.8874 ms) at 3 requests per ms:

    >>> from qtheory.queues.batch import BatchQueue
    >>> ub = inoue_bound(3.0, 0.1438, 1.8874)
    >>> exact = BatchQueue(3.0, lambda k: 0.1438 * k + 1.8874).mean_response_time().value
    >>> round(ub, 5), round(exact, 5), ub >= exact
    (5.19386, 5.19384, True)
    """
    _check_rates(arrival_rate=arrival_rate, alpha=alpha, tau0=tau0)
    p0, p1 = inoue_phi0(arrival_rate, alpha, tau0), inoue_phi1(arrival_rate, alpha, tau0)
    if is_symbolic(p0, p1):
        return sympy.Min(p0, p1)
    if not arrival_rate * alpha < 1:
        raise UnstableError(arrival_rate * alpha, f"capacity 1/alpha = {1 / alpha:.6g}; lower "
                                                  "arrival_rate")
    return float(min(p0, p1))


def mm_ab1_mean_response_time(arrival_rate, service_rate, min_batch, max_batch):
    """E[T] of the M/M^(a,b)/1 bulk queue (batch time Exp(μ) whatever the batch size).

    With r the root in (0, 1) of μ z^{b+1} − (λ + μ) z + λ = 0, i.e. of
    μ(z + z² + … + z^b) = λ: P(busy, n waiting) = C rⁿ and P(idle, n waiting) =
    (μ/λ) C (1 − r^{n+1})/(1 − r) for n < a; E[T] = E[N_q]/λ + 1/μ. Symbolic parameters
    give a sympy expression when b ≤ 2 (r is then explicit).

    Examples
    --------
    >>> round(mm_ab1_mean_response_time(0.5, 1.0, 1, 1), 12)     # M/M/1
    2.0
    >>> import sympy
    >>> lam = sympy.Symbol("lambda", positive=True)
    >>> sympy.simplify(mm_ab1_mean_response_time(lam, 1, 1, 1))
    -1/(lambda - 1)
    """
    _check_rates(arrival_rate=arrival_rate, service_rate=service_rate)
    lam, mu, a, b = arrival_rate, service_rate, int(min_batch), max_batch
    if not 1 <= a <= b:
        raise ParameterError(f"min_batch = {min_batch!r} must be an integer in [1, max_batch].")
    if is_symbolic(lam, mu):
        lam, mu = sympy.sympify(lam), sympy.sympify(mu)
        if b == math.inf or b > 2:
            raise PolicyError("the symbolic M/M^(a,b)/1 form needs max_batch <= 2 (the root r "
                              "of mu (z + ... + z^b) = lambda is explicit only then); pass "
                              "numbers for larger b.")
        r = lam / mu if b == 1 else (sympy.sqrt(1 + 4 * lam / mu) - 1) / 2
        return _mm_ab1_from_root(lam, mu, a, r, symbolic=True)
    if b == math.inf:
        r = lam / (lam + mu)   # μ z/(1 − z) = λ
    else:
        b = int(b)
        if not lam < b * mu:
            raise UnstableError(lam / (b * mu), f"capacity b mu = {b * mu:.6g}; lower "
                                                "arrival_rate")
        # μ(z + ... + z^b) − λ is increasing on (0, 1) with a sign change: bisect/brentq
        from scipy.optimize import brentq
        r = brentq(lambda z: mu * sum(z**j for j in range(1, b + 1)) - lam, 0.0, 1.0,
                   xtol=1e-300, rtol=1e-15, maxiter=500)
    return float(_mm_ab1_from_root(lam, mu, a, r, symbolic=False))


def _mm_ab1_from_root(lam, mu, a, r, symbolic):
    n = np.arange(a) if not symbolic else range(a)
    idle = [(mu / lam) * (1 - r**(k + 1)) / (1 - r) for k in n]
    total = 1 / (1 - r) + sum(idle)             # in units of C
    Nq = r / (1 - r)**2 + sum(k * w for k, w in zip(n, idle))
    T = Nq / total / lam + 1 / mu
    return sympy.simplify(T) if symbolic else T


def mg1_clipped_mean_response_time(arrival_rate, t_pre, t_tok, output, max_output):
    """One request at a time, output clipped at L = max_output tokens: M/G/1 with
    S = t_pre + t_tok · min(O, L), by Pollaczek–Khinchine.

    ``output`` is a number or size law of O; ``arrival_rate``, ``t_pre`` and ``t_tok``
    may be sympy symbols.

    Examples
    --------
    >>> from qtheory.laws.sizes import Empirical
    >>> round(mg1_clipped_mean_response_time(0.01, 1.0, 0.1, Empirical([10, 100, 400]), 200), 6)
    12.397243
    >>> import sympy
    >>> lam = sympy.Symbol("lambda", positive=True)
    >>> mg1_clipped_mean_response_time(lam, 1, 0, 5, 10)
    lambda/(2 - 2*lambda) + 1
    """
    L = max_output
    if isinstance(output, (numbers.Real, sympy.Basic)):
        c1 = sympy.Min(output, L) if is_symbolic(output, L) else min(output, L)
        c2 = c1**2
    else:
        law = as_size_law(output)
        c1 = float(law.partial_moment(1, L) + L * law.sf(L))
        c2 = float(law.partial_moment(2, L) + L * L * law.sf(L))
    m1 = t_pre + t_tok * c1
    m2 = t_pre**2 + 2 * t_pre * t_tok * c1 + t_tok**2 * c2
    rho = arrival_rate * m1
    if not is_symbolic(rho) and not rho < 1:
        raise UnstableError(rho, "lower arrival_rate or max_output")
    return m1 + arrival_rate * m2 / (2 * (1 - rho))
