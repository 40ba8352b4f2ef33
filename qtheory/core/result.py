"""The answer of an analytic method: a value together with how far it may be off."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Result:
    """A number with its error estimate and the method that produced it.

    ``error`` is an absolute bound on the numerical error (quadrature, truncation);
    it is 0 for results that need no numerics. ``float(result)`` gives the value.

    Examples
    --------
    >>> r = Result(2.5, 1e-12, "formula", "FCFS")
    >>> float(r), r.method
    (2.5, 'formula')
    >>> r
    Result(2.5 ± 1e-12, method='formula', policy='FCFS')
    """

    value: float
    error: float = 0.0
    method: str = "formula"
    policy: str = ""
    details: dict = field(default_factory=dict, compare=False)

    def __float__(self):
        return float(self.value)

    def __repr__(self):
        return (f"Result({self.value:.10g} ± {self.error:.2g}, method={self.method!r}, "
                f"policy={self.policy!r})")

    @property
    def relative_error(self):
        """The error estimate relative to the value."""
        return abs(self.error / self.value) if self.value else float("inf")
