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
from qtheory.core.errors import ParameterError, PolicyError
from qtheory.policies.catalogue import as_policy
from qtheory.methods.sim import Plan, engine, run_replication, simulate
from qtheory.analysis.validate import _label, catalogue

P4 = 2 * stats.norm.sf(4.0)          # two-sided tail of a 4-sigma event


def t_limit(replications):
    """|t| beyond which a replication mean disagrees (4-sigma equivalent)."""
    return stats.t.isf(P4 / 2, replications - 1)


def agree(s, value, error=0.0):
    t = (s.mean_response_time - value) / math.hypot(s.std_error, error)
    return abs(t) < t_limit(len(s.replications)), t


LAWS = {"exp": qt.Exponential(1.0), "weibull": qt.Weibull(0.5, 0.5)}   # Weibull: E[X^2] = 6
EXPNOISE = qt.ExpNoise()


def _info(kind, law):
    return {None: None, "prediction": EXPNOISE,
            "bit": qt.Threshold(float(law.mean), EXPNOISE)}[kind]


CATALOGUE = catalogue()
IDS = [_label(p) for p, _ in CATALOGUE]


def reference(q, policy):
    """The closed form where one exists, else the SOAP engine: both independent of the
    simulator (docs/theory/simulation.mdsection 1). (np.errstate: the SOAP engine's quadrature of
    ExpNoise densities touches x = 0 on Weibull laws and warns.)"""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return _reference(q, policy)


def _reference(q, policy):
    if isinstance(policy, qt.Rank):  # the catalogue's Rank(y - a) is SPRPT
        return q.mean_response_time(qt.SPRPT, method="formula")
    try:
        return q.mean_response_time(policy, method="formula")
    except (NotImplementedError, PolicyError):
        return q.mean_response_time(policy, method="soap")


def check_cell(policy, kind, law, rho, jobs, reps, seed):
    size = LAWS[law]
    q = qt.MG1(rho / size.mean, size, _info(kind, size))
    ref = reference(q, policy)
    if isinstance(policy, qt.Rank):   # the Python rank loop: fewer, longer-tested jobs
        jobs = min(jobs, 3000)
    s = q.simulate(policy, jobs=jobs, replications=reps, seed=seed, executor=False)
    ok, t = agree(s, float(ref), ref.error)
    assert ok, f"{_label(policy)} {law} rho={rho}: simulated {s} vs {ref.method} " \
               f"{float(ref):.6g}, t = {t:.2f}"


@pytest.mark.slow
@pytest.mark.parametrize("rho", [0.5, 0.9])
@pytest.mark.parametrize("law", sorted(LAWS))
@pytest.mark.parametrize("policy, kind", CATALOGUE, ids=IDS)
def test_catalogue_full_grid(policy, kind, law, rho):
    """Every catalogue policy, Exp(1) and Weibull(0.5) at rho = 0.5 and 0.9."""
    seed = 1000 + 10 * IDS.index(_label(policy)) + int(rho * 10) + 500 * (law == "exp")
    check_cell(policy, kind, law, rho, 200_000, 10, seed)


SOAP_ONLY = (qt.SPRPTBounce, qt.DelayPredict, qt.Gittins)   # no closed form: SOAP reference


def _cell(policy):
    k = IDS.index(_label(policy))
    return k, *[("exp", 0.5), ("weibull", 0.9), ("exp", 0.9), ("weibull", 0.5)][k % 4]


@pytest.mark.parametrize("policy, kind", [c for c in CATALOGUE if type(c[0]) not in SOAP_ONLY],
                         ids=[i for c, i in zip(CATALOGUE, IDS) if type(c[0]) not in SOAP_ONLY])
def test_catalogue(policy, kind):
    """Every catalogue policy with a closed form once, cycling through the (law, load)
    cells of the grid."""
    k, law, rho = _cell(policy)
    check_cell(policy, kind, law, rho, 40_000, 10, 77 + k)


@pytest.mark.parametrize("policy, kind", [c for c in CATALOGUE if type(c[0]) in SOAP_ONLY],
                         ids=[i for c, i in zip(CATALOGUE, IDS) if type(c[0]) in SOAP_ONLY])
def test_catalogue_soap_only(policy, kind):
    """The same for the policies whose only analytic value is the SOAP engine's."""
    k, law, rho = _cell(policy)
    check_cell(policy, kind, law, rho, 40_000, 10, 77 + k)


