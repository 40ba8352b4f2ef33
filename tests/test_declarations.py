"""One declaration per policy: the rank and its declared linear pieces agree, and the SOAP
engine and the simulator's plan derive from that one declaration (qtheory/policies/)."""

import math
import warnings

import numpy as np
import pytest

import qtheory as qt
from qtheory.methods.sim.engine import Plan
from qtheory.methods.soap import Engine
from qtheory.policies import SERPT
from qtheory.policies.pieces import as_key
from qtheory.policies.registry import catalogue

SIZE = qt.Exponential(1.0)
INFO = {None: None, "prediction": qt.ExpNoise(), "bit": qt.Threshold(1.0, qt.ExpNoise())}
SOAP = [(p, k) for p, k in catalogue(SIZE) if not isinstance(p, qt.PS | qt.Rank)
        and not p.arrival_order]
IDS = [repr(p)[:40] for p, _ in SOAP]


def _queue(kind, rho=0.7):
    return qt.MG1(rho, SIZE, INFO[kind])


def _key_from_pieces(pr, row, a):
    """(class, value) of profile row ``row`` at age ``a``: the first piece holding a
    (a one-point piece [s, s] holds s only)."""
    S, E, C, V, M = (z[row] for z in (pr.S, pr.E, pr.C, pr.V, pr.M))
    for k in range(S.size):
        if (S[k] == E[k] == a) or (S[k] <= a < E[k]):
            return C[k], V[k] if not np.isfinite(V[k]) else V[k] + M[k] * (a - S[k])
    raise AssertionError(f"no piece holds age {a}")


@pytest.mark.parametrize("policy, kind", SOAP, ids=IDS)
def test_rank_equals_its_declared_pieces(policy, kind):
    """On 40 descriptors x 60 ages (age 0 and random ages up to 3 descriptors), the rank
    function and the declared pieces give the same (class, value)."""
    q = _queue(kind)
    p = policy.bind(q)
    rng = np.random.default_rng(5)
    parts = range(len(p.parts(q.prediction)))
    d = {"size": rng.exponential(1.0, 40), "prediction": rng.exponential(1.0, 40),
         "bit": rng.integers(0, 2, 40).astype(float), None: np.zeros(40)}[p.descriptor]
    for part in parts:
        fixed = p.parts(q.prediction)[part].fixed
        dd = np.full(d.size, fixed) if fixed is not None else d
        pr = p.profile(dd, part)
        assert pr is not None, "catalogue SOAP policies declare exact pieces"
        for i, di in enumerate(dd):
            for a in np.concatenate([[0.0], rng.uniform(0, 3 * max(di, 1.0), 59)]):
                desc = (part, di) if isinstance(p, qt.SkipPredict) else (
                    None if p.descriptor is None else di)
                if getattr(p, "edges", None) is not None:  # Gittins sees the cell's edge
                    desc = p.edges[int(fixed)]
                want = as_key(p.rank(desc, a))
                got = _key_from_pieces(pr, i, a)
                assert got[0] == want[0] and (got[1] == want[1] or math.isclose(
                    got[1], want[1], rel_tol=1e-12, abs_tol=1e-12)), (p, di, a, got, want)


@pytest.mark.parametrize("policy, kind", SOAP + [
    (qt.Rank(lambda y, a: y - a if a <= 0.5 * y else -math.inf, name="trail"), "prediction"),
    (qt.Rank(lambda y, a: min(abs(y - a), y), name="bounce"), "prediction")],
    ids=IDS + ["Rank(trail)", "Rank(bounce)"])
def test_simulator_and_soap_read_the_same_pieces(policy, kind):
    """The simulator's plan and the SOAP engine take each job's pieces from the same
    declaration: equal profiles for 200 sampled jobs (to 1e-11 where a user's rank is
    discovered: per descriptor by the engine, as an affine template by the plan)."""
    q = _queue(kind)
    plan = Plan(q, policy)
    eng = Engine(q, plan.policy)
    rng = np.random.default_rng(11)
    x = SIZE.sample(rng, 200)
    d = {"size": x, None: np.zeros(200), "bit": INFO["bit"].sample(x, rng)}.get(
        plan.descriptor, INFO["prediction"].sample(x, rng) if plan.descriptor else None)
    for k, comp in enumerate(eng.components):
        dd = np.full(200, comp.fixed) if comp.kind == "fixed" else d
        part = np.full(200, k) if len(eng.components) > 1 else None
        rows, (S, E, C, V, M) = plan.profiles(dd, part)
        want = eng.profile(comp, dd)
        width = want.S.shape[1]
        for got, ref in zip((S, E, C, V, M), (want.S, want.E, want.C, want.V, want.M)):
            got = got[rows][:, :width]
            same = (got == ref) | np.isclose(got, ref, rtol=1e-11, atol=1e-11)
            assert same.all(), (policy, got[~same][:5], ref[~same][:5])


