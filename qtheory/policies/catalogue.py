"""The policy catalogue. Each policy is declared by its SOAP rank function.

A SOAP policy (Scully, Harchol-Balter, Scheller-Wolf 2018) always serves the job of
lowest rank ``rank(d, a)``, where ``d`` is the job's descriptor (what the scheduler
knows: its size, its prediction or its bit) and ``a`` its age; ties go to the earlier
arrival. A rank of ``-inf`` means "never preempted" (non-preemptive phases); ranks may be
tuples, compared lexicographically (multi-class policies). PS and LCFS are not SOAP
policies (``rank`` is ``None``); they have closed forms and simulator loops of their own.

Policies are classes; parameterless ones may be passed as classes (``qt.SRPT``) or
instances (``qt.SRPT()``). Closed forms live in :mod:`qtheory.methods.formula`, the generic
engine in :mod:`qtheory.methods.soap`; neither calls the other.
"""

import math

from ..core.errors import ParameterError
from ..core.params import Param, is_symbolic, nonnegative, unit_interval

NEG_INF = -math.inf


class Policy:
    """Base class. ``descriptor`` names what the rank reads: "size" (the true size x),
    "prediction" (the predicted size y), "bit" (a one-bit prediction) or None."""

    descriptor = None
    preemptive = True

    def rank(self, d, a):
        """Rank of a job with descriptor ``d`` at age ``a`` (lower is served first)."""
        raise NotImplementedError

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


