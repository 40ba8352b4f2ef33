"""The built-in discrete-event simulator (docs/theory/simulation.md).

Exact, event driven, preemptive-resume unless a policy says otherwise, ties in rank
broken FCFS. Compiled loops (numba) serve the catalogue; a generic loop serves any rank
function. Replications are independent, seeded from ``numpy.random.SeedSequence``, and
statistics are streamed, so memory does not grow with the number of jobs.

Examples
--------
>>> import qtheory as qt
>>> q = qt.MG1(0.5, qt.Exponential(1.0))
>>> s = q.simulate(qt.SRPT, jobs=20_000, replications=4, seed=1)
>>> s.ci[0] < float(q.mean_response_time(qt.SRPT)) < s.ci[1]
True
"""

from .engine import Plan, run_replication, simulate
from .stats import SizeCurve, batch_means

__all__ = ["simulate", "SizeCurve", "Plan", "run_replication", "batch_means"]
