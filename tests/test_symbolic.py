"""method="symbolic": exact sympy expressions agree with the numeric closed forms, with
independent high-precision references, and recover the forms printed in the papers.

Every reference is named: closed forms of docs/theory (with the page), or an mpmath
quadrature written out in the test from the defining formula (never through qtheory).
"""

import random
import zlib

import mpmath
import numpy as np
import pytest
import sympy
import sympy.stats as ss

import qtheory as qt
from qtheory.analysis.asymptotics import (heavy_traffic, light_traffic,
                                          reference_mean_response_time,
                                          symbolic_optimal_threshold)
from qtheory.core.errors import ParameterError, PolicyError, UnstableError
from qtheory.laws.exact import exact_law
from qtheory.laws.sympy_law import size_law_from_sympy
from qtheory.methods.symbolic import (evaluate, latex, symbolic_mean_response_time,
                                      symbolic_response_time)
from qtheory.methods.symbolic.evaluate import _besselk
from qtheory.methods.symbolic.noise import _ExpNoise, _Joint

LAM, MU, T = sympy.symbols("lambda mu T", positive=True)
K = sympy.besselk
R = sympy.Rational


def close(a, b, rel):
    a, b = float(a), float(b)
    return abs(a - b) <= rel * max(1.0, abs(b))


def digits_agree(a, b):
    """Number of agreeing significant digits of two high-precision numbers."""
    with mpmath.workdps(80):
        a, b = (v if isinstance(v, mpmath.mpf) else mpmath.mpf(str(v)) for v in (a, b))
        if a == b:
            return 100
        return float(-mpmath.log10(abs(a - b) / abs(b)))


# ------------------------------------------------------------------------------------------
# symbolic == numeric (formula method) on random parameters
# ------------------------------------------------------------------------------------------
SIZE_LAWS = {
    "exp": lambda r: qt.Exponential(r.uniform(0.5, 2.0)),
    "erlang": lambda r: qt.Erlang(2, r.uniform(1.0, 3.0)),
    "hyperexp": lambda r: qt.Hyperexponential([0.3, 0.7], [r.uniform(0.3, 0.8), r.uniform(2, 4)]),
    "uniform": lambda r: qt.Uniform(r.uniform(0.1, 0.5), r.uniform(1.0, 2.0)),
    "weibull": lambda r: qt.Weibull(0.5, 0.5),
    "empirical": lambda r: qt.Empirical([0.5, 1.0, 1.0, 2.5]),
}
SIZE_POLICIES = [qt.FCFS, qt.PS, qt.LCFS, qt.SJF, qt.PSJF, qt.SRPT, qt.FB,
                 qt.PriorityClasses([0.8]), qt.PriorityClasses([0.8], preemptive="resume")]


@pytest.mark.parametrize("law", sorted(SIZE_LAWS))
def test_size_policies_match_formula(law):
    """Reference: the formula method (docs/theory/classical.md), at its own error estimate."""
    rng = random.Random(zlib.crc32(law.encode()))
    size = SIZE_LAWS[law](rng)
    load = rng.uniform(0.3, 0.8)
    q = qt.MG1(load / size.mean, size)
    for policy in SIZE_POLICIES:
        num = q.mean_response_time(policy, method="formula")
        sym = evaluate(q.mean_response_time(policy, method="symbolic"), 18)
        tol = max(10 * num.error / abs(num.value), 1e-9)
        assert close(sym, num.value, tol), (law, policy, sym, num)


@pytest.mark.parametrize("policy", [qt.SPJF, qt.PSPJF, qt.SPRPT])
def test_expnoise_policies_match_formula(policy):
    """Reference: formula method with ExpNoise predictions, Exp(1) sizes (docs/theory/predictions.md)."""
    q = qt.MG1(0.7, qt.Exponential(1.0), prediction=qt.ExpNoise())
    num = q.mean_response_time(policy, method="formula")
    sym = evaluate(q.mean_response_time(policy, method="symbolic"), 15)
    assert close(sym, num.value, max(10 * num.error / num.value, 1e-10))


def test_response_time_matches_formula():
    """Reference: q.response_time (formula method) at random (x, y)."""
    rng = random.Random(5)
    q = qt.MG1(0.6, qt.Exponential(1.0))
    qp = qt.MG1(0.6, qt.Exponential(1.0), prediction=qt.ExpNoise())
    for _ in range(3):
        x, y = rng.uniform(0.1, 3), rng.uniform(0.1, 3)
        for policy in (qt.FCFS, qt.PS, qt.SJF, qt.PSJF, qt.SRPT, qt.FB):
            sym = evaluate(symbolic_response_time(q, policy, x), 18)
            assert close(sym, q.response_time(policy, x), 1e-9), (policy, x)
        for policy in (qt.SPJF, qt.PSPJF, qt.SPRPT):
            sym = evaluate(symbolic_response_time(qp, policy, x, y), 18)
            assert close(sym, qp.response_time(policy, x, prediction=y), 1e-9), (policy, x, y)


@pytest.mark.parametrize("preemptive", [False, True, "resume"])
@pytest.mark.parametrize("noise", [qt.Perfect(), qt.ExpNoise()])
def test_one_bit_matches_formula(preemptive, noise):
    """Reference: formula method for one-bit advice (docs/theory/advice.md)."""
    q = qt.MG1(0.75, qt.Weibull(0.5, 0.5), prediction=qt.Threshold(0.9, noise))
    if isinstance(noise, qt.ExpNoise):
        q = qt.MG1(0.75, qt.Exponential(1.0), prediction=qt.Threshold(0.9, noise))
    num = q.mean_response_time(qt.OneBit(preemptive), method="formula")
    sym = evaluate(q.mean_response_time(qt.OneBit(preemptive), method="symbolic"), 20)
    assert close(sym, num.value, max(10 * num.error / num.value, 1e-10))


