"""Parameter domains, declared once next to the parameter they guard.

A :class:`Param` is a descriptor: ``rate = Param(positive)`` on a class validates the
value the constructor assigns and raises :class:`~qtheory.core.errors.ParameterError` naming
the parameter and the fix. Symbolic (sympy) values pass whenever their assumptions do
not contradict the domain, so ``Exponential(sympy.Symbol("mu", positive=True))`` works.
"""

import copy
import math
import numbers
import sys

import numpy as np

from .errors import ParameterError


def is_sympy(value):
    """True for a sympy object (without importing sympy when nobody else has)."""
    sp = sys.modules.get("sympy")
    return sp is not None and isinstance(value, sp.Basic)


class Domain:
    """A named set of admissible values: ``test`` for numbers, ``assume`` for sympy."""

    def __init__(self, text, test, assume=None):
        self.text, self.test, self.assume = text, test, assume

    def check(self, name, value):
        if is_sympy(value):
            if self.assume is not None and self.assume(value) is False:
                raise ParameterError(f"{name} = {value} is invalid: it must be {self.text}; "
                                     f"declare the symbol with matching assumptions.")
            return value
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ParameterError(f"{name} = {value!r} is invalid: it must be {self.text}.")
        if not self.test(float(value)):
            raise ParameterError(f"{name} = {value!r} is invalid: it must be {self.text}. "
                                 f"Pass a value in that range.")
        return value


finite = Domain("a finite number", math.isfinite, lambda s: s.is_finite)
positive = Domain("a positive finite number",
                  lambda v: 0 < v < math.inf, lambda s: s.is_positive)
nonnegative = Domain("a finite number >= 0",
                     lambda v: 0 <= v < math.inf, lambda s: s.is_nonnegative)
positive_or_inf = Domain("a positive number (math.inf allowed)",
                         lambda v: v > 0, lambda s: s.is_positive)
unit_interval = Domain("a number in [0, 1]", lambda v: 0 <= v <= 1,
                       lambda s: s.is_nonnegative)


class Param:
    """A validated attribute: ``Param(positive)`` rejects values outside the domain.

    Examples
    --------
    >>> class Server:
    ...     speed = Param(positive)
    ...     def __init__(self, speed):
    ...         self.speed = speed
    >>> Server(2.0).speed
    2.0
    >>> Server(0)
    Traceback (most recent call last):
    ...
    qtheory.core.errors.ParameterError: speed = 0 is invalid: it must be a positive finite number. Pass a value in that range.
    """

    def __init__(self, domain):
        self.domain = domain

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        return obj.__dict__[self.name]

    def __set__(self, obj, value):
        obj.__dict__[self.name] = self.domain.check(self.name, value)


def is_symbolic(*values):
    """True when any value is a sympy expression with free symbols."""
    return any(is_sympy(v) and v.free_symbols for v in values)


def as_float_copy(obj):
    """``obj`` itself when none of its parameters is a sympy number, else a shallow copy
    with those numbers as floats (ints for integers): what the numeric methods use for
    a law, prediction model or policy written with exact constants such as
    ``sympy.Rational(1, 2)``. Symbols and other sympy objects are left alone.

    Examples
    --------
    >>> import sympy
    >>> from qtheory.policies.catalogue import Trail
    >>> as_float_copy(Trail(sympy.Rational(1, 2))).c
    0.5
    """
    return _float_copy(obj, {})


def _float_copy(obj, memo):
    if id(obj) in memo:       # a cycle (a queue caches itself as its numeric view)
        return memo[id(obj)]
    memo[id(obj)] = obj
    changed = {k: nv for k, v in vars(obj).items() if (nv := floated(v, memo)) is not v}
    if not changed:
        return obj
    new = copy.copy(obj)
    new.__dict__.update(changed)
    memo[id(obj)] = new
    return new


def floated(v, memo=None):
    """``v`` with sympy numbers as floats (ints for integers), in tuples, object arrays and
    qtheory objects too; anything else, symbols included, unchanged."""
    if is_sympy(v):
        if not getattr(v, "is_number", False):  # symbols, densities, containers
            return v
        return int(v) if v.is_integer else float(v)
    memo = {} if memo is None else memo
    if isinstance(v, tuple):
        items = tuple(floated(t, memo) for t in v)
        return items if any(a is not b for a, b in zip(items, v)) else v
    if isinstance(v, np.ndarray) and v.dtype == object:
        items = [floated(t, memo) for t in v.ravel()]
        return v if any(is_sympy(t) for t in items) else np.array(items, float).reshape(v.shape)
    if type(v).__module__.startswith("qtheory.") and hasattr(v, "__dict__"):
        return _float_copy(v, memo)
    return v
