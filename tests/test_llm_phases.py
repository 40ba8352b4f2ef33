"""LLM serving with phases (issue 17): IterationCost and its roofline presets, the
vllm/orca/sarathi/reserve simulator, capacity, DistServe's M/D/1 prefill model and
disaggregated pools. References are computed here independently (datasheet arithmetic,
numpy Lindley recursions, the older ContinuousBatching simulator)."""

import math

import numpy as np
import pytest
import scipy.stats as st

import qtheory as qt
from qtheory.core.errors import ParameterError, UnstableError
from qtheory.queues.disagg import _fcfs_departures

GiB = 2**30


# -- presets and the roofline -------------------------------------------------------------
def test_roofline_llama3_8b_h100_by_hand():
    # Llama-3-8B: 8.03e9 parameters (model card), 32 layers, 8 KV heads, head dim 128
    # (config.json: hidden 4096 / 32 heads); H100 SXM5 datasheet: 3.35 TB/s HBM3,
    # 989.4 TFLOP/s dense BF16 (1979 with sparsity)
    c = qt.IterationCost.roofline("Llama-3-8B", "H100-80GB")
    assert c.d0 == pytest.approx(8.03e9 * 2 / 3.35e12, rel=1e-12)          # 4.794 ms
    assert c.d_prefill == pytest.approx(2 * 8.03e9 / 989.4e12, rel=1e-12)  # 16.2 us/token
    assert c.d_decode == c.d_prefill
    assert c.d_kv == pytest.approx(32 * 8 * 128 * 2 * 2 / 3.35e12, rel=1e-12)
    # efficiencies scale the peaks; tensor parallelism divides every term
    e = qt.IterationCost.roofline("Llama-3-8B", "H100-80GB", efficiency=(0.5, 0.8),
                                  num_gpus=2, decode_overhead=1e-5)
    assert e.d0 == pytest.approx(c.d0 / 0.8 / 2)
    assert e.d_prefill == pytest.approx(c.d_prefill / 0.5 / 2)
    assert e.d_decode == pytest.approx(e.d_prefill + 1e-5)
    assert "H100" in e.source and "config.json" in e.source


def test_presets_against_datasheets_and_configs():
    g = qt.GPUS
    # NVIDIA datasheets: A100 SXM4 40GB 1555 GB/s, 80GB 2039 GB/s, 312 TFLOP/s dense BF16;
    # L40S 864 GB/s, 362.05 TFLOP/s dense BF16; A10G 600 GB/s
    assert (g["A100-40GB"].bandwidth, g["A100-80GB"].bandwidth) == (1555e9, 2039e9)
    assert g["A100-40GB"].flops == g["A100-80GB"].flops == 312e12
    assert (g["L40S"].memory_bytes, g["L40S"].bandwidth, g["L40S"].flops) == \
        (48 * GiB, 864e9, 362.05e12)
    assert g["A10G"].bandwidth == 600e9
    # Qwen2-7B config.json: 28 layers, 4 KV heads, hidden 3584 / 28 heads = 128
    assert qt.kv_bytes_per_token("Qwen2-7B") == 28 * 4 * 128 * 2 * 2
    # Llama-2-13B: 40 layers x 40 heads x 128
    assert qt.kv_bytes_per_token("Llama-2-13B") == 40 * 40 * 128 * 2 * 2
    with pytest.raises(ParameterError, match="no bandwidth"):
        qt.IterationCost.roofline("Llama-3-8B", "L4")


