"""Reliability, issue 18 ("also found"): a hang of SPRPT with lognormal predictions on a
hyperexponential law, ContinuousBatching's fluid value under max_seqs / max_tokens, and a
CustomPrediction given only its density. Every reference is an independent computation,
named where it is used."""

import math
import time

import mpmath as mp
import numpy as np
import pytest

import qtheory as qt

HYPER = qt.Hyperexponential.balanced(1.0, 4.0)   # mean 1, squared coefficient of variation 4


def _agree(a, b):
    """Two Results agree within their stated errors (plus round-off)."""
    assert abs(a.value - b.value) <= a.error + b.error + 1e-12 * abs(b.value), (a, b)


# -- 1. formula on a hyperexponential law with noisy predictions -----------------------------
@pytest.mark.parametrize("noise, policy", [
    (qt.LognormalNoise(1.0), qt.SPRPT),
    pytest.param(qt.LognormalNoise(1.0), qt.PSPJF, marks=pytest.mark.slow),
    pytest.param(qt.LognormalNoise(1.5), qt.SPRPT, marks=pytest.mark.slow),
    pytest.param(qt.LognormalNoise(2.0), qt.SPRPT, marks=pytest.mark.slow),
    pytest.param(qt.LognormalNoise(2.0), qt.SPJF, marks=pytest.mark.slow),
    pytest.param(qt.UniformNoise(0.9), qt.SPRPT, marks=pytest.mark.slow),
], ids=repr)
def test_hyperexponential_noisy_formula_is_fast_and_matches_soap(noise, policy):
    # Was > 5 min (never finished) for LognormalNoise(1.0), a ConvergenceError for 1.5 and
    # 2.0. Reference: the SOAP engine (method="soap"), an independent derivation from the
    # policy's rank function; the formula must agree within the two stated errors.
    q = qt.MG1(0.9 / HYPER.mean, HYPER, prediction=noise)
    t = time.perf_counter()
    f = q.mean_response_time(policy)
    seconds = time.perf_counter() - t
    assert f.method == "formula" and f.error < 1e-9 * f.value
    assert seconds < 60, seconds       # a few seconds on an idle core
    _agree(f, q.mean_response_time(policy, method="soap"))


@pytest.mark.parametrize("sigma", [0.05, 0.5, 1.0, 2.0])
@pytest.mark.parametrize("ratio", [0.5, 1.5, 7.0, 30.0, 1e3, 1e6])
def test_lognormal_old_work_against_mpmath(sigma, ratio):
    # E[(x + y - Y)^2 1{y < Y <= x + y} | x] for Y = x exp(sigma Z): reference the expanded
    # closed form a^2 M0 - 2 a M1 + M2 (Mk the lognormal partial moments) in mpmath at 400
    # digits, where its cancellation (which had lost every digit in floating point by
    # y ~ 1e4 x) costs nothing.
    x, y = 1.3, 1.3 * ratio
    with mp.workdps(400):
        X, Yv, s = mp.mpf(x), mp.mpf(y), mp.mpf(sigma)
        a = X + Yv
        zl, zh = mp.log(Yv / X) / s, mp.log(a / X) / s
        m = [X**k * mp.exp(k * k * s * s / 2) * (mp.ncdf(zh - k * s) - mp.ncdf(zl - k * s))
             for k in range(3)]
        ref = a * a * m[0] - 2 * a * m[1] + m[2]
    got = float(qt.LognormalNoise(sigma).excess_square(np.array([x]), y)[0])
    if ref < mp.mpf("1e-300"):
        assert got < 1e-290
    else:
        assert abs(got - float(ref)) <= 1e-12 * float(ref), (got, float(ref))


def test_lognormal_tail_probabilities_are_relative():
    # P(Y > y) far out: reference scipy.special.ndtr written directly on the lognormal law
    # (an independent one-liner), not 1 - cdf
    from scipy.special import ndtr
    m = qt.LognormalNoise(1.0)
    for y in [1e3, 1e6, 1e10]:
        ref = ndtr(-math.log(y))
        assert float(m.sf(y, 1.0)) == pytest.approx(ref, rel=1e-14)


# -- 3. CustomPrediction from its density only ---------------------------------------------
def _exp_density_only():
    return qt.CustomPrediction(
        pdf=lambda y, x: np.where(np.asarray(y) >= 0, np.exp(-np.maximum(y, 0.0) / x) / x, 0.0),
        sample=lambda x, rng: x * rng.exponential(1.0, np.shape(x)),
        scale_family=True, name="exp density")