def test_gittins_uses_the_queues_information():
    """qt.Gittins is simulated with the descriptor and rank of qtheory.gittins_policy(q).

    Perfect predictions: the Gittins rank is x - a, so it is SRPT job by job. A perfect bit
    "X < 1" on Exp(1) sizes: a short job's index is >= 1 / E[X | X < 1] > 1, a long one's
    1 / (2 - a) < 1 before age 1 and 1 after, and both rise with age; so Gittins serves
    shorts first preemptively and keeps serving the job it started within a class: it is
    preemptive-resume priority (OneBit("resume")) job by job, with Cobham's mean."""
    size = qt.Exponential(1.0)
    perfect = qt.MG1(0.8, size, qt.Perfect())
    a = perfect.simulate(qt.Gittins, jobs=20_000, replications=2, seed=4, per_job=True,
                         executor=False)
    b = perfect.simulate(qt.SRPT, jobs=20_000, replications=2, seed=4, per_job=True,
                         executor=False)
    np.testing.assert_array_equal(a.per_job["response_time"], b.per_job["response_time"])
    bit = qt.MG1(0.8, size, qt.Threshold(1.0, qt.Perfect()))
    a = bit.simulate(qt.Gittins, jobs=100_000, replications=10, seed=5, per_job=True,
                     executor=False)
    b = bit.simulate(qt.OneBit("resume"), jobs=100_000, replications=10, seed=5,
                     per_job=True, executor=False)
    np.testing.assert_allclose(a.per_job["response_time"], b.per_job["response_time"],
                               rtol=1e-9)
    ref = bit.mean_response_time(qt.OneBit("resume"), method="formula")
    assert agree(a, float(ref), ref.error)[0], (a, ref)
    assert a.ci[1] < 1 / (1 - 0.8)   # blind scheduling of Exp sizes


def test_gittins_with_predictions():
    """Gittins of a continuous prediction sees its cell: the simulator serves one shared
    rank table per cell. Its mean agrees with the SOAP engine's (an independent
    evaluation of the same tables), and sits between SRPT (true sizes) and blind
    scheduling (1 / (1 - rho) for Exp sizes)."""
    from qtheory.policies.gittins import gittins_policy
    q = qt.MG1(0.7, qt.Exponential(1.0), qt.ExpNoise())
    g = gittins_policy(q, cells=8)
    assert Plan(q, g).shared is not None
    s = q.simulate(g, jobs=200_000, replications=10, seed=6, executor=False)
    theory = q.mean_response_time(g, method="soap")
    assert abs(s.z(theory.value)) < 4, (s, theory)
    srpt = float(qt.MG1(0.7, qt.Exponential(1.0)).mean_response_time(qt.SRPT))
    assert srpt < s.ci[0] and s.ci[1] < 1 / (1 - 0.7), (srpt, s)


class _PiecewiseFB(qt.Policy):
    """FB declared by linear rank pieces (rank a: one piece of slope 1)."""

    def rank(self, d, a):
        return a

    def pieces(self, d, part=None):
        return [(0.0, math.inf, 0.0, 0.0, 1.0)]


def test_rising_ranks_compiled_loop_is_exact():
    """The compiled loop for rising ranks (pw) against two independent loops, job by job:
    FB given as pieces against the FB loop (groups sharing the server), and SPRPT-bounce
    against the generic Python loop with the rank min(|y - a|, y)."""
    q = qt.MG1(0.9, qt.Weibull(0.5, 0.5))
    a = q.simulate(_PiecewiseFB(), jobs=20_000, replications=2, seed=8, per_job=True,
                   executor=False)
    b = q.simulate(qt.FB, jobs=20_000, replications=2, seed=8, per_job=True, executor=False)
    np.testing.assert_allclose(a.per_job["response_time"], b.per_job["response_time"],
                               rtol=1e-9)
    q = qt.MG1(0.8, qt.Exponential(1.0), qt.ExpNoise())
    bounce = qt.Rank(lambda y, a: min(abs(y - a), y), compiled=False)   # the Python loop
    a = q.simulate(qt.SPRPTBounce, jobs=300, replications=2, seed=9, per_job=True,
                   executor=False)
    b = q.simulate(bounce, jobs=300, replications=2, seed=9, per_job=True, executor=False)
    np.testing.assert_allclose(a.per_job["response_time"], b.per_job["response_time"],
                               rtol=1e-9, atol=1e-9)


def test_mg1_ps_lcfs_agree_with_each_others_theory():
    """PS and preemptive LCFS both have E[T] = E[X] / (1 - rho) for any size law: each
    simulation is checked against the other's formula (and FCFS against P-K)."""
    q = qt.MG1(0.7, qt.Weibull(0.5, 0.5))
    ps = q.mean_response_time(qt.PS, method="formula")
    lcfs = q.mean_response_time(qt.LCFS, method="formula")
    assert float(ps) == pytest.approx(1 / (1 - 0.7), rel=1e-12)
    s_ps = q.simulate(qt.PS, jobs=200_000, replications=10, seed=12, executor=False)
    s_lcfs = q.simulate(qt.LCFS, jobs=200_000, replications=10, seed=13, executor=False)
    assert agree(s_ps, float(lcfs))[0] and agree(s_lcfs, float(ps))[0], (s_ps, s_lcfs)


def test_mm1_ps_lcfs_fcfs_agree():
    q = qt.MG1(0.7, qt.Exponential(1.0))
    exact = 1 / (1 - 0.7)
    for p in (qt.PS, qt.LCFS, qt.FCFS):
        s = q.simulate(p, jobs=100_000, replications=8, seed=7, executor=False)
        assert agree(s, exact)[0], (p, s)


