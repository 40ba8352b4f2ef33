"""Units of time: a queue whose sizes are far from 1 is computed in units where they are
near 1, and the answer scaled back.

At a fixed load the mean response time scales linearly with the size scale: with
X = s Z and lambda = lambda_Z / s, E[T] = s E_Z[T]. The numeric methods work with
squares and densities of sizes and with absolute floors (1e-300, 1e-12): at scale 1e-300
E[X^2] underflows to 0 (FCFS by SOAP gave 1e-300 for 2e-300, by formula an
OverflowError), at 1e300 it overflows (PSJF on sizes {1e-300, 1e300}: inf +- nan), and
Lognormal(700, 2) (median e^700) gave NaN under Gittins. So
:meth:`MG1.mean_response_time` computes with sizes in units of a power of two s
(exact in binary: rates and bounds scale without rounding) whenever the size law's
scale lies outside [2^-16, 2^16], and multiplies the value and the error by s.

A queue can be rescaled when its size law, its prediction model and the policy's
parameters are all known here: every built-in size law, the scale-free prediction models
(Y = x Z: Perfect, ExpNoise, UniformNoise, LognormalNoise) and a Threshold on one, and
the policies without parameters in units of size (plus PriorityClasses, whose
thresholds are scaled). Anything else at such a scale is refused with a
:class:`~qtheory.core.errors.ParameterError` that names the size and the fix.

Sizes below 2^-1074 of the scale read as 0 in the new units (an Empirical law on
{1e-300, 1e300}): their share of the mean response time is below double precision.
"""

import math

import numpy as np

from ..core.errors import ParameterError
from ..laws import predictions as Pr
from ..laws import sizes as S
from ..policies import catalogue as C

#: Size scales outside [2^-LIMIT, 2^LIMIT] are computed in rescaled units.
LIMIT = 16
#: A discrete law whose largest value exceeds its mean by more than 2^SPREAD is refused:
#: its squares (and cubes, in variances) overflow whatever the unit.
SPREAD = 300


def _log2_unit(X):
    """log2 of a characteristic size of ``X`` (no squares, no overflow), or None."""
    t = type(X)
    with np.errstate(all="ignore"):
        if t is S.Exponential or t is S.Erlang:
            return -math.log2(X.rate)
        if t is S.Hyperexponential:
            return math.log2(float(np.sum(X.probs / X.rates)))
        if t is S.Uniform:
            return math.log2(X.high)
        if t is S.Weibull:
            return math.log2(X.scale_)
        if t is S.Lognormal:
            return X.mu / math.log(2)
        if t is S.BoundedPareto:
            return 0.5 * (math.log2(X.low) + math.log2(X.high))
        if t is S.Empirical or t is S.Deterministic:
            return math.log2(float(np.dot(X.weights, X.values)))
        if t is S.ScipyLaw:
            m = float(X.frozen.median())
            return math.log2(m) if m > 0 and math.isfinite(m) else None
    return None


def _size(X, k):
    """The law of X / 2^k."""
    s = 2.0 ** k
    t = type(X)
    if t is S.Exponential:
        return S.Exponential(X.rate * s)
    if t is S.Erlang:
        return S.Erlang(X.k, X.rate * s)
    if t is S.Hyperexponential:
        return S.Hyperexponential(X.probs, X.rates * s)
    if t is S.Uniform:
        return S.Uniform(X.low / s, X.high / s)
    if t is S.Weibull:
        return S.Weibull(X.shape, X.scale_ / s)
    if t is S.Lognormal:
        return S.Lognormal(X.mu - k * math.log(2), X.sigma)
    if t is S.BoundedPareto:
        return S.BoundedPareto(X.alpha, X.low / s, X.high / s)
    if t is S.Deterministic:
        return S.Deterministic(X.value / s)
    if t is S.Empirical:
        return S.Empirical(X.values / s, X.weights)
    if t is S.ScipyLaw:
        f = X.frozen
        shapes, loc, scale = f.dist._parse_args(*f.args, **f.kwds)
        return S.ScipyLaw(f.dist(*shapes, loc=loc / s, scale=scale / s))
    return None


