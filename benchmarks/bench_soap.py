"""SOAP engine speed, side by side with the closed forms (run: python benchmarks/bench_soap.py).

Measures SRPT (sizes known), PSPJF and SPRPT with ExpNoise predictions through
method="soap" and method="formula", side by side; with --full also Gittins with ExpNoise
predictions (16 and 8 cells). Prints times, ratios and the relative difference of the
two methods.
"""

import sys
import time
import warnings

import qtheory as qt

warnings.simplefilter("ignore")


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main(full="--full" in sys.argv):
    noisy = qt.MG1(0.5, qt.Exponential(1.0), qt.ExpNoise())
    cases = [("SRPT, Exp(1), rho=0.9", qt.MG1(0.9, qt.Exponential(1.0)), qt.SRPT),
             ("PSPJF, Exp(1), ExpNoise, rho=0.5", noisy, qt.PSPJF),
             ("SPRPT, Exp(1), ExpNoise, rho=0.5", noisy, qt.SPRPT)]
    for name, q, p in cases:
        s, ts = timed(lambda: q.mean_response_time(p, method="soap"))
        f, tf = timed(lambda: q.mean_response_time(p, method="formula"))
        print(f"{name:38s} soap {ts:8.2f} s  formula {tf:6.3f} s  ratio {ts / tf:8.1f}  "
              f"rel. diff {abs(s.value - f.value) / f.value:.1e}")
    if full:
        from qtheory.gittins import gittins_policy
        for cells in (16, 8):
            g, tg = timed(lambda: noisy.mean_response_time(gittins_policy(noisy, cells),
                                                           method="soap"))
            print(f"{f'Gittins, Exp(1), ExpNoise, {cells} cells':38s} soap {tg:8.2f} s  "
                  f"E[T] = {g.value:.8g}")


if __name__ == "__main__":
    main()
