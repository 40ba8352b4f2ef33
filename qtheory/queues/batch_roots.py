"""The roots of z^b = Ã_b(z) inside the unit disk and the boundary probabilities of the
batch queue's generating function (``BatchQueue(...).mean_response_time(method="roots")``,
docs/theory/batch.md): double-precision seeds, Newton polishing in mpmath, and the
Vandermonde-like linear system solved exactly in binary fixed point."""


import numpy as np
from scipy import special

from ..core.errors import ConvergenceError, PolicyError
from ..laws.sizes import (
    Empirical,
    Erlang,
    Exponential,
    Hyperexponential,
)


def newton_root(seed, b, lam, svc, mp, dps):
    """Polish a double-precision root of z^b = Ã_b(z) to ``dps`` digits by Newton's
    method, doubling the working precision as the digits double."""
    f_tr = mp_transform(svc, mp)
    z, prec = mp.mpc(seed), 30
    while True:
        with mp.workdps(prec + 10):
            for _ in range(60):
                A, dA = f_tr(lam * (1 - z))
                zb1 = power(z, b - 1)
                f = zb1 * z - A
                df = b * zb1 - lam * dA   # d/dz E[e^{-λ(1-z)S}] = λ E[S e^{-λ(1-z)S}]
                step = f / df
                z -= step
                if abs(step) < mp.mpf(10) ** -prec:
                    break
            else:
                raise ConvergenceError("Newton's method for a root of z^b = A_b(z)",
                                       float(abs(f)), 0.0)
        if prec >= dps:
            return z
        prec = min(2 * prec, dps)


def power(z, n):
    """z**n by repeated squaring, rounded at each step (mpmath's own z**n for complex z
    is exact, hence slow at high n)."""
    out = 1
    while n:
        if n & 1:
            out = z * out
        n >>= 1
        if n:
            z = z * z
    return out


def fixed_point_roots(b, lam, svc, iters=3000):
    """Double-precision seeds for the roots of z^b = Ã_b(z) in the unit disk: iterate
    z <- ω_k exp(log Ã_b(z) / b) for the b-th roots of unity ω_k, k = 1..b-1, with a branch
    of log Ã_b that is analytic in the disk for the supported laws."""
    w = np.exp(2j * np.pi * np.arange(1, b) / b)
    law = svc.law

    def log_a(z):
        s = lam * (1 - z)
        if isinstance(law, Erlang):
            return law.k * np.log(law.rate / (law.rate + s))
        if isinstance(law, Empirical):
            v0 = law.values.min()
            return -s * v0 + np.log((law.weights * np.exp(-s[:, None] * (law.values - v0)))
                                    .sum(-1))
        return np.log(svc.lst(s))

    c = lam * svc.mean / b
    z = w * np.exp(c * (w - 1)) * 0.5
    for _ in range(iters):
        z_new = w * np.exp(log_a(z) / b)
        if np.max(np.abs(z_new - z)) < 1e-14:
            return z_new
        z = z_new
    return z


class Transforms:
    """s -> {k: E[exp(-s S_k)]} in mpmath for many batch sizes k at once.

    Deterministic (and empirical) batch times need exp(-s v) for every value v; sorted,
    exp(-s v) = exp(-s v') exp(-s (v - v')) with v' the previous value, and the few
    distinct gaps (one for S_k = α k + τ0, up to float rounding) are exponentiated once
    per s. The b products cost b rounding errors: ~b 10^-dps, far below what we keep."""

    def __init__(self, svcs, mp):
        self.mp = mp
        self.other = {}
        values = set()
        self.atoms = {}
        for k, svc in svcs.items():
            if svc.kind == "det" or isinstance(svc.law, Empirical):
                vals, wts = (([svc.value], [1.0]) if svc.kind == "det"
                             else (svc.law.values.tolist(), svc.law.weights.tolist()))
                self.atoms[k] = [(mp.mpf(float(v)), mp.mpf(float(w))) for v, w in zip(vals, wts)]
                values.update(v for v, _ in self.atoms[k])
            else:
                self.other[k] = mp_transform(svc, mp)
        self.values = sorted(values)
        self.gaps = [v - u for u, v in zip(self.values[:-1], self.values[1:])]

    def __call__(self, s):
        mp = self.mp
        out = {k: tr(s)[0] for k, tr in self.other.items()}
        if self.values:
            e = mp.exp(-s * self.values[0])
            ex = {self.values[0]: e}
            gap_exp = {}
            for v, g in zip(self.values[1:], self.gaps):
                if g not in gap_exp:
                    gap_exp[g] = mp.exp(-s * g)
                e *= gap_exp[g]
                ex[v] = e
            for k, atoms in self.atoms.items():
                out[k] = (ex[atoms[0][0]] if len(atoms) == 1
                          else mp.fsum(w * ex[v] for v, w in atoms))
        return out


