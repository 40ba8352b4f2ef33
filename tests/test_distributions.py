"""Response-time distributions (docs/theory/distributions.md): every number is checked
against a textbook result, an independent computation or the simulator."""

import math

import mpmath as mp
import numpy as np
import pytest
import scipy.integrate as si

import qtheory as qt
from qtheory.analysis.validate import t_limit
from qtheory.core.errors import ParameterError, PolicyError
from qtheory.laws.transforms import partial_lst
from qtheory.methods.distribution.inversion import euler

LAWS = {
    "exp": qt.Exponential(1.0),
    "hyper": qt.Hyperexponential.balanced(1.0, 10.0),
    "weibull": qt.Weibull(0.5, 0.5),
    "lognormal": qt.Lognormal.from_mean(1.0, 1.0),
    "bpareto": qt.BoundedPareto(1.5, 0.2, 100.0),
    "uniform": qt.Uniform(0.2, 1.8),
    "discrete": qt.Empirical([0.5, 1.0, 1.0, 3.0]),
}
POLICIES = [qt.FCFS, qt.LCFS, qt.FB, qt.PSJF, qt.SRPT, qt.SJF]


# -- the partial transforms ----------------------------------------------------------------
@pytest.mark.parametrize("name", ["exp", "hyper", "weibull", "lognormal", "bpareto", "uniform"])
@pytest.mark.parametrize("k", [0, 1])
def test_partial_transforms_against_scipy_quad(name, k):
    """E[X^k e^{-zX}; X <= u] against scipy's adaptive quadrature of the density."""
    law = LAWS[name]
    z = np.array([0.3 + 0j, 1 + 5j, 0.05 + 40j, 3 - 2j])
    lo, hi = law.support
    for u in (0.7, 3.0, math.inf):
        got = partial_lst(law, z, u, k)
        b = min(u, hi)
        for zz, g in zip(z, got):
            def part(x, imag):
                v = x**k * np.exp(-zz * x) * law.pdf(x)
                return v.imag if imag else v.real
            pts = [lo] + [p for p in (1e-6, 1e-3, 0.1, 1.0, 10.0) if lo < p < b]
            ends = pts + [b]
            ref = sum(si.quad(part, a, c, args=(im,), limit=2000, epsabs=1e-15)[0]
                      * (1j if im else 1) for im in (0, 1) for a, c in zip(ends[:-1], ends[1:]))
            assert abs(g - ref) < 1e-11, (name, u, zz, g, ref)


def test_euler_inversion_of_known_transforms():
    """Abate-Whitt Euler: 1 - e^{-t} from 1/(s(s+1)) and t e^{-t} from 1/(s+1)^2, with an
    error estimate that covers the true error."""
    t = np.array([0.05, 0.5, 2.0, 10.0, 40.0])
    for transform, exact in ((lambda s: 1 / (s * (s + 1)), 1 - np.exp(-t)),
                             (lambda s: 1 / (s + 1) ** 2, t * np.exp(-t))):
        v, err = euler(transform, t)
        assert np.all(np.abs(v - exact) <= err) and np.all(err < 1e-8)


# -- textbook results ----------------------------------------------------------------------
def test_mm1_fcfs_response_time_is_exponential():
    """M/M/1 FCFS: T ~ Exp(mu - lambda) (e.g. Harchol-Balter 2013, §13.2): CDF, density,
    moments and quantiles up to p = 0.9999, each within its stated error."""
    q = qt.MG1(0.7, qt.Exponential(1.0))
    d = q.response_time_distribution(qt.FCFS)
    t = np.array([0.1, 1.0, 3.0, 10.0, 30.0])
    v, err = d.cdf(t, error=True)
    exact = 1 - np.exp(-0.3 * t)
    assert np.all(np.abs(v - exact) <= err) and np.all(err < 1e-8)
    assert np.allclose(d.pdf(t), 0.3 * np.exp(-0.3 * t), rtol=1e-7, atol=1e-11)
    assert d.moment(1).value == pytest.approx(1 / 0.3, rel=1e-14)
    assert d.moment(2).value == pytest.approx(2 / 0.3**2, rel=1e-14)
    assert d.variance().value == pytest.approx(1 / 0.3**2, rel=1e-13)
    for p in (0.5, 0.9, 0.99, 0.999, 0.9999):
        r = d.quantile(p)
        exact = -math.log1p(-p) / 0.3
        assert abs(r.value - exact) <= r.error and r.error < 1e-6 * exact, (p, r, exact)


