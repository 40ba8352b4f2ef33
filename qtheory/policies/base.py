"""What a policy declares, once; every method derives from it.

A SOAP policy (Scully, Harchol-Balter, Scheller-Wolf 2018) always serves the job of
lowest rank ``rank(d, a)``, where ``d`` is the job's descriptor (what the scheduler
knows: its size, its prediction or its bit) and ``a`` its age; ties go to the earlier
arrival. A :class:`Policy` declares

* ``descriptor``: what the rank reads ("size", "prediction", "bit" or None);
* :meth:`~Policy.rank`: the rank function (``None`` for policies that are not SOAP);
* :meth:`~Policy.pieces`: the rank's exact linear pieces in age, for arrays of
  descriptors (None: the engines find them from ``rank``);
* :meth:`~Policy.parts`: how the job population splits when the rank or the work depends
  on more than the descriptor (a second bit, prediction work done on the server);
* :meth:`~Policy.jumps`: descriptor values where the rank jumps (class thresholds);
* ``loop``: the simulator loop of a policy no pieces describe ("ps");
* ``arrival_order``: the rank reads the arrival order (LCFS), so it is not SOAP;
* :meth:`~Policy.bind`: the policy as a given queue defines it (Gittins needs the law).

The SOAP engine, the simulator's plan and the validation read these declarations; none
of them switches on a policy's type. Closed forms (``method="formula"``) and symbolic
results are independent derivations, registered by policy class in their own modules.
"""

import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ..core.errors import ParameterError
from ..laws.predictions import Perfect
from .pieces import Profile, stack

NEG_INF = -math.inf
INF = math.inf


@dataclass(frozen=True)
class Part:
    """A part of the job population: jobs of size x belong to it with probability
    ``weight(x)`` (None: 1), need ``shift`` units of server time beyond their size, and,
    where ``fixed`` is set, all have that descriptor. ``jumps`` are sizes where
    ``weight`` jumps."""

    weight: Optional[Callable] = None
    shift: float = 0.0
    fixed: Optional[float] = None
    jumps: tuple = ()


class Policy:
    """Base class of every policy (see the module docstring).

    Policies are classes; parameterless ones may be passed as classes (``qt.SRPT``) or
    instances (``qt.SRPT()``).
    """

    descriptor = None
    preemptive = True
    loop = None
    #: The rank reads the job's arrival number (LCFS): its pieces take job numbers (and a
    #: one-bit descriptor as the part). Not a SOAP policy; the simulator serves it.
    arrival_order = False
    #: The rank is a table of many pieces per descriptor (Gittins): the SOAP engine then
    #: interpolates the population functions in rank instead of evaluating each exactly.
    tabulated = False

    def rank(self, d, a):
        """Rank of a job with descriptor ``d`` at age ``a`` (lower is served first)."""
        raise NotImplementedError

    def pieces(self, d, part=None):
        """Exact linear pieces ``(s, e, c, v, m)`` of the rank for descriptors ``d`` (an
        array) in part ``part`` of the population: each entry a number or an array like
        ``d``; or a :class:`~qtheory.policies.pieces.Profile`; or None (not declared)."""
        return None

    def profile(self, d, part=None):
        """The declared pieces of descriptors ``d`` as a Profile, or None."""
        d = np.atleast_1d(np.asarray(d, float))
        pr = self.pieces(d, part)
        if pr is None or isinstance(pr, Profile):
            return pr
        return stack(pr, d.size)

    def parts(self, prediction):
        """The parts of the job population (:class:`Part`), given the queue's prediction
        model: one part by default; for a one-bit descriptor the predicted-short and
        predicted-long jobs, whose descriptor is their bit."""
        if self.descriptor == "bit":
            short = prediction.short_prob
            return (Part(short, fixed=0.0, jumps=prediction.size_jumps),
                    Part(lambda x: 1.0 - short(x), fixed=1.0, jumps=prediction.size_jumps))
        sees_size = self.descriptor == "size" or (
            self.descriptor == "prediction" and (prediction is None or isinstance(prediction, Perfect)))
        # class thresholds in the descriptor are jumps in the size when it sees the size
        return (Part(jumps=tuple(self.jumps()) if sees_size else ()),)

    def part_of(self, x, rng):
        """The part of each simulated job of size ``x`` (drawn from ``rng`` where the part
        is random): an array of part indices, or None for a single part."""
        return None

    def part_at(self, x, d=None, bit=None):
        """Part index of jobs of sizes ``x`` (array) and descriptor ``d`` (per-size
        response times)."""
        if self.descriptor == "bit":
            return np.full(np.size(x), int(d >= 1))
        return np.zeros(np.size(x), int)

    def cell_of(self, d):
        """Part index of jobs with descriptors ``d`` (array) when each part fixes the
        descriptor (:attr:`Part.fixed`): for a bit, the bit."""
        return np.asarray(d).astype(np.int64)

    def jumps(self):
        """Descriptor values > 0 where the rank jumps (its class thresholds), sorted."""
        return ()

    def bind(self, q):
        """This policy as queue ``q`` defines it (itself, unless it needs the queue's
        laws)."""
        return self

    def prediction_cost(self, q):
        """Expected prediction cost per job paid outside the server (None: no cost)."""
        return None

    @property
    def name(self):
        return type(self).__name__

    def _key(self):
        return tuple(sorted((k, repr(v)) for k, v in vars(self).items()))

    def __eq__(self, other):
        return type(self) is type(other) and self._key() == other._key()

    def __hash__(self):
        return hash((type(self), self._key()))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{self.name}({args})"

    def check_prediction(self, value):
        """A job's prediction as this policy reads it, checked: the bit (0 short, 1 long)
        for one-bit policies, else a finite predicted size >= 0."""
        if self.descriptor == "bit":
            if value not in (0, 1):
                raise ParameterError(f"prediction = {value!r} is invalid for {self.name}: "
                                     "give the bit, 0 (short) or 1 (long).")
            return int(value)
        try:
            y = float(value)
        except (TypeError, ValueError):
            y = math.nan
        if not (y >= 0 and math.isfinite(y)):
            raise ParameterError(f"prediction = {value!r} is invalid: give a finite "
                                 "predicted size >= 0.")
        return y


def as_policy(p):
    """Accept a policy class or instance.

    Examples
    --------
    >>> from qtheory.policies import SRPT
    >>> as_policy(SRPT) == SRPT()
    True
    """
    if isinstance(p, type) and issubclass(p, Policy):
        try:
            return p()
        except TypeError as exc:
            raise ParameterError(f"policy {p.__name__} needs parameters: {exc}") from None
    if isinstance(p, Policy):
        return p
    raise ParameterError(f"policy = {p!r} is not a policy: pass e.g. qt.SRPT or qt.Trail(0.5).")
