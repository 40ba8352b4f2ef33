"""What a user may pass as a size law: a qtheory law, a frozen scipy.stats law or a
sympy.stats random variable."""

import math

import numpy as np

from ..core.errors import InfiniteMomentError, ParameterError
from ..core.params import is_sympy
from .sizes import ScipyLaw, SizeLaw


def as_size_law(obj):
    """Turn what a user passes as ``size`` into a :class:`SizeLaw`.

    Examples
    --------
    >>> import scipy.stats
    >>> as_size_law(scipy.stats.expon(scale=2.0)).mean
    2.0
    """
    if isinstance(obj, SizeLaw):
        return _usable(obj)
    if hasattr(obj, "dist") and hasattr(obj, "support") and hasattr(obj, "rvs"):
        return _usable(ScipyLaw(obj))
    if is_sympy(obj):
        from .sympy_law import size_law_from_sympy   # loads sympy: only when asked
        return size_law_from_sympy(obj)
    raise ParameterError(f"size = {obj!r} is not a size law: pass a qtheory law such as "
                         "qt.Exponential(1.0) or a frozen scipy.stats distribution.")


def _usable(law):
    """``law``, once its mean is known to be a positive finite double (every load and every
    method divides by it); else the error that says which parameter to change."""
    if "_usable" in law.__dict__:
        return law
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            mean = law.mean
    except (OverflowError, ZeroDivisionError) as e:
        raise ParameterError(f"size = {law!r}: its mean overflows double precision ({e}). "
                             "Choose parameters that give a mean between about 1e-300 and "
                             "1e300 (for a shape parameter, a moderate value).") from None
    except TypeError:   # symbolic parameters: checked when numbers are substituted
        return law
    if is_sympy(mean):
        return law
    mean = float(mean)
    if not math.isfinite(mean):
        raise InfiniteMomentError(f"size = {law!r} has an infinite mean (or one beyond double "
                             "precision): no arrival rate gives a load below 1. Use a law "
                             "with a finite mean (e.g. a BoundedPareto for a heavy tail).")
    if not mean > 0:
        raise ParameterError(f"size = {law!r} has mean {mean:g}: jobs need a positive mean "
                             "size. Give sizes that are not all 0.")
    law.__dict__["_usable"] = True
    return law