@pytest.mark.parametrize("name", list(LAWS))
def test_mg1_fcfs_second_moment_takacs(name):
    """M/G/1 FCFS: E[W^2] = 2 E[W]^2 + lambda E[X^3] / (3(1 - rho)) (Takacs 1962), W and X
    independent, so E[T^2] = E[W^2] + 2 E[W] E[X] + E[X^2]."""
    law = LAWS[name]
    lam = 0.8 / law.mean
    q = qt.MG1(lam, law)
    m1, m2, m3 = (law.moment(k) for k in (1, 2, 3))
    EW = lam * m2 / (2 * (1 - 0.8))
    EW2 = 2 * EW**2 + lam * m3 / (3 * (1 - 0.8))
    r = q.response_time_distribution(qt.FCFS).moment(2)
    assert r.value == pytest.approx(EW2 + 2 * EW * m1 + m2, rel=1e-12)


def test_lcfs_pr_conditional_transform_is_a_busy_period():
    """M/M/1 LCFS-PR: T given size x is a busy period started by x, T~_x(s) =
    exp(-x (s + lambda - lambda B~(s))), with the M/M/1 busy-period transform
    B~(s) = (lambda + mu + s - sqrt((lambda + mu + s)^2 - 4 lambda mu)) / (2 lambda)
    (Kleinrock 1975, eq. 5.137)."""
    lam, mu, x = 0.6, 1.0, 1.7
    q = qt.MG1(lam, qt.Exponential(mu))
    d = q.response_time_distribution(qt.LCFS, size=x)
    s = np.array([0.01, 0.3 + 2j, 1.5 - 7j, 4 + 0.5j])
    r = lam + mu + s
    B = (r - np.sqrt(r * r - 4 * lam * mu)) / (2 * lam)
    assert np.allclose(d.lst(s), np.exp(-x * (s + lam - lam * B)), rtol=1e-12, atol=0)
    # and its moments: E[T_x] = x / (1 - rho), E[T_x^2] = (x / (1 - rho))^2 + x lam E[X^2] / (1 - rho)^3
    assert d.moment(1).value == pytest.approx(x / 0.4, rel=1e-13)
    assert d.moment(2).value == pytest.approx((x / 0.4) ** 2 + x * lam * 2 / 0.4**3, rel=1e-13)


def test_mm1_srpt_variance_can_exceed_fcfs():
    """SRPT lowers the mean but its variance exceeds FCFS's on M/M/1 at high load (the
    known shape: light-tailed sizes give SRPT a heavier tail than FCFS; Nuyens, Wierman
    & Zwart 2008)."""
    q = qt.MG1(0.9, qt.Exponential(1.0))
    srpt, fcfs = (q.response_time_distribution(p) for p in (qt.SRPT, qt.FCFS))
    assert srpt.mean().value < fcfs.mean().value
    assert srpt.variance().value > fcfs.variance().value == pytest.approx(100.0, rel=1e-12)


# -- independent methods agree -------------------------------------------------------------
@pytest.mark.parametrize("name", list(LAWS))
@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.__name__)
def test_mean_equals_the_mean_methods(name, policy):
    """The distribution's first moment (from the policy's pieces) against the library's
    mean response time (closed formulas, an independent code path), to their errors."""
    law = LAWS[name]
    for rho in (0.5, 0.9):
        q = qt.MG1(rho / law.mean, law)
        m = q.response_time_distribution(policy).mean()
        f = q.mean_response_time(policy)
        assert abs(m.value - f.value) <= m.error + f.error + 1e-14 * f.value, (rho, m, f)


@pytest.mark.parametrize("policy, prediction", [
    (qt.PriorityClasses([0.5, 2.0]), None), (qt.PriorityClasses([1.0], "resume"), None),
    (qt.OneBit(), qt.Threshold(1.2)), (qt.OneBit("resume"), qt.Threshold(0.8)),
    (qt.SPRPT, qt.Perfect()), (qt.PSPJF, None)], ids=str)
def test_prediction_policies_with_perfect_predictions(policy, prediction):
    q = qt.MG1(0.8, qt.Hyperexponential.balanced(1.0, 10.0), prediction=prediction)
    m = q.response_time_distribution(policy).mean()
    f = q.mean_response_time(policy)
    assert abs(m.value - f.value) <= m.error + f.error + 1e-12 * f.value, (m, f)
    # the integral over sizes is cut at the class thresholds, where T_x jumps (a Gauss
    # piece across one was off by 3e-4 with an error estimate to match)
    assert m.error < 1e-10 * m.value, m


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.__name__)
def test_moments_from_the_transform(policy):
    """E[T] and E[T^2] as the first Taylor coefficients of T~(s) at small real s (a
    polynomial fit of the transform, which shares no code with the closed moments). The
    fit's truncation error is ~ (6 h E[T])^5: 1e-10 and 1e-7 here (measured: the errors
    fall 200-fold from h = 0.005 / E[T] to 0.002 / E[T])."""
    q = qt.MG1(0.5, qt.Exponential(1.0))
    d = q.response_time_distribution(policy)
    m1, m2 = d.mean().value, d.moment(2).value
    h = 0.002 / m1
    s = h * np.arange(1, 7)
    L = d.lst(s.astype(complex)).real
    # T~(s) = 1 - m1 s + m2 s^2 / 2 - ...: fit degree 6 through (0, 1) and the six points
    A = np.vander(s, 7, increasing=True)[:, 1:]
    c = np.linalg.solve(A, L - 1)
    assert -c[0] == pytest.approx(m1, rel=1e-8)
    assert 2 * c[1] == pytest.approx(m2, rel=2e-6)


