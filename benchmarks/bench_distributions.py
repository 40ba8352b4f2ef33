"""Response-time distributions beside the simulation that would otherwise give them, in
one run: P99 and E[T^2] by the closed structures and Euler inversion, and the same
numbers from a simulation with a comparable (statistical) error.

Run: ``python benchmarks/bench_distributions.py`` (``--overhead``: only what simulating
quantiles adds to a simulation's time). The simulation's P99 comes from the
per-job response times of replicated runs (its 95% half-width is printed); the analytic
P99 carries its inversion error. "ratio" is simulation time over analytic time.
"""

import math
import time

import numpy as np

import qtheory as qt
from qtheory.core.result import t_interval


def timed(fn, repeat=3):
    best, out = math.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def simulated_p99(q, policy, reps=8, jobs=250_000):
    vals = []
    for r in range(reps):
        s = q.simulate(policy, jobs=jobs, replications=2, seed=11 + r, per_job=True,
                       executor=False)
        vals.append(np.quantile(s.per_job["response_time"], 0.99))
    mean, (_, hi), _ = t_interval(vals)
    return mean, hi - mean


def main():
    print(f"{'queue, policy':<44}{'P99 analytic':>22}{'s':>8}{'P99 simulated':>24}{'s':>8}"
          f"{'ratio':>8}{'E[T^2] (s)':>22}")
    cases = [("M/M/1 rho=0.9", qt.MG1(0.9, qt.Exponential(1.0)), p)
             for p in (qt.FCFS, qt.SRPT, qt.FB, qt.PSJF)]
    cases += [("M/H2/1 scv=10 rho=0.8", qt.MG1(0.8, qt.Hyperexponential.balanced(1.0, 10.0)),
               qt.SRPT)]
    noisy = qt.MG1(0.9, qt.Exponential(1.0), qt.ExpNoise())
    cases += [("M/M/1 rho=0.9 ExpNoise", noisy, p) for p in (qt.SPRPT(), qt.PSPJF(), qt.Trail(0.5))]
    cases += [("M/M/1 rho=0.9 bit(1, ExpNoise)",
               qt.MG1(0.9, qt.Exponential(1.0), qt.Threshold(1.0, qt.ExpNoise())), qt.OneBit())]
    for label, q, policy in cases:
        d = q.response_time_distribution(policy)
        m2, tm = timed(lambda: q.response_time_distribution(policy).moment(2))
        p99, ta = timed(lambda: d.quantile(0.99), repeat=1)
        q.simulate(policy, jobs=2000, replications=2, executor=False)   # compile
        (sim, half), ts = timed(lambda: simulated_p99(q, policy), repeat=1)
        name = getattr(policy, "__name__", None) or policy.name
        print(f"{label + ', ' + name:<44}{p99.value:>12.6f} ± {p99.error:<7.1e}"
              f"{ta:>8.2f}{sim:>13.4f} ± {half:<8.4f}{ts:>8.2f}{ts / ta:>8.1f}"
              f"{m2.value:>12.4f} ({tm * 1e3:.0f} ms)")


def quantile_overhead(jobs=4_000_000):
    """What streaming the tail (quantiles=True: histogram, squares and cubes) adds to a
    simulation: the same runs (2 replications) with and without it, interleaved, best of
    five, serial."""
    q = qt.MG1(0.9, qt.Exponential(1.0))
    label = f"simulation, M/M/1 rho=0.9, 2 x {jobs:.0e} jobs"
    print(f"\n{label:<44}{'plain s':>10}"
          f"{'quantiles s':>14}{'overhead':>10}")
    for policy in (qt.FCFS, qt.SRPT, qt.FB, qt.PS):
        def run(qs, policy=policy):
            return q.simulate(policy, jobs=jobs, replications=2, executor=False, quantiles=qs)
        run(None), run(True)   # compile
        plain = tail = math.inf
        for _ in range(5):     # interleaved, so a slow spell of the machine hits both
            plain = min(plain, timed(lambda: run(None), repeat=1)[1])
            tail = min(tail, timed(lambda: run(True), repeat=1)[1])
        print(f"{policy.__name__:<44}{plain:>10.3f}{tail:>14.3f}{tail / plain - 1:>+10.0%}")


if __name__ == "__main__":
    import sys
    if "--overhead" not in sys.argv:
        main()
    quantile_overhead()
