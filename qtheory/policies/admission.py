"""How a continuous-batching server admits requests into its running batch.

An LLM server (:class:`qtheory.queues.continuous.ContinuousBatching`) forms a new batch
every iteration; its policy says which waiting requests join and, when the KV cache
overflows, which running request leaves. The policies are objects, as on the M/G/1 side:

* ``qt.FCFS`` — first come first served; the head request is admitted only if the
  batch's *future peak* KV memory (outputs known) fits, so nothing is ever evicted.
* ``qt.Reserve(max_output=None)`` — FCFS, reserving s + o_max tokens per request up
  front (o_max: the largest output unless given).
* ``qt.Evict()`` — vLLM-style: FCFS while the current KV fits; on overflow the
  latest-arrived running request is evicted, keeps its progress and recomputes its
  tokens when it returns.
* ``qt.Trail(c)`` — shortest predicted remaining output first (rank y − j) with
  limited preemption: a running request is preemptable while j ≤ c·y (Shahout et al.,
  ICLR 2025); y comes from the queue's prediction model.

Examples
--------
>>> import qtheory as qt
>>> as_admission(qt.Trail(0.5))
Admission(code='spf', c=0.5, max_output=None, name='Trail(c=0.5)')
>>> as_admission(qt.Reserve(max_output=512)).max_output
512
"""

import warnings
from dataclasses import dataclass
from typing import Optional

from ..core.errors import ParameterError
from .catalogue import FCFS, Trail


@dataclass(frozen=True)
class Admission:
    """What the continuous-batching simulator runs: its discipline ``code`` (one of
    "fcfs", "reserve", "evict", "spf"), Trail's c and Reserve's o_max."""

    code: str
    c: float = 1.0
    max_output: Optional[int] = None
    name: str = ""


class Reserve:
    """FCFS admission reserving s + o_max KV tokens per request (no eviction, no peak
    accounting): the conservative rule of early servers."""

    def __init__(self, max_output: Optional[int] = None):
        if max_output is not None and (int(max_output) != max_output or max_output < 1):
            raise ParameterError(f"max_output = {max_output!r} is invalid: give a positive "
                                 "integer number of tokens, or None for the largest output.")
        self.max_output = None if max_output is None else int(max_output)

    def __repr__(self):
        return "Reserve()" if self.max_output is None else f"Reserve(max_output={self.max_output})"


class Evict:
    """FCFS admission on the current KV use; on overflow the latest-arrived running
    request is evicted, keeps its progress j and recomputes its s + j tokens when it
    returns, first in line (vLLM's recompute)."""

    def __repr__(self):
        return "Evict()"


_STRINGS = {"fcfs": "qt.FCFS", "reserve": "qt.Reserve()", "evict": "qt.Evict()",
            "spf": "qt.Trail(c)"}


def as_admission(policy, trail_c=None, max_output=None) -> Admission:
    """The admission rule of a continuous-batching policy object.

    The strings of earlier releases ("fcfs", "reserve", "evict", "spf" with ``trail_c=``)
    still work, with a DeprecationWarning naming the object to use.
    """
    if isinstance(policy, str):
        if policy not in _STRINGS:
            raise ParameterError(f"policy = {policy!r} is invalid: use qt.FCFS, qt.Reserve(), "
                                 "qt.Evict() or qt.Trail(c).")
        warnings.warn(f"policy = {policy!r} is deprecated: pass {_STRINGS[policy]}.",
                      DeprecationWarning, stacklevel=3)
        policy = {"fcfs": FCFS, "reserve": Reserve(max_output), "evict": Evict(),
                  "spf": Trail(1.0 if trail_c is None else trail_c)}[policy]
    elif trail_c is not None:
        raise ParameterError("trail_c is only for the deprecated policy = 'spf': pass "
                             f"qt.Trail({trail_c}) as the policy instead.")
    if isinstance(policy, type) and policy is FCFS:
        policy = FCFS()
    if isinstance(policy, FCFS):
        return Admission("fcfs", name="FCFS")
    if isinstance(policy, Trail):
        return Admission("spf", float(policy.c), name=repr(policy))
    if isinstance(policy, Evict):
        return Admission("evict", name=repr(policy))
    if isinstance(policy, Reserve):
        cap = policy.max_output if policy.max_output is not None else max_output
        return Admission("reserve", max_output=cap, name=repr(policy))
    raise ParameterError(f"policy = {policy!r} is not a continuous-batching policy: use "
                         "qt.FCFS, qt.Reserve(), qt.Evict() or qt.Trail(c).")