# ------------------------------------------------------------------------------------------
# symbolic parameters
# ------------------------------------------------------------------------------------------
def test_symbolic_parameters_mm1_closed_forms():
    """Reference: docs/theory/classical.md, P-K and PS for M/M/1: 1/(mu - lambda)."""
    q = qt.MG1(LAM, qt.Exponential(MU))
    assert q.symbolic
    for policy in (qt.FCFS, qt.PS, qt.LCFS):
        e = q.mean_response_time(policy)  # method="auto" is symbolic
        assert sympy.simplify(e - 1 / (MU - LAM)) == 0


def test_symbolic_parameters_substituted_give_numeric():
    """Reference: formula method at the substituted values."""
    q = qt.MG1(LAM, qt.Exponential(MU))
    rng = random.Random(11)
    for policy in (qt.SRPT, qt.PSJF, qt.FB, qt.SJF):
        e = symbolic_mean_response_time(q, policy)
        assert e.free_symbols == {LAM, MU}
        mu = rng.uniform(0.5, 2)
        lam = rng.uniform(0.2, 0.8) * mu
        num = qt.MG1(lam, qt.Exponential(mu)).mean_response_time(policy, method="formula")
        sym = evaluate(e, 18, subs={LAM: lam, MU: mu})
        assert close(sym, num.value, 1e-9), policy


def test_pollaczek_khinchine_any_law():
    """Reference: docs/theory/classical.md P-K, E[X] + lam E[X^2]/(2(1 - rho)) with moments of
    Erlang(k, r): k/r, k(k+1)/r^2, and of Uniform[a, b]."""
    r, a, b = sympy.symbols("r a b", positive=True)
    e = symbolic_mean_response_time(qt.MG1(LAM, qt.Erlang(3, r)), qt.FCFS)
    pk = 3 / r + LAM * 12 / r**2 / (2 * (1 - LAM * 3 / r))
    assert sympy.simplify(e - pk) == 0
    e = symbolic_mean_response_time(qt.MG1(LAM, qt.Uniform(1, 3)), qt.FCFS)
    m1, m2 = 2, R(13, 3)
    assert sympy.simplify(e - (m1 + LAM * m2 / (2 * (1 - 2 * LAM)))) == 0


def test_symbolic_threshold_one_bit_substituted():
    """Reference: formula method at T = 0.9 for the symbolic-threshold expression."""
    q = qt.MG1(0.75, qt.Exponential(1.0), prediction=qt.Threshold(T, qt.ExpNoise()))
    e = symbolic_mean_response_time(q, qt.OneBit(True))
    num = qt.MG1(0.75, qt.Exponential(1.0), prediction=qt.Threshold(0.9, qt.ExpNoise())
                 ).mean_response_time(qt.OneBit(True), method="formula")
    assert close(evaluate(e, 20, subs={T: 0.9}), num.value, 1e-12)


def test_symbolic_size_law_parameters_substitute():
    """Uniform(a, b), BoundedPareto(alpha, a, b), Erlang(k, r) with symbols in every
    parameter; reference: the formula method at the substituted values (docs/theory/classical.md), at
    its own error estimate."""
    a, b, al, k, r = sympy.symbols("a b alpha k r", positive=True)
    rng = random.Random(17)
    cases = [
        (qt.Uniform(a, b), lambda v: qt.Uniform(v[a], v[b]),
         lambda: {a: rng.uniform(0.1, 0.6), b: rng.uniform(1.0, 2.0)}, (qt.SRPT, qt.FB)),
        (qt.BoundedPareto(al, a, b), lambda v: qt.BoundedPareto(v[al], v[a], v[b]),
         lambda: {al: rng.uniform(1.1, 1.9), a: rng.uniform(0.3, 0.7), b: rng.uniform(10, 30)},
         (qt.PSJF, qt.PriorityClasses([1.0], preemptive="resume"))),
        (qt.Erlang(k, r), lambda v: qt.Erlang(v[k], v[r]),
         lambda: {k: rng.randint(2, 4), r: rng.uniform(2.0, 5.0)}, (qt.SJF, qt.SRPT)),
    ]
    for size, numeric, draw, policies in cases:
        q = qt.MG1(LAM, size)
        assert q.symbolic
        v = draw()
        v[LAM] = rng.uniform(0.3, 0.8) / numeric(v).mean
        qn = qt.MG1(v[LAM], numeric(v))
        for policy in policies:
            e = q.mean_response_time(policy)
            assert e.free_symbols == set(v), (size, policy)
            num = qn.mean_response_time(policy, method="formula")
            tol = max(10 * num.error / num.value, 1e-10)
            assert close(evaluate(e, 18, subs=v), num.value, tol), (size, policy, v)


def test_erlang_symbolic_phases_pollaczek_khinchine():
    """Reference: Erlang(k, r) moments k/r and k(k+1)/r^2 in P-K (docs/theory/classical.md)."""
    k, r = sympy.symbols("k r", positive=True, integer=True)
    e = symbolic_mean_response_time(qt.MG1(LAM, qt.Erlang(k, r)), qt.FCFS)
    pk = k / r + LAM * k * (k + 1) / r**2 / (2 * (1 - LAM * k / r))
    assert sympy.simplify(e - pk) == 0


