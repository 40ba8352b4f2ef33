"""The SOAP engine against independent witnesses: the closed forms of qtheory.formulas
(MATH.md sections 1, 2, 4), the hand-derived worked example of MATH.md section 3, and
known identities (Gittins = FB for decreasing hazard, = FCFS for increasing hazard,
= SRPT with known sizes)."""

import warnings

import numpy as np
import pytest

import qtheory as qt
from qtheory.soap import discover_pieces, soap_mean_response_time, soap_response_time

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


@pytest.mark.parametrize("law", ["exp", "uniform"])
@pytest.mark.parametrize("load", [0.5, 0.9])
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
    # MATH.md section 3: X in {2, 14} w.p. 1/2, SERPT and Gittins ranks given as qt.Rank
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


def test_per_size_curve_matches_formula():
    q = qt.MG1(0.7, qt.Exponential(1.0))
    xs = np.array([0.1, 0.5, 1.0, 3.0])
    got = soap_response_time(q, qt.PSJF, xs)
    want = [q.response_time(qt.PSJF, x, method="formula") for x in xs]
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_gittins_is_fb_for_decreasing_hazard():
    X = SIZE_LAWS["hyper"]
    q = qt.MG1(0.7 / X.mean, X)
    g = soap_mean_response_time(q, qt.Gittins)
    assert g.value == pytest.approx(q.mean_response_time(qt.FB).value, rel=1e-7)


def test_gittins_is_fcfs_for_increasing_hazard():
    q = qt.MG1(0.7, qt.Erlang(3, 3.0))
    assert soap_mean_response_time(q, qt.Gittins).value == pytest.approx(
        q.mean_response_time(qt.FCFS).value, rel=1e-9)


def test_gittins_with_known_sizes_is_srpt():
    q = qt.MG1(0.7, qt.Uniform(0.5, 1.5), qt.Perfect())
    assert soap_mean_response_time(q, qt.Gittins).value == pytest.approx(
        q.mean_response_time(qt.SRPT).value, rel=1e-9)


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
