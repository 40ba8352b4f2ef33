"""The ``qtheory`` command on bad input (issue 18, item 4): never a traceback for a user's
error, exit status 2, and a message that names the flag and says what is allowed.

Each row is (argv, words the message must contain): the first is the flag, the others
what the message says is allowed. ``{tmp}`` is a scratch folder holding a file ``afile``
and a directory ``adir``."""

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from qtheory.tools import cli

F = ["--policy", "fcfs"]


def mean(*flags):
    return ["mean", *F, *flags]


BAD = [
    # --policy
    (["mean", "--policy", "trail:2"], ["--policy", "c = 2.0", "[1e-12, 1]"]),
    (["mean", "--policy", "trail:abc"], ["--policy", "write trail:C"]),
    (["mean", "--policy", "trail:nan"], ["--policy", "[1e-12, 1]"]),
    (["mean", "--policy", "onebit:-1"], ["--policy", "onebit:[pre|resume]"]),
    (["mean", "--policy", "nosuch"], ["--policy", "use one of", "srpt"]),
    (["mean", "--policy", "skippredict:-1"], ["--policy", ">= 0"]),
    (["mean", "--policy", "classes:2,1"], ["--policy", "increasing"]),
    # --size
    (mean("--size", "expon(-1)"), ["--size", "sizes must be >= 0"]),
    (mean("--size", "nonsense("), ["--size", "is not a law", "exponential(1)"]),
    (mean("--size", "nosuchlaw(1)"), ["--size", "unknown law", "scipy.stats"]),
    (mean("--size", "expon(scale=-1)"), ["--size", "scale > 0"]),
    (mean("--size", "lognorm(-1)"), ["--size", "invalid parameters"]),
    (mean("--size", "lognorm()"), ["--size", "lognorm(s, loc=0.0, scale=1.0)"]),
    (mean("--size", "expon(1, 2, 3, 4)"), ["--size", "expon(loc=0.0, scale=1.0)"]),
    (mean("--size", "expon(foo=1)"), ["--size", "'foo'", "expon(loc=0.0, scale=1.0)"]),
    (mean("--size", "expon('a')"), ["--size", "not a number"]),
    (mean("--size", "exponential(1, 2, 3)"), ["--size", "exponential(rate=1.0)"]),
    (mean("--size", "exponential(rate=1, foo=2)"), ["--size", "exponential(rate=1.0)"]),
    (mean("--size", "hyperexponential(1)"), ["--size", "hyperexponential(probs, rates)"]),
    (mean("--size", "uniform(loc=-1)"), ["--size", "uniform(low, high)"]),
    (mean("--size", "exponential(-1)"), ["--size", "rate = -1", "positive finite"]),
    (mean("--size", "exponential(inf)"), ["--size", "rate = inf", "positive finite"]),
    (mean("--size", "pareto(0.5)"), ["--size", "infinite mean", "finite mean"]),
    (mean("--size", "expon(scale=1e300)"), ["--size", "another unit"]),
    (mean("--size", "expon(1e308)"), ["--size", "another unit"]),
    (mean("--size", "exponential(1e-300)"), ["--size", "another unit"]),
    # --prediction
    (["mean", "--policy", "sprpt", "--prediction", "uniform:2"], ["--prediction", "[1e-6, 1]"]),
    (["mean", "--policy", "sprpt", "--prediction", "lognormal:-1"],
     ["--prediction", "positive finite"]),
    (["mean", "--policy", "sprpt", "--prediction", "threshold:-1"], ["--prediction", ">= 0"]),
    (["mean", "--policy", "sprpt", "--prediction", "bogus"],
     ["--prediction", "none, perfect, exp, uniform:ALPHA"]),
    (["mean", "--policy", "sprpt", "--prediction", "threshold:1:bogus"],
     ["--prediction", "threshold:T[:MODEL]"]),
    # --load
    (mean("--load", "1.5"), ["--load", "(0, 1)"]),
    (mean("--load", "0"), ["--load", "(0, 1)"]),
    (mean("--load", "-0.1"), ["--load", "(0, 1)"]),
    (mean("--load", "nan"), ["--load", "(0, 1)"]),
    (mean("--load", "abc"), ["--load", "start:stop:step", "comma list"]),
    (mean("--load", "0.5,"), ["--load", "comma list"]),
    (mean("--load", "0.5:0.9"), ["--load", "start:stop:step"]),
    (mean("--load", "0.5:0.9:0"), ["--load", "step = 0 must be > 0"]),
    (mean("--load", "0.5:0.9:-0.1"), ["--load", "must be > 0"]),
    (mean("--load", "0.9:0.5:0.1"), ["--load", "start 0.9 is above stop 0.5"]),
    (mean("--load", "0.5:1.5:0.1"), ["--load", "(0, 1)"]),
    (mean("--load", "0.5:inf:0.1"), ["--load", "finite"]),
    (mean("--load", "0.5:0.9:1e-300"), ["--load", "more than 10000", "step of at least"]),
    (mean("--load", "0.1:0.9:1e-6"), ["--load", "more than 10000"]),
    # --method, --jobs, --replications, --seed, --format
    (mean("--method", "bogus"), ["--method", "formula"]),
    (mean("--jobs", "0"), ["--jobs", ">= 1"]),
    (mean("--jobs", "1e5"), ["--jobs", "not an integer"]),
    (mean("--replications", "1"), ["--replications", "at least 2"]),
    (mean("--seed", "-1"), ["--seed", ">= 0"]),
    (mean("--csv", "--json"), ["--json", "not allowed with argument --csv"]),
    (mean("--format", "xml"), ["--format", "text"]),
    (["mean"], ["--policy", "required"]),
    # errors while computing name the cell's flags and the CLI's spelling of the fix
    (["mean", "--policy", "gittins", "--method", "formula", "--load", "0.5"],
     ["--policy gittins", "--load 0.5", "--method formula", "--method soap"]),
    (mean("--size", "pareto(1.5)", "--load", "0.5"), ["--policy fcfs", "infinite", "SRPT"]),
    # tail --quantile
    (["tail", *F, "--quantile", "1.5"], ["--quantile", "0 < p < 1"]),
    (["tail", *F, "--quantile", "0"], ["--quantile", "0 < p < 1"]),
    (["tail", *F, "--quantile", "abc"], ["--quantile", "0 < p < 1"]),
    # validate
    (["validate", *F, "--methods", "bogus"], ["--methods", "formula, soap, symbolic"]),
    (["validate", *F, "--methods", "formula,,soap"], ["--methods", "formula, soap"]),
    (["validate", *F, "--jobs", "-1"], ["--jobs", ">= 0"]),
    (["validate", *F, "--methods", "simulation", "--jobs", "0"],
     ["--methods", "--jobs 0", "--jobs >= 1"]),
    # plot
    (["plot", *F, "--out", "{tmp}/figure.txt"], ["--out", ".pdf, .pgf, .png or .svg"]),
    (["plot", *F, "--out", "{tmp}/figure"], ["--out", ".pdf"]),
    (["plot", *F, "--out", "{tmp}/nodir/x.pdf"], ["--out", "does not exist", "create it"]),
    (["plot", *F, "--out", "{tmp}/afile/x.pdf"], ["--out", "is not a directory"]),
    (["plot", *F, "--out", "{tmp}/adir"], ["--out", "is a directory", "file name"]),
    (["plot", *F, "--out", ""], ["--out", "give a file name"]),
    (["plot", *F, "--kind", "size", "--out", "{tmp}/s.pdf"], ["--kind size", "one load"]),
    (["plot", *F, "--columns", "3", "--out", "{tmp}/x.pdf"], ["--columns", "1, 2"]),
    (["plot", *F, "--method", "symbolic", "--out", "{tmp}/x.pdf"], ["--method", "soap"]),
    (["plot", *F], ["--out", "required"]),
    # sweep
    (["sweep", *F, "--workers", "0"], ["--workers", "at least 1"]),
    (["sweep", *F, "--workers", "100000"], ["--workers", "per core"]),
    (["sweep", *F, "--store", "{tmp}/adir"], ["--store", "is a directory"]),
    (["sweep", *F, "--store", "{tmp}"], ["--store", "is a directory"]),
    (["sweep", *F, "--store", "{tmp}/nodir/s.jsonl"], ["--store", "does not exist"]),
    (["sweep", *F, "--store", "{tmp}/afile/s.jsonl"], ["--store", "is not a directory"]),
    (["sweep", *F, "--store", ""], ["--store", "give a file name"]),
    (["sweep", *F, "--method", "symbolic"], ["--method", "formula"]),
    # reproduce
    (["reproduce", "nosuchpaper"], ["reproduce", "'nosuchpaper'", "--list"]),
    (["reproduce", "mitzenmacher2020", "--out", "{tmp}/afile"], ["--out", "is a file", "folder"]),
    # commands
    (["nosuchcommand"], ["COMMAND", "mean"]),
    (["--bogus"], ["--bogus"]),
]


