"""The SOAP engine against independent witnesses: the closed forms of qtheory.methods.formula
(docs/theory sections 1, 2, 4, 6), the hand-derived worked example of docs/theory, and
the simulator (policies without a closed form: SPRPT-bounce, DelayPredict, SkipPredict
with prediction costs in server time). Gittins has its own module, test_gittins.py."""

import warnings

import mpmath as mp
import numpy as np
from scipy import integrate, stats
import pytest

import qtheory as qt
from qtheory.methods.soap import soap_mean_response_time, soap_response_curve, soap_response_time
from qtheory.policies.pieces import Profile, discover_pieces

from . import references as ref

warnings.filterwarnings("ignore", category=RuntimeWarning)

SIZE_LAWS = {
    "exp": qt.Exponential(1.0),
    "uniform": qt.Uniform(0.5, 1.5),
    "weibull": qt.Weibull(0.5, 0.5),
    "hyper": qt.Hyperexponential([0.9, 0.1], [1.8, 0.2]),
}
SIZE_POLICIES = [qt.FCFS, qt.SJF, qt.PSJF, qt.SRPT, qt.FB]


def _agree(q, policy, rel=1e-6):
    s = soap_mean_response_time(q, policy)
    f = q.mean_response_time(policy, method="formula")
    assert s.value == pytest.approx(f.value, rel=rel), (policy, s, f)
    assert s.method == "soap"
    return abs(s.value - f.value) / f.value


@pytest.mark.parametrize("law, load", [("exp", 0.9), ("uniform", 0.5)])
@pytest.mark.parametrize("policy", [qt.FCFS, qt.PSJF, qt.FB, qt.SRPT])
def test_size_policies_match_formulas(law, load, policy):
    X = SIZE_LAWS[law]
    _agree(qt.MG1(load / X.mean, X), policy)


@pytest.mark.parametrize("policy", [qt.PriorityClasses([0.8, 1.2]),
                                    qt.PriorityClasses([0.8, 1.2], "resume")],
                         ids=["nonpreemptive", "resume"])
def test_priority_classes_match_cobham(policy):
    _agree(qt.MG1(0.7, qt.Uniform(0.5, 1.5)), policy)


@pytest.mark.parametrize("policy", [qt.OneBit(False), qt.OneBit("resume")], ids=["np", "resume"])
@pytest.mark.parametrize("load", [0.5, 0.9])
def test_one_bit_matches_mitzenmacher(policy, load):
    X = qt.Weibull(0.5, 0.5)
    _agree(qt.MG1(load, X, qt.Threshold(1.0, qt.Perfect())), policy)


@pytest.mark.parametrize("lam", [0.02, 0.05, 0.1])
def test_worked_example_matches_math_md(lam):
    # docs/theory: X in {2, 14} w.p. 1/2, SERPT and Gittins ranks given as qt.Rank
    q = qt.MG1(lam, qt.Empirical([2, 14]))
    serpt = qt.Rank(lambda d, a: 8 - a if a < 2 else 14 - a, descriptor=None)
    gittins = qt.Rank(lambda d, a: 4 - 2 * a if a < 2 else 14 - a, descriptor=None)
    e2 = 18 * lam / (1 - 2 * lam) + 2
    e14 = 50 * lam / ((1 - 8 * lam) * (1 - 2 * lam)) + 6 / (1 - 2 * lam) + 8
    g2 = 6 * lam / (1 - 2 * lam) + 2
    g14 = 50 * lam / ((1 - 8 * lam) * (1 - 2 * lam)) + 10 / (1 - 2 * lam) + 4
    np.testing.assert_allclose(soap_response_time(q, serpt, [2.0, 14.0]), [e2, e14], rtol=1e-9)
    np.testing.assert_allclose(soap_response_time(q, gittins, [2.0, 14.0]), [g2, g14], rtol=1e-9)
    assert soap_mean_response_time(q, serpt).value == pytest.approx((e2 + e14) / 2, rel=1e-9)
    assert soap_mean_response_time(q, gittins).value == pytest.approx((g2 + g14) / 2, rel=1e-9)


def test_discovered_pieces_locate_jumps_exactly():
    pr = discover_pieces(lambda d, a: 4 - 2 * a if a < 2 else 14 - a, None, 14.0, 8.0)
    assert pr.S.tolist() == [[0.0, 2.0]] and pr.M.tolist() == [[-2.0, -1.0]]


