"""Simulator of the M/G_k^(a,b)/1 batch queue of :class:`~qtheory.queues.batch.BatchQueue`
(numba kernel, ``cache=True``), exactly as modelled: FCFS, the server takes min(queue, b)
jobs when at least a wait, otherwise it waits for the a-th; a batch of k takes a fresh
draw of S_k.

Independent replications are seeded by ``numpy.random.SeedSequence(seed).spawn(replications)``
and reported with Student-t 95% confidence intervals; the first ``warmup`` and last
``cooldown`` fractions of jobs (by arrival) are dropped. The iteration-level LLM server
is simulated in :mod:`qtheory.methods.sim.llm`.
"""

import numpy as np
from numba import njit

from ...core.errors import ParameterError
from ...core.result import SimulationResult
from .engine import _check_int

__all__ = ["simulate_batch", "measured_window"]


def measured_window(n, warmup, cooldown):
    """The jobs measured, numbered lo .. hi − 1 by arrival, once the first ``warmup`` and
    last ``cooldown`` fractions of ``n`` are dropped."""
    lo, hi = int(warmup * n), int((1 - cooldown) * n)
    if hi - lo < 10:
        raise ParameterError(f"jobs = {n} is too small for warmup = {warmup} and cooldown = "
                             f"{cooldown}: simulate more jobs.")
    return lo, hi


# ---------------------------------------------------------------------------------------
# the M/G_k^(a,b)/1 queue
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def _batch_kernel(arr, a, b, kind, svc, rowof, pool, pidx, ist, fst, acc, lo, hi):
    """Run until done (return -1) or until the service time of a batch of k jobs is not
    available (return k; the caller fills ``kind``/``pool`` and calls again)."""
    n = arr.size
    head, tail, t = ist[0], ist[1], fst[0]
    t_lo, t_hi = arr[lo], arr[hi - 1]
    while head < n:
        while tail < n and arr[tail] <= t:
            tail += 1
        q = tail - head
        if q >= a:
            start = t
            k = q if q < b else b
        else:
            if head + a > n:
                break
            start = arr[head + a - 1]   # idle until the a-th waiting job arrives
            if start > t:
                pass
            k = a
        if kind[k] == 1:
            s = svc[k]
        elif kind[k] == 2 and pidx[k] < pool.shape[1]:
            s = pool[rowof[k], pidx[k]]
            pidx[k] += 1
        else:
            ist[0], ist[1], fst[0] = head, tail, t
            return k
        d = start + s
        for i in range(head, head + k):
            if i >= lo and i < hi:
                acc[0] += d - arr[i]
                acc[1] += 1.0
                acc[2] += s
        if start >= t_lo and start < t_hi:
            acc[3] += 1.0
            acc[4] += k
            acc[5] += min(d, t_hi) - start
        head += k
        t = d
    ist[0], ist[1], fst[0] = head, tail, t
    return -1


def simulate_batch(queue, jobs=200_000, seed=1, replications=10, warmup=0.1, cooldown=0.05,
                   pool_size=4096):
    """Simulate a :class:`~qtheory.queues.batch.BatchQueue`.

    Returns a :class:`~qtheory.core.result.SimulationResult` with metrics ``T`` (response
    time), ``W`` (wait until the batch starts), ``batch_size`` (mean jobs per batch) and
    ``utilisation``.

    Examples
    --------
    >>> from qtheory.queues.batch import BatchQueue
    >>> q = BatchQueue(2.37, lambda k: 0.1438 * k + 1.8874, max_batch=8)
    >>> s = q.simulate(jobs=20_000, replications=4, seed=3)
    >>> abs(s.z(5.52148)) < 4
    True
    """
    if queue.symbolic:
        raise ParameterError("simulation needs numeric parameters, not sympy symbols.")
    lam = float(queue.arrival_rate)
    a = queue.min_batch
    b = int(min(queue.max_batch, jobs))
    lo, hi = measured_window(jobs, warmup, cooldown)
    replications = _check_int("replications", replications, 2,
                              "use at least 2 independent replications (10 is typical)")
    children = np.random.SeedSequence(seed).spawn(replications)
    samples = {"T": [], "W": [], "batch_size": [], "utilisation": []}
    kind = np.zeros(b + 1, np.int8)
    svc = np.zeros(b + 1)
    rowof = -np.ones(b + 1, np.int64)
    laws = {}
    for child in children:
        rng = np.random.default_rng(child)
        arr = np.cumsum(rng.exponential(1.0 / lam, jobs))
        pool = np.zeros((max(1, len(laws)), pool_size))
        pidx = np.full(b + 1, pool_size, np.int64)   # every pool starts exhausted
        ist = np.zeros(2, np.int64)
        fst = np.zeros(1)
        acc = np.zeros(6)
        while True:
            k = _batch_kernel(arr, a, b, kind, svc, rowof, pool, pidx, ist, fst, acc, lo, hi)
            if k < 0:
                break
            if kind[k] == 0:
                s = queue.service(k)
                if s.kind == "det":
                    kind[k], svc[k] = 1, float(s.value)
                    continue
                kind[k] = 2
                rowof[k] = len(laws)
                laws[k] = s.law
            if rowof[k] >= pool.shape[0]:
                pool = np.vstack([pool, np.zeros((rowof[k] + 1 - pool.shape[0], pool_size))])
            pool[rowof[k]] = np.asarray(laws[k].sample(rng, pool_size), float)
            pidx[k] = 0
        T = acc[0] / acc[1]
        samples["T"].append(T)
        samples["W"].append(T - acc[2] / acc[1])
        samples["batch_size"].append(acc[4] / acc[3])
        samples["utilisation"].append(acc[5] / (arr[hi - 1] - arr[lo]))
    return SimulationResult.from_replications(samples, jobs, int(warmup * jobs),
                                              "FCFS batches", model=repr(queue))