def test_conditional_mean_equals_response_time_by_size():
    q = qt.MG1(0.8, qt.Weibull(0.5, 0.5))
    for x in (0.1, 1.0, 5.0):
        for p in (qt.SRPT, qt.FB, qt.PSJF, qt.FCFS, qt.SJF):
            m = q.response_time_distribution(p, size=x).mean()
            f = q.response_time(p, size=x)      # a float, accurate to ~1e-10 relative
            assert abs(m.value - f) <= m.error + 1e-10 * f, (p, x, m, f)


def test_srpt_mean_against_mpmath():
    """M/M/1 SRPT at rho = 0.9 against a 30-digit mpmath quadrature of Schrage & Miller's
    formula, written with the order of integration swapped (an independent route)."""
    mp.mp.dps = 30
    lam = mp.mpf("0.9")
    m1 = lambda x: 1 - mp.exp(-x) * (1 + x)                       # noqa: E731
    m2 = lambda x: 2 - mp.exp(-x) * (x**2 + 2 * x + 2)            # noqa: E731
    EW = mp.quad(lambda x: mp.exp(-x) * lam * (m2(x) + x**2 * mp.exp(-x))
                 / (2 * (1 - lam * m1(x)) ** 2), [0, 1, 5, 20, 60, mp.inf])
    ER = mp.quad(lambda l: mp.exp(-l) / (1 - lam * m1(l)), [0, 1, 5, 20, 60, mp.inf])
    d = qt.MG1(0.9, qt.Exponential(1.0)).response_time_distribution(qt.SRPT)
    assert abs(d.mean().value - float(EW + ER)) < 1e-13


# -- the simulator ----------------------------------------------------------------------------
@pytest.mark.parametrize("rho", [0.5, 0.9])
@pytest.mark.parametrize("name", ["exp", "hyper"])
@pytest.mark.parametrize("policy", [qt.FCFS, qt.SRPT, qt.FB, qt.PSJF], ids=lambda p: p.__name__)
def test_quantiles_and_second_moment_against_simulation(policy, name, rho):
    """P50, P90, P99 and E[T^2] inside the simulation's replication CI (|t| below the
    4-sigma limit; per-replication estimates absorb the correlation between jobs)."""
    law = LAWS[name]
    q = qt.MG1(rho / law.mean, law)
    d = q.response_time_distribution(policy)
    s = q.simulate(policy, jobs=60_000, replications=8, seed=3, quantiles=(0.5, 0.9, 0.99),
                   executor=False)
    limit = t_limit(4.0, 8)
    for p, est in s.quantiles.items():
        assert abs(est.z(d.quantile(p).value)) < limit, (p, est, d.quantile(p))
    assert abs(s.moment(2).z(d.moment(2).value)) < limit, (s.moment(2), d.moment(2))
    assert abs(s.moment(3).z(d.moment(3).value)) < limit, (s.moment(3), d.moment(3))


# -- processor sharing and the simulated distribution ---------------------------------------
@pytest.mark.parametrize("rho", [0.5, 0.9])
def test_mm1_ps_second_moment_against_simulation(rho):
    """M/M/1-PS: Var[T | x] of Coffman, Muntz & Trotter (J. ACM 1970) averaged over the
    sizes, E[T^2] = 4 / ((2 - rho)(mu - lambda)^2), inside the simulator's interval;
    E[T | x] = x / (1 - rho) (Kleinrock) and small jobs' variance rho x^2 / (1 - rho)^2,
    that of x (1 + N) with N geometric."""
    q = qt.MG1(rho, qt.Exponential(1.0))
    d = q.response_time_distribution(qt.PS)
    m2 = d.moment(2)
    assert m2.value == pytest.approx(4 / ((2 - rho) * (1 - rho) ** 2), rel=1e-14)
    # the size-average of the conditional second moments, by Gauss-Laguerre (40 nodes)
    xs, ws = np.polynomial.laguerre.laggauss(40)
    given = [q.response_time_distribution(qt.PS, size=x).moment(2).value for x in xs]
    assert ws @ given == pytest.approx(m2.value, rel=1e-10)
    small = q.response_time_distribution(qt.PS, size=1e-4)
    assert small.mean().value == pytest.approx(1e-4 / (1 - rho), rel=1e-14)
    assert small.variance().value == pytest.approx(rho * 1e-8 / (1 - rho) ** 2, rel=1e-3)
    s = q.simulate(qt.PS, jobs=200_000 if rho < 0.9 else 1_000_000, replications=10,
                   seed=4, quantiles=(0.5,))
    assert abs(s.moment(2).z(m2.value)) < t_limit(4.0, 10), (s.moment(2), m2)


