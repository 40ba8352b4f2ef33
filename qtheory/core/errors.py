"""The exceptions users see. Each names the parameter at fault and the fix."""


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
        super().__init__(
            f"{what} did not converge: value {value:.10g} with estimated error {error:.3g}; "
            "try a nearby parameter, a lighter-tailed law, or method='simulation'."
        )


class PolicyError(QTheoryError, ValueError):
    """A policy cannot be evaluated by the requested method or on this queue."""


class PredictionWarning(UserWarning):
    """A policy that ranks by predictions runs on a queue without a prediction model:
    predictions are taken as perfect (the prediction is the size)."""


class PerformanceWarning(UserWarning):
    """A computation takes a slow path (e.g. a rank function the compiled simulator loops
    cannot serve); the result is right, only slower."""
