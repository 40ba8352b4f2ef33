"""Speed of the batch-service code.

* Exact BatchQueue at load 0.95, S_k = 0.1438 k + 1.8874 (Inoue 2021's V100 fit): the
  embedded chain (the default; target <= 1 s for b <= 256) side by side with the PGF-root
  method (the independent cross-check), with their ratio and their difference.
* The iteration-level LLM simulator, every admission policy, at loads 0.7 and 0.95 of
  lambda_max and saturated (target >= 1e6 iterations/s).

Times are CPU seconds of this process (``time.process_time``), which on a shared
machine vary less than wall time; the wall time is printed alongside.

Run: python benchmarks/bench_batch.py [--full]   (--full adds the roots method at b = 256)
"""

import sys
import time

import scipy.stats as st

import qtheory as qt

from qtheory.queues.batch import BatchQueue
from qtheory.queues.continuous import ContinuousBatching

ALPHA, TAU0 = 0.1438, 1.8874   # Inoue 2021, V100 ResNet-50


def _timed(fn):
    c, w = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c, time.perf_counter() - w


def bench_exact(roots_max):
    print("exact BatchQueue, S_k = 0.1438 k + 1.8874, load 0.95: CPU s (wall s)")
    print(f"  {'b':>4} {'E[T]':>14} {'chain':>15} {'states':>7} {'roots':>16} {'roots/chain':>11}"
          f" {'|diff|':>8}")
    for b in (8, 32, 64, 128, 256):
        lam = 0.95 * b / (ALPHA * b + TAU0)
        q = BatchQueue(lam, lambda k: ALPHA * k + TAU0, max_batch=b)
        r, c, w = _timed(q.mean_response_time)
        line = f"  {b:4d} {r.value:14.10g} {c:7.3f} ({w:5.3f}) {r.details['states']:7d}"
        if b <= roots_max:
            rr, rc, rw = _timed(lambda: q.mean_response_time(method="roots"))
            line += (f" {rc:7.2f} ({rw:6.2f}) {rc / c:11.1f} "
                     f"{abs(rr.value - r.value):8.1e}")
        print(line)


def bench_llm():
    print("LLM simulator, s ~ U{20..199}, o ~ Geom(mean 100), d0 = 0.01, d1 = 1e-5, "
          "M = 20 000; 2 x 200 000 requests")
    print(f"  {'load':<9} {'policy':<12} {'M it/s (kernel wall)':>20} {'M it/s (CPU)':>13} "
          f"{'iterations':>11} {'evictions/req':>13}")
    cb = ContinuousBatching(1.0, st.randint(20, 200), st.geom(0.01), d0=0.01, d1=1e-5,
                            memory=20_000)
    cb.simulate(jobs=2000, replications=2, policy=qt.FCFS)   # compile / load the cache
    for load in (0.7, 0.95, "saturated"):
        for policy in (qt.FCFS, qt.Reserve(), qt.Evict(), qt.Trail(1.0)):
            kw = dict(saturated=True) if load == "saturated" else {}
            if load != "saturated":
                cb.arrival_rate = load * cb.max_throughput()
            s, c, _ = _timed(lambda: cb.simulate(jobs=200_000, replications=2,
                                                 policy=policy, seed=1, **kw))
            it = s.details["iterations"]
            print(f"  {load!s:<9} {s.policy:<12} {s.details['iterations_per_second'] / 1e6:20.2f} "
                  f"{it / c / 1e6:13.2f} {it:11d} {s.mean("evictions"):13.3f}")


if __name__ == "__main__":
    bench_exact(roots_max=256 if "--full" in sys.argv else 128)
    bench_llm()