def test_simulated_distribution_holds_the_mm1_law():
    """method='simulation' on M/M/1 FCFS (T ~ Exp(mu - lambda), Harchol-Balter 2013
    §13.2): its tail at any t and quantile at any p, chosen after the run, within the
    replications' standard errors."""
    q = qt.MG1(0.5, qt.Exponential(1.0))
    d = q.response_time_distribution(qt.FCFS, method="simulation", jobs=200_000,
                                     replications=10, seed=8)
    limit = t_limit(4.0, 10)
    t = np.array([0.5, 2.0, 8.0])
    v, se = d.sf(t, error=True)
    assert np.all(np.abs(v - np.exp(-0.5 * t)) < limit * se)
    for p in (0.3, 0.9, 0.999):
        r = d.quantile(p)
        assert r.method == "simulation" and r.details["ci"][0] < r.value < r.details["ci"][1]
        assert abs(r.value + math.log1p(-p) / 0.5) < limit * r.error, (p, r)
    assert abs(d.variance().value - 4.0) < limit * d.variance().error
    assert d.simulation.jobs == 200_000 and len(d.simulation.tails) == 10


# -- errors ---------------------------------------------------------------------------------
def test_clear_errors():
    q = qt.MG1(0.5, qt.Exponential(1.0))
    with pytest.raises(PolicyError, match="method='simulation'"):
        q.response_time_distribution(qt.PS).quantile(0.9)
    with pytest.raises(PolicyError, match="method='simulation'"):
        qt.MG1(0.5, qt.Uniform(0.0, 2.0)).response_time_distribution(qt.PS).moment(2)
    with pytest.raises(PolicyError, match="not a SOAP policy"):
        q.response_time_distribution(qt.PS, method="soap")
    with pytest.raises(PolicyError, match="unconditional"):
        q.response_time_distribution(qt.PS, size=1.0, method="simulation")
    with pytest.raises(qt.ParameterError, match="jobs: options of method='simulation'"):
        q.response_time_distribution(qt.SRPT, jobs=10)
    with pytest.raises(PolicyError, match="not the transform"):
        q.response_time_distribution(qt.PS, method="simulation").lst(1.0)
    noisy = qt.MG1(0.5, qt.Exponential(1.0), prediction=qt.ExpNoise())
    # noisy predictions: closed structures for SPRPT, Trail, SPJF, PSPJF and one bit
    # (tests/test_noisy_distributions.py), the generic SOAP transform for the other
    # affine ranks (tests/test_generic_noisy.py); a user's rank function is refused
    assert noisy.response_time_distribution(qt.SPRPT).method == "formula"
    with pytest.raises(PolicyError, match="noisy predictions.*simulation"):
        noisy.response_time_distribution(qt.Rank(lambda y, a: y - a), method="soap")
    with pytest.raises(PolicyError, match="method='soap'"):
        q.response_time_distribution(qt.Gittins(), method="formula")
    d = q.response_time_distribution(qt.SRPT)
    with pytest.raises(ParameterError, match="p = 1"):
        d.quantile(1)
    with pytest.raises(ParameterError, match="k = 4"):
        d.moment(4)
    with pytest.raises(ParameterError, match="Re s > 0"):
        d.lst(np.array([0j]))
    with pytest.raises(ParameterError, match="size"):
        q.response_time_distribution(qt.SRPT, size=-1)


# -- the simulator's streaming quantiles ----------------------------------------------------
def test_simulated_quantiles_stream_through_a_histogram():
    """The histogram quantiles of a replication equal numpy's quantiles of its per-job
    response times to the bin width (1/256 relative); asking for quantiles leaves every
    other output of the run unchanged (same draws)."""
    q = qt.MG1(0.8, qt.Exponential(1.0))
    ps = (0.5, 0.9, 0.99)
    s = q.simulate(qt.SRPT, jobs=100_000, replications=2, seed=4, per_job=True, quantiles=ps,
                   executor=False)
    plain = q.simulate(qt.SRPT, jobs=100_000, replications=2, seed=4, executor=False)
    assert s.value == plain.value and np.array_equal(s.replications, plain.replications)
    first = s.per_job["response_time"]
    for p in ps:
        assert s.quantile(p).values[0] == pytest.approx(np.quantile(first, p), rel=1 / 256)
    assert s.moment(2).values[0] == pytest.approx(np.mean(first**2), rel=1e-12)
    assert sorted(s.quantiles) == list(ps)