def test_generic_rank_equals_catalogue_srpt():
    # the same policy declared twice: catalogue pieces vs discovered pieces
    q = qt.MG1(0.6, qt.Uniform(0.5, 1.5))
    a = soap_mean_response_time(q, qt.SRPT).value
    b = soap_mean_response_time(q, qt.Rank(lambda x, age: x - age, descriptor="size")).value
    assert a == pytest.approx(b, rel=1e-9)


def test_user_size_rank_on_unbounded_heavy_tail():
    # a size-descriptor lambda over Weibull(0.5) sizes: unbounded support, profiles of
    # different widths across sizes; reference: Schrage-Miller (the closed form)
    q = qt.MG1(0.25, qt.Weibull(0.5, 1.0))
    mine = soap_mean_response_time(q, qt.Rank(lambda x, age: x - age, descriptor="size"))
    assert mine.value == pytest.approx(q.mean_response_time(qt.SRPT, method="formula").value,
                                       rel=1e-7)


def test_rank_functions_need_not_be_numpy_style():
    # the same ranks as plain Python (branches, math): probed point by point, same pieces
    vec = discover_pieces(lambda d, a: np.where(a < d, d - a, 2 * d - a), np.array([1.0, 3.0]),
                          8.0, 1.0)
    py = discover_pieces(lambda d, a: d - a if a < d else 2 * d - a, np.array([1.0, 3.0]),
                         8.0, 1.0)
    for u, v in zip((vec.S, vec.V, vec.M), (py.S, py.V, py.M)):
        np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(py.V, [[1.0, 1.0], [3.0, 3.0]], atol=1e-12)


def test_per_size_curve_matches_formula():
    q = qt.MG1(0.7, qt.Exponential(1.0))
    xs = np.array([0.1, 0.5, 1.0, 3.0])
    got = soap_response_time(q, qt.PSJF, xs)
    want = [q.response_time(qt.PSJF, x, method="formula") for x in xs]
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_not_soap_policies_raise():
    q = qt.MG1(0.5, qt.Exponential(1.0))
    with pytest.raises(qt.PolicyError):
        soap_mean_response_time(q, qt.PS)
    with pytest.raises(qt.PolicyError):
        soap_mean_response_time(qt.MG1(0.5, qt.Exponential(1.0), qt.Threshold(1.0)),
                                qt.OneBit(True))


# -- the exhaustive grid (minutes): continuous predictions, every law ----------------------
@pytest.mark.slow
@pytest.mark.parametrize("law", list(SIZE_LAWS))
@pytest.mark.parametrize("load", [0.5, 0.9])
@pytest.mark.parametrize("policy", SIZE_POLICIES)
def test_size_grid(law, load, policy):
    X = SIZE_LAWS[law]
    _agree(qt.MG1(load / X.mean, X), policy)


@pytest.mark.slow
@pytest.mark.parametrize("pred", [qt.ExpNoise(), qt.UniformNoise(0.5), qt.LognormalNoise(0.5)],
                         ids=["exp", "unif", "lognorm"])
@pytest.mark.parametrize("policy", [qt.SPJF, qt.PSPJF, qt.SPRPT, qt.Trail(0.5)])
def test_prediction_grid(pred, policy):
    _agree(qt.MG1(0.5, qt.Exponential(1.0), pred), policy)


# -- continuous predictions (closed form in y, docs/theory) --------------------------
@pytest.mark.parametrize("size, pred, load, policy", [
    (qt.Exponential(1.0), qt.ExpNoise(), 0.9, qt.SPRPT),
    (qt.Exponential(1.0), qt.ExpNoise(), 0.5, qt.PSPJF),
    (qt.Weibull(2.0, 1.0), qt.UniformNoise(0.5), 0.5, qt.SPRPT),
    pytest.param(qt.Weibull(0.5, 0.5), qt.LognormalNoise(0.5), 0.9, qt.SPJF, marks=pytest.mark.slow),
    pytest.param(qt.Lognormal.from_mean(1.0, 1.0), qt.ExpNoise(), 0.5, qt.Trail(0.5),
                 marks=pytest.mark.slow),
], ids=["exp-exp-sprpt", "exp-exp-pspjf", "weib2-unif-sprpt", "weib.5-logn-spjf", "logn-exp-trail"])
def test_prediction_policies_match_formulas(size, pred, load, policy):
    _agree(qt.MG1(load / size.mean, size, pred), policy)


