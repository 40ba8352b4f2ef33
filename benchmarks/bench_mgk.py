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

Peer (``--peer``, needs ``pip install -e .[bench]``): Ciw, which has multi-server nodes
with FCFS and preemptive-resume priority classes, on the same M/M/k workloads: FCFS, and
two classes ("short" = size < 1 first, preemptive-resume; qtheory:
``OneBit("resume")`` with a perfect bit), ``--peer-jobs`` jobs (Ciw is slow), wall
seconds of one run each, ratio of jobs/s.
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


def ciw_run(kind, lam, k, n, seed=1):
    """Mean response time and CPU seconds of Ciw on M/M/k (FCFS or two preemptive-resume
    classes split at size 1)."""
    import ciw
    import numpy as np
    ciw.seed(seed)
    if kind == "FCFS":
        N = ciw.create_network(arrival_distributions=[ciw.dists.Exponential(lam)],
                               service_distributions=[ciw.dists.Exponential(1.0)],
                               number_of_servers=[k])
    else:
        p_short = 1 - np.exp(-1.0)

        class Cond(ciw.dists.Distribution):
            def __init__(self, short):
                self.short = short

            def sample(self, t=None, ind=None):
                u = np.random.random()
                return -np.log(1 - u * p_short) if self.short else 1.0 - np.log(1 - u)

        N = ciw.create_network(
            arrival_distributions={"short": [ciw.dists.Exponential(lam * p_short)],
                                   "long": [ciw.dists.Exponential(lam * (1 - p_short))]},
            service_distributions={"short": [Cond(True)], "long": [Cond(False)]},
            priority_classes=({"short": 0, "long": 1}, ["resume"]),
            number_of_servers=[k])
        np.random.seed(seed)
    t = time.process_time()
    Q = ciw.Simulation(N)
    Q.simulate_until_max_customers(n, method="Finish")
    el = time.process_time() - t
    recs = [r for r in Q.get_all_records() if r.record_type == "service"]
    return float(np.mean([r.exit_date - r.arrival_date for r in recs])), el


def peer(k, n_peer, n_ours):
    lam = 0.8 * k
    print(f"\nM/M/{k} at rho = 0.8 per server: qtheory ({n_ours} jobs) vs Ciw ({n_peer} jobs)")
    print(f"{'workload':<26}{'qtheory E[T]':>14}{'Ciw E[T]':>10}{'exact':>9}"
          f"{'qtheory':>14}{'Ciw':>12}{'ratio':>8}")
    for kind, policy, pred in (("FCFS", qt.FCFS, None),
                               ("priority, resume", qt.OneBit("resume"),
                                qt.Threshold(1.0, qt.Perfect()))):
        m = qt.MGk(lam, qt.Exponential(1.0), servers=k, prediction=pred)
        m.simulate(policy, jobs=20_000, replications=2)
        t, s = best(lambda: m.simulate(policy, jobs=n_ours, replications=2, executor=False), 1)
        ours = 2 * n_ours / t
        value, el = ciw_run("FCFS" if kind == "FCFS" else "prio", lam, k, n_peer)
        exact = f"{m.mean_response_time(policy).value:.4f}" if kind == "FCFS" else "-"
        print(f"{kind:<26}{s.value:>14.4f}{value:>10.4f}{exact:>9}"
              f"{ours / 1e6:>10.2f} M/s{n_peer / el / 1e3:>8.1f} k/s{ours / (n_peer / el):>8.0f}x")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=1_000_000)
    ap.add_argument("--servers", type=int, nargs="*", default=[1, 8])
    ap.add_argument("--peer", action="store_true", help="also run Ciw (M/M/k, k = 8)")
    ap.add_argument("--peer-jobs", type=int, default=50_000)
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
    if args.peer:
        peer(8, args.peer_jobs, n)


if __name__ == "__main__":
    main()
