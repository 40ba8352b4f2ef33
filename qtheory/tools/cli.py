"""The ``qtheory`` command.

``qtheory`` alone prints the mean response time of every policy with a closed form at
loads 0.5, 0.8, 0.9, 0.95 (Exp(1) sizes, exponentially distributed predictions), each
with its method and error estimate. The subcommands answer one question each:

  mean       E[T] of policies over loads, by any method
  tail       variance and percentiles of the response time
  validate   every method side by side, with a verdict (exit status 1 on disagreement)
  plot       a paper-ready figure (PDF, PGF, PNG or SVG)
  sweep      a resumable parallel sweep over policies x loads
  reproduce  rerun a published table from papers/ (a source checkout)

They share the flags --policy (repeatable), --size, --prediction, --load, --method and
--format text|csv|json. ``qtheory SUBCOMMAND --help`` lists the choices.

A bad flag is a one-line ``qtheory: error: --flag ...`` on standard error naming what is
allowed, with exit status 2 (never a traceback); a traceback means a bug in qtheory.
"""

import argparse
import ast
import csv
import importlib.util
import inspect
import json
import math
import os
import re
import sys
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

from ..laws import sizes as D
from ..laws.convert import as_size_law
from ..policies import catalogue as P
from ..policies.registry import SPELLINGS, from_text
from ..laws import predictions as PR
from ..core.errors import InfiniteMomentError, ParameterError, QTheoryError
from .plot import label, resolve
from ..queues.mg1 import MG1

LAWS = {"exponential": D.Exponential, "erlang": D.Erlang, "uniform": D.Uniform,
        "deterministic": D.Deterministic, "weibull": D.Weibull, "lognormal": D.Lognormal,
        "boundedpareto": D.BoundedPareto, "hyperexponential": D.Hyperexponential}

PAPERS = Path(__file__).resolve().parents[2] / "papers"

LAW_HELP = ("laws: exponential(rate), erlang(k, rate), uniform(lo, hi), deterministic(v), "
            "weibull(shape, scale), lognormal(mu, sigma), boundedpareto(alpha, lo, hi) or any "
            "scipy.stats law, e.g. 'expon()', 'lognorm(1.0, scale=2)'.\n"
            "predictions: none, perfect, exp, uniform:ALPHA, lognormal:SIGMA, "
            "threshold:T[:MODEL].\n"
            f"policies: {', '.join(SPELLINGS)}; one-bit policies without threshold:T "
            "predictions use the optimal threshold.")


# -- parsing the shared flags ---------------------------------------------------------------
#: At most this many loads in one --load grid (start:stop:step with a tiny step would
#: otherwise build billions of queues).
MAX_LOADS = 10_000
#: The characteristic size of a --size law must lie in [1/SCALE_RANGE, SCALE_RANGE]: loads
#: are given as rho, so the unit of size is free, and far outside this range the moments a
#: formula needs (E[X^3] for a variance) leave double precision.
SCALE_RANGE = 1e50

_SIZE_EXAMPLES = ("write e.g. 'exponential(1)', 'weibull(0.5, 0.5)' or a scipy.stats law like "
                  "'expon()'")


def _literal(node):
    """A Python literal, with inf and nan allowed (so that the law itself says that its
    parameter must be finite)."""
    names = {"inf": math.inf, "infinity": math.inf, "nan": math.nan}
    if isinstance(node, ast.Name) and node.id.lower() in names:
        return names[node.id.lower()]
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Name) and node.operand.id.lower() in names):
        return -names[node.operand.id.lower()]
    return ast.literal_eval(node)


def _scipy_signature(law):
    """The call signature of a scipy.stats continuous law: its shapes, then loc and scale."""
    P_ = inspect.Parameter
    shapes = [n.strip() for n in (law.shapes or "").split(",") if n.strip()]
    return inspect.Signature([P_(n, P_.POSITIONAL_OR_KEYWORD) for n in shapes]
                             + [P_("loc", P_.POSITIONAL_OR_KEYWORD, default=0.0),
                                P_("scale", P_.POSITIONAL_OR_KEYWORD, default=1.0)])


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def parse_size(text):
    """A size law from text: ``exponential(1)``, ``weibull(0.5, 0.5)`` or any scipy.stats
    continuous law such as ``expon()`` or ``lognorm(1.0, scale=2)``.

    Examples
    --------
    >>> parse_size("weibull(0.5, 0.5)").mean
    1.0
    >>> round(parse_size("expon(scale=2)").mean, 12)
    2.0
    >>> parse_size("expon(scale=-1)")
    Traceback (most recent call last):
    ...
    qtheory.core.errors.ParameterError: --size 'expon(scale=-1)': ...
    """
    try:
        call = ast.parse(text.strip(), mode="eval").body
        if isinstance(call, ast.Name):
            call = ast.Call(call, [], [])
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
            raise ValueError
        args = [_literal(a) for a in call.args]
        kwargs = {k.arg: _literal(k.value) for k in call.keywords}
        if None in kwargs:       # **mapping
            raise ValueError
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        raise ParameterError(f"--size {text!r} is not a law: {_SIZE_EXAMPLES}.") from None
    name = call.func.id
    if name.lower() in LAWS:
        cls = LAWS[name.lower()]
        signature = inspect.signature(cls)
        build = cls
    else:
        import scipy.stats
        law = getattr(scipy.stats, name, None)
        if not isinstance(law, scipy.stats.rv_continuous):
            raise ParameterError(f"--size {text!r}: unknown law {name!r}; use one of "
                                 f"{', '.join(sorted(LAWS))} or a continuous scipy.stats "
                                 "distribution name (expon, lognorm, pareto, ...).")
        signature = _scipy_signature(law)
        bad = [v for v in [*args, *kwargs.values()] if not _is_number(v)]
        if bad:
            raise ParameterError(f"--size {text!r}: {bad[0]!r} is not a number; scipy.stats."
                                 f"{name} takes numbers {name}{signature}.")

        def build(*a, **kw):
            return as_size_law(law(*a, **kw))
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise ParameterError(f"--size {text!r}: {exc}; {name} takes {name}{signature}.") from None
    try:
        return build(*args, **kwargs)
    except (ParameterError, InfiniteMomentError) as exc:
        raise ParameterError(f"--size {text!r}: {exc}") from None


