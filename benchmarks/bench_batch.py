"""Speed of the batch-service code: exact BatchQueue (chain) for b <= 256 at load 0.95
(target <= 1 s each) and the iteration-level LLM simulator (target >= 1e6 iterations/s).

Run: python benchmarks/bench_batch.py
"""

import time

import scipy.stats as st

from qtheory.batch import BatchQueue
from qtheory.continuous import ContinuousBatching

ALPHA, TAU0 = 0.1438, 1.8874   # Inoue 2021, V100 ResNet-50


def bench_exact():
    print("exact BatchQueue, S_k = 0.1438 k + 1.8874, load 0.95 (chain / roots)")
    for b in (8, 32, 64, 128, 256):
        lam = 0.95 * b / (ALPHA * b + TAU0)
        q = BatchQueue(lam, lambda k: ALPHA * k + TAU0, max_batch=b)
        t = time.perf_counter()
        r = q.mean_response_time()
        dt = time.perf_counter() - t
        line = f"  b={b:4d}  E[T]={r.value:.10g}  chain {dt:6.3f} s ({r.details['states']} states)"
        if b <= 64:
            t = time.perf_counter()
            rr = q.mean_response_time(method="roots")
            line += f"  roots {time.perf_counter() - t:6.2f} s  |diff|={abs(rr.value - r.value):.1e}"
        print(line)


def bench_llm():
    print("LLM simulator, iterations per second (median over replications)")
    cb = ContinuousBatching(1.0, st.randint(20, 200), st.geom(0.01), d0=0.01, d1=1e-5,
                            memory=20_000)
    cb.simulate(jobs=2000, replications=2, policy="fcfs")   # compile / load the cache
    for load in (0.7, 0.95, "saturated"):
        for policy in ("fcfs", "reserve", "evict", "spf"):
            kw = dict(saturated=True) if load == "saturated" else {}
            if load != "saturated":
                cb.arrival_rate = load * cb.max_throughput()
            t = time.perf_counter()
            s = cb.simulate(jobs=200_000, replications=2, policy=policy, seed=1, **kw)
            print(f"  load={load!s:9s} {policy:8s} {s.details['iterations_per_second'] / 1e6:6.2f}"
                  f" M it/s  ({s.details['iterations']} iterations, wall "
                  f"{time.perf_counter() - t:5.2f} s)")


if __name__ == "__main__":
    bench_exact()
    bench_llm()
