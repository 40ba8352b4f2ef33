"""Size laws at the edges of double precision: a law a queue cannot use is refused where
the queue takes it, by name, and the laws that can be used stay accurate at extreme
parameters (found by tests/test_fuzz.py)."""

import math

import mpmath
import pytest
from scipy import stats

import qtheory as qt


@pytest.mark.parametrize("law, error, words", [
    (qt.Empirical([0.0, 0.0]), qt.ParameterError, "positive mean"),
    (qt.Lognormal(-700.0, 1e300), qt.ParameterError, "overflows double precision"),
    (qt.Lognormal(700.0, 1e12), qt.ParameterError, "overflows double precision"),
    (qt.Weibull(1e-12, 41.0), qt.ParameterError, "overflows double precision"),
    (stats.pareto(0.8), qt.InfiniteMomentError, "infinite mean"),
])
def test_unusable_laws_are_refused_by_name(law, error, words):
    with pytest.raises(error, match=words) as info:
        qt.MG1(0.5, law)
    assert "size" in str(info.value)


def test_weibull_shape_domain_points_to_deterministic():
    with pytest.raises(qt.ParameterError, match="Deterministic"):
        qt.Weibull(1e300, 77.0)
    assert qt.Weibull(1000.0, 2.0).mean == pytest.approx(2.0 * math.gamma(1.001), rel=1e-15)


def test_bounded_pareto_alpha_domain_points_to_deterministic():
    """Above alpha = 1e4 the density's round-off (about alpha * 1e-16) is more than the
    quadrature's stated error: the law is refused with the point mass to use instead."""
    with pytest.raises(qt.ParameterError, match="Deterministic"):
        qt.BoundedPareto(1e12, 3.0, 27329.0)


def test_a_law_in_a_sliver_gets_its_quadrature_cuts_inside_it():
    """BoundedPareto(1e4) holds 1 - 1e-6 of its mass within 0.15 % of its low end, closer
    than the log grid's 1.2 % spacing; at load 1e-12, E[T] is E[X] (closed form) up to
    1e-12 relative, by formula and SOAP under noisy predictions (Trail(0), SPJF's rank
    with a last-moment cut: the case the fuzz suite found returning 0)."""
    X = qt.BoundedPareto(1e4, 6.593229533218284, 41471.27185795404)
    q = qt.MG1(1e-12 / X.mean, X, qt.ExpNoise())
    for method in ("formula", "soap"):
        r = q.mean_response_time(qt.Trail(0.0), method=method)
        assert abs(r.value - X.mean) <= 1e-11 * X.mean + 4 * r.error, (method, r)


@pytest.mark.parametrize("alpha, low, high", [(1.5, 1.0, 1e4), (1e-12, 1.0, 10.0),
                                              (1e4, 3.0, 27329.0), (40.0, 1e-300, 1e-299),
                                              (2.5, 1e250, 1e300)])
def test_bounded_pareto_at_extreme_parameters(alpha, low, high):
    """Reference: the textbook density alpha L^alpha x^(-alpha-1) / (1 - (L/H)^alpha)
    integrated by mpmath at 60 digits (CDF, tail and mean in closed form)."""
    law = qt.BoundedPareto(alpha, low, high)
    with mpmath.workdps(60):
        a, L, H = mpmath.mpf(alpha), mpmath.mpf(low), mpmath.mpf(high)
        c = a * L**a / (1 - (L / H) ** a)
        x = mpmath.sqrt(L * H)
        cdf = c / a * (L**-a - x**-a)
        sf = c / a * (x**-a - H**-a)
        mean = c * (H ** (1 - a) - L ** (1 - a)) / (1 - a)
    xf = float(x)
    assert float(law.cdf(xf)) == pytest.approx(float(cdf), rel=1e-12, abs=1e-300)
    assert float(law.sf(xf)) == pytest.approx(float(sf), rel=1e-12, abs=1e-300)
    assert law.mean == pytest.approx(float(mean), rel=1e-12)