def test_simulated_moments_and_quantiles_against_mm1():
    """M/M/1 FCFS, T ~ Exp(mu - lambda): E[T^2] = 2/(mu-lambda)^2, E[T^3] = 6/(mu-lambda)^3
    and the quantiles -ln(1-p)/(mu-lambda), each inside the simulation's CI (|t| below
    the 4-sigma limit over 8 replications)."""
    q = qt.MG1(0.6, qt.Exponential(1.0))
    s = q.simulate(qt.FCFS, jobs=200_000, replications=8, seed=9, quantiles=True,
                   executor=False)
    limit = t_limit(4.0, 8)
    assert abs(s.moment(2).z(2 / 0.4**2)) < limit and abs(s.moment(3).z(6 / 0.4**3)) < limit
    for p, est in s.quantiles.items():
        assert abs(est.z(-math.log1p(-p) / 0.4)) < limit, (p, est)
    with pytest.raises(ParameterError, match="quantiles"):
        q.simulate(qt.FCFS, jobs=1000, replications=2, quantiles=(0.5, 1.0))


def test_check_samples_tests_quantiles_and_catches_a_distorted_tail():
    """A user's per-job output (here: our simulator's, one replication) agrees with the
    theoretical P50/P90/P99 by batch quantiles; the same output stretched by 3% does not."""
    q = qt.MG1(0.7, qt.Exponential(1.0))
    T = q.simulate(qt.SRPT, jobs=400_000, replications=2, seed=4,
                   per_job=True).per_job["response_time"]
    good = qt.check_samples(T, q, qt.SRPT, quantiles=(0.5, 0.9, 0.99))
    assert good.agrees and len(good.quantiles) == 3 and "P99" in str(good)
    bad = qt.check_samples(T * 1.03, q, qt.SRPT, quantiles=(0.5, 0.9, 0.99))
    assert not bad.agrees and not bad.quantiles[0]["agrees"]


def test_validate_shows_the_tail():
    q = qt.MG1(0.8, qt.Exponential(1.0))
    r = qt.validate(q, qt.SRPT, jobs=60_000, replications=8, quantiles=(0.5, 0.99),
                    methods=("formula", "simulation"))
    assert r.passed and [row.method for row in r.rows][-3:] == ["E[T^2]", "P50", "P99"]
    ps = qt.validate(q, qt.PS, jobs=10_000, replications=4, quantiles=True,
                     methods=("formula", "simulation"))
    # PS: E[T^2] is closed for exponential sizes (Coffman-Muntz-Trotter), its quantiles not
    assert ps.rows[-5].method == "E[T^2]" and ps.rows[-5].status == "ok"
    assert [r.status for r in ps.rows[-4:]] == ["n/a"] * 4


def test_heavy_tails_say_which_moment_is_infinite_and_still_invert():
    """Pareto(2.5) sizes: E[X^3] is infinite, so FCFS's E[T^2] is (Takacs); SRPT's E[T^2]
    needs only E[X^2] and is finite. The FCFS tail still inverts: its P99 lies inside the
    simulation's CI."""
    import scipy.stats as st
    law = qt.as_size_law(st.pareto(2.5, scale=0.6))
    q = qt.MG1(0.5, law)
    fcfs = q.response_time_distribution(qt.FCFS)
    with pytest.raises(qt.InfiniteMomentError, match="E\\[X\\^3\\]"):
        fcfs.moment(2)
    with pytest.raises(qt.InfiniteMomentError):
        fcfs.variance()
    assert math.isfinite(q.response_time_distribution(qt.SRPT).moment(2).value)
    p99 = fcfs.quantile(0.99)
    s = q.simulate(qt.FCFS, jobs=100_000, replications=8, seed=5, quantiles=(0.99,),
                   executor=False)
    assert abs(s.quantile(0.99).z(p99.value)) < t_limit(4.0, 8), (s.quantile(0.99), p99)


# -- symbolic ---------------------------------------------------------------------------------
def test_symbolic_transforms_match_the_numeric_engine():
    """FCFS (Pollaczek-Khinchine, any law) and LCFS (M/M/1: Kendall's quadratic) as
    sympy expressions, evaluated at complex s, against the numeric transform (a separate
    code path: pieces, Newton, quadrature); E[T^2] likewise."""
    import sympy
    s = sympy.Symbol("s")
    points = [0.2 + 1j, 1.5 - 3j, 0.05 + 0.5j]
    cases = [(qt.FCFS, qt.Uniform(0.2, 1.8)), (qt.FCFS, qt.Hyperexponential([0.4, 0.6], [0.5, 3.0])),
             (qt.FCFS, qt.Empirical([0.5, 1.0, 3.0])), (qt.LCFS, qt.Exponential(1.0))]
    for policy, law in cases:
        q = qt.MG1(0.7 / law.mean, law)
        sym = q.response_time_distribution(policy, method="symbolic")
        num = q.response_time_distribution(policy)
        expr = sym.lst(s)
        for p in points:
            assert complex(expr.subs(s, p).evalf(30)) == pytest.approx(complex(num.lst(p)),
                                                                       rel=1e-11, abs=1e-13)
        assert float(sym.moment(2)) == pytest.approx(num.moment(2).value, rel=1e-12)
    # LCFS's second moment on a law without an elementary transform
    q = qt.MG1(0.5, qt.Weibull(0.5, 0.5))
    m2 = q.response_time_distribution(qt.LCFS, method="symbolic").moment(2)
    assert float(m2) == pytest.approx(q.response_time_distribution(qt.LCFS).moment(2).value,
                                      rel=1e-10)
    with pytest.raises(PolicyError, match="FCFS, LCFS and priority classes"):
        q.response_time_distribution(qt.SRPT, method="symbolic")


