"""M/G_k^(a,b)/1 batch queue: exact chain ≡ PGF roots ≡ simulation, and the closed forms."""

import math

import numpy as np
import pytest
import scipy.stats as st
import sympy

import qtheory as qt
from qtheory.queues.batch import (BatchQueue, inoue_bound, inoue_phi0, inoue_phi1,
                           mg1_clipped_mean_response_time, mm_ab1_mean_response_time)
from qtheory.core.errors import ParameterError, PolicyError, UnstableError

V100 = (0.1438, 1.8874)   # Inoue 2021: ResNet-50 on V100, batch time α b + τ0 (ms)
P4 = (0.5833, 1.4284)     # Inoue 2021: P4 INT8


def affine(alpha, tau0):
    return lambda k: alpha * k + tau0


# (name, arrival rate, batch_time, b, a)
CASES = [
    ("affine det b=8", 2.37, affine(*V100), 8, 1),
    ("WAIT a=b=4 det", 1.2, affine(0.3, 1.0), 4, 4),
    ("Erlang(2) k-dependent, a=3 b=5", 1.5, lambda k: qt.Erlang(2, 2 / (0.25 * k + 1)), 5, 3),
    ("two-point k-dependent a=2 b=6", 2.0, lambda k: qt.Empirical([0.3 * k + 0.5,
                                                                    0.3 * k + 1.5]), 6, 2),
    ("hyperexponential k-independent b=3", 1.6,
     qt.Hyperexponential.balanced(1.2, 3.0), 3, 1),
]


def test_reference_value_math_md():
    # docs/theory/batch.md: own computation, independent of this code; E[T] = 5.52148
    q = BatchQueue(2.37, affine(*V100), max_batch=8)
    assert q.mean_response_time().value == pytest.approx(5.52148, abs=5e-6)


@pytest.mark.parametrize("name,lam,bt,b,a", CASES, ids=[c[0] for c in CASES])
def test_chain_equals_roots(name, lam, bt, b, a):
    q = BatchQueue(lam, bt, max_batch=b, min_batch=a)
    chain = q.mean_response_time(method="chain")
    roots = q.mean_response_time(method="roots")
    assert abs(chain.value - roots.value) < 1e-9
    assert chain.error < 1e-9
    # the chain's two routes to E[T] (level crossing and area per cycle) agree as well
    assert chain.details["T_area"] == pytest.approx(chain.value, abs=1e-9)
    assert q.mean_batch_size("chain") == pytest.approx(q.mean_batch_size("roots"), abs=1e-9)
    assert q.utilisation("chain") == pytest.approx(q.utilisation("roots"), abs=1e-9)


@pytest.mark.parametrize("name,lam,bt,b,a", CASES, ids=[c[0] for c in CASES])
def test_exact_agrees_with_simulation(name, lam, bt, b, a):
    q = BatchQueue(lam, bt, max_batch=b, min_batch=a)
    s = q.simulate(jobs=100_000, replications=8, seed=11)
    assert abs(s.z(q.mean_response_time().value)) < 4
    assert abs(s.z(q.mean_wait().value, "W")) < 4
    assert abs(s.z(q.mean_batch_size(), "batch_size")) < 4
    assert abs(s.z(q.utilisation(), "utilisation")) < 4


def test_large_cap_is_fast_and_matches_roots():
    b = 64
    lam = 0.95 * b / (V100[0] * b + V100[1])
    q = BatchQueue(lam, affine(*V100), max_batch=b)
    assert abs(q.mean_response_time().value - q.mean_response_time(method="roots").value) < 1e-9


@pytest.mark.parametrize("alpha,tau0", [V100, P4])
@pytest.mark.parametrize("frac", [0.1, 0.3, 0.5, 0.7, 0.9, 0.97])
def test_inoue_bound_is_above_exact(alpha, tau0, frac):
    lam = frac / alpha
    q = BatchQueue.affine(lam, alpha, tau0)   # b = inf, a = 1
    exact = q.mean_response_time().value
    ub = q.mean_response_time(method="bound").value
    assert ub >= exact - 1e-9
    assert ub == pytest.approx(min(inoue_phi0(lam, alpha, tau0), inoue_phi1(lam, alpha, tau0)))


def test_inoue_bound_symbolic():
    lam, a, t = sympy.symbols("lambda alpha tau0", positive=True)
    expr = inoue_bound(lam, a, t)
    assert isinstance(expr, sympy.Basic)
    num = float(expr.subs({lam: 3.0, a: V100[0], t: V100[1]}))
    assert num == pytest.approx(inoue_bound(3.0, *V100), rel=1e-12)