@pytest.mark.parametrize("scale", [1e-300, 1e300])
def test_distribution_slowdown_and_response_time_at_extreme_scales(scale):
    """At a fixed load T scales with the sizes (X = s Z, lambda = lambda_Z / s gives
    T = s T_Z): reference, the same queue at scale 1 (computed without rescaling, so an
    independent path through the numerics), scaled by s."""
    q1 = qt.MG1(0.9, qt.Exponential(1.0))
    qs = qt.MG1(0.9 / scale, qt.Exponential(1.0 / scale))
    d1, ds = q1.response_time_distribution(qt.PSJF), qs.response_time_distribution(qt.PSJF)
    assert ds.mean().value == pytest.approx(d1.mean().value * scale, rel=1e-12)
    with pytest.raises(qt.ParameterError, match="outside double precision"):
        ds.variance()     # about 200 s^2: 1e-598 or 1e602, not a double
    p1, ps = d1.quantile(0.9), ds.quantile(0.9)
    assert abs(ps.value / scale - p1.value) <= 4 * (p1.error + ps.error / scale)
    assert ds.sf([2 * scale])[0] == pytest.approx(d1.sf([2.0])[0], abs=1e-9)
    assert qs.response_time(qt.PSJF, 2 * scale) == pytest.approx(
        q1.response_time(qt.PSJF, 2.0) * scale, rel=1e-12)
    qd, qds = (qt.MG1(0.9 / s, qt.Deterministic(s), qt.Perfect()) for s in (1.0, scale))
    for method in ("formula", "soap"):
        ref = qd.mean_slowdown(qt.Trail(0.5), method=method)
        got = qds.mean_slowdown(qt.Trail(0.5), method=method)
        assert got.method == ref.method == method
        assert got.value == pytest.approx(ref.value, rel=1e-12)


def test_exp_noise_with_ratios_beyond_double_precision():
    """ExpNoise's exponentials of -y/x at y/x = 1e300/1e-10 are exactly 0, without a
    RuntimeWarning (the suite turns those into errors). Reference: an empty class beyond
    all the mass changes nothing: classes at (0.1, 0.1, 1e300) equal one cut at 0.1."""
    law = stats.lognorm(1.4935737835428)
    q = qt.MG1(0.43 / law.mean(), law, qt.ExpNoise())
    three = q.mean_response_time(qt.PriorityClasses([0.1, 0.1, 1e300]))
    one = q.mean_response_time(qt.PriorityClasses([0.1]))
    assert three.value == pytest.approx(one.value, rel=1e-9)


@pytest.mark.parametrize("tiny", [1e-3, 1e-6, 1e-30])
def test_prediction_policies_on_a_tiny_atom(tiny):
    """Sizes {tiny, 27.1, 88.6} with ExpNoise predictions: a third of Y's mass is a spike
    near ``tiny``, which the formula's y quadrature (QUADPACK from the law's scale) and
    the SOAP y grid (from 1e-14 of it) both missed: SPRPT 49.155, SPJF 50.99 for 50.135
    and 52.358. Independent witnesses: formula = SOAP within their errors, and the
    simulator (compiled SPRPT) within 4 standard errors."""
    law = qt.Empirical([27.113898243396633, tiny, 88.61460288744316])
    q = qt.MG1(0.3 / law.mean, law, qt.ExpNoise())
    for policy in (qt.SPRPT, qt.SPJF, qt.Trail(0.5)):
        f, s = (q.mean_response_time(policy, method=m) for m in ("formula", "soap"))
        assert abs(f.value - s.value) <= 4 * (f.error + s.error) + 1e-8 * s.value, policy
    sim = q.simulate(qt.SPRPT, jobs=400_000, replications=10, seed=3)
    f = q.mean_response_time(qt.SPRPT)
    assert abs(f.value - sim.mean_response_time) <= 4 * sim.std_error


