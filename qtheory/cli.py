"""The ``qtheory`` command.

``qtheory`` alone prints the mean response time of every policy with a closed form at
loads 0.5, 0.8, 0.9, 0.95 (Exp(1) sizes, exponentially distributed predictions), each
with its method and error estimate. ``qtheory mean`` answers one question; see
``qtheory mean --help``.
"""

import argparse
import ast
import csv
import math
import sys
import time

from . import distributions as D
from . import policies as P
from . import predictions as PR
from .errors import ParameterError, QTheoryError
from .optimize import optimal_threshold
from .queue import MG1

LAWS = {"exponential": D.Exponential, "erlang": D.Erlang, "uniform": D.Uniform,
        "deterministic": D.Deterministic, "weibull": D.Weibull, "lognormal": D.Lognormal,
        "boundedpareto": D.BoundedPareto, "hyperexponential": D.Hyperexponential}

POLICIES = {"fcfs": P.FCFS, "lcfs": P.LCFS, "ps": P.PS, "sjf": P.SJF, "psjf": P.PSJF,
            "srpt": P.SRPT, "fb": P.FB, "spjf": P.SPJF, "pspjf": P.PSPJF, "sprpt": P.SPRPT,
            "bounce": P.SPRPTBounce, "gittins": P.Gittins}