def fixed_point_solve(rows, rhs, bits):
    """Solve a dense real system by Gaussian elimination with partial pivoting in binary
    fixed point: every number is the integer round(x 2^bits).

    The entries are O(1) and the ill-conditioning shows as cancellation to tiny Schur
    complements, whose absolute error is 2^-bits in floating and in fixed point alike; so
    fixed point loses nothing, and Python integers run it ~20x faster than mpmath."""
    n = len(rows)
    M = [[to_fixed(v, bits) for v in r] + [to_fixed(v, bits)] for r, v in zip(rows, rhs)]
    for i in range(n):
        p = max(range(i, n), key=lambda j: abs(M[j][i]))
        M[i], M[p] = M[p], M[i]
        piv = M[i]
        if piv[i] == 0:
            raise ConvergenceError("the boundary system of the PGF roots (singular at "
                                   "this precision)", 0.0, 0.0)
        tail = piv[i + 1:]
        for j in range(i + 1, n):
            Mj = M[j]
            if Mj[i]:
                f = (Mj[i] << bits) // piv[i]
                M[j] = Mj[:i + 1] + [u - ((f * v) >> bits) for u, v in zip(Mj[i + 1:], tail)]
    out = [0] * n
    for i in range(n - 1, -1, -1):
        s = M[i][n] - (sum(M[i][j] * out[j] for j in range(i + 1, n)) >> bits)
        out[i] = (s << bits) // M[i][i]
    return out


def to_fixed(x, bits):
    """round(x 2^bits) for an mpmath real (exact shift of its mantissa)."""
    man, exp = x._mpf_[1], x._mpf_[2]
    v = man << (exp + bits) if exp + bits >= 0 else man >> -(exp + bits)
    return -v if x._mpf_[0] else v


#: Digits the boundary system loses per unit of b: it is Vandermonde-like in roots of
#: modulus down to ~0.3 (measured: 0.52 b for S_k = 0.1438 k + 1.8874 at load 0.95, b ≤ 128).
LOST_DIGITS = 0.6


def roots_dps(b):
    return int(30 + LOST_DIGITS * b)      # 30 digits to spare


def mp_transform(svc, mp):
    """s -> (E[e^{-sS}], E[S e^{-sS}]) in mpmath."""
    if svc.kind == "det" or isinstance(svc.law, Empirical):
        vals, wts = (([svc.value], [1.0]) if svc.kind == "det"
                     else (svc.law.values.tolist(), svc.law.weights.tolist()))
        vals = [mp.mpf(float(v)) for v in vals]
        wts = [mp.mpf(float(w)) for w in wts]

        def tr(s):
            es = [mp.exp(-s * v) for v in vals]
            return mp.fsum(w * e for w, e in zip(wts, es)), mp.fsum(w * v * e for w, v, e in
                                                                     zip(wts, vals, es))
        return tr
    law = svc.law
    if isinstance(law, (Exponential, Erlang, Hyperexponential)):
        if isinstance(law, Hyperexponential):
            parts = [(mp.mpf(float(p)), mp.mpf(float(r)), 1) for p, r in zip(law.probs, law.rates)]
        else:
            parts = [(mp.mpf(1), mp.mpf(float(law.rate)), int(getattr(law, "k", 1)))]

        def tr(s):
            v = mp.fsum(p * (r / (r + s)) ** n for p, r, n in parts)
            d = mp.fsum(p * n / (r + s) * (r / (r + s)) ** n for p, r, n in parts)
            return v, d
        return tr
    svc.lst(0.0)   # raises the informative PolicyError
    raise AssertionError  # pragma: no cover