def check_size(text, law):
    """``law`` if its mean is finite and its scale within :data:`SCALE_RANGE`; the CLI sets
    the arrival rate from the load rho and the mean size.

    Examples
    --------
    >>> check_size("pareto(0.5)", parse_size("pareto(0.5)"))
    Traceback (most recent call last):
    ...
    qtheory.core.errors.ParameterError: --size 'pareto(0.5)': size = scipy.stats.pareto(0.5) has an infinite mean ...
    """
    with blame(f"--size {text!r}"):
        scale = float(law.scale)
    if not 1 / SCALE_RANGE <= scale <= SCALE_RANGE:
        raise ParameterError(
            f"--size {text!r}: its typical size {scale:.3g} lies outside [{1 / SCALE_RANGE:g}, "
            f"{SCALE_RANGE:g}]; measure sizes in another unit (loads are given as rho, so "
            "E[T] simply scales with the unit), e.g. 'expon(scale=1)'.")
    with blame(f"--size {text!r}"):
        mean = float(law.mean)
    if not math.isfinite(mean):
        raise ParameterError(
            f"--size {text!r}: the mean size is infinite (or beyond double precision), so "
            "no arrival rate gives a load "
            "rho in (0, 1); use a law with a finite mean, e.g. 'pareto(1.5)' or "
            "'lognorm(1.0)'.")
    if not mean > 0:
        raise ParameterError(f"--size {text!r}: the mean size is {mean:g}; sizes must have "
                             "a positive mean.")
    return law


def parse_prediction(text):
    """A prediction model: ``none``, ``perfect``, ``exp``, ``uniform:ALPHA``,
    ``lognormal:SIGMA``, ``threshold:T[:MODEL]`` or ``classbit:Q_SHORT:Q_LONG``.

    Examples
    --------
    >>> parse_prediction("threshold:2:exp")
    Threshold(2.0, ExpNoise())
    >>> parse_prediction("uniform:2")
    Traceback (most recent call last):
    ...
    qtheory.core.errors.ParameterError: --prediction 'uniform:2': alpha = 2.0 is invalid: ...
    """
    try:
        return _prediction(text)
    except ParameterError as exc:       # a model's parameter outside its domain
        raise ParameterError(f"--prediction {text!r}: {exc}") from None
    except (ValueError, KeyError):
        raise ParameterError(f"--prediction {text!r} is not a prediction model: use none, "
                             "perfect, exp, uniform:ALPHA, lognormal:SIGMA or "
                             "threshold:T[:MODEL] (MODEL: perfect, exp, uniform:ALPHA, "
                             "lognormal:SIGMA) or classbit:Q_SHORT:Q_LONG.") from None


def _prediction(text, nested=False):
    name, _, rest = (text or "none").strip().lower().partition(":")
    simple = {"none": lambda: None, "perfect": PR.Perfect, "exp": PR.ExpNoise,
              "expnoise": PR.ExpNoise}
    if name in simple and not rest:
        return simple[name]()
    if name == "uniform":
        return PR.UniformNoise(float(rest))
    if name == "lognormal":
        return PR.LognormalNoise(float(rest))
    if name == "classbit" and not nested:      # one bit of class advice (qt.ClassBit)
        q_s, _, q_l = rest.partition(":")
        return PR.ClassBit(correct=(float(q_s), float(q_l)))
    if name == "threshold" and not nested:
        T, _, noise = rest.partition(":")
        return PR.Threshold(float(T), _prediction(noise or "perfect", nested=True))
    raise KeyError(name)


def parse_policy(text):
    """A policy: ``srpt``, ``trail:0.5``, ``onebit[:pre|:resume]``, ``skippredict:T``,
    ``delaypredict:L``, ``classes:T1,T2[:resume]`` (the policy registry's spellings).

    Examples
    --------
    >>> parse_policy("trail:0.5")
    Trail(c=0.5)
    """
    try:
        return from_text(text)
    except ParameterError as exc:
        raise ParameterError(f"--{exc}") from None