@pytest.mark.parametrize("pred, policy", [
    (lambda T: qt.Threshold(T), qt.OneBit(False)),
    (lambda T: qt.Threshold(T, qt.ExpNoise()), qt.OneBit("resume")),
    (lambda T: None, qt.PriorityClasses([1, 2], preemptive="resume")),
    (lambda T: None, qt.PriorityClasses([1, 2]))], ids=["bit", "noisy-bit-resume",
                                                         "classes-resume", "classes"])
def test_symbolic_class_moments(pred, policy):
    """One bit and priority classes as sympy expressions in lambda, mu and T: E[T] equals
    the symbolic mean formula (Mitzenmacher 2021's one bit, Cobham's classes: a separate
    derivation, methods/symbolic/means.py); substituted, E[T^2] and E[T^3] equal the
    numeric closed moments (quadrature of the same structures over the numeric laws)."""
    import sympy
    lam, mu, T = sympy.symbols("lambda mu T", positive=True)
    q = qt.MG1(lam, qt.Exponential(mu), pred(T))
    d = q.response_time_distribution(policy, method="symbolic")
    mean = q.mean_response_time(policy, method="symbolic")
    for point in ({lam: 0.8, mu: 1, T: 1}, {lam: 0.3, mu: 0.5, T: 2.5}):
        assert float(d.moment(1).subs(point)) == pytest.approx(
            float(getattr(mean, "value", mean).subs(point)), rel=1e-12)
        num = qt.MG1(float(point[lam]), qt.Exponential(float(point[mu])),
                     pred(float(point[T]))).response_time_distribution(policy)
        for k in (2, 3):
            assert float(d.moment(k).subs(point)) == pytest.approx(num.moment(k).value,
                                                                   rel=1e-11)
    with pytest.raises(PolicyError, match="not elementary"):
        d.lst(sympy.Symbol("s"))


@pytest.mark.parametrize("name", list(LAWS))
def test_third_moments_against_takacs_and_the_busy_period(name):
    """E[T^3] in closed form against two textbook recursions on every law: FCFS by
    Takacs' E[W^3] = lambda/(1-rho) [3 E[X^2]/2 E[W^2] + E[X^3] E[W] + E[X^4]/4] (with
    T = W + X independent), LCFS-PR by the busy period's E[B^3] = E[X^3]/(1-rho)^4 +
    3 lambda E[X^2]^2/(1-rho)^5 applied per size."""
    law = LAWS[name]
    lam = 0.7 / law.mean
    q = qt.MG1(lam, law)
    m = [law.moment(k) for k in range(5)]
    EW = lam * m[2] / (2 * 0.3)
    EW2 = 2 * EW**2 + lam * m[3] / (3 * 0.3)
    EW3 = lam / 0.3 * (1.5 * m[2] * EW2 + m[3] * EW + m[4] / 4)
    fcfs = EW3 + 3 * EW2 * m[1] + 3 * EW * m[2] + m[3]
    assert q.response_time_distribution(qt.FCFS).moment(3).value == pytest.approx(fcfs, rel=1e-11)
    # LCFS: T_x is a busy period started by x: cumulants x k1, x k2, x k3
    k1, k2, k3 = 1 / 0.3, lam * m[2] / 0.3**3, lam * (m[3] / 0.3**4 + 3 * lam * m[2]**2 / 0.3**5)
    lcfs = m[1] * k3 + 3 * m[2] * k1 * k2 + m[3] * k1**3
    assert q.response_time_distribution(qt.LCFS).moment(3).value == pytest.approx(lcfs, rel=1e-11)


def test_discrete_sizes_give_atoms_and_no_inverted_tail():
    """With discrete sizes T has atoms (M/D/1 FCFS: P(T = 1) = 1 - rho), which inversion
    cannot resolve: tail and quantiles refuse, and say why; moments stay exact (M/D/1:
    E[T] = 1 + rho / (2 (1 - rho)))."""
    q = qt.MG1(0.5, qt.Deterministic(1.0))
    d = q.response_time_distribution(qt.FCFS)
    assert d.mean().value == pytest.approx(1.5, rel=1e-14)
    for call in (lambda: d.quantile(0.5), lambda: d.sf(2.0), lambda: d.pdf(2.0)):
        with pytest.raises(PolicyError, match="atoms"):
            call()


