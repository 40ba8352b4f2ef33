"""Partial Laplace transforms of size laws: E[X^k e^{-zX}; X ≤ u] for complex z.

The response-time transforms of docs/theory/distributions.md are built from these:
the transform of a job's work below a threshold (new work), of work capped at a level
(FB), of the whole law (FCFS). Laws with elementary transforms (exponential, Erlang,
hyperexponential, uniform, discrete) have them in closed form; any other law is
integrated with Gauss–Legendre rules on its quantile pieces, each piece cut finer where
e^{-zx} oscillates (|Im z| x) and dropped where it has decayed below 1e-17.

Examples
--------
>>> import numpy as np
>>> from qtheory.laws.sizes import Exponential, Weibull
>>> z = np.array([0.5 + 2j])
>>> complex(partial_lst(Exponential(1.0), z, np.inf)[0])          # 1 / (1 + z)
(0.24-0.32j)
>>> bool(abs(partial_lst(Weibull(1.0, 1.0), z, 2.0)[0]
...          - partial_lst(Exponential(1.0), z, 2.0)[0]) < 1e-13)   # Weibull(1) = Exp(1)
True
"""

import math

import numpy as np

from ..core.budget import tick
from ..core.numerics import legendre_rule, piece_nodes, split_pieces
from .grid import size_cuts
from .sizes import Empirical, Erlang, Exponential, Hyperexponential, Uniform

_S, _W, _ = legendre_rule(32)
#: e^{-Re(z) x} below this is dropped.
_NEGLIGIBLE = 40.0


def partial_lst(law, z, upper=math.inf, k=0, strict=False):
    """E[X^k e^{-zX} 1{X ≤ upper}] (``1{X < upper}`` with ``strict``) for a size law.

    Parameters
    ----------
    law : SizeLaw
    z : array_like of complex
        Transform arguments, Re z ≥ 0.
    upper : float or array_like
        Thresholds, broadcast against ``z``.
    k : {0, 1, 2}
        Power of X in the integrand (k = 1 is minus the z-derivative).
    strict : bool
        Exclude an atom at ``upper`` (matters for discrete laws only).
    """
    z, upper = np.broadcast_arrays(np.asarray(z, complex), np.asarray(upper, float))
    rule = _CLOSED.get(type(law))
    if isinstance(law, Empirical):
        return _discrete(law, z, upper, k, strict)
    if rule is not None:
        return rule(law, z, upper, k)
    return _quadrature(law, z, upper, k)


def partial_lst_pair(law, z, upper=math.inf, strict=False):
    """(E[e^{-zX}; X ≤ u], E[X e^{-zX}; X ≤ u]) in one pass: what Newton's method on a
    busy-period equation asks for at every step (one exponential per argument for the
    exponential family)."""
    z, upper = np.broadcast_arrays(np.asarray(z, complex), np.asarray(upper, float))
    if type(law) is Exponential:
        mu = float(law.rate)
        w = mu + z
        if np.all(np.isinf(upper)):
            return mu / w, mu / w**2
        wu = w * np.where(np.isinf(upper), 0.0, np.maximum(upper, 0.0))
        p1 = -np.expm1(-wu)                                      # P(1, wu)
        p2 = 1 - np.exp(-wu) * (1 + wu)                          # P(2, wu)
        small = np.abs(wu) < 0.5   # there P(2, v) = Σ_{j≥2} (j − 1)(−v)^j / j! (no cancelling)
        if np.any(small):
            v = wu[small]
            term = v * v / 2
            acc = term.copy()
            for j in range(3, 22):
                term = term * (-v) / j
                acc += (j - 1) * term
            p2[small] = acc
        inf = np.isinf(upper)
        if np.any(inf):
            p1, p2 = np.where(inf, 1.0, p1), np.where(inf, 1.0, p2)
        return mu / w * p1, mu / w**2 * p2
    return (partial_lst(law, z, upper, 0, strict), partial_lst(law, z, upper, 1, strict))


def _lower_gamma_ratio(n, w):
    """P(n, w) = 1 − e^{-w} Σ_{j<n} w^j / j! (regularised lower incomplete gamma, integer
    n, complex w with Re w > 0), by its series e^{-w} Σ_{j≥n} w^j / j! where the
    difference would cancel (|w| < n + 1)."""
    w = np.asarray(w, complex)
    if n == 1:
        return -np.expm1(-w)
    out = np.empty_like(w)
    small = np.abs(w) < n + 1
    ws = w[small]
    term = np.exp(-ws) * ws**n / math.factorial(n)
    acc = term.copy()
    for j in range(n + 1, n + 400):
        term = term * ws / j
        acc += term
        if not np.any(np.abs(term) > 1e-17 * np.abs(acc)):
            break
    out[small] = acc
    wl = w[~small]
    head = np.zeros_like(wl)
    term = np.ones_like(wl)
    for j in range(n):
        head += term
        term = term * wl / (j + 1)
    with np.errstate(over="ignore", invalid="ignore"):
        out[~small] = 1.0 - np.exp(-wl) * head
    return out


