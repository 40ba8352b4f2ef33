"""Bad and extreme input, as a new user would give it: each case here once escaped as a
bare Python exception, a NaN or a silently wrong number."""

import math
import warnings

import numpy as np
import pytest

import qtheory as qt
from qtheory.analysis.validate import t_limit


@pytest.mark.parametrize("law, policy, noise, lam", [
    (qt.Deterministic(3.0), qt.PSPJF(), qt.ExpNoise(), 0.95 / 3),
    (qt.Deterministic(2.0), qt.Trail(0.5), qt.LognormalNoise(0.5), 0.15),
    (qt.Deterministic(1.0), qt.SPRPT(), qt.UniformNoise(0.5), 0.5)], ids=str)
def test_fixed_sizes_with_noisy_predictions(law, policy, noise, lam):
    """A point-mass size law with continuous predictions (it raised 'array of sample
    points is empty'): Mitzenmacher's formulas and the SOAP engine agree, and the
    simulator's interval holds the value."""
    q = qt.MG1(lam, law, noise)
    f = q.mean_response_time(policy, method="formula")
    s = q.mean_response_time(policy, method="soap")
    assert abs(f.value - s.value) <= f.error + s.error + 1e-9 * f.value, (f, s)
    sim = q.simulate(policy, jobs=100_000, replications=6, seed=2)
    assert abs(sim.z(f.value)) < t_limit(4.0, 6), (sim, f)


def test_a_prediction_policy_without_predictions_says_so():
    q = qt.MG1(0.5, qt.Exponential(1.0))
    for call in (lambda: q.mean_response_time(qt.SPRPT),
                 lambda: q.response_time(qt.SPRPT, 1.0),
                 lambda: q.response_time_distribution(qt.PSPJF),
                 lambda: q.simulate(qt.SPJF, jobs=2000, replications=2)):
        with pytest.warns(qt.PredictionWarning, match="prediction=qt.Perfect"):
            call()
    # the value is SRPT's, now said aloud; with Perfect() declared, or for size classes,
    # nothing to say
    with pytest.warns(qt.PredictionWarning):
        silent_before = q.mean_response_time(qt.SPRPT).value
    assert silent_before == pytest.approx(q.mean_response_time(qt.SRPT).value, rel=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        qt.MG1(0.5, qt.Exponential(1.0), qt.Perfect()).mean_response_time(qt.SPRPT)
        q.mean_response_time(qt.PriorityClasses([1.0]))


def test_response_time_takes_arrays():
    q = qt.MG1(0.5, qt.Exponential(1.0), qt.ExpNoise())
    x = np.array([0.5, 1.0, 2.0])
    y = np.array([[0.3], [3.0]])
    got = q.response_time(qt.SPRPT, size=x, prediction=y)
    assert got.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            assert got[i, j] == q.response_time(qt.SPRPT, float(x[j]), float(y[i, 0]))
    assert q.response_time(qt.SRPT, size=[1.0, 2.0]).tolist() == [
        q.response_time(qt.SRPT, 1.0), q.response_time(qt.SRPT, 2.0)]


def test_response_time_bad_input_names_the_parameter():
    q = qt.MG1(0.5, qt.Exponential(1.0), qt.ExpNoise())
    for kwargs, name in ((dict(prediction=float("nan")), "prediction"),
                         (dict(prediction=-1.0), "prediction"),
                         (dict(method="bogus"), "method")):
        with pytest.raises(qt.ParameterError, match=f"{name} = "):
            q.response_time(qt.SPRPT, 1.0, **kwargs)
    bits = qt.MG1(0.5, qt.Exponential(1.0), qt.Threshold(1.0))
    with pytest.raises(qt.ParameterError, match="0 \\(short\\) or 1 \\(long\\)"):
        bits.response_time(qt.OneBit(False), 1.0, prediction=2)


@pytest.mark.parametrize("policy", [qt.SRPT, qt.FB, qt.PSJF, qt.PS, qt.LCFS])
def test_huge_sizes_stay_finite(policy):
    """x = 1e300 (x² overflows; it gave NaN from inf · 0): the residence x / (1 - rho)
    dominates everything else (M/M/1, rho = 0.5)."""
    q = qt.MG1(0.5, qt.Exponential(1.0))
    got = q.response_time(policy, 1e300)
    assert math.isfinite(got) and got == pytest.approx(2e300, rel=1e-12)


def test_batch_forms_and_simulators_refuse_bad_rates():
    from qtheory.queues.batch_forms import inoue_bound, mm_ab1_mean_response_time
    with pytest.raises(qt.ParameterError, match="arrival_rate = -1.0"):
        inoue_bound(-1.0, 0.1, 1.0)
    with pytest.raises(qt.ParameterError, match="service_rate = -2.0"):
        mm_ab1_mean_response_time(0.5, -2.0, 1, 1)
    with pytest.raises(qt.ParameterError, match="replications = 0"):
        qt.BatchQueue(1.0, lambda k: 0.5 * k + 1.0).simulate(replications=0)


def test_check_samples_is_not_fooled_by_overflow():
    """A constant series of 1e300 once 'agreed' with E[T] = 2 (its squares overflowed
    into an infinite interval)."""
    c = qt.check_samples(np.full(1000, 1e300), qt.MG1(0.5, qt.Exponential(1.0)), qt.FCFS)
    assert not c.agrees


def test_validate_fails_when_a_method_breaks(monkeypatch):
    """A method that raises an unexpected exception is a failed report, not a pass."""
    from qtheory.methods import formula as formulas

    class Broken(formulas.Formula):
        def mean(self, q, p):
            raise ZeroDivisionError("a bug")

    monkeypatch.setitem(formulas.FORMULAS, qt.PS, Broken())
    q = qt.MG1(0.5, qt.Exponential(1.0))
    r = qt.validate(q, qt.PS, jobs=20_000, replications=4)
    assert r.row("formula").status == "error" and not r.passed