@pytest.fixture
def scratch(tmp_path):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    return tmp_path


def run(argv, capsys):
    """(exit status, stdout, stderr) of ``qtheory argv`` run in this process."""
    try:
        status = cli.main(argv)
    except SystemExit as exc:       # argparse's own errors
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("argv, words", BAD, ids=[" ".join(a) or "(none)" for a, _ in BAD])
def test_bad_input_names_the_flag_without_traceback(argv, words, scratch, capsys):
    argv = [a.replace("{tmp}", str(scratch)) for a in argv]
    status, out, err = run(argv, capsys)
    assert status == 2, (status, err)
    assert "Traceback" not in err and "Traceback" not in out
    last = err.strip().splitlines()[-1]
    assert last.startswith("qtheory") and "error:" in last, err
    for word in words:
        assert word in last, (word, last)
    assert out == ""


def test_nothing_written_on_a_bad_flag(scratch, capsys):
    """A bad flag is found before any work: no partial store, no figure."""
    store, fig = scratch / "s.jsonl", scratch / "f.pdf"
    assert run(["sweep", *F, "--load", "0.5:0.9:0", "--store", str(store)], capsys)[0] == 2
    assert run(["plot", *F, "--size", "nosuch()", "--out", str(fig)], capsys)[0] == 2
    assert not store.exists() and not fig.exists()


