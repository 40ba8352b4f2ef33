"""Independent reference values, computed with mpmath at 30 digits from closed forms.

Nothing here imports qtheory: these are the witnesses the toolkit is checked against.
Exp(1) sizes with predictions Y | X=x ~ Exp(mean x) reduce to modified Bessel functions
through  int_0^inf x^(nu-1) exp(-x - y/x) dx = 2 y^(nu/2) K_nu(2 sqrt(y))  (MATH.md §2).
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


# -- Exp(1) sizes, ExpNoise predictions (MATH.md §2) -------------------------------------
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
    """SPRPT by the 1-D reduction of MATH.md §2: P(Y - X > v) = P(Y > v)/e and
    E[(X - Y)^+] = E[X]/e for ExpNoise, so
    E[T] = int f_Y W + (1 - 1/e) int P(Y > z) / (1 - rho'_z) dz + 1/e."""
    lam = mp.mpf(lam)
    wait = _quad(lambda y: f_Y(y) * lam * (second_below(y) + old_above(y))
                 / (2 * (1 - lam * load_below(y)) ** 2))
    res = (1 - 1 / mp.e) * _quad(lambda z: pred_above(z) / (1 - lam * load_below(z)))
    return wait + res + 1 / mp.e


# -- Exp(1) sizes, size-based policies (MATH.md §1) ---------------------------------------
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


# -- one bit, M/M/1 (MATH.md §4, Mitzenmacher 2021) ----------------------------------------
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
    """Trail(c) with Perfect predictions and Exp(1) sizes, straight from MATH.md §6 with
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
def srpt_general(lam, sf, partial, pdf, cuts):
    """SRPT (Schrage-Miller, MATH.md §1) for a law given by its survival function, partial
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
    (trail_perfect, (lam, c)) for lam in (0.5, 0.9, 0.99) for c in (0.25, 0.5, 0.8)]


def table_key(f, args):
    return f"{f.__name__}{tuple(float(a) for a in args)}"


if __name__ == "__main__":  # python -m tests.references: rewrite the table
    values = {table_key(f, a): mp.nstr(f.compute(*a), 30) for f, a in TABULATED}
    TABLE.write_text(json.dumps(values, indent=1) + "\n")
