"""The simulator against the closed forms, and its own invariants.

Every tolerance is statistical: a simulated mean disagrees with a formula when its
t-statistic over independent replications is beyond the quantile a 4-sigma normal event
has (two-sided probability 6.3e-5), so at these fixed seeds a failure means a bug, not
bad luck.
"""

import concurrent.futures as cf
import math
import warnings

import numpy as np
import pytest
from scipy import stats

import qtheory as qt
from qtheory.errors import ParameterError, PolicyError
from qtheory.sim import simulate

P4 = 2 * stats.norm.sf(4.0)          # two-sided tail of a 4-sigma event


def t_limit(replications):
    """|t| beyond which a replication mean disagrees (4-sigma equivalent)."""
    return stats.t.isf(P4 / 2, replications - 1)


def agree(s, value, error=0.0):
    t = (s.mean_response_time - value) / math.hypot(s.std_error, error)
    return abs(t) < t_limit(len(s.replications)), t


LAWS = {"exp": qt.Exponential(1.0), "weibull": qt.Weibull(0.5, 0.5)}
EXPNOISE = qt.ExpNoise()
BIT = qt.Threshold(1.0, qt.ExpNoise())

# (id, policy, prediction model of the queue)
CASES = [
    ("FCFS", qt.FCFS, None), ("LCFS", qt.LCFS, None), ("PS", qt.PS, None),
    ("SJF", qt.SJF, None), ("PSJF", qt.PSJF, None), ("SRPT", qt.SRPT, None), ("FB", qt.FB, None),
    ("SPJF", qt.SPJF, EXPNOISE), ("PSPJF", qt.PSPJF, EXPNOISE), ("SPRPT", qt.SPRPT, EXPNOISE),
    ("Trail0.5", qt.Trail(0.5), EXPNOISE),
    ("Classes-np", qt.PriorityClasses([0.5, 2.0]), EXPNOISE),
    ("Classes-resume", qt.PriorityClasses([0.5, 2.0], preemptive="resume"), EXPNOISE),
    ("OneBit-np", qt.OneBit(False), BIT), ("OneBit-any", qt.OneBit(True), BIT),
    ("OneBit-resume", qt.OneBit("resume"), BIT),
]

JOBS, REPS = 100_000, 10


@pytest.mark.parametrize("rho", [0.5, 0.9])
@pytest.mark.parametrize("law", sorted(LAWS))
@pytest.mark.parametrize("name, policy, prediction", CASES, ids=[c[0] for c in CASES])
def test_catalogue_against_formula(name, policy, prediction, law, rho):
    size = LAWS[law]
    q = qt.MG1(rho / size.mean, size, prediction)
    ref = q.mean_response_time(policy, method="formula")
    seed = 1000 + 10 * [c[0] for c in CASES].index(name) + int(rho * 10) + 100 * (law == "exp")
    s = q.simulate(policy, jobs=JOBS, replications=REPS, seed=seed, executor=False)
    ok, t = agree(s, float(ref), ref.error)
    assert ok, f"{name} {law} rho={rho}: simulated {s} vs formula {float(ref):.6g}, t = {t:.2f}"


def test_mm1_ps_lcfs_fcfs_agree():
    q = qt.MG1(0.7, qt.Exponential(1.0))
    exact = 1 / (1 - 0.7)
    for p in (qt.PS, qt.LCFS, qt.FCFS):
        s = q.simulate(p, jobs=100_000, replications=8, seed=7, executor=False)
        assert agree(s, exact)[0], (p, s)


@pytest.mark.parametrize("policy", [qt.SRPT, qt.PS, qt.FB, qt.LCFS, qt.SJF])
def test_littles_law(policy):
    """Time-average number in system = lambda x mean response time, replication by
    replication (the difference's t-interval contains 0)."""
    q = qt.MG1(0.8, qt.Weibull(0.5, 0.5))
    s = q.simulate(policy, jobs=50_000, replications=8, seed=11, executor=False)
    d = s.mean_number_replications - q.arrival_rate * s.replications
    t = d.mean() / (d.std(ddof=1) / math.sqrt(d.size))
    assert abs(t) < t_limit(d.size), (s.mean_number, q.arrival_rate * s.mean_response_time)
    # and with the measured arrival rate the identity holds up to edge effects
    assert s.mean_number == pytest.approx(s.arrival_rate_estimate * s.mean_response_time,
                                          rel=0.02)


