"""The ``qtheory`` command.

``qtheory`` alone prints the mean response time of every policy with a closed form at
loads 0.5, 0.8, 0.9, 0.95 (Exp(1) sizes, exponentially distributed predictions), each
with its method and error estimate. The subcommands answer one question each:

  mean       E[T] of policies over loads, by any method
  validate   every method side by side, with a verdict (exit status 1 on disagreement)
  plot       a paper-ready figure (PDF, PGF, PNG or SVG)
  sweep      a resumable parallel sweep over policies x loads
  reproduce  rerun a published table from papers/ (a source checkout)

They share the flags --policy (repeatable), --size, --prediction, --load, --method and
--format text|csv|json. ``qtheory SUBCOMMAND --help`` lists the choices.
"""

import argparse
import ast
import csv
import importlib.util
import json
import math
import sys
import time
from pathlib import Path

from ..laws import sizes as D
from ..laws.convert import as_size_law
from ..policies import catalogue as P
from ..policies.registry import SPELLINGS, from_text
from ..laws import predictions as PR
from ..core.errors import ParameterError, QTheoryError
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
def parse_size(text):
    """A size law from text: ``exponential(1)``, ``weibull(0.5, 0.5)`` or any scipy.stats
    continuous law such as ``expon()`` or ``lognorm(1.0, scale=2)``.

    Examples
    --------
    >>> parse_size("weibull(0.5, 0.5)").mean
    1.0
    >>> round(parse_size("expon(scale=2)").mean, 12)
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
    if name.lower() in LAWS:
        return LAWS[name.lower()](*args, **kwargs)
    import scipy.stats
    law = getattr(scipy.stats, name, None)
    if not isinstance(law, scipy.stats.rv_continuous):
        raise ParameterError(f"--size: unknown law {name!r}; use one of {sorted(LAWS)} or a "
                             "continuous scipy.stats distribution name.")
    return as_size_law(law(*args, **kwargs))


def parse_prediction(text):
    """A prediction model: ``none``, ``perfect``, ``exp``, ``uniform:ALPHA``,
    ``lognormal:SIGMA`` or ``threshold:T[:MODEL]``.

    Examples
    --------
    >>> parse_prediction("threshold:2:exp")
    Threshold(2.0, ExpNoise())
    """
    name, _, rest = (text or "none").lower().partition(":")
    simple = {"none": lambda: None, "perfect": PR.Perfect, "exp": PR.ExpNoise,
              "expnoise": PR.ExpNoise}
    try:
        if name in simple and not rest:
            return simple[name]()
        if name == "uniform":
            return PR.UniformNoise(float(rest))
        if name == "lognormal":
            return PR.LognormalNoise(float(rest))
        if name == "threshold":
            T, _, noise = rest.partition(":")
            return PR.Threshold(float(T), parse_prediction(noise or "perfect"))
    except (ValueError, ParameterError):
        pass
    raise ParameterError(f"--prediction {text!r} is not a prediction model: use none, "
                         "perfect, exp, uniform:ALPHA, lognormal:SIGMA or threshold:T[:MODEL].")


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
    """Loads rho: ``0.5:0.95:0.05`` (start:stop:step, stop included) or ``0.5,0.8``.

    Examples
    --------
    >>> parse_loads("0.5:0.7:0.1"), parse_loads("0.9")
    ([0.5, 0.6, 0.7], [0.9])
    """
    try:
        if ":" in text:
            a, b, s = (float(v) for v in text.split(":"))
            if not s > 0:
                raise ValueError
            n = int(math.floor((b - a) / s + 1e-9)) + 1
            loads = [round(a + i * s, 12) for i in range(n)]
        else:
            loads = [float(v) for v in text.split(",")]
    except ValueError:
        raise ParameterError(f"--load {text!r}: write start:stop:step (step > 0) or a comma "
                             "list such as 0.5,0.8.") from None
    if not loads or not all(0 < r < 1 for r in loads):
        raise ParameterError(f"--load {text!r}: every load rho must lie in (0, 1).")
    return loads


class Setup:
    """The parsed shared flags: size law, prediction model, policies and loads."""

    def __init__(self, args):
        self.size = parse_size(args.size)
        self.prediction = parse_prediction(args.prediction)
        self.policies = [parse_policy(p) for p in args.policy]
        self.loads = parse_loads(args.load)

    def queue(self, rho):
        """The M/G/1 queue at load rho."""
        return MG1(rho / self.size.mean, self.size, self.prediction)

    def cells(self):
        """(rho, policy, queue, T): one-bit policies at their optimal threshold T."""
        for rho in self.loads:
            for policy in self.policies:
                q, T = resolve(self.queue(rho), policy)
                yield rho, policy, q, T


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
    records = []
    for rho, policy, q, T in s.cells():
        r = q.mean_response_time(policy, method=args.method, **options)
        ci = getattr(r, "ci", None) or (math.nan, math.nan)
        rec = dict(load=rho, policy=label(policy), mean_response_time=None,
                   error=float(getattr(r, "error", 0.0)),
                   method=getattr(r, "method", args.method), ci_lo=ci[0], ci_hi=ci[1],
                   threshold=math.nan if T is None else T)
        if args.method == "symbolic":      # the exact expression, evaluated to 17 digits
            from ..methods.symbolic import evaluate
            expr = getattr(r, "value", r)
            rec.update(mean_response_time=float(evaluate(expr, 17)), expression=str(expr))
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


def cmd_tail(args):
    s = Setup(args)
    quantiles = [float(v) for v in args.quantile] or [0.5, 0.9, 0.99, 0.999]
    records = []
    for rho, policy, q, T in s.cells():
        d = q.response_time_distribution(policy)
        mean, var = d.mean(), d.variance()
        rec = dict(load=rho, policy=label(policy), mean=mean.value, variance=var.value,
                   variance_error=var.error, threshold=math.nan if T is None else T)
        for p in quantiles:
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
    s = Setup(args)
    methods = None if args.methods is None else [m.strip() for m in args.methods.split(",")]
    cells = list(s.cells())
    reports = [validate(q, policy, jobs=args.jobs, replications=args.replications,
                        seed=args.seed + k, methods=methods)
               for k, (_, policy, q, _) in enumerate(cells)]
    suite = ValidationSuite(reports)
    records = [dict(load=rho, threshold=math.nan if T is None else T, **rec)
               for (rho, _, _, T), rep in zip(cells, reports) for rec in rep.records()]
    emit(records, args.format,
         lambda: "\n\n".join(map(str, reports)) + f"\n\n{suite}")
    return 0 if suite.passed else 1


def cmd_plot(args):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import plot
    plot.check_path(args.out)
    s = Setup(args)
    with plot.style(columns=args.columns):
        fig, ax = plt.subplots()
        sim = dict(jobs=args.jobs, replications=args.replications, seed=args.seed)
        if args.kind == "load":
            plot.plot_vs_load(s.size, s.policies, s.loads, s.prediction, args.method, ax,
                              **sim)
        elif args.kind == "validation":
            plot.plot_validation(s.size, s.policies, s.loads, s.prediction, args.method, ax,
                                 **sim)
        else:
            plot.plot_by_size(s.queue(s.loads[0]), s.policies, ax=ax)
        plot.save(fig, args.out)
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
    if args.workers is not None and args.workers < 1:
        raise ParameterError(f"--workers {args.workers} is invalid: use at least 1 process.")
    grid = {"policy": args.policy, "load": s.loads, "size": [args.size],
            "prediction": [args.prediction], "method": [args.method]}
    executor = ProcessPoolExecutor(args.workers) if args.workers else None
    try:
        table = sweep(sweep_point, grid, executor=executor, store=args.store,
                      progress=not args.no_progress)
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
    spec = importlib.util.spec_from_file_location(f"papers_{args.name}", found[args.name])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    argv = (["--full"] if args.full else []) + (["--out", args.out] if args.out else [])
    return module.main(argv)


# -- the default table ----------------------------------------------------------------------
def default_table(out=sys.stdout):
    """The main job: every closed form at four loads, Exp(1) sizes, ExpNoise predictions."""
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
                       choices=["auto", "formula", "soap", "symbolic", "simulation"],
                       help="symbolic: the exact sympy expression (printed in CSV/JSON), "
                            "evaluated to 17 digits")
    simulation = argparse.ArgumentParser(add_help=False)
    g = simulation.add_argument_group("simulation")
    g.add_argument("--jobs", type=int, default=200_000, help="jobs per replication")
    g.add_argument("--replications", type=int, default=8)
    g.add_argument("--seed", type=int, default=1)
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

    command("mean", [queue, exact, simulation, output],
            "mean response time of policies over loads",
            ["--policy sprpt --size 'expon()' --prediction exp --load 0.5:0.95:0.05 --csv",
             "--policy onebit:pre --size 'weibull(0.5, 0.5)' --prediction exp --load 0.9",
             "--policy srpt --method simulation --jobs 100000 --json"])
    t = command("tail", [queue, output],
                "variance and percentiles of the response time (exact moments, quantiles "
                "by numerical inversion)",
                ["--policy srpt --policy fcfs --load 0.8 --quantile 0.99",
                 "--policy psjf --policy fb --size 'erlang(2, 2)' --load 0.5,0.9 --csv"])
    t.add_argument("--quantile", action="append", default=[], metavar="P",
                   help="a probability p < 1; repeat for several (default 0.5, 0.9, 0.99, "
                        "0.999)")
    v = command("validate", [queue, simulation, output],
                "all methods side by side; exit status 1 when they disagree",
                ["--policy srpt --policy ps --load 0.5,0.9",
                 "--policy sprpt --prediction exp --methods formula,soap --jobs 0 --csv"])
    v.add_argument("--methods", help="comma list of formula, soap, symbolic, simulation "
                                     "(default all)")
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
    s.add_argument("--workers", type=int, help="processes (default: all cores)")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
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


COMMANDS = {"mean": cmd_mean, "tail": cmd_tail, "validate": cmd_validate, "plot": cmd_plot, "sweep": cmd_sweep,
            "reproduce": cmd_reproduce}


def main(argv=None):
    """Run the ``qtheory`` command with ``argv`` (default ``sys.argv[1:]``); returns the
    exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command is None:
            default_table()
            return 0
        return COMMANDS[args.command](args)
    except QTheoryError as exc:
        print(f"qtheory: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