def parse_size(text):
    """A size law from text: ``exponential(1)``, ``weibull(0.5, 0.5)`` or any scipy.stats
    continuous law such as ``expon()`` or ``lognorm(1.0, scale=2)``.

    Examples
    --------
    >>> parse_size("weibull(0.5, 0.5)").mean
    1.0
    >>> parse_size("expon(scale=2)").mean
    2.0
    """
    try:
        call = ast.parse(text.strip(), mode="eval").body
        if isinstance(call, ast.Name):
            call = ast.Call(call, [], [])
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
            raise ValueError
        args = [ast.literal_eval(a) for a in call.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    except (SyntaxError, ValueError):
        raise ParameterError(f"--size {text!r} is not a law: write e.g. 'exponential(1)', "
                             "'weibull(0.5, 0.5)' or a scipy.stats law like 'expon()'.") from None
    name = call.func.id
    import scipy.stats
    if name.lower() in LAWS:
        return LAWS[name.lower()](*args, **kwargs)
    law = getattr(scipy.stats, name, None)
    if not isinstance(law, scipy.stats.rv_continuous):
        raise ParameterError(f"--size: unknown law {name!r}; use one of {sorted(LAWS)} or a "
                             "continuous scipy.stats distribution name.")
    return D.as_size_law(law(*args, **kwargs))


def parse_prediction(text):
    """``none``, ``perfect``, ``exp``, ``uniform:ALPHA``, ``lognormal:SIGMA``,
    ``threshold:T[:MODEL]``."""
    name, _, rest = (text or "none").lower().partition(":")
    try:
        if name == "none":
            return None
        if name == "perfect":
            return PR.Perfect()
        if name in ("exp", "expnoise"):
            return PR.ExpNoise()
        if name == "uniform":
            return PR.UniformNoise(float(rest))
        if name == "lognormal":
            return PR.LognormalNoise(float(rest))
        if name == "threshold":
            T, _, noise = rest.partition(":")
            return PR.Threshold(float(T), parse_prediction(noise or "perfect"))
    except ValueError:
        pass
    raise ParameterError(f"--prediction {text!r} is not a prediction model: use none, "
                         "perfect, exp, uniform:ALPHA, lognormal:SIGMA or threshold:T[:MODEL].")


def parse_policy(text):
    """``srpt``, ``trail:0.5``, ``onebit[:pre|:resume]``, ``skippredict:T``, ``classes:T1,T2``..."""
    name, _, arg = text.lower().partition(":")
    try:
        if name in POLICIES and not arg:
            return POLICIES[name]()
        if name == "trail":
            return P.Trail(float(arg))
        if name == "onebit":
            return P.OneBit({"": False, "np": False, "pre": True, "resume": "resume"}[arg])
        if name == "skippredict":
            return P.SkipPredict(float(arg))
        if name == "delaypredict":
            return P.DelayPredict(float(arg))
        if name == "classes":
            ts, _, mode = arg.partition(":")
            return P.PriorityClasses([float(t) for t in ts.split(",")], mode or False)
    except (ValueError, KeyError):
        pass
    raise ParameterError(f"--policy {text!r} is unknown: use one of {sorted(POLICIES)}, "
                         "trail:C, onebit[:pre|:resume], skippredict:T, delaypredict:L or "
                         "classes:T1,T2[:resume].")


def parse_loads(text):
    """``0.5:0.95:0.05`` (start:stop:step, stop included) or ``0.5,0.8``."""
    try:
        if ":" in text:
            a, b, s = (float(v) for v in text.split(":"))
            n = int(math.floor((b - a) / s + 1e-9)) + 1
            return [round(a + i * s, 12) for i in range(n)]
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise ParameterError(f"--load {text!r}: write start:stop:step or a comma list.") from None


def _rows(size, prediction, policy, loads, method):
    for rho in loads:
        q = MG1(rho / size.mean, size, prediction)
        extra = ""
        if isinstance(policy, P.OneBit) and not isinstance(prediction, PR.Threshold):
            opt = optimal_threshold(q, policy)
            q = q.with_prediction(PR.Threshold(opt.T, prediction))
            extra = f"T*={opt.T:.6g}"
        r = q.mean_response_time(policy, method=method)
        yield rho, policy, r, extra


def _label(p):
    if isinstance(p, P.OneBit):
        return f"OneBit({ {False: 'non-preemptive', True: 'preempt-any'}.get(p.preemptive, 'resume') })"
    if isinstance(p, P.SkipPredict):
        return f"SkipPredict(T={p.T:g})"
    return repr(p) if p._key() else p.name


def default_table(out=sys.stdout):
    """The main job: every closed form at four loads, Exp(1) sizes, ExpNoise predictions."""
    size, pred = D.Exponential(1.0), PR.ExpNoise()
    pols = [P.FCFS(), P.PS(), P.LCFS(), P.FB(), P.SJF(), P.PSJF(), P.SRPT(), P.SPJF(),
            P.PSPJF(), P.SPRPT(), P.Trail(0.5), P.OneBit(False), P.OneBit(True),
            P.OneBit("resume"), P.SkipPredict(1.0)]
    loads = [0.5, 0.8, 0.9, 0.95]
    start = time.perf_counter()
    print("Mean response time E[T], M/G/1 with Exp(1) sizes and predictions "
          "Y | X=x ~ Exp(mean x)\n(one-bit policies at their optimal threshold T*, shown after the value; "
          "± is the numerical error bound)\n", file=out)
    head = f"{'policy':<24}" + "".join(f"{'rho=' + str(r):>26}" for r in loads) + "  method"
    print(head, file=out)
    print("-" * len(head), file=out)
    for p in pols:
        cells = []
        for rho, _, r, extra in _rows(size, pred, p, loads, "auto"):
            cells.append(f"{r.value:.6f} ± {r.error:.0e}" + (f" {extra[3:]}" if extra else ""))
        print(f"{_label(p):<24}" + "".join(f"{c:>26}" for c in cells) + f"  {r.method}",
              file=out)
    print(f"\n{len(pols) * len(loads)} results in {time.perf_counter() - start:.2f} s. "
          "Sources: MATH.md (Pollaczek-Khinchine, Schrage-Miller, Mitzenmacher 2020, 2021, "
          "Shahout et al. 2025, Shahout & Mitzenmacher 2024).", file=out)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="qtheory", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  qtheory\n"
               "  qtheory mean --policy sprpt --size 'expon()' --prediction exp "
               "--load 0.5:0.95:0.05\n"
               "  qtheory mean --policy onebit:pre --size 'weibull(0.5, 0.5)' "
               "--prediction exp --load 0.9 --csv")
    sub = parser.add_subparsers(dest="command")
    m = sub.add_parser("mean", help="mean response time of one policy over loads",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="laws: exponential(rate), erlang(k, rate), uniform(lo, hi), "
                              "deterministic(v), weibull(shape, scale), lognormal(mu, sigma),\n"
                              "boundedpareto(alpha, lo, hi) or any scipy.stats law, e.g. "
                              "'expon()', 'lognorm(1.0, scale=2)'.\n"
                              "one-bit policies without threshold:T predictions use the "
                              "optimal threshold.")
    m.add_argument("--policy", required=True, help="e.g. sprpt, trail:0.5, onebit:pre")
    m.add_argument("--size", default="exponential(1)", help="size law (default Exp(1))")
    m.add_argument("--prediction", default="none",
                   help="none, perfect, exp, uniform:A, lognormal:S, threshold:T[:MODEL]")
    m.add_argument("--load", default="0.5,0.8,0.9,0.95", help="start:stop:step or list")
    m.add_argument("--method", default="auto",
                   choices=["auto", "formula", "soap", "symbolic", "simulation"])
    m.add_argument("--csv", action="store_true", help="CSV output")
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            default_table()
            return 0
        size, pred = parse_size(args.size), parse_prediction(args.prediction)
        policy, loads = parse_policy(args.policy), parse_loads(args.load)
        writer = csv.writer(sys.stdout) if args.csv else None
        if writer:
            writer.writerow(["load", "policy", "mean_response_time", "error", "method", "note"])
        for rho, p, r, extra in _rows(size, pred, policy, loads, args.method):
            value = float(r)
            err = getattr(r, "error", float("nan"))
            method = getattr(r, "method", args.method)
            if writer:
                writer.writerow([rho, repr(p), repr(value), f"{err:.3g}", method, extra])
            else:
                print(f"rho={rho:<6g} {repr(p):<24} E[T] = {value:.10g} ± {err:.2g}  "
                      f"({method}) {extra}")
        return 0
    except QTheoryError as exc:
        print(f"qtheory: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
