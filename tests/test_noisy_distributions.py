"""Response-time distributions under noisy predictions (methods/distribution/noisy.py;
docs/theory/distributions.md, "Noisy predictions"). Each number is held against an
independent computation: Mitzenmacher's mean formulas (methods/formula, which share only
the size and prediction laws with these structures), scipy quadrature of the vacation
piece, the limits of Trail, and the simulator within its confidence interval."""

import math

import numpy as np
import pytest
import scipy.integrate as si

import qtheory as qt
from qtheory.analysis.validate import t_limit
from qtheory.methods.distribution.inversion import euler_nodes
from qtheory.methods.distribution.noisy import NoisyStructure, _ExcessTable

EXP = qt.Exponential(1.0)
HYPER = qt.Hyperexponential.balanced(1.0, 10.0)
NOISE = {"exp": qt.ExpNoise(), "uniform": qt.UniformNoise(0.5),
         "lognormal": qt.LognormalNoise(0.5)}


def _mean_agrees(q, policy):
    d = q.response_time_distribution(policy)
    assert d.method == "formula"
    got = d.mean()
    ref = q.mean_response_time(policy, method="formula")
    # both are quadratures with stated errors; 1e-9 relative covers either's rounding
    assert abs(got.value - ref.value) <= got.error + ref.error + 1e-9 * ref.value, (got, ref)
    return d


QUICK = [(qt.SPRPT(), "exp", EXP), (qt.PSPJF(), "lognormal", EXP),
         (qt.SPJF(), "uniform", EXP), (qt.Trail(0.5), "uniform", EXP),
         (qt.SPRPT(), "exp", HYPER)]


@pytest.mark.parametrize("policy, noise, law", QUICK, ids=lambda v: str(v))
def test_first_moment_equals_the_mean_formula(policy, noise, law):
    """E[T] from the distribution's closed moments = Mitzenmacher 2020's formulas (SPRPT,
    PSPJF, SPJF) and Trail's (Shahout et al. 2025), evaluated by methods/formula."""
    _mean_agrees(qt.MG1(0.8 / law.mean, law, NOISE[noise]), policy)


@pytest.mark.slow
@pytest.mark.parametrize("noise", NOISE)
@pytest.mark.parametrize("law", [EXP, HYPER, qt.Weibull(0.5, 0.5)], ids=str)
@pytest.mark.parametrize("policy", [qt.SPRPT(), qt.PSPJF(), qt.SPJF(), qt.Trail(0.3),
                                    qt.Trail(0.8)], ids=str)
@pytest.mark.parametrize("rho", [0.5, 0.9])
def test_first_moment_equals_the_mean_formula_across_laws(policy, law, noise, rho):
    _mean_agrees(qt.MG1(rho / law.mean, law, NOISE[noise]), policy)


@pytest.mark.parametrize("preemptive", [False, "resume"])
@pytest.mark.parametrize("noise", ["exp", "lognormal"])
def test_one_bit_first_moment_equals_the_mean_formula(preemptive, noise):
    """One bit from a noisy predictor (Mitzenmacher 2021's classes)."""
    q = qt.MG1(0.8, EXP, qt.Threshold(1.0, NOISE[noise]))
    _mean_agrees(q, qt.OneBit(preemptive))


@pytest.mark.parametrize("c", [1.0, 0.5])
def test_vacation_moments_against_scipy_quad(c):
    """E[V^k] of V = (X − b_r(Y))⁺ 1{Y > r}, b_r(y) = min(y − r, cy): the table's
    interpolated density against scipy's quad of P(V > 0) and of the prediction model's
    own E[V² | X = x] (limited_square)."""
    noise, r = qt.ExpNoise(), np.array([0.1, 1.0, 3.0])
    m = _ExcessTable(EXP, noise, r, c).moments()
    for i, ri in enumerate(r):
        def square(x):
            return math.exp(-x) * float(noise.limited_square(x, ri, c))

        def positive(x):
            top = max(ri + x, x / c if c > 0 else ri) if c < 1 else ri + x
            return math.exp(-x) * si.quad(
                lambda y: float(noise.pdf(y, x)) * (x > min(y - ri, c * y)), ri, top + 50,
                points=[ri / (1 - c) if c < 1 else ri + x, top], limit=200)[0]
        ref2 = si.quad(square, 0, np.inf, limit=200, epsabs=1e-13)[0]
        ref0 = si.quad(positive, 0, 60, limit=200, epsabs=1e-13)[0]
        assert m[2][i] == pytest.approx(ref2, rel=1e-8)
        assert m[0][i] == pytest.approx(ref0, rel=1e-8)


@pytest.mark.parametrize("noise", ["exp", "uniform"])
def test_trail_one_is_sprpt_and_trail_zero_is_spjf(noise):
    """Trail(1) = SPRPT and Trail(0) = SPJF (their ranks coincide): the transforms agree
    at complex arguments, though Trail(c) takes the two-part vacation path."""
    q = qt.MG1(0.7, EXP, NOISE[noise])
    s = np.array([0.3 + 0.5j, 1.0, 0.05 + 2j])
    for c, twin in ((1.0 - 1e-12, qt.SPRPT()), (0.0, qt.SPJF())):
        a = NoisyStructure(q, qt.Trail(c)).transform(s)
        b = NoisyStructure(q, twin).transform(s)
        assert np.max(np.abs(a - b)) < 1e-9