def parse_loads(text):
    """Loads rho: ``0.5:0.95:0.05`` (start:stop:step, stop included) or ``0.5,0.8``;
    at most :data:`MAX_LOADS` of them.

    Examples
    --------
    >>> parse_loads("0.5:0.7:0.1"), parse_loads("0.9")
    ([0.5, 0.6, 0.7], [0.9])
    >>> parse_loads("0.5:0.9:1e-300")
    Traceback (most recent call last):
    ...
    qtheory.core.errors.ParameterError: --load '0.5:0.9:1e-300': step 1e-300 gives ...
    """
    form = "write start:stop:step (0 < start <= stop < 1, step > 0) or a comma list such as 0.5,0.8"
    try:
        if ":" in text:
            a, b, s = (float(v) for v in text.split(":"))
        else:
            loads = [float(v) for v in text.split(",")]
    except ValueError:
        raise ParameterError(f"--load {text!r}: {form}.") from None
    if ":" in text:
        if not all(math.isfinite(v) for v in (a, b, s)):
            raise ParameterError(f"--load {text!r}: start, stop and step must be finite "
                                 f"numbers; {form}.")
        if not s > 0:
            raise ParameterError(f"--load {text!r}: step = {s:g} must be > 0; {form}.")
        if not 0 < a < 1 or not 0 < b < 1:
            raise ParameterError(f"--load {text!r}: start and stop must lie in (0, 1); {form}.")
        if a > b:
            raise ParameterError(f"--load {text!r}: start {a:g} is above stop {b:g}; "
                                 f"{form}.")
        n = math.floor((b - a) / s + 1e-9) + 1
        if n > MAX_LOADS:
            raise ParameterError(
                f"--load {text!r}: step {s:g} gives {n:.3g} loads, more than {MAX_LOADS}; use "
                f"a step of at least {(b - a) / (MAX_LOADS - 1):.3g} or a comma list.")
        loads = [round(a + i * s, 12) for i in range(n)]
    bad = [r for r in loads if not 0 < r < 1]
    if bad:
        raise ParameterError(f"--load {text!r}: load rho = {bad[0]:g} is invalid: every load "
                             "must lie in (0, 1) (the queue is unstable at rho >= 1).")
    if len(loads) > MAX_LOADS:
        raise ParameterError(f"--load {text!r}: {len(loads)} loads, more than {MAX_LOADS}.")
    return loads


# argparse types: a bad value becomes "qtheory CMD: error: argument --flag: <message>"
def _integer(low, what):
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer; give {what}.") from None
        if v < low:
            raise argparse.ArgumentTypeError(f"{v} is invalid; give {what}.")
        return v
    parse.__name__ = "integer"
    return parse


def _probability(text):
    try:
        p = float(text)
    except ValueError:
        p = math.nan
    if not 0 < p < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is invalid: give a probability p with "
                                         "0 < p < 1, e.g. 0.99 for P99.")
    return p


_METHODS = ("formula", "soap", "symbolic", "simulation")


def _method_list(text):
    methods = [m.strip().lower() for m in text.split(",")]
    bad = [m for m in methods if m not in _METHODS]
    if bad:
        raise argparse.ArgumentTypeError(f"{bad[0]!r} is not a method: give a comma list of "
                                         f"{', '.join(_METHODS)} (e.g. formula,simulation).")
    return methods


#: At most this many worker processes per core for `qtheory sweep --workers`.
WORKERS_PER_CORE = 8


def _workers(text):
    n = _integer(1, "at least 1 process")(text)
    cap = WORKERS_PER_CORE * (os.cpu_count() or 1)
    if n > cap:
        raise argparse.ArgumentTypeError(
            f"{n} processes is more than {WORKERS_PER_CORE} per core ({cap} on this machine); "
            "each worker is a process, and more than the cores gains nothing: leave --workers "
            "out to use every core.")
    return n


def writable_file(path, flag):
    """``Path(path)`` if a file can be created or replaced there, else a ParameterError
    naming ``flag``."""
    if not str(path):
        raise ParameterError(f"{flag} is empty: give a file name.")
    path = Path(path)
    if path.is_dir():
        raise ParameterError(f"{flag} {str(path)!r} is a directory: give a file name in it.")
    parent = path.parent
    if not parent.is_dir():
        what = "is not a directory" if parent.exists() else "does not exist"
        raise ParameterError(f"{flag} {str(path)!r}: the folder {str(parent)!r} {what}; "
                             "create it first or write elsewhere.")
    if not os.access(parent, os.W_OK):
        raise ParameterError(f"{flag} {str(path)!r}: the folder {str(parent)!r} is not "
                             "writable; write elsewhere.")
    return path


#: The library's API spellings in messages, and the CLI flags that say the same.
_SPELLINGS = [(r"\bmethod\s*=\s*'(\w+)'", r"--method \1"),
              (r"\bprediction\s*=\s*qt\.Perfect\(\)", "--prediction perfect"),
              (r"\bqt\.ExpNoise\(\)", "--prediction exp")]


def cli_spelling(message):
    """``message`` with the library's parameter spellings replaced by the CLI's flags.

    Examples
    --------
    >>> cli_spelling("use method='soap' or prediction=qt.Perfect()")
    'use --method soap or --prediction perfect'
    """
    for pattern, flag in _SPELLINGS:
        message = re.sub(pattern, flag, message)
    return message