def test_conditional_distributions_given_the_size():
    """T given X = x: M/M/1 FCFS has T_x = W + x with P(W > w) = rho e^{-(mu - lambda) w},
    so P(T_x > t) = rho e^{-(mu - lambda)(t - x)} for t >= x and E[T_x^2] = E[W^2] +
    2 x E[W] + x^2 (E[W] = rho/(mu - lambda), E[W^2] = 2 rho/(mu - lambda)^2)."""
    lam, x = 0.6, 1.3
    q = qt.MG1(lam, qt.Exponential(1.0))
    d = q.response_time_distribution(qt.FCFS, size=x)
    gap = 1 - lam
    t = np.array([x + 0.5, x + 3.0, x + 10.0])
    v, err = d.sf(t, error=True)
    exact = lam * np.exp(-gap * (t - x))
    assert np.all(np.abs(v - exact) <= err)
    p = 0.99     # P(T_x > t) = 0.01 at t = x + ln(100 rho) / (mu - lambda)
    r = d.quantile(p)
    assert abs(r.value - (x + math.log(100 * lam) / gap)) <= r.error
    EW, EW2 = lam / gap, 2 * lam / gap**2
    assert d.moment(2).value == pytest.approx(EW2 + 2 * x * EW + x * x, rel=1e-13)
    # the atom at x: FCFS P(W = 0) = 1 - rho; LCFS-PR no arrival during x, e^{-lambda x}
    assert d.atom() == pytest.approx(1 - lam, rel=1e-14)
    assert d.quantile(0.3).value == x and d.sf(x) == pytest.approx(lam, rel=1e-14)
    lcfs = q.response_time_distribution(qt.LCFS, size=x)
    assert lcfs.atom() == pytest.approx(math.exp(-lam * x), rel=1e-13)


# -- the generic SOAP path ------------------------------------------------------------------
from qtheory.methods.distribution.generic import GenericStructure  # noqa: E402
from qtheory.methods.distribution.inversion import euler_nodes  # noqa: E402

CLOSED = [qt.FCFS, qt.FB, qt.PSJF, qt.SRPT, qt.SJF, qt.PriorityClasses([0.5, 2.0]),
          qt.PriorityClasses([0.5, 2.0], "resume")]
#: complex transform arguments: the Euler nodes of a tail at t = 3 and a few others
S_TEST = np.concatenate([euler_nodes(16)[0][::4] / 3.0, [0.05 + 0.2j, 2.0 - 7j]])


@pytest.mark.parametrize("name", ["exp", pytest.param("hyper", marks=pytest.mark.slow),
                                  pytest.param("weibull", marks=pytest.mark.slow), "discrete"])
@pytest.mark.parametrize("policy", CLOSED, ids=str)
def test_generic_transform_equals_the_closed_structures_given_the_size(policy, name):
    """T~_x(s) of the generic SOAP path (level sets of the declared rank) against the
    closed structures (which never call the SOAP engine), to 1e-9 relative, and the
    conditional moments to 1e-10."""
    law = LAWS[name]
    q = qt.MG1(0.8 / law.mean, law)
    for x in (0.6 * law.mean, 2.5 * law.mean):
        g = q.response_time_distribution(policy, size=x, method="soap")
        c = q.response_time_distribution(policy, size=x, method="formula")
        assert (g.method, c.method) == ("soap", "formula")
        a, b = g.lst(S_TEST), c.lst(S_TEST)
        assert np.max(np.abs(a - b) / np.abs(b)) < 1e-9, (x, np.abs(a - b) / np.abs(b))
        for k in (1, 2, 3):
            assert abs(g.moment(k).value - c.moment(k).value) < 1e-10 * c.moment(k).value


@pytest.mark.parametrize("name", ["exp", "hyper", "discrete"])
@pytest.mark.parametrize("policy", [qt.FB, qt.SJF, qt.PriorityClasses([0.5, 2.0], "resume")],
                         ids=str)
def test_generic_transform_equals_the_closed_structures_overall(policy, name):
    """The unconditional transform and moments, generic against closed."""
    law = LAWS[name]
    q = qt.MG1(0.7 / law.mean, law)
    g = GenericStructure(q, policy)
    c = q.response_time_distribution(policy, method="formula")
    s = S_TEST[:4]
    assert np.max(np.abs(g.transform(s) - c.lst(s)) / np.abs(c.lst(s))) < 1e-9
    m = g.moments()
    for k in (1, 2, 3):
        assert abs(m[k - 1] - c.moment(k).value) < 1e-9 * m[k - 1], (k, m, c.moment(k))


@pytest.mark.slow
@pytest.mark.parametrize("t", [0.1, 1.0, 10.0])
def test_generic_srpt_transform_at_the_euler_nodes(t):
    """SRPT (descending residence: the level grid) at every Euler node of a tail value."""
    q = qt.MG1(0.8, LAWS["hyper"])
    s = euler_nodes(16)[0] / t
    g = q.response_time_distribution(qt.SRPT, method="soap").lst(s)
    c = q.response_time_distribution(qt.SRPT, method="formula").lst(s)
    assert np.max(np.abs(g - c)) < 1e-10


