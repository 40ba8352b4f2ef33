"""The exceptions users see. Each names the parameter at fault and the fix."""

import math


class QTheoryError(Exception):
    """Base class of every error raised by qtheory."""


class ParameterError(QTheoryError, ValueError):
    """A parameter lies outside its domain.

    Examples
    --------
    >>> import qtheory as qt
    >>> qt.Exponential(rate=-1)
    Traceback (most recent call last):
    ...
    qtheory.core.errors.ParameterError: rate = -1 is invalid: it must be a positive finite number. ...
    """


class UnstableError(QTheoryError, ValueError):
    """The queue is not stable: the load rho is at least 1 (or capacity is exceeded)."""

    def __init__(self, rho, fix="lower arrival_rate or use smaller jobs so that rho < 1"):
        self.rho = rho
        super().__init__(f"the queue is unstable: load rho = {rho:.6g} >= 1; {fix}.")


class InfiniteMomentError(QTheoryError, ValueError):
    """A formula needs a moment of the size law that is infinite."""


class ConvergenceError(QTheoryError, ArithmeticError):
    """A numerical integral or root search did not reach the requested accuracy."""

    def __init__(self, what, value, error):
        self.value, self.error = value, error
        self._init = (what, value, error)
        super().__init__(
            f"{what} did not converge: value {value:.10g} with estimated error {error:.3g}; "
            "try a nearby parameter, a lighter-tailed law, or method='simulation'."
        )

    def __reduce__(self):   # raised in a worker process, re-raised in the parent
        return type(self), self._init


class BudgetError(ConvergenceError):
    """A computation ran out of its time budget (``max_time=``) before it finished."""

    def __init__(self, what, max_time, elapsed, stage=None, achieved=None, fix=None):
        self.max_time, self.elapsed, self.stage = max_time, elapsed, stage
        self.value, self.error = math.nan, achieved
        self._init = (what, max_time, elapsed, stage, achieved, fix)
        where = f" in {stage}" if stage else ""
        reached = ("" if achieved is None
                   else f"; relative error reached so far {achieved:.2g}")
        fix = fix or ("raise max_time, or use method='simulation' for an estimate with a "
                      "confidence interval")
        QTheoryError.__init__(
            self, f"{what} stopped at its time budget max_time = {max_time:g} s after "
            f"{elapsed:.3g} s{where}{reached}: {fix}.")


class MemoryLimitError(ConvergenceError):
    """A computation would need more memory than its limit (quadrature nodes by the
    hundreds of millions: a law whose spread, at this load, outgrows any grid)."""

    def __init__(self, what, needed, limit):
        self.value, self.error = math.nan, math.nan
        self._init = (what, needed, limit)
        QTheoryError.__init__(
            self, f"{what} needs {needed:.3g} quadrature nodes, above the limit of "
            f"{limit:.3g} (about {8 * limit / 2**30:.1g} GiB per array): the size law's "
            "spread at this load is beyond what the analytic grid can hold; use "
            "method='simulation' for an estimate with a confidence interval.")


class PolicyError(QTheoryError, ValueError):
    """A policy cannot be evaluated by the requested method or on this queue."""


class PredictionWarning(UserWarning):
    """A policy that ranks by predictions runs on a queue without a prediction model:
    predictions are taken as perfect (the prediction is the size)."""


class PerformanceWarning(UserWarning):
    """A computation takes a slow path (e.g. a rank function the compiled simulator loops
    cannot serve); the result is right, only slower."""


def warn(message, category):
    """``warnings.warn`` attributed to the first caller outside qtheory (the user's line),
    however deep inside the package the warning is raised."""
    import os
    import sys
    import warnings
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    level, frame = 2, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