@pytest.mark.slow
def test_rank_on_a_tiny_atom():
    """A user's rank on sizes {1e-30, 27.1, 88.6} with ExpNoise predictions by SOAP: a
    third of the predictions lie near 1e-30, below the y grid's old floor (1e-14 of the
    scale), and E[T] came out 49.126 +- 8e-8 for 50.19; the sizes {1e-300, ...} also
    exercise the bisection of the profile's structure across batches of different widths.
    Reference: the simulator (Python loop: a small run), within 4 standard errors."""
    rank = qt.Rank(lambda y, a: min(y - a, 2.0), name="capped SPRPT")
    law = qt.Empirical([27.113898243396633, 1e-30, 88.61460288744316])
    q = qt.MG1(0.3 / law.mean, law, qt.ExpNoise())
    r = q.mean_response_time(rank, method="soap")
    with pytest.warns(qt.PerformanceWarning):
        sim = q.simulate(rank, jobs=60_000, replications=5, seed=11)
    assert abs(r.value - sim.mean_response_time) <= 4 * sim.std_error + 4 * r.error
    assert r.error < 0.01 * sim.std_error * 4
    wide = qt.Empirical([27.113898243396633, 1e-300, 88.61460288744316])
    r300 = qt.MG1(0.3 / wide.mean, wide, qt.ExpNoise()).mean_response_time(rank, method="soap")
    assert abs(r300.value - r.value) <= 4 * r300.error + 4 * r.error


def test_weibull_density_at_the_largest_shape():
    """Weibull(1000): (x/s)^(c-1) overflows where exp(-(x/s)^c) underflows, and the
    density was inf * 0 = NaN beyond about 2.1 s (every formula under noisy predictions
    then raised ConvergenceError). Reference: the density in log space by mpmath."""
    law = qt.Weibull(1000.0, 2.0)
    for x in (1.0, 1.99, 2.0, 2.002, 2.1, 4.0, 1e3):
        with mpmath.workdps(40):
            z = (mpmath.mpf(x) / 2) ** 1000
            ref = 1000 / mpmath.mpf(x) * z * mpmath.exp(-z)
        assert float(law.pdf(x)) == pytest.approx(float(ref), rel=1e-12, abs=1e-300)


#: SPJF under ExpNoise on Weibull(1000, 2) at load 0.5: E[X] + (lambda E[X^2] / 2)
#: ∫ f_Y(y) / (1 - rho(y))^2 dy with rho(y) = lambda E[X (1 - e^{-y/X})] and
#: f_Y(y) = E[e^{-y/X} / X] (Mitzenmacher 2020's non-preemptive form), every integral by
#: mpmath.quad at 25 digits over u = F(x) (test_weibull_spjf_reference_by_mpmath).
SPJF_WEIBULL_1000 = 2.998272324600670898124449


def test_weibull_largest_shape_under_noisy_predictions():
    law = qt.Weibull(1000.0, 2.0)
    q = qt.MG1(0.5 / law.mean, law, qt.ExpNoise())
    r = q.mean_response_time(qt.SPJF, method="formula")
    assert abs(r.value - SPJF_WEIBULL_1000) <= 4 * r.error + 1e-15


@pytest.mark.slow
def test_weibull_spjf_reference_by_mpmath():
    """The reference above, recomputed (about a minute)."""
    c, s = 1000, 2
    with mpmath.workdps(25):
        xu = lambda u: s * (-mpmath.log1p(-u)) ** (mpmath.mpf(1) / c)   # noqa: E731
        m1, m2 = s * mpmath.gamma(1 + mpmath.mpf(1) / c), s**2 * mpmath.gamma(1 + mpmath.mpf(2) / c)
        lam = mpmath.mpf(0.5) / float(m1)
        rho = lambda y: lam * mpmath.quad(lambda u: xu(u) * (1 - mpmath.exp(-y / xu(u))),  # noqa: E731
                                          [0, 0.5, 1])
        fy = lambda y: mpmath.quad(lambda u: mpmath.exp(-y / xu(u)) / xu(u), [0, 0.5, 1])  # noqa: E731
        inner = mpmath.quad(lambda y: fy(y) / (1 - rho(y)) ** 2,
                            [0, 0.5, 1, 2, 4, 8, 16, 64, mpmath.inf])
        ref = m1 + lam * m2 / 2 * inner
    assert float(ref) == pytest.approx(SPJF_WEIBULL_1000, rel=1e-15)