@pytest.mark.parametrize("policy", [qt.SPRPT, pytest.param(qt.PSPJF, marks=pytest.mark.slow),
                                    pytest.param(qt.SPJF, marks=pytest.mark.slow)], ids=repr)
def test_custom_prediction_density_only_matches_expnoise(policy):
    # Was a ConvergenceError. Reference: qt.ExpNoise(), whose cdf, tail and moments are
    # closed forms (MATH.md section 2); the custom model integrates the density instead.
    X = qt.Exponential(1.0)
    want = qt.MG1(0.8, X, prediction=qt.ExpNoise()).mean_response_time(policy)
    got = qt.MG1(0.8, X, prediction=_exp_density_only()).mean_response_time(policy)
    assert got.value == pytest.approx(want.value, rel=1e-10)


def test_custom_prediction_density_only_tables_against_closed_forms():
    # cdf, tail and partial moments of Exp(mean x) in closed form (numpy, independent)
    m = _exp_density_only()
    assert m.table_error < 1e-12
    x = np.array([0.01, 1.0, 50.0])
    for y in [1e-5, 0.7, 3.0, 25.0]:
        assert np.allclose(m.cdf(y, x), -np.expm1(-y / x), rtol=1e-13, atol=1e-16)
        sf = np.exp(-y / x)
        big = sf > 1e-100
        assert np.allclose(m.sf(y, x)[big], sf[big], rtol=1e-11, atol=0)
        m0 = m.partial_moments(x, y, 2 * y)[0]
        assert np.allclose(m0, np.exp(-y / x) * -np.expm1(-y / x), rtol=1e-11, atol=1e-100)


def test_custom_prediction_moments_take_arrays():
    """A CustomPrediction with a cdf (not a scale family) integrates its conditional
    moments point by point; arrays of x (as the priority-class formula passes them) raised
    a bare TypeError. Reference: ExpNoise's closed-form partial moments."""
    exp = qt.ExpNoise()
    m = qt.CustomPrediction(pdf=lambda y, x: np.exp(-y / x) / x,
                            sample=lambda x, rng: rng.exponential(x),
                            cdf=lambda y, x: -np.expm1(-y / x))
    x, lo, hi = np.array([0.5, 1.0, 3.0]), np.array([0.0, 0.2, 1.0]), np.array([1.0, 0.2, 9.0])
    got, ref = m.partial_moments(x, lo, hi), exp.partial_moments(x, lo, hi)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-14)
    assert all(isinstance(v, float) for v in m.partial_moments(1.0, 0.0, 2.0))
    q = qt.MG1(0.5, qt.Exponential(1.0), m)
    ref = qt.MG1(0.5, qt.Exponential(1.0), exp).mean_response_time(qt.PriorityClasses([0.5, 2.0]))
    got = q.mean_response_time(qt.PriorityClasses([0.5, 2.0]))
    assert abs(got.value - ref.value) <= 4 * (got.error + ref.error) + 1e-12


def test_custom_prediction_without_cdf_is_refused_by_name():
    # A model that is not a scale family and gives no cdf: the analytic methods refuse it,
    # naming the missing argument and the fixes; the simulator needs only the sampler.
    m = qt.CustomPrediction(pdf=lambda y, x: np.exp(-y / (x + 1)) / (x + 1),
                            sample=lambda x, rng: (np.asarray(x) + 1) * rng.exponential(
                                1.0, np.shape(x)))
    q = qt.MG1(0.5, qt.Exponential(1.0), prediction=m)
    with pytest.raises(qt.ParameterError, match="cdf"):
        q.mean_response_time(qt.SPRPT)
    s = q.simulate(qt.SPRPT, jobs=2000, replications=2, seed=1)
    assert math.isfinite(s.mean_response_time)


def test_custom_prediction_not_normalised_is_refused():
    m = qt.CustomPrediction(pdf=lambda y, x: 2 * np.exp(-y / x) / x, sample=None,
                            scale_family=True)
    with pytest.raises(qt.ParameterError, match="normalised"):
        m.cdf(1.0, 1.0)


# -- 2. ContinuousBatching with caps -----------------------------------------------------------
def _cb(lam, **kw):
    from scipy import stats
    return qt.ContinuousBatching(lam, prompt=stats.randint(20, 200), output=stats.geom(0.02),
                                 d0=0.01, d1=1e-6, memory=10**6, d_tok=1e-5, **kw)


