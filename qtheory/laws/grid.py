"""Where quadrature over a size law cuts its range."""

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
