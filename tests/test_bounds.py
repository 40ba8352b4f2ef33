"""The uniform bounds of Scully, Grosof, Mitzenmacher (2022, arXiv 2110.00633, Theorems 1.1
and 1.2; docs/theory/predictions.md) on random bounded-error prediction models: every prediction
lies in [beta x, alpha x], and

    E[T_SRPT] <= E[T_PSPJF] <= 1.5 (alpha / beta) E[T_SRPT],
    E[T_SRPT] <= E[T_bounce] <= 3.5 (alpha / beta) E[T_SRPT].

The lower ends hold because SRPT is optimal (Schrage 1968); PSPJF is computed twice, by
the SOAP engine and by the closed form, which must agree."""

import math

import numpy as np
import pytest

import qtheory as qt
from qtheory.analysis.bounds import (FACTORS, bounce_bound, error_range, pspjf_bound, uniform_bound,
                            uniform_bounds)
from qtheory.laws.predictions import PredictionModel


class BoxNoise(PredictionModel):
    """Y = x Z, Z piecewise uniform: probability ``probs[i]`` spread evenly on
    [edges[i], edges[i + 1]]. A bounded-error model with beta = edges[0], alpha =
    edges[-1]; its conditional partial moments are exact sums over the cells. It declares
    both (a scale family with a bounded ratio), as a user's model would."""

    scale_family = True

    def __init__(self, edges, probs):
        self.edges, self.probs = np.asarray(edges, float), np.asarray(probs, float)
        self.beta, self.alpha = float(self.edges[0]), float(self.edges[-1])
        self.ratio_range = (self.beta, self.alpha)
        self._cum = np.concatenate([[0.0], np.cumsum(self.probs)])

    def cdf(self, y, x):
        return np.interp(np.asarray(y, float) / x, self.edges, self._cum)

    def pdf(self, y, x):
        z = np.asarray(y, float) / x
        i = np.clip(np.searchsorted(self.edges, z, side="right") - 1, 0, len(self.probs) - 1)
        dens = self.probs[i] / np.diff(self.edges)[i]
        return np.where((z >= self.beta) & (z <= self.alpha), dens / x, 0.0)

    def sample(self, x, rng):
        x = np.asarray(x, float)
        i = rng.choice(len(self.probs), size=x.shape, p=self.probs)
        return x * rng.uniform(self.edges[i], self.edges[i + 1])

    def kinks(self, y):
        # where y / x or (x + y) / x crosses an edge (the latter in the old work x + y)
        e = self.edges
        return tuple(y / e) + tuple(y / (e[e > 1] - 1))

    def partial_moments(self, x, lo, hi):
        x, lo, hi = np.broadcast_arrays(*(np.asarray(v, float) for v in (x, lo, hi)))
        out = [np.zeros(x.shape) for _ in range(3)]
        for p, a, b in zip(self.probs, self.edges[:-1], self.edges[1:]):
            l, h = np.maximum(lo, a * x), np.minimum(hi, b * x)
            inside = h > l
            l, h = np.where(inside, l, 0.0), np.where(inside, h, 0.0)
            for k in range(3):
                out[k] = out[k] + np.where(inside, p / ((b - a) * x) * (h ** (k + 1) - l ** (k + 1))
                                           / (k + 1), 0.0)
        return tuple(out)


def random_model(seed):
    rng = np.random.default_rng(seed)
    beta, alpha = rng.uniform(0.3, 0.9), rng.uniform(1.1, 2.5)
    edges = np.sort(np.concatenate([[beta, alpha], rng.uniform(beta, alpha, 3)]))
    return BoxNoise(edges, rng.dirichlet(np.ones(4)))


@pytest.mark.parametrize("seed, size, load", [
    (1, qt.Exponential(1.0), 0.8),
    (2, qt.Weibull(2.0, 1.0), 0.6),
    pytest.param(3, qt.Uniform(0.2, 1.8), 0.9, marks=pytest.mark.slow),
    pytest.param(4, qt.Lognormal.from_mean(1.0, 1.0), 0.7, marks=pytest.mark.slow),
])
def test_bounds_hold_on_random_bounded_error_models(seed, size, load):
    pred = random_model(seed)
    q = qt.MG1(load / size.mean, size, pred)
    b = uniform_bounds(q)
    srpt = q.with_prediction(None).mean_response_time(qt.SRPT, method="formula").value
    assert b["SRPT"] == pytest.approx(srpt, rel=1e-6)
    pspjf = q.mean_response_time(qt.PSPJF, method="soap").value
    assert pspjf == pytest.approx(q.mean_response_time(qt.PSPJF, method="formula").value,
                                  rel=1e-6)
    bounce = q.mean_response_time(qt.SPRPTBounce, method="soap").value
    assert srpt <= pspjf <= b["PSPJF"]
    assert srpt <= bounce <= b["SPRPTBounce"]
    assert b["PSPJF"] == pytest.approx(1.5 * pred.alpha / pred.beta * srpt, rel=1e-6)


def test_box_noise_moments_match_its_density():
    # the test model itself: partial moments against a Riemann sum of its density
    m = random_model(5)
    x, lo, hi = 1.3, 0.5, 2.0
    y = np.linspace(lo, hi, 400001)[1:]
    dy = y[1] - y[0]
    for k, mk in enumerate(m.partial_moments(x, lo, hi)):
        assert float(mk) == pytest.approx(np.sum(y**k * m.pdf(y, x)) * dy, rel=1e-4)
    assert float(m.cdf(m.alpha * x, x)) == 1.0 and float(m.cdf(m.beta * x, x)) == 0.0


def test_error_range_and_bad_input():
    assert error_range(qt.Perfect()) == (1.0, 1.0)
    assert error_range(qt.UniformNoise(0.25)) == (0.75, 1.25)
    assert error_range(random_model(1))[0] == random_model(1).beta
    assert bounce_bound(1.0, 1.0, 1.0) == 3.5 and pspjf_bound(1.0, 0.5, 1.0) == 3.0
    assert set(FACTORS) == {"SPRPTBounce", "PSPJF"}
    with pytest.raises(qt.ParameterError, match="beta"):
        pspjf_bound(1.0, 1.2, 1.0)
    with pytest.raises(qt.ParameterError, match="alpha"):
        bounce_bound(1.0, 0.5, math.inf)
    with pytest.raises(qt.ParameterError, match="SRPT"):
        uniform_bound("SRPT", 1.0, 0.5, 1.5)
    with pytest.raises(qt.ParameterError):
        error_range(qt.ExpNoise())
