"""k-server simulator speed: the central M/G/k loops against the one-server loops, same
run, same machine.

Run: ``python benchmarks/bench_mgk.py [--jobs N] [--servers K ...]``.

Workload: Exp(1) sizes at load 0.9 per server (arrival rate 0.9 k), one replication pair
of ``--jobs`` jobs each after JIT, best of 3, CPU seconds of this process
(``time.process_time``, so other load on a shared machine does not count). Each row
gives jobs/s of qtheory's k-server loop (``qt.MGk(...).simulate``) and of the
one-server loop (``qt.MG1(0.9, ...).simulate``) for FCFS (Kiefer-Wolfowitz vs Lindley),
SRPT and PSJF (key loops), FB (piecewise loop with tied groups vs the FB loop) and PS.
The simulated mean is printed beside the exact one where there is one (Erlang C).
"""

import argparse
import time

import qtheory as qt


def best(f, n=3):
    times = []
    for _ in range(n):
        t = time.process_time()
        out = f()
        times.append(time.process_time() - t)
    return min(times), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=1_000_000)
    ap.add_argument("--servers", type=int, nargs="*", default=[1, 8])
    args = ap.parse_args()
    n = args.jobs
    print(f"{'policy':<8}{'k':>4}{'k-server loop':>18}{'one-server loop':>18}"
          f"{'E[T] sim':>12}{'exact':>10}")
    for policy in (qt.FCFS, qt.SRPT, qt.PSJF, qt.FB, qt.PS):
        q = qt.MG1(0.9, qt.Exponential(1.0))
        q.simulate(policy, jobs=20_000, replications=2)
        t1, _ = best(lambda: q.simulate(policy, jobs=n, replications=2, executor=False))
        for k in args.servers:
            m = qt.MGk(0.9 * k, qt.Exponential(1.0), servers=k)
            m.simulate(policy, jobs=20_000, replications=2)
            tk, s = best(lambda: m.simulate(policy, jobs=n, replications=2, executor=False))
            try:
                exact = f"{m.mean_response_time(policy).value:.4f}"
            except qt.PolicyError:
                exact = "-"
            print(f"{policy.__name__:<8}{k:>4}{2 * n / tk / 1e6:>14.2f} M/s"
                  f"{2 * n / t1 / 1e6:>14.2f} M/s{s.value:>12.4f}{exact:>10}")


if __name__ == "__main__":
    main()
