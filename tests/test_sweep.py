"""qt.sweep: agreement with a serial loop on a real Dask cluster, resume after SIGKILL,
failures recorded per point, and the table's shape."""

import importlib
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

import qtheory as qt
from qtheory.core.errors import ParameterError

distributed = pytest.importorskip("distributed")
sweep_module = importlib.import_module("qtheory.tools.sweep")  # the module, not qt.sweep

ROOT = Path(__file__).resolve().parents[1]
CALLS = "QTHEORY_TEST_SWEEP_CALLS"


def mm1(rho, policy):
    """Mean response time of M/M/1 (mean size 1) with ExpNoise predictions."""
    q = qt.MG1(rho, qt.Exponential(1.0), prediction=qt.ExpNoise())
    return q.mean_response_time(getattr(qt, policy))


def counted_ps(rho):
    """M/M/1 under PS, logging each call to the file named by $QTHEORY_TEST_SWEEP_CALLS
    (one line, appended atomically) and taking a little time so a run can be killed
    partway."""
    with open(os.environ[CALLS], "a") as f:
        f.write(f"{rho!r}\n")
    time.sleep(0.15)
    return qt.MG1(rho, qt.Exponential(1.0)).mean_response_time(qt.PS)


@pytest.fixture(scope="module")
def dask_executor():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client.get_executor()


def test_dask_cluster_matches_serial_loop(dask_executor):
    grid = {"rho": [0.5, 0.8], "policy": ["FCFS", "PSJF", "SRPT", "SPJF"]}
    table = qt.sweep(mm1, grid, executor=dask_executor, progress=False)
    serial = [(rho, p, mm1(rho, p)) for rho in grid["rho"] for p in grid["policy"]]
    assert list(zip(table.rho, table.policy)) == [(r, p) for r, p, _ in serial]
    for value, error, method, (_, _, r) in zip(table.value, table.error, table.method,
                                               serial):
        assert value == pytest.approx(r.value, rel=1e-12)
        assert error == pytest.approx(r.error, rel=1e-9, abs=1e-300)
        assert method == r.method
    assert table.exception.isna().all()
    # Independent check of the values themselves: M/M/1 FCFS, E[T] = 1 / (1 - rho)
    # (Pollaczek-Khinchine with E[X] = 1, E[X^2] = 2).
    fcfs = table[table.policy == "FCFS"]
    assert list(fcfs.value) == pytest.approx([1 / (1 - r) for r in fcfs.rho], rel=1e-12)


def test_resume_after_sigkill_recomputes_nothing_done(tmp_path, dask_executor,
                                                      monkeypatch):
    store, calls = tmp_path / "sweep.jsonl", tmp_path / "calls.txt"
    rhos = [round(0.05 * k, 2) for k in range(1, 19)]  # 18 points, 0.15 s each
    script = (
        "import distributed, qtheory as qt\n"
        "from tests.test_sweep import counted_ps\n"
        "with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,\n"
        "                        dashboard_address=None) as client:\n"
        f"    qt.sweep(counted_ps, {{'rho': {rhos!r}}}, executor=client.get_executor(),\n"
        f"             store={str(store)!r}, progress=False)\n")
    env = {**os.environ, CALLS: str(calls)}
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 120
        while not (store.exists() and store.read_text().count("\n") >= 4):
            assert child.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "the sweep wrote nothing in 120 s"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    # Simulate a record cut in the middle of its write by the kill.
    with open(store, "a") as f:
        f.write('{"params": {"rho": 0.')
    done = {json.loads(line)["params"]["rho"] for line in store.read_text().splitlines()
            if line.endswith("}")}
    assert 4 <= len(done) < len(rhos), "the kill should land partway"
    first_calls = calls.read_text().split()

    calls.write_text("")
    monkeypatch.setenv(CALLS, str(calls))
    table = qt.sweep(counted_ps, {"rho": rhos}, executor=dask_executor, store=store,
                     progress=False)
    second_calls = [float(x) for x in calls.read_text().split()]
    assert sorted(second_calls) == sorted(set(rhos) - done)
    # Only points in flight at the kill (at most one per thread) were computed twice.
    assert len(first_calls) + len(second_calls) <= len(rhos) + 2
    # Complete and correct: M/M/1 under PS has E[T] = 1 / (1 - rho) (Kleinrock 1976, 4.4).
    assert list(table.rho) == rhos
    assert list(table.value) == pytest.approx([1 / (1 - r) for r in rhos], rel=1e-12)
    assert table.exception.isna().all()
    # The store now holds every point, one record each, the cut line gone.
    lines = store.read_text().splitlines()
    assert sorted(json.loads(line)["params"]["rho"] for line in lines) == rhos

    calls.write_text("")
    again = qt.sweep(counted_ps, {"rho": rhos}, executor=dask_executor, store=store,
                     progress=False)
    assert calls.read_text() == ""
    pd.testing.assert_frame_equal(again, table)


