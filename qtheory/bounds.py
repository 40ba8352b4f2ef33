"""Uniform bounds for scheduling with bounded multiplicative prediction errors
(Scully, Grosof, Mitzenmacher 2022, "Uniform Bounds for Scheduling with Job Size
Estimates", arXiv 2110.00633; MATH.md section 6).

When every prediction lies in [beta x, alpha x] (0 < beta <= 1 <= alpha), for any size
law and load:

* SPRPT-bounce: E[T] <= 3.5 (alpha / beta) E[T_SRPT]   (their Theorem 1.1);
* PSPJF:        E[T] <= 1.5 (alpha / beta) E[T_SRPT]   (their Theorem 1.2).
"""

import math

from .errors import ParameterError
from .predictions import Perfect, UniformNoise

#: The constants of the two theorems.
BOUNCE_FACTOR, PSPJF_FACTOR = 3.5, 1.5


def error_range(prediction):
    """(beta, alpha) with beta x <= Y <= alpha x for a bounded-error prediction model.

    Parameters
    ----------
    prediction : PredictionModel
        ``qt.Perfect()`` (1, 1), ``qt.UniformNoise(a)`` (1 - a, 1 + a), or any object
        with attributes ``beta`` and ``alpha``.

    Returns
    -------
    tuple of float

    Examples
    --------
    >>> from qtheory.predictions import UniformNoise
    >>> error_range(UniformNoise(0.5))
    (0.5, 1.5)
    """
    if prediction is None or isinstance(prediction, Perfect):
        return 1.0, 1.0
    if isinstance(prediction, UniformNoise):
        return 1.0 - prediction.alpha, 1.0 + prediction.alpha
    beta, alpha = getattr(prediction, "beta", None), getattr(prediction, "alpha", None)
    if beta is None or alpha is None:
        raise ParameterError(f"prediction = {prediction!r} has no bounded multiplicative error: "
                             "the uniform bounds need predictions in [beta x, alpha x].")
    return float(beta), float(alpha)


def _factor(beta, alpha):
    if not (0 < beta <= 1 <= alpha < math.inf):
        raise ParameterError(f"beta = {beta!r}, alpha = {alpha!r} are invalid: they need "
                             "0 < beta <= 1 <= alpha < inf (predictions in [beta x, alpha x]).")
    return alpha / beta


def bounce_bound(srpt_mean, beta, alpha):
    """Upper bound 3.5 (alpha / beta) E[T_SRPT] on SPRPT-bounce's mean response time.

    Parameters
    ----------
    srpt_mean : float
        E[T] under SRPT for the same queue (sizes known).
    beta, alpha : float
        Predictions lie in [beta x, alpha x], 0 < beta <= 1 <= alpha.

    Returns
    -------
    float

    Examples
    --------
    >>> bounce_bound(2.0, 0.5, 1.5)
    21.0
    """
    return BOUNCE_FACTOR * _factor(beta, alpha) * float(srpt_mean)


def pspjf_bound(srpt_mean, beta, alpha):
    """Upper bound 1.5 (alpha / beta) E[T_SRPT] on PSPJF's mean response time.

    Parameters
    ----------
    srpt_mean : float
        E[T] under SRPT for the same queue.
    beta, alpha : float
        Predictions lie in [beta x, alpha x], 0 < beta <= 1 <= alpha.

    Returns
    -------
    float

    Examples
    --------
    >>> pspjf_bound(2.0, 0.5, 1.5)
    9.0
    """
    return PSPJF_FACTOR * _factor(beta, alpha) * float(srpt_mean)


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
    from .policies import SRPT
    beta, alpha = error_range(q.prediction)
    srpt = float(q.with_prediction(None).mean_response_time(SRPT, method="soap"))
    return {"SPRPTBounce": bounce_bound(srpt, beta, alpha), "PSPJF": pspjf_bound(srpt, beta, alpha),
            "SRPT": srpt}
