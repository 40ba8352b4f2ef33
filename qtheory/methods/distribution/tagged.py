"""The response-time transform and moments of a tagged job from its SOAP decomposition
(Scully, Harchol-Balter & Scheller-Wolf 2018, arXiv 1712.00790, §5; docs/theory/distributions.md).

For a tagged job of size x, the other jobs bring, at its worst future rank r*:

* old work X_0 (any time) and X_i, i ≥ 1 (only when the relevant work is 0): the
  relevant old work U is an M/G/1 with generalised vacations,
  Ũ(z) = [(1 − ρ_0 − ρ_+) z + λ Σ_{i≥1} (1 − X̃_i(z))] / [z − λ(1 − X̃_0(z))];
* new work X^new: it lengthens the wait into a busy period, σ(s) = s + λ(1 − B̃(s)),
  B̃(s) = X̃^new(σ(s)) (Kendall), solved by Newton;
* a residence: none (non-preemptive: R = x), at the level r* throughout (R is a busy
  period of new work started by x) or at descending levels (SRPT: R̃ = exp(−∫_0^x σ_ℓ dℓ)).

T̃_x(s) = Ũ(σ_{r*}(s)) R̃_x(s). The moments follow by differentiating at s = 0
(docs/theory/distributions.md, "Second moment"); they are computed from the pieces'
moments, not from the transform, so the two are independent checks of each other.
"""

from dataclasses import dataclass, field

import numpy as np

from ...core.errors import ConvergenceError

#: Residence kinds.
NONE, SAME, DESCENDING = "none", "same", "descending"


@dataclass
class Decomposition:
    """The work a tagged job of size ``x`` (an array) meets, as pieces (work.py)."""

    x: np.ndarray
    old: object
    new: object
    residence: str = NONE
    vacations: list = field(default_factory=list)
    #: For DESCENDING: level ℓ (array) -> the new-work piece at remaining work ℓ.
    new_at: object = None


def busy_period(s, lam, new, tol=1e-14, max_iter=200):
    """B̃(s) = X̃^new(s + λ − λ B̃(s)), the principal root (|B̃| ≤ 1), by Newton's method
    from one fixed-point step; returns σ(s) = s + λ(1 − B̃(s)) and B̃(s). Entries that
    have converged drop out of the iteration."""
    B = np.array(new.lst(np.asarray(s, complex) + lam), complex)
    shape = B.shape
    s_flat, B = np.broadcast_to(s, shape).ravel(), B.ravel()
    idx, piece = np.arange(B.size), new.flat(shape)
    last = np.full(B.size, np.inf)
    for it in range(max_iter):
        z = s_flat[idx] + lam * (1 - B[idx])
        value, slope = piece.pair(z)
        step = (B[idx] - value) / (1 - lam * slope)
        B[idx] -= step
        size = np.abs(step)
        # |B| <= 1 and only 1 - B enters: an absolute tolerance; a sum of 10^3 nodes can
        # leave steps at 1e-14 (rounding) for ever, so after 50 steps 100 tol will do.
        # Newton converges quadratically (e' = K e², K from the last two steps): a step
        # below 1e-5 whose predicted successor K |step|² is below tol ends an entry early
        prev = last[idx]
        quadratic = (size < 1e-5) & (size < prev) & np.isfinite(prev)
        left = np.where(quadratic, size * (size / np.where(quadratic, prev, 1.0)) ** 2, size)
        going = np.minimum(size, left) > (tol if it < 50 else 100 * tol)
        last[idx] = size
        if not going.any():
            B = B.reshape(shape)
            return np.broadcast_to(s, shape) + lam * (1 - B), B
        if going.mean() < 0.75:
            idx, piece = idx[going], piece.take(going)
    raise ConvergenceError("the busy-period transform (Newton on Kendall's equation)",
                           float(np.max(np.abs(step))), tol)


def vacation_lst(z, lam, old, vacations):
    """Ũ(z) of the relevant old work (M/G/1 with generalised vacations)."""
    rho0 = lam * old.moment(1)
    rho_plus = sum(lam * v.moment(1) for v in vacations)
    num = (1 - rho0 - rho_plus) * z + sum(lam * (1 - v.lst(z)) for v in vacations)
    den = z - lam * (1 - old.lst(z))
    small = np.abs(z) < 1e-300
    with np.errstate(all="ignore"):
        return np.where(small, 1.0, num / np.where(small, 1.0, den))


