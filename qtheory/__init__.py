"""qtheory: response times of M/G/1 queues under size- and prediction-based scheduling,
and of batch-service queues with a memory budget, by several independent methods that
are shown to agree.

The package is layered (each layer imports only the ones before it)::

    core      errors, parameter domains, results, quadrature
    laws      size laws, prediction models, the joint law of size and prediction
    policies  every policy declared once: rank, linear pieces, what it needs
    methods   formula, soap, symbolic, sim: each derives answers from the declarations
    queues    MG1, BatchQueue, ContinuousBatching: state and a dispatch to the methods
    analysis  validate, check_samples, optimal thresholds, bounds, asymptotics
    tools     sweep, plot, command line, paper reproductions

Every public name below is loaded on first use, so ``import qtheory`` is quick and
sympy, matplotlib, pandas, dask and the compiled simulator load only when needed.
"""

import importlib

from . import _compat

__version__ = "0.1.0"

_NAMES = {
    "core.budget": ["budget"],
    "core.errors": ["BudgetError", "ConvergenceError", "InfiniteMomentError", "MemoryLimitError",
                    "ParameterError",
                    "PerformanceWarning", "PolicyError", "PredictionWarning", "QTheoryError",
                    "UnstableError"],
    "core.result": ["Result", "SimulationResult", "Estimate"],
    "laws.sizes": ["BoundedPareto", "Deterministic", "Empirical", "Erlang", "Exponential",
                   "Hyperexponential", "Lognormal", "ScipyLaw", "SizeLaw", "Uniform", "Weibull"],
    "laws.convert": ["as_size_law"],
    "laws.predictions": ["CustomPrediction", "ExpNoise", "LognormalNoise", "Perfect",
                         "PredictionModel", "Threshold", "UniformNoise", "ClassBit"],
    "policies.base": ["Policy"],
    "policies.catalogue": ["FB", "FCFS", "LCFS", "PS", "PSJF", "PSPJF", "SJF", "SPJF", "SPRPT",
                           "SRPT", "DelayPredict", "Gittins", "OneBit", "PriorityClasses",
                           "Rank", "SkipPredict", "SPRPTBounce", "Trail"],
    "policies.serpt": ["SERPT"],
    "policies.admission": ["Evict", "Reserve"],
    "queues.mg1": ["MG1"],
    "queues.dispatch": ["Dispatch", "optimal_cutoffs"],
    "policies.dispatch_rules": ["JSQ", "LeastWork", "Random", "RoundRobin", "SITA"],
    "queues.mgk": ["MGk"],
    "queues.batch": ["BatchQueue"],
    "queues.batch_forms": ["inoue_bound", "inoue_phi0", "inoue_phi1",
                           "mg1_clipped_mean_response_time", "mm_ab1_mean_response_time"],
    "queues.continuous": ["ContinuousBatching", "TokenLaw"],
    "queues.llm": ["GPU", "GPUS", "MODELS", "ModelShape", "kv_blocks", "kv_bytes_per_token",
                   "kv_tokens"],
    "queues.iteration_cost": ["IterationCost"],
    "queues.llm_server": ["LLMServer"],
    "queues.disagg": ["Disaggregated", "SLO", "distserve_mean_ttft", "md1_waiting_cdf"],
    "methods.sim": ["simulate"],
    "methods.symbolic": ["evaluate", "in_load", "latex"],
    "analysis.asymptotics": ["heavy_traffic", "light_traffic", "reference_mean_response_time",
                             "symbolic_optimal_threshold"],
    "analysis.optimize": ["Optimum", "optimal_threshold", "optimal_thresholds"],
    "analysis.validate": ["check_samples", "validate", "validate_all"],
    "analysis.bounds": ["bounce_bound", "error_range", "pspjf_bound", "uniform_bounds"],
    "tools.sweep": ["sweep"],
    "tools.plot": ["plot_by_size", "plot_tail", "plot_validation", "plot_vs_load"],
}
_WHERE = {name: module for module, names in _NAMES.items() for name in names}
_MODULES = {"plot": "tools.plot"}   # public namespaces: qt.plot.plot_vs_load, ...

__all__ = sorted([*_WHERE, *_MODULES])


def __getattr__(name):
    if name in _WHERE:
        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    elif name in _MODULES:
        value = importlib.import_module(f"{__name__}.{_MODULES[name]}")
    else:
        raise AttributeError(f"module 'qtheory' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return __all__