@contextmanager
def blame(context):
    """Re-raise a qtheory error with ``context`` (the flags that led to it) in front."""
    try:
        yield
    except QTheoryError as exc:
        raise ParameterError(f"{context}: {cli_spelling(str(exc))}") from exc


class Setup:
    """The parsed shared flags: size law, prediction model, policies and loads."""

    def __init__(self, args):
        self.size = check_size(args.size, parse_size(args.size))
        self.prediction = parse_prediction(args.prediction)
        self.spellings = list(args.policy)
        self.policies = [parse_policy(p) for p in args.policy]
        self.loads = parse_loads(args.load)

    def queue(self, rho):
        """The M/G/1 queue at load rho."""
        return MG1(rho / self.size.mean, self.size, self.prediction)

    def cells(self):
        """(rho, policy, queue, T, context): one-bit policies at their optimal threshold T;
        context names the flags of the cell, for error messages."""
        for rho in self.loads:
            for text, policy in zip(self.spellings, self.policies):
                context = f"--policy {text} at --load {rho:g}"
                with blame(context):
                    q, T = resolve(self.queue(rho), policy)
                yield rho, policy, q, T, context


# -- output ---------------------------------------------------------------------------------
def _plain(v):
    """JSON-friendly: NaN and infinities become null, NumPy scalars Python numbers."""
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def emit(records, fmt, text, out=None):
    """Print ``records`` (list of dicts) as CSV or JSON, or ``text()`` for humans."""
    out = out or sys.stdout
    if fmt == "json":
        json.dump([{k: _plain(v) for k, v in r.items()} for r in records], out, indent=1)
        out.write("\n")
    elif fmt == "csv":
        w = csv.DictWriter(out, list(records[0]) if records else [], lineterminator="\n")
        w.writeheader()
        w.writerows({k: ("" if _plain(v) is None else _plain(v)) for k, v in r.items()}
                    for r in records)
    else:
        print(text(), file=out)


# -- subcommands ----------------------------------------------------------------------------
def cmd_mean(args):
    s = Setup(args)
    options = ({"jobs": args.jobs, "replications": args.replications, "seed": args.seed}
               if args.method == "simulation" else {})
    if getattr(args, "dispatch", None):
        return _mean_dispatch(args, s, options)
    if args.servers > 1 or args.speed != "1":
        return _mean_servers(args, s, options)
    if args.method in ("exact", "mean-field"):
        raise ParameterError(f"--method {args.method} is for dispatching to several queues: "
                             "add --dispatch RULE --servers N.")
    if args.method == "approximation":
        raise ParameterError("--method approximation is for several servers (M/G/k): add "
                             "--servers K, or use --method auto on one server.")
    records = []
    for rho, policy, q, T, context in s.cells():
        with blame(context if args.method == "auto" else f"{context} with --method {args.method}"):
            r = q.mean_response_time(policy, method=args.method, **options)
        ci = getattr(r, "ci", None) or (math.nan, math.nan)
        rec = dict(load=rho, policy=label(policy), mean_response_time=None,
                   error=float(getattr(r, "error", 0.0)),
                   method=getattr(r, "method", args.method), ci_lo=ci[0], ci_hi=ci[1],
                   threshold=math.nan if T is None else T)
        if args.method == "symbolic":      # the exact expression, evaluated to 17 digits
            from ..methods.symbolic import evaluate
            expr = getattr(r, "value", r)
            with blame(f"{context} with --method symbolic"):
                value = float(evaluate(expr, 17))
            rec.update(mean_response_time=value, expression=str(expr))
        else:
            rec["mean_response_time"] = float(r)
        records.append(rec)

    def text():
        return "\n".join(
            f"rho={r['load']:<6g} {r['policy']:<26} E[T] = {r['mean_response_time']:.10g} "
            f"± {r['error']:.2g}  ({r['method']})"
            + (f"  T* = {r['threshold']:.6g}" if math.isfinite(r["threshold"]) else "")
            for r in records)
    emit(records, args.format, text)
    return 0


def _mean_dispatch(args, s, options):
    """``mean --dispatch RULE --servers n``: n separate queues (qt.Dispatch), each running
    the policy, at load rho per queue (total rate rho n / E[X])."""
    from ..policies.dispatch_rules import as_rule
    from ..queues.dispatch import Dispatch
    if args.method in ("soap", "symbolic", "approximation"):
        raise ParameterError(f"--method {args.method} is not available with --dispatch: use "
                             "auto, exact, mean-field or simulation.")
    if args.speed != "1":
        raise ParameterError("--speed is for a central queue (--servers without --dispatch).")
    method = "exact" if args.method == "formula" else args.method
    n = args.servers
    try:
        rule = as_rule(args.dispatch)
    except ParameterError as exc:
        raise ParameterError(f"--dispatch {args.dispatch!r}: {exc}") from None
    records = []
    for rho in s.loads:
        for text, policy in zip(s.spellings, s.policies):
            context = (f"--policy {text} at --load {rho:g} with --dispatch {args.dispatch} "
                       f"--servers {n}")
            with blame(context if args.method == "auto"
                       else f"{context} with --method {args.method}"):
                f = Dispatch(rho * n / s.size.mean, s.size, n, rule, policy, s.prediction)
                r = f.mean_response_time(method=method, **options)
            ci = getattr(r, "ci", None) or (math.nan, math.nan)
            records.append(dict(load=rho, policy=label(policy), servers=n, rule=repr(rule),
                                mean_response_time=float(r), error=float(r.error),
                                method=r.method, kind=r.details.get("kind", "simulation"),
                                ci_lo=ci[0], ci_hi=ci[1]))

    def text():
        return "\n".join(
            f"rho={r['load']:<6g} n={r['servers']:<5} {r['rule']:<14} {r['policy']:<18} "
            f"E[T] = {r['mean_response_time']:.10g} ± {r['error']:.2g}  ({r['kind']})"
            for r in records)
    emit(records, args.format, text)
    return 0