def test_max_seqs_one_is_the_mg1_queue_of_the_request_time():
    # Reference: Pollaczek-Khinchine written here on S = sum over the request's o + 1
    # iterations of d0 + d1 KV + d_tok tokens (KV s + j at iteration j; tokens s, then 1
    # each), enumerated over the (s, o) grid with numpy, not through qtheory's moments.
    from scipy import stats
    cb = _cb(1.2, max_seqs=1)
    s = np.arange(20, 200, dtype=float)
    ps = np.full(s.size, 1 / s.size)
    o = np.arange(1, 2000, dtype=float)
    po = stats.geom(0.02).pmf(o)
    po /= po.sum()
    S = ((o[:, None] + 1) * 0.01 + 1e-6 * ((o[:, None] + 1) * s[None, :] + o[:, None] * (o[:, None] + 1) / 2)
         + 1e-5 * (s[None, :] + o[:, None]))
    w = po[:, None] * ps[None, :]
    ES, ES2 = float((w * S).sum()), float((w * S * S).sum())
    want = ES + 1.2 * ES2 / (2 * (1 - 1.2 * ES))
    r = cb.mean_response_time()
    assert r.method == "exact (M/G/1)" and r.details["kind"] == "exact"
    assert r.value == pytest.approx(want, rel=1e-9)
    # the fluid value ignoring the cap was far below it
    assert (cb.mean_output + 1.5) * cb.iteration_time().value < 0.8 * r.value


@pytest.mark.parametrize("max_seqs, frac", [(1, 0.5), (1, 0.8), (2, 0.6), (8, 0.6)])
def test_capped_batching_against_the_simulator(max_seqs, frac):
    # Reference: the built-in iteration-level simulator (fixed seed, 4 x 40 000 requests).
    # max_seqs = 1 is exact: within 3 standard errors. Larger caps add an M/G/k slot wait
    # to the fluid value: an approximation, measured within 2 % here (docstring).
    lam = frac * _cb(1.0, max_seqs=max_seqs).capacity_bound()
    cb = _cb(lam, max_seqs=max_seqs)
    r = cb.mean_response_time()
    s = cb.simulate(jobs=40_000, replications=4, seed=11)
    if max_seqs == 1:
        assert abs(r.value - s.value) <= 3 * s.error + r.error, (r, s.value, s.error)
    else:
        assert r.method == "fluid + M/G/k" and r.details["kind"] == "approximation"
        assert abs(r.value / s.value - 1) < 0.02 + 3 * s.error / s.value, (r, s.value, s.error)


def test_without_caps_the_fluid_value_is_unchanged():
    # (E[o] + 1.5) tau*, tau* = d0 / (1 - lambda (d_tok E[s + o] + d1 E[g])), by hand
    cb = _cb(2.0)
    Es, Eo = 109.5, 1 / 0.02 - 1 + 1         # randint(20, 200): mean 109.5; geom(0.02): 50
    Eo2 = (1 - 0.02) / 0.02**2 + 50.0**2
    Eg = (Eo + 1) * Es + (Eo2 + Eo) / 2
    tau = 0.01 / (1 - 2.0 * (1e-5 * (Es + Eo) + 1e-6 * Eg))
    r = cb.mean_response_time()
    assert r.method == "fluid" and r.value == pytest.approx((Eo + 1.5) * tau, rel=1e-9)
    big = _cb(2.0, max_seqs=10**6).mean_response_time()
    assert big.value == pytest.approx(r.value, rel=1e-12)


def test_rank_pieces_at_large_ages_are_found():
    """A user's rank min(y - a, 2) has a kink at age y - 2; at y = 2e5 a cell cannot be
    narrower than the ages' last place (3e-11, above the 1e-13 a kink was bisected to),
    and discovery looped forever (found by the long fuzz run: a simulation on
    weibull_min(0.2) with LognormalNoise(1.9) predictions). Reference: the rank itself."""
    from qtheory.policies.pieces import discover_pieces
    y = 208666.70069189556
    fn = lambda d, a: min(d - a, 2.0)        # noqa: E731
    t0 = time.perf_counter()
    pr = discover_pieces(fn, np.array([y, 3.0]), 5.77e8, 0.125)
    assert time.perf_counter() - t0 < 30
    S, V, M = (z[0][np.isfinite(pr.S[0])] for z in (pr.S, pr.V, pr.M))
    for a in np.linspace(0, y + 10, 2001):
        i = np.searchsorted(S, a, "right") - 1
        assert V[i] + M[i] * (a - S[i]) == pytest.approx(fn(y, a), abs=1e-9)


