"""The policy catalogue: each policy is one class declaring its rank, its exact linear
rank pieces, its descriptor and what the simulator needs (see :mod:`.base`).

Pieces are ``(s, e, c, v, m)``: ages [s, e) (s == e: the single age s), class c
(-inf: never preempted), value v + m (a - s). PS and LCFS are not SOAP policies
(``rank`` is None); they declare a simulator loop of their own.
"""

import numpy as np

from ..core.errors import ParameterError, PolicyError
from ..core.params import Domain, Param, is_symbolic, nonnegative
from .base import INF, NEG_INF, Part, Policy, as_policy  # noqa: F401  (as_policy: re-export)


# -- classical policies -----------------------------------------------------------------
class FCFS(Policy):
    """First come, first served (rank constant)."""
    preemptive = False

    def rank(self, d, a):
        return 0.0

    def pieces(self, d, part=None):
        return [(0, INF, 0, 0, 0)]


class LCFS(Policy):
    """Preemptive-resume last come, first served: rank -(job number), which reads the
    arrival order, not a descriptor (not a SOAP policy)."""
    rank = None
    arrival_order = True

    def pieces(self, g, part=None):
        return [(0, INF, 0, -g, 0)]


class PS(Policy):
    """Processor sharing (not a SOAP policy)."""
    rank = None
    loop = "ps"


class SJF(Policy):
    """Shortest job first, non-preemptive: rank x at age 0, then never preempted."""
    descriptor, preemptive = "size", False

    def rank(self, d, a):
        return d if a == 0 else NEG_INF

    def pieces(self, d, part=None):
        return [(0, 0, 0, d, 0), (0, INF, NEG_INF, NEG_INF, 0)]


class PSJF(Policy):
    """Preemptive shortest job first: rank x."""
    descriptor = "size"

    def rank(self, d, a):
        return d

    def pieces(self, d, part=None):
        return [(0, INF, 0, d, 0)]


class SRPT(Policy):
    """Shortest remaining processing time: rank x - a."""
    descriptor = "size"

    def rank(self, d, a):
        return d - a

    def pieces(self, d, part=None):
        return [(0, INF, 0, d, -1)]


class FB(Policy):
    """Foreground-background (least attained service): rank a."""

    def rank(self, d, a):
        return a

    def pieces(self, d, part=None):
        return [(0, INF, 0, 0, 1)]


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
    # a c in (0, 1e-12) is c = 0 to double precision, and x / c overflows in the formulas
    c = Param(Domain("0 or a number in [1e-12, 1] (a smaller c is c = 0 to double "
                     "precision: use 0)", lambda v: v == 0 or 1e-12 <= v <= 1,
                     lambda s: s.is_nonnegative))

    def __init__(self, c):
        self.c = c

    def rank(self, d, a):
        return d - a if a <= self.c * d else NEG_INF

    def pieces(self, d, part=None):
        return [(0, self.c * d, 0, d, -1), (self.c * d, INF, NEG_INF, NEG_INF, 0)]


