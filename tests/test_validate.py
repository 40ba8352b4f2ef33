"""validate / validate_all / check_samples: agreement is reported, disagreement caught."""

import math

import numpy as np
import pytest

import qtheory as qt
from qtheory.methods import formula as formulas
from qtheory.core.errors import ParameterError
from qtheory.analysis.validate import Report, _label, catalogue, check_samples, validate, validate_all


class _WrongPS(formulas.Formula):
    """A deliberately wrong PS formula: E[T] = E[X] / (1 - rho) * 1.1."""

    def mean(self, q, p):
        return 1.1 * q.size.mean / (1 - q.load), 0.0

    def at(self, q, p, x, y):
        return 1.1 * x / (1 - q.load)


@pytest.fixture
def wrong_ps(monkeypatch):
    monkeypatch.setitem(formulas.FORMULAS, qt.PS, _WrongPS())


Q = qt.MG1(0.7, qt.Exponential(1.0))


def test_validate_agrees_and_prints():
    r = validate(Q, qt.SRPT, jobs=50_000, replications=6, seed=1)
    assert isinstance(r, Report) and r.passed
    assert r.row("formula").status == "ok"
    assert r.row("simulation").ci[0] < r.row("formula").value < r.row("simulation").ci[1] \
        or abs(r.row("formula").z) < 4
    for m in ("soap", "symbolic"):
        assert r.row(m).status in ("ok", "n/a")
    text = str(r)
    assert "method" in text and "verdict: PASSED" in text


def test_validate_catches_a_wrong_formula(wrong_ps):
    r = validate(Q, qt.PS, jobs=50_000, replications=20, seed=1, methods=("formula", "simulation"))
    assert not r.passed
    assert r.row("formula").status == "FAIL" and abs(r.row("formula").z) > 5.3


def test_validate_catches_a_wrong_reference():
    r = validate(Q, qt.FCFS, jobs=50_000, replications=20, seed=2,
                 methods=("formula", "simulation"), reference={"mine": 3.0})
    assert not r.passed and r.row("mine").status == "FAIL"
    ok = validate(Q, qt.FCFS, jobs=50_000, replications=6, seed=2,
                  methods=("simulation",), reference={"M/M/1": (1 / 0.3, 1e-12)})
    assert ok.passed


def test_validate_marks_missing_methods():
    r = validate(Q, qt.SPRPTBounce, jobs=0, methods=("formula",))
    assert r.row("formula").status == "n/a" and not r.passed


def test_validate_bad_method():
    with pytest.raises(ParameterError, match="methods"):
        validate(Q, qt.FCFS, methods=("guess",))


def test_validate_all_small_grid():
    suite = validate_all(policies=[qt.FCFS, qt.PS], laws=[qt.Exponential(1.0)], loads=(0.5,),
                         jobs=30_000, replications=4, methods=("formula", "simulation"))
    assert suite.passed and len(suite.reports) == 2
    assert "2/2 passed" in str(suite)


@pytest.mark.parametrize("policy, kind", [
    (qt.OneBit(True), "bit"), (qt.Trail(0.5), "prediction"), (qt.SkipPredict(1.0), "prediction"),
    (qt.PriorityClasses([0.5, 2.0], preemptive="resume"), "prediction")],
    ids=["onebit-any", "trail", "skip", "classes"])
def test_validate_table(policy, kind):
    """The closed form against the simulation, in one table with a verdict."""
    law = qt.Exponential(1.0)
    info = {"prediction": qt.ExpNoise(), "bit": qt.Threshold(1.0, qt.ExpNoise())}
    q = qt.MG1(0.6, law, info[kind])
    r = validate(q, policy, jobs=50_000, replications=8, seed=3,
                 methods=("formula", "simulation"))
    assert r.passed, str(r)
    assert [row.status for row in r.rows] == ["ok", "ok"]
    assert _label(policy) in str(r)


@pytest.mark.slow
def test_validate_all_catalogue():
    """The whole catalogue, Exp(1) and Weibull(0.5), rho = 0.5 and 0.9."""
    suite = validate_all(jobs=100_000, replications=10, methods=("formula", "soap",
                                                                 "simulation"))
    assert len(suite.reports) == 2 * 2 * len(catalogue())
    assert suite.passed, str(suite) + "\n\n" + "\n\n".join(map(str, suite.failures))


def test_to_frame():
    r = validate(Q, qt.FCFS, jobs=0, methods=("formula",))
    pandas = pytest.importorskip("pandas")
    df = r.to_frame()
    assert isinstance(df, pandas.DataFrame) and list(df["method"]) == ["formula"]
    suite = validate_all(policies=[qt.FCFS], laws=[qt.Exponential(1.0)], loads=(0.5,),
                         jobs=0, methods=("formula",))
    assert list(suite.to_frame()["policy"]) == ["FCFS"]


def test_to_frame_without_pandas_names_the_extra(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "pandas", None)   # import pandas -> ImportError
    r = validate(Q, qt.FCFS, jobs=0, methods=("formula",))
    with pytest.raises(ImportError, match=r"qtheory\[pandas\]"):
        r.to_frame()


@pytest.fixture(scope="module")
def fcfs_samples():
    s = Q.simulate(qt.FCFS, jobs=200_000, replications=2, seed=4, per_job=True)
    return s.per_job["response_time"], s.per_job["size"]


def test_check_samples_agrees(fcfs_samples):
    T, x = fcfs_samples
    c = check_samples(T, Q, qt.FCFS, sizes=x)
    assert c.agrees and abs(c.z) < 4 and c.ci[0] < c.theory < c.ci[1] or abs(c.z) < 4
    assert len(c.by_size) == 5
    assert "AGREES" in str(c)


def test_check_samples_catches_wrong_formula(fcfs_samples, wrong_ps):
    T, _ = fcfs_samples   # M/M/1: FCFS and PS share E[T]; the wrong PS formula is 10% high
    c = check_samples(T, Q, qt.PS)
    assert not c.agrees and c.relative_difference == pytest.approx(-1 / 11, abs=0.03)
    assert "DISAGREES" in str(c)


def test_check_samples_catches_other_policy(fcfs_samples):
    T, _ = fcfs_samples
    assert not check_samples(T, Q, qt.SRPT).agrees


def test_check_samples_bad_input():
    with pytest.raises(ParameterError, match="batches"):
        check_samples(np.ones(1000), Q, qt.FCFS, batches=3)
    with pytest.raises(ParameterError, match="too few"):
        check_samples(np.ones(50), Q, qt.FCFS)
    with pytest.raises(ParameterError, match="finite"):
        check_samples(np.array([1.0, math.nan] * 500), Q, qt.FCFS)


def test_validate_takes_every_queue_type():
    """qt.validate on a batch queue runs its own methods side by side (the embedded
    chain, the PGF roots, the bound and the simulator; the fluid value and the LLM
    simulator), with a verdict."""
    b = qt.BatchQueue(2.37, lambda k: 0.1438 * k + 1.8874, max_batch=8)
    report = qt.validate(b, jobs=40_000, replications=4, seed=3)
    assert report.passed, str(report)
    cb = qt.ContinuousBatching(2.0, prompt=100, output=50, d0=0.01, d1=1e-6, memory=60_000)
    report = qt.validate(cb, jobs=4000, replications=4, seed=3)
    assert {r.method for r in report.rows} >= {"simulation"} and str(report)
    with pytest.raises(qt.ParameterError, match="policy is missing"):
        qt.validate(qt.MG1(0.5, qt.Exponential(1.0)))