def test_scipy_law_with_an_infinite_density_at_its_loc():
    """weibull_min(c < 1, loc > 0): the density is infinite at loc, and quantile cuts 1e-45
    above loc rounded onto it (a Gauss piece of zero width gave inf - inf, found by the
    long fuzz run; scipy's own expect gives inf there). Reference: with X = loc + W,
    W ~ Weibull(c), E[X 1{X <= x}] = loc F(x) + Gamma(1 + 1/c) P(1 + 1/c, (x - loc)^c)."""
    from scipy import special, stats
    c, loc = 0.2414, 0.2414
    frozen = stats.weibull_min(c, loc)                   # shape, loc
    law = qt.as_size_law(frozen)
    assert law.pdf(np.array([loc]))[0] == 0.0            # one point, no mass
    for x in (loc + 1e-15, loc + 1e-9, 0.3, 2.0, 50.0):
        ref = loc * frozen.cdf(x) + special.gamma(1 + 1 / c) * special.gammainc(
            1 + 1 / c, (x - loc) ** c)
        assert law.partial_moment(1, x) == pytest.approx(ref, rel=1e-9)


def test_simulation_refuses_sizes_whose_squares_overflow():
    q = qt.MG1(0.5 / math.exp(703.9), qt.Lognormal(700.0, 2.8), qt.LognormalNoise(5.0))
    with pytest.raises(qt.ParameterError, match="another unit"):
        q.simulate(qt.Trail(0.5), jobs=1000, replications=2)


def test_trail_c_below_1e12_is_refused():
    """x / c overflowed in the Trail formulas at c = 2.2e-313; c = 0 is the same policy to
    double precision."""
    with pytest.raises(qt.ParameterError, match="use 0"):
        qt.Trail(2.2e-313)
    assert qt.Trail(0).c == 0 and qt.Trail(1e-12).c == 1e-12


def test_a_grid_beyond_memory_is_refused_by_name():
    """The transform of Trail(0) under LognormalNoise on a hyperexponential of SCV 1e6 at
    load 0.99 asked for 1e8 quadrature nodes (the long fuzz run was killed at 18 GB): a
    grid above 2^24 nodes raises MemoryLimitError (a ConvergenceError) pointing to
    simulation, before allocating."""
    from qtheory.core.numerics import piece_nodes
    a = np.zeros(2**20)
    with pytest.raises(qt.MemoryLimitError, match="simulation"):
        piece_nodes(a, a + 1.0, np.linspace(0.01, 0.99, 32))
    assert issubclass(qt.MemoryLimitError, qt.ConvergenceError)


def test_scipy_mean_that_overflows_is_infinite():
    """lognorm(s = 1e300): scipy's analytic mean exp(s^2 / 2) is inf; the truncated
    integral (5e7) was taken as the mean, and a simulation at the implied rate gave NaN."""
    from scipy import stats
    with pytest.raises(qt.InfiniteMomentError, match="size"):
        qt.MG1(0.5, stats.lognorm(1e300))
    assert qt.as_size_law(stats.lognorm(1.0)).mean == pytest.approx(math.exp(0.5), rel=1e-12)


def test_uniform_noise_below_1e6_is_refused():
    """UniformNoise(1e-76) under DelayPredict raised a bare ZeroDivisionError (the long
    fuzz run), 1e-12 a ConvergenceError, 1e-9 ran out of time; below 1e-6 the model is
    exact predictions for every purpose."""
    for alpha in (0, 1e-76, 1e-9):
        with pytest.raises(qt.ParameterError, match="Perfect"):
            qt.UniformNoise(alpha)
    # at the edge SPJF is SJF to 1e-9 (reference: SJF's own formula)
    q = qt.MG1(0.5, qt.Exponential(1.0), qt.UniformNoise(1e-6))
    r, sjf = q.mean_response_time(qt.SPJF), q.mean_response_time(qt.SJF)
    assert r.value == pytest.approx(sjf.value, rel=1e-9)


@pytest.mark.parametrize("policy", [qt.SRPT, qt.PSJF])
def test_heavy_tail_residence_keeps_its_tail(policy):
    """Pareto(1.32) (infinite variance): at load 1e-9, E[T] is E[X] to 1e-9 (reference:
    scipy's closed-form mean). The residence integral lost 0.5 % of E[X] beyond its last
    quadrature point (SRPT 4.1046 +- 1e-11 for 4.1252, found by the long fuzz run); it is
    now E[X] / (1 - rho) minus a lighter-tailed integral. (At load 0.5 the waiting
    integral's tail is still not bounded: SRPT 5.7521 by formula, SOAP 5.7507 unconverged.)"""
    from scipy import stats
    law = qt.as_size_law(stats.pareto(1.3199787804896754))
    q = qt.MG1(1e-9 / law.mean, law)
    r = q.mean_response_time(policy, method="formula")
    assert r.value == pytest.approx(stats.pareto(1.3199787804896754).mean(), rel=1e-8)
