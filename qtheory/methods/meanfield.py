"""Mean-field (n -> infinity) limits of dispatching to n queues (the supermarket model).

Every value here is the limit as the number of queues n grows with the load per queue
fixed; ``lam`` is the arrival rate PER QUEUE (total rate / n), sizes have the given law.
Finite systems approach it at rate about 1/n (see :mod:`qtheory.queues.dispatch`).

- JSQ(d), exponential sizes (Mitzenmacher 1996, "The Power of Two Choices in Randomized
  Load Balancing", Thm 3.x; Vvedenskaya, Dobrushin, Karpelevich 1996): the fraction of
  queues with at least i jobs is s_i = lam^((d^i - 1)/(d - 1)), so
  E[T] = sum_{i>=1} lam^((d^i - d)/(d - 1)) (mean size 1).
- LL(d), least work left of d, FCFS queues (Hellemans & Van Houdt 2018, "On the
  Power-of-d-choices with Least Loaded Server Selection", arXiv 1802.05420): the
  workload tail F(w) = P(W > w) of a queue solves, by level crossing,
  f(w) = lam * integral_{[0, w]} P(X > w - u) d(1 - F(u)^d), F(0) = rho; integrating
  twice by parts gives the Volterra equation solved here,
  F(w) = rho - lam * integral_0^w P(X > w - u) (1 - F(u)^d) du,
  and E[T] = E[X] + integral_0^inf F(w)^d dw (a job waits for the least work of d).
  Exponential sizes: F' = -F + lam F^d, F(w) = [lam + (lam^(1-d) - lam) e^((d-1)w)]^(-1/(d-1)).
- JSQ(d) with one bit of advice on a two-component exponential mixture (after
  Mitzenmacher 2021, arXiv 2006.15463; the chain is derived here, not copied from the
  paper): queues serve predicted-short jobs first (non-preemptive, or preemptive-resume
  with ``preemptive="resume"``); a queue's state is (short waiting, long waiting, component in
  service); a queue with k jobs receives arrivals at rate lam (S_k^d - S_{k+1}^d) /
  (S_k - S_{k+1}), S_k the fraction of queues with at least k jobs. Its stationary point
  is found by solving for S (the ODE's right-hand side vanishes there; the residual is
  reported), and E[T] = (mean jobs per queue) / lam by Little's law.

Examples
--------
>>> round(jsq_exponential(0.9, 2), 6)     # 1 + 0.9^2 + 0.9^6 + 0.9^14 + ...
2.614057
"""

import math

import numpy as np

from ..core.errors import ConvergenceError, ParameterError


def _check_load(lam, d):
    if not 0 < lam < 1:
        raise ParameterError(f"load per queue = {lam!r} is invalid: the mean field needs "
                             "0 < lambda E[X] / n < 1.")
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
        raise ParameterError(f"d = {d!r} is invalid: the mean field needs a fixed number "
                             "d >= 1 of queues sampled (d=None, all queues, has none).")


def jsq_exponential(lam, d):
    """E[T] of JSQ(d) with Exp(1) sizes and arrival rate ``lam`` per queue, n -> inf:
    sum_{i>=1} lam^((d^i - d)/(d - 1)) (d = 1: 1/(1 - lam), M/M/1)."""
    _check_load(lam, d)
    if d == 1:
        return 1.0 / (1.0 - lam)
    total, i = 0.0, 1
    while True:
        e = (d**i - d) / (d - 1)
        term = lam**e
        total += term
        if term < 1e-18 * total or i > 200:
            return total
        i += 1


def jsq_tails(lam, d, levels=30):
    """s_i = lam^((d^i - 1)/(d - 1)), i = 0..levels - 1: fraction of queues with >= i jobs."""
    i = np.arange(levels)
    if d == 1:
        return lam ** i.astype(float)
    return lam ** ((float(d) ** i - 1) / (d - 1))


def ll_exponential_tail(w, lam, d):
    """F(w) = P(workload > w) under LL(d) with Exp(1) sizes (closed form)."""
    w = np.asarray(w, float)
    if d == 1:
        return lam * np.exp(-(1 - lam) * w)
    return (lam + (lam ** (1 - d) - lam) * np.exp((d - 1) * w)) ** (-1.0 / (d - 1))


def ll_exponential(lam, d):
    """E[T] of LL(d) with Exp(1) sizes: 1 + integral_0^inf F(w)^d dw, F in closed form
    (adaptive quadrature of the closed form; error ~1e-13)."""
    from scipy import integrate
    _check_load(lam, d)
    if d == 1:
        return 1.0 / (1.0 - lam)
    # F^d decays like e^{-d w}: [0, 60] holds all but e^{-60 d}
    v, _ = integrate.quad(lambda w: float(ll_exponential_tail(w, lam, d)) ** d, 0, 60,
                          epsabs=1e-15, epsrel=1e-13, limit=200)
    return 1.0 + v