def _mean_servers(args, s, options):
    """``mean --servers k``: the central M/G/k queue (qt.MGk) at per-server load rho."""
    from ..laws.predictions import Threshold
    from ..policies.catalogue import OneBit
    from ..queues.mgk import MGk
    if args.method in ("soap", "symbolic"):
        raise ParameterError(f"--method {args.method} is for one server: with --servers use "
                             "--method auto, formula (exact results only) or simulation.")
    method = "exact" if args.method == "formula" else args.method
    k = args.servers
    speed = 1.0 if args.speed == "1" else 1.0 / k
    records = []
    for rho in s.loads:
        for text, policy in zip(s.spellings, s.policies):
            context = f"--policy {text} at --load {rho:g} with --servers {k}"
            if isinstance(policy, OneBit) and not isinstance(s.prediction, Threshold):
                raise ParameterError(f"{context}: a one-bit policy on several servers needs "
                                     "its threshold: give --prediction threshold:T[:MODEL] "
                                     "(optimal thresholds are computed for one server only).")
            with blame(context if args.method == "auto"
                       else f"{context} with --method {args.method}"):
                m = MGk(rho * k * speed / s.size.mean, s.size, k, s.prediction, speed=speed)
                r = m.mean_response_time(policy, method=method, **options)
            ci = getattr(r, "ci", None) or (math.nan, math.nan)
            records.append(dict(load=rho, policy=label(policy), servers=k,
                                speed=args.speed, mean_response_time=float(r),
                                error=float(r.error), method=r.method,
                                kind=r.details.get("kind", ""), ci_lo=ci[0], ci_hi=ci[1]))

    def text():
        return "\n".join(
            f"rho={r['load']:<6g} k={r['servers']:<3} {r['policy']:<26} E[T] = "
            f"{r['mean_response_time']:.10g} ± {r['error']:.2g}  ({r['method']})"
            for r in records)
    emit(records, args.format, text)
    return 0


def cmd_tail(args):
    s = Setup(args)
    quantiles = args.quantile or [0.5, 0.9, 0.99, 0.999]
    records = []
    for rho, policy, q, T, context in s.cells():
        with blame(context):
            d = q.response_time_distribution(policy)
            mean, var = d.mean(), d.variance()
        rec = dict(load=rho, policy=label(policy), mean=mean.value, variance=var.value,
                   variance_error=var.error, threshold=math.nan if T is None else T)
        for p in quantiles:
            with blame(f"{context} with --quantile {p:g}"):
                r = d.quantile(p)
            rec[f"p{p:g}"], rec[f"p{p:g}_error"] = r.value, r.error
        records.append(rec)

    def text():
        head = (f"{'rho':<6}{'policy':<26}{'E[T]':>12}{'Var T':>14}"
                + "".join(f"{'P' + format(100 * p, 'g'):>16}" for p in quantiles))
        rows = [head, "-" * len(head)]
        for r in records:
            rows.append(f"{r['load']:<6g}{r['policy']:<26}{r['mean']:>12.6g}"
                        f"{r['variance']:>14.6g}"
                        + "".join(f"{r[f'p{p:g}']:>16.8g}" for p in quantiles))
        rows.append("exact moments; quantiles by Euler inversion (errors in --csv/--json)")
        return "\n".join(rows)
    emit(records, args.format, text)
    return 0


def cmd_validate(args):
    from ..analysis.validate import ValidationSuite, validate
    if args.jobs == 0 and args.methods and "simulation" in args.methods:
        raise ParameterError("--methods includes simulation but --jobs 0 turns simulation "
                             "off: give --jobs >= 1 (e.g. 100000) or leave simulation out.")
    s = Setup(args)
    cells = list(s.cells())
    reports = []
    for k, (_, policy, q, _, context) in enumerate(cells):
        with blame(context):
            reports.append(validate(q, policy, jobs=args.jobs, replications=args.replications,
                                    seed=args.seed + k, methods=args.methods))
    suite = ValidationSuite(reports)
    records = [dict(load=rho, threshold=math.nan if T is None else T, **rec)
               for (rho, _, _, T, _), rep in zip(cells, reports) for rec in rep.records()]
    emit(records, args.format,
         lambda: "\n\n".join(map(str, reports)) + f"\n\n{suite}")
    return 0 if suite.passed else 1