@pytest.mark.parametrize("preemptive", [False, "resume"])
def test_symbolic_class_thresholds_substitute(preemptive):
    """PriorityClasses([T1, T2]) on a bounded law, thresholds inside and outside its
    support; reference: the formula method (Cobham, docs/theory/classical.md)."""
    t1, t2 = sympy.symbols("T1 T2", positive=True)
    q = qt.MG1(0.6, qt.Uniform(0.4, 1.6))
    e = q.mean_response_time(qt.PriorityClasses([t1, t2], preemptive=preemptive))  # auto
    assert e.free_symbols == {t1, t2}
    for v1, v2 in ((0.1, 0.9), (0.7, 1.2), (1.3, 2.5)):
        num = q.mean_response_time(qt.PriorityClasses([v1, v2], preemptive=preemptive),
                                   method="formula")
        assert close(evaluate(e, 18, subs={t1: v1, t2: v2}), num.value, 1e-12), (v1, v2)


@pytest.mark.parametrize("size, noise", [(qt.Weibull(0.5, 0.5), qt.Perfect()),
                                         (qt.Exponential(1.0), qt.LognormalNoise(0.5))])
def test_symbolic_one_bit_threshold_substitutes(size, noise):
    """OneBit with a symbolic Threshold T (all three variants); reference: the formula
    method at T = 0.3 and 2 (docs/theory/advice.md)."""
    q = qt.MG1(0.6, size, prediction=qt.Threshold(T, noise))
    assert q.symbolic
    for preemptive in (False, True, "resume"):
        e = q.mean_response_time(qt.OneBit(preemptive))            # auto -> symbolic
        assert e.free_symbols == {T}
        for t in (0.3, 2.0):
            qn = qt.MG1(0.6, size, prediction=qt.Threshold(t, noise))
            num = qn.mean_response_time(qt.OneBit(preemptive), method="formula")
            tol = max(10 * num.error / num.value, 1e-12)
            sym = evaluate(e, subs={T: t}, fast=True)  # double precision is enough here
            assert close(sym, num.value, tol), (preemptive, t)


def test_response_time_outside_bounded_support():
    """E[T(x)] for x beyond a bounded support (rho'_x = rho there); reference:
    q.response_time (formula method)."""
    x = sympy.Symbol("x", positive=True)
    q = qt.MG1(0.5, qt.Uniform(0.4, 1.6))
    for policy in (qt.SRPT, qt.PSJF, qt.FB):
        e = symbolic_response_time(q, policy, x)
        for xv in (0.2, 1.0, 3.0):
            assert close(evaluate(e, 18, subs={x: xv}), q.response_time(policy, xv), 1e-10)


@pytest.mark.parametrize("bit_noise", [pytest.param(qt.Perfect(), marks=pytest.mark.slow),
                                       qt.ExpNoise()])
def test_skip_predict_symbolic_threshold(bit_noise):
    """SkipPredict (external costs, docs/theory/predictions.md) with a symbolic cheap-bit threshold
    T and ExpNoise expensive predictions; reference: the formula method at T = 0.8."""
    q = qt.MG1(0.7, qt.Exponential(1.0), prediction=qt.ExpNoise())
    e = q.mean_response_time(qt.SkipPredict(T, bit_noise))           # auto -> symbolic
    assert e.free_symbols == {T}
    num = q.mean_response_time(qt.SkipPredict(0.8, bit_noise), method="formula")
    assert close(evaluate(e, subs={T: 0.8}, fast=True), num.value,
                 max(10 * num.error / num.value, 1e-12))
    with pytest.raises(PolicyError, match="method='formula'"):
        qt.MG1(0.7, qt.Exponential(1.0), qt.Perfect()).mean_response_time(
            qt.SkipPredict(T, bit_noise))


# ------------------------------------------------------------------------------------------
# paper forms recovered
# ------------------------------------------------------------------------------------------
def test_expnoise_bessel_ingredients():
    """Reference: docs/theory/predictions.md, ExpNoise with Exp(1) sizes: f_Y = 2 K_0(2 sqrt y),
    E[X 1{Y<=y}] = 1 - 2y K_2, E[X^2 1{Y<=y}] = 2 - 2 y^(3/2) K_3, P(Y>v) = 2 sqrt(v) K_1."""
    y = sympy.Symbol("y", positive=True)
    J = _Joint(exact_law(qt.Exponential(1)), _ExpNoise())
    r = 2 * sympy.sqrt(y)
    assert sympy.simplify(J.density(0, y) - 2 * K(0, r)) == 0
    assert sympy.simplify(J.below(1, y) - (1 - 2 * y * K(2, r))) == 0
    assert sympy.simplify(J.below(2, y) - (2 - 2 * y**R(3, 2) * K(3, r))) == 0
    assert sympy.simplify(J.above(y) - 2 * sympy.sqrt(y) * K(1, r)) == 0
    # docs/theory/predictions.md: for ExpNoise, E[(X - Y)^+] = E[X]/e and P(Y - X > v) = P(Y > v)/e
    assert sympy.simplify(J.overshoot() - sympy.exp(-1)) == 0
    assert sympy.simplify(J.exceed(y) - J.above(y) / sympy.E) == 0


def test_fast_bessel_k_matches_mpmath():
    """Reference: mpmath.besselk at 45 digits (the evaluator's own K_n is a series)."""
    with mpmath.workdps(40):
        for y in ("1e-7", "0.01", "0.7", "5", "60", "400", "2000", "50000"):
            z = 2 * mpmath.sqrt(mpmath.mpf(y))
            for n in (0, 1, 3):
                with mpmath.workdps(45):
                    ref = mpmath.besselk(n, z)
                assert abs(_besselk(n, z) / ref - 1) < mpmath.mpf(10) ** -38, (y, n)