class SPRPTBounce(Policy):
    """Rank ``min(|y - a|, y)``: a job outliving its prediction climbs back up
    (Scully, Grosof, Mitzenmacher 2022)."""
    descriptor = "prediction"

    def rank(self, d, a):
        return min(abs(d - a), d)

    def pieces(self, d, part=None):  # y - a, then a - y (ages y .. 2y), then y
        return [(0, d, 0, d, -1), (d, 2 * d, 0, 0, 1), (2 * d, INF, 0, d, 0)]


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

    def pieces(self, d, part=None):
        k = np.searchsorted(np.asarray(self.thresholds), d, side="right").astype(float)
        if self.preemptive is False:
            return [(0, 0, 0, k, 0), (0, INF, NEG_INF, NEG_INF, 0)]
        return [(0, INF, 0, k, 0)]

    def jumps(self):
        return sorted({float(t) for t in self.thresholds if t > 0})


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

    @property
    def arrival_order(self):   # LCFS among the short jobs
        return self.preemptive is True

    def pieces(self, d, part=None):
        if self.preemptive is True:   # d: job numbers, part: the bit
            if part is None:
                raise PolicyError("OneBit(preemptive=True) serves short jobs LCFS, which is "
                                  "not a SOAP policy; use method='formula' or 'simulation'.")
            return [(0, INF, 0, -d, 0)] if part == 0 else [(0, INF, 1, 0, 0)]
        if self.preemptive is False:
            return [(0, 0, 0, d, 0), (0, INF, NEG_INF, NEG_INF, 0)]
        return [(0, INF, 0, d, 0)]


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

    def pieces(self, y, part=None):
        """External costs: (0, 0) for predicted-short jobs (part 0), (1, y - a) for
        predicted-long ones (part 1). Server-time model (the rank order the simulator
        serves): the job's work is x + c1 + c2 [long], its age counts that work too, and
        ages [0, c1) are the cheap prediction (class 0, rank -a: top priority, oldest
        first); predicted short, ages >= c1: class 1, rank 0 (FCFS); predicted long, ages
        [c1, c1 + c2): the expensive prediction, class 2 (an FCFS stage behind every
        short job), then class 3, rank y + c1 + c2 - a (SPRPT on the job's own age)."""
        if part not in (0, 1):
            raise PolicyError("SkipPredict's rank needs the job's cheap bit: part 0 (short) "
                              "or 1 (long).")
        if not self.server_time:
            return [(0, INF, 0, 0, 0)] if part == 0 else [(0, INF, 1, y, -1)]
        c1, c2 = float(self.cheap_cost), float(self.expensive_cost)
        if part == 0:
            return [(0, c1, 0, 0, -1), (c1, INF, 1, 0, 0)]
        return [(0, c1, 0, 0, -1), (c1, c1 + c2, 2, 0, 0), (c1 + c2, INF, 3, y, -1)]

    def parts(self, prediction):
        """Predicted short (part 0) and long (part 1) by the cheap bit."""
        from ..laws.predictions import Threshold
        if prediction is None or isinstance(prediction, Threshold):
            raise PolicyError("SkipPredict needs the queue's expensive prediction model, "
                              "e.g. qt.MG1(lam, size, prediction=qt.ExpNoise()).")
        bit = self.bit
        shift = (self.cheap_cost + self.expensive_cost * b if self.server_time else 0.0
                 for b in (0, 1))
        short = bit.short_prob
        s0, s1 = shift
        return (Part(short, s0, jumps=bit.size_jumps),
                Part(lambda x: 1.0 - short(x), s1, jumps=bit.size_jumps))

    def part_of(self, x, rng):
        return np.asarray(self.bit.sample(x, rng), float).astype(np.int64)

    def part_at(self, x, d=None, bit=None):
        if bit not in (0, 1):
            raise ParameterError("bit must be 0 (predicted short) or 1 (predicted long) for "
                                 "SkipPredict.")
        return np.full(np.size(x), int(bit))

    def prediction_cost(self, q):
        if self.server_time:
            return None
        long = 1.0 - q.size.expect(lambda x: float(self.bit.short_prob(x)))[0]
        return self.cheap_cost + long * self.expensive_cost


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

    def _costly(self):
        return self.server_time and self.expensive_cost > 0

    def pieces(self, d, part=None):
        L = float(self.L)
        c2 = float(self.expensive_cost) if self.server_time else 0.0
        return [(0, L + c2, 0, 0, -1), (L + c2, INF, 1, d - L, -1)]

    def parts(self, prediction):
        """With the prediction on the server, jobs longer than L (part 1) need c2 more."""
        if not self._costly():
            return super().parts(prediction)
        L = float(self.L)
        return (Part(lambda x: (np.asarray(x) <= L) * 1.0, 0.0, jumps=(L,)),
                Part(lambda x: (np.asarray(x) > L) * 1.0, float(self.expensive_cost), jumps=(L,)))

    def part_of(self, x, rng):
        return (x > self.L).astype(np.int64) if self._costly() else None

    def part_at(self, x, d=None, bit=None):
        return (np.asarray(x, float).ravel() > self.L).astype(int) if self._costly() \
            else np.zeros(np.size(x), int)

    def prediction_cost(self, q):
        return None if self.server_time else self.expensive_cost * float(q.size.sf(self.L))


class Gittins(Policy):
    """The Gittins policy for the information the scheduler has (no prediction, a
    prediction, or a bit): rank -G_d(a), the best mean response time possible with it."""
    rank = None  # needs the queue's law: see bind

    def bind(self, q):
        from .gittins import gittins_policy
        return gittins_policy(q)


class Rank(Policy):
    """Any SOAP policy from its rank function ``fn(descriptor, age)``.

    ``descriptor`` is "prediction" (default when the queue has predictions), "size" or None.
    The engines find the rank's linear pieces from ``fn``; the simulator serves it in its
    compiled loops when those pieces are affine in the descriptor (``compiled=False``: in
    the Python reference loop, an independent check of the compiled ones).

    Examples
    --------
    >>> p = Rank(lambda y, a: y - a, descriptor="prediction")
    >>> p.rank(3.0, 1.0)
    2.0
    """

    def __init__(self, fn, descriptor="prediction", name="Rank", compiled=True):
        if not callable(fn):
            raise ParameterError("fn must be a function rank(descriptor, age).")
        if descriptor not in ("prediction", "size", None):
            raise ParameterError("descriptor must be 'prediction', 'size' or None.")
        self.fn, self.descriptor, self._name = fn, descriptor, name
        self.compiled = bool(compiled)

    @property
    def name(self):
        return self._name

    def rank(self, d, a):
        return self.fn(d, a)