@pytest.mark.parametrize("a,b", [(1, 1), (1, 3), (2, 4), (3, 3), (2, math.inf)])
def test_mm_ab1_closed_form_vs_chain(a, b):
    lam = 0.7 if b == 1 else 2.2
    q = BatchQueue(lam, qt.Exponential(1.0), max_batch=b, min_batch=a)
    closed = q.mean_response_time(method="formula").value
    assert closed == pytest.approx(mm_ab1_mean_response_time(lam, 1.0, a, b), rel=1e-14)
    assert abs(closed - q.mean_response_time().value) < 1e-9


def test_mm11_textbook():
    # M/M/1: E[T] = 1/(mu - lambda)
    assert mm_ab1_mean_response_time(0.6, 1.5, 1, 1) == pytest.approx(1 / 0.9, rel=1e-13)


def test_mm_ab1_symbolic_b2():
    lam, mu = sympy.symbols("lambda mu", positive=True)
    expr = BatchQueue(lam, qt.Exponential(mu), max_batch=2, min_batch=2).mean_response_time()
    assert isinstance(expr, sympy.Basic)
    assert float(expr.subs({lam: 1.3, mu: 1.0})) == pytest.approx(
        mm_ab1_mean_response_time(1.3, 1.0, 2, 2), rel=1e-12)


def test_md1_pollaczek_khinchine():
    # b = 1: M/D/1, E[T] = S + λS²/(2(1-ρ)) (textbook)
    q = BatchQueue(0.8, 1.0, max_batch=1)
    assert q.mean_response_time().value == pytest.approx(1 + 0.8 / (2 * 0.2), abs=1e-10)


def test_clipped_output_mg1_vs_chain():
    # S = t_pre + t_tok min(O, L) as its own law on the batch-size-1 chain
    out, L, t_pre, t_tok, lam = qt.Empirical([10, 50, 120, 400], [4, 3, 2, 1]), 200, 2.0, 0.05, 0.08
    closed = mg1_clipped_mean_response_time(lam, t_pre, t_tok, out, L)
    law = qt.Empirical(t_pre + t_tok * np.minimum(out.values, L), out.weights)
    chain = BatchQueue(lam, law, max_batch=1).mean_response_time().value
    assert abs(closed - chain) < 1e-9


def test_scipy_law_matches_qtheory_law():
    # a frozen scipy gamma(2) and qt.Erlang(2) are the same law: same E[T]
    g = BatchQueue(1.5, lambda k: st.gamma(2, scale=(0.25 * k + 1) / 2), 5, 3)
    e = BatchQueue(1.5, lambda k: qt.Erlang(2, 2 / (0.25 * k + 1)), 5, 3)
    assert abs(g.mean_response_time().value - e.mean_response_time().value) < 1e-8


def test_from_memory_sets_cap():
    q = BatchQueue.from_memory(2.37, memory=80e9, job_memory=10e9, batch_time=affine(*V100))
    assert q.max_batch == 8
    assert q.mean_response_time().value == pytest.approx(5.52148, abs=5e-6)


def test_unstable_names_capacity():
    with pytest.raises(UnstableError, match="capacity"):
        BatchQueue(2.7, affine(*V100), max_batch=8)   # capacity 8 / 3.0378 = 2.633


def test_bad_inputs():
    with pytest.raises(ParameterError, match="job_memory"):
        BatchQueue.from_memory(1.0, memory=5, job_memory=8, batch_time=1.0)
    with pytest.raises(ParameterError, match="min_batch"):
        BatchQueue(1.0, 1.0, max_batch=2, min_batch=3)
    with pytest.raises(ParameterError, match="max_batch"):
        BatchQueue(1.0, 1.0, max_batch=2.5)
    with pytest.raises(ParameterError, match="arrival_rate"):
        BatchQueue(-1.0, 1.0, max_batch=2)
    with pytest.raises(ParameterError, match="batch_time"):
        BatchQueue(1.0, lambda k: -1.0, max_batch=2)
    with pytest.raises(PolicyError, match="finite max_batch"):
        BatchQueue(1.0, affine(*V100)).mean_response_time(method="roots")
    with pytest.raises(PolicyError, match="closed-form"):
        BatchQueue(1.0, lambda k: qt.Weibull(0.8, 0.3 * k), max_batch=4).mean_response_time(
            method="roots")
