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
    for _ in range(max_iter):
        z = s_flat[idx] + lam * (1 - B[idx])
        value, slope = piece.pair(z)
        step = (B[idx] - value) / (1 - lam * slope)
        B[idx] -= step
        going = np.abs(step) > tol    # |B| <= 1 and only 1 - B enters: absolute tolerance
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


def tagged_lst(s, lam, dec, descending_integral=None):
    """T̃_x(s) for the tagged sizes ``dec.x`` (broadcast against ``s``).

    ``descending_integral`` gives ∫_0^x σ_ℓ(s) dℓ for DESCENDING residences (computed on
    the caller's grid of levels)."""
    sigma, _ = busy_period(s, lam, dec.new)
    wait = vacation_lst(sigma, lam, dec.old, dec.vacations)
    if dec.residence == NONE:
        res = np.exp(-s * dec.x)
    elif dec.residence == SAME:
        res = np.exp(-sigma * dec.x)
    else:
        res = np.exp(-descending_integral)
    return wait * res


def tagged_moments(lam, dec, residence_moments=None):
    """E[T_x] and E[T_x²] from the pieces' moments (docs/theory/distributions.md).

    ``residence_moments`` gives (E[R], Var R) for DESCENDING residences."""
    a = 1 - lam * dec.old.moment(1)
    pieces = [dec.old, *dec.vacations]
    EU = lam * sum(p.moment(2) for p in pieces) / (2 * a)
    EU2 = lam * sum(p.moment(3) for p in pieces) / (3 * a) + lam * dec.old.moment(2) * EU / a
    b = 1 - lam * dec.new.moment(1)
    EW = EU / b
    EW2 = EU2 / b**2 + lam * dec.new.moment(2) * EU / b**3
    if dec.residence == NONE:
        ER, VR = dec.x, 0.0 * dec.x
    elif dec.residence == SAME:
        ER, VR = dec.x / b, dec.x * lam * dec.new.moment(2) / b**3
    else:
        ER, VR = residence_moments
    return EW + ER, EW2 + 2 * EW * ER + VR + ER**2
