"""Uniform bounds for scheduling with bounded multiplicative prediction errors
(Scully, Grosof, Mitzenmacher 2022, "Uniform Bounds for Scheduling with Job Size
Estimates", arXiv 2110.00633; docs/theory/predictions.md).

When every prediction lies in [beta x, alpha x] (0 < beta <= 1 <= alpha), for any size
law and load:

* SPRPT-bounce: E[T] <= 3.5 (alpha / beta) E[T_SRPT]   (their Theorem 1.1);
* PSPJF:        E[T] <= 1.5 (alpha / beta) E[T_SRPT]   (their Theorem 1.2).
"""

import math

from ..core.errors import ParameterError

#: The constants of the two theorems, by policy name.
FACTORS = {"SPRPTBounce": 3.5, "PSPJF": 1.5}


def error_range(prediction):
    """(beta, alpha) with beta x <= Y <= alpha x for a bounded-error prediction model.

    Parameters
    ----------
    prediction : PredictionModel
        ``qt.Perfect()`` (1, 1), ``qt.UniformNoise(a)`` (1 - a, 1 + a), or any model
        declaring ``ratio_range = (beta, alpha)``.

    Returns
    -------
    tuple of float

    Examples
    --------
    >>> from qtheory.laws.predictions import UniformNoise
    >>> error_range(UniformNoise(0.5))
    (0.5, 1.5)
    """
    if prediction is None:
        return 1.0, 1.0
    if prediction.ratio_range is None:
        raise ParameterError(f"prediction = {prediction!r} has no bounded multiplicative error: "
                             "the uniform bounds need predictions in [beta x, alpha x] "
                             "(a model declaring ratio_range = (beta, alpha)).")
    beta, alpha = prediction.ratio_range
    return float(beta), float(alpha)


def uniform_bound(policy, srpt_mean, beta, alpha):
    """Upper bound FACTORS[policy] (alpha / beta) E[T_SRPT] on ``policy``'s mean response
    time when every prediction lies in [beta x, alpha x].

    Parameters
    ----------
    policy : {"SPRPTBounce", "PSPJF"}
    srpt_mean : float
        E[T] under SRPT for the same queue (sizes known).
    beta, alpha : float
        0 < beta <= 1 <= alpha.

    Returns
    -------
    float

    Examples
    --------
    >>> uniform_bound("PSPJF", 2.0, 0.5, 1.5)
    9.0
    """
    if policy not in FACTORS:
        raise ParameterError(f"policy = {policy!r} has no uniform bound: use one of "
                             f"{sorted(FACTORS)}.")
    if not (0 < beta <= 1 <= alpha < math.inf):
        raise ParameterError(f"beta = {beta!r}, alpha = {alpha!r} are invalid: they need "
                             "0 < beta <= 1 <= alpha < inf (predictions in [beta x, alpha x]).")
    return FACTORS[policy] * (alpha / beta) * float(srpt_mean)


def bounce_bound(srpt_mean, beta, alpha):
    """3.5 (alpha / beta) E[T_SRPT], the SPRPT-bounce bound (see :func:`uniform_bound`).

    Examples
    --------
    >>> bounce_bound(2.0, 0.5, 1.5)
    21.0
    """
    return uniform_bound("SPRPTBounce", srpt_mean, beta, alpha)


def pspjf_bound(srpt_mean, beta, alpha):
    """1.5 (alpha / beta) E[T_SRPT], the PSPJF bound (see :func:`uniform_bound`).

    Examples
    --------
    >>> pspjf_bound(2.0, 0.5, 1.5)
    9.0
    """
    return uniform_bound("PSPJF", srpt_mean, beta, alpha)


def uniform_bounds(q):
    """Both bounds for queue ``q`` (its prediction must have bounded error), with SRPT's
    mean computed on the same queue with sizes known.

    Returns
    -------
    dict
        ``{"SPRPTBounce": bound, "PSPJF": bound, "SRPT": E[T_SRPT]}``.

    Examples
    --------
    >>> import qtheory as qt
    >>> b = uniform_bounds(qt.MG1(0.5, qt.Exponential(1.0), qt.UniformNoise(0.5)))
    >>> round(b["PSPJF"] / b["SRPT"], 12)
    4.5
    """
    from ..policies.catalogue import SRPT
    beta, alpha = error_range(q.prediction)
    srpt = float(q.with_prediction(None).mean_response_time(SRPT, method="soap"))
    out = {name: uniform_bound(name, srpt, beta, alpha) for name in FACTORS}
    out["SRPT"] = srpt
    return out
