"""Dispatching rules: how a job arriving to n separate queues picks its queue.

Each rule is declared once here (what it looks at, how many queues it samples, its
cutoffs); the dispatch simulator (:mod:`qtheory.methods.sim.dispatch`), the exact and
mean-field analyses (:mod:`qtheory.methods.meanfield`, :class:`qtheory.queues.dispatch.
Dispatch`) read these declarations.

Examples
--------
>>> JSQ(d=2), SITA([1.0]).queue_of([0.5, 3.0]).tolist()
(JSQ(d=2), [0, 1])
"""

import math

import numpy as np

from ..core.errors import ParameterError


class DispatchRule:
    """Base class. ``kind`` names what the simulator does; ``d`` is the number of queues
    sampled (None: all of them)."""

    kind = None
    d = None

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(self) is type(other) and repr(self) == repr(other)

    def __hash__(self):
        return hash(repr(self))

    @property
    def name(self):
        return repr(self)

    def check(self, servers):
        """Raise ParameterError unless the rule fits ``servers`` queues."""
        if self.d is not None and self.d > servers:
            raise ParameterError(f"d = {self.d} is invalid for servers = {servers}: sample at "
                                 f"most {servers} queues (or d=None for all of them).")


def _d(d):
    if d is None:
        return None
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
        raise ParameterError(f"d = {d!r} is invalid: pass a positive integer (the number of "
                             "queues sampled per arrival) or None for all queues.")
    return int(d)


class Random(DispatchRule):
    """Each job joins a queue chosen uniformly at random: every queue is an M/G/1 queue
    with arrival rate lambda / n (Poisson splitting), exactly."""

    kind = "random"


class RoundRobin(DispatchRule):
    """Jobs join queues 0, 1, ..., n - 1, 0, ... in turn: each queue sees Erlang-n
    interarrival times (an E_n/G/1 queue)."""

    kind = "roundrobin"


class JSQ(DispatchRule):
    """Join the shortest queue (fewest jobs) among ``d`` queues sampled uniformly at
    random with replacement (``d=None``: all queues); ties broken uniformly at random.

    ``advice=True`` uses one bit of advice on the counts (queues served by a one-bit
    policy): a predicted-short job joins the sampled queue with the fewest predicted-short
    jobs, a predicted-long one the queue with the fewest jobs (ties by the other count).
    """

    kind = "jsq"

    def __init__(self, d=None, advice=False):
        self.d = _d(d)
        self.advice = bool(advice)

    def __repr__(self):
        return f"JSQ(d={self.d!r}" + (", advice=True)" if self.advice else ")")


class LeastWork(DispatchRule):
    """Join the queue with the least work left among ``d`` sampled queues (``d=None``:
    all). ``predicted=True``: the work as the dispatcher predicts it, the sum over a
    queue's jobs of their predicted size less the service they have had (at least 0)."""

    kind = "leastwork"

    def __init__(self, d=None, predicted=False):
        self.d = _d(d)
        self.predicted = bool(predicted)


class SITA(DispatchRule):
    """Size Interval Task Assignment: a job of size (``predicted=True``: predicted size)
    in [c_{i-1}, c_i) joins queue i, with cutoffs c_1 < ... < c_{n-1} (c_0 = 0,
    c_n = inf): n - 1 cutoffs for n queues."""

    kind = "sita"

    def __init__(self, cutoffs, predicted=False):
        try:
            c = np.asarray(cutoffs, float).ravel()
        except (TypeError, ValueError):
            raise ParameterError(f"cutoffs = {cutoffs!r} is invalid: pass increasing positive "
                                 "sizes, n - 1 of them for n queues.") from None
        if c.size == 0 or not np.all(np.isfinite(c)) or np.any(c <= 0) or np.any(np.diff(c) <= 0):
            raise ParameterError(f"cutoffs = {cutoffs!r} is invalid: pass increasing, positive, "
                                 "finite sizes, n - 1 of them for n queues (e.g. from "
                                 "qt.optimal_cutoffs).")
        self.cutoffs = tuple(float(v) for v in c)
        self.predicted = bool(predicted)

    def check(self, servers):
        if len(self.cutoffs) != servers - 1:
            raise ParameterError(f"cutoffs = {self.cutoffs!r} has {len(self.cutoffs)} values "
                                 f"for servers = {servers}: SITA needs servers - 1 = "
                                 f"{servers - 1} cutoffs (one size interval per queue).")

    @property
    def edges(self):
        """(0, c_1, ..., c_{n-1}, inf)."""
        return (0.0, *self.cutoffs, math.inf)

    def queue_of(self, v):
        """Queue index of jobs of size (or predicted size) ``v``."""
        return np.searchsorted(np.asarray(self.cutoffs), np.asarray(v, float), side="right")


RULES = {"random": Random, "roundrobin": RoundRobin, "jsq": JSQ, "leastwork": LeastWork,
         "ll": LeastWork, "sita": SITA}


def as_rule(rule):
    """A rule from an instance, a class, or a name such as ``"jsq:2"``."""
    if isinstance(rule, DispatchRule):
        return rule
    if isinstance(rule, type) and issubclass(rule, DispatchRule) and rule is not SITA:
        return rule()
    if isinstance(rule, str):
        name, _, arg = rule.strip().lower().partition(":")
        if name in RULES and RULES[name] is not SITA:
            cls = RULES[name]
            if not arg:
                return cls()
            if cls in (JSQ, LeastWork):
                try:
                    return cls(d=int(arg))
                except ValueError:
                    pass
        if name == "sita" and arg:
            try:
                return SITA([float(v) for v in arg.split(",")])
            except ValueError:
                pass
    raise ParameterError(f"rule = {rule!r} is invalid: pass qt.Random(), qt.RoundRobin(), "
                         "qt.JSQ(d), qt.LeastWork(d, predicted=...) or qt.SITA(cutoffs), or "
                         "a name: random, roundrobin, jsq[:d], ll[:d], sita:c1,c2,...")
