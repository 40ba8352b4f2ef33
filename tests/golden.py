"""The golden snapshot: value and error of every catalogue policy by every method it has,
over 7 size laws x 4 prediction models x 2 loads, recorded before the package was
restructured (tests/golden_values.json) and checked by tests/test_golden.py.

A cell is (law, prediction, load, policy, method); its record is ``{"value", "error"}``
or ``{"raises": "ErrorType"}`` where the method does not apply. Simulation cells are
seeded (seed 7, 2 replications of 20 000 jobs), symbolic cells are evaluated in double
precision (``qt.evaluate(..., fast=True)``) where the expression was derived.

Run ``python tests/golden.py`` to (re)write the JSON: only when a change is meant to
move numbers, and say so in the commit.
"""

import json
import os
import signal
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import scipy.stats as stats

import qtheory as qt

LAWS = {"hyper": lambda: qt.Hyperexponential([0.9, 0.1], [1.8, 0.2]),
        "erlang": lambda: qt.Erlang(3, 3.0),
        "lognormal": lambda: qt.Lognormal(0.0, 1.0),
        "pareto": lambda: qt.BoundedPareto(1.5, 0.1, 100.0),
        "uniform": lambda: qt.Uniform(0.5, 1.5),
        "atoms": lambda: qt.Empirical([0.5, 1.0, 3.0], [0.5, 0.3, 0.2]),
        "scipy-gamma": lambda: stats.gamma(0.5, scale=2.0)}
PREDICTIONS = {"exp": qt.ExpNoise, "uniform": lambda: qt.UniformNoise(0.5),
               "lognormal": lambda: qt.LognormalNoise(0.5), "perfect": qt.Perfect}
LOADS = (0.3, 0.9)
METHODS = ("formula", "soap", "symbolic", "simulation")
SIM = dict(jobs=20_000, replications=2, seed=7)
TIME_LIMIT = 90   # seconds of wall time per cell; slower cells are recorded as skipped
PATH = os.path.join(os.path.dirname(__file__), "golden_values.json")


def _sprpt_rank(y, a):
    return y - a


def policies(mean):
    """(label, policy, kind): kind is None (no prediction), "prediction" or "bit"."""
    m = float(mean)
    P = qt
    cells = [("FCFS", P.FCFS(), None), ("LCFS", P.LCFS(), None), ("PS", P.PS(), None),
             ("SJF", P.SJF(), None), ("PSJF", P.PSJF(), None), ("SRPT", P.SRPT(), None),
             ("FB", P.FB(), None), ("Gittins", P.Gittins(), None),
             ("SPJF", P.SPJF(), "prediction"), ("PSPJF", P.PSPJF(), "prediction"),
             ("SPRPT", P.SPRPT(), "prediction"),
             ("Classes", P.PriorityClasses([0.5 * m, 2 * m]), "prediction"),
             ("Classes-resume", P.PriorityClasses([0.5 * m, 2 * m], preemptive="resume"),
              "prediction"),
             ("OneBit-np", P.OneBit(False), "bit"), ("OneBit-p", P.OneBit(True), "bit"),
             ("OneBit-resume", P.OneBit("resume"), "bit"),
             ("Trail", P.Trail(0.5), "prediction"), ("SPRPTBounce", P.SPRPTBounce(), "prediction"),
             ("SkipPredict", P.SkipPredict(m), "prediction"),
             ("DelayPredict", P.DelayPredict(m), "prediction"),
             ("Rank", P.Rank(_sprpt_rank, name="Rank(y - a)"), "prediction")]
    return cells


def queue(law, pred, kind, rho):
    size = qt.as_size_law(LAWS[law]())
    info = None if kind is None else PREDICTIONS[pred]() if kind == "prediction" \
        else qt.Threshold(float(size.mean), PREDICTIONS[pred]())
    return qt.MG1(rho / float(size.mean), LAWS[law](), info)


def cells():
    """Every (law, prediction, load, label, method) of the snapshot. Policies that read no
    prediction appear under the first prediction model only."""
    out = []
    for law in LAWS:
        mean = qt.as_size_law(LAWS[law]()).mean
        for pred in PREDICTIONS:
            for rho in LOADS:
                for label, _, kind in policies(mean):
                    if kind is None and pred != "exp":
                        continue
                    for method in METHODS:
                        if method == "symbolic" and (rho != LOADS[0] or label == "Gittins"):
                            continue   # symbolic: one load (its evaluation is slow)
                        out.append((law, pred, rho, label, method))
    return out


class _TooSlow(Exception):
    pass


def _too_slow(signum, frame):
    raise _TooSlow


def key(cell):
    return "|".join(map(str, cell))


def compute(cell):
    """The record of one cell, and the seconds it took."""
    law, pred, rho, label, method = cell
    mean = qt.as_size_law(LAWS[law]()).mean
    _, policy, kind = next(c for c in policies(mean) if c[0] == label)
    t0 = time.process_time()
    signal.signal(signal.SIGALRM, _too_slow)
    signal.alarm(TIME_LIMIT)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            q = queue(law, pred, kind, rho)
            if method == "simulation":
                r = q.simulate(policy, **SIM)
                rec = {"value": float(r.mean_response_time), "error": float(r.ci[1] - r.ci[0])}
            elif method == "symbolic":
                e = q.mean_response_time(policy, method="symbolic")
                rec = {"value": float(qt.evaluate(e, fast=True)), "error": 0.0}
            else:
                r = q.mean_response_time(policy, method=method)
                rec = {"value": float(r.value), "error": float(r.error)}
    except _TooSlow:
        rec = {"skipped": f"over {TIME_LIMIT} s"}
    except Exception as exc:  # the method does not apply here: recorded as such
        rec = {"raises": type(exc).__name__}
    finally:
        signal.alarm(0)
    return rec, time.process_time() - t0


def main(workers=2):
    todo = cells()
    out = {}
    with ProcessPoolExecutor(workers) as ex:
        for cell, (rec, sec) in zip(todo, ex.map(compute, todo, chunksize=1)):
            rec["seconds"] = round(sec, 3)
            out[key(cell)] = rec
            print(key(cell), rec, flush=True)
    with open(PATH, "w") as fh:
        json.dump(out, fh, indent=0, sort_keys=True)
    total = sum(r["seconds"] for r in out.values())
    print(f"{len(out)} cells, {total:.0f} s CPU", file=sys.stderr)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