def _gamma_partial(shape, rate, z, upper, k):
    """∫_0^u x^k rate^n x^{n−1} e^{−(rate+z)x}/(n−1)! dx for the Erlang(n, rate) density."""
    n = shape + k
    w = rate + z
    coef = rate**shape * math.factorial(n - 1) / math.factorial(shape - 1) / w**n
    inf = np.isinf(upper)
    u = np.where(inf, 0.0, upper)
    return coef * np.where(inf, 1.0, _lower_gamma_ratio(n, w * u))


def _exponential(law, z, upper, k):
    return _gamma_partial(1, float(law.rate), z, np.maximum(upper, 0.0), k)


def _erlang(law, z, upper, k):
    return _gamma_partial(int(law.k), float(law.rate), z, np.maximum(upper, 0.0), k)


def _hyper(law, z, upper, k):
    u = np.maximum(upper, 0.0)
    return sum(p * _gamma_partial(1, float(r), z, u, k) for p, r in zip(law.probs, law.rates))


def _uniform(law, z, upper, k):
    lo, hi = float(law.low), float(law.high)
    u = np.clip(upper, lo, hi)

    def prim(x):   # ∫ x^k e^{-zx} dx, antiderivative at x (z ≠ 0)
        e = np.exp(-z * x)
        if k == 0:
            return -e / z
        if k == 1:
            return -e * (x / z + 1 / z**2)
        return -e * (x**2 / z + 2 * x / z**2 + 2 / z**3)

    with np.errstate(all="ignore"):
        v = (prim(u) - prim(lo)) / (hi - lo)
    zero = np.abs(z) < 1e-8   # the closed form cancels: integrate the Taylor series
    if np.any(zero):
        zz, uu = z[zero], u[zero]
        m = [(uu**(k + j + 1) - lo**(k + j + 1)) / (k + j + 1) for j in range(4)]
        v[zero] = (m[0] - zz * m[1] + zz**2 * m[2] / 2 - zz**3 * m[3] / 6) / (hi - lo)
    return v


def _discrete(law, z, upper, k, strict):
    x, w = law.values, law.weights
    out = np.zeros(z.shape, complex)
    for xi, wi in zip(x, w):
        keep = (xi < upper) if strict else (xi <= upper)
        out += np.where(keep, wi * xi**k * np.exp(-z * xi), 0.0)
    return out


_CLOSED = {Exponential: _exponential, Erlang: _erlang, Hyperexponential: _hyper,
           Uniform: _uniform}


def has_closed_transform(law):
    """True when :func:`partial_lst` has a closed form for this law (no quadrature)."""
    return isinstance(law, Empirical) or type(law) in _CLOSED


def _quadrature(law, z, upper, k):
    """Gauss–Legendre on the law's pieces below each threshold, each piece split so that
    it holds at most two oscillations of e^{-i Im(z) x} (:func:`split_pieces`)."""
    cuts = law.__dict__.get("_transform_cuts")
    if cuts is None:
        cuts = law.__dict__["_transform_cuts"] = np.array(size_cuts(law), float)
    out = np.zeros(z.shape, complex)
    flat_z, flat_u, flat_o = z.ravel(), upper.ravel(), out.ravel()
    for u in np.unique(flat_u):
        tick(stage=f"the transform of {law!r} by quadrature")
        sel = flat_u == u
        zs = flat_z[sel]
        c = cuts[cuts < u]
        if c.size == 0:
            continue
        c = np.unique(np.append(c, min(u, cuts[-1])))
        a, b = c[:-1], c[1:]
        # keep pieces where e^{-Re z x} has not decayed; split for oscillation
        re_min, im_max = max(float(zs.real.min()), 0.0), float(np.abs(zs.imag).max())
        live = (re_min * a < _NEGLIGIBLE)
        a, b = a[live], b[live]
        if a.size == 0:     # everything below u has decayed: the integral is 0
            continue
        aa, bb = split_pieces(a, b, im_max, cap=4096)
        x, jac = piece_nodes(aa, bb, _S)
        x, wts = x.ravel(), (jac * _W).ravel() * np.asarray(law.pdf(x.ravel()), float)
        wts = wts * x**k
        ok = wts != 0
        flat_o[sel] = np.exp(-np.outer(zs, x[ok])) @ wts[ok]
    return out
