"""Where quadrature over a size law cuts its range."""

import math

import numpy as np

from .joint import quantile_grid


def size_cuts(size):
    """The support's ends, the law's quantile grid and its breakpoints, sorted: the
    pieces of every Gauss rule over the size law.

    Examples
    --------
    >>> import qtheory as qt
    >>> cuts = size_cuts(qt.Uniform(0.5, 1.5))
    >>> cuts[0], cuts[-1]
    (0.5, 1.5)
    """
    lo, hi = size.support
    pts = sorted({lo, hi, *quantile_grid(size), *size.breakpoints})
    return [p for p in pts if lo <= p <= hi]


def smallest_atom(size):
    """The smallest positive value of a discrete law (None for a continuous one)."""
    if not size.discrete:
        return None
    v = np.asarray(size.values, float)
    return float(np.min(v[v > 0])) if np.any(v > 0) else None


def prediction_scan(size, below=1e-14, above=1e8, per_decade=68):
    """Log-spaced predicted sizes over which to scan the marginal law of Y: from
    ``below`` times the law's scale (further down, to 1e-8 of its smallest atom, when a
    discrete law has an atom below that: with sizes {1e-30, 27, 89} and predictions of
    mean x, a third of Y's mass lies near 1e-30, and a grid that starts at 1e-13 puts
    it inside one piece whose Gauss nodes never see it) up to ``above`` times the scale.

    Examples
    --------
    >>> from qtheory.laws.sizes import Empirical
    >>> ys = prediction_scan(Empirical([1e-30, 27.0, 89.0]))
    >>> bool(ys[0] <= 1e-38), bool(ys[-1] >= 3e9)
    (True, True)
    """
    low, top = size.scale * below, size.scale * above
    atom = smallest_atom(size)
    if atom is not None:
        low = min(low, atom * 1e-8)
    decades = math.log10(top) - math.log10(low)
    return np.logspace(math.log10(low), math.log10(top), int(per_decade * decades) + 1)