def test_one_bit_mm1_printed_forms():
    """Reference: docs/theory/advice.md (Mitzenmacher 2021), t_np and t_pre for M/M/1 with
    ExpNoise bits, exactly as printed; by simplification and at random points (30 digits)."""
    q = qt.MG1(LAM, qt.Exponential(1), prediction=qt.Threshold(T, qt.ExpNoise()))
    r = 2 * sympy.sqrt(T)
    t_np = LAM * (1 - LAM * (1 - 2 * sympy.sqrt(T) * K(1, r))) / (
        (1 - LAM) * (1 - LAM * (1 - 2 * T * K(2, r)))) + 1
    t_pre = (1 - LAM + LAM * 2 * sympy.sqrt(T) * K(1, r)) / (
        (1 - LAM) * (1 - LAM * (1 - 2 * T * K(2, r))))
    e_np = symbolic_mean_response_time(q, qt.OneBit(False))
    e_pre = symbolic_mean_response_time(q, qt.OneBit(True))
    assert sympy.simplify(e_np - t_np) == 0
    assert sympy.simplify(e_pre - t_pre) == 0
    rng = random.Random(3)
    for _ in range(6):
        pt = {LAM: R(rng.randint(1, 99), 100), T: R(rng.randint(1, 400), 100)}
        for e, ref in ((e_np, t_np), (e_pre, t_pre)):
            assert digits_agree(e.subs(pt).evalf(35), ref.subs(pt).evalf(35)) > 30


def test_one_bit_identity_weibull():
    """Reference: docs/theory/advice.md: with E[X] = 1, E[X^2] = 2... here Weibull(1/2, 1/2)
    has E[X] = 1, E[X^2] = 6, so the identity reads np = (R = 3 lam) ...; we check the
    general identity np - 1 = R (pre - E[X]/(1 - rho_S)) / ... via the printed forms:
    np = E[X] + R[P_S/(1-rho_S) + P_L/((1-rho_S)(1-rho))], pre = E[X]/(1-rho_S) + P_L R/((1-rho_S)(1-rho))."""
    q = qt.MG1(LAM, qt.Weibull(R(1, 2), R(1, 2)), prediction=qt.Threshold(T, qt.Perfect()))
    np_, pre = (symbolic_mean_response_time(q, qt.OneBit(p)) for p in (False, True))
    # eliminate P_L R/((1-rho_S)(1-rho)) between the two printed forms
    x = sympy.Symbol("x", positive=True)
    p_s = 1 - sympy.exp(-sympy.sqrt(2 * T))                      # P(X < T)
    rho_s = LAM * sympy.integrate(x * sympy.diff(1 - sympy.exp(-sympy.sqrt(2 * x)), x),
                                  (x, 0, T))
    lhs = np_ - 1 - 3 * LAM * p_s / (1 - rho_s)
    rhs = pre - 1 / (1 - rho_s)
    for v in ({LAM: R(1, 2), T: R(3, 2)}, {LAM: R(9, 10), T: R(1, 7)}):
        assert digits_agree(lhs.subs(v).evalf(35), rhs.subs(v).evalf(35)) > 30


def test_perfect_bit_optimal_threshold():
    """Reference: docs/theory/advice.md: T* = 1 + W_0(lam/(e(1-lam))), t_pre* = 1/((1-lam)T*)."""
    q = qt.MG1(LAM, qt.Exponential(1), prediction=qt.Threshold(T, qt.Perfect()))
    (t_star,) = symbolic_optimal_threshold(q, qt.OneBit(True))
    printed = 1 + sympy.LambertW(LAM / (sympy.E * (1 - LAM)))
    assert sympy.simplify(t_star - printed) == 0
    e = symbolic_mean_response_time(q, qt.OneBit(True)).subs(T, t_star)
    for lam in (R(1, 10), R(1, 2), R(9, 10), R(99, 100)):
        v, ref = e.subs(LAM, lam).evalf(40), (1 / ((1 - LAM) * printed)).subs(LAM, lam).evalf(40)
        assert digits_agree(v, ref) > 35


def test_pk_and_psjf_residence_closed_forms():
    """Reference: docs/theory/classical.md (PSJF residence = -log(1 - rho)/lambda: the integrand
    x f(x)/(1 - rho_x) is (1/lambda) d rho_x / (1 - rho_x)), checked by mpmath quadrature."""
    e = symbolic_mean_response_time(qt.MG1(LAM, qt.Exponential(1)), qt.PSJF)
    assert e.has(sympy.log(1 - LAM))
    with mpmath.workdps(30):
        res = mpmath.quad(lambda x: x * mpmath.exp(-x) / (1 - mpmath.mpf(1) / 2
                                                         * (1 - (1 + x) * mpmath.exp(-x))),
                          [0, 1, 10, mpmath.inf])
        assert abs(res - 2 * mpmath.log(2)) < mpmath.mpf(10) ** -28


