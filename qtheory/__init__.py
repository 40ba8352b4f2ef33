"""qtheory: mean response times of M/G/1 queues under size- and prediction-based
scheduling, and of batch-service queues with a memory budget, by several independent
methods that are shown to agree."""

from .laws.sizes import (BoundedPareto, Deterministic, Empirical, Erlang, Exponential,
                            Hyperexponential, Lognormal, ScipyLaw, SizeLaw, Uniform, Weibull,
                            as_size_law)
from .core.errors import (ConvergenceError, InfiniteMomentError, ParameterError,
                          PerformanceWarning, PolicyError, QTheoryError, UnstableError)
from .core.result import Result

__version__ = "0.1.0"
from .laws.predictions import (CustomPrediction, ExpNoise, LognormalNoise, Perfect,
                          PredictionModel, Threshold, UniformNoise)
from .policies.catalogue import (FB, FCFS, LCFS, PS, PSJF, PSPJF, SJF, SPJF, SPRPT, SRPT, DelayPredict,
                       Gittins, OneBit, Policy, PriorityClasses, Rank, SkipPredict,
                       SPRPTBounce, Trail)
from .policies.serpt import SERPT
from .queues.mg1 import MG1
from .analysis.optimize import Optimum, optimal_threshold, optimal_thresholds
from .methods.sim import SimulationResult, simulate
from .analysis.validate import check_samples, validate, validate_all
from .queues.batch import (BatchQueue, inoue_bound, inoue_phi0, inoue_phi1,
                    mg1_clipped_mean_response_time, mm_ab1_mean_response_time)
from .queues.continuous import ContinuousBatching, TokenLaw
from .queues.llm import GPU, GPUS, MODELS, ModelShape, kv_bytes_per_token, kv_tokens
from .analysis.bounds import bounce_bound, error_range, pspjf_bound, uniform_bounds
from .methods.symbolic import (evaluate, heavy_traffic, latex, light_traffic,
                       reference_mean_response_time, symbolic_optimal_threshold)
from .tools.sweep import sweep
from .tools import plot
from .tools.plot import plot_by_size, plot_validation, plot_vs_load