def test_reproducible_and_executor_independent():
    q = qt.MG1(0.8, qt.Exponential(1.0))
    a = q.simulate(qt.SRPT, jobs=20_000, replications=4, seed=3, executor=False)
    b = q.simulate(qt.SRPT, jobs=20_000, replications=4, seed=3, executor=False)
    with cf.ThreadPoolExecutor(2) as ex:
        c = q.simulate(qt.SRPT, jobs=20_000, replications=4, seed=3, executor=ex)
    d = q.simulate(qt.SRPT, jobs=20_000, replications=4, seed=4, executor=False)
    assert np.array_equal(a.replications, b.replications)
    assert np.array_equal(a.replications, c.replications)
    assert not np.array_equal(a.replications, d.replications)
    # the chunking does not change the answer: same draws, same order
    e = q.simulate(qt.SRPT, jobs=20_000, replications=4, seed=3, executor=False, chunk=1 << 16)
    assert np.array_equal(a.replications, e.replications)


def test_small_chunks_and_growth_are_exact():
    """Tiny chunks force many origin shifts and state growth; per-job output must not
    change beyond rounding."""
    q = qt.MG1(0.9, qt.Exponential(1.0))
    for p in (qt.SRPT, qt.PS, qt.FB):
        a = q.simulate(p, jobs=5000, replications=2, seed=5, per_job=True, executor=False)
        rng_chunks = q.simulate(p, jobs=5000, replications=2, seed=5, per_job=True,
                                executor=False, chunk=5000 + 1024)
        # different chunk sizes draw the same streams in a different order: compare
        # against theory only; same chunk must match exactly
        b = q.simulate(p, jobs=5000, replications=2, seed=5, per_job=True, executor=False)
        assert np.array_equal(a.per_job["response_time"], b.per_job["response_time"])
        assert np.all(np.isfinite(rng_chunks.per_job["response_time"]))


def test_result_object():
    q = qt.MG1(0.5, qt.Exponential(1.0))
    s = q.simulate(qt.PS, jobs=30_000, replications=5, seed=2, per_job=True, by_size=5,
                   executor=False)
    assert s.method == "simulation" and float(s) == s.mean_response_time == s.value
    assert s.ci[0] < s.mean_response_time < s.ci[1]
    assert s.replications.shape == (5,) and s.jobs == 30_000 and s.warmup == 3000
    T = s.per_job["response_time"]
    assert T.shape == (27_000,) and np.all(np.isfinite(T))
    assert T.mean() == pytest.approx(s.replications[0], rel=1e-12)
    # E[T | size] = x / (1 - rho) under PS, bin by bin
    curve = s.by_size
    ok = np.abs(curve.mean - 2 * curve.size) < 5 * curve.std_error
    assert ok.all(), (curve.mean, 2 * curve.size, curve.std_error)
    assert "SimulationResult" in repr(s)
    r = q.mean_response_time(qt.PS, method="simulation", jobs=10_000, replications=2)
    assert r.method == "simulation"


def test_generic_loop_matches_compiled_loops():
    """qt.Rank(fn) runs through the generic loop; with the catalogue's rank functions
    it reproduces the compiled loops job by job."""
    q = qt.MG1(0.8, qt.Exponential(1.0), qt.ExpNoise())
    pairs = [(qt.Rank(lambda y, a: y - a), qt.SPRPT),
             (qt.Rank(lambda d, a: a, descriptor=None), qt.FB)]
    for mine, ref in pairs:
        a = q.simulate(mine, jobs=1500, replications=2, seed=9, per_job=True, executor=False)
        b = q.simulate(ref, jobs=1500, replications=2, seed=9, per_job=True, executor=False)
        np.testing.assert_allclose(a.per_job["response_time"], b.per_job["response_time"],
                                   rtol=1e-9, atol=1e-9)