def _volterra(sf, lam, rho, d, h, N):
    """Trapezoid marching of F(w) = rho - lam int_0^w G(w - u)(1 - F(u)^d) du on w = k h."""
    from numba import njit   # compiled on first use only (import qtheory stays light)
    global _march
    if _march is None:
        _march = njit(cache=True)(_march_py)
    G = np.ascontiguousarray(sf(h * np.arange(N + 1)), dtype=float)
    return _march(G, float(lam), float(rho), int(d), float(h), int(N))


_march = None


def _march_py(G, lam, rho, d, h, N):
    F = np.empty(N + 1)
    F[0] = rho
    g = np.empty(N + 1)          # 1 - F^d
    g[0] = 1.0 - rho**d
    c = lam * h
    for k in range(1, N + 1):
        # known part: 1/2 G(w_k) g_0 + sum_{j=1}^{k-1} G(w_k - w_j) g_j
        s = 0.5 * G[k] * g[0]
        for j in range(1, k):
            s += G[k - j] * g[j]
        A = rho - c * s
        # F = A - (c/2) G(0) (1 - F^d): Newton from the previous value
        f = F[k - 1]
        for _ in range(30):
            r = f - A + 0.5 * c * G[0] * (1.0 - f**d)
            dr = 1.0 - 0.5 * c * G[0] * d * f ** (d - 1)
            step = r / dr
            f -= step
            if abs(step) <= 1e-16 * max(abs(f), 1e-300):
                break
        F[k] = f
        g[k] = 1.0 - f**d
    return F


def ll_general(size, lam, d, points=2048, levels=3):
    """E[T] of LL(d) with sizes from ``size`` (FCFS queues, arrival rate ``lam`` per queue),
    n -> inf, by solving the Volterra equation of Hellemans & Van Houdt on a uniform grid
    (trapezoid rule, ``points`` steps or 64 per mean size, at most 4096, halved
    ``levels - 1`` times, Romberg extrapolation) on [0, W], W the first of 40 E[X] x 2^j
    with W P(X > W) < 1e-13 E[X] (at most 1000 E[X]).

    Returns (value, error): the error is the last Romberg correction plus the mass of
    F^d beyond the grid's end. Measured: Exp(1) sizes, 3e-14 from the closed form;
    heavy tails need long grids and the error grows (lognormal(0, 1) at load 0.9: the
    reported error is about 1e-3 of the value).
    """
    _check_load(lam * size.mean, d)
    rho = lam * size.mean
    m = size.mean
    # grid end: where the size law's tail and the workload's tail are both negligible
    W = 40.0 * m
    sf = size.sf
    while float(sf(W)) * W > 1e-13 * m and W < 1e3 * m:
        W *= 2
    # at least 64 steps per mean size on the coarsest grid, at most 4096 (O(N^2) work)
    points = int(min(max(points, math.ceil(64 * W / m)), 4096))
    rows = []
    for lev in range(levels):
        N = points * 2**lev
        h = W / N
        F = _volterra(sf, lam, rho, d, h, N)
        Fd = F**d
        integral = h * (Fd.sum() - 0.5 * (Fd[0] + Fd[-1]))
        rows.append(integral)
    # Romberg on h^2, h^4 error terms
    R = [rows]
    for j in range(1, levels):
        prev = R[-1]
        R.append([(4**j * prev[i + 1] - prev[i]) / (4**j - 1) for i in range(len(prev) - 1)])
    best = R[-1][0]
    err = abs(best - R[-2][-1]) + float(Fd[-1]) * W
    if not math.isfinite(best):
        raise ConvergenceError("the LL(d) workload equation did not converge; check the load.")
    return m + best, err


