"""Independent reference values, computed with mpmath at 30 digits from closed forms.

Nothing here imports qtheory: these are the witnesses the toolkit is checked against.
Exp(1) sizes with predictions Y | X=x ~ Exp(mean x) reduce to modified Bessel functions
through  int_0^inf x^(nu-1) exp(-x - y/x) dx = 2 y^(nu/2) K_nu(2 sqrt(y))  (docs/theory/predictions.md).
"""

import functools
import json
from pathlib import Path

import mpmath as mp

mp.mp.dps = 30

#: Values of the slow references (30-digit quadratures of Bessel functions take minutes),
#: written by ``python -m tests.references`` from the functions below; a slow test
#: recomputes every entry and checks the file still matches them.
TABLE = Path(__file__).with_name("reference_values.json")
_TABLE = json.loads(TABLE.read_text()) if TABLE.exists() else {}


def tabulated(fn):
    """Serve ``fn(*args)`` from the reference table when it holds it; ``fn.compute``
    always integrates."""
    @functools.wraps(fn)
    def lookup(*args):
        key = f"{fn.__name__}{tuple(float(a) for a in args)}"
        return mp.mpf(_TABLE[key]) if key in _TABLE else fn(*args)
    lookup.compute = fn
    return lookup


def _K(nu, y):
    return mp.besselk(nu, 2 * mp.sqrt(y))


# -- Exp(1) sizes, ExpNoise predictions (docs/theory/predictions.md) -------------------------------------
def f_Y(y):
    """Density of the prediction: 2 K_0(2 sqrt y)."""
    return 2 * _K(0, y)


def load_below(y):
    """E[X 1{Y <= y}] = 1 - 2 y K_2(2 sqrt y)."""
    return 1 - 2 * y * _K(2, y)


def second_below(y):
    """E[X^2 1{Y <= y}] = 2 - 2 y^(3/2) K_3(2 sqrt y)."""
    return 2 - 2 * y**1.5 * _K(3, y)


def pred_above(v):
    """P(Y > v) = 2 sqrt(v) K_1(2 sqrt v)."""
    return 2 * mp.sqrt(v) * _K(1, v)


def size_at(y):
    """E[X; Y in dy] / dy = int e^{-x} e^{-y/x} dx = 2 sqrt(y) K_1(2 sqrt y)."""
    return 2 * mp.sqrt(y) * _K(1, y)


def old_above(y):
    """E[((X - (Y - y))^+)^2 1{Y > y}] = (1 - 2/e) E[X^2 e^{-y/X}] = (1 - 2/e) 2 y^(3/2) K_3."""
    return (1 - 2 / mp.e) * 2 * y**1.5 * _K(3, y)


def _quad(f):
    return mp.quad(f, [0, mp.mpf("0.01"), 1, 10, mp.inf])


@tabulated
def spjf(lam):
    lam = mp.mpf(lam)
    return 1 + _quad(lambda y: f_Y(y) * lam / (1 - lam * load_below(y)) ** 2)


@tabulated
def pspjf(lam):
    lam = mp.mpf(lam)
    return _quad(lambda y: size_at(y) / (1 - lam * load_below(y))
                 + f_Y(y) * lam * second_below(y) / (2 * (1 - lam * load_below(y)) ** 2))


@tabulated
def sprpt(lam):
    """SPRPT by the 1-D reduction of docs/theory/predictions.md: P(Y - X > v) = P(Y > v)/e and
    E[(X - Y)^+] = E[X]/e for ExpNoise, so
    E[T] = int f_Y W + (1 - 1/e) int P(Y > z) / (1 - rho'_z) dz + 1/e."""
    lam = mp.mpf(lam)
    wait = _quad(lambda y: f_Y(y) * lam * (second_below(y) + old_above(y))
                 / (2 * (1 - lam * load_below(y)) ** 2))
    res = (1 - 1 / mp.e) * _quad(lambda z: pred_above(z) / (1 - lam * load_below(z)))
    return wait + res + 1 / mp.e


# -- Exp(1) sizes, size-based policies (docs/theory/classical.md) ---------------------------------------
def _rho(lam, x):  # lam * int_0^x t e^{-t} dt
    return lam * (1 - mp.exp(-x) * (1 + x))


def _m2(x):  # int_0^x t^2 e^{-t} dt
    return 2 - mp.exp(-x) * (x * x + 2 * x + 2)


