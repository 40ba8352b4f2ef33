"""Dispatching to n queues (qt.Dispatch): exact decompositions, mean-field limits and the
dispatch simulator checked against each other and against references written here.

References: Pollaczek-Khinchine with moments of the truncated exponential integrated by
hand (SITA); the E_n/M/1 root solved here by fixed-point iteration (RoundRobin); the
supermarket model's fixed point s_i = lam^((d^i - 1)/(d - 1)) (Mitzenmacher 1996) summed
here; Cobham's non-preemptive priority formula (d = 1 of the one-bit mean field).
"""

import math

import numpy as np
import pytest

import qtheory as qt
from qtheory.core.errors import ParameterError, PolicyError, UnstableError
from qtheory.methods import meanfield as MF


def _pk(lam, m1, m2):
    return m1 + lam * m2 / (2 * (1 - lam * m1))


# -- exact ---------------------------------------------------------------------------------
def test_random_is_mg1_at_lambda_over_n():
    size = qt.Hyperexponential((0.7, 0.3), (2.0, 0.5))
    for pol in (qt.FCFS, qt.SRPT, qt.PS):
        f = qt.Dispatch(6.0, size, servers=10, rule=qt.Random(), policy=pol)
        ref = qt.MG1(0.6, size).mean_response_time(pol)
        assert float(f.mean_response_time(method="exact")) == float(ref)
    f = qt.Dispatch(8.0, qt.Exponential(1.0), servers=10, rule=qt.Random())
    assert float(f.mean_response_time()) == pytest.approx(5.0, rel=1e-12)   # M/M/1 at 0.8
    s = f.simulate(jobs=60_000, replications=6, seed=3)
    assert abs(s.value - 5.0) <= 4 * s.error
    assert len(s.details["per_queue"]) == 10


def test_sita_exact_against_hand_moments_and_simulation():
    lam, c = 1.4, 1.5
    f = qt.Dispatch(lam, qt.Exponential(1.0), servers=2, rule=qt.SITA([c]))
    e = math.exp(-c)
    p1 = 1 - e
    m1 = (1 - e * (1 + c)) / p1                  # E[X | X <= c]
    m2 = (2 - e * (c * c + 2 * c + 2)) / p1
    n1, n2 = (1 + c), (c * c + 2 * c + 2)        # E[X | X > c] = c + 1, E[X^2 | X > c]
    ref = p1 * _pk(lam * p1, m1, m2) + e * _pk(lam * e, n1, n2)
    r = f.mean_response_time(method="exact")
    assert r.details["kind"] == "exact"
    assert float(r) == pytest.approx(ref, rel=1e-10)
    s = f.simulate(jobs=80_000, replications=6, seed=4)
    assert abs(s.value - ref) <= 4 * s.error


def test_sita_on_predictions_with_perfect_equals_sizes():
    size = qt.Exponential(1.0)
    a = qt.Dispatch(1.2, size, 2, rule=qt.SITA([1.0])).mean_response_time()
    b = qt.Dispatch(1.2, size, 2, rule=qt.SITA([1.0], predicted=True),
                    prediction=qt.Perfect()).mean_response_time()
    assert float(a) == pytest.approx(float(b), rel=1e-9)
    f = qt.Dispatch(1.2, size, 2, rule=qt.SITA([1.0], predicted=True), prediction=qt.ExpNoise())
    s = f.simulate(jobs=60_000, replications=6, seed=8)
    assert abs(s.value - float(f.mean_response_time())) <= 4 * s.error


def test_round_robin_en_m_1():
    lam, n = 2.4, 3
    f = qt.Dispatch(lam, qt.Exponential(1.0), servers=n, rule=qt.RoundRobin())
    sigma = 0.5
    for _ in range(2000):                        # the GI/M/1 root by plain iteration
        sigma = (lam / (lam + 1 - sigma)) ** n
    r = f.mean_response_time()
    assert float(r) == pytest.approx(1 / (1 - sigma), rel=1e-10)
    assert float(r) < 5.0                       # better than Random (M/M/1 at 0.8)
    s = f.simulate(jobs=60_000, replications=6, seed=5)
    assert abs(s.value - float(r)) <= 4 * s.error