def pgf_roots(queue, dps=None):
    """The b − 1 zeros of z^b − Ã_b(z) in the unit disk other than z = 1, as mpmath
    complex numbers (Ã_b(z) = E[z^{A_b}] = E[exp(-λ(1 − z) S_b)])."""
    import mpmath as mp
    b = queue.finite_cap
    if b is None:
        raise PolicyError("method='roots' needs a finite max_batch: with b = inf the "
                          "generating function has infinitely many unknowns; use "
                          "method='chain'.")
    lam = float(queue.arrival_rate)
    svc = queue.service(b)
    dps = dps or roots_dps(b)
    if svc.kind == "det":   # z^b = e^{λ s (z-1)}: z = -W0(-c ω e^{-c}) / c, c = λ s / b
        c = lam * svc.mean / b
        w = np.exp(2j * np.pi * np.arange(1, b) / b)
        seeds = -special.lambertw(-c * w * np.exp(-c)) / c
    else:
        seeds = fixed_point_roots(b, lam, svc)
    zs = [newton_root(complex(z), b, lam, svc, mp, dps) for z in seeds]
    with mp.workdps(dps):
        # sanity: distinct and inside the unit disk
        for i, z in enumerate(zs):
            if not abs(z) < 1:
                raise ConvergenceError("a root of z^b = A_b(z) inside the unit disk",
                                       float(abs(z)), float(abs(z) - 1))
        seen = sorted(zs, key=lambda z: (float(mp.re(z)), float(mp.im(z))))
        for u, v in zip(seen[:-1], seen[1:]):
            if abs(u - v) < mp.mpf(10) ** (-dps // 3):
                raise ConvergenceError("distinct roots of z^b = A_b(z)", float(abs(u - v)),
                                       0.0)
    return zs

def roots_summary(queue, dps=None):
    import mpmath as mp
    b = queue.finite_cap
    zs = pgf_roots(queue, dps)
    lam = float(queue.arrival_rate)
    a = queue.min_batch
    dps = dps or roots_dps(b)
    with mp.workdps(dps):
        L = mp.mpf(lam)
        x = list(range(b))
        K = [min(max(xi, a), b) for xi in x]
        svcs = {k: queue.service(k) for k in set(K) | {b}}
        ES = {k: mp.mpf(s.mean) for k, s in svcs.items()}
        ES2 = {k: mp.mpf(s.m2) for k, s in svcs.items()}
        transforms = Transforms(svcs, mp)
        rows = []
        for r, z in enumerate(zs[:b // 2]):   # zs[k-1] pairs with its conjugate zs[b-k-1]
            cache = transforms(L * (1 - z))
            zx, eq = mp.mpf(1), []
            for xi in x:   # Σ_{x<b} π_x [Ã_{K(x)}(z_r) − z_r^x] = 0
                eq.append(cache[K[xi]] - zx)
                zx *= z
            rows.append([mp.re(e) for e in eq])
            if 2 * (r + 1) != b:           # a non-real root: its imaginary part too
                rows.append([mp.im(e) for e in eq])
        # normalisation P(1) = 1 via l'Hôpital: N'(1) = D'(1)
        rows.append([b - xi + L * ES[K[xi]] - L * ES[b] for xi in x])
        rhs = [mp.mpf(0)] * (b - 1) + [b - L * ES[b]]
        bits = int(dps * 3.33)
        pi = [mp.ldexp(v, -bits) for v in fixed_point_solve(rows, rhs, bits)]
        D1 = b - L * ES[b]
        D2 = b * (b - 1) - L**2 * ES2[b]
        N2 = mp.fsum(pi[xi] * (b * (b - 1) + 2 * b * L * ES[K[xi]] + L**2 * ES2[K[xi]]
                               - xi * (xi - 1) - 2 * xi * L * ES[b] - L**2 * ES2[b])
                     for xi in x)
        EX = (N2 - D2) / (2 * D1)       # P'(1) from P(z) D(z) = N(z) at second order
        low = mp.fsum(pi)
        high = 1 - low                  # P(X >= b)
        over = EX - mp.fsum(pi[xi] * xi for xi in x) - b * high   # E[(X - b)^+]
        num = (mp.fsum(pi[xi] * K[xi] * (L * ES[K[xi]] + (K[xi] - 1) / mp.mpf(2))
                       for xi in x)
               + b * (over + high * (L * ES[b] + (b - 1) / mp.mpf(2))))
        EK = mp.fsum(pi[xi] * K[xi] for xi in x) + b * high
        T = num / (L * EK)
        ESjob = (mp.fsum(pi[xi] * K[xi] * ES[K[xi]] for xi in x) + high * b * ES[b]) / EK
        busy = L * (mp.fsum(pi[xi] * ES[K[xi]] for xi in x) + high * ES[b]) / EK
        neg = -min(0, float(min(pi)))
    return dict(T=float(T), EK=float(EK), ES_job=float(ESjob), busy=float(busy),
                error=float(abs(T)) * (1e-15 + 10.0 ** (LOST_DIGITS * b - dps)) + neg,
                roots=len(zs), dps=dps)
