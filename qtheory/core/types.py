"""Names for the kinds of argument the public API takes (type hints only).

A size law may be given as a :class:`~qtheory.laws.sizes.SizeLaw`, a frozen
``scipy.stats`` law, a ``sympy.stats`` random variable or a number (a deterministic
size); a policy as a class or an instance; a number may be a sympy expression where
the method is exact.
"""

from typing import Any, Union

#: A float, or a sympy expression where the result is exact (symbolic parameters).
Number = Union[float, Any]
#: A size law: SizeLaw, frozen scipy.stats distribution, sympy.stats RV or a number.
SizeLike = Any
#: A prediction model (qtheory.laws.predictions) or None for no predictions.
PredictionLike = Any
#: A policy instance or class (qtheory.policies), or a user's qt.Rank.
PolicyLike = Any
