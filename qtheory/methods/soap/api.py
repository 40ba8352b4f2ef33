"""Public entry points of the SOAP engine: mean, per-size and per-size-curve response times."""

import numpy as np

from ...core.errors import ParameterError, PolicyError
from ...core.result import Result
from ...laws.predictions import Perfect
from ...policies.base import as_policy
from .engine import Engine
from .envelope import _HFunction, envelope
from .rules import _S32, _W32


def soap_policy(q, policy):
    """The policy as the queue defines it, checked to be a SOAP policy."""
    pol = as_policy(policy).bind(q)
    if pol.rank is None or pol.arrival_order:
        raise PolicyError(f"{pol.name} is not a SOAP policy (it has no rank function); "
                          "use method='formula' or method='simulation'.")
    return pol


def soap_mean_response_time(q, policy, y_pieces=None):
    """E[T] of ``policy`` on ``q`` from the SOAP theorem.

    Parameters
    ----------
    q : qtheory.MG1
    policy : Policy
        Any SOAP policy: a catalogue policy, ``qt.Gittins`` or ``qt.Rank(fn)``.
    y_pieces : int, optional
        Number of equal-probability pieces of the prediction's law in the outer
        quadrature (default 12); raise it for more accuracy on unusual laws.

    Returns
    -------
    Result
        ``value`` with ``error`` an estimate of the absolute quadrature error
        (difference of nested Gauss rules plus the interpolation and table errors).

    Examples
    --------
    >>> import qtheory as qt
    >>> q = qt.MG1(0.5, qt.Exponential(1.0))
    >>> r = soap_mean_response_time(q, qt.FCFS())     # P-K: 1 + 0.5 * 2 / (2 * 0.5) = 2
    >>> round(r.value, 10), r.method
    (2.0, 'soap')
    """
    policy = as_policy(policy)
    eng = Engine(q, soap_policy(q, policy), y_pieces=y_pieces)
    value, error = eng.mean()
    cost = policy.prediction_cost(q)
    details = {} if cost is None else {"cost": value + cost}
    return Result(float(value), float(error), "soap", policy.name, details)


def soap_response_time(q, policy, x, y=None, bit=None):
    """E[T(x, y)] from the SOAP theorem, vectorised over sizes ``x``.

    Parameters
    ----------
    q : qtheory.MG1
    policy : Policy
    x : float or array
        True sizes.
    y : float, optional
        The descriptor the scheduler sees: the prediction (or the bit, 0 short / 1 long,
        for one-bit policies). Ignored for policies that see the size or nothing.
    bit : {0, 1}, optional
        SkipPredict only: the cheap bit of the job.

    Returns
    -------
    float or ndarray
        E[T(x, y)] (an array when ``x`` is one).

    Examples
    --------
    >>> import qtheory as qt
    >>> q = qt.MG1(0.5, qt.Exponential(1.0))
    >>> float(soap_response_time(q, qt.PSJF(), 0.0))   # a size-0 job waits for nothing
    0.0
    """
    pol = soap_policy(q, policy)
    eng = Engine(q, pol)
    xa = np.asarray(x, float)
    if np.any(~np.isfinite(xa)) or np.any(xa < 0):
        raise ParameterError(f"size = {x!r} is invalid: sizes must be finite numbers >= 0.")
    xs = xa.ravel()
    yy = float(xs[0]) if y is None else float(y)
    parts = np.asarray(pol.part_at(xs, yy, bit), int)
    out, work = np.empty(xs.size), np.empty(xs.size)
    for k in np.unique(parts):
        sel = parts == k
        comp = eng.components[k]
        d = {"size": xs[sel], "fixed": np.full(sel.sum(), comp.fixed),
             "cond": np.full(sel.sum(), yy)}[comp.kind]
        work[sel] = xs[sel] + comp.shift
        out[sel] = _tagged(eng, envelope(eng.profile(comp, d), work[sel]))
    out = np.where(work > 0, out, 0.0)   # no work: done on arrival
    return float(out[0]) if np.ndim(x) == 0 else out.reshape(xa.shape)


def _tagged(eng, env):
    eng.prepare([env])
    h = _HFunction(eng, [env])
    Nv, O0, Sv = eng.exact(*env["r0"])
    lam = eng.lam
    return lam * Sv / (2 * (1 - lam * O0) * (1 - lam * Nv)) + h.residence(env)


def soap_response_curve(q, policy, x):
    """E[T(x)] averaged over the prediction given the size, vectorised over ``x``:
    E[T(x)] = integral of h(y | x) E[T(x, y)] dy (the size itself for policies that see
    the size or nothing).

    Examples
    --------
    >>> import qtheory as qt
    >>> q = qt.MG1(0.5, qt.Exponential(1.0))
    >>> [round(float(v), 10) for v in soap_response_curve(q, qt.FCFS(), [1.0, 2.0])]
    [2.0, 3.0]
    """
    policy = as_policy(policy)
    xa = np.atleast_1d(np.asarray(x, float))
    pred = q.prediction
    if policy.descriptor != "prediction" or pred is None or isinstance(pred, Perfect) \
            or len(policy.parts(pred)) > 1:
        if policy.descriptor == "bit":
            p = np.asarray(pred.short_prob(xa), float)
            return (p * soap_response_time(q, policy, xa, 0.0)
                    + (1 - p) * soap_response_time(q, policy, xa, 1.0))
        return np.atleast_1d(soap_response_time(q, policy, xa))
    eng = Engine(q, soap_policy(q, policy))
    fast = eng.fast(eng.components[0]) if len(eng.components) == 1 else None
    if fast is not None:   # every (x, y) node in one pass, y | x on the engine's pieces
        xi, ys, w16, _ = fast.y_nodes(xa)
        keep = w16 != 0
        xi, ys, w16 = xi[keep], ys[keep], w16[keep]
        env = envelope(eng.profile(fast.comp, ys), xa[xi] + fast.shift)
        t = np.where(xa[xi] > 0, _tagged(eng, env), 0.0)
        return np.bincount(xi, w16 * t, xa.size)
    out = np.empty(xa.size)
    for i, xv in enumerate(xa):
        # E over y | x by Gauss pieces on the conditional quantiles of y
        u = np.concatenate([(_S32 * 0.5), 0.5 + 0.5 * _S32])
        wts = np.concatenate([_W32 / 4, _W32 / 4])
        ys = _cond_quantile(pred, xv, u)
        vals = np.array([soap_response_time(q, policy, xv, yv) for yv in ys])
        out[i] = float(np.dot(wts, vals))
    return out


def _cond_quantile(pred, x, u):
    from scipy.optimize import brentq
    out = []
    for p in u:
        hi = 2 * x + 1.0
        while float(pred.cdf(hi, x)) < p:
            hi *= 2
        out.append(brentq(lambda y: float(pred.cdf(y, x)) - p, 0.0, hi, xtol=1e-14))
    return np.array(out)