def test_delaypredict_zero_delay_is_sprpt():
    q = qt.MG1(0.8, qt.Exponential(1.0), qt.ExpNoise())
    a = q.simulate(qt.DelayPredict(0.0), jobs=20_000, replications=2, seed=1, per_job=True,
                   executor=False)
    b = q.simulate(qt.SPRPT, jobs=20_000, replications=2, seed=1, per_job=True, executor=False)
    np.testing.assert_allclose(a.per_job["response_time"], b.per_job["response_time"],
                               rtol=1e-12, atol=1e-12)


def test_server_time_with_free_predictions_is_external_model():
    q = qt.MG1(0.7, qt.Exponential(1.0), qt.ExpNoise())
    for ext, srv in [(qt.SkipPredict(1.0), qt.SkipPredict(1.0, server_time=True)),
                     (qt.DelayPredict(0.5), qt.DelayPredict(0.5, server_time=True))]:
        a = q.simulate(ext, jobs=20_000, replications=2, seed=2, per_job=True, executor=False)
        b = q.simulate(srv, jobs=20_000, replications=2, seed=2, per_job=True, executor=False)
        np.testing.assert_allclose(a.per_job["response_time"], b.per_job["response_time"],
                                   rtol=1e-12, atol=1e-12)


def test_server_time_costs_add_work():
    q = qt.MG1(0.5, qt.Exponential(1.0), qt.ExpNoise())
    ext = q.simulate(qt.SkipPredict(1.0), jobs=20_000, replications=4, seed=2, executor=False)
    srv = q.simulate(qt.SkipPredict(1.0, cheap_cost=0.05, expensive_cost=0.2, server_time=True),
                     jobs=20_000, replications=4, seed=2, executor=False)
    assert srv.mean_response_time > ext.mean_response_time


def test_skippredict_threshold_zero_is_sprpt():
    """T = 0: every job is predicted long, so SkipPredict is SPRPT."""
    q = qt.MG1(0.8, qt.Exponential(1.0), qt.ExpNoise())
    s = q.simulate(qt.SkipPredict(0.0), jobs=100_000, replications=8, seed=3, executor=False)
    ref = q.mean_response_time(qt.SPRPT, method="formula")
    assert agree(s, float(ref), ref.error)[0]


def _soap(q, policy):
    try:
        return q.mean_response_time(policy, method="soap")
    except (ImportError, NotImplementedError, PolicyError) as exc:
        pytest.skip(f"SOAP engine not available for {policy}: {exc}")


@pytest.mark.slow
@pytest.mark.parametrize("policy", [qt.SPRPTBounce, qt.DelayPredict(1.0),
                                    qt.SkipPredict(1.0), qt.Gittins],
                         ids=["bounce", "delay", "skip", "gittins"])
def test_against_soap(policy):
    q = qt.MG1(0.7, qt.Exponential(1.0), qt.ExpNoise())
    ref = _soap(q, policy)
    s = q.simulate(policy, jobs=20_000, replications=8, seed=21)
    assert agree(s, float(ref), getattr(ref, "error", 0.0))[0], (s, ref)


@pytest.mark.parametrize("kwargs, word", [
    (dict(jobs=0), "jobs"), (dict(jobs=2.5), "jobs"), (dict(replications=1), "replications"),
    (dict(jobs=10, warmup=9), "warmup"), (dict(warmup=-1), "warmup"),
    (dict(seed="x"), "seed"), (dict(precision=-1), "precision"), (dict(by_size=[2, 1]), "by_size"),
])
def test_bad_input(kwargs, word):
    q = qt.MG1(0.5, qt.Exponential(1.0))
    args = dict(jobs=1000, replications=2, seed=1) | kwargs
    with pytest.raises(ParameterError, match=word):
        simulate(q, qt.FCFS, **args)


def test_wrong_descriptor_is_a_policy_error():
    q = qt.MG1(0.5, qt.Exponential(1.0))
    with pytest.raises(PolicyError):
        q.simulate(qt.OneBit(), jobs=1000, replications=2)


def test_precision_warning_gives_the_ci():
    q = qt.MG1(0.5, qt.Exponential(1.0))
    with pytest.warns(UserWarning, match=r"95% CI \[.*\]"):
        q.simulate(qt.FCFS, jobs=2000, replications=2, precision=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        q.simulate(qt.FCFS, jobs=2000, replications=2, precision=10.0)