@tabulated
def srpt(lam):
    lam = mp.mpf(lam)
    wait = _quad(lambda x: mp.exp(-x) * lam * (_m2(x) + x * x * mp.exp(-x))
                 / (2 * (1 - _rho(lam, x)) ** 2))
    return wait + _quad(lambda t: mp.exp(-t) / (1 - _rho(lam, t)))


@tabulated
def sjf(lam):
    lam = mp.mpf(lam)
    return 1 + _quad(lambda x: mp.exp(-x) * lam / (1 - _rho(lam, x)) ** 2)


@tabulated
def psjf(lam):
    lam = mp.mpf(lam)
    return _quad(lambda x: mp.exp(-x) * (x / (1 - _rho(lam, x))
                                        + lam * _m2(x) / (2 * (1 - _rho(lam, x)) ** 2)))


# -- one bit, M/M/1 (docs/theory/advice.md, Mitzenmacher 2021) ----------------------------------------
def onebit_expnoise(lam, T):
    """(t_np, t_pre) closed forms for Exp(1) sizes and an ExpNoise bit with threshold T."""
    lam, T = mp.mpf(lam), mp.mpf(T)
    s = 2 * mp.sqrt(T)
    PL = s * mp.besselk(1, s)
    rho_s = lam * (1 - 2 * T * mp.besselk(2, s))
    t_np = lam * (1 - lam * (1 - PL)) / ((1 - lam) * (1 - rho_s)) + 1
    t_pre = (1 - lam + lam * PL) / ((1 - lam) * (1 - rho_s))
    return t_np, t_pre


@tabulated
def trail_perfect(lam, c):
    """Trail(c) with Perfect predictions and Exp(1) sizes, straight from docs/theory/predictions.md with
    Y = X = y: a job of size t > y stops being preemptible at age min(t - y, ct), leaving
    y^2 for t <= s = y/(1 - c) and ((1 - c) t)^2 beyond; the residence
    int_0^{cx} da / (1 - rho_{x-a}) averaged over x ~ Exp(1) becomes
    int_0^inf (e^{-u} - e^{-u/(1-c)}) / (1 - rho_u) du."""
    lam, c = mp.mpf(lam), mp.mpf(c)

    def old(y):
        s = y / (1 - c)
        return y * y * (mp.exp(-y) - mp.exp(-s)) + (1 - c) ** 2 * mp.exp(-s) * (s * s + 2 * s + 2)

    wait = _quad(lambda x: mp.exp(-x) * lam * (_m2(x) + old(x)) / (2 * (1 - _rho(lam, x)) ** 2))
    res = _quad(lambda u: (mp.exp(-u) - mp.exp(-u / (1 - c))) / (1 - _rho(lam, u)))
    return wait + res + 1 - c


# -- any law given by mpmath sf and partial moments (heavy tails, rho near 1) -------------------
def _long(T, g):
    """int_T^inf g(x) e^{-x} dx: Exp(1) sizes above the cheap threshold T."""
    T = mp.mpf(T)
    return mp.quad(lambda x: g(x) * mp.exp(-x), [T, T + 1, T + 4, T + 16, T + 64, mp.inf])


@tabulated
def skippredict(lam, T):
    """SkipPredict with external costs (docs/theory/predictions.md): Exp(1) sizes, a perfect cheap bit
    (short iff X < T), ExpNoise expensive predictions. ExpNoise is memoryless, so every
    long-class quantity at a level y is one integral over x > T:
    E[((X - Y + y)^+)^2; L, Y > y] = (1 - 2/e) E[X^2 e^{-y/X}; L], the residence sum
    E[int_0^min(X,Y) da / D(Y - a); L] = (1 - 1/e) int_0^inf P(L, Y > z) / D(z) dz with
    D(z) = 1 - rho_S - lam E[X (1 - e^{-z/X}); L], and E[(X - Y)^+; L] = E[X; L] / e."""
    lam, T = mp.mpf(lam), mp.mpf(T)
    p_s = 1 - mp.exp(-T)
    m1_s = mp.quad(lambda x: x * mp.exp(-x), [0, T])
    m2_s = mp.quad(lambda x: x * x * mp.exp(-x), [0, T])
    rho_s = lam * m1_s
    D = lambda z: 1 - rho_s - lam * _long(T, lambda x: x * (1 - mp.exp(-z / x)))

    def wait(y):
        below = _long(T, lambda x: x * x * (1 - mp.exp(-y / x)))
        above = (1 - 2 / mp.e) * _long(T, lambda x: x * x * mp.exp(-y / x))
        return lam * (m2_s + below + above) / (2 * D(y) ** 2)

    f_y = lambda y: _long(T, lambda x: mp.exp(-y / x) / x)      # density of Y on L
    tail = lambda z: _long(T, lambda x: mp.exp(-z / x))         # P(L, Y > z)
    ys = [0, mp.mpf(1) / 16, mp.mpf(1) / 4, 1, 4, 16, 64, 256, mp.inf]
    short = m1_s + p_s * lam * m2_s / (2 * (1 - rho_s))
    return (short + mp.quad(lambda y: wait(y) * f_y(y), ys)
            + (1 - 1 / mp.e) * mp.quad(lambda z: tail(z) / D(z), ys)
            + _long(T, lambda x: x) / mp.e / (1 - rho_s))


