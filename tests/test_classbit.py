"""qt.ClassBit: one bit of class advice on a two-component mixture (Mitzenmacher 2021,
arXiv 2006.15463), on one server: formula = SOAP tightly, simulation within its CI.

The references are written here from the model's definition (Cobham's priority formulas,
MATH.md section 4, with the classes' moments summed over the components by hand), not
read from the library.
"""

import math

import numpy as np
import pytest

import qtheory as qt
from qtheory.core.errors import ParameterError

P, MU_S, MU_L = 0.8, 2.0, 0.25          # short component: mean 1/2; long: mean 4
Q_S, Q_L = 0.9, 0.7
SIZE = qt.Hyperexponential((P, 1 - P), (MU_S, MU_L))
LAM = 0.7 / SIZE.mean


def _reference(lam, preemptive):
    """Cobham / Mitzenmacher's one-bit forms from the components' exponential moments."""
    ex = lambda mu, k: math.factorial(k) / mu**k          # E[Exp(mu)^k]
    ws, wl = Q_S * P, (1 - Q_L) * (1 - P)                 # P(short & S), P(short & L)
    PS = ws + wl
    m1s = ws * ex(MU_S, 1) + wl * ex(MU_L, 1)
    m2s = ws * ex(MU_S, 2) + wl * ex(MU_L, 2)
    EX = P * ex(MU_S, 1) + (1 - P) * ex(MU_L, 1)
    EX2 = P * ex(MU_S, 2) + (1 - P) * ex(MU_L, 2)
    rho, rho_s, R, PL = lam * EX, lam * m1s, lam * EX2 / 2, 1 - PS
    if preemptive is False:
        return EX + R * (PS / (1 - rho_s) + PL / ((1 - rho_s) * (1 - rho)))
    if preemptive is True:
        return EX / (1 - rho_s) + PL * R / ((1 - rho_s) * (1 - rho))
    return (m1s + (EX - m1s) / (1 - rho_s) + PS * lam * m2s / (2 * (1 - rho_s))
            + PL * R / ((1 - rho_s) * (1 - rho)))


@pytest.mark.parametrize("preemptive", [False, "resume", True])
def test_formula_equals_reference(preemptive):
    q = qt.MG1(LAM, SIZE, prediction=qt.ClassBit(correct=(Q_S, Q_L)))
    r = q.mean_response_time(qt.OneBit(preemptive=preemptive), method="formula")
    assert float(r) == pytest.approx(_reference(LAM, preemptive), rel=1e-12)


@pytest.mark.parametrize("preemptive", [False, "resume"])
def test_soap_equals_formula(preemptive):
    # SOAP integrates P(short | x) (Bayes over the components) against the mixture density;
    # the formula sums the components' moments: different computations of one declaration
    q = qt.MG1(LAM, SIZE, prediction=qt.ClassBit(correct=(Q_S, Q_L)))
    pol = qt.OneBit(preemptive=preemptive)
    s = q.mean_response_time(pol, method="soap")
    assert float(s) == pytest.approx(_reference(LAM, preemptive), rel=1e-9)


@pytest.mark.parametrize("preemptive", [False, True])
def test_simulation_within_ci(preemptive):
    q = qt.MG1(LAM, SIZE, prediction=qt.ClassBit(correct=(Q_S, Q_L)))
    s = q.simulate(qt.OneBit(preemptive=preemptive), jobs=100_000, replications=8, seed=11)
    assert abs(s.value - _reference(LAM, preemptive)) <= 4 * s.error


def test_bit_law():
    bit = qt.ClassBit(correct=(Q_S, Q_L)).bind(SIZE)
    # the bit's marginal: P(short) = q_S p + (1 - q_L)(1 - p), sampled through the
    # posterior P(short | x) from sizes of the mixture
    rng = np.random.default_rng(5)
    x = SIZE.sample(rng, 400_000)
    short = bit.sample(x, rng) == 0
    ps = Q_S * P + (1 - Q_L) * (1 - P)
    assert abs(short.mean() - ps) <= 4 * math.sqrt(ps * (1 - ps) / x.size)
    # perfect advice and a law where both components are equal: the posterior is exact
    assert qt.ClassBit((1, 1)).bind(SIZE).short_prob(np.array([0.0]))[0] == pytest.approx(
        P * MU_S / (P * MU_S + (1 - P) * MU_L), rel=1e-14)
    same = qt.ClassBit((0.6, 0.3)).bind(qt.Hyperexponential((0.5, 0.5), (1.0, 1.0)))
    assert np.allclose(same.short_prob(np.array([0.1, 5.0, 1e6])), 0.5 * 0.6 + 0.5 * 0.7)


def test_refusals():
    with pytest.raises(ParameterError, match="two-component mixture"):
        qt.MG1(0.5, qt.Exponential(1.0), prediction=qt.ClassBit((0.9, 0.9)))
    with pytest.raises(ParameterError, match="two-component"):
        qt.MG1(0.1, qt.Hyperexponential((0.2, 0.3, 0.5), (1, 2, 3)),
               prediction=qt.ClassBit((0.9, 0.9)))
    with pytest.raises(ParameterError, match="q_long"):
        qt.ClassBit((0.9, 1.5))
    with pytest.raises(ParameterError, match="correct"):
        qt.ClassBit(0.9)
    with pytest.raises(qt.PolicyError, match="one bit"):
        qt.MG1(LAM, SIZE, prediction=qt.ClassBit((0.9, 0.9))).mean_response_time(qt.SPRPT)


@pytest.mark.filterwarnings("ignore::qtheory.PerformanceWarning")
def test_gittins_and_second_moment_with_classbit():
    # the Gittins index per bit (SOAP) and E[T^2] from the response-time distribution
    # (generic SOAP transform) against the simulator
    size = qt.Hyperexponential((0.8, 0.2), (2.0, 0.25))
    q = qt.MG1(0.5, size, prediction=qt.ClassBit((0.9, 0.8)))
    g = q.mean_response_time(qt.Gittins())
    s = q.simulate(qt.Gittins(), jobs=100_000, replications=6, seed=3)
    assert abs(s.z(g.value)) < 4
    assert g.value < float(q.mean_response_time(qt.OneBit("resume")))   # Gittins is optimal
    m2 = q.response_time_distribution(qt.OneBit()).moment(2)
    s = q.simulate(qt.OneBit(), jobs=200_000, replications=6, seed=3, quantiles=(0.9,))
    assert abs(s.moment(2).z(m2.value)) < 4


def test_classbit_has_no_threshold():
    with pytest.raises(ParameterError, match="already one bit"):
        qt.Threshold(1.0, qt.ClassBit((0.9, 0.9)))
