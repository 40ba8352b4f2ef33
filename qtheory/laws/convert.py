"""What a user may pass as a size law: a qtheory law, a frozen scipy.stats law or a
sympy.stats random variable."""

from ..core.errors import ParameterError
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
        return obj
    if hasattr(obj, "dist") and hasattr(obj, "support") and hasattr(obj, "rvs"):
        return ScipyLaw(obj)
    if is_sympy(obj):
        from .sympy_law import size_law_from_sympy   # loads sympy: only when asked
        return size_law_from_sympy(obj)
    raise ParameterError(f"size = {obj!r} is not a size law: pass a qtheory law such as "
                         "qt.Exponential(1.0) or a frozen scipy.stats distribution.")