def skippredict_perfect_uniform(lam, lo, hi, T):
    """SkipPredict with external costs, perfect expensive predictions and a perfect cheap
    bit, on Uniform(lo, hi) sizes with lo < T < hi: the short class (X < T) is FCFS at
    top priority, the long one SRPT among itself behind it (docs/theory/predictions.md with Y = X)."""
    lam, lo, hi, T = (mp.mpf(v) for v in (lam, lo, hi, T))
    f = 1 / (hi - lo)
    p_s, m1_s, m2_s = f * (T - lo), f * (T**2 - lo**2) / 2, f * (T**3 - lo**3) / 3
    rho_s = lam * m1_s
    D = lambda z: 1 - rho_s - lam * f * (min(max(z, T), hi) ** 2 - T**2) / 2

    def long(x):   # E[T_L(x)] for a long job of size x
        old = m2_s + f * (x**3 - T**3) / 3 + x * x * f * (hi - x)
        return lam * old / (2 * D(x) ** 2) + mp.quad(lambda z: 1 / D(z), [0, T, x])
    return m1_s + p_s * lam * m2_s / (2 * (1 - rho_s)) + f * mp.quad(long, [T, hi])


@tabulated
def sprpt_uniform_noise(lam):
    """SPRPT on Uniform(0.5, 1.5) sizes with UniformNoise(0.5) predictions,
    Y | X = x ~ U[x/2, 3x/2], from docs/theory/predictions.md by nested quadrature: every inner integral
    over x is cut where the window [x/2, 3x/2] meets y, every outer one at the
    predictions of the support's ends."""
    lam, lo, hi = mp.mpf(lam), mp.mpf("0.5"), mp.mpf("1.5")
    f = 1 / (hi - lo)
    cdf = lambda t, x: min(max((t - x / 2) / x, 0), 1)

    def over_x(g, y):
        return mp.quad(lambda x: f * g(x), sorted({lo, hi, *[p for p in (2 * y / 3, 2 * y)
                                                             if lo < p < hi]}))

    rho = lambda y: lam * over_x(lambda x: x * cdf(y, x), y)

    def old_above(y):   # E[((X - Y + y)^+)^2; Y > y]: (x + y - y')^2 over y' in [l, top]
        def g(x):
            l, top = max(y, x / 2), min(3 * x / 2, x + y)
            return ((x + y - l) ** 3 - (x + y - top) ** 3) / (3 * x) if top > l else 0
        return over_x(g, y)

    def wait(y):
        return lam * (over_x(lambda x: x * x * cdf(y, x), y) + old_above(y)) / (
            2 * (1 - rho(y)) ** 2)

    f_y = lambda y: over_x(lambda x: 1 / x if x / 2 <= y <= 3 * x / 2 else 0, y)
    # residence: int_0^inf [P(Y > z) - P(Y - X >= z)] / (1 - rho'_z) dz
    gap = lambda z: over_x(lambda x: cdf(x + z, x) - cdf(z, x), z)
    ys = [0, mp.mpf(1) / 4, mp.mpf(1) / 2, mp.mpf(3) / 4, 1, mp.mpf(3) / 2, mp.mpf(9) / 4]
    over = over_x(lambda x: x / 8, 1)    # E[(X - Y)^+ | x] = x / 8
    return mp.quad(lambda y: f_y(y) * wait(y), ys) + mp.quad(
        lambda z: gap(z) / (1 - rho(z)), ys) + over


