"""The one registry of catalogue policies, used by the CLI, validation and the tests."""

from . import catalogue as P
from .serpt import SERPT


def _sprpt_rank(y, a):
    return y - a


def catalogue(size=None):
    """One instance of every catalogue policy, with the information each needs: a list of
    (policy, prediction kind), kind in {None, "prediction", "bit"}.

    Thresholds are set from the size law's mean (1 when ``size`` is None): priority
    classes at 0.5 and 2 means, SkipPredict's bit and DelayPredict's L at the mean.

    Examples
    --------
    >>> len(catalogue()), catalogue()[0]
    (22, (FCFS(), None))
    """
    m = 1.0 if size is None else float(size.mean)
    return [(P.FCFS(), None), (P.LCFS(), None), (P.PS(), None), (P.SJF(), None),
            (P.PSJF(), None), (P.SRPT(), None), (P.FB(), None),
            (P.SPJF(), "prediction"), (P.PSPJF(), "prediction"), (P.SPRPT(), "prediction"),
            (P.PriorityClasses([0.5 * m, 2 * m]), "prediction"),
            (P.PriorityClasses([0.5 * m, 2 * m], preemptive="resume"), "prediction"),
            (P.OneBit(False), "bit"), (P.OneBit(True), "bit"), (P.OneBit("resume"), "bit"),
            (P.Trail(0.5), "prediction"), (P.SPRPTBounce(), "prediction"),
            (P.SkipPredict(m), "prediction"), (P.DelayPredict(m), "prediction"),
            (P.Gittins(), None), (SERPT(), None),
            (P.Rank(_sprpt_rank, name="Rank(y - a)"), "prediction")]
