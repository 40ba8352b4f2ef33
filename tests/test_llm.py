"""Continuous batching (docs/theory/batch.md–5.3), LLM presets and the iteration-level simulator."""

import math

import numpy as np
import pytest
import scipy.stats as st

import qtheory as qt
from qtheory.queues.continuous import ContinuousBatching, TokenLaw
from qtheory.core.errors import ParameterError, UnstableError
from qtheory.queues.llm import MODELS, kv_bytes_per_token, kv_tokens


# -- presets ---------------------------------------------------------------------------
def test_kv_bytes_match_published_numbers():
    # vLLM paper (Kwon et al. 2023, §3): OPT-13B holds "800 KB" of KV per token
    # = 2 (K, V) x 5120 (hidden) x 40 (layers) x 2 bytes = 819 200 bytes
    assert kv_bytes_per_token("OPT-13B") == 2 * 5120 * 40 * 2
    # Llama-2-7B: 32 layers x 32 KV heads x 128 x 2 x fp16 = 0.5 MiB
    assert kv_bytes_per_token("Llama-2-7B") == 2**19
    # GQA: Llama-2-70B has 8 KV heads: 80 x 8 x 128 x 2 x 2
    assert MODELS["Llama-2-70B"].kv_bytes_per_token() == 327_680


def test_kv_tokens_arithmetic():
    expected = math.floor((0.9 * 80 * 2**30 - 6.74e9 * 2) / 2**19)
    assert kv_tokens("Llama-2-7B", "A100-80GB") == expected
    with pytest.raises(ParameterError, match="quantise"):
        kv_tokens("Llama-2-70B", "A100-80GB")
    with pytest.raises(ParameterError, match="unknown"):
        kv_tokens("GPT-5", "A100-80GB")


# -- closed forms ---------------------------------------------------------------------------
def test_lambda_max_and_tau_by_hand():
    cb = ContinuousBatching(2.0, prompt=100, output=100, d0=0.01, d1=1e-5, memory=20_000)
    Eg = 101 * (100 + 50)
    assert cb.mean_g == Eg
    assert cb.max_throughput() == pytest.approx(20_000 / (Eg * (0.01 + 1e-5 * 20_000)))
    assert cb.capacity_bound() == pytest.approx(cb.max_throughput())   # no other caps
    tau = 0.01 / (1 - 1e-5 * 2.0 * Eg)
    assert cb.iteration_time().value == pytest.approx(tau)
    assert cb.memory_in_use() == pytest.approx(2.0 * Eg * tau)
    r = cb.mean_response_time()
    assert r.method == "fluid" and r.details["kind"] == "approximation"   # labelled so
    assert r.value == pytest.approx(101.5 * tau)
    assert cb.lower_bound() == pytest.approx(0.01 * 101 + 1e-5 * Eg)


def test_capacity_bound_with_caps():
    cb = ContinuousBatching(1.0, 100, 100, d0=0.01, d1=1e-5, memory=10**7, d_tok=1e-6,
                            max_seqs=32, max_tokens=4096)
    per_iter = max(15150 / 1e7, 101 / 32, 200 / 4096)
    assert cb.capacity_bound() == pytest.approx(1 / (1e-6 * 200 + 1e-5 * 15150
                                                     + 0.01 * per_iter))


def test_token_law_moments():
    t = TokenLaw(st.geom(0.02), "output")
    assert t.mean == pytest.approx(50, rel=1e-9)
    assert t.moment(2) == pytest.approx(st.geom(0.02).moment(2), rel=1e-9)
    # a continuous law is rounded up: ceil(Exp(mean 10)) is geometric with p = 1 - e^{-1/10}
    c = TokenLaw(qt.Exponential(0.1), "output")
    assert c.mean == pytest.approx(1 / (1 - math.exp(-0.1)), rel=1e-9)


# -- simulation vs exact -----------------------------------------------------------------------
def test_saturated_fcfs_throughput_near_capacity_bound():
    cb = ContinuousBatching(1.0, prompt=st.randint(20, 200), output=st.geom(0.01), d0=0.01,
                            d1=1e-5, memory=20_000)
    s = cb.simulate(jobs=40_000, replications=3, policy=qt.FCFS, saturated=True, seed=5)
    assert abs(s.mean("throughput") / cb.capacity_bound() - 1) < 0.02
    det = ContinuousBatching(1.0, 100, 100, d0=0.01, d1=1e-5, memory=20_000)
    s = det.simulate(jobs=40_000, replications=3, policy=qt.FCFS, saturated=True, seed=5)
    assert abs(s.mean("throughput") / det.capacity_bound() - 1) < 0.02
    assert s.mean("throughput") <= det.capacity_bound() * 1.001


