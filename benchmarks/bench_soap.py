"""SOAP engine speed, side by side with the closed forms (run: python benchmarks/bench_soap.py).

Measures SRPT (sizes known) and SPRPT with ExpNoise predictions through method="soap"
and method="formula", and Gittins with ExpNoise. Prints times, ratios and the relative
difference of the two methods.
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
    cases = [("SRPT, Exp(1), rho=0.9", qt.MG1(0.9, qt.Exponential(1.0)), qt.SRPT)]
    if full:  # the two-dimensional (continuous prediction) path: minutes at present
        cases.append(("SPRPT, Exp(1), ExpNoise, rho=0.5",
                      qt.MG1(0.5, qt.Exponential(1.0), qt.ExpNoise()), qt.SPRPT))
    for name, q, p in cases:
        s, ts = timed(lambda: q.mean_response_time(p, method="soap"))
        f, tf = timed(lambda: q.mean_response_time(p, method="formula"))
        print(f"{name:38s} soap {ts:8.2f} s  formula {tf:6.3f} s  ratio {ts / tf:8.1f}  "
              f"rel. diff {abs(s.value - f.value) / f.value:.1e}")
    if full:
        q = qt.MG1(0.5, qt.Exponential(1.0), qt.ExpNoise())
        g, tg = timed(lambda: q.mean_response_time(qt.Gittins, method="soap"))
        print(f"{'Gittins, Exp(1), ExpNoise, rho=0.5':38s} soap {tg:8.2f} s  E[T] = {g.value:.8g}")


if __name__ == "__main__":
    main()
