"""LLM serving schedulers, declared once: what each does in an iteration.

An engine runs iterations; each holds decode sequences (one token each) and prefill
tokens. The schedulers of :class:`qtheory.LLMServer` differ in three choices, declared
here and read by the simulator (:mod:`qtheory.methods.sim.llm_sched`) and by the
analysis (``LLMServer.capacity``, the fluid TPOT/TTFT):

============ ============ ========= ================================= =====================
scheduler    iterations   chunked   admission (memory)                on KV overflow
============ ============ ========= ================================= =====================
``vllm``     prefill-only no        FCFS, the prompt's blocks         newest running
             while a                (s + j) must fit now              request preempted,
             prompt can                                               recomputed later
             be admitted
``orca``     mixed        no        as vllm                           as vllm
``sarathi``  mixed        yes,      as vllm (blocks of the whole       as vllm (a partial
                          token     prompt at admission)               prefill may be the
                          budget                                       newest)
``reserve``  mixed        no        s + o_max blocks reserved up      never happens
                                    front
============ ============ ========= ================================= =====================

Sources: vLLM's default scheduler (Kwon et al. 2023, SOSP, §4.5: FCFS, all-or-nothing
preemption of the latest-arrived sequences, recomputation; prefills are scheduled in
iterations of their own); Orca (Yu et al. 2022, OSDI: iteration-level scheduling with
mixed batches); Sarathi-Serve (Agrawal et al. 2024, OSDI: chunked prefills under a token
budget, stall-free batching with decodes first). Li, Dai and Peng (2025, arXiv
2504.07347) prove the work-conserving ones (orca, sarathi) throughput-optimal and show
vanilla vLLM is not.

Any scheduler may order its waiting requests by a predicted output length instead of
FCFS (``order="spf"``: predicted remaining output y − j smallest first), and with
``order=qt.Trail(c)`` also preempt for a better-ranked request (limited preemption).

Examples
--------
>>> SCHEDULERS["sarathi"].chunked, SCHEDULERS["vllm"].prefill_first
(True, True)
>>> as_scheduler("VLLM").code
0
"""

from dataclasses import dataclass

from ..core.errors import ParameterError

__all__ = ["Scheduler", "SCHEDULERS", "as_scheduler", "ORDERS", "as_order"]


@dataclass(frozen=True)
class Scheduler:
    """One LLM serving scheduler (see the module table).

    ``code`` is the simulator's number for it; ``prefill_first``: iterations are
    prefill-only while a prompt can be admitted (vLLM); ``chunked``: prefills are split
    to fill a token budget (Sarathi); ``reserve``: admission reserves s + o_max;
    ``preempts``: KV overflow preempts the newest running request (recomputed later);
    ``throughput_optimal``: work-conserving in Li–Dai–Peng's sense.
    """

    name: str
    code: int
    prefill_first: bool
    chunked: bool
    reserve: bool
    preempts: bool
    throughput_optimal: bool
    source: str = ""


#: The schedulers by name.
SCHEDULERS = {s.name: s for s in (
    Scheduler("vllm", 0, True, False, False, True, False,
              "Kwon et al. 2023 (vLLM), default scheduler"),
    Scheduler("orca", 1, False, False, False, True, True, "Yu et al. 2022 (Orca)"),
    Scheduler("sarathi", 2, False, True, False, True, True,
              "Agrawal et al. 2024 (Sarathi-Serve)"),
    Scheduler("reserve", 3, False, False, True, False, False,
              "reserve-max admission (early servers; MATH.md §5.2)"),
)}

#: Orders of the waiting line: FCFS, smallest predicted remaining output first, and the
#: latter with Trail's limited preemption (``qt.Trail(c)``).
ORDERS = {"fcfs": 0, "spf": 1, "trail": 2}


def as_order(order):
    """(code, c) of a waiting-line order: "fcfs", "spf", or ``qt.Trail(c)`` (smallest
    predicted remaining output first; a running request is preemptable by a better-ranked
    waiting one while its progress j ≤ c·y, Shahout et al., ICLR 2025).

    Examples
    --------
    >>> from qtheory.policies.catalogue import Trail
    >>> as_order("spf"), as_order(Trail(0.5))
    ((1, 0.0), (2, 0.5))
    """
    from .catalogue import Trail
    if isinstance(order, Trail):
        return 2, float(order.c)
    if isinstance(order, str) and order in ("fcfs", "spf"):
        return ORDERS[order], 0.0
    raise ParameterError(f"order = {order!r} is invalid: use 'fcfs', 'spf' or qt.Trail(c).")


def as_scheduler(name) -> Scheduler:
    """The :class:`Scheduler` named ``name`` (case-insensitive), or the object itself."""
    if isinstance(name, Scheduler):
        return name
    if isinstance(name, str) and name.lower() in SCHEDULERS:
        return SCHEDULERS[name.lower()]
    raise ParameterError(f"scheduler = {name!r} is invalid: use one of "
                         f"{sorted(SCHEDULERS)}.")
