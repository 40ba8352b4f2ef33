"""The Gittins policy through the SOAP engine, against known facts (Gittins 1989; Scully,
Harchol-Balter, Scheller-Wolf 2018, section 7; Aalto, Ayesta, Righter 2009):

* with a decreasing hazard rate the Gittins index decreases with age, so Gittins serves
  the least-attained job: it is FB (closed form of qtheory.methods.formula);
* with an increasing hazard rate the index increases with age, a started job is never
  preempted and jobs are served in arrival order: it is FCFS (Pollaczek-Khinchine);
* with known sizes the index of a job is 1 / (x - a): it is SRPT (Schrage-Miller);
* it minimises the mean response time among policies with the same information, so it
  is no worse than any catalogue policy that sees the same (or less) information; with
  a continuous prediction it sees the prediction's cell, so policies that see y itself
  may beat it.
"""

import numpy as np
import pytest

import qtheory as qt
from qtheory.policies.gittins import gittins_policy, index_table
from qtheory.methods.soap import soap_mean_response_time


def gittins(q, **kw):
    return soap_mean_response_time(q, gittins_policy(q, **kw)).value


def formula(q, policy):
    return q.mean_response_time(policy, method="formula").value


@pytest.mark.parametrize("size", [pytest.param(qt.Hyperexponential([0.9, 0.1], [1.8, 0.2]),
                                               marks=pytest.mark.slow),
                                  qt.Weibull(0.5, 0.5)], ids=["hyperexp", "weibull0.5"])
def test_decreasing_hazard_is_fb(size):
    # the index table ends at the 1 - 1e-9 quantile, where the tabulated rank drops: the
    # few jobs older than that are not served FB (2e-7 relative on Weibull(0.5))
    q = qt.MG1(0.7 / size.mean, size)
    assert gittins(q) == pytest.approx(formula(q, qt.FB), rel=1e-6)


@pytest.mark.parametrize("size", [qt.Erlang(3, 3.0), qt.Uniform(0.5, 1.5)],
                         ids=["erlang3", "uniform"])
def test_increasing_hazard_is_fcfs(size):
    q = qt.MG1(0.7 / size.mean, size)
    assert gittins(q) == pytest.approx(formula(q, qt.FCFS), rel=1e-9)


@pytest.mark.parametrize("size", [qt.Uniform(0.5, 1.5), qt.Weibull(0.5, 0.5)],
                         ids=["uniform", "weibull0.5"])
def test_known_sizes_is_srpt(size):
    q = qt.MG1(0.7 / size.mean, size, qt.Perfect())
    assert gittins(q) == pytest.approx(formula(q.with_prediction(None), qt.SRPT), rel=1e-9)


def test_index_table_on_two_sizes():
    # docs/theory: X in {2, 14} w.p. 1/2. At age 0 the best quantum is 2 (finishes
    # half the jobs for 2 units of work): 1/G(0) = 2 / (1/2) = 4; at age 2 only the
    # 14-jobs remain: 1/G(2) = 12.
    r = index_table(np.array([0.0, 2.0, 14.0]), np.array([0.0, 0.5, 1.0]),
                    np.array([0.0, 2.0, 8.0]))
    assert r.tolist() == [4.0, 12.0, 0.0]


def test_no_prediction_beats_every_blind_policy():
    size = qt.Weibull(0.5, 0.5)       # FB-like optimum
    q = qt.MG1(0.8 / size.mean, size)
    g = gittins(q)
    for p in (qt.FCFS, qt.FB, qt.PS, qt.LCFS):
        assert g <= formula(q, p) * (1 + 1e-6), p   # the table's tail: see above
    size = qt.Erlang(2, 2.0)          # FCFS-like optimum
    q = qt.MG1(0.8, size)
    assert gittins(q) <= min(formula(q, p) for p in (qt.FCFS, qt.FB, qt.PS)) * (1 + 1e-6)


def test_one_bit_beats_every_one_bit_policy():
    size = qt.Hyperexponential([0.9, 0.1], [1.8, 0.2])
    q = qt.MG1(0.8 / size.mean, size, qt.Threshold(1.0, qt.ExpNoise()))
    g = gittins(q)
    for p in (qt.OneBit(False), qt.OneBit(True), qt.OneBit("resume")):
        assert g <= formula(q, p), p


@pytest.mark.slow
@pytest.mark.parametrize("size", [qt.Exponential(1.0), qt.Weibull(0.5, 0.5)],
                         ids=["exp", "weibull0.5"])
def test_continuous_prediction_beats_policies_with_its_information(size):
    # Gittins sees the prediction's cell: it beats the priority classes of the same cells
    # (preemptive or not), FB and FCFS (less information), and loses to SRPT (more). It
    # need not beat SPJF, PSPJF or SPRPT, which see y itself: on Weibull(0.5) at load
    # 0.7 PSPJF is better than 16-cell Gittins (2.3189 against 2.4129)
    q = qt.MG1(0.7 / size.mean, size, qt.ExpNoise())
    g = gittins(q)
    cells = list(gittins_policy(q).edges[1:-1])
    for p in (qt.PriorityClasses(cells), qt.PriorityClasses(cells, "resume"), qt.FB, qt.FCFS):
        assert g <= formula(q, p), p
    assert g >= formula(q.with_prediction(None), qt.SRPT)


@pytest.mark.slow
def test_continuous_prediction_at_eight_cells():
    # with 8 cells on Exp(1) sizes Gittins still beats SPRPT and SPRPT-bounce, which see
    # y itself (an observation for this law, not a theorem), and not SRPT (a theorem)
    q = qt.MG1(0.5, qt.Exponential(1.0), qt.ExpNoise())
    g = gittins(q, cells=8)
    assert g <= formula(q, qt.SPRPT)
    assert g <= q.mean_response_time(qt.SPRPTBounce, method="soap").value
    assert g >= formula(q.with_prediction(None), qt.SRPT)


@pytest.mark.slow
def test_finer_cells_do_not_hurt():
    # the information of 8 cells is a function of that of 16 (nested quantile cells),
    # so the optimal policy for 16 cells is at least as good
    q = qt.MG1(0.5, qt.Exponential(1.0), qt.ExpNoise())
    assert gittins(q, cells=16) <= gittins(q, cells=8) * (1 + 1e-9)


def test_gittins_policy_object_through_the_queue():
    # gittins_policy(q) holds its queue, and a numeric queue caches itself as its float
    # view: passing the policy back to q (exact constants or not) once recursed forever
    import sympy
    exact = qt.MG1(sympy.Rational(1, 2), qt.Exponential(1), qt.Threshold(1.0, qt.Perfect()))
    q = qt.MG1(0.5, qt.Exponential(1.0), qt.Threshold(1.0, qt.Perfect()))
    q.numeric()
    direct = gittins(q)
    assert q.mean_response_time(gittins_policy(q)).value == direct
    assert exact.mean_response_time(gittins_policy(exact)).value == pytest.approx(direct,
                                                                                  rel=1e-12)