def test_kv_blocks_and_preset_server():
    tokens = math.floor((0.9 * 80 * GiB - 8.03e9 * 2) / (32 * 8 * 128 * 2 * 2))
    assert qt.kv_blocks("Llama-3-8B", "A100-80GB") == tokens // 16
    srv = qt.LLMServer.from_preset("Llama-3-8B", "A100-80GB", 2.0, 512, 128)
    assert srv.memory == (tokens // 16) * 16 and srv.block_size == 16
    with pytest.raises(ParameterError, match="block_size"):
        qt.kv_blocks("Llama-3-8B", "A100-80GB", block_size=0)


def test_iteration_cost_forms():
    lin = qt.IterationCost(0.01, 1e-4, 3e-4, 1e-7)
    P, n, K = [0, 1000, 4000], [0, 50, 200], [0, 1e5]
    tab = qt.IterationCost.from_table(P, n, K, [[[lin(p, d, k) for k in K] for d in n]
                                                for p in P])
    for x in [(10, 3, 777), (3000, 120, 9e4), (6000, 400, 3e5)]:      # in and beyond
        assert tab(*x) == pytest.approx(float(lin(*x)), rel=1e-12)
    f = qt.IterationCost(lambda p, d, k: 0.01 + 1e-4 * p)
    assert f(100, 5, 5) == pytest.approx(0.02) and not f.linear
    cb = qt.IterationCost.from_continuous(0.02, 1e-6, d_tok=1e-5)
    assert cb.coefficients == (0.02, 1e-5, 1e-5, 1e-6)
    old = qt.ContinuousBatching(1.0, 100, 100, d0=0.02, d1=1e-6, memory=10**4, d_tok=1e-5)
    assert old.iteration_cost.coefficients == cb.coefficients
    with pytest.raises(ParameterError, match="d_kv"):
        qt.IterationCost(0.01, 1e-4, 1e-4, -1.0)
    with pytest.raises(ParameterError, match="no time"):
        qt.IterationCost(0.0, 0.0, 0.0, 1e-7)
    with pytest.raises(ParameterError, match="shape"):
        qt.IterationCost.from_table(P, n, K, np.ones((3, 3, 3)))
    with pytest.raises(ParameterError, match="increasing"):
        qt.IterationCost.from_table([0, 0], n, K, np.ones((2, 3, 2)))


# -- the simulator against the older one ----------------------------------------------------
def test_orca_reproduces_continuous_batching_bit_for_bit():
    cb = qt.ContinuousBatching(24.0, prompt=st.randint(20, 200), output=st.geom(0.01),
                               d0=0.01, d1=1e-6, memory=20_000, d_tok=1e-5)
    old = cb.simulate(jobs=8000, replications=2, seed=5, policy=qt.Evict())
    new = qt.LLMServer.from_continuous(cb, "orca").simulate(jobs=8000, replications=2, seed=5)
    for m in ("TTFT", "TPOT"):
        np.testing.assert_array_equal(old.metric(m).values, new.metric(m).values)
    np.testing.assert_array_equal(old.replications, new.replications)
    assert old.mean("evictions") == new.mean("preemptions")


def test_reserve_reproduces_continuous_batching():
    cb = qt.ContinuousBatching(3.0, prompt=st.randint(20, 200), output=st.randint(1, 300),
                               d0=0.01, d1=1e-6, memory=8000, d_tok=1e-5)
    old = cb.simulate(jobs=6000, replications=2, seed=3, policy=qt.Reserve(max_output=299))
    srv = qt.LLMServer.from_continuous(cb, "reserve", max_output=299)
    new = srv.simulate(jobs=6000, replications=2, seed=3)
    np.testing.assert_array_equal(old.replications, new.replications)
    np.testing.assert_array_equal(old.metric("TTFT").values, new.metric("TTFT").values)


def test_table_cost_simulates_as_the_linear_cost():
    lin = qt.IterationCost(0.01, 1e-4, 3e-4, 1e-7)
    P, n, K = [0, 1000, 4000], [0, 50, 200], [0, 1e5]
    tab = qt.IterationCost.from_table(P, n, K, [[[lin(p, d, k) for k in K] for d in n]
                                                for p in P])
    runs = [qt.LLMServer(5.0, st.randint(50, 500), st.geom(0.01), cost=c, memory=30_000,
                         scheduler="sarathi").simulate(jobs=4000, replications=2, seed=3)
            for c in (lin, tab)]
    np.testing.assert_allclose(runs[0].replications, runs[1].replications, rtol=1e-9)


# -- invariants -------------------------------------------------------------------------------
@pytest.mark.parametrize("scheduler", ["vllm", "orca", "sarathi", "reserve"])
def test_scheduler_invariants(scheduler):
    # memory for ~ 20 requests of E[s + o] ~ 450: overflow is frequent at this load
    cost = qt.IterationCost(0.01, 5e-5, 5e-5, 2e-8)
    srv = qt.LLMServer(1.0, st.randint(100, 600), st.randint(1, 400), cost=cost,
                       memory=9000, scheduler=scheduler,
                       max_tokens=512 if scheduler == "sarathi" else None)
    srv.arrival_rate = 0.7 * srv.capacity().value
    jobs, reps = 6000, 2
    s = srv.simulate(jobs=jobs, replications=reps, seed=11)
    d = s.details
    assert d["peak_blocks"] <= srv.blocks                    # memory never exceeds M
    assert d["finished"] == jobs * reps                       # every request finishes
    for a in d["accounting"]:                                 # tokens conserved exactly
        assert a["prefill_tokens"] == (a["prompt_tokens"] + a["recompute_tokens"] +
                                       a["lost_partial_tokens"])
        assert a["decode_tokens"] + a["prefill_completions"] == a["output_tokens"]
        assert a["prefill_completions"] == jobs + a["preemptions"] - a["partial_preemptions"]
    if scheduler == "reserve":
        assert s.mean("preemptions") == 0
    else:
        assert s.mean("preemptions") > 0                      # the memory overflows here
    assert s.mean("TTFT") < s.mean("T") and s.mean("queue") <= s.mean("TTFT")
    assert s.mean("T_P50") <= s.mean("T_P90") <= s.mean("T_P99")


@pytest.mark.parametrize("scheduler", ["vllm", "orca", "sarathi"])
@pytest.mark.parametrize("order", ["spf", qt.Trail(0.5)], ids=["spf", "trail"])
def test_prediction_orders_keep_the_invariants(scheduler, order):
    cost = qt.IterationCost(0.01, 5e-5, 5e-5, 2e-8)
    srv = qt.LLMServer(1.0, st.randint(100, 600), st.randint(1, 400), cost=cost,
                       memory=9000, scheduler=scheduler, order=order,
                       prediction=qt.LognormalNoise(0.5),
                       max_tokens=512 if scheduler == "sarathi" else None)
    srv.arrival_rate = 0.6 * srv.capacity().value
    jobs, reps = 4000, 2
    s = srv.simulate(jobs=jobs, replications=reps, seed=5)
    d = s.details
    assert d["peak_blocks"] <= srv.blocks and d["finished"] == jobs * reps
    for a in d["accounting"]:
        assert a["prefill_tokens"] == (a["prompt_tokens"] + a["recompute_tokens"] +
                                       a["lost_partial_tokens"])
        assert a["decode_tokens"] + a["prefill_completions"] == a["output_tokens"]
        assert a["prefill_completions"] == jobs + a["preemptions"] - a["partial_preemptions"]
        if order == "spf":
            assert a["forced_preemptions"] == 0


def test_shortest_predicted_first_shortens_the_queue():
    # one sequence at a time: an M/G/1 queue of requests; shortest (perfectly) predicted
    # output first is SJF there and must beat FCFS clearly
    cost = qt.IterationCost(0.01, 5e-5, 5e-5, 2e-8)
    res = {}
    for order in ("fcfs", "spf"):
        srv = qt.LLMServer(1.0, 200, st.geom(1 / 50), cost=cost, memory=100_000,
                           scheduler="orca", max_seqs=1, order=order)
        srv.arrival_rate = 0.8 * srv.capacity().value
        res[order] = srv.simulate(jobs=10_000, replications=4, seed=3)
    assert res["spf"].ci[1] < 0.8 * res["fcfs"].ci[0]


def test_no_preemption_when_memory_cannot_overflow():
    cost = qt.IterationCost(0.01, 5e-5, 5e-5, 2e-8)
    for sch in ("vllm", "orca", "sarathi"):
        srv = qt.LLMServer(2.0, st.randint(100, 600), st.randint(1, 400), cost=cost,
                           memory=64 * 1000, scheduler=sch, max_seqs=64)   # 64 x max peak
        s = srv.simulate(jobs=4000, replications=2, seed=2)
        assert s.mean("preemptions") == 0


# -- capacity -------------------------------------------------------------------------------
def _sat(srv, jobs=20_000):
    s = srv.simulate(jobs=jobs, replications=3, seed=4, saturated=True)
    return s.mean("throughput"), s.interval("throughput")


def test_capacity_bound_by_hand_and_reached():
    cost = qt.IterationCost(0.008, 8e-5, 8e-5, 8e-8)
    srv = qt.LLMServer(1.0, st.randint(100, 1001), st.randint(1, 401), cost=cost,
                       memory=400_000, scheduler="sarathi", max_tokens=512)
    Es, Eo = 550.0, 200.5            # randint(100, 1001): 100..1000; randint(1, 401): 1..400
    Eo2 = np.mean(np.arange(1, 401) ** 2.0)
    Eg = (Eo + 1) * Es + (Eo2 + Eo) / 2
    cap = 1 / (8e-5 * (Es + Eo) + 8e-8 * Eg + 0.008 * (Es + Eo) / 512)
    r = srv.capacity()
    assert r.value == pytest.approx(cap, rel=1e-12)
    assert r.details["binding"] == "max_tokens" and r.details["kind"] == "bound"
    thr, (lo, hi) = _sat(srv)
    assert lo <= r.value                      # not exceeded
    assert thr >= 0.98 * r.value              # Li-Dai-Peng: sarathi reaches it (within 2 %)
    orca = qt.LLMServer(1.0, st.randint(100, 1001), st.randint(1, 401), cost=cost,
                        memory=400_000, scheduler="orca", max_seqs=128)
    thr, (lo, hi) = _sat(orca)
    assert orca.capacity().details["binding"] == "max_seqs"
    assert lo <= orca.capacity().value and thr >= 0.98 * orca.capacity().value
    # vanilla vLLM: every prefill-only iteration pays d0 again: below the bound
    vllm = qt.LLMServer(1.0, st.randint(100, 1001), st.randint(1, 401), cost=cost,
                        memory=400_000, scheduler="vllm", max_seqs=128)
    thr, (lo, hi) = _sat(vllm)
    assert hi < 0.97 * vllm.capacity().value


def test_reserve_capacity_uses_the_reservation():
    cost = qt.IterationCost(0.01, 1e-4, 1e-4, 1e-7)
    srv = qt.LLMServer(1.0, 200, st.randint(1, 201), cost=cost, memory=20_000,
                       scheduler="reserve", block_size=16)
    # each request holds 16 ceil((200 + 200)/16) = 400 tokens for o + 1 iterations
    Eo = 100.5
    work = 1e-4 * (200 + Eo) + 1e-7 * ((Eo + 1) * 200 + (np.mean(np.arange(1, 201) ** 2.0)
                                                        + Eo) / 2)
    assert srv.capacity().value == pytest.approx(1 / (work + 0.01 * 400 * (Eo + 1) / 20_000))
    thr, (lo, hi) = _sat(srv, jobs=10_000)
    assert lo <= srv.capacity().value and thr >= 0.98 * srv.capacity().value


# -- DistServe's M/D/1 prefill model ------------------------------------------------------------
def _md1_lindley(lam, D, n, rng):
    arr = np.cumsum(rng.exponential(1 / lam, n))
    dep = _fcfs_departures(arr, np.full(n, D))
    return dep - D - arr                                  # waiting times


def test_md1_waiting_cdf_against_lindley_simulation():
    lam, D = 0.7, 1.0
    ts = [0.0, 0.4, 1.0, 2.5, 5.0]
    rng = np.random.default_rng(20260601)
    est = []
    for _ in range(10):
        w = _md1_lindley(lam, D, 100_000, rng)[10_000:]
        est.append([np.mean(w <= t) for t in ts])
    est = np.array(est)
    m, se = est.mean(0), est.std(0, ddof=1) / np.sqrt(len(est))
    for t, mi, si in zip(ts, m, se):
        assert abs(mi - qt.md1_waiting_cdf(lam, D, t)) <= 4 * si + 1e-12
    # the mean from the CDF (∫ P(W > t) dt) is Pollaczek-Khinchine's ρD / (2(1 − ρ))
    grid = np.linspace(0, 60, 1201)
    sf = 1 - np.array([qt.md1_waiting_cdf(lam, D, t) for t in grid])
    mean = np.sum((sf[1:] + sf[:-1]) / 2) * (grid[1] - grid[0])
    assert mean == pytest.approx(lam * D * D / (2 * (1 - lam * D)), rel=1e-3)


def test_distserve_mean_ttft_forms():
    R, D = 3.0, 0.2
    assert qt.distserve_mean_ttft(R, D) == pytest.approx(D + R * D * D / (2 * (1 - R * D)))
    # pipeline: total latency D, bottleneck stage D/2 an M/D/1 queue
    rho = R * D / 2
    assert qt.distserve_mean_ttft(R, D, "pipeline") == pytest.approx(
        D + rho * (D / 2) / (2 * (1 - rho)))
    # tensor parallel with speedup K: an M/D/1 with service D/K
    K = 1.6
    rho = R * D / K
    assert qt.distserve_mean_ttft(R, D, "tensor", K) == pytest.approx(
        D / K + rho * (D / K) / (2 * (1 - rho)))
    with pytest.raises(UnstableError):
        qt.distserve_mean_ttft(6.0, 0.2)


def test_disaggregated_prefill_against_simulation():
    cost = qt.IterationCost.roofline("Llama-3-8B", "A100-80GB", efficiency=(0.6, 0.8))
    srv = qt.LLMServer(14.0, 1024, st.randint(1, 300), cost=cost, memory=400_000,
                       scheduler="orca")
    dis = qt.Disaggregated(srv, 2, 1, transfer=0.005)
    s = dis.simulate(jobs=30_000, replications=6, seed=9, quantiles=(0.9,))
    assert abs(s.z(dis.mean_ttft().value, "TTFT")) < 4
    assert abs(s.z(dis.ttft_quantile(0.9), "TTFT_P90")) < 4
    assert s.mean("preemptions") == 0
    # fluid decode TPOT (transfer excluded) is below the simulated one, within 10 %
    tpot = dis.mean_tpot().value
    assert 0.9 * s.mean("TPOT") < tpot < s.mean("TPOT")


def test_goodput_analysis_and_best_split():
    cost = qt.IterationCost.roofline("Llama-3-8B", "A100-80GB", efficiency=(0.6, 0.8))
    srv = qt.LLMServer(1.0, 1024, 200, cost=cost, memory=400_000, scheduler="orca")
    slo = qt.SLO(ttft=0.4, tpot=0.04)
    g = qt.Disaggregated(srv, 1, 1).goodput(slo)
    lam = g.details["rate"]
    dis = qt.Disaggregated(srv, 1, 1)
    # at the goodput rate the binding pool sits on its SLO
    if g.details["prefill_rate"] <= g.details["decode_rate"]:
        assert dis.ttft_quantile(0.9, lam) == pytest.approx(0.4, rel=1e-2)
    else:
        assert dis.mean_tpot(lam).value == pytest.approx(0.04, rel=1e-2)
    best, table = qt.Disaggregated.best_split(srv, 4, slo)
    assert table[best].value == max(r.value for r in table.values()) and sum(best) == 4


def test_bad_input_is_named():
    cost = qt.IterationCost(0.01, 1e-4, 1e-4, 1e-7)
    with pytest.raises(ParameterError, match="scheduler"):
        qt.LLMServer(1.0, 100, 100, cost=cost, memory=10_000, scheduler="tgi")
    with pytest.raises(ParameterError, match="cost"):
        qt.LLMServer(1.0, 100, 100, cost=0.01, memory=10_000)
    with pytest.raises(ParameterError, match="largest request"):
        qt.LLMServer(1.0, 100, 100, cost=cost, memory=160)
    with pytest.raises(ParameterError, match="sarathi"):
        qt.LLMServer(1.0, 1000, 100, cost=cost, memory=10_000, max_tokens=512)
    with pytest.raises(ParameterError, match="0-token"):
        qt.LLMServer(1.0, st.randint(0, 10), 100, cost=cost, memory=10_000)
    with pytest.raises(ParameterError, match="order"):
        qt.LLMServer(1.0, 100, 100, cost=cost, memory=10_000, order="lifo")
    srv = qt.LLMServer(100.0, 100, 100, cost=cost, memory=10_000)
    with pytest.raises(UnstableError):
        srv.simulate(jobs=1000)


def test_fluid_values_are_labelled_approximations():
    cost = qt.IterationCost(0.01, 1e-4, 1e-4, 1e-7)
    srv = qt.LLMServer(2.0, 200, 100, cost=cost, memory=100_000, scheduler="orca")
    W = 1e-4 * 300 + 1e-7 * 101 * 250
    assert srv.time_per_output_token().value == pytest.approx(0.01 / (1 - 2.0 * W))
    for r in (srv.time_per_output_token(), srv.time_to_first_token()):
        assert r.details["kind"] == "approximation"
    v = qt.LLMServer(2.0, 200, 100, cost=cost, memory=100_000, scheduler="vllm")
    assert v.time_per_output_token().value == pytest.approx(0.01 / (1 - 2.0 * (W + 0.01)))


# -- long checks ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_user_function_cost_simulates_as_the_linear_cost():
    lin = qt.IterationCost(0.01, 1e-4, 3e-4, 1e-7)
    fn = qt.IterationCost(lambda p, d, k: 0.01 + 1e-4 * p + 3e-4 * d + 1e-7 * k)
    runs = [qt.LLMServer(5.0, st.randint(50, 500), st.geom(0.01), cost=c, memory=30_000,
                         scheduler="vllm").simulate(jobs=4000, replications=2, seed=3)
            for c in (lin, fn)]
    np.testing.assert_allclose(runs[0].replications, runs[1].replications, rtol=1e-9)


@pytest.mark.slow
def test_fluid_error_table(capsys):
    """Regenerates the measured-error table of docs/theory/llm_serving.md."""
    cost = qt.IterationCost.roofline("Llama-3-8B", "A100-80GB", efficiency=(0.6, 0.8))
    mem = qt.kv_blocks("Llama-3-8B", "A100-80GB") * 16
    for sch in ["orca", "sarathi", "vllm", "reserve"]:
        kw = dict(max_tokens=512) if sch == "sarathi" else {}
        srv = qt.LLMServer(1.0, st.randint(100, 1001), st.geom(1 / 200), cost=cost,
                           memory=mem, scheduler=sch, max_seqs=256, **kw)
        cap = srv.capacity().value
        sat = srv.simulate(jobs=40_000, replications=3, seed=7, saturated=True)
        assert sat.interval("throughput")[0] <= cap
        with capsys.disabled():
            print(sch, f"saturated/capacity {sat.mean('throughput') / cap - 1:+.2%}",
                  f"{sat.details['iterations_per_second']:.3g} it/s")
        for rho in (0.3, 0.5, 0.7, 0.8, 0.9):
            srv.arrival_rate = rho * cap
            s = srv.simulate(jobs=40_000, replications=4, seed=7)
            tp, tt = srv.time_per_output_token().value, srv.time_to_first_token().value
            with capsys.disabled():
                print(f"  {rho}: TPOT {tp / s.mean('TPOT') - 1:+.1%}, "
                      f"TTFT {tt / s.mean('TTFT') - 1:+.1%}")


def test_cli_llm(capsys):
    from qtheory.tools.cli import main
    assert main(["llm", "--model", "llama-3-8b", "--gpu", "a100-80gb", "--scheduler", "orca",
                 "--rate", "2,50", "--jobs", "2000", "--replications", "2", "--csv"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("scheduler,rate,capacity") and len(out) == 3
    assert out[2].split(",")[4] == ""                # 50/s is above the capacity bound
    assert main(["llm", "--model", "gpt5", "--gpu", "a100-80gb"]) == 2
    assert "--model 'gpt5' is unknown" in capsys.readouterr().err


@pytest.mark.parametrize("scheduler", ["vllm", "orca", "sarathi"])
def test_mean_iteration_time_identity(scheduler):
    # while the engine never idles, time = d0 x iterations + W x requests, so the mean
    # iteration is d0 / (1 - lambda W) for every scheduler (prefill-only iterations too)
    cost = qt.IterationCost.roofline("Llama-3-8B", "A100-80GB", efficiency=(0.6, 0.8))
    srv = qt.LLMServer(1.0, st.randint(100, 1001), st.geom(1 / 200), cost=cost,
                       memory=400_000, scheduler=scheduler, max_seqs=256)
    srv.arrival_rate = 0.5 * srv.capacity().value
    d0, dp, dd, dk = cost.coefficients
    W = dp * srv.mean_prompt + dd * srv.mean_output + dk * srv.mean_g
    s = srv.simulate(jobs=20_000, replications=6, seed=21)
    assert abs(s.z(d0 / (1 - srv.arrival_rate * W), "iteration_time")) < 4


@pytest.mark.slow
def test_goodput_table(capsys):
    """Regenerates the pooled-vs-disaggregated goodput table of docs/theory/llm_serving.md:
    the analysis agrees with the simulated bisection within 1.5 % where the prefill pool
    binds (exact M/D/1) and within 6 % where the decode pool binds (fluid mean TPOT held
    against a P90 SLO)."""
    cost = qt.IterationCost.roofline("Llama-3-8B", "A100-80GB", efficiency=(0.6, 0.8))
    mem = qt.kv_blocks("Llama-3-8B", "A100-80GB") * 16
    slo = qt.SLO(ttft=0.4, tpot=0.04, percentile=0.9)
    srv = qt.LLMServer(1.0, 1024, st.geom(1 / 200), cost=cost, memory=mem, scheduler="orca",
                       max_seqs=256)
    pooled = srv.goodput(slo).value
    for n_p, n_d in [(1, 1), (2, 1), (3, 1), (1, 2), (2, 2), (3, 2)]:
        d = qt.Disaggregated(srv, n_p, n_d, transfer=0.002)
        a, s = d.goodput(slo), d.goodput(slo, method="simulation")
        tol = 0.015 if a.details["prefill_rate"] < a.details["decode_rate"] else 0.06
        with capsys.disabled():
            print(f"{n_p}P{n_d}D analysis {a.value:.3f} simulation {s.value:.3f} "
                  f"(pooled orca {pooled:.3f})")
        assert abs(a.value / s.value - 1) < tol


def test_presets_are_found_whatever_the_case():
    """The issue's CLI spelling (llama-3-8b, a100-80gb) names the same presets."""
    from qtheory.queues.llm import GPUS, MODELS, _lookup
    assert _lookup(MODELS, "llama-3-8b", "model") is MODELS["Llama-3-8B"]
    assert _lookup(GPUS, "a100-80gb", "gpu") is _lookup(GPUS, "A100-80GB", "gpu")
    with pytest.raises(qt.ParameterError, match="Llama-3-8B"):
        _lookup(MODELS, "llama-9", "model")