# ------------------------------------------------------------------------------------------
# high precision against independent mpmath quadrature
# ------------------------------------------------------------------------------------------
def _srpt_mm1_reference(lam, dps):
    """Schrage-Miller (docs/theory/classical.md) for Exp(1) sizes, written out for mpmath."""
    with mpmath.workdps(dps + 10):
        lam = mpmath.mpf(lam)
        rho = lambda x: lam * (1 - (1 + x) * mpmath.exp(-x))
        m2 = lambda x: 2 - (x * x + 2 * x + 2) * mpmath.exp(-x) + x * x * mpmath.exp(-x)
        wait = mpmath.quad(lambda x: mpmath.exp(-x) * lam * m2(x) / (2 * (1 - rho(x)) ** 2),
                           [0, 1, 5, 20, mpmath.inf])
        res = mpmath.quad(lambda t: mpmath.exp(-t) / (1 - rho(t)), [0, 1, 5, 20, mpmath.inf])
        return wait + res


@pytest.mark.parametrize("lam", ["0.5", "0.9"])
def test_srpt_30_digits(lam):
    """Reference: mpmath quadrature of Schrage-Miller at 30 digits."""
    q = qt.MG1(sympy.Rational(lam), qt.Exponential(1))
    sym = evaluate(q.mean_response_time(qt.SRPT, method="symbolic"), 32)
    assert digits_agree(sym, _srpt_mm1_reference(lam, 32)) > 29


def test_fb_mm1_equals_fcfs_30_digits():
    """Reference: in M/M/1 every blind work-conserving policy has E[T] = 1/(1 - lam)
    (memorylessness), so FB = FCFS."""
    q = qt.MG1(R(7, 10), qt.Exponential(1))
    with mpmath.workdps(40):
        ref = mpmath.mpf(10) / 3
    assert digits_agree(evaluate(symbolic_mean_response_time(q, qt.FB), 32), ref) > 29


def _uniform_reference(policy, lam, a, b, dps):
    """docs/theory/classical.md for Uniform[a, b] sizes, written out for mpmath:
    rho_x = lam E[X 1{X<=x}], and for FB rhobar_x = lam E[min(X, x)]."""
    with mpmath.workdps(dps):
        lam, a, b = (mpmath.mpf(v.p) / v.q for v in (lam, a, b))  # exact rationals in
        w = b - a
        pm1 = lambda x: (x**2 - a**2) / (2 * w)
        pm2 = lambda x: (x**3 - a**3) / (3 * w)
        sf = lambda x: (b - x) / w
        m2 = pm2(b)
        t = {"SJF": lambda x: x + lam * m2 / (2 * (1 - lam * pm1(x)) ** 2),
             "PSJF": lambda x: x / (1 - lam * pm1(x)) + lam * pm2(x) / (2 * (1 - lam * pm1(x)) ** 2),
             "FB": lambda x: (x / (1 - lam * (pm1(x) + x * sf(x)))
                              + lam * (pm2(x) + x * x * sf(x))
                              / (2 * (1 - lam * (pm1(x) + x * sf(x))) ** 2))}[policy]
        return mpmath.quad(lambda x: t(x) / w, [a, b])


def test_symbolic_parameters_28_digits_random():
    """Uniform(a, b) with symbols a, b, lambda, substituted by random rationals;
    reference: the mpmath quadrature above at 40 digits."""
    a, b = sympy.symbols("a b", positive=True)
    q = qt.MG1(LAM, qt.Uniform(a, b))
    rng = random.Random(29)
    for policy in ("SJF", "PSJF", "FB"):
        e = q.mean_response_time(getattr(qt, policy))
        for _ in range(2):
            v = {a: R(rng.randint(1, 50), 100), b: R(rng.randint(100, 300), 100)}
            v[LAM] = R(rng.randint(10, 95), 100) * 2 / (v[a] + v[b])
            ref = _uniform_reference(policy, v[LAM], v[a], v[b], 40)
            assert digits_agree(evaluate(e, 30, subs=v), ref) > 28, (policy, v)


def test_fast_evaluation_against_reference():
    """evaluate(fast=True) (double precision) against the 30-digit Schrage-Miller
    quadrature above; 1e-13 relative."""
    for lam in ("0.5", "0.95"):
        e = symbolic_mean_response_time(qt.MG1(R(lam), qt.Exponential(1)), qt.SRPT)
        assert close(evaluate(e, fast=True), _srpt_mm1_reference(lam, 30), 1e-13)
    # SJF with Weibull(1/2, 1/2) sizes (a 1/sqrt(x) density at 0), lam = 3/4: with
    # x = u^2/2, E[T] = 1 + int_0^oo e^{-u} 6 lam / (2 (1 - lam gamma(3, u)/2)^2) du
    # (E[X] = 1, E[X^2] = 6, E[X 1{X <= x}] = gamma(3, u)/2, lower incomplete gamma)
    with mpmath.workdps(30):
        lam = mpmath.mpf(3) / 4
        g3 = lambda u: 2 - (u * u + 2 * u + 2) * mpmath.exp(-u)
        ref = 1 + mpmath.quad(lambda u: mpmath.exp(-u) * 3 * lam / (1 - lam * g3(u) / 2) ** 2,
                              [0, 1, 10, mpmath.inf])
    e = symbolic_mean_response_time(qt.MG1(R(3, 4), qt.Weibull(R(1, 2), R(1, 2))), qt.SJF)
    assert close(evaluate(e, fast=True), ref, 1e-13)
    with pytest.raises(ParameterError, match="subs="):
        evaluate(LAM, fast=True)


def test_reference_values_50_digits_srpt():
    """Reference: the same value at 60 digits, and the 30-digit mpmath reference."""
    v50 = reference_mean_response_time("SRPT", "0.9", 50)
    v60 = reference_mean_response_time("SRPT", "0.9", 60)
    assert digits_agree(v50, v60) > 49
    assert digits_agree(v50, _srpt_mm1_reference("0.9", 32)) > 29
    assert str(v50).startswith("3.55212509962678786330326643202652031585444142147")


