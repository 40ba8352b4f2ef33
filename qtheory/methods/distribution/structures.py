"""What the other jobs bring against a tagged job of size x, policy by policy: the closed
structures that give the response-time transform without the generic SOAP engine
(docs/theory/distributions.md, "Fast paths"). Each entry reads the policy's declared
parameters only; the structure is that of its rank (docs/theory/soap.md's table).

=========================  ==============  ==================  =========  ============
policy                     old X_0         vacations X_i       new        residence
=========================  ==============  ==================  =========  ============
FCFS                       X               —                   —          none
LCFS (preemptive)          —               —                   X          same level
FB                         min(X, x)       —                   min(X, x)  same level
PSJF                       X 1{X ≤ x}      —                   X 1{X < x} same level
SRPT                       X 1{X ≤ x}      x 1{X > x}          X 1{X < x} descending
SJF                        X 1{X ≤ x}      X 1{X > x}          X 1{X < x} none
classes, non-preemptive    X 1{X < t_c}    X 1{X ≥ t_c}        X 1{X < t_{c−1}} none
classes, preemptive        X 1{X < t_c}    —                   X 1{X < t_{c−1}} same level
=========================  ==============  ==================  =========  ============

(classes: the tagged job's class is t_{c−1} ≤ x < t_c, Perfect predictions; SPJF, PSPJF,
SPRPT and the one-bit policies with Perfect predictions are the size-based rows.)
"""

import numpy as np

from ...core.errors import PolicyError
from ...laws.predictions import Threshold, is_noisy
from ...policies.catalogue import (
    FB,
    FCFS,
    LCFS,
    PSJF,
    PSPJF,
    SJF,
    SPJF,
    SPRPT,
    SRPT,
    OneBit,
    PriorityClasses,
)
from .tagged import DESCENDING, NONE, SAME, Decomposition
from .work import Above, Below, Capped, Fixed, Nothing

INF = np.inf


def _fcfs(law, x, policy, prediction):
    return Decomposition(x, Below(law, INF), Nothing(), NONE)


def _lcfs(law, x, policy, prediction):
    return Decomposition(x, Nothing(), Below(law, INF), SAME)


def _fb(law, x, policy, prediction):
    return Decomposition(x, Capped(law, x), Capped(law, x), SAME)


def _psjf(law, x, policy, prediction):
    return Decomposition(x, Below(law, x), Below(law, x, strict=True), SAME)


def _srpt(law, x, policy, prediction):
    over = 1 - Below(law, x).moment(0)
    return Decomposition(x, Below(law, x), Below(law, x, strict=True), DESCENDING,
                         [Fixed(x, over)], new_at=lambda level: Below(law, level, strict=True))


def _sjf(law, x, policy, prediction):
    return Decomposition(x, Below(law, x), Below(law, x, strict=True), NONE, [Above(law, x)])


def _classes(law, x, thresholds, preemptive):
    t = np.asarray(sorted(float(v) for v in thresholds), float)
    x = np.asarray(x, float)
    i = np.searchsorted(t, x, side="right")     # the class of x: t[i-1] <= x < t[i]
    upper = np.where(i < t.size, t[np.minimum(i, t.size - 1)], INF)
    lower = np.where(i > 0, t[np.maximum(i - 1, 0)], 0.0)
    old, new = Below(law, upper, strict=True), Below(law, lower, strict=True)
    if preemptive:
        return Decomposition(x, old, new, SAME)
    return Decomposition(x, old, new, NONE, [Above(law, upper, inclusive=True)])


def _priority(law, x, policy, prediction):
    return _classes(law, x, policy.thresholds, policy.preemptive == "resume")


def _one_bit(law, x, policy, prediction):
    return _classes(law, x, (prediction.T,), policy.preemptive == "resume")


STRUCTURES = {FCFS: _fcfs, LCFS: _lcfs, FB: _fb, PSJF: _psjf, PSPJF: _psjf, SRPT: _srpt,
              SPRPT: _srpt, SJF: _sjf, SPJF: _sjf, PriorityClasses: _priority, OneBit: _one_bit}
#: Policies whose structure above holds only when predictions are the true sizes.
_BY_PREDICTION = (PSPJF, SPRPT, SPJF, PriorityClasses, OneBit)


#: Policies whose new work depends on the tagged size itself (a busy period per size).
SIZE_DEPENDENT = (FB, PSJF, PSPJF, SRPT, SPRPT, SJF, SPJF)


def structure(policy, prediction):
    """The decomposition builder ``(law, x) -> Decomposition`` of a policy, or a
    PolicyError saying why there is none."""
    rule = STRUCTURES.get(type(policy))
    if rule is None:
        raise PolicyError(f"{policy.name}: no closed response-time structure; use "
                          "method='soap' (the generic SOAP transform) or simulation.")
    if isinstance(policy, OneBit):
        if not isinstance(prediction, Threshold):
            raise PolicyError("OneBit needs a Threshold prediction model (qt.Threshold(T)).")
        if policy.preemptive is True:
            raise PolicyError("OneBit(preemptive=True) serves the short jobs LCFS: its "
                              "response-time distribution has no fast path yet; simulate it.")
    if isinstance(policy, _BY_PREDICTION):
        if is_noisy(prediction):
            raise PolicyError(f"{policy.name} with {prediction!r}: no closed structure under "
                              "noisy predictions; simulate it.")
    return lambda law, x: rule(law, x, policy, prediction)


def size_jumps(policy, prediction):
    """The sizes at which T_x jumps: the class thresholds (a job just above one waits for
    a whole class more), where integrals over the size must be cut."""
    if isinstance(policy, PriorityClasses):
        return tuple(float(t) for t in policy.thresholds)
    if isinstance(policy, OneBit) and isinstance(prediction, Threshold):
        return (float(prediction.T),)
    return ()