def test_optimal_cutoffs_is_a_minimum():
    size = qt.Hyperexponential((0.9, 0.1), (2.0, 0.2))
    lam = 1.5
    cuts, r = qt.optimal_cutoffs(lam, size, servers=2)
    for k in (0.9, 1.1):
        other = qt.Dispatch(lam, size, 2, rule=qt.SITA([cuts[0] * k])).mean_response_time()
        assert float(r) < float(other)
    cuts3, r3 = qt.optimal_cutoffs(lam * 1.5, size, servers=3)
    assert len(cuts3) == 2 and cuts3[0] < cuts3[1]
    for i in range(2):
        for k in (0.95, 1.05):
            c = list(cuts3)
            c[i] *= k
            try:
                other = qt.Dispatch(lam * 1.5, size, 3, rule=qt.SITA(c)).mean_response_time()
            except UnstableError:
                continue
            assert float(r3) <= float(other)


# -- mean field ------------------------------------------------------------------------------
def test_jsq_closed_form_against_fixed_point_sum():
    for lam, d in ((0.5, 2), (0.9, 2), (0.95, 3), (0.99, 2)):
        s = [lam ** ((d**i - 1) / (d - 1)) for i in range(1, 40)]
        assert MF.jsq_exponential(lam, d) == pytest.approx(sum(s) / lam, rel=1e-13)


def test_onebit_ode_reduces_to_jsq_and_to_one_server():
    # identical components: the ODE is the supermarket model, whose fixed point is closed
    for d in (2, 3):
        v, res = MF.onebit_jsq(0.85, (0.5, 0.5), (1.0, 1.0), (0.9, 0.2), d)
        assert v == pytest.approx(MF.jsq_exponential(0.85, d), rel=1e-10) and res < 1e-12
    # d = 1: one M/H2/1 queue with non-preemptive one-bit priority (Cobham)
    size = qt.Hyperexponential((0.8, 0.2), (2.0, 0.25))
    lam = 0.6 / size.mean
    q = qt.MG1(lam, size, prediction=qt.ClassBit(correct=(0.9, 0.7)))
    ref = float(q.mean_response_time(qt.OneBit(preemptive=False), method="formula"))
    v, _ = MF.onebit_jsq(lam, (0.8, 0.2), (2.0, 0.25), (0.9, 0.3), 1)
    assert v == pytest.approx(ref, rel=1e-9)


def test_ll_numeric_equals_closed_form():
    for lam, d in ((0.7, 2), (0.9, 2), (0.9, 3)):
        v, err = MF.ll_general(qt.Exponential(1.0), lam, d)
        assert v == pytest.approx(MF.ll_exponential(lam, d), abs=1e-8)
        assert err < 1e-7
    # scale: mean 2 sizes at the same load
    f = qt.Dispatch(0.45 * 50, qt.Exponential(0.5), servers=50, rule=qt.LeastWork(d=2))
    assert float(f.mean_response_time()) == pytest.approx(2 * MF.ll_exponential(0.9, 2),
                                                           rel=1e-12)


def test_ll_general_deterministic_sizes_against_simulation():
    f = qt.Dispatch(0.8 * 300, qt.Deterministic(1.0), servers=300, rule=qt.LeastWork(d=2))
    r = f.mean_response_time(method="mean-field")
    assert r.details["kind"] == "mean-field limit n -> infinity"
    s = f.simulate(jobs=150_000, replications=4, seed=6)
    assert abs(s.value - r.value) <= 4 * s.error + 0.02 * r.value