@pytest.mark.parametrize("c, twin", [(0.0, qt.SPJF), (0.5, None), (1.0, qt.SPRPT)])
def test_trail_limits(c, twin):
    # Trail(0) is SPJF and Trail(1) is SPRPT (Shahout et al. 2025): soap against the twin's
    # closed form; Trail(0.5) against its own (docs/theory/predictions.md)
    q = qt.MG1(0.7, qt.Exponential(1.0), qt.UniformNoise(0.5))
    want = q.mean_response_time(twin or qt.Trail(c), method="formula").value
    assert soap_mean_response_time(q, qt.Trail(c)).value == pytest.approx(want, rel=1e-6)


def test_skippredict_lexicographic_matches_formula():
    # ranks (0, 0) for predicted-short, (1, y - a) for predicted-long (docs/theory/predictions.md)
    q = qt.MG1(0.7, qt.Exponential(1.0), qt.ExpNoise())
    _agree(q, qt.SkipPredict(1.0, qt.ExpNoise(), cheap_cost=0.05, expensive_cost=0.2),
           rel=1e-10)


@pytest.mark.parametrize("lam, T", [(0.7, 1.0), (0.9, 0.5)])
def test_skippredict_within_its_error_of_the_reference(lam, T):
    """The long class's population functions have a kink at its rank 0 (no new long work
    below it); the h(r) interpolant was not cut there and, with no Gauss node between
    the kink and its piece's end, was off by 1.2e-7 while claiming 1.2e-9. The closed
    form is checked too. Reference: 30-digit mpmath from docs/theory/predictions.md
    (tests/references.py)."""
    want = float(ref.skippredict(lam, T))
    q = qt.MG1(lam, qt.Exponential(1.0), qt.ExpNoise())
    for method in ("soap", "formula"):
        r = q.mean_response_time(qt.SkipPredict(T), method=method)
        assert abs(r.value - want) <= max(r.error, 1e-13 * want), (r, want)


def test_skippredict_perfect_within_its_error_of_the_reference():
    """Perfect predictions on Uniform(0.5, 1.5): the long class's loads kink at the cheap
    threshold and at the support's end, inside the pieces of the h(r) interpolant (off
    by 1e-8 while claiming 1e-14). Reference: mpmath (tests/references.py)."""
    want = float(ref.skippredict_perfect_uniform(0.3, 0.5, 1.5, 1.0))
    q = qt.MG1(0.3, qt.Uniform(0.5, 1.5), qt.Perfect())
    for method in ("soap", "formula"):
        r = q.mean_response_time(qt.SkipPredict(1.0), method=method)
        assert abs(r.value - want) <= max(r.error, 1e-13 * want), (r, want)


def test_trail_on_a_discrete_law_within_its_error():
    """Discrete sizes with continuous predictions: where a piece end of the rank (age
    c y, or y) crosses an atom, the tagged job's response time kinks or jumps in y, and
    the y rule must be cut there (it was off by 7e-7 while claiming 1.2e-7). Witness:
    the closed form, whose inner integrals are exact sums over the atoms."""
    q = qt.MG1(0.95 / 1.15, qt.Empirical([0.5, 1.0, 3.0], [0.5, 0.3, 0.2]),
               qt.LognormalNoise(0.5))
    s = soap_mean_response_time(q, qt.Trail(0.5))
    f = q.mean_response_time(qt.Trail(0.5), method="formula")
    assert abs(s.value - f.value) <= s.error + f.error, (s, f)


def test_sprpt_uniform_noise_within_its_error_of_the_reference():
    """UniformNoise on Uniform(0.5, 1.5): the loads below y kink at the predictions of
    the support's ends (0.25, 0.75, 2.25); the closed form's y quadrature did not split
    there and was off by 1.6e-8 while claiming 2.2e-10. Reference: 30-digit nested mpmath
    quadrature (tests/references.py)."""
    want = float(ref.sprpt_uniform_noise(0.9))
    q = qt.MG1(0.9, qt.Uniform(0.5, 1.5), qt.UniformNoise(0.5))
    for method in ("formula", "soap"):
        r = q.mean_response_time(qt.SPRPT, method=method)
        assert abs(r.value - want) <= max(r.error, 1e-13 * want), (r, want)