def as_policy(p):
    """Accept a policy class or instance.

    Examples
    --------
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


# -- classical policies -----------------------------------------------------------------
class FCFS(Policy):
    """First come, first served (rank constant)."""
    preemptive = False

    def rank(self, d, a):
        return 0.0


class LCFS(Policy):
    """Preemptive-resume last come, first served (not a SOAP policy)."""
    rank = None


class PS(Policy):
    """Processor sharing (not a SOAP policy)."""
    rank = None


class SJF(Policy):
    """Shortest job first, non-preemptive: rank x at age 0, then never preempted."""
    descriptor, preemptive = "size", False

    def rank(self, d, a):
        return d if a == 0 else NEG_INF


class PSJF(Policy):
    """Preemptive shortest job first: rank x."""
    descriptor = "size"

    def rank(self, d, a):
        return d


class SRPT(Policy):
    """Shortest remaining processing time: rank x - a."""
    descriptor = "size"

    def rank(self, d, a):
        return d - a


class FB(Policy):
    """Foreground-background (least attained service): rank a."""

    def rank(self, d, a):
        return a


# -- prediction policies ------------------------------------------------------------------
class SPJF(SJF):
    """Shortest predicted job first, non-preemptive: rank y, then never preempted."""
    descriptor = "prediction"


class PSPJF(PSJF):
    """Preemptive shortest predicted job first: rank y."""
    descriptor = "prediction"


class SPRPT(SRPT):
    """Shortest predicted remaining processing time: rank y - a (negative once a job
    outlives its prediction: then nothing preempts it)."""
    descriptor = "prediction"


class Trail(Policy):
    """SPRPT with limited preemption: rank y - a until age c*y, then never preempted.

    c = 0 is SPJF, c = 1 is SPRPT (Shahout et al. 2025).

    Examples
    --------
    >>> Trail(0.5).rank(4.0, 1.0), Trail(0.5).rank(4.0, 3.0)
    (3.0, -inf)
    """
    descriptor = "prediction"
    c = Param(unit_interval)

    def __init__(self, c):
        self.c = c

    def rank(self, d, a):
        return d - a if a <= self.c * d else NEG_INF


class SPRPTBounce(Policy):
    """Rank min(|y - a|, y): a job outliving its prediction climbs back up
    (Scully, Grosof, Mitzenmacher 2022)."""
    descriptor = "prediction"

    def rank(self, d, a):
        return min(abs(d - a), d)


class PriorityClasses(Policy):
    """k priority classes by predicted size (true size under Perfect predictions):
    class i holds jobs with thresholds[i-1] <= y < thresholds[i]; FCFS within a class.

    ``preemptive=False`` is non-preemptive priority, ``"resume"`` preemptive-resume
    (Cobham's formulas).
    """
    descriptor = "prediction"

    def __init__(self, thresholds, preemptive=False):
        self.thresholds = tuple(t if is_symbolic(t) else float(t) for t in thresholds)
        known = [t for t in self.thresholds if not is_symbolic(t)]  # symbols: taken as given
        if any(not t >= 0 for t in known) or known != sorted(known):
            raise ParameterError(f"thresholds = {thresholds!r} are invalid: they must be "
                                 "increasing numbers >= 0.")
        if preemptive not in (False, "resume"):
            raise ParameterError(f"preemptive = {preemptive!r} is invalid: use False or 'resume'.")
        self.preemptive = preemptive

    def klass(self, y):
        return sum(y >= t for t in self.thresholds)

    def rank(self, d, a):
        if self.preemptive is False and a > 0:
            return NEG_INF
        return self.klass(d)


class OneBit(Policy):
    """One bit of advice: short jobs first, on a queue whose prediction is
    ``qt.Threshold(T, noise)`` (Mitzenmacher 2021).

    ``preemptive=False``: short first, FCFS within each class, no preemption.
    ``preemptive=True``: a new short job preempts whatever runs (LCFS among shorts).
    ``preemptive="resume"``: classic preemptive-resume priority, FCFS within each class.
    """
    descriptor = "bit"

    def __init__(self, preemptive=False):
        if preemptive not in (False, True, "resume"):
            raise ParameterError(f"preemptive = {preemptive!r} is invalid: use False, True "
                                 "or 'resume'.")
        self.preemptive = preemptive

    def rank(self, d, a):
        if self.preemptive is True:
            return None  # LCFS among shorts is not SOAP: the simulator has its own loop
        if self.preemptive is False and a > 0:
            return NEG_INF
        return d


class SkipPredict(Policy):
    """SkipPredict (Shahout & Mitzenmacher 2024): a cheap bit, from ``bit_noise`` with
    threshold ``T``, sends predicted-short jobs first (FCFS); predicted-long jobs get the
    queue's (expensive) prediction y and run after all shorts by SPRPT. Rank (0, 0) for
    shorts, (1, y - a) for longs.

    ``cheap_cost`` and ``expensive_cost`` are the prediction costs c1, c2. With
    ``server_time=False`` they are external: cost = E[T] + c1 + P(long) c2. With
    ``server_time=True`` the predictions occupy the server (generic engine only).
    """
    descriptor = "prediction"
    T = Param(nonnegative)
    cheap_cost = Param(nonnegative)
    expensive_cost = Param(nonnegative)

    def __init__(self, T, bit_noise=None, cheap_cost=0.0, expensive_cost=0.0, server_time=False):
        from ..laws.predictions import Threshold
        self.T, self.cheap_cost, self.expensive_cost = T, cheap_cost, expensive_cost
        self.bit = Threshold(T, bit_noise)
        self.server_time = bool(server_time)

    def __repr__(self):
        return (f"SkipPredict(T={self.T!r}, bit_noise={self.bit.noise!r}, cheap_cost="
                f"{self.cheap_cost!r}, expensive_cost={self.expensive_cost!r}"
                + (", server_time=True)" if self.server_time else ")"))

    def rank(self, d, a):
        bit, y = d
        return (0, 0.0) if bit == 0 else (1, y - a)


class DelayPredict(Policy):
    """DelayPredict: every job first gets up to L units of service at top priority (FCFS);
    a job still running at age L gets the expensive prediction y and continues by SPRPT
    in a lower class. Rank (0, -a) for a < L, (1, y - a) after."""
    descriptor = "prediction"
    L = Param(nonnegative)
    expensive_cost = Param(nonnegative)

    def __init__(self, L, expensive_cost=0.0, server_time=False):
        self.L, self.expensive_cost, self.server_time = L, expensive_cost, bool(server_time)

    def rank(self, d, a):
        return (0, -a) if a < self.L else (1, d - a)


class Gittins(Policy):
    """The Gittins policy for the information the scheduler has (no prediction, a
    prediction, or a bit): rank -G_d(a), the best mean response time possible with it."""
    rank = None  # needs the queue's law: built by the SOAP engine


class Rank(Policy):
    """Any SOAP policy from its rank function ``fn(descriptor, age)``.

    ``descriptor`` is "prediction" (default when the queue has predictions), "size" or None.

    Examples
    --------
    >>> p = Rank(lambda y, a: y - a, descriptor="prediction")
    >>> p.rank(3.0, 1.0)
    2.0
    """

    def __init__(self, fn, descriptor="prediction", name="Rank"):
        if not callable(fn):
            raise ParameterError("fn must be a function rank(descriptor, age).")
        if descriptor not in ("prediction", "size", None):
            raise ParameterError("descriptor must be 'prediction', 'size' or None.")
        self.fn, self.descriptor, self._name = fn, descriptor, name

    @property
    def name(self):
        return self._name

    def rank(self, d, a):
        return self.fn(d, a)


#: Every catalogue policy, for listings and validation sweeps.
CATALOGUE = (FCFS, LCFS, PS, SJF, PSJF, SRPT, FB, SPJF, PSPJF, SPRPT)