@pytest.mark.slow
@pytest.mark.parametrize("lam", ["0.5", "0.9"])
def test_reference_values_50_digits_sprpt(lam):
    """Reference: docs/theory/predictions.md SPRPT reduced with the Bessel ingredients, written out
    with mpmath.besselk (an independent K_nu) at 30 digits; and 50 vs 60 digits."""
    v50 = reference_mean_response_time("SPRPT", lam, 50)
    assert digits_agree(v50, reference_mean_response_time("SPRPT", lam, 60)) > 49
    with mpmath.workdps(35):
        L = mpmath.mpf(lam)
        k = lambda n, y: mpmath.besselk(n, 2 * mpmath.sqrt(y))
        rho = lambda y: L * (1 - 2 * y * k(2, y))
        e2 = lambda y: 2 - 2 * y**1.5 * k(3, y)
        old = lambda y: (1 - 2 / mpmath.e) * 2 * y**1.5 * k(3, y)
        wait = mpmath.quad(lambda y: 2 * k(0, y) * L * (e2(y) + old(y)) / (2 * (1 - rho(y)) ** 2),
                           [0, 1, 10, 100, mpmath.inf])
        res = mpmath.quad(lambda z: (1 - 1 / mpmath.e) * 2 * mpmath.sqrt(z) * k(1, z)
                          / (1 - rho(z)), [0, 1, 10, 100, mpmath.inf])
        ref = wait + res + 1 / mpmath.e
    assert digits_agree(v50, ref) > 29


def _trail_mm1_reference(lam, c, dps):
    """docs/theory/predictions.md Trail(c) with Y = X and Exp(1) sizes, written out for mpmath:
    E[T(x)] = lam(E[X^2; X<=x] + E[max(x, (1-c)X)^2; X>x]) / (2(1-rho_x)^2)
    + int_{(1-c)x}^x dz/(1-rho_z) + (1-c)x, averaged over x."""
    with mpmath.workdps(dps):
        lam, c = mpmath.mpf(lam), mpmath.mpf(c)
        e = mpmath.exp
        pm1 = lambda x: 1 - (1 + x) * e(-x)
        pm2 = lambda x: 2 - (x * x + 2 * x + 2) * e(-x)

        def t(x):
            cut = x / (1 - c)
            low = x * x * (e(-x) - e(-cut)) + (1 - c) ** 2 * (cut**2 + 2 * cut + 2) * e(-cut)
            res = mpmath.quad(lambda z: 1 / (1 - lam * pm1(z)), [(1 - c) * x, x])
            return lam * (pm2(x) + low) / (2 * (1 - lam * pm1(x)) ** 2) + res + (1 - c) * x
        return mpmath.quad(lambda x: e(-x) * t(x), [0, 1, 8, 40, mpmath.inf])


def test_trail_symbolic_c_25_digits():
    """Reference: the mpmath quadrature above at lam = 1/2, c = 1/2; the expression is
    built with a symbolic c and c substituted afterwards."""
    c = sympy.Symbol("c", positive=True)
    q = qt.MG1(R(1, 2), qt.Exponential(1))
    e = q.mean_response_time(qt.Trail(c))          # auto -> symbolic (c is a symbol)
    assert e.free_symbols == {c}
    sym = evaluate(e, 28, subs={c: R(1, 2)})
    assert digits_agree(sym, _trail_mm1_reference("0.5", "0.5", 28)) > 25


@pytest.mark.slow
@pytest.mark.parametrize("c", [0.25, 0.75])
def test_trail_expnoise_symbolic_c(c):
    """Trail(c) with ExpNoise predictions (nested integrals), c a symbol substituted
    afterwards, evaluated in double precision; reference: the formula method (docs/theory/predictions.md)."""
    cs = sympy.Symbol("c", positive=True)
    q = qt.MG1(0.7, qt.Exponential(1.0), prediction=qt.ExpNoise())
    e = q.mean_response_time(qt.Trail(cs))
    num = q.mean_response_time(qt.Trail(c), method="formula")
    assert close(evaluate(e, subs={cs: c}, fast=True), num.value,
                 max(10 * num.error / num.value, 1e-12))


def test_trail_endpoints_are_spjf_and_sprpt():
    """Reference: docs/theory/predictions.md: Trail(0) is SPJF, Trail(1) is SPRPT (ExpNoise)."""
    q = qt.MG1(LAM, qt.Exponential(1), prediction=qt.ExpNoise())
    assert symbolic_mean_response_time(q, qt.Trail(0)) == symbolic_mean_response_time(q, qt.SPJF)
    assert symbolic_mean_response_time(q, qt.Trail(1)) == symbolic_mean_response_time(q, qt.SPRPT)


# ------------------------------------------------------------------------------------------
# light and heavy traffic
# ------------------------------------------------------------------------------------------
def test_light_traffic_fcfs_and_srpt():
    """Reference: M/M/1 FCFS 1/(1 - lam) = 1 + lam + lam^2 + ...; SRPT series against the
    evaluated exact mean at small lam (remainder O(lam^3))."""
    lam = sympy.Symbol("lambda", positive=True)
    assert light_traffic(qt.MG1(0.5, qt.Exponential(1)), qt.FCFS, 4).removeO() == \
        1 + lam + lam**2 + lam**3
    series = light_traffic(qt.MG1(0.5, qt.Exponential(1)), qt.SRPT, 3).removeO()
    q = qt.MG1(R(1, 1000), qt.Exponential(1))
    exact_value = evaluate(symbolic_mean_response_time(q, qt.SRPT), 30)
    assert abs(exact_value - series.subs(lam, R(1, 1000))) < 1e-8