_GRID_LAWS = {"hyper": qt.Hyperexponential([0.9, 0.1], [1.8, 0.2]), "erlang": qt.Erlang(3, 3.0),
              "lognormal": qt.Lognormal(0.0, 1.0), "pareto": qt.BoundedPareto(1.5, 0.1, 100.0),
              "uniform": qt.Uniform(0.5, 1.5),
              "atoms": qt.Empirical([0.5, 1.0, 3.0], [0.5, 0.3, 0.2]),
              "scipy-gamma": stats.gamma(0.5, scale=2.0)}
_GRID_PREDICTIONS = {"exp": qt.ExpNoise(), "uniform": qt.UniformNoise(0.5),
                     "lognormal": qt.LognormalNoise(0.5), "perfect": qt.Perfect()}


@pytest.mark.slow
@pytest.mark.parametrize("pred", list(_GRID_PREDICTIONS))
@pytest.mark.parametrize("law", list(_GRID_LAWS))
def test_formula_and_soap_within_their_errors_across_laws(law, pred):
    """Every catalogue policy with both a closed form and a SOAP derivation, at loads 0.3
    and 0.95: the two differ by no more than the sum of their stated errors. This grid
    found the kinks and jumps that quadrature or interpolation had straddled (see the
    reference tests above)."""
    from qtheory.laws.convert import as_size_law
    from qtheory.methods.formula import formula_for
    from qtheory.analysis.validate import catalogue
    size = as_size_law(_GRID_LAWS[law])
    bad = []
    for rho in (0.3, 0.95):
        for policy, kind in catalogue(size):
            if kind is None and pred != "exp":
                continue          # size-based policies: once per law
            info = None if kind is None else _GRID_PREDICTIONS[pred] if kind == "prediction" \
                else qt.Threshold(float(size.mean), _GRID_PREDICTIONS[pred])
            q = qt.MG1(rho / float(size.mean), _GRID_LAWS[law], info)
            try:
                formula_for(policy)
                s = soap_mean_response_time(q, policy)
            except qt.PolicyError:
                continue          # no closed form, or not a SOAP policy (PS, LCFS, ...)
            f = q.mean_response_time(policy, method="formula")
            if not abs(s.value - f.value) <= s.error + f.error + 1e-13 * abs(f.value):
                bad.append((rho, policy, f, s))
    assert not bad, bad


_CDF = {"exp": lambda t, x: 1 - mp.exp(-t / x),
        "uniform": lambda t, x: min(max((t - x / 2) / x, 0), 1)}


@pytest.mark.parametrize("noise", ["exp", "uniform"])
@pytest.mark.parametrize("preemptive", [False, "resume"])
def test_priority_classes_on_a_discrete_law_match_cobham(noise, preemptive):
    """Discrete sizes with continuous predictions take the engine's general y path: its
    rule over the tagged job's prediction must be cut at the class thresholds, where the
    response time jumps; across them it was off by up to 0.4% at rho = 0.95. Reference:
    Cobham's formulas summed over the atoms in mpmath (tests/references.py)."""
    values, weights = [0.5, 1.0, 3.0], [0.5, 0.3, 0.2]
    lam, th = 0.95 / 1.15, [0.575, 2.3]          # mean 1.15; thresholds 0.5 and 2 means
    pred = qt.ExpNoise() if noise == "exp" else qt.UniformNoise(0.5)
    q = qt.MG1(lam, qt.Empirical(values, weights), pred)
    want = float(ref.priority_classes_discrete(values, weights, lam, th, _CDF[noise],
                                               preemptive == "resume"))
    s = soap_mean_response_time(q, qt.PriorityClasses(th, preemptive=preemptive))
    assert abs(s.value - want) <= max(s.error, 1e-13 * want), (s, want)


def test_user_rank_end_to_end():
    # a user's lambda through the public API: PSPJF written as a Rank
    q = qt.MG1(0.6, qt.Uniform(0.5, 1.5), qt.UniformNoise(0.5))
    mine = q.mean_response_time(qt.Rank(lambda y, a: y, name="mine"))
    assert mine.method == "soap" and mine.policy == "mine"
    assert mine.value == pytest.approx(q.mean_response_time(qt.PSPJF, method="formula").value,
                                       rel=1e-6)


