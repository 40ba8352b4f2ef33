"""Long computations are bounded and visible: ``max_time=`` stops them with a BudgetError
that says how far they got, and a progress bar appears once they run a while (issue 18,
item 3)."""

import math
import pickle
import time

import numpy as np
import pytest

import qtheory as qt
from qtheory.core import budget as budget_module

# Gittins on a lognormal law with sigma 1.5 at load 0.9 runs for well over 10 s (its
# index has a kink in every cell of a fine grid): a computation that needs its budget
HARD = (qt.MG1(0.9, qt.Lognormal.from_mean(1.0, 1.5)), qt.Gittins)


@pytest.mark.parametrize("method", ["auto", "soap"])
def test_max_time_stops_a_long_computation_promptly(method):
    q, policy = HARD
    t0 = time.perf_counter()
    with pytest.raises(qt.BudgetError, match=r"max_time = 0\.5 s") as info:
        q.mean_response_time(policy, method=method, max_time=0.5)
    spent = time.perf_counter() - t0
    # checks come at least every few tenths of a second: a prompt stop, not the full run
    assert spent < 5.0, spent
    err = info.value
    assert isinstance(err, qt.ConvergenceError) and err.elapsed >= 0.5
    assert "Gittins" in str(err) and err.stage     # what was computed, and where it stopped


def test_a_generous_budget_changes_nothing():
    """Reference: the same call without a budget (the budget only watches)."""
    q = qt.MG1(0.8, qt.Hyperexponential.balanced(1.0, 4.0), prediction=qt.ExpNoise())
    for policy in (qt.SRPT, qt.SPRPT, qt.Trail(0.5)):
        free = q.mean_response_time(policy)
        bounded = q.mean_response_time(policy, max_time=600)
        assert (bounded.value, bounded.error) == (free.value, free.error)
    d = q.response_time_distribution(qt.SRPT)
    assert d.quantile(0.9, max_time=600).value == d.quantile(0.9).value


def test_budget_reports_the_error_reached_in_adaptive_quadrature():
    """Adaptive Gauss stopped mid-way says the relative error it had reached."""
    from qtheory.core.numerics import adaptive_gauss
    with pytest.raises(qt.BudgetError, match="relative error reached so far") as info:
        with qt.budget(max_time=0.0):
            adaptive_gauss(lambda x: np.abs(x - 0.3) ** 0.5, [0.0, 1.0], 1e-14)
    assert info.value.error > 1e-14


def test_generic_distribution_stops_within_its_budget():
    """The generic SOAP transform's moments (Gittins: a vacation per index cell) check the
    budget between blocks of rows."""
    q = qt.MG1(0.9, qt.Lognormal.from_mean(1.0, 1.5))
    with pytest.raises(qt.BudgetError):
        with qt.budget(max_time=0.0):
            q.response_time_distribution(qt.Gittins, method="soap").moment(2)


def test_simulation_budget_in_worker_processes():
    """Replications run in worker processes: their BudgetError crosses the process
    boundary intact (it pickles), and a budget that suffices changes nothing."""
    q = qt.MG1(0.9, qt.Exponential(1.0))
    with pytest.raises(qt.BudgetError, match="simulate fewer jobs"):
        q.simulate(qt.SRPT, jobs=10**6, replications=4, max_time=0.01)
    a = q.simulate(qt.SRPT, jobs=20_000, replications=3, seed=5)
    b = q.simulate(qt.SRPT, jobs=20_000, replications=3, seed=5, max_time=600)
    assert a.ci == b.ci
    for e in (qt.ConvergenceError("an integral", 1.0, 0.5),
              qt.BudgetError("E[T]", 1.0, 1.2, "a stage", 1e-3)):
        back = pickle.loads(pickle.dumps(e))
        assert type(back) is type(e) and str(back) == str(e)


def test_nested_budgets_the_outer_one_governs():
    q = qt.MG1(0.9, qt.Exponential(1.0))
    with pytest.raises(qt.BudgetError, match="max_time = 0 s"):
        with qt.budget(max_time=0.0):
            q.mean_response_time(qt.SRPT, max_time=600)
    with qt.budget(max_time=600) as outer:
        q.mean_response_time(qt.SRPT, max_time=0.0)   # inner budget adds nothing
    assert outer.ticks > 0


def test_progress_bar_after_the_delay(monkeypatch, capsys):
    """The bar (tqdm, on stderr) shows what is computed and the stage it is in, drawn by a
    watcher thread even while a step runs; in non-interactive use it stays quiet."""
    pytest.importorskip("tqdm")
    monkeypatch.setattr(budget_module, "PROGRESS_DELAY", 0.0)
    with qt.budget(what="a slow sum", progress=True):
        qt.core.budget.tick(stage="the first term")
        time.sleep(0.8)
    shown = capsys.readouterr().err
    assert "a slow sum" in shown and "the first term" in shown
    with qt.budget(what="a quiet sum"):          # pytest captures stderr: not interactive
        qt.core.budget.tick()
        time.sleep(0.3)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("bad", [-1, math.nan, "10", math.inf * 0])
def test_bad_max_time_is_refused_by_name(bad):
    with pytest.raises(qt.ParameterError, match="max_time"):
        qt.MG1(0.5, qt.Exponential(1.0)).mean_response_time(qt.SRPT, max_time=bad)