def cmd_plot(args):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import plot
    out = writable_file(args.out, "--out")
    if out.suffix.lower() not in plot.FORMATS:
        raise ParameterError(f"--out {args.out!r}: unknown file type {out.suffix or '(none)'!r}; "
                             "end the name in .pdf, .pgf, .png or .svg.")
    s = Setup(args)
    if args.kind == "size" and len(s.loads) > 1:
        raise ParameterError(f"--kind size draws E[T | size] at one load, but --load "
                             f"{args.load!r} gives {len(s.loads)}: give one, e.g. --load 0.8.")
    context = (f"--kind {args.kind} with --policy {' --policy '.join(s.spellings)}, --load "
               f"{args.load} and --method {args.method}")
    with plot.style(columns=args.columns):
        fig, ax = plt.subplots()
        try:
            sim = dict(jobs=args.jobs, replications=args.replications, seed=args.seed)
            with blame(context):
                if args.kind == "load":
                    plot.plot_vs_load(s.size, s.policies, s.loads, s.prediction, args.method,
                                      ax, **sim)
                elif args.kind == "validation":
                    plot.plot_validation(s.size, s.policies, s.loads, s.prediction,
                                         args.method, ax, **sim)
                else:
                    plot.plot_by_size(s.queue(s.loads[0]), s.policies, ax=ax)
            try:
                plot.save(fig, out)
            except OSError as exc:
                raise ParameterError(f"--out {args.out!r}: cannot write it ({exc.strerror}); "
                                     "write elsewhere.") from None
        finally:
            plt.close(fig)
    print(f"wrote {args.out}")
    return 0


def sweep_point(policy, load, size, prediction, method):
    """One point of ``qtheory sweep`` (module level so that worker processes can run it)."""
    pol = parse_policy(policy)
    law = parse_size(size)
    q, T = resolve(MG1(load / law.mean, law, parse_prediction(prediction)), pol)
    return {"mean_response_time": q.mean_response_time(pol, method=method),
            "threshold": T}


def cmd_sweep(args):
    from concurrent.futures import ProcessPoolExecutor

    from .sweep import sweep
    s = Setup(args)      # checks every flag before any work starts
    if args.store is not None:
        writable_file(args.store, "--store")
    grid = {"policy": args.policy, "load": s.loads, "size": [args.size],
            "prediction": [args.prediction], "method": [args.method]}
    points = len(args.policy) * len(s.loads)
    # no more processes than points (a process pool may start all its workers at once)
    executor = ProcessPoolExecutor(min(args.workers, points)) if args.workers else None
    try:
        table = sweep(sweep_point, grid, executor=executor, store=args.store,
                      progress=not args.no_progress)
    except OSError as exc:
        if args.store is None or exc.filename not in (args.store, os.fspath(Path(args.store))):
            raise
        raise ParameterError(f"--store {args.store!r}: cannot use it ({exc.strerror}); give "
                             "a writable JSON-lines file.") from None
    finally:
        if executor is not None:
            executor.shutdown()
    records = table.to_dict("records") if hasattr(table, "to_dict") else list(table)
    emit(records, args.format, lambda: table.to_string(index=False)
         if hasattr(table, "to_string") else "\n".join(map(str, records)))
    return 1 if any(r.get("exception") for r in records) else 0


def papers():
    """The reproducible papers: name -> path of its reproduce.py (source checkout only)."""
    if not PAPERS.is_dir():
        raise ParameterError(f"no papers/ folder next to the package ({PAPERS}): "
                             "`qtheory reproduce` needs a source checkout installed with "
                             "pip install -e .")
    return {p.parent.name: p for p in sorted(PAPERS.glob("*/reproduce.py"))}


def cmd_reproduce(args):
    found = papers()
    if args.list or not args.name:
        for name, path in found.items():
            doc = ast.get_docstring(ast.parse(path.read_text())) or ""
            print(f"{name:<20} {doc.splitlines()[0] if doc else ''}")
        return 0
    if args.name not in found:
        raise ParameterError(f"reproduce: unknown paper {args.name!r}; choose from "
                             f"{sorted(found)} (qtheory reproduce --list).")
    if args.out is not None:
        check_folder(args.out, "--out")
    spec = importlib.util.spec_from_file_location(f"papers_{args.name}", found[args.name])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    argv = (["--full"] if args.full else []) + (["--out", args.out] if args.out else [])
    return module.main(argv)


def check_folder(path, flag):
    """A folder that exists or can be created at ``path``, else a ParameterError naming
    ``flag`` (checked before a long computation that writes there at its end)."""
    if not str(path):
        raise ParameterError(f"{flag} is empty: give a folder.")
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ParameterError(f"{flag} {str(path)!r} is a file: give a folder (it is created "
                             "if missing).")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        raise ParameterError(f"{flag} {str(path)!r}: cannot create a folder under "
                             f"{str(existing)!r}; write elsewhere.")
    return path