def test_heavy_traffic_terms():
    """Reference: docs/theory/classical.md as rho -> 1: FCFS ~ E[X^2]/(2 E[X] (1 - rho)),
    PS ~ E[X]/(1 - rho)."""
    rho = sympy.Symbol("rho", positive=True)
    assert sympy.simplify(heavy_traffic(qt.MG1(0.5, qt.Erlang(2, 3)), qt.FCFS)
                          - R(1, 2) / (1 - rho)) == 0  # E[X^2]/(2E[X]) = (6/9)/(4/3) = 1/2
    assert sympy.simplify(heavy_traffic(qt.MG1(0.5, qt.Erlang(2, 3)), qt.PS)
                          - R(2, 3) / (1 - rho)) == 0
    with pytest.raises(PolicyError, match="heavy-traffic"):
        heavy_traffic(qt.MG1(0.5, qt.Exponential(1)), qt.SRPT)


# ------------------------------------------------------------------------------------------
# LaTeX
# ------------------------------------------------------------------------------------------
def test_latex_is_stable():
    """Reference: the LaTeX sympy prints for the forms in docs/theory (pinned strings)."""
    q = qt.MG1(LAM, qt.Exponential(1))
    assert latex(symbolic_mean_response_time(q, qt.PS)) == r"\frac{1}{1 - \lambda}"
    qb = qt.MG1(LAM, qt.Exponential(1), prediction=qt.Threshold(T, qt.ExpNoise()))
    s = latex(symbolic_mean_response_time(qb, qt.OneBit(True)))
    assert r"K_{1}\left(2 \sqrt{T}\right)" in s and r"K_{2}\left(2 \sqrt{T}\right)" in s
    e = symbolic_mean_response_time(q, qt.SRPT)
    assert latex(e).count(r"\int\limits_{0}^{\infty}") == 2
    # sums start with a positive term, as papers print them (sympy's own order, which a
    # notebook's display uses, starts with -lambda (...))
    assert r"{1 - \lambda \left(1 - \left(z + 1\right) e^{- z}\right)}" in latex(e)


def test_latex_renders_with_mathtext(tmp_path):
    """Reference: Matplotlib's mathtext parser accepts the strings."""
    from matplotlib import mathtext
    q = qt.MG1(LAM, qt.Exponential(1))
    qb = qt.MG1(LAM, qt.Exponential(1), prediction=qt.Threshold(T, qt.ExpNoise()))
    qp = qt.MG1(LAM, qt.Exponential(1), prediction=qt.Threshold(T, qt.Perfect()))
    exprs = [symbolic_mean_response_time(q, qt.FCFS),
             symbolic_mean_response_time(qb, qt.OneBit(True)),
             symbolic_mean_response_time(q, qt.SRPT),
             symbolic_optimal_threshold(qp, qt.OneBit(True))[0]]
    for i, e in enumerate(exprs):
        mathtext.math_to_image("$" + latex(e, mathtext=True) + "$", tmp_path / f"{i}.png")
        assert (tmp_path / f"{i}.png").stat().st_size > 0


# ------------------------------------------------------------------------------------------
# sympy.stats random variables as size laws
# ------------------------------------------------------------------------------------------
def test_sympy_stats_size_law_numeric_and_symbolic():
    """Reference: Gamma(2, scale 1/2): mean 1, E[X^2] = 3/2, CDF 1 - (1 + 2x) e^{-2x};
    P-K (docs/theory/classical.md) for FCFS."""
    X = qt.as_size_law(ss.Gamma("X", 2, R(1, 2)))
    assert isinstance(X, qt.SizeLaw)
    assert X.mean == 1.0 and X.moment(2) == 1.5
    x = np.array([0.3, 1.0, 2.5])
    assert np.allclose(X.cdf(x), 1 - (1 + 2 * x) * np.exp(-2 * x), rtol=1e-14)
    assert np.allclose(X.pdf(x), 4 * x * np.exp(-2 * x), rtol=1e-14)
    s = X.sample(np.random.default_rng(1), 20000)
    assert abs(s.mean() - 1) < 0.03
    q = qt.MG1(0.5, X)
    assert close(q.mean_response_time(qt.SRPT, method="formula"),
                 evaluate(q.mean_response_time(qt.SRPT, method="symbolic"), 18), 1e-9)
    q = qt.MG1(LAM, ss.Exponential("X", MU))
    assert q.symbolic
    assert sympy.simplify(q.mean_response_time(qt.FCFS) - 1 / (MU - LAM)) == 0


def test_sympy_stats_generic_density():
    """Reference: a Beta(2, 2) law on [0, 1] (no special case in qtheory): E[X] = 1/2,
    E[X^2] = 3/10, P-K gives 1/2 + lam (3/10) / (2 (1 - lam/2))."""
    X = qt.as_size_law(ss.Beta("B", 2, 2))
    e = symbolic_mean_response_time(qt.MG1(LAM, X), qt.FCFS)
    assert sympy.simplify(e - (R(1, 2) + LAM * R(3, 10) / (2 * (1 - LAM / 2)))) == 0
    q = qt.MG1(0.8, X)
    assert close(evaluate(symbolic_mean_response_time(q, qt.SRPT), 18),
                 q.mean_response_time(qt.SRPT, method="formula"), 1e-9)


