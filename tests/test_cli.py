"""The ``qtheory`` command end to end: every subcommand through ``qtheory.tools.cli.main`` with
its output parsed and checked, the installed script once, and errors that name the flag.

Reference values: M/M/1 (1 / (1 - rho)), Mitzenmacher 2020 Table 1 (SRPT, 4 decimals),
the Lambert-W optimum of one perfect bit (Mitzenmacher 2021; docs/theory/advice.md)."""

import csv
import io
import json
import math
import shutil
import subprocess
import sys

import pytest
from scipy.special import lambertw

import qtheory as qt
from qtheory.tools import cli
from qtheory.analysis.validate import t_limit

SRPT_PUBLISHED = {0.5: 1.4254, 0.8: 2.3528}     # Mitzenmacher 2020, Table 1


def run(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_mean_text(capsys):
    status, out, _ = run(capsys, "mean", "--policy", "fcfs", "--policy", "srpt",
                         "--load", "0.5,0.8")
    assert status == 0
    values = {(float(line.split()[0][4:]), line.split()[1]): float(line.split("= ")[1].split()[0])
              for line in out.splitlines()}
    assert values[0.5, "FCFS"] == pytest.approx(2.0) and values[0.8, "FCFS"] == pytest.approx(5.0)
    for rho, pub in SRPT_PUBLISHED.items():
        assert values[rho, "SRPT"] == pytest.approx(pub, abs=5e-5)


def test_mean_csv_matches_the_api(capsys):
    status, out, _ = run(capsys, "mean", "--policy", "srpt", "--policy", "pspjf",
                         "--size", "weibull(0.5, 0.5)", "--prediction", "exp",
                         "--load", "0.5:0.7:0.1", "--csv")
    assert status == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [float(r["load"]) for r in rows] == [0.5, 0.5, 0.6, 0.6, 0.7, 0.7]
    for r in rows:
        q = qt.MG1(float(r["load"]), qt.Weibull(0.5, 0.5), qt.ExpNoise())
        policy = {"SRPT": qt.SRPT, "PSPJF": qt.PSPJF}[r["policy"]]
        assert float(r["mean_response_time"]) == float(q.mean_response_time(policy))
        assert r["method"] == "formula" and float(r["error"]) < 1e-8


def test_mean_json_one_bit_at_optimal_threshold(capsys):
    status, out, _ = run(capsys, "mean", "--policy", "onebit:pre", "--prediction", "perfect",
                         "--load", "0.8", "--json")
    (rec,) = json.loads(out)
    T = 1 + lambertw(0.8 / (math.e * 0.2)).real
    assert status == 0 and rec["policy"] == "1-bit preemptive"
    assert rec["threshold"] == pytest.approx(T, rel=1e-6)
    assert rec["mean_response_time"] == pytest.approx(1 / (0.2 * T), rel=1e-9)
    assert rec["ci_lo"] is None          # NaN becomes JSON null


def test_mean_by_simulation(capsys):
    status, out, _ = run(capsys, "mean", "--policy", "ps", "--load", "0.5", "--method",
                         "simulation", "--jobs", "20000", "--replications", "8", "--json")
    (rec,) = json.loads(out)
    assert status == 0 and rec["method"] == "simulation"
    assert rec["ci_lo"] < rec["mean_response_time"] < rec["ci_hi"]
    # M/M/1 PS: 1 / (1 - rho) = 2; |t| below the 4-sigma-equivalent Student-t limit
    assert abs(rec["mean_response_time"] - 2.0) / rec["error"] < t_limit(4.0, 8)


def test_mean_symbolic(capsys):
    status, out, _ = run(capsys, "mean", "--policy", "fcfs", "--policy", "ps", "--load",
                         "0.75", "--method", "symbolic", "--json")
    recs = json.loads(out)
    assert status == 0 and [r["method"] for r in recs] == ["symbolic", "symbolic"]
    assert [r["expression"] for r in recs] == ["4", "4"]         # 1 / (1 - 3/4), exactly
    assert [r["mean_response_time"] for r in recs] == [4.0, 4.0]


def test_validate_json_and_text(capsys):
    status, out, _ = run(capsys, "validate", "--policy", "srpt", "--load", "0.5",
                         "--methods", "formula,soap", "--jobs", "0", "--json")
    assert status == 0
    srpt = {r["method"]: r for r in json.loads(out)}
    assert set(srpt) == {"formula", "soap"} and srpt["soap"]["status"] == "ok"
    assert srpt["formula"]["value"] == pytest.approx(SRPT_PUBLISHED[0.5], abs=5e-5)
    assert srpt["soap"]["value"] == pytest.approx(srpt["formula"]["value"], rel=1e-6)
    status, out, _ = run(capsys, "validate", "--policy", "fcfs", "--policy", "ps",
                         "--load", "0.5", "--methods", "formula,simulation",
                         "--jobs", "20000", "--replications", "4")
    assert status == 0 and out.count("verdict: PASSED") == 2 and "2/2 passed" in out


def test_validate_exit_status_on_disagreement(capsys, monkeypatch):
    # a formula that is off by 1% must make the verdict fail (exit status 1)
    real = qt.MG1.mean_response_time

    def off(self, policy, method="auto", **kw):
        r = real(self, policy, method, **kw)
        return qt.Result(r.value * 1.01, r.error, r.method) if method == "formula" else r
    monkeypatch.setattr(qt.MG1, "mean_response_time", off)
    status, out, _ = run(capsys, "validate", "--policy", "fcfs", "--load", "0.5",
                         "--methods", "formula,soap", "--jobs", "0")
    assert status == 1 and "FAILED" in out


def test_plot_files(capsys, tmp_path):
    pdf = tmp_path / "load.pdf"
    status, out, _ = run(capsys, "plot", "--policy", "fcfs", "--policy", "srpt",
                         "--load", "0.5:0.9:0.2", "--out", str(pdf))
    assert status == 0 and str(pdf) in out
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 2000
    png = tmp_path / "size.png"
    assert run(capsys, "plot", "--kind", "size", "--policy", "ps", "--load", "0.8",
               "--columns", "2", "--out", str(png))[0] == 0
    assert png.read_bytes().startswith(b"\x89PNG")
    val = tmp_path / "val.pdf"
    assert run(capsys, "plot", "--kind", "validation", "--policy", "fcfs", "--load", "0.5,0.7",
               "--jobs", "10000", "--replications", "3", "--out", str(val))[0] == 0
    assert val.read_bytes().startswith(b"%PDF")


def test_sweep_resumes_from_store(capsys, tmp_path):
    store = tmp_path / "sweep.jsonl"
    args = ["sweep", "--policy", "fcfs", "--policy", "srpt", "--load", "0.5,0.8",
            "--store", str(store), "--workers", "2", "--no-progress", "--json"]
    status, out, _ = run(capsys, *args)
    assert status == 0
    recs = json.loads(out)
    assert [(r["policy"], r["load"]) for r in recs] == [
        ("fcfs", 0.5), ("fcfs", 0.8), ("srpt", 0.5), ("srpt", 0.8)]
    for r in recs:
        expected = 1 / (1 - r["load"]) if r["policy"] == "fcfs" else SRPT_PUBLISHED[r["load"]]
        assert r["mean_response_time"] == pytest.approx(expected, abs=5e-5)
    lines = store.read_text().splitlines()
    assert len(lines) == 4
    # a second run finds every point in the store and computes nothing
    status, again, _ = run(capsys, *args)
    assert status == 0 and json.loads(again) == recs
    assert store.read_text().splitlines() == lines


def test_reproduce_list_and_run(capsys, tmp_path, monkeypatch):
    status, out, _ = run(capsys, "reproduce", "--list")
    assert status == 0 and "mitzenmacher2020" in out and "mitzenmacher2021" in out
    # the runner forwards --full and --out and returns the script's status
    paper = tmp_path / "papers" / "toy"
    paper.mkdir(parents=True)
    (paper / "reproduce.py").write_text(
        '"""A toy."""\n'
        "def main(argv=None):\n"
        "    print('argv', argv)\n"
        "    return 3\n")
    monkeypatch.setattr(cli, "PAPERS", tmp_path / "papers")
    status, out, _ = run(capsys, "reproduce", "toy", "--full", "--out", "somewhere")
    assert status == 3 and "argv ['--full', '--out', 'somewhere']" in out
    status, out, _ = run(capsys, "reproduce", "--list")
    assert out.split() == ["toy", "A", "toy."]
    status, _, err = run(capsys, "reproduce", "nope")
    assert status == 2 and "'nope'" in err and "--list" in err


@pytest.mark.parametrize("argv, flag", [
    (["mean", "--policy", "nosuch"], "--policy"),
    (["mean", "--policy", "trail:2"], "c = 2.0 is invalid: it must be 0 or a number in [1e-12, 1]"),
    (["mean", "--policy", "trail:x"], "write trail:C"),
    (["mean", "--policy", "fcfs", "--size", "nosuch(1)"], "--size"),
    (["mean", "--policy", "fcfs", "--size", "exponential("], "--size"),
    (["mean", "--policy", "sprpt", "--prediction", "uniform:x"], "--prediction"),
    (["mean", "--policy", "fcfs", "--load", "0.5:0.9"], "--load"),
    (["mean", "--policy", "fcfs", "--load", "1.2"], "--load"),
    (["plot", "--policy", "fcfs", "--out", "figure.txt"], ".pdf"),
])
def test_bad_values_name_the_flag(capsys, argv, flag):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.startswith("qtheory: error:") and flag in err


@pytest.mark.parametrize("argv, flag", [
    (["mean", "--policy", "fcfs", "--method", "bogus"], "--method"),
    (["sweep", "--policy", "fcfs", "--method", "symbolic"], "--method"),
    (["mean"], "--policy"),
    (["mean", "--policy", "fcfs", "--jobs", "many"], "--jobs"),
    (["mean", "--policy", "fcfs", "--csv", "--json"], "--json"),
    (["plot", "--policy", "fcfs"], "--out"),
    (["sweep", "--policy", "fcfs", "--workers", "0"], "--workers"),
])
def test_bad_flags_exit_2_naming_the_flag(capsys, argv, flag):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2 and flag in capsys.readouterr().err


def test_help_has_examples(capsys):
    for argv in ([], ["mean"], ["validate"], ["plot"], ["sweep"], ["reproduce"]):
        with pytest.raises(SystemExit):
            cli.main(argv + ["--help"])
        out = capsys.readouterr().out
        assert "examples:" in out and "qtheory" in out


def test_installed_script_default_table():
    exe = shutil.which("qtheory")
    if exe is None:       # not on PATH (e.g. a bare checkout): run the module instead
        cmd = [sys.executable, "-m", "qtheory.tools.cli"]
    else:
        cmd = [exe]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True)
    rows = {line[:24].strip(): line[24:].split() for line in done.stdout.splitlines()
            if line[:24].strip() in ("FCFS", "SRPT", "1-bit preemptive")}
    assert rows["FCFS"][0::3][:4] == ["2.000000", "5.000000", "10.000000", "20.000000"]
    # SRPT at rho = 0.5 and 0.8: Mitzenmacher 2020, Table 1
    assert float(rows["SRPT"][0]) == pytest.approx(1.4254, abs=5e-5)
    assert float(rows["SRPT"][3]) == pytest.approx(2.3528, abs=5e-5)
    assert "60 results" in done.stdout


def test_tail_prints_exact_moments_and_quantiles(capsys):
    """M/M/1 FCFS at rho = 0.8: Var T = 1/(mu - lambda)^2 = 25 and P99 = 5 ln 100."""
    assert cli.main(["tail", "--policy", "fcfs", "--policy", "srpt", "--load", "0.8",
                 "--quantile", "0.99", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    fcfs = rows[0]
    assert fcfs["variance"] == pytest.approx(25.0, rel=1e-12)
    assert abs(fcfs["p0.99"] - 5 * math.log(100)) <= fcfs["p0.99_error"]
    assert rows[1]["variance"] > 25.0          # SRPT's variance exceeds FCFS's (M/M/1)
    assert cli.main(["tail", "--policy", "bounce", "--prediction", "exp", "--load", "0.8"]) == 2
    assert "noisy predictions" in capsys.readouterr().err