# -- the default table ----------------------------------------------------------------------
def default_table(out=None):
    """The main job: every closed form at four loads, Exp(1) sizes, ExpNoise predictions."""
    out = out or sys.stdout
    size, pred = D.Exponential(1.0), PR.ExpNoise()
    pols = [P.FCFS(), P.PS(), P.LCFS(), P.FB(), P.SJF(), P.PSJF(), P.SRPT(), P.SPJF(),
            P.PSPJF(), P.SPRPT(), P.Trail(0.5), P.OneBit(False), P.OneBit(True),
            P.OneBit("resume"), P.SkipPredict(1.0)]
    loads = [0.5, 0.8, 0.9, 0.95]
    start = time.perf_counter()
    print("Mean response time E[T], M/G/1 with Exp(1) sizes and predictions "
          "Y | X=x ~ Exp(mean x)\n(one-bit policies at their optimal threshold T*, shown after "
          "the value; ± is the numerical error bound)\n", file=out)
    head = f"{'policy':<24}" + "".join(f"{'rho=' + str(r):>26}" for r in loads) + "  method"
    print(head, file=out)
    print("-" * len(head), file=out)
    for p in pols:
        cells = []
        for rho in loads:
            q, T = resolve(MG1(rho, size, pred), p)
            r = q.mean_response_time(p)
            cells.append(f"{r.value:.6f} ± {r.error:.0e}" + (f" {T:.6g}" if T else ""))
        print(f"{label(p):<24}" + "".join(f"{c:>26}" for c in cells) + f"  {r.method}",
              file=out)
    print(f"\n{len(pols) * len(loads)} results in {time.perf_counter() - start:.2f} s. "
          "Sources: docs/theory (Pollaczek-Khinchine, Schrage-Miller, Mitzenmacher 2020, 2021, "
          "Shahout et al. 2025, Shahout & Mitzenmacher 2024).", file=out)


