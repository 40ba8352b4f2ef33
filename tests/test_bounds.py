"""The uniform bounds of Scully, Grosof, Mitzenmacher (2022) on bounded-error models:
PSPJF's closed form (qtheory.formulas) must lie below 1.5 (alpha/beta) E[T_SRPT]."""

import pytest

import qtheory as qt
from qtheory.bounds import bounce_bound, error_range, pspjf_bound, uniform_bounds


@pytest.mark.parametrize("alpha", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("size", [qt.Exponential(1.0), qt.Uniform(0.2, 1.8)], ids=["exp", "unif"])
def test_pspjf_below_uniform_bound(alpha, size):
    q = qt.MG1(0.8 / size.mean, size, qt.UniformNoise(alpha))
    b = uniform_bounds(q)
    assert b["SRPT"] == pytest.approx(q.with_prediction(None).mean_response_time(qt.SRPT).value,
                                      rel=1e-9)
    assert q.mean_response_time(qt.PSPJF, method="formula").value <= b["PSPJF"]


def test_error_range_and_bad_input():
    assert error_range(qt.Perfect()) == (1.0, 1.0)
    assert error_range(qt.UniformNoise(0.25)) == (0.75, 1.25)
    assert bounce_bound(1.0, 1.0, 1.0) == 3.5
    with pytest.raises(qt.ParameterError, match="beta"):
        pspjf_bound(1.0, 1.2, 1.0)
    with pytest.raises(qt.ParameterError):
        error_range(qt.ExpNoise())
