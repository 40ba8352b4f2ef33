"""docs/theory/simulation.md: every way to go wrong raises a named exception that names the parameter
at fault and says how to fix it. Nothing silently wrong."""

import math

import pytest
import scipy.stats as st

import qtheory as qt
from qtheory.core.numerics import integrate

EXP = qt.Exponential(1.0)


# -- unstable loads -----------------------------------------------------------------------
@pytest.mark.parametrize("lam", [2.0, 2.4, 100.0])
def test_unstable_load_names_rho_and_the_largest_stable_rate(lam):
    with pytest.raises(qt.UnstableError) as e:
        qt.MG1(lam, qt.Exponential(2.0))
    assert e.value.rho == pytest.approx(lam / 2)
    msg = str(e.value)
    assert "rho" in msg and "arrival_rate" in msg and "2" in msg  # lambda = 2 is rho = 1


def test_unstable_error_is_a_value_error_and_a_qtheory_error():
    with pytest.raises(ValueError):
        qt.MG1(3.0, EXP)
    with pytest.raises(qt.QTheoryError):
        qt.MG1(3.0, EXP)


# -- invalid parameters --------------------------------------------------------------------
@pytest.mark.parametrize("make, name", [
    (lambda: qt.Exponential(-1.0), "rate"),
    (lambda: qt.Exponential(math.nan), "rate"),
    (lambda: qt.Weibull(0.0, 1.0), "shape"),
    (lambda: qt.Uniform(2.0, 1.0), "high"),
    (lambda: qt.BoundedPareto(1.5, 2.0, 1.0), "high"),
    (lambda: qt.Erlang(2.5, 1.0), "k"),
    (lambda: qt.Lognormal.from_mean(1.0, -1.0), "sigma"),
    (lambda: qt.UniformNoise(1.5), "alpha"),
    (lambda: qt.LognormalNoise(-0.1), "sigma"),
    (lambda: qt.Trail(1.5), "c"),
    (lambda: qt.Threshold(-1.0), "T"),
    (lambda: qt.MG1(-0.5, EXP), "arrival_rate"),
    (lambda: qt.MG1(math.inf, EXP), "arrival_rate"),
    (lambda: qt.MG1(0.5, EXP).mean_response_time(qt.SRPT, method="bogus"), "method"),
    (lambda: qt.MG1(0.5, EXP).mean_response_time("nonsense"), "policy"),
    (lambda: qt.MG1(0.5, EXP).response_time(qt.SRPT, size=-1.0), "size"),
])
def test_invalid_parameter_names_itself(make, name):
    with pytest.raises(qt.ParameterError) as e:
        make()
    assert name in str(e.value)


def test_negative_support_is_rejected_with_the_fix():
    with pytest.raises(qt.ParameterError) as e:
        qt.MG1(0.5, st.norm())
    assert ">= 0" in str(e.value) and "loc" in str(e.value)
    with pytest.raises(qt.ParameterError, match="Empirical"):
        qt.MG1(0.5, st.poisson(2.0))  # discrete scipy laws: use qt.Empirical
    with pytest.raises(qt.ParameterError, match="negative"):
        qt.Empirical([1.0, -2.0])


def test_wrong_kind_of_prediction_for_the_policy():
    with pytest.raises(qt.PolicyError, match="Threshold"):
        qt.MG1(0.5, EXP, qt.ExpNoise()).mean_response_time(qt.OneBit(True))
    with pytest.raises(qt.PolicyError, match="one bit"):
        qt.MG1(0.5, EXP, qt.Threshold(1.0)).mean_response_time(qt.SPRPT)
    with pytest.raises(qt.PolicyError, match="prediction"):
        qt.MG1(0.5, EXP).mean_response_time(qt.SkipPredict(1.0))


# -- infinite moments ----------------------------------------------------------------------
PARETO = st.pareto(1.5)  # tail index 1.5: E[X] = 3, E[X^2] = infinite


@pytest.mark.parametrize("policy", [qt.FCFS, qt.SJF, qt.PriorityClasses((2.0,)), qt.OneBit(False)])
def test_infinite_second_moment_makes_nonpreemptive_means_infinite(policy):
    # the residual work an arrival finds has mean lambda E[X^2] / 2 = infinity
    pred = qt.Threshold(2.0) if policy.descriptor == "bit" else None
    q = qt.MG1(0.2, PARETO, pred)
    with pytest.raises(qt.InfiniteMomentError, match="E\\[X\\^2\\] is infinite"):
        q.mean_response_time(policy)


@pytest.mark.parametrize("policy", [qt.PS, qt.LCFS])
def test_infinite_second_moment_leaves_ps_and_preemptive_lcfs_finite(policy):
    # PS and preemptive LCFS: E[T] = E[X] / (1 - rho), only the mean matters (and scipy's
    # own moment(2) of this law is -3, which must not leak into any formula)
    q = qt.MG1(0.2, PARETO)
    assert q.mean_response_time(policy).value == pytest.approx(3 / (1 - 0.6), rel=1e-9)
    assert q.size.moment(2) == math.inf


def test_infinite_mean_is_named_not_reported_as_a_load():
    with pytest.raises(qt.InfiniteMomentError, match="infinite mean"):
        qt.MG1(0.1, st.pareto(0.8))


# -- quadrature that cannot vouch for its answer -------------------------------------------
def test_nonconvergent_integral_raises_with_value_and_error():
    with pytest.raises(qt.ConvergenceError) as e:
        integrate(lambda t: 1 / t, 0.0, 1.0, what="int_0^1 dt/t")
    assert "int_0^1 dt/t did not converge" in str(e.value)
    assert e.value.error > 0 and "method='simulation'" in str(e.value)
    # a convergent neighbour is fine
    assert integrate(lambda t: t**-0.5, 0.0, 1.0)[0] == pytest.approx(2.0, rel=1e-10)


def test_simulation_only_policies_say_which_method_to_use():
    q = qt.MG1(0.5, EXP, qt.ExpNoise())
    with pytest.raises(qt.PolicyError, match="soap|simulation"):
        q.mean_response_time(qt.SkipPredict(1.0, server_time=True), method="formula")
