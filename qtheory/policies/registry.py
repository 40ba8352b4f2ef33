"""The one registry of catalogue policies, used by the CLI, validation and the tests."""

from ..core.errors import ParameterError
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


#: Policies without parameters, by the name a user types (CLI, sweeps, files).
NAMES = {"fcfs": P.FCFS, "lcfs": P.LCFS, "ps": P.PS, "sjf": P.SJF, "psjf": P.PSJF,
         "srpt": P.SRPT, "fb": P.FB, "spjf": P.SPJF, "pspjf": P.PSPJF, "sprpt": P.SPRPT,
         "bounce": P.SPRPTBounce, "gittins": P.Gittins, "serpt": SERPT}
#: Policies with parameters: name -> (what follows the colon, how to build from it).
PARAMETRISED = {
    "trail": ("C", lambda a: P.Trail(float(a))),
    "onebit": ("[pre|resume]", lambda a: P.OneBit({"": False, "np": False, "pre": True,
                                                   "resume": "resume"}[a])),
    "skippredict": ("T", lambda a: P.SkipPredict(float(a))),
    "delaypredict": ("L", lambda a: P.DelayPredict(float(a))),
    "classes": ("T1,T2[:resume]", lambda a: P.PriorityClasses(
        [float(t) for t in a.partition(":")[0].split(",")], a.partition(":")[2] or False)),
}
SPELLINGS = sorted(NAMES) + [f"{k}:{v[0]}" for k, v in PARAMETRISED.items()]


def from_text(text):
    """A policy from its spelling: ``srpt``, ``trail:0.5``, ``onebit:resume``,
    ``classes:0.5,2:resume``, ... (:data:`SPELLINGS`).

    Raises ParameterError naming the spelling and, for a known policy with a bad
    parameter, the parameter's own rule.

    Examples
    --------
    >>> from_text("trail:0.5")
    Trail(c=0.5)
    >>> from_text("trail:2")
    Traceback (most recent call last):
    ...
    qtheory.core.errors.ParameterError: policy 'trail:2': c = 2.0 is invalid: it must be 0 or a number in [1e-12, 1] (a smaller c is c = 0 to double precision: use 0). Pass a value in that range.
    """
    name, _, arg = text.strip().lower().partition(":")
    if name in NAMES and not arg:
        return NAMES[name]()
    if name in PARAMETRISED:
        form, build = PARAMETRISED[name]
        try:
            return build(arg)
        except ParameterError as exc:
            raise ParameterError(f"policy {text!r}: {exc}") from None
        except (ValueError, KeyError):
            raise ParameterError(f"policy {text!r}: write {name}:{form}.") from None
    raise ParameterError(f"policy {text!r} is unknown: use one of {', '.join(SPELLINGS)}.")