# -- JSQ(d) with one bit of advice ---------------------------------------------------------
class _OneBitChain:
    """States of one queue: level k >= 1 holds (a short waiting, k - 1 - a long waiting,
    component c in service), c = 0 (short component) or 1 (long), at index
    1 + 2 (k (k - 1) / 2 + a) + c; index 0 is the idle queue."""

    def __init__(self, K):
        self.K = K
        k = np.repeat(np.arange(1, K + 1), np.arange(1, K + 1))
        a = np.concatenate([np.arange(j) for j in range(1, K + 1)])
        self.level, self.a = np.repeat(k, 2), np.repeat(a, 2)
        self.c = np.tile([0, 1], k.size)
        self.size = 1 + self.level.size

    @staticmethod
    def index(k, a, c):
        return 1 + 2 * (k * (k - 1) // 2 + a) + c


def onebit_jsq(lam, probs, rates, short_given_class, d, max_level=None, tol=1e-12,
               integrate=False, preemptive=False):
    """E[T] of JSQ(d) (on total counts) to queues that serve predicted-short jobs first
    (``preemptive=False``: non-preemptive; ``"resume"``: preemptive-resume), sizes Hyperexponential(probs, rates), bit "short" with probability
    short_given_class[i] for a job of component i; ``lam`` per queue. Mean-field limit.

    Returns (value, residual) where residual is the largest |dx/dt| of the mean-field
    ODE at the point found. ``integrate=True`` integrates the ODE from all queues empty
    (LSODA) until |dx/dt| < 100 tol instead of solving for the stationary point: a check
    that the point solved for is the one the dynamics reach.
    """
    from scipy import optimize, sparse
    from scipy.sparse.linalg import spsolve
    p = np.asarray(probs, float)
    mu = np.asarray(rates, float)
    qs = np.asarray(short_given_class, float)
    rho = lam * float(np.sum(p / mu))
    _check_load(rho, d)
    PS = float(np.sum(p * qs))
    PL = 1.0 - PS
    comp_short = p * qs / PS if PS > 0 else p       # law of the component given the bit
    comp_long = p * (1 - qs) / PL if PL > 0 else p

    def build(K):
        ch = _OneBitChain(K)
        ix = _OneBitChain.index
        i = np.arange(1, ch.size)
        k, a, c = ch.level, ch.a, ch.c
        # arrivals (rates set per level later): (from, to, probability, level)
        up = k < K
        arr = [np.array([[0, ix(1, 0, cc), p[cc], 0] for cc in (0, 1)], float)]
        for pr, da in ((PS, 1), (PL, 0)):
            arr.append(np.column_stack([i[up], ix(k[up] + 1, a[up] + da, c[up]),
                                        np.full(up.sum(), pr), k[up]]))
        arr = np.vstack(arr)
        # completions at rate mu_c: the next job is short if one waits, else long
        rows, cols, vals = [i[k == 1]], [np.zeros((k == 1).sum(), int)], [mu[c[k == 1]]]
        for cc in (0, 1):
            s_ = (k > 1) & (a > 0)
            rows.append(i[s_]), cols.append(ix(k[s_] - 1, a[s_] - 1, cc))
            vals.append(mu[c[s_]] * comp_short[cc])
            l_ = (k > 1) & (a == 0)
            rows.append(i[l_]), cols.append(ix(k[l_] - 1, 0, cc))
            vals.append(mu[c[l_]] * comp_long[cc])
        levels = np.concatenate([[0], ch.level])
        return ch, tuple(np.concatenate(z) for z in (rows, cols, vals)), arr, levels

    def build_resume(K):
        """Preemptive-resume priority: state (a shorts, b longs, component of the short in
        service, head long job: fresh (2) or started with component 0 / 1); a started
        long job keeps its component when a short preempts it (memoryless)."""
        states = [(0, 0, -1, -1)]
        for a in range(K + 1):
            for b in range(K + 1 - a):
                if a + b == 0:
                    continue
                for cs in ((0, 1) if a > 0 else (-1,)):
                    heads = (-1,) if b == 0 else (0, 1) if a == 0 else (0, 1, 2)
                    for h in heads:
                        states.append((a, b, cs, h))
        index = {st: j for j, st in enumerate(states)}
        rows, cols, vals, arr = [], [], [], []

        def move(j, to, rate):
            rows.append(j), cols.append(index[to]), vals.append(rate)
        for j, (a, b, cs, h) in enumerate(states):
            lev = a + b
            if lev < K:       # arrivals: (from, to, probability, level)
                for cc in (0, 1):     # a short arrival: its component if it starts now
                    if a == 0:
                        arr.append((j, index[(1, b, cc, h)], PS * comp_short[cc], lev))
                if a > 0:
                    arr.append((j, index[(a + 1, b, cs, h)], PS, lev))
                if a == 0 and b == 0:
                    for cc in (0, 1):
                        arr.append((j, index[(0, 1, -1, cc)], PL * comp_long[cc], lev))
                else:
                    arr.append((j, index[(a, b + 1, cs, h if b > 0 else 2)], PL, lev))
            if a > 0:         # the short in service completes at rate mu_cs
                r = mu[cs]
                if a > 1:
                    for cc in (0, 1):
                        move(j, (a - 1, b, cc, h), r * comp_short[cc])
                elif b == 0:
                    move(j, (0, 0, -1, -1), r)
                elif h == 2:  # the head long job starts: its component is drawn
                    for cc in (0, 1):
                        move(j, (0, b, -1, cc), r * comp_long[cc])
                else:
                    move(j, (0, b, -1, h), r)
            elif b > 0:       # the long in service (component h) completes
                r = mu[h]
                if b == 1:
                    move(j, (0, 0, -1, -1), r)
                else:
                    for cc in (0, 1):
                        move(j, (0, b - 1, -1, cc), r * comp_long[cc])
        levels = np.array([a + b for a, b, _, _ in states])
        ch = type("Chain", (), {"K": K, "size": len(states)})()
        return (ch, (np.array(rows), np.array(cols), np.array(vals, float)),
                np.array(arr, float), levels)

    if preemptive == "resume":
        build = build_resume   # noqa: F811  (the same solver on the other chain)
    elif preemptive is not False:
        raise ParameterError(f"preemptive = {preemptive!r}: the one-bit mean field serves "
                             "False (non-preemptive) or 'resume' (preemptive-resume).")

    def generator(S, model):
        ch, (r, c, v), arr, levels = model
        K = ch.K
        Sx = np.concatenate([[1.0], S, [0.0]])         # S_0 .. S_{K+1}
        num = Sx[:-1] ** d - Sx[1:] ** d
        den = Sx[:-1] - Sx[1:]
        with np.errstate(invalid="ignore", divide="ignore"):
            alpha = lam * np.where(den > 1e-300, num / np.where(den > 0, den, 1.0),
                                   d * Sx[:-1] ** (d - 1))
        alpha = alpha[:K + 1]
        ar = arr[:, 3].astype(int)
        R = np.concatenate([r, arr[:, 0].astype(int)])
        C = np.concatenate([c, arr[:, 1].astype(int)])
        V = np.concatenate([v, arr[:, 2] * alpha[ar]])
        Q = sparse.coo_matrix((V, (R, C)), shape=(ch.size, ch.size)).tocsr()
        return Q - sparse.diags(np.asarray(Q.sum(axis=1)).ravel())

    def stationary(S, model):
        ch, levels = model[0], model[3]
        Q = generator(S, model)
        A = sparse.vstack([sparse.csr_matrix(np.ones((1, ch.size))), Q.T.tocsr()[1:]])
        rhs = np.zeros(ch.size)
        rhs[0] = 1.0
        pi = spsolve(A.tocsc(), rhs)
        return pi, Q, levels

    def tails(pi, levels, K):
        mass = np.bincount(levels, weights=pi, minlength=K + 1)
        return np.cumsum(mass[::-1])[::-1][1:]          # S_1 .. S_K

    if integrate:
        # the ODE dx/dt = x Q(S(x)) from all queues empty, to its fixed point
        from scipy.integrate import solve_ivp
        K = max_level or 60
        model = build(K)
        levels = model[3]

        def rhs(t, x):
            return generator(tails(x, levels, K), model).T @ x
        x0 = np.zeros(model[0].size)
        x0[0] = 1.0
        horizon = 50.0 / (1.0 - rho) * float(np.sum(p / mu))
        for _ in range(20):
            sol = solve_ivp(rhs, (0.0, horizon), x0, method="LSODA", rtol=1e-11, atol=1e-14)
            x0 = sol.y[:, -1]
            residual = float(np.max(np.abs(rhs(0.0, x0))))
            if residual < tol * 100:
                break
        S = tails(x0, levels, K)
        return float(S.sum() / lam), residual
    K = max_level or 20
    while True:
        model = build(K)
        S0 = rho ** np.arange(1.0, K + 1) if d == 1 else rho ** (2.0 ** np.arange(1, K + 1) - 1)
        if d == 1:      # linear: one solve
            pi, Q, levels = stationary(S0, model)
            S = tails(pi, levels, K)
        else:
            sol = optimize.root(lambda s: tails(*stationary(s, model)[::2], K) - s, S0,
                                method="hybr", tol=1e-14)
            S = sol.x
            pi, Q, levels = stationary(S, model)
        if S[-1] < 1e-15 or max_level:
            break
        if K >= 400:
            raise ConvergenceError(f"the one-bit mean field needs more than {K} jobs per queue "
                                   "to hold its mass: the load is too close to 1.")
        K = int(K * 1.6)
    residual = float(np.max(np.abs(Q.T @ pi)))
    S = tails(pi, levels, K)
    if residual > 1e-9 or not np.all(np.isfinite(S)):
        raise ConvergenceError(f"the one-bit mean-field fixed point was not found (residual "
                               f"{residual:.2g}).")
    return float(S.sum() / lam), residual
