"""Heavy tails and near-critical loads: results converge to their references or fail with
a named error; the reported error bound still holds at rho = 0.99."""

import math

import mpmath as mp
import pytest
import scipy.stats as st

import qtheory as qt

from . import references as ref

WEIBULL = qt.Weibull(0.5, 0.5)      # mean 1, E[X^2] = 6, decreasing hazard
PARETO = qt.BoundedPareto(1.1, 1.0, 1e6)  # mean ~ 10.3, squared coefficient of variation ~ 1e4


def _ref_weibull(lam):
    sf, partial, pdf = ref.weibull(0.5, 0.5)
    return ref.srpt_general(lam, sf, partial, pdf, [0, mp.mpf("1e-4"), mp.mpf("0.01"), 1, 10,
                                                    100, 1000, mp.inf])


def _ref_pareto(lam):
    sf, partial, pdf = ref.bounded_pareto(1.1, 1, 10**6)
    return ref.srpt_general(lam, sf, partial, pdf, [0, 1, 2, 10, 100, 10**3, 10**4, 10**5, 10**6])


@pytest.mark.parametrize("size, reference", [(WEIBULL, _ref_weibull), (PARETO, _ref_pareto)],
                         ids=["weibull0.5", "boundedpareto1.1"])
@pytest.mark.parametrize("rho", [0.9, 0.99])
def test_srpt_heavy_tail_near_critical_against_mpmath(size, reference, rho):
    lam = rho / size.mean
    exact = float(reference(lam))
    r = qt.MG1(lam, size).mean_response_time(qt.SRPT)
    assert abs(r.value - exact) <= r.error + 1e-12 * exact, (r, exact)
    assert abs(r.value - exact) <= 1e-7 * exact


@pytest.mark.parametrize("size", [WEIBULL, PARETO], ids=["weibull0.5", "boundedpareto1.1"])
def test_fcfs_is_pollaczek_khinchine_at_rho_099(size):
    q = qt.MG1(0.99 / size.mean, size)
    pk = size.mean + q.arrival_rate * size.moment(2) / (2 * 0.01)
    assert q.mean_response_time(qt.FCFS).value == pytest.approx(pk, rel=1e-12)
    # heavy tails punish FCFS: SRPT is far better, by orders of magnitude for the Pareto law
    assert q.mean_response_time(qt.SRPT).value < pk / 5


def test_prediction_policies_converge_on_a_heavy_tail_at_rho_099():
    q = qt.MG1(0.99, WEIBULL, qt.ExpNoise())
    srpt = q.mean_response_time(qt.SRPT).value
    for p in (qt.SPJF, qt.PSPJF, qt.SPRPT):
        r = q.mean_response_time(p)
        assert math.isfinite(r.value) and r.error <= 1e-6 * r.value, (p, r)
        assert r.value > srpt


def test_scipy_heavy_tail_matches_the_native_law():
    # the same Weibull law through scipy.stats (quadrature partial moments) and natively
    # (closed-form partial moments): two independent routes to one number
    native = qt.MG1(0.9, WEIBULL).mean_response_time(qt.SRPT)
    wrapped = qt.MG1(0.9, st.weibull_min(0.5, scale=0.5)).mean_response_time(qt.SRPT)
    assert wrapped.value == pytest.approx(native.value, rel=1e-9)
    assert abs(wrapped.value - native.value) <= wrapped.error + native.error + 1e-12