@pytest.mark.parametrize("lam", [0.01, 0.05, 0.1])
def test_serpt_reproduces_the_worked_example(lam):
    """SERPT is declared in one file (qtheory/policies/serpt.py) and gets the SOAP engine
    and the simulator with no other code. Reference: the worked example X in {2, 14},
    derived by hand from the SOAP definitions (Scully, Harchol-Balter, Scheller-Wolf
    2018): E[T_2] = 18 lam / (1 - 2 lam) + 2,
    E[T_14] = 50 lam / ((1 - 8 lam)(1 - 2 lam)) + 6 / (1 - 2 lam) + 8."""
    q = qt.MG1(lam, qt.Empirical([2.0, 14.0]))
    t2 = 18 * lam / (1 - 2 * lam) + 2
    t14 = 50 * lam / ((1 - 8 * lam) * (1 - 2 * lam)) + 6 / (1 - 2 * lam) + 8
    r = q.mean_response_time(SERPT())
    assert r.method == "soap" and abs(r.value - (t2 + t14) / 2) <= 1e-12 * t14
    assert float(q.response_time(SERPT(), 2.0)) == pytest.approx(t2, rel=1e-12)
    assert float(q.response_time(SERPT(), 14.0)) == pytest.approx(t14, rel=1e-12)
    s = q.simulate(SERPT(), jobs=100_000, replications=8, seed=4)
    assert abs(s.z((t2 + t14) / 2)) < 4


def test_serpt_validates_and_matches_theorems():
    """On continuous laws SERPT is FCFS for memoryless sizes (constant mean residual
    life), FB for Weibull(1/2) (rising mean residual life: a job's rank only grows), and
    its simulation agrees with the engine through qt.validate."""
    q = qt.MG1(0.6, qt.Exponential(1.0))
    assert q.mean_response_time(SERPT()).value == pytest.approx(2.5, rel=1e-10)
    w = qt.MG1(0.6, qt.Weibull(0.5, 0.5))
    assert w.mean_response_time(SERPT()).value == pytest.approx(
        w.mean_response_time(qt.FB).value, rel=1e-9)
    report = qt.validate(qt.MG1(0.6, qt.Lognormal(0.0, 1.0)), SERPT(), jobs=100_000,
                         replications=6, seed=2)
    assert report.passed, str(report)


def test_arrival_order_ranks_are_declared_as_pieces_of_job_numbers():
    """LCFS (rank -job number) and one-bit LCFS among shorts are not SOAP policies, yet
    the simulator serves them from their pieces: LCFS by the key loop, the one-bit form by
    the piecewise loop; the SOAP engine refuses both."""
    q = qt.MG1(0.7, qt.Exponential(1.0))
    bit = qt.MG1(0.7, qt.Exponential(1.0), qt.Threshold(1.0, qt.Perfect()))
    assert Plan(q, qt.LCFS()).loop == "key" and Plan(bit, qt.OneBit(True)).loop == "pw"
    for queue, p in ((q, qt.LCFS()), (bit, qt.OneBit(True))):
        with pytest.raises(qt.PolicyError, match="not a SOAP policy"):
            queue.mean_response_time(p, method="soap")


def test_user_rank_simulates_in_the_compiled_loops():
    """A user's piecewise-linear rank runs in the compiled loops from its discovered
    pieces; the same response times, job by job, as the Python reference loop (rtol
    1e-9: breakpoints are discovered to ~1e-13); a rank whose pieces are not affine in
    the descriptor falls back to the Python loop with a PerformanceWarning."""
    q = qt.MG1(0.8, qt.Exponential(1.0), qt.ExpNoise())

    def trail(y, a):
        return y - a if a <= 0.5 * y else -math.inf
    assert Plan(q, qt.Rank(lambda y, a: y - a)).loop == "key"
    assert Plan(q, qt.Rank(trail)).loop == "pw"
    assert Plan(q, qt.Rank(lambda d, a: 0.0, descriptor=None)).loop == "lindley"
    assert Plan(q, qt.Rank(lambda d, a: a, descriptor=None)).loop == "fb"
    fast = q.simulate(qt.Rank(trail), jobs=3000, replications=2, seed=5, per_job=True,
                      executor=False)
    slow = q.simulate(qt.Rank(trail, compiled=False), jobs=3000, replications=2, seed=5,
                      per_job=True, executor=False)
    np.testing.assert_allclose(fast.per_job["response_time"], slow.per_job["response_time"],
                               rtol=1e-9, atol=1e-9)
    trail_catalogue = q.simulate(qt.Trail(0.5), jobs=3000, replications=2, seed=5,
                                 per_job=True, executor=False)
    np.testing.assert_allclose(fast.per_job["response_time"],
                               trail_catalogue.per_job["response_time"], rtol=1e-9, atol=1e-9)
    with pytest.warns(qt.PerformanceWarning, match="Python loop"):
        assert Plan(q, qt.Rank(lambda y, a: y * y - a)).loop == "generic"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Plan(q, qt.Rank(lambda y, a: min(abs(y - a), y)))    # affine pieces: no warning
