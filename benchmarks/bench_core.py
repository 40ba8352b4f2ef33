"""Closed-form speed and accuracy, side by side with the ways a researcher would otherwise
get the same number (run: python benchmarks/bench_core.py).

* SRPT, Exp(1) sizes, rho = 0.9: qtheory's formula against a direct scipy implementation
  of Schrage-Miller (nested ``quad`` for the partial loads) and a 30-digit mpmath
  evaluation (tests/references.py), which also gives each one's true error.
* SPRPT, Exp(1) sizes, ExpNoise predictions, rho = 0.9: qtheory against the 30-digit
  Bessel-function form (docs/theory/predictions.md; it exists only for this special case).
* Trail(0.5) with Perfect predictions, and SRPT on a scipy.stats law (quadrature partial
  moments) against the same law built in.
* The whole default ``qtheory`` table, in process.

Each timing is the median of ``--repeat`` runs (default 5) on a fresh queue, so no cache
carries over between runs.
"""

import argparse
import io
import math
import statistics
import sys
import time
from pathlib import Path

import scipy.stats as st
from scipy.integrate import quad

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests import references as ref  # noqa: E402

import qtheory as qt  # noqa: E402
from qtheory.tools.cli import default_table  # noqa: E402


def timed(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, statistics.median(times)


def srpt_with_scipy(lam):
    """Schrage-Miller for Exp(1) written the direct way: every partial load is a quad."""
    rho = lambda x: lam * quad(lambda t: t * math.exp(-t), 0, x)[0]
    m2 = lambda x: quad(lambda t: t * t * math.exp(-t), 0, x)[0]
    wait = quad(lambda x: math.exp(-x) * lam * (m2(x) + x * x * math.exp(-x))
                / (2 * (1 - rho(x)) ** 2), 0, math.inf, epsrel=1e-10)[0]
    res = quad(lambda t: math.exp(-t) / (1 - rho(t)), 0, math.inf, epsrel=1e-10)[0]
    return wait + res


def row(name, seconds, value, exact, base=None):
    ratio = f"{seconds / base:8.1f}x" if base else " " * 9
    err = abs(value - exact) / exact
    print(f"  {name:34s} {seconds * 1e3:10.1f} ms {ratio}   rel. error {err:8.1e}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    n = parser.parse_args(argv).repeat

    print("SRPT, Exp(1), rho = 0.9  (target: <= 20 ms to 1e-8)")
    exact = float(ref.srpt(0.9))  # tabulated; timed below by .compute
    r, t_q = timed(lambda: qt.MG1(0.9, qt.Exponential(1.0)).mean_response_time(qt.SRPT), n)
    v_s, t_s = timed(lambda: srpt_with_scipy(0.9), max(1, n // 2))
    _, t_m = timed(lambda: ref.srpt.compute(0.9), 1)
    row("qtheory formula", t_q, r.value, exact)
    row("direct scipy quad (nested)", t_s, v_s, exact, t_q)
    row("mpmath, 30 digits", t_m, exact, exact, t_q)

    print("SPRPT, Exp(1), ExpNoise, rho = 0.9  (target: <= 0.5 s)")
    exact = float(ref.sprpt(0.9))
    r, t_q = timed(lambda: qt.MG1(0.9, qt.Exponential(1.0), qt.ExpNoise())
                   .mean_response_time(qt.SPRPT), n)
    _, t_m = timed(lambda: ref.sprpt.compute(0.9), 1)
    row("qtheory formula", t_q, r.value, exact)
    row("mpmath Bessel form, 30 digits", t_m, exact, exact, t_q)

    print("Trail(0.5), Exp(1), Perfect predictions, rho = 0.9")
    exact = float(ref.trail_perfect(0.9, 0.5))
    r, t_q = timed(lambda: qt.MG1(0.9, qt.Exponential(1.0), qt.Perfect())
                   .mean_response_time(qt.Trail(0.5)), n)
    _, t_m = timed(lambda: ref.trail_perfect.compute(0.9, 0.5), 1)
    row("qtheory formula", t_q, r.value, exact)
    row("mpmath, 30 digits", t_m, exact, exact, t_q)

    print("SRPT, Lognormal(0, 1), rho = 0.5: built-in law vs scipy.stats.lognorm(1)")
    lam = 0.5 / math.exp(0.5)
    r, t_q = timed(lambda: qt.MG1(lam, qt.Lognormal(0.0, 1.0)).mean_response_time(qt.SRPT), n)
    s, t_s = timed(lambda: qt.MG1(lam, st.lognorm(1.0)).mean_response_time(qt.SRPT), 1)
    row("built-in law (closed-form moments)", t_q, r.value, r.value)
    row("scipy.stats law (quadrature)", t_s, s.value, r.value, t_q)

    print("The default `qtheory` table  (target: <= 5 s)")
    _, t_table = timed(lambda: default_table(io.StringIO()), 1)
    print(f"  {'all policies x 4 loads':34s} {t_table * 1e3:10.1f} ms")


if __name__ == "__main__":
    main()
