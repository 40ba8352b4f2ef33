"""Choosing thresholds: the best one-bit (or k-class) split of the predicted sizes.

A threshold T is a design choice: "short" iff the prediction is below T. The objective
(mean response time, or SkipPredict's cost) is minimised over log T: a coarse grid
brackets the minimum, then Brent's method refines it.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from ..core.errors import ParameterError, PolicyError
from ..policies.catalogue import OneBit, PriorityClasses, SkipPredict, as_policy
from ..laws.predictions import Threshold
from ..core.result import Result


@dataclass(frozen=True)
class Optimum:
    """The best threshold(s) and the mean response time (or cost) they achieve."""

    thresholds: tuple
    result: Result
    objective: float

    @property
    def T(self):
        return self.thresholds[0]


def _objective(q, policy):
    """A function of the thresholds returning (objective, result)."""
    from ..queues.mg1 import MG1
    if isinstance(policy, OneBit):
        noise = q.prediction.noise if isinstance(q.prediction, Threshold) else q.prediction

        def f(ts):
            r = MG1(q.arrival_rate, q.size, Threshold(ts[0], noise)).mean_response_time(policy)
            return r.value, r
    elif isinstance(policy, SkipPredict):
        def f(ts):
            p = SkipPredict(ts[0], policy.bit.noise, policy.cheap_cost, policy.expensive_cost,
                            policy.server_time)
            r = q.mean_response_time(p)
            return r.details.get("cost", r.value), r
    elif isinstance(policy, PriorityClasses):
        def f(ts):
            r = q.mean_response_time(PriorityClasses(sorted(ts), policy.preemptive))
            return r.value, r
    else:
        raise PolicyError(f"{policy.name} has no threshold to optimise: use qt.OneBit, "
                          "qt.SkipPredict or qt.PriorityClasses.")
    return f


def optimal_threshold(q, policy, bounds=None, grid=48):
    """The threshold T minimising the mean response time (SkipPredict: the cost).

    Parameters
    ----------
    q : MG1
        The queue; for ``OneBit`` its prediction is a ``Threshold`` (T is replaced) or
        the continuous model the bit is computed from.
    policy : OneBit, SkipPredict or PriorityClasses with one threshold
    bounds : (float, float), optional
        Search interval for T; default from 1e-4 to 50 times the mean size.

    Examples
    --------
    Perfect one-bit advice, Exp(1) sizes, preempt-any: T* = 1 + W0(lam / (e (1 - lam)))
    (Mitzenmacher 2021).

    >>> import qtheory as qt
    >>> from scipy.special import lambertw
    >>> q = qt.MG1(0.8, qt.Exponential(1.0), qt.Perfect())
    >>> opt = qt.optimal_threshold(q, qt.OneBit(preemptive=True))
    >>> exact = 1 + lambertw(0.8 / (math.e * 0.2)).real
    >>> bool(abs(opt.T - exact) < 1e-6)
    True
    """
    policy = as_policy(policy)
    f = _objective(q, policy)
    lo, hi = bounds or (1e-4 * q.size.mean, 50 * q.size.mean)
    if not 0 < lo < hi:
        raise ParameterError(f"bounds = {bounds!r} are invalid: need 0 < low < high.")
    logs = np.linspace(math.log(lo), math.log(hi), grid)
    vals = [f([math.exp(t)])[0] for t in logs]
    i = int(np.argmin(vals))
    a, b = logs[max(i - 1, 0)], logs[min(i + 1, grid - 1)]
    res = optimize.minimize_scalar(lambda t: f([math.exp(t)])[0], bounds=(a, b),
                                   method="bounded", options={"xatol": 1e-12})
    T = math.exp(res.x)
    value, result = f([T])
    return Optimum((T,), result, value)


def optimal_thresholds(q, k, preemptive=False, bounds=None):
    """The k - 1 thresholds of k priority classes minimising the mean response time.

    Examples
    --------
    >>> import qtheory as qt
    >>> q = qt.MG1(0.8, qt.Exponential(1.0), qt.ExpNoise())
    >>> two = qt.optimal_thresholds(q, 2).objective
    >>> three = qt.optimal_thresholds(q, 3).objective
    >>> three < two < float(q.mean_response_time(qt.FCFS))
    True
    """
    if int(k) != k or k < 1:
        raise ParameterError(f"k = {k!r} is invalid: the number of classes is an integer >= 1.")
    if k == 1:
        r = q.mean_response_time(PriorityClasses((), preemptive))
        return Optimum((), r, r.value)
    f = _objective(q, PriorityClasses((), preemptive))
    start = list(optimal_threshold(q, PriorityClasses((1.0,), preemptive), bounds).thresholds)
    # grow one class at a time, then polish all thresholds together in log space
    while len(start) < k - 1:
        start = sorted(start + [start[-1] * 2.0])
    res = optimize.minimize(lambda t: f(np.exp(t))[0], np.log(start), method="Nelder-Mead",
                            options={"xatol": 1e-9, "fatol": 1e-13, "maxiter": 4000})
    ts = tuple(sorted(float(t) for t in np.exp(res.x)))
    value, result = f(ts)
    return Optimum(ts, result, value)
