"""Dispatch simulator speed: n queues with JSQ(d), against a hand-coded SimPy model of
the same system.

Run: ``python benchmarks/bench_dispatch.py [--jobs N] [--servers N ...] [--peer-jobs M]``.

Workload: Exp(1) sizes, load 0.9 per queue (arrival rate 0.9 n), JSQ(2), FCFS queues
(qtheory's fast path) and SRPT queues (its event loop); one replication pair of
``--jobs`` jobs each after JIT, best of 3, CPU seconds of this process
(``time.process_time``). Peer: SimPy (an event-driven simulation library; one process
per queue serving a FIFO store, the dispatcher sampling two queues and comparing their
job counts) on ``--peer-jobs`` jobs, CPU seconds of one run; the ratio of jobs/s. Both
print their mean response time beside the mean-field limit.
"""

import argparse
import random
import time

import qtheory as qt
from qtheory.methods.meanfield import jsq_exponential


def best(f, n=3):
    times = []
    for _ in range(n):
        t = time.process_time()
        out = f()
        times.append(time.process_time() - t)
    return min(times), out


def simpy_jsq(n, lam, jobs, d=2, seed=1):
    """Mean response time of JSQ(d) to n FCFS Exp(1) queues in SimPy (warm-up a tenth)."""
    import simpy
    rng = random.Random(seed)
    env = simpy.Environment()
    stores = [simpy.Store(env) for _ in range(n)]
    counts = [0] * n
    out = {"sum": 0.0, "count": 0}
    warm = jobs // 10

    def server(i):
        while True:
            job, t0, size = yield stores[i].get()
            yield env.timeout(size)
            counts[i] -= 1
            if job >= warm:
                out["sum"] += env.now - t0
                out["count"] += 1

    def source():
        for job in range(jobs):
            yield env.timeout(rng.expovariate(lam))
            picks = [rng.randrange(n) for _ in range(d)]
            q = min(picks, key=lambda c: counts[c])
            counts[q] += 1
            stores[q].put((job, env.now, rng.expovariate(1.0)))

    for i in range(n):
        env.process(server(i))
    env.process(source())
    env.run()
    return out["sum"] / out["count"]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=1_000_000)
    ap.add_argument("--servers", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--peer-jobs", type=int, default=200_000)
    a = ap.parse_args(argv)
    mf = jsq_exponential(0.9, 2)
    print(f"JSQ(2), Exp(1), load 0.9 per queue; mean field {mf:.6f}")
    for n in a.servers:
        for pol in (qt.FCFS(), qt.SRPT()):
            f = qt.Dispatch(0.9 * n, qt.Exponential(1.0), servers=n, rule=qt.JSQ(d=2),
                            policy=pol)
            f.simulate(jobs=20_000, replications=2)      # JIT
            t, s = best(lambda: f.simulate(jobs=a.jobs, replications=2, seed=1))
            print(f"n = {n:>6} {pol.name:<5} qtheory {2 * a.jobs / t / 1e6:6.2f} M jobs/s "
                  f"(E[T] {s.value:.4f})")
        if a.peer_jobs:
            t = time.process_time()
            v = simpy_jsq(n, 0.9 * n, a.peer_jobs)
            t = time.process_time() - t
            print(f"n = {n:>6} FCFS  SimPy   {a.peer_jobs / t / 1e6:6.3f} M jobs/s "
                  f"(E[T] {v:.4f})")


if __name__ == "__main__":
    main()