# ------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------
def test_errors_name_parameter_and_fix():
    q = qt.MG1(0.5, qt.Exponential(1))
    with pytest.raises(PolicyError, match="method='soap'"):
        symbolic_mean_response_time(q, qt.Gittins)
    with pytest.raises(ParameterError, match="size = -1"):
        symbolic_response_time(q, qt.SRPT, -1)
    with pytest.raises(ParameterError, match="subs="):
        evaluate(LAM + 1)
    with pytest.raises(ParameterError, match="digits"):
        evaluate(sympy.Integer(1), digits=0)
    with pytest.raises(ParameterError, match="order"):
        light_traffic(q, qt.FCFS, order=0)
    custom = qt.CustomPrediction(pdf=lambda y, x: np.exp(-y / x) / x,
                                 sample=lambda x, rng: x * rng.exponential(1.0, np.shape(x)))
    with pytest.raises(PolicyError, match="method='formula'"):
        symbolic_mean_response_time(qt.MG1(0.5, qt.Exponential(1), custom), qt.SPRPT)
    with pytest.raises(PolicyError, match="Threshold"):
        q.mean_response_time(qt.OneBit(), method="symbolic")
    with pytest.raises(ParameterError, match="sympy.stats"):
        size_law_from_sympy(sympy.Symbol("x"))
    with pytest.raises(ParameterError, match="support"):
        size_law_from_sympy(ss.Normal("N", 0, 1))
    # constructors that accept symbols still reject bad numbers
    with pytest.raises(ParameterError, match="high = 1"):
        qt.Uniform(2, 1)
    with pytest.raises(ParameterError, match="high = 1"):
        qt.BoundedPareto(1.5, 2, 1)
    with pytest.raises(ParameterError, match="k = 2.5"):
        qt.Erlang(2.5, 1)
    with pytest.raises(ParameterError, match="thresholds"):
        qt.PriorityClasses([T, 2, 1])
    with pytest.raises(UnstableError):   # a symbolic threshold leaves the load numeric
        qt.MG1(1.5, qt.Exponential(1), prediction=qt.Threshold(T))


def test_canonical_forms_read_like_the_textbook():
    """Elementary results come out as papers write them (M/M/1: FCFS, PS and LCFS give
    1/(mu - lambda), Harchol-Balter 2013 ch. 13 and 22), Pollaczek-Khinchine on
    Erlang-2 sizes simplifies to the textbook form, and simplify=False keeps the raw
    derivation (equal, not identical)."""
    lam, mu = sympy.symbols("lambda mu", positive=True)
    q = qt.MG1(lam, qt.Exponential(mu))
    for policy in (qt.FCFS, qt.PS, qt.LCFS):
        e = q.mean_response_time(policy, method="symbolic")
        assert e == 1 / (mu - lam), (policy, e)
        raw = q.mean_response_time(policy, method="symbolic", simplify=False)
        assert sympy.simplify(raw - e) == 0
    assert latex(q.mean_response_time(qt.FCFS, method="symbolic")) == r"\frac{1}{\mu - \lambda}"
    # Erlang(2, mu): E[X] = 2/mu, E[X^2] = 6/mu^2; P-K: E[X] + lambda E[X^2] / (2(1 - rho))
    e = qt.MG1(lam, qt.Erlang(2, mu)).mean_response_time(qt.FCFS, method="symbolic")
    textbook = 2 / mu + lam * 6 / mu**2 / (2 * (1 - 2 * lam / mu))
    assert sympy.simplify(e - textbook) == 0 and sympy.count_ops(e) <= sympy.count_ops(textbook)


def test_paper_forms_in_the_load():
    """In the load rho = lambda E[X], the textbook forms (Harchol-Balter 2013, ch. 13 and
    23): M/M/1 E[T] = (1/mu) / (1 - rho) for FCFS, PS and LCFS; M/G/1 FCFS on Erlang-2
    sizes (Pollaczek-Khinchine) E[X] + rho E[X^2] / (2 E[X] (1 - rho)); by simplification
    to zero, and their LaTeX as printed."""
    lam, mu = sympy.symbols("lambda mu", positive=True)
    rho = sympy.Symbol("rho", positive=True)
    q = qt.MG1(lam, qt.Exponential(mu))
    forms = {p.__name__: qt.in_load(q.mean_response_time(p), lam, 1 / mu)
             for p in (qt.FCFS, qt.PS, qt.LCFS)}
    for e in forms.values():
        assert sympy.simplify(e - (1 / mu) / (1 - rho)) == 0
    assert qt.latex(forms["FCFS"]) == r"\frac{1}{\mu \left(1 - \rho\right)}"
    assert qt.latex(forms) == ("\\begin{aligned}\n"
                               "E[T_{\\mathrm{FCFS}}] &= \\frac{1}{\\mu \\left(1 - \\rho\\right)} \\\\\n"
                               "E[T_{\\mathrm{PS}}] &= \\frac{1}{\\mu \\left(1 - \\rho\\right)} \\\\\n"
                               "E[T_{\\mathrm{LCFS}}] &= \\frac{1}{\\mu \\left(1 - \\rho\\right)}\n"
                               "\\end{aligned}")
    e = qt.MG1(lam, qt.Erlang(2, mu)).mean_response_time(qt.FCFS)
    ex, ex2 = 2 / mu, 6 / mu**2
    assert sympy.simplify(qt.in_load(e, lam, ex) - (ex + rho * ex2 / (2 * ex * (1 - rho)))) == 0