_SCALE_FREE_PREDICTIONS = (Pr.Perfect, Pr.ExpNoise, Pr.UniformNoise, Pr.LognormalNoise)

_SCALE_FREE_POLICIES = (C.FCFS, C.LCFS, C.PS, C.SJF, C.PSJF, C.SRPT, C.FB, C.SPJF, C.PSPJF,
                        C.SPRPT, C.Trail, C.SPRPTBounce, C.OneBit, C.Gittins)

_MISSING = object()


def _prediction(pred, s):
    if pred is None or type(pred) in _SCALE_FREE_PREDICTIONS:
        return pred
    if type(pred) is Pr.Threshold and type(pred.noise) in _SCALE_FREE_PREDICTIONS:
        return Pr.Threshold(pred.T / s, pred.noise)
    return _MISSING


def _policy(p, s):
    if type(p) in _SCALE_FREE_POLICIES:
        return p
    if type(p) is C.PriorityClasses:
        return C.PriorityClasses([t / s for t in p.thresholds], p.preemptive)
    return _MISSING


def rescaled(q, policy):
    """``(q1, policy1, s)`` with q1 the queue ``q`` in units of s (a power of two) and
    policy1 the policy in those units, when the size law's scale lies outside
    [2^-LIMIT, 2^LIMIT]; ``None`` when it lies inside (compute as given).

    Raises
    ------
    ParameterError
        The scale is outside that range and the size law, prediction model or policy
        cannot be expressed in other units here.

    Examples
    --------
    >>> import qtheory as qt
    >>> q = qt.MG1(0.5e300, qt.Exponential(1e300))      # mean size 1e-300, load 0.5
    >>> q1, p1, s = rescaled(q, qt.FCFS())
    >>> s == 2.0 ** -997, round(q1.load, 12), round(q1.size.mean, 3)
    (True, 0.5, 1.339)
    >>> rescaled(qt.MG1(0.5, qt.Exponential(1.0)), qt.FCFS()) is None
    True
    """
    X = q.size
    lg = _log2_unit(X)
    if lg is None:
        # a law not known here: leave it alone unless its scale is extreme
        try:
            scale = float(X.scale)
        except (ArithmeticError, ValueError):
            scale = math.nan
        if math.isfinite(scale) and 2.0 ** -LIMIT <= scale <= 2.0 ** LIMIT:
            return None
        raise ParameterError(
            f"size = {X!r} has scale {scale:.3g}, outside [2^-{LIMIT}, 2^{LIMIT}], and is "
            "not a law qtheory can express in other units: give sizes in a unit where "
            "they are near 1 (divide sizes by their scale and multiply arrival_rate by it; "
            "the mean response time then comes out in that unit).")
    if not math.isfinite(lg):
        raise ParameterError(f"size = {X!r} has no finite positive scale; use sizes > 0.")
    k = int(round(lg)) if abs(lg) > LIMIT else 0
    if X.discrete and float(np.max(X.values)) / 2.0 ** k > 2.0 ** SPREAD:
        raise ParameterError(
            f"size = {X!r} spans too many orders of magnitude: its largest value is "
            f"{float(np.max(X.values)) / 2.0 ** k:.3g} times its mean, beyond 2^{SPREAD}, "
            "so its squares overflow in any unit; drop or cap the outliers, or split the "
            "trace into separate queues.")
    if k == 0:
        return None
    k = int(round(lg))
    s = 2.0 ** k
    X1 = _size(X, k)
    pred = _prediction(q.prediction, s)
    pol = _policy(policy, s)
    what = ("size law" if X1 is None else "prediction model" if pred is _MISSING
            else "policy" if pol is _MISSING else None)
    if what is not None:
        bad = {"size law": X, "prediction model": q.prediction, "policy": policy}[what]
        raise ParameterError(
            f"size = {X!r} has scale 2^{k} (about {s:.3g}), outside [2^-{LIMIT}, "
            f"2^{LIMIT}], where the numeric methods lose E[X^2] to under- or overflow, "
            f"and the {what} {bad!r} cannot be expressed in other units here: give sizes "
            "(and the policy's and prediction's size parameters) in a unit where they are "
            "near 1, multiplying arrival_rate by that unit.")
    return type(q)(q.arrival_rate * s, X1, pred), pol, s
