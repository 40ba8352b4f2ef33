"""SOAP engine speed, side by side with the closed forms (run: python benchmarks/bench_soap.py).

Measures SRPT (sizes known), PSPJF and SPRPT with ExpNoise predictions through
method="soap" and method="formula", side by side, with the relative difference of the two
methods, and SRPT written as a user's ``qt.Rank`` lambda against the catalogue's SRPT;
with --full also Gittins with ExpNoise predictions through 8, 16 and 32 equal-probability
cells, with the change of the mean at each refinement.
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
    # the same SRPT written by a user: its linear pieces are discovered by probing the lambda
    q = qt.MG1(0.6, qt.Uniform(0.5, 1.5))
    mine = qt.Rank(lambda x, age: x - age, descriptor="size")
    u, tu = timed(lambda: q.mean_response_time(mine, method="soap"))
    c, tc = timed(lambda: q.mean_response_time(qt.SRPT, method="soap"))
    print(f"{'SRPT as a user Rank, Uniform(0.5, 1.5)':38s} soap {tu:8.2f} s  catalogue {tc:6.3f} s"
          f"  ratio {tu / tc:8.1f}  rel. diff {abs(u.value - c.value) / c.value:.1e}")
    if full:
        from qtheory.policies.gittins import gittins_policy
        previous = None
        for cells in (8, 16, 32):
            g, tg = timed(lambda: noisy.mean_response_time(gittins_policy(noisy, cells),
                                                           method="soap"))
            change = f"  change from {cells // 2} cells {(g.value - previous) / previous:+.1e}" \
                if previous else ""
            print(f"{f'Gittins, Exp(1), ExpNoise, {cells} cells':38s} soap {tg:8.2f} s  "
                  f"E[T] = {g.value:.8g}{change}")
            previous = g.value

if __name__ == "__main__":
    main()