def test_transform_and_moments_agree_near_zero():
    """(1 − T̃(s))/s = E[T] − s E[T²]/2 + s² E[T³]/6 − ...: the transform (Newton on
    Kendall's equation, interpolated vacations) against the closed moments."""
    q = qt.MG1(0.8, EXP, qt.ExpNoise())
    d = q.response_time_distribution(qt.SPRPT)
    m1, m2, m3 = (d.moment(k).value for k in (1, 2, 3))
    s = np.array([2e-3, 1e-3])
    lhs = ((1 - d.lst(s)) / s).real
    rhs = m1 - s * m2 / 2 + s**2 * m3 / 6
    # the next term s³ E[T⁴]/24 with E[T⁴] below 1e6 here: below 4e-4 at s = 2e-3
    assert np.all(np.abs(lhs - rhs) < 4e-4)


def test_given_the_size_averages_to_the_whole():
    """E[T] = E_X[E[T | X]] by the size law's quadrature over the conditional means."""
    q = qt.MG1(0.7, EXP, qt.ExpNoise())
    ns = NoisyStructure(q, qt.SPRPT())
    xs, ws = np.polynomial.laguerre.laggauss(40)          # ∫ e^{-x} g(x) dx
    given = np.array([ns.moments(float(x))[0][0] for x in xs])
    assert ws @ given == pytest.approx(ns.moments()[0][0], rel=1e-7)


# -- given the prediction ---------------------------------------------------------------------
def _marginal_density(q, y):
    """f_Y(y) = ∫ f(x) h(y | x) dx by scipy quad (Exp(1) sizes)."""
    return si.quad(lambda x: math.exp(-x) * float(q.prediction.pdf(y, x)), 0, math.inf,
                   epsabs=0, epsrel=1e-13, limit=200)[0]


@pytest.mark.parametrize("policy", [qt.SPRPT(), qt.PSPJF(), qt.SPJF(), qt.Trail(0.5)], ids=str)
def test_given_the_prediction_mean_against_the_mean_formula(policy):
    """E[T | X = x, Y = y] is the mean formula's E[T(x, y)] (methods/formula), and
    E[T | Y = y] its scipy quad over x with weights f(x) h(y | x) / f_Y(y)."""
    q = qt.MG1(0.8, EXP, qt.ExpNoise())
    y = 1.5
    both = q.response_time_distribution(policy, size=2.0, prediction=y).mean()
    assert both.value == pytest.approx(q.response_time(policy, 2.0, y), rel=1e-11)

    def weighted(x):
        return math.exp(-x) * float(q.prediction.pdf(y, x)) * q.response_time(policy, x, y)

    ref = (si.quad(weighted, 0, 2 * y, epsabs=0, epsrel=1e-12, limit=200, points=[y / 2, y])[0]
           + si.quad(weighted, 2 * y, math.inf, epsabs=0, epsrel=1e-12, limit=200)[0])
    ref /= _marginal_density(q, y)
    got = q.response_time_distribution(policy, prediction=y).mean()
    assert abs(got.value - ref) <= got.error + 1e-10 * ref, (got, ref)


@pytest.mark.slow
def test_given_the_prediction_second_moments_average_to_the_whole():
    """E[T²] = ∫ f_Y(y) E[T² | Y = y] dy by scipy quad over y (Trail(0.5): each y has its
    own vacation table at that single level), against the unconditional closed moment
    (measured: 5e-11 relative; 600 conditional moments, 35 s)."""
    q = qt.MG1(0.8, EXP, qt.ExpNoise())
    ns = NoisyStructure(q, qt.Trail(0.5))

    def g(y):
        return _marginal_density(q, y) * ns.moments(None, y)[0][1]

    total = sum(si.quad(g, a, b, epsabs=0, epsrel=1e-10, limit=100)[0]
                for a, b in ((0, 1), (1, 10), (10, 40)))
    total += si.quad(g, 40, math.inf, epsabs=0, epsrel=1e-6, limit=100)[0]   # 1e-3 of it
    m2, e2 = ns.moments()
    assert total == pytest.approx(m2[1], rel=1e-9)