def priority_classes_discrete(values, weights, lam, thresholds, cdf, preemptive):
    """Mean response time of priority classes by predicted size (class k: the
    prediction in [t_{k-1}, t_k)) on a discrete size law, from Cobham's formulas with
    the class moments summed over the atoms; ``cdf(t, x)`` is P(Y <= t | X = x)."""
    xs, ws, lam = [mp.mpf(v) for v in values], [mp.mpf(w) for w in weights], mp.mpf(lam)
    ts = [mp.mpf(0), *[mp.mpf(t) for t in thresholds], mp.inf]
    P, M1, M2 = [], [], []
    for lo, hi in zip(ts[:-1], ts[1:]):
        pk = [(1 if hi == mp.inf else cdf(hi, x)) - cdf(lo, x) for x in xs]
        P.append(sum(w * p for w, p in zip(ws, pk)))
        M1.append(sum(w * p * x for w, p, x in zip(ws, pk, xs)))
        M2.append(sum(w * p * x * x for w, p, x in zip(ws, pk, xs)))
    out = 0
    for k in range(len(P)):
        s0, s1 = lam * sum(M1[:k]), lam * sum(M1[:k + 1])
        if preemptive:   # preemptive resume: only classes 0..k delay class k
            out += M1[k] / (1 - s0) + P[k] * lam * sum(M2[:k + 1]) / (2 * (1 - s0) * (1 - s1))
        else:
            out += M1[k] + P[k] * lam * sum(M2) / (2 * (1 - s0) * (1 - s1))
    return out


def srpt_general(lam, sf, partial, pdf, cuts):
    """SRPT (Schrage-Miller, docs/theory/classical.md) for a law given by its survival function, partial
    moments partial(n, x) = E[X^n 1{X <= x}] and density, integrated over ``cuts``:
    E[T] = int f(x) lam (m2(x) + x^2 F(x)) / (2 (1 - rho_x)^2) dx + int F(t)/(1 - rho_t) dt."""
    lam = mp.mpf(lam)
    rho = lambda x: lam * partial(1, x)
    wait = mp.quad(lambda x: pdf(x) * lam * (partial(2, x) + x * x * sf(x))
                   / (2 * (1 - rho(x)) ** 2), cuts)
    return wait + mp.quad(lambda t: sf(t) / (1 - rho(t)), cuts)


def weibull(k, s):
    """(sf, partial, pdf) of Weibull(shape k, scale s): E[X^n; X <= x] = s^n gamma(1 + n/k, (x/s)^k)."""
    k, s = mp.mpf(k), mp.mpf(s)
    sf = lambda x: mp.exp(-(x / s) ** k)
    partial = lambda n, x: s**n * mp.gammainc(1 + mp.mpf(n) / k, 0, (x / s) ** k)
    pdf = lambda x: k / s * (x / s) ** (k - 1) * mp.exp(-(x / s) ** k)
    return sf, partial, pdf


def bounded_pareto(alpha, lo, hi):
    """(sf, partial, pdf) of the Pareto(alpha) law on [lo, hi], in closed form."""
    a, L, H = mp.mpf(alpha), mp.mpf(lo), mp.mpf(hi)
    c = a * L**a / (1 - (L / H) ** a)
    clip = lambda x: min(max(x, L), H)
    sf = lambda x: 1 - c / a * (L**-a - clip(x) ** -a)
    partial = lambda n, x: (c * mp.log(clip(x) / L) if n == a
                            else c * (clip(x) ** (n - a) - L ** (n - a)) / (n - a))
    pdf = lambda x: c * x ** (-a - 1) if L <= x <= H else mp.mpf(0)
    return sf, partial, pdf


#: The entries of the reference table: (function, arguments).
TABULATED = [(f, (lam,)) for f in (spjf, pspjf, sprpt, srpt, sjf, psjf)
             for lam in (0.5, 0.7, 0.9, 0.99)] + [
    (trail_perfect, (lam, c)) for lam in (0.5, 0.9, 0.99) for c in (0.25, 0.5, 0.8)] + [
    (skippredict, (0.7, 1.0)), (skippredict, (0.9, 0.5)), (sprpt_uniform_noise, (0.9,))]


def table_key(f, args):
    return f"{f.__name__}{tuple(float(a) for a in args)}"


if __name__ == "__main__":  # python -m tests.references: rewrite the table
    values = {table_key(f, a): mp.nstr(f.compute(*a), 30) for f, a in TABULATED}
    TABLE.write_text(json.dumps(values, indent=1) + "\n")