def test_jsq_mean_field_against_simulation_n1000():
    n = 1000
    f = qt.Dispatch(0.9 * n, qt.Exponential(1.0), servers=n, rule=qt.JSQ(d=2))
    mf = f.mean_response_time(method="mean-field").value
    s = f.simulate(jobs=300_000, replications=4, seed=1)
    assert abs(s.value - mf) <= 4 * s.error + 0.02 * mf


def test_onebit_jsq_against_simulation():
    size = qt.Hyperexponential((0.8, 0.2), (2.0, 0.25))
    n = 500
    f = qt.Dispatch(0.8 / size.mean * n, size, servers=n, rule=qt.JSQ(d=2),
                    policy=qt.OneBit(preemptive=False), prediction=qt.ClassBit((0.9, 0.8)))
    mf = f.mean_response_time()
    assert mf.method == "mean-field"
    s = f.simulate(jobs=300_000, replications=4, seed=7, warmup=100_000)
    assert abs(s.value - mf.value) <= 4 * s.error + 0.02 * mf.value
    fcfs = qt.Dispatch(f.arrival_rate, size, n, rule=qt.JSQ(d=2)).mean_response_time()
    assert mf.value < fcfs.value       # advice helps


# -- simulator -------------------------------------------------------------------------------
@pytest.mark.parametrize("policy", [qt.SRPT, qt.PS, qt.OneBit(preemptive="resume"), qt.SJF,
                                    qt.SPRPT])
def test_simulator_per_queue_policies_random_equals_mg1(policy):
    size = qt.Hyperexponential((0.8, 0.2), (2.0, 0.25))
    pred = (qt.ClassBit((0.9, 0.8)) if policy.descriptor == "bit" else
            qt.ExpNoise() if policy.descriptor == "prediction" else None)
    f = qt.Dispatch(0.7 / size.mean * 4, size, servers=4, rule=qt.Random(), policy=policy,
                    prediction=pred)
    ref = float(f.mean_response_time(method="exact"))
    s = f.simulate(jobs=80_000, replications=6, seed=9)
    assert abs(s.value - ref) <= 4 * s.error


def test_refusals():
    with pytest.raises(UnstableError):
        qt.Dispatch(10.0, qt.Exponential(1.0), servers=10)
    with pytest.raises(ParameterError, match="cutoffs"):
        qt.Dispatch(1.0, qt.Exponential(1.0), servers=3, rule=qt.SITA([1.0]))
    with pytest.raises(ParameterError, match="d = 5"):
        qt.Dispatch(1.0, qt.Exponential(1.0), servers=3, rule=qt.JSQ(d=5))
    with pytest.raises(ParameterError, match="servers"):
        qt.Dispatch(1.0, qt.Exponential(1.0), servers=0)
    f = qt.Dispatch(1.0, qt.Exponential(1.0), servers=3, rule=qt.JSQ(d=2))
    with pytest.raises(PolicyError, match="no exact"):
        f.mean_response_time(method="exact")
    f = qt.Dispatch(1.0, qt.Lognormal(0.0, 1.0), servers=3, rule=qt.JSQ(d=2))
    with pytest.raises(PolicyError, match="simulation"):
        f.mean_response_time()
    with pytest.raises(PolicyError, match="not supported"):
        qt.Dispatch(1.0, qt.Exponential(1.0), servers=3, policy=qt.LCFS).simulate(jobs=1000)
    with pytest.raises(ParameterError, match="rule"):
        qt.Dispatch(1.0, qt.Exponential(1.0), servers=3, rule="bogus")