@pytest.mark.parametrize("noise", [qt.ExpNoise(), qt.Perfect()], ids=str)
def test_given_the_bit_mixes_to_the_whole(noise):
    """One bit: P(short) T|short + P(long) T|long is T, in the mean and in the tail (the
    tails invert separately), and E[T | x, bit] is the one-bit mean formula's E[T(x)]."""
    q = qt.MG1(0.8, EXP, qt.Threshold(1.0, noise))
    policy = qt.OneBit(False)
    whole = q.response_time_distribution(policy)
    parts = [q.response_time_distribution(policy, prediction=b) for b in (0, 1)]
    if isinstance(noise, qt.Perfect):
        p0 = 1 - math.exp(-1.0)                                  # P(X < T)
    else:
        p0 = si.quad(lambda x: math.exp(-x) * float(q.prediction.short_prob(x)), 0,
                     math.inf, epsabs=0, epsrel=1e-13)[0]
    mix = p0 * parts[0].mean().value + (1 - p0) * parts[1].mean().value
    assert mix == pytest.approx(whole.mean().value, rel=1e-10)
    t = np.array([2.0, 10.0])
    (v0, e0), (v1, e1) = (d.sf(t, error=True) for d in parts)
    v, e = whole.sf(t, error=True)
    assert np.all(np.abs(p0 * v0 + (1 - p0) * v1 - v) <= e + e0 + e1)
    for bit, x in ((0, 0.5), (1, 2.0)):
        got = q.response_time_distribution(policy, size=x, prediction=bit).mean().value
        assert got == pytest.approx(q.response_time(policy, x, prediction=bit), rel=1e-11)


def test_perfect_predictions_make_the_prediction_the_size():
    q = qt.MG1(0.8, EXP, qt.Perfect())
    a = q.response_time_distribution(qt.SPRPT(), prediction=2.0)
    b = q.response_time_distribution(qt.SPRPT(), size=2.0)
    assert a.size == 2.0 and a.mean().value == b.mean().value


def test_given_the_prediction_bad_input():
    noisy = qt.MG1(0.8, EXP, qt.ExpNoise())
    with pytest.raises(qt.PolicyError, match="does not rank by predictions"):
        noisy.response_time_distribution(qt.SRPT(), prediction=1.0)
    with pytest.raises(qt.ParameterError, match="prediction = -1"):
        noisy.response_time_distribution(qt.SPRPT(), prediction=-1.0)
    bits = qt.MG1(0.8, EXP, qt.Threshold(1.0, qt.Perfect()))
    with pytest.raises(qt.ParameterError, match="0 \\(short\\) or 1 \\(long\\)"):
        bits.response_time_distribution(qt.OneBit(False), prediction=2)
    with pytest.raises(qt.ParameterError, match="contradicts size"):
        bits.response_time_distribution(qt.OneBit(False), size=0.5, prediction=1)
    with pytest.raises(qt.ParameterError, match="perfect predictions a job's prediction"):
        qt.MG1(0.8, EXP).response_time_distribution(qt.SPRPT(), size=1.0, prediction=2.0)
    uniform = qt.MG1(0.5, qt.Uniform(1.0, 2.0), qt.UniformNoise(0.5))   # Y in (0.5, 3)
    with pytest.raises(qt.ParameterError, match="density 0"):
        uniform.response_time_distribution(qt.SPRPT(), prediction=5.0).mean()


@pytest.mark.parametrize("policy, pred, rho, ps", [
    (qt.SPRPT(), qt.ExpNoise(), 0.9, (0.99,)),
    pytest.param(qt.SPRPT(), qt.ExpNoise(), 0.9, (0.5, 0.9), marks=pytest.mark.slow),
    pytest.param(qt.Trail(0.5), qt.UniformNoise(0.5), 0.8, (0.5, 0.9, 0.99),
                 marks=pytest.mark.slow),
    pytest.param(qt.PSPJF(), qt.LognormalNoise(1.0), 0.9, (0.5, 0.99),
                 marks=pytest.mark.slow),
    (qt.OneBit(False), qt.Threshold(1.0, qt.ExpNoise()), 0.8, (0.5, 0.9, 0.99)),
    (qt.OneBit("resume"), qt.Threshold(2.0, qt.LognormalNoise(1.0)), 0.9, (0.5, 0.99)),
], ids=["sprpt-exp-0.9", "sprpt-exp-0.9-body", "trail-uniform-0.8", "pspjf-lognormal-0.9",
        "onebit-exp-0.8", "onebit-resume-lognormal-0.9"])
def test_quantiles_and_second_moment_against_simulation(policy, pred, rho, ps):
    """Quantiles and E[T²] inside the simulator's replicated confidence intervals
    (|t| below the 4-sigma limit; fixed seed)."""
    q = qt.MG1(rho, EXP, pred)
    d = q.response_time_distribution(policy)
    sim = q.simulate(policy, jobs=400_000, replications=10, seed=11, quantiles=ps)
    limit = t_limit(4.0, 10)
    for p, est in sim.quantiles.items():
        theory = d.quantile(p)
        z = (theory.value - est.mean) / est.std_error
        assert abs(z) < limit, (p, theory, est)
    m2 = sim.moment(2)
    assert abs((d.moment(2).value - m2.mean) / m2.std_error) < limit


@pytest.mark.slow
def test_quantile_error_is_the_inversion_error():
    """The P99's stated error covers the change between two Euler orders."""
    q = qt.MG1(0.8, EXP, qt.ExpNoise())
    d = q.response_time_distribution(qt.SPRPT)
    p99 = d.quantile(0.99)
    for M in (14, 18):
        beta, eta = euler_nodes(M)
        u = p99.value
        sf = float(((1 - d.lst(beta / u)) / (beta / u)).real @ eta / u)
        assert abs(sf - 0.01) / d.pdf(u)[0] < max(p99.error * 10, 1e-9)
