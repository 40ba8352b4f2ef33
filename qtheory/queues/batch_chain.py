"""The exact stationary law of :class:`~qtheory.queues.batch.BatchQueue` by its embedded
chain (``method="chain"``, docs/theory/batch.md): the number X left waiting at batch
departures, X' = (X − b)⁺ + A_{K(X)}, truncated to 0..N with the mass beyond N lumped
into N; N grows until the mass above 0.9 N is below ``tail``. E[T] follows by level
crossing and PASTA, and again by the area under N(t) per cycle (a second route whose
difference enters the error)."""

import math

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import splu

from ..core.errors import ConvergenceError

#: Stop growing the truncated chain once the mass in its top 10% is below this.
TAIL_MASS = 1e-12


def departure_chain(queue, N):
    """Stationary law of the departure chain truncated to 0..N (mass ≥ N lumped)."""
    b = queue.max_batch
    x = np.arange(N + 1)
    K = queue.batch_size(x)
    base = np.maximum(x - b, 0) if b != math.inf else np.zeros_like(x)
    pmfs = queue.arrival_pmfs(np.unique(K))
    rows, cols, vals = [], [], []
    for xi in range(N + 1):
        lo, p = pmfs[int(K[xi])]
        c = base[xi] + lo + np.arange(p.size)
        if c[-1] > N:   # lump the mass beyond N into state N
            cut = np.searchsorted(c, N)
            p = np.concatenate([p[:cut], [p[cut:].sum()]])
            c = c[:cut + 1]
            c[-1] = N
        rows.append(np.full(c.size, xi))
        cols.append(c)
        vals.append(p)
    r, c, v = (np.concatenate(z) for z in (rows, cols, vals))
    m = _mode_guess(queue, N)
    # π (P - I) = 0  <=>  (P^T - I) π^T = 0; the equation of state m is replaced by π_m = 1
    keep = c != m
    d = np.arange(N + 1)
    rr = np.concatenate([c[keep], d[d != m], [m]])
    cc = np.concatenate([r[keep], d[d != m], [m]])
    vv = np.concatenate([v[keep], -np.ones(N), [1.0]])
    A = sparse.csc_matrix((vv, (rr, cc)), shape=(N + 1, N + 1))
    rhs = np.zeros(N + 1)
    rhs[m] = 1.0
    pi = splu(A.tocsc()).solve(rhs)
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()

def _mode_guess(queue, N):
    """A state of non-negligible probability: the fixed point of the mean drift."""
    lam, b, x = float(queue.arrival_rate), queue.max_batch, 0.0
    for _ in range(60):
        k = int(queue.batch_size(int(round(x))))
        x = max(x - b, 0.0) + lam * queue.service(k).mean
    return int(min(N, round(x)))

def stationary(queue, tail=TAIL_MASS, max_states=2_000_000):
    """π, the law of the number waiting right after a batch departure, on 0..N.

    Examples
    --------
    >>> from qtheory.queues.batch import BatchQueue
    >>> pi = stationary(BatchQueue(0.5, 1.0, max_batch=1))   # M/D/1
    >>> float(round(pi[0], 12))   # P(empty after a departure) = 1 - rho
    0.5
    """
    queue.check_stable()
    b = queue.finite_cap
    lam = float(queue.arrival_rate)
    top = b if b is not None else queue.min_batch
    mean_top = lam * queue.service(top).mean
    N = int(max(64, 2 * mean_top + 3 * top + 10 * math.sqrt(mean_top + 1) + 40))
    while True:
        pi = departure_chain(queue, N)
        if pi[int(0.9 * N):].sum() < tail:
            return pi
        if N > max_states:
            raise ConvergenceError("the truncated departure chain (tail mass)",
                                   float(pi[int(0.9 * N):].sum()), tail)
        N = int(N * 1.6)

def chain_summary(queue):
    pi = stationary(queue)
    lam = float(queue.arrival_rate)
    x = np.arange(pi.size)
    K = queue.batch_size(x)
    ks = np.unique(K)
    ES = dict((int(k), queue.service(k).mean) for k in ks)
    ES2 = dict((int(k), queue.service(k).m2) for k in ks)
    es = np.array([ES[int(k)] for k in K])
    es2 = np.array([ES2[int(k)] for k in K])
    b = queue.max_batch
    over = np.maximum(x - b, 0) if b != math.inf else np.zeros_like(x)
    EK = float(pi @ K)
    num = float(pi @ (K * (over + lam * es + (K - 1) / 2.0)))
    T = num / (lam * EK)
    # second, independent route: area under N(t) per cycle / jobs per cycle
    a = queue.min_batch
    idle_area = np.where(x < a, (a * (a - 1) - x * (x - 1)) / 2.0 / lam, 0.0)
    area = idle_area + np.maximum(x, a) * es + lam * es2 / 2.0
    T_area = float(pi @ area) / EK
    tail_mass = float(pi[int(0.9 * pi.size):].sum())
    err = abs(T - T_area) + tail_mass * (pi.size + lam * es.max()) / lam + 1e-14 * T
    return dict(T=T, error=err, EK=EK, ES_job=float(pi @ (K * es)) / EK,
                         busy=lam * float(pi @ es) / EK, states=pi.size,
                         T_area=T_area)
