"""Each computation reports its own error bound: the same query gives the same value and
the same error on a fresh queue, a second time (from the joint law's cache) and from
several threads at once. (The bound used to come from a counter shared by every query
on the joint law: SPRPT with ExpNoise gave 4.7417e-12, then 4.7392e-12.)"""

from concurrent.futures import ThreadPoolExecutor

import pytest

import qtheory as qt

CASES = [(qt.SPRPT(), qt.ExpNoise()), (qt.PSPJF(), qt.UniformNoise(0.5)),
         (qt.Trail(0.5), qt.LognormalNoise(0.5)), (qt.SkipPredict(1.0), qt.ExpNoise())]


@pytest.mark.parametrize("policy, pred", CASES, ids=lambda c: repr(c)[:20])
def test_same_query_same_error(policy, pred):
    def fresh():
        return qt.MG1(0.8, qt.Exponential(1.0), pred).mean_response_time(policy,
                                                                          method="formula")
    q = qt.MG1(0.8, qt.Exponential(1.0), pred)
    first = q.mean_response_time(policy, method="formula")
    again = q.mean_response_time(policy, method="formula")
    other = fresh()
    assert first.value == again.value == other.value
    assert first.error == again.error == other.error > 0


def test_threads_get_identical_errors():
    q = qt.MG1(0.8, qt.Exponential(1.0), qt.ExpNoise())
    with ThreadPoolExecutor(4) as ex:
        out = list(ex.map(lambda _: q.mean_response_time(qt.SPRPT, method="formula"),
                          range(8)))
    assert len({(r.value, r.error) for r in out}) == 1
