"""One Result type across the queues: every answer is a Result whose ``method`` is the
key it was asked for, and every simulation is a SimulationResult built on one t-interval."""

import math

import numpy as np
import pytest
import scipy.stats as st

import qtheory as qt
from qtheory.core.result import Estimate, t_interval

ASKED = [  # (queue, method asked, method key expected)
    (lambda: qt.MG1(0.5, qt.Exponential(1.0)), {"policy": qt.SRPT}, "auto", "formula"),
    (lambda: qt.MG1(0.5, qt.Exponential(1.0)), {"policy": qt.SRPT}, "soap", "soap"),
    (lambda: qt.BatchQueue(1.0, lambda k: 0.1 * k + 0.5, max_batch=4), {}, "auto", "chain"),
    (lambda: qt.BatchQueue(1.0, lambda k: 0.1 * k + 0.5, max_batch=4), {}, "roots", "roots"),
    (lambda: qt.BatchQueue(1.0, lambda k: 0.1 * k + 0.5), {}, "bound", "bound"),
    (lambda: qt.ContinuousBatching(2.0, 100, 50, d0=0.01, d1=1e-6, memory=20_000), {},
     "auto", "fluid"),
]


@pytest.mark.parametrize("make, kw, asked, key", ASKED,
                         ids=[f"{i}-{a}" for i, (_, _, a, _) in enumerate(ASKED)])
def test_every_queue_answers_with_a_result_keyed_by_method(make, kw, asked, key):
    r = make().mean_response_time(**kw, method=asked)
    assert type(r) is qt.Result
    assert r.method == key
    assert math.isfinite(r.value) and r.error >= 0


@pytest.mark.parametrize("make, kw", [
    (lambda: qt.MG1(0.5, qt.Exponential(1.0)), {"policy": qt.SRPT}),
    (lambda: qt.BatchQueue(1.0, lambda k: 0.1 * k + 0.5, max_batch=4), {}),
    (lambda: qt.ContinuousBatching(2.0, 100, 50, d0=0.01, d1=1e-6, memory=20_000), {}),
], ids=["MG1", "BatchQueue", "ContinuousBatching"])
def test_every_queue_simulates_to_one_simulation_result(make, kw):
    s = make().simulate(**kw, jobs=4000, replications=3, seed=2)
    assert isinstance(s, qt.SimulationResult) and isinstance(s, qt.Result)
    assert s.method == "simulation" and s.value == s.mean_response_time == s.mean("T")
    assert s.error == s.std_error == s.metric("T").std_error
    assert len(s.replications) == 3 and s.metrics["T"].ci == s.ci
    with pytest.raises(KeyError, match="was not measured"):
        s.metric("no such metric")


def test_intervals_are_student_t_as_scipy_computes_them():
    """The one interval helper against scipy.stats.t.interval (independent code)."""
    v = np.random.default_rng(3).exponential(size=7)
    mean, (lo, hi), se = t_interval(v)
    ref = st.t.interval(0.95, v.size - 1, loc=v.mean(), scale=st.sem(v))
    assert (lo, hi) == pytest.approx(ref, rel=1e-14)
    assert se == pytest.approx(st.sem(v), rel=1e-14) and mean == v.mean()
    e = Estimate.of(v)
    assert e.z(1.0) == pytest.approx((v.mean() - 1.0) / st.sem(v), rel=1e-14)
    # one replication gives no interval, said as an infinite one (never a zero width)
    assert t_interval([2.0])[1] == (-math.inf, math.inf)


def test_a_constant_estimate_compares_exactly():
    e = Estimate.of([2.0, 2.0, 2.0])
    assert e.z(2.0) == 0.0 and e.z(2.5) == -math.inf and e.z(1.0) == math.inf


def test_results_are_immutable():
    r = qt.MG1(0.5, qt.Exponential(1.0)).mean_response_time(qt.FCFS)
    with pytest.raises(AttributeError):
        r.value = 3.0