@pytest.mark.slow
def test_per_size_curve_averages_over_predictions():
    # E[T(x)] = int h(y | x) E[T(x, y)] dy with the closed-form E[T(x, y)] and QUADPACK
    q = qt.MG1(0.7, qt.Exponential(1.0), qt.ExpNoise())
    xs = np.array([0.1, 1.0, 3.0])
    got = soap_response_curve(q, qt.SPRPT, xs)
    for x, g in zip(xs, got):
        want = integrate.quad(lambda y: np.exp(-y / x) / x * q.response_time(
            qt.SPRPT, x, y, method="formula"), 0, np.inf, points=None, epsrel=1e-10, limit=200)[0]
        assert g == pytest.approx(want, rel=1e-8)


# -- policies without a closed form: the simulator as witness --------------------------------
SIM_CASES = {
    "bounce": (0.7, qt.SPRPTBounce()),
    "delay-server": (0.6, qt.DelayPredict(0.5, expensive_cost=0.2, server_time=True)),
    "skip-server": (0.6, qt.SkipPredict(1.0, qt.ExpNoise(), cheap_cost=0.05, expensive_cost=0.2,
                                        server_time=True)),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SIM_CASES))
def test_no_closed_form_policies_match_simulation(name):
    lam, policy = SIM_CASES[name]
    q = qt.MG1(lam, qt.Exponential(1.0), qt.ExpNoise())
    s = soap_mean_response_time(q, policy).value
    sim = q.simulate(policy, jobs=200_000, replications=8, seed=7)
    # the CI is mean +- t_{0.975, 7} se: |z| < 4 fails by chance with probability ~ 0.5 %
    se = (sim.ci[1] - sim.ci[0]) / (2 * stats.t.ppf(0.975, len(sim.replications) - 1))
    assert abs(sim.mean_response_time - s) / se < 4, (s, sim)


@pytest.mark.parametrize("nodes", [16, 32])
def test_interpolant_sees_a_kink_beyond_its_outermost_node(nodes):
    """max(r, 0) on [-4.16, 0.0024]: every Gauss node lies below 0, so the node values
    (and the Legendre coefficients) are those of a constant; the probes just inside the
    piece's ends see the kink, and the piece is refined until the integral is right."""
    from qtheory.methods.soap.interp import _Interp
    ip = _Interp(lambda r: np.maximum(r, 0.0)[None], [-4.16, 0.0024], nodes=nodes)
    got = float(ip.integral(np.array([0.0024]))[0, 0])
    assert got == pytest.approx(0.0024**2 / 2, rel=1e-9, abs=1e-15)


def test_envelope_against_brute_force_suffix_maximum():
    """The compiled suffix maximum r_worst(a) = max_{a <= b < w} r(b) of random piecewise
    linear ranks (slopes of both signs, jumps, one class) against the maximum taken on a
    dense age grid: r_worst(0) and the mean of r_worst over [0, w), rebuilt from the
    flat and sloped parts, agree to the grid's resolution; the parts add up to w."""
    from qtheory.methods.soap import envelope
    rng = np.random.default_rng(7)
    K, P = 40, 5
    L = rng.exponential(1.0, (K, P))
    S = np.cumsum(np.concatenate([np.zeros((K, 1)), L[:, :-1]], 1), 1)
    E = S + L
    E[:, -1] = np.inf
    V = rng.normal(size=(K, P))
    M = rng.choice([-1.0, -0.3, 0.0, 0.5, 2.0], (K, P))
    w = rng.uniform(0.2, 1.5, K) * S[:, -1]
    env = envelope(Profile(S, E, np.zeros((K, P)), V, M), w)
    fl, _, fv = env["flat"]
    sl, _, a, b, _ = env["slope"]
    assert np.allclose(fl.sum(1) + sl.sum(1), w, rtol=1e-12)
    for k in range(K):
        ages = np.linspace(0, w[k], 200_001)[:-1]
        p = np.searchsorted(S[k], ages, side="right") - 1
        r = V[k, p] + M[k, p] * (ages - S[k, p])
        worst = np.maximum.accumulate(r[::-1])[::-1]
        step = w[k] / 200_000 * (np.abs(M[k]).max() + 1)
        assert env["r0"][1][k] == pytest.approx(worst[0], abs=step)
        # mean of r_worst: flat parts at their level, sloped parts at their midpoint
        mean = (np.dot(fl[k], np.where(fl[k] > 0, fv[k], 0.0))
                + np.dot(sl[k], np.where(sl[k] > 0, (a[k] + b[k]) / 2, 0.0))) / w[k]
        assert mean == pytest.approx(worst.mean(), abs=2 * step)