def tagged_lst(s, lam, dec, descending_integral=None, shifted=False):
    """T̃_x(s) for the tagged sizes ``dec.x`` (broadcast against ``s``); with ``shifted``
    the transform of T_x − x (T_x ≥ x: the shift keeps e^{-sx} out of the numbers).

    ``descending_integral`` gives ∫_0^x σ_ℓ(s) dℓ (∫_0^x (σ_ℓ(s) − s) dℓ when shifted)
    for DESCENDING residences, computed on the caller's grid of levels."""
    sigma, _ = busy_period(s, lam, dec.new)
    wait = vacation_lst(sigma, lam, dec.old, dec.vacations)
    if dec.residence == NONE:
        res = 1.0 if shifted else np.exp(-s * dec.x)
    elif dec.residence == SAME:
        res = np.exp(-((sigma - s) if shifted else sigma) * dec.x)
    else:
        res = np.exp(-descending_integral)
    return wait * res


def atom_at_size(lam, dec, descending_rate=None):
    """P(T_x = x): the job finds no relevant old work, P(U = 0) = 1 − ρ_0 − ρ_+ (the
    limit of Ũ(z) as z → ∞), and no job with positive new work arrives while it is
    served (rate λ P(X^new > 0); ``descending_rate`` is its integral over the levels)."""
    empty = 1 - lam * (dec.old.moment(1) + sum(v.moment(1) for v in dec.vacations))
    if dec.residence == NONE:
        alone = 1.0
    elif dec.residence == SAME:
        alone = np.exp(-lam * dec.new.positive() * dec.x)
    else:
        alone = np.exp(-lam * descending_rate)
    return empty * alone


def busy_moments(lam, new):
    """The cumulants per unit of work of the time that work takes to clear when new work
    arrives at rate λ during it (a busy period per unit): κ_1 = 1/b, κ_2 = λ E[X²]/b³,
    κ_3 = λ (E[X³]/b⁴ + 3 λ E[X²]²/b⁵), with b = 1 − λ E[X] and X the new work."""
    b = 1 - lam * new.moment(1)
    m2, m3 = new.moment(2), new.moment(3)
    return 1 / b, lam * m2 / b**3, lam * (m3 / b**4 + 3 * lam * m2**2 / b**5)


def tagged_moments(lam, dec, residence_cumulants=None):
    """E[T_x], E[T_x²], E[T_x³] from the pieces' moments (docs/theory/distributions.md).

    ``residence_cumulants`` gives the cumulants (κ_1, κ_2, κ_3) of R for DESCENDING
    residences (integrals over the levels of :func:`busy_moments`)."""
    # Ũ(z) = (1 − A z + B z² − C z³ + ...) / (1 + G z − D z² + E z³ − ...): the
    # numerator's terms come from the vacations X_i (i ≥ 1), the denominator's from X_0
    a = 1 - lam * dec.old.moment(1)
    A, B, C = (lam * sum(v.moment(k) for v in dec.vacations) / (f * a)
               for k, f in ((2, 2), (3, 6), (4, 24)))
    G, D, E = (lam * dec.old.moment(k) / (f * a) for k, f in ((2, 2), (3, 6), (4, 24)))
    EU = A + G
    EU2 = 2 * (B + D + G * G + A * G)
    EU3 = 6 * (C + E + 2 * G * D + G**3 + A * D + A * G * G + B * G)
    # W̃(s) = Ũ(σ(s)) with σ'(0) = κ_1, σ''(0) = −κ_2, σ'''(0) = κ_3 (chain rule)
    k1, k2, k3 = busy_moments(lam, dec.new)
    EW = EU * k1
    EW2 = EU2 * k1**2 + EU * k2
    EW3 = EU3 * k1**3 + 3 * EU2 * k1 * k2 + EU * k3
    if dec.residence == NONE:
        c1, c2, c3 = dec.x, 0.0 * dec.x, 0.0 * dec.x
    elif dec.residence == SAME:
        c1, c2, c3 = dec.x * k1, dec.x * k2, dec.x * k3
    else:
        c1, c2, c3 = residence_cumulants
    ER, ER2, ER3 = c1, c2 + c1**2, c3 + 3 * c2 * c1 + c1**3
    return (EW + ER, EW2 + 2 * EW * ER + ER2,
            EW3 + 3 * EW2 * ER + 3 * EW * ER2 + ER3)