def test_sweep_starts_no_more_processes_than_points(monkeypatch, capsys):
    started = []

    class Pool(ThreadPoolExecutor):
        def __init__(self, max_workers=None):
            started.append(max_workers)
            super().__init__(max_workers)
    monkeypatch.setattr("concurrent.futures.ProcessPoolExecutor", Pool)
    status, out, _ = run(["sweep", "--policy", "fcfs", "--policy", "ps", "--load", "0.5",
                          "--workers", "16", "--no-progress", "--json"], capsys)
    assert status == 0 and started == [2] and out.count('"policy"') == 2


def test_warnings_are_one_line_in_the_cli_spelling(capsys):
    status, out, err = run(["mean", "--policy", "sprpt", "--policy", "spjf", "--load", "0.5"],
                           capsys)
    assert status == 0 and "SPRPT" in out
    lines = err.strip().splitlines()
    assert all(line.startswith("qtheory: warning: ") for line in lines), err
    assert len(lines) == 2 and "--prediction perfect" in lines[0] and "qt." not in lines[0]


def test_interrupt_is_status_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt
    monkeypatch.setitem(cli.COMMANDS, "mean", interrupted)
    status, _, err = run(["mean", *F], capsys)
    assert status == 130 and err == "qtheory: interrupted\n"


def test_an_internal_bug_still_surfaces(monkeypatch):
    """Only user errors are turned into messages: a bug keeps its exception (and so its
    traceback)."""
    def broken(args):
        return 1 / 0
    monkeypatch.setitem(cli.COMMANDS, "mean", broken)
    with pytest.raises(ZeroDivisionError):
        cli.main(["mean", *F])


def test_command_line_smoke():
    """The real process: one line on stderr, exit status 2, no traceback."""
    root = Path(cli.__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-m", "qtheory.tools.cli", "mean", "--policy",
                           "fcfs", "--load", "0.5:0.9:1e-300"], capture_output=True,
                          text=True, timeout=120, cwd=root)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("qtheory: error: --load '0.5:0.9:1e-300'")
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1
