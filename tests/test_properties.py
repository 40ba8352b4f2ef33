"""Properties every correct answer has, over random size laws and loads (hypothesis,
derandomized so CI is deterministic):

* SRPT minimises mean response time among all policies (Schrage 1968), whatever they
  know: size, prediction or nothing;
* every mean increases with the arrival rate;
* Kleinrock's conservation law: a non-preemptive work-conserving policy has the same
  mean work in system as FCFS, i.e. E[X T_Q] is policy-free
  (lambda E[X T_Q] = rho W_FCFS);
* every result is finite below rho = 1.
"""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qtheory as qt

SETTINGS = settings(max_examples=10, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

laws = st.one_of(
    st.builds(qt.Exponential, st.floats(0.2, 5.0)),
    st.builds(qt.Erlang, st.integers(1, 6), st.floats(0.5, 5.0)),
    st.builds(lambda m, c: qt.Hyperexponential.balanced(m, c),
              st.floats(0.5, 2.0), st.floats(1.5, 20.0)),
    st.builds(lambda a, w: qt.Uniform(a, a + w), st.floats(0.0, 2.0), st.floats(0.1, 3.0)),
    st.builds(lambda k: qt.Weibull(k, 1 / math.gamma(1 + 1 / k)), st.floats(0.5, 3.0)),
    st.builds(lambda s: qt.Lognormal.from_mean(1.0, s), st.floats(0.2, 1.5)),
)
loads = st.floats(0.05, 0.95)
predictions = st.sampled_from([qt.ExpNoise(), qt.UniformNoise(0.5), qt.LognormalNoise(0.5)])

SIZE_POLICIES = [qt.FCFS, qt.PS, qt.LCFS, qt.SJF, qt.PSJF, qt.FB]


def queue(size, rho, prediction=None):
    return qt.MG1(rho / size.mean, size, prediction)


@SETTINGS
@given(laws, loads)
def test_srpt_beats_every_size_or_blind_policy(size, rho):
    q = queue(size, rho)
    srpt = q.mean_response_time(qt.SRPT)
    assert math.isfinite(srpt.value) and srpt.value >= size.mean
    for p in SIZE_POLICIES:
        other = q.mean_response_time(p)
        assert math.isfinite(other.value)
        assert srpt.value <= other.value + srpt.error + other.error + 1e-12 * other.value, p


@settings(SETTINGS, max_examples=5)
@given(laws, st.floats(0.05, 0.9), predictions)
def test_srpt_beats_prediction_policies(size, rho, prediction):
    q = queue(size, rho, prediction)
    srpt = q.mean_response_time(qt.SRPT).value
    for p in (qt.SPJF, qt.PSPJF, qt.SPRPT):
        r = q.mean_response_time(p)
        assert math.isfinite(r.value) and srpt <= r.value + r.error, p


@SETTINGS
@given(laws, st.floats(0.05, 0.85), st.floats(1.02, 1.15))
def test_means_increase_with_arrival_rate(size, rho, factor):
    lo, hi = queue(size, rho), queue(size, rho * factor)
    for p in [*SIZE_POLICIES, qt.SRPT]:
        a, b = lo.mean_response_time(p), hi.mean_response_time(p)
        assert a.value < b.value + a.error + b.error, p


@SETTINGS
@given(laws, loads)
def test_conservation_of_work_for_nonpreemptive_policies(size, rho):
    q = queue(size, rho)
    lam = q.arrival_rate
    w_fcfs = lam * size.moment(2) / (2 * (1 - rho))
    for p in (qt.SJF, qt.PriorityClasses((size.mean,), preemptive=False)):
        xw, _ = size.expect(lambda x: x * (q.response_time(p, size=x) - x),
                            points=(size.mean,))
        assert lam * xw == pytest.approx(rho * w_fcfs, rel=1e-7), p


@settings(SETTINGS, max_examples=6)
@given(laws, st.floats(0.05, 0.9), predictions)
def test_conservation_holds_for_spjf_with_noisy_predictions(size, rho, prediction):
    # SPJF waits W(y) depend on the prediction only; E[X W(Y)] = E[X] W_FCFS
    q = queue(size, rho, prediction)
    lam = q.arrival_rate
    wait = lambda y: q.response_time(qt.SPJF, size=0.0, prediction=y)
    xw, _ = q.joint.expect_y(wait, k=1)
    assert lam * xw == pytest.approx(rho * lam * size.moment(2) / (2 * (1 - rho)), rel=1e-6)