def test_failures_are_recorded_and_retried_on_resume(tmp_path):
    store = tmp_path / "s.jsonl"
    grid = {"rho": [0.5, 1.2], "policy": ["FCFS"]}
    with pytest.warns(UserWarning, match="1 of 2 sweep points failed"):
        table = qt.sweep(mm1, grid, executor=ThreadPoolExecutor(2), store=store,
                         progress=False)
    assert table.value[0] == pytest.approx(2.0, rel=1e-12)  # 1 / (1 - 0.5)
    assert table.exception[1].startswith("UnstableError: the queue is unstable")
    assert pd.isna(table.value[1])
    records = map(json.loads, store.read_text().splitlines())
    [failed] = [r for r in records if r["exception"]]
    assert "UnstableError" in failed["traceback"]

    def fixed(rho, policy):  # the second run succeeds where the first failed
        return mm1(min(rho, 0.75), policy)

    table = qt.sweep(fixed, grid, executor=ThreadPoolExecutor(2), store=store,
                     progress=False)
    assert list(table.value) == pytest.approx([2.0, 4.0], rel=1e-12)
    assert table.exception.isna().all()


def test_default_process_pool_and_grid_of_dicts():
    points = [{"rho": 0.5, "policy": "PS"}, {"rho": 0.8, "policy": "FCFS"}]
    table = qt.sweep(mm1, points, progress=False)
    assert list(table.value) == pytest.approx([2.0, 5.0], rel=1e-12)  # 1 / (1 - rho)


def test_simulation_and_dict_results_are_flattened():
    def both(rho):
        q = qt.MG1(rho, qt.Exponential(1.0))
        return {"theory": q.mean_response_time(qt.FCFS),
                "sim": q.simulate(qt.FCFS, jobs=20_000, replications=4, seed=3),
                "rho_check": q.load,
                "bulk": qt.BatchQueue(rho, 1.0, max_batch=2).simulate(jobs=20_000, seed=3,
                                                                       replications=4)}

    table = qt.sweep(both, {"rho": [0.5]}, executor=ThreadPoolExecutor(1), progress=False)
    row = table.iloc[0]
    assert row.theory == 2.0 and row.theory_method == "formula"
    assert row.sim_method == "simulation" and row.sim_ci_lo < row.sim < row.sim_ci_hi
    assert row.rho_check == pytest.approx(0.5)
    assert row.bulk_ci_lo < row.bulk < row.bulk_ci_hi and row.bulk_method == "simulation"


def test_without_pandas_or_tqdm(monkeypatch):
    monkeypatch.setattr(sweep_module, "pd", None)
    monkeypatch.setattr(sweep_module, "tqdm", None)
    rows = qt.sweep(mm1, {"rho": [0.5], "policy": ["FCFS"]},
                    executor=ThreadPoolExecutor(1), progress=True)
    # M/M/1 FCFS at rho = 0.5: E[T] = 1 / (1 - rho) = 2 exactly; the error is the loads'
    # rounding, 8 eps / (1 - rho) of the value
    (row,) = rows
    assert row.pop("error") <= 8 * 2.0**-52 * 2.0 / 0.5
    assert row == {"rho": 0.5, "policy": "FCFS", "value": 2.0, "method": "formula",
                   "exception": None}


def test_bad_input_gives_clear_errors(tmp_path):
    with pytest.raises(ParameterError, match=r"grid\['rho'\] = 0.5 is not a list"):
        qt.sweep(mm1, {"rho": 0.5, "policy": ["FCFS"]})
    with pytest.raises(ParameterError, match="iterable of dicts"):
        qt.sweep(mm1, 3)
    with pytest.raises(ParameterError, match="module level"):
        qt.sweep(lambda rho: rho, {"rho": [1]}, progress=False)
    with pytest.raises(ParameterError, match="cannot be written to the store"):
        qt.sweep(mm1, {"rho": [0.5], "policy": [qt.FCFS]}, store=tmp_path / "a.jsonl")
    store = tmp_path / "b.jsonl"
    store.write_text('not json\n'
                     '{"params": {"rho": 0.5}, "value": 2.0, "exception": null}\n')
    with pytest.raises(ParameterError, match="line 1, is not a sweep record"):
        qt.sweep(counted_ps, {"rho": [0.5]}, store=store)


def test_results_must_be_json_only_with_a_store(tmp_path):
    def impedance(omega):
        return complex(1.0, omega)

    table = qt.sweep(impedance, {"omega": [2.0]}, executor=ThreadPoolExecutor(1),
                     progress=False)
    assert table.value[0] == 1 + 2j
    with pytest.warns(UserWarning, match="1 of 1 sweep points failed"):
        table = qt.sweep(impedance, {"omega": [2.0]}, executor=ThreadPoolExecutor(1),
                         store=tmp_path / "z.jsonl", progress=False)
    assert table.exception[0] == "TypeError: complex is not JSON-serialisable"