def test_iteration_time_identity_when_never_idle():
    # τ = d0 / (1 - thr d1 E[g]) holds on every busy path; saturated = never idle
    # (written as thr = (1 - d0/τ) / (d1 E[g]), which is not ill-conditioned near capacity)
    cb = ContinuousBatching(1.0, st.randint(20, 200), st.geom(0.01), d0=0.01, d1=1e-5,
                            memory=20_000)
    for policy in (qt.FCFS, qt.Evict()):
        s = cb.simulate(jobs=40_000, replications=3, policy=policy, saturated=True, seed=2)
        thr = (1 - 0.01 / s.mean("iteration_time")) / (1e-5 * cb.mean_g)
        assert s.mean("throughput") == pytest.approx(thr, rel=0.015)


def test_wait_policy_ttft_exact_vs_simulation():
    cb = ContinuousBatching(3.0, 50, 20, d0=0.05, d1=1e-4, memory=10**6)
    q = cb.wait_queue(4)
    exact = cb.wait_ttft(4)
    assert abs(exact.value - q.mean_response_time(method="roots").value) < 1e-9
    s = q.simulate(jobs=100_000, replications=8, seed=4)
    assert abs(s.z(exact.value)) < 4


def test_fluid_approximation_memory_bound_regime():
    # d1 M << d0: the regime where docs/theory/batch.md says the fluid value is within a few %
    cb = ContinuousBatching(1.0, 100, 100, d0=0.01, d1=1e-7, memory=20_000)
    cb.arrival_rate = 0.5 * cb.max_throughput()
    s = cb.simulate(jobs=40_000, replications=4, policy=qt.Evict(), seed=7)
    fluid = cb.mean_response_time().value
    assert abs(fluid / s.mean_response_time - 1) < 0.02
    assert s.mean_response_time >= cb.lower_bound()


@pytest.mark.slow
def test_fluid_approximation_error_table():
    """Regenerates the table in ContinuousBatching.mean_response_time."""
    rows = []
    for d1 in (1e-7, 1e-5):
        for prompt, output in ((100, 100), (st.randint(20, 200), st.geom(0.01))):
            cb = ContinuousBatching(1.0, prompt, output, d0=0.01, d1=d1, memory=20_000)
            lmax = cb.max_throughput()
            for f in (0.3, 0.5, 0.7, 0.8, 0.9, 0.95):
                cb.arrival_rate = f * lmax
                s = cb.simulate(jobs=100_000, replications=6, policy=qt.Evict(), seed=7)
                rows.append((d1, f, cb.mean_response_time().value / s.mean_response_time - 1))
    print("\n".join(f"d1={d:g} load={f}: {100 * e:+.1f}%" for d, f, e in rows))
    small = [e for d, f, e in rows if d == 1e-7 and f <= 0.8]
    assert max(abs(e) for e in small) < 0.01
    assert all(e < 0 for d, f, e in rows if f >= 0.95)   # under-predicts near lambda_max
    # the documented KV-dominated regime (d1 M = 20 d0): 12-27 % low at every load
    assert all(-0.30 < e < -0.10 for d, f, e in rows if d == 1e-5)


def test_policies_behave():
    cb = ContinuousBatching(1.0, st.randint(20, 200), st.geom(0.01), d0=0.01, d1=1e-7,
                            memory=20_000)
    cb.arrival_rate = 0.93 * cb.max_throughput()
    kw = dict(jobs=20_000, replications=2, seed=3)
    fcfs = cb.simulate(policy=qt.FCFS, **kw)
    evict = cb.simulate(policy=qt.Evict(), **kw)
    spf = cb.simulate(policy=qt.Trail(0.5), prediction=qt.Perfect(), **kw)
    noisy = cb.simulate(policy=qt.Trail(0.5), prediction=qt.ExpNoise(), **kw)
    reserve = cb.simulate(policy=qt.Reserve(int(cb.output.values.max())), **kw)
    assert fcfs.mean("evictions") == 0 == reserve.mean("evictions") < evict.mean("evictions")
    # shortest-predicted-first with perfect predictions beats FCFS on E[T]
    assert spf.mean_response_time < fcfs.mean_response_time
    assert spf.mean_response_time < noisy.mean_response_time
    # reserving the maximal output wastes memory: lower utilisation than the peak check
    assert reserve.mean("memory_util") < fcfs.mean("memory_util")
    for s in (fcfs, evict, spf, noisy):
        assert 0 < s.mean("memory_util") <= 1
        assert s.mean_response_time >= cb.lower_bound()
    assert "memory_trace" in fcfs.details