@pytest.mark.parametrize("c, same", [(0.0, qt.SJF),
                                     pytest.param(1.0, qt.SRPT, marks=pytest.mark.slow)])
def test_trail_limits(c, same):
    """Trail(c) with perfect predictions: c = 0 is SJF, c = 1 is SRPT (Shahout et al.
    2025); the generic path on Trail's declaration against the closed structures."""
    q = qt.MG1(0.8, LAWS["hyper"], prediction=qt.Perfect())
    for x in (0.3, 4.0):
        g = q.response_time_distribution(qt.Trail(c), size=x)
        assert g.method == "soap"
        ref = qt.MG1(0.8, LAWS["hyper"]).response_time_distribution(same, size=x)
        assert np.max(np.abs(g.lst(S_TEST) - ref.lst(S_TEST))) < 1e-10
        assert abs(g.moment(2).value - ref.moment(2).value) < 1e-10 * ref.moment(2).value


@pytest.mark.parametrize("policy, law", [
    (qt.Gittins(), "exp"), (qt.Gittins(), "hyper"), (qt.Trail(0.5), "exp"),
    (qt.Rank(lambda d, a: (0, a) if a < 1 else (1, -a), descriptor=None), "exp")], ids=str)
def test_generic_mean_equals_the_mean_methods(policy, law):
    """Policies with no closed structure: the generic path's E[T] against the SOAP mean
    engine (its own quadrature of the same theorem) to their stated errors."""
    q = qt.MG1(0.8 / LAWS[law].mean, LAWS[law], prediction=qt.Perfect())
    d = q.response_time_distribution(policy)
    assert d.method == "soap"
    m, f = d.mean(), q.mean_response_time(policy, method="soap")
    assert abs(m.value - f.value) <= m.error + f.error + 1e-10 * f.value, (m, f)
    assert m.error < 1e-8 * m.value and d.variance().value > 0


def test_gittins_on_exponential_sizes_is_fcfs():
    """With memoryless sizes every job has the same Gittins index, ties go FCFS: the
    M/M/1 law Exp(mu - lambda) (Gittins 1989; Aalto et al. 2009)."""
    q = qt.MG1(0.6, qt.Exponential(1.0))
    d = q.response_time_distribution(qt.Gittins())
    assert d.method == "soap"
    s = S_TEST[:6]
    assert np.max(np.abs(d.lst(s) - 0.4 / (0.4 + s))) < 1e-12
    assert abs(d.moment(2).value - 2 / 0.4**2) < 1e-10


@pytest.mark.parametrize("policy, law", [(qt.Gittins(), "hyper"), (qt.Trail(0.5), "exp")],
                         ids=str)
def test_generic_moments_against_simulation(policy, law):
    """E[T^2] and E[T^3] of the generic path inside the simulation's replication CI."""
    q = qt.MG1(0.8 / LAWS[law].mean, LAWS[law], prediction=qt.Perfect())
    d = q.response_time_distribution(policy)
    s = q.simulate(policy, jobs=60_000, replications=8, seed=11, quantiles=True,
                   executor=False)
    limit = t_limit(4.0, 8)
    for k in (2, 3):
        assert abs(s.moment(k).z(d.moment(k).value)) < limit, (k, s.moment(k), d.moment(k))


@pytest.mark.slow
@pytest.mark.parametrize("policy, law", [(qt.Gittins(), "hyper"), (qt.Trail(0.5), "exp")],
                         ids=str)
def test_generic_quantiles_against_simulation(policy, law):
    """P50, P90 and P99 of the generic path inside the simulation's replication CI."""
    q = qt.MG1(0.8 / LAWS[law].mean, LAWS[law], prediction=qt.Perfect())
    d = q.response_time_distribution(policy)
    s = q.simulate(policy, jobs=60_000, replications=8, seed=11, quantiles=(0.5, 0.9, 0.99),
                   executor=False)
    limit = t_limit(4.0, 8)
    for p, est in s.quantiles.items():
        assert abs(est.z(d.quantile(p).value)) < limit, (p, est, d.quantile(p))


@pytest.mark.parametrize("policy", [qt.SRPT, qt.FB, qt.PSJF], ids=lambda p: p.__name__)
def test_given_a_size_beyond_the_support(policy):
    """A tagged size past the largest size of Uniform(0.2, 1.8) (x = 2.5): the closed
    structure's levels run on past the support (they once stopped at 1.8, 44% off), and
    agree with the generic transform and, in the mean, with the mean formula."""
    q = qt.MG1(0.8, LAWS["uniform"])
    g = q.response_time_distribution(policy, size=2.5, method="soap")
    c = q.response_time_distribution(policy, size=2.5, method="formula")
    assert np.max(np.abs(g.lst(S_TEST) - c.lst(S_TEST)) / np.abs(c.lst(S_TEST))) < 1e-9
    assert c.mean().value == pytest.approx(q.response_time(policy, 2.5), rel=1e-10)