def test_mean_field_gap_shrinks_with_n():
    gaps = []
    for n in (10, 100, 1000):
        f = qt.Dispatch(0.9 * n, qt.Exponential(1.0), servers=n, rule=qt.JSQ(d=2))
        mf = f.mean_response_time(method="mean-field").value
        s = f.simulate(jobs=200_000 * max(1, n // 100), replications=10, seed=1)
        gaps.append((s.value - mf, s.error))
    (g10, e10), (g100, e100), (g1000, e1000) = gaps
    assert g10 > g100 > 0 and g10 > 5 * g100 - 4 * (e10 + e100)
    assert abs(g1000) <= 4 * e1000 + 0.005 * 2.614


def test_validate_dispatch():
    f = qt.Dispatch(1.2, qt.Exponential(1.0), servers=2, rule=qt.SITA([1.5]))
    r = qt.validate(f, jobs=40_000, replications=4, seed=1)
    assert r.passed and [row.method for row in r.rows] == ["exact", "mean-field", "simulation"]
    # the mean-field row, judged against the simulation with its 5/n allowance
    g = qt.Dispatch(0.95 * 50, qt.Exponential(1.0), servers=50, rule=qt.JSQ(d=2))
    rep = g.validate(jobs=40_000, replications=4, seed=1)
    assert rep.rows[1].method == "mean-field" and rep.rows[1].status == "ok"
    with pytest.raises(UnstableError, match="SITA's queue 0"):
        qt.Dispatch(1.6, qt.Exponential(1.0), servers=2, rule=qt.SITA([3.0]))


def test_cli_dispatch(capsys):
    from qtheory.tools.cli import main
    assert main(["mean", "--policy", "fcfs", "--dispatch", "jsq:2", "--servers", "100",
                 "--load", "0.9", "--json"]) == 0
    import json
    rec = json.loads(capsys.readouterr().out)[0]
    assert rec["mean_response_time"] == pytest.approx(MF.jsq_exponential(0.9, 2), rel=1e-14)
    assert rec["kind"] == "mean-field limit n -> infinity"
    assert main(["mean", "--policy", "onebit", "--size", "hyperexponential([0.8,0.2],[2,0.25])",
                 "--prediction", "classbit:0.9:0.8", "--load", "0.7", "--json"]) == 0
    one = json.loads(capsys.readouterr().out)[0]
    size = qt.Hyperexponential((0.8, 0.2), (2.0, 0.25))
    q = qt.MG1(0.7 / size.mean, size, prediction=qt.ClassBit((0.9, 0.8)))
    assert one["mean_response_time"] == pytest.approx(float(q.mean_response_time(qt.OneBit())),
                                                      rel=1e-14)
    assert main(["mean", "--policy", "fcfs", "--dispatch", "bogus", "--servers", "2"]) == 2
    assert "--dispatch 'bogus'" in capsys.readouterr().err
    assert main(["mean", "--policy", "fcfs", "--method", "mean-field", "--load", "0.5"]) == 2
    assert "--dispatch" in capsys.readouterr().err


def test_least_predicted_work_with_perfect_predictions_is_least_work():
    # Y = X: the predicted work left, sum of (y - age)^+, is the true work left, and the
    # draws are the same: the two runs must agree job for job
    size = qt.Exponential(1.0)
    a = qt.Dispatch(16.0, size, 20, rule=qt.LeastWork(d=2)).simulate(
        jobs=20_000, replications=2, seed=12)
    b = qt.Dispatch(16.0, size, 20, rule=qt.LeastWork(d=2, predicted=True),
                    prediction=qt.Perfect()).simulate(jobs=20_000, replications=2, seed=12)
    assert np.array_equal(a.replications, b.replications)
    c = qt.Dispatch(16.0, size, 20, rule=qt.LeastWork(d=2, predicted=True),
                    prediction=qt.ExpNoise()).simulate(jobs=20_000, replications=2, seed=12)
    assert c.value > a.value            # noisy work estimates dispatch worse


def test_jsq_with_advice_runs_and_helps_over_random():
    size = qt.Hyperexponential((0.8, 0.2), (2.0, 0.25))
    f = qt.Dispatch(0.8 / size.mean * 50, size, 50, rule=qt.JSQ(d=2, advice=True),
                    policy=qt.OneBit(), prediction=qt.ClassBit((0.9, 0.8)))
    s = f.simulate(jobs=60_000, replications=3, seed=13)
    rnd = qt.Dispatch(f.arrival_rate, size, 50, rule=qt.Random(), policy=qt.OneBit(),
                      prediction=qt.ClassBit((0.9, 0.8))).mean_response_time()
    assert s.value < 0.6 * rnd.value
    with pytest.raises(ParameterError, match="one-bit"):
        qt.Dispatch(8.0, qt.Exponential(1.0), 10, rule=qt.JSQ(2, advice=True)).simulate(
            jobs=1000)


@pytest.mark.parametrize("rule, pred", [(qt.JSQ(2), None), (qt.JSQ(None), None),
                                        (qt.LeastWork(2), None),
                                        (qt.LeastWork(3, predicted=True), qt.ExpNoise()),
                                        (qt.RoundRobin(), None),
                                        (qt.JSQ(2, advice=True), qt.ClassBit((0.9, 0.8)))])
def test_fcfs_fast_path_equals_event_loop(rule, pred):
    # FCFS queues: departures known on arrival (Lindley per queue) against the general
    # event loop with its completion heap, on the same draws
    from qtheory.methods.sim.dispatch import simulate_dispatch
    size = qt.Hyperexponential((0.8, 0.2), (2.0, 0.25))
    f = qt.Dispatch(0.8 / size.mean * 20, size, 20, rule=rule, prediction=pred)
    a = simulate_dispatch(f, jobs=20_000, replications=2, seed=3)
    b = simulate_dispatch(f, jobs=20_000, replications=2, seed=3, fast=False)
    assert np.allclose(a.replications, b.replications, rtol=1e-12, atol=0)
    assert np.allclose(a.details["per_queue"], b.details["per_queue"], rtol=1e-12, atol=0)


def test_simulated_quantiles():
    # Random dispatch to M/M/1 queues at 0.8: T ~ Exp(0.2), P90 = 5 ln 10, E[T^2] = 50
    f = qt.Dispatch(4.0, qt.Exponential(1.0), servers=5, rule=qt.Random())
    s = f.simulate(jobs=100_000, replications=6, seed=2, quantiles=(0.5, 0.9))
    assert abs(s.quantile(0.9).z(5 * math.log(10))) < 4
    assert abs(s.quantile(0.5).z(5 * math.log(2))) < 4
    assert abs(s.moment(2).z(50.0)) < 4
    # the event loop (SRPT per queue) against the one-server response-time distribution
    g = qt.Dispatch(4.0, qt.Exponential(1.0), servers=5, rule=qt.Random(), policy=qt.SRPT)
    s = g.simulate(jobs=100_000, replications=6, seed=2, quantiles=(0.9,))
    p90 = qt.MG1(0.8, qt.Exponential(1.0)).response_time_distribution(qt.SRPT).quantile(0.9)
    assert abs(s.quantile(0.9).z(float(p90))) < 4
    with pytest.raises(ParameterError, match="quantiles"):
        f.simulate(jobs=1000, quantiles=(1.5,))


def test_check_samples_accepts_dispatch_output():
    f = qt.Dispatch(1.2, qt.Exponential(1.0), servers=2, rule=qt.SITA([1.5]))
    s = f.simulate(jobs=200_000, replications=2, seed=4, per_job=True)
    T = s.per_job["response_time"]
    assert T.size == 180_000
    assert qt.check_samples(T, f).agrees
    assert not qt.check_samples(T, f, theory=1.1 * float(f.mean_response_time())).agrees
    g = qt.Dispatch(0.9 * 200, qt.Exponential(1.0), servers=200, rule=qt.JSQ(d=2))
    s = g.simulate(jobs=200_000, replications=2, seed=4, per_job=True)
    assert qt.check_samples(s.per_job["response_time"], g).agrees   # mean field, n = 200


@pytest.mark.slow
def test_onebit_ode_integrated_reaches_the_solved_fixed_point():
    # integrating the mean-field ODE from all queues empty reaches the point solved for
    size = qt.Hyperexponential((0.8, 0.2), (2.0, 0.25))
    lam = 0.7 / size.mean
    a, _ = MF.onebit_jsq(lam, (0.8, 0.2), (2.0, 0.25), (0.9, 0.3), 2)
    b, res = MF.onebit_jsq(lam, (0.8, 0.2), (2.0, 0.25), (0.9, 0.3), 2, integrate=True,
                           max_level=16)
    assert b == pytest.approx(a, rel=1e-9) and res < 1e-10


def test_onebit_resume_mean_field():
    size = qt.Hyperexponential((0.8, 0.2), (2.0, 0.25))
    # d = 1: one M/H2/1 queue under preemptive-resume priority by the bit (Cobham)
    lam = 0.5 / size.mean
    q = qt.MG1(lam, size, prediction=qt.ClassBit(correct=(0.9, 0.7)))
    ref = float(q.mean_response_time(qt.OneBit(preemptive="resume"), method="formula"))
    v, _ = MF.onebit_jsq(lam, (0.8, 0.2), (2.0, 0.25), (0.9, 0.3), 1, preemptive="resume",
                         max_level=60)
    assert v == pytest.approx(ref, rel=1e-9)
    # JSQ(2) to preemptive-resume one-bit queues: the simulator at n = 500
    n = 500
    f = qt.Dispatch(0.8 / size.mean * n, size, n, rule=qt.JSQ(d=2),
                    policy=qt.OneBit(preemptive="resume"), prediction=qt.ClassBit((0.9, 0.8)))
    mf = f.mean_response_time()
    assert mf.details["kind"] == "mean-field limit n -> infinity"
    s = f.simulate(jobs=300_000, replications=4, seed=14, warmup=100_000)
    assert abs(s.value - mf.value) <= 4 * s.error + 0.02 * mf.value


def test_one_sample_is_random():
    # JSQ(1) and LeastWork(1) sample one queue: Random dispatch, M/G/1 at lambda / n
    size = qt.Hyperexponential((0.7, 0.3), (2.0, 0.5))
    ref = float(qt.MG1(0.6, size).mean_response_time(qt.FCFS))
    for rule in (qt.JSQ(1), qt.LeastWork(1)):
        assert float(qt.Dispatch(6.0, size, 10, rule=rule).mean_response_time()) == ref


def test_ll_general_lognormal_against_simulation():
    # heavy-ish tail: the solver's grid reaches 1000 E[X]; n = 1000 is within 1 % of it
    size = qt.Lognormal(0.0, 1.0)
    n = 1000
    f = qt.Dispatch(0.9 / size.mean * n, size, n, rule=qt.LeastWork(d=2))
    r = f.mean_response_time()
    assert r.error < 1e-3 * r.value
    s = f.simulate(jobs=1_000_000, replications=4, seed=5, warmup=300_000)
    assert abs(s.value - r.value) <= 4 * s.error + 0.02 * r.value


def test_least_work_of_all_is_the_central_queue():
    lam, n = 3.2, 4
    f = qt.Dispatch(lam, qt.Exponential(1.0), servers=n, rule=qt.LeastWork())
    a = lam
    terms = [a**i / math.factorial(i) for i in range(n)]
    top = a**n / math.factorial(n) / (1 - a / n)
    erlang_c = top / (sum(terms) + top)                      # textbook Erlang C
    ref = erlang_c / (n - lam) + 1.0
    r = f.mean_response_time()
    assert r.details["kind"] == "exact" and float(r) == pytest.approx(ref, rel=1e-12)
    s = f.simulate(jobs=100_000, replications=6, seed=15)
    assert abs(s.value - ref) <= 4 * s.error