def test_deprecated_policy_strings_give_the_same_run():
    """The strings and trail_c= of earlier releases still work, warn, and run exactly the
    simulation of the policy object they name."""
    cb = ContinuousBatching(1.0, st.randint(20, 200), st.geom(0.01), d0=0.01, d1=1e-7,
                            memory=20_000)
    cb.arrival_rate = 0.9 * cb.max_throughput()
    kw = dict(jobs=5_000, replications=2, seed=3)
    cap = int(cb.output.values.max())
    pairs = [("fcfs", {}, qt.FCFS), ("evict", {}, qt.Evict()),
             ("reserve", {"max_output": cap}, qt.Reserve(cap)),
             ("spf", {"trail_c": 0.3}, qt.Trail(0.3))]
    for old, extra, new in pairs:
        with pytest.warns(DeprecationWarning, match="deprecated"):
            a = cb.simulate(policy=old, **extra, **kw)
        b = cb.simulate(policy=new, **kw)
        np.testing.assert_array_equal(a.replications, b.replications)
        assert a.metrics.keys() == b.metrics.keys()


def test_spf_backlog_equals_heap():
    """Policy "spf" keeps the requests present at time 0 in a sorted array instead of its
    heap. Shifting every arrival to 1e-300 (absorbed by the first iteration's time) sends
    them through the heap instead; the two runs must be identical request by request."""
    from qtheory.methods.sim.llm import POLICIES, _llm_kernel
    rng = np.random.default_rng(11)
    n = 3000
    s = rng.integers(20, 200, n)
    o = rng.geometric(0.02, n)
    y = np.round(o * rng.exponential(1.0, n))          # noisy predictions with ties
    runs = []
    for t0 in (0.0, 1e-300):
        fin, first, cum = np.zeros(n), -np.ones(n), np.zeros((n, 4))
        stat = np.zeros(4, np.int64)
        _llm_kernel(np.full(n, t0), s, o, y, POLICIES["spf"], 8000, 0.01, 1e-5, 0.0, n + 1,
                    2**62, int(o.max()), 0.5, fin, first, cum, stat, np.zeros(64),
                    np.zeros(64), np.array([1, 0], np.int64))
        runs.append((fin, first, stat))
    (f0, a0, st0), (f1, a1, st1) = runs
    assert st0[1] > 100                                 # evictions happened
    np.testing.assert_array_equal(f0, f1)
    np.testing.assert_array_equal(a0, a1)
    np.testing.assert_array_equal(st0, st1)


def test_joint_trace():
    trace = np.array([[100, 10], [20, 300], [50, 50]])
    cb = ContinuousBatching(0.5, joint=trace, d0=0.01, d1=1e-6, memory=50_000)
    g = (trace[:, 1] + 1) * (trace[:, 0] + trace[:, 1] / 2)
    assert cb.mean_g == pytest.approx(g.mean())
    s = cb.simulate(jobs=5_000, replications=2, seed=1)
    assert s.mean_response_time > cb.lower_bound()


def test_bad_inputs():
    with pytest.raises(ParameterError, match="d0"):
        ContinuousBatching(1.0, 10, 10, d0=-1, d1=0, memory=100)
    with pytest.raises(ParameterError, match="token"):
        ContinuousBatching(1.0, 10.5, 10, d0=1, d1=0, memory=100)
    with pytest.raises(ParameterError, match="smaller than one request"):
        ContinuousBatching(0.1, 100, 100, d0=0.01, d1=1e-5, memory=150)   # s + o = 200
    # the smallest request fits, but P(o > 150) = 0.99^150 = 0.22: a sampled one does not
    cb = ContinuousBatching(0.01, 100, st.geom(0.01), d0=0.01, d1=1e-5, memory=250)
    with pytest.raises(ParameterError, match="memory"):
        cb.simulate(jobs=1000, replications=2)
    with pytest.raises(ParameterError, match="policy"):
        cb.simulate(jobs=1000, policy="lifo")
    with pytest.raises(ParameterError, match="qt.Evict"):
        cb.simulate(jobs=1000, policy=qt.SRPT)          # an M/G/1 policy the server lacks
    with pytest.raises(ParameterError, match="c = 2"):
        cb.simulate(jobs=1000, policy=qt.Trail(2))
    with pytest.raises(ParameterError, match=r"qt.Trail\(0.5\)"):
        cb.simulate(jobs=1000, policy=qt.FCFS, trail_c=0.5)
    over = ContinuousBatching(100.0, 100, 100, d0=0.01, d1=1e-5, memory=20_000)  # cap 6.29
    with pytest.raises(UnstableError, match="capacity bound is 6.28634"):
        over.mean_response_time()
    with pytest.raises(UnstableError, match="capacity bound"):
        over.simulate(jobs=1000)
    with pytest.raises(ParameterError, match="one request type"):
        ContinuousBatching(1.0, st.geom(0.1), 10, d0=0.01, memory=1000).wait_queue(2)