# -- the parser -----------------------------------------------------------------------------
def build_parser():
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="qtheory", description=__doc__, formatter_class=fmt,
        epilog="examples:\n  qtheory\n"
               "  qtheory mean --policy sprpt --size 'expon()' --prediction exp "
               "--load 0.5:0.95:0.05 --csv\n"
               "  qtheory validate --policy srpt --load 0.8 --jobs 100000\n"
               "  qtheory plot --policy srpt --policy sprpt --prediction exp --out fig.pdf\n"
               "  qtheory sweep --policy fcfs --policy srpt --load 0.5:0.9:0.1 "
               "--store sweep.jsonl\n"
               "  qtheory reproduce --list")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    queue = argparse.ArgumentParser(add_help=False)
    g = queue.add_argument_group("queue")
    g.add_argument("--policy", action="append", metavar="POLICY", required=True,
                   help="a policy; repeat the flag for several")
    g.add_argument("--size", default="exponential(1)", help="size law (default Exp(1))")
    g.add_argument("--prediction", default="none",
                   help="none, perfect, exp, uniform:A, lognormal:S, threshold:T[:MODEL]")
    g.add_argument("--load", default="0.5,0.8,0.9,0.95",
                   help="loads rho: start:stop:step or a comma list (default 0.5,0.8,0.9,0.95)")
    method = argparse.ArgumentParser(add_help=False)
    method.add_argument("--method", default="auto",
                        choices=["auto", "formula", "soap", "simulation"])
    exact = argparse.ArgumentParser(add_help=False)
    exact.add_argument("--method", default="auto",
                       choices=["auto", "formula", "soap", "symbolic", "simulation",
                                "approximation", "exact", "mean-field"],
                       help="symbolic: the exact sympy expression (printed in CSV/JSON), "
                            "evaluated to 17 digits; approximation: with --servers only; "
                            "exact, mean-field: with --dispatch only")
    def simulation_flags(min_jobs, jobs_help):
        flags = argparse.ArgumentParser(add_help=False)
        g = flags.add_argument_group("simulation")
        g.add_argument("--jobs", default=200_000, help=jobs_help,
                       type=_integer(min_jobs, f"an integer >= {min_jobs} (e.g. 100000)"))
        g.add_argument("--replications", default=8, help="independent replications (>= 2)",
                       type=_integer(2, "at least 2 replications (8 is typical)"))
        g.add_argument("--seed", type=_integer(0, "an integer >= 0"), default=1)
        return flags
    simulation = simulation_flags(1, "jobs per replication")
    output = argparse.ArgumentParser(add_help=False)
    g = output.add_mutually_exclusive_group()
    g.add_argument("--format", choices=["text", "csv", "json"], default="text")
    g.add_argument("--csv", dest="format", action="store_const", const="csv",
                   help="same as --format csv")
    g.add_argument("--json", dest="format", action="store_const", const="json",
                   help="same as --format json")

    def command(name, parents, help, examples):
        return sub.add_parser(name, parents=parents, help=help, description=help,
                              formatter_class=fmt,
                              epilog="examples:\n" + "".join(f"  qtheory {name} {e}\n"
                                                             for e in examples) + LAW_HELP)

    mean = command("mean", [queue, exact, simulation, output],
                   "mean response time of policies over loads",
                   ["--policy sprpt --size 'expon()' --prediction exp --load 0.5:0.95:0.05 "
                    "--csv",
                    "--policy onebit:pre --size 'weibull(0.5, 0.5)' --prediction exp --load 0.9",
                    "--policy srpt --method simulation --jobs 100000 --json",
                    "--policy fcfs --servers 4 --load 0.5,0.9",
                    "--policy srpt --servers 8 --method simulation --load 0.9",
                    "--policy fcfs --dispatch jsq:2 --servers 1000 --load 0.9"])
    mean.add_argument("--servers", default=1, metavar="K",
                      type=_integer(1, "the number of servers, an integer >= 1 (e.g. 4)"),
                      help="k servers sharing one central queue (qt.MGk); --load is then the "
                           "load per server, lambda E[X] / (k speed)")
    mean.add_argument("--dispatch", default=None, metavar="RULE",
                      help="dispatch to --servers separate queues (qt.Dispatch) by RULE: "
                           "random, roundrobin, jsq[:D], ll[:D] or sita:C1,C2,...; --load is "
                           "the load per queue")
    mean.add_argument("--speed", default="1", choices=["1", "1/k"],
                      help="speed of each server with --servers: 1, or 1/k (the SRPT-k "
                           "literature's convention)")
    t = command("tail", [queue, output],
                "variance and percentiles of the response time (exact moments, quantiles "
                "by numerical inversion)",
                ["--policy srpt --policy fcfs --load 0.8 --quantile 0.99",
                 "--policy psjf --policy fb --size 'erlang(2, 2)' --load 0.5,0.9 --csv"])
    t.add_argument("--quantile", action="append", default=[], metavar="P", type=_probability,
                   help="a probability p < 1; repeat for several (default 0.5, 0.9, 0.99, "
                        "0.999)")
    v = command("validate", [queue, simulation_flags(0, "jobs per replication (0: no "
                                                       "simulation)"), output],
                "all methods side by side; exit status 1 when they disagree",
                ["--policy srpt --policy ps --load 0.5,0.9",
                 "--policy sprpt --prediction exp --methods formula,soap --jobs 0 --csv"])
    v.add_argument("--methods", type=_method_list,
                   help="comma list of formula, soap, symbolic, simulation (default all)")
    p = command("plot", [queue, method, simulation],
                "a paper-ready figure: E[T] against load or size, or theory vs simulation",
                ["--policy srpt --policy sprpt --prediction exp --load 0.5:0.95:0.05 "
                 "--out fig.pdf",
                 "--kind validation --policy srpt --load 0.5,0.7,0.9 --out check.pdf",
                 "--kind size --policy ps --policy srpt --load 0.8 --out size.pdf"])
    p.add_argument("--kind", choices=["load", "size", "validation"], default="load")
    p.add_argument("--out", required=True, help="file to write (.pdf, .pgf, .png, .svg)")
    p.add_argument("--columns", type=int, choices=[1, 2], default=1,
                   help="figure width: one column or the full width of two")
    s = command("sweep", [queue, method, output],
                "policies x loads in parallel, resumable from --store",
                ["--policy fcfs --policy srpt --load 0.5:0.9:0.1 --store sweep.jsonl",
                 "--policy sprpt --prediction exp --load 0.5,0.9 --workers 2 --csv"])
    s.add_argument("--store", help="JSON-lines file: finished points are kept there and "
                                   "not recomputed when the sweep is run again")
    s.add_argument("--workers", type=_workers, help="processes (default: all cores)")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    from .llm_cli import add_parser as add_llm_parser
    add_llm_parser(sub, [simulation_flags(20, "requests per replication"), output], fmt,
                   _integer)
    r = sub.add_parser("reproduce", help="rerun a published table (papers/<name>/reproduce.py)",
                       formatter_class=fmt,
                       epilog="examples:\n  qtheory reproduce --list\n"
                              "  qtheory reproduce mitzenmacher2020 --out /tmp/m2020\n"
                              "needs a source checkout (pip install -e .); exit status 0 "
                              "when every number agrees with the paper.")
    r.add_argument("name", nargs="?", help="paper folder name, see --list")
    r.add_argument("--list", action="store_true", help="list the papers")
    r.add_argument("--full", action="store_true", help="full settings (slow)")
    r.add_argument("--out", help="output folder (default: the paper's folder)")
    return parser


def cmd_llm(args):
    """``qtheory llm``: see :mod:`qtheory.tools.llm_cli`."""
    from .llm_cli import cmd_llm as run
    return run(args, parse_size, emit)


COMMANDS = {"mean": cmd_mean, "tail": cmd_tail, "validate": cmd_validate, "plot": cmd_plot, "sweep": cmd_sweep,
            "reproduce": cmd_reproduce, "llm": cmd_llm}


def _warning_printer():
    """A ``warnings.showwarning`` that prints each distinct warning once, as one line
    ``qtheory: warning: ...`` without the source line."""
    seen = set()

    def show(message, category, filename, lineno, file=None, line=None):
        text = cli_spelling(str(message))
        if text not in seen:
            seen.add(text)
            print(f"qtheory: warning: {text}", file=file or sys.stderr)
    return show


def main(argv=None):
    """Run the ``qtheory`` command with ``argv`` (default ``sys.argv[1:]``); returns the
    exit status: 0 done, 1 a disagreement (validate, reproduce) or failed sweep points,
    2 a bad flag (a one-line message on standard error naming the flag and the fix), 130
    interrupted. Anything else, with a traceback, is a bug in qtheory."""
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _warning_printer()
        try:
            if args.command is None:
                default_table()
                return 0
            return COMMANDS[args.command](args)
        except QTheoryError as exc:
            print(f"qtheory: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("qtheory: interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