@pytest.mark.parametrize("policy", [qt.SRPT, qt.PS, qt.FB, qt.LCFS, qt.SJF, qt.Gittins])
def test_littles_law(policy):
    """Time-average number in system = lambda x mean response time, replication by
    replication (the difference's t-interval contains 0)."""
    q = qt.MG1(0.8, qt.Weibull(0.5, 0.5))
    s = q.simulate(policy, jobs=50_000, replications=8, seed=11, executor=False)
    d = s.metric("N").values - q.arrival_rate * s.replications
    t = d.mean() / (d.std(ddof=1) / math.sqrt(d.size))
    assert abs(t) < t_limit(d.size), (s.mean_number, q.arrival_rate * s.mean_response_time)
    # and with the measured arrival rate the identity holds up to edge effects
    assert s.mean_number == pytest.approx(s.mean("arrival_rate") * s.mean_response_time,
                                          rel=0.02)


@pytest.mark.parametrize("policy, prediction", [
    (qt.FCFS, None), (qt.SRPT, None), (qt.SJF, None), (qt.PS, None), (qt.FB, None),
    (qt.SPRPTBounce, EXPNOISE)])
def test_memory_is_bounded_by_the_chunk_not_the_run(policy, prediction):
    """Statistics are streamed: 40x more jobs leave the peak of traced allocations (numpy
    arrays included) where it was, while keeping even one number per job would raise it
    by 8 bytes a job. One policy per compiled loop (lindley, key, soap, ps, fb, pw)."""
    import tracemalloc
    q = qt.MG1(0.8, qt.Exponential(1.0), prediction)

    def peak(jobs):
        tracemalloc.start()
        try:
            q.simulate(policy, jobs=jobs, replications=2, seed=5, executor=False)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    jobs = 4_000_000
    small, big = peak(jobs // 40), peak(jobs)
    allowed = 0.5 * small + 2e6
    assert allowed < 8 * (jobs - jobs // 40)   # the test can see per-job storage
    assert big - small < allowed, (small, big)


def test_reproducible_and_executor_independent():
    """Replication r is run_replication(plan, SeedSequence(seed).spawn(R + 1)[r], ...):
    identical for identical seeds, serially or on any executor (threads or processes)."""
    q = qt.MG1(0.8, qt.Exponential(1.0))
    a = q.simulate(qt.SRPT, jobs=20_000, replications=4, seed=3, executor=False)
    b = q.simulate(qt.SRPT, jobs=20_000, replications=4, seed=3, executor=False)
    with cf.ThreadPoolExecutor(2) as ex:
        c = q.simulate(qt.SRPT, jobs=20_000, replications=4, seed=3, executor=ex)
    with cf.ProcessPoolExecutor(2) as ex:
        e = q.simulate(qt.SRPT, jobs=20_000, replications=4, seed=3, executor=ex)
    d = q.simulate(qt.SRPT, jobs=20_000, replications=4, seed=4, executor=False)
    assert np.array_equal(a.replications, b.replications)
    assert np.array_equal(a.replications, c.replications)
    assert np.array_equal(a.replications, e.replications)
    assert not np.array_equal(a.replications, d.replications)
    children = np.random.SeedSequence(3).spawn(5)
    plan = Plan(q, qt.SRPT())
    for r in (0, 3):
        out = run_replication(plan, children[r], 20_000, 2000)
        assert out["sum"] / out["count"] == a.replications[r]


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


def test_one_segment_loop_matches_the_soap_loop(monkeypatch):
    """SRPT, PSJF, SPRPT, PSPJF and preemptive classes run through a dedicated loop (one
    rank key per waiting job); the general piecewise loop (rank pieces per job, class and
    flag keys) is an independent implementation of the same policies and must give the
    same jobs the same response times, including ties (discrete sizes, class ranks) and
    state growth."""
    exp = qt.MG1(0.9, qt.Exponential(1.0), qt.ExpNoise())
    lumpy = qt.MG1(0.3, qt.Empirical([1.0, 2.0, 4.0], [0.5, 0.3, 0.2]))
    classes = qt.MG1(0.85, qt.Exponential(1.0), qt.Threshold(1.0, qt.Perfect()))
    cases = [(exp, qt.SRPT), (exp, qt.PSJF), (exp, qt.SPRPT), (exp, qt.PSPJF),
             (lumpy, qt.SRPT), (lumpy, qt.PSJF),
             (classes, qt.OneBit("resume")),
             (exp, qt.PriorityClasses([0.5, 2.0], "resume"))]
    monkeypatch.setattr(engine._State.__init__, "__defaults__", (4,))  # 4 slots: grow often
    for q, p in cases:
        fast = Plan(q, as_policy(p))
        slow = Plan(q, as_policy(p))
        assert fast.loop == "key"
        slow.loop = "pw"
        a = run_replication(fast, 4, 6000, 500, per_job=True, chunk=700)
        b = run_replication(slow, 4, 6000, 500, per_job=True, chunk=700)
        assert a["count"] == b["count"] == 5500
        np.testing.assert_allclose(a["T"], b["T"], rtol=1e-12, atol=1e-9, err_msg=repr(p))
        assert a["area"] == pytest.approx(b["area"], rel=1e-12)


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
