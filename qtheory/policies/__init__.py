"""Scheduling policies, each declared once (:mod:`.base`), and the catalogue."""

from .base import Part, Policy, as_policy
from .catalogue import (FB, FCFS, LCFS, PS, PSJF, PSPJF, SJF, SPJF, SPRPT, SRPT, DelayPredict,
                        Gittins, OneBit, PriorityClasses, Rank, SkipPredict, SPRPTBounce,
                        Trail)
from .pieces import Profile, affine_template, discover_pieces
from .serpt import SERPT

__all__ = ["Part", "Policy", "as_policy", "FB", "FCFS", "LCFS", "PS", "PSJF", "PSPJF", "SJF",
           "SPJF", "SPRPT", "SRPT", "DelayPredict", "Gittins", "OneBit", "PriorityClasses",
           "Rank", "SERPT", "SkipPredict", "SPRPTBounce", "Trail", "Profile", "affine_template",
           "discover_pieces"]
