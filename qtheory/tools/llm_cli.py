"""``qtheory llm``: an LLM engine from a model and a GPU preset, simulated per scheduler
over request rates, with its capacity bound and fluid TTFT/TPOT beside the simulation.

Examples
--------
>>> parse_rates("2:10:2"), parse_rates("1.5,3")
([2.0, 4.0, 6.0, 8.0, 10.0], [1.5, 3.0])
>>> preset_name("llama-3-8b", {"Llama-3-8B": None}, "--model")
'Llama-3-8B'
"""

import argparse
import math

from ..core.errors import ParameterError

__all__ = ["add_parser", "cmd_llm", "parse_rates", "preset_name"]

MAX_RATES = 1000


def parse_rates(text):
    """Request rates per second: ``start:stop:step`` (stop included) or a comma list."""
    form = "write start:stop:step (0 < start <= stop, step > 0) or a comma list such as 2,4"
    try:
        if ":" in text:
            a, b, s = (float(v) for v in text.split(":"))
            if not (all(math.isfinite(v) for v in (a, b, s)) and 0 < a <= b and s > 0):
                raise ValueError
            n = math.floor((b - a) / s + 1e-9) + 1
            if n > MAX_RATES:
                raise ParameterError(f"--rate {text!r}: {n} rates, more than {MAX_RATES}.")
            return [round(a + i * s, 12) for i in range(n)]
        rates = [float(v) for v in text.split(",")]
    except ValueError:
        raise ParameterError(f"--rate {text!r}: {form}.") from None
    if not all(math.isfinite(r) and r > 0 for r in rates) or len(rates) > MAX_RATES:
        raise ParameterError(f"--rate {text!r}: rates must be positive finite numbers; {form}.")
    return rates


def preset_name(text, table, flag):
    """The preset of ``table`` named ``text`` (case-insensitive)."""
    names = {k.lower(): k for k in table}
    if text.lower() not in names:
        raise ParameterError(f"{flag} {text!r} is unknown: use one of "
                             f"{', '.join(sorted(table))}.")
    return names[text.lower()]


def _tokens(text, flag, parse_size):
    if text.isdigit():
        return int(text)
    try:
        return parse_size(text)
    except ParameterError as exc:
        raise ParameterError(f"{flag} {text!r}: {exc}") from None


def _efficiency(text):
    try:
        parts = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give F or F,B in (0, 1] (FLOP/s and "
                                         "bandwidth efficiency, e.g. 0.6,0.8)") from None
    if len(parts) not in (1, 2) or not all(0 < p <= 1 for p in parts):
        raise argparse.ArgumentTypeError(f"{text!r}: give F or F,B in (0, 1] (e.g. 0.6,0.8)")
    return parts[0] if len(parts) == 1 else tuple(parts)


def add_parser(sub, parents, fmt, integer):
    """Add the ``llm`` subcommand to the ``qtheory`` parser's subparsers ``sub``."""
    p = sub.add_parser(
        "llm", parents=parents, formatter_class=fmt,
        help="an LLM engine from a model and a GPU: capacity, TTFT/TPOT/E2E by scheduler "
             "and rate", description=__doc__.split("\n\n")[0],
        epilog="examples:\n"
               "  qtheory llm --model llama-3-8b --gpu a100-80gb --scheduler vllm "
               "--rate 2:10:2\n"
               "  qtheory llm --model qwen2-7b --gpu h100-80gb --scheduler orca "
               "--scheduler sarathi --prompt 1024 --output 'geom(0.005)' --rate 5,10 --csv\n")
    p.add_argument("--model", required=True, help="model preset (qt.MODELS), e.g. llama-3-8b")
    p.add_argument("--gpu", required=True, help="GPU preset (qt.GPUS), e.g. a100-80gb")
    p.add_argument("--scheduler", action="append", choices=["vllm", "orca", "sarathi",
                                                           "reserve"],
                   help="repeat for several (default vllm)")
    p.add_argument("--rate", default="1,2,4", help="request rates per second: "
                   "start:stop:step or a comma list (default 1,2,4)")
    p.add_argument("--prompt", default="512", help="prompt tokens: an integer or a law "
                   "(as --size of qtheory mean), default 512")
    p.add_argument("--output", default="256", help="output tokens: an integer or a law, "
                   "default 256")
    p.add_argument("--efficiency", type=_efficiency, default=(0.6, 0.8),
                   help="fraction of peak FLOP/s and bandwidth reached (default 0.6,0.8)")
    p.add_argument("--gpus", type=integer(1, "an integer >= 1 (tensor parallelism)"),
                   default=1, help="GPUs per engine (tensor parallel)")
    p.add_argument("--max-seqs", type=integer(1, "an integer >= 1"), default=256)
    p.add_argument("--max-tokens", type=integer(1, "an integer >= 1"), default=None,
                   help="tokens per iteration (sarathi's budget; default 512 for sarathi, "
                        "no cap otherwise)")
    return p


def cmd_llm(args, parse_size, emit):
    """Run ``qtheory llm``; ``parse_size`` and ``emit`` are the main CLI's law parser and
    output writer (passed in: this module is imported by the CLI, not the other way)."""
    from ..queues.llm import GPUS, MODELS, kv_blocks
    from ..queues.iteration_cost import IterationCost
    from ..queues.llm_server import LLMServer
    model = preset_name(args.model, MODELS, "--model")
    gpu = preset_name(args.gpu, GPUS, "--gpu")
    rates = parse_rates(args.rate)
    prompt = _tokens(args.prompt, "--prompt", parse_size)
    output = _tokens(args.output, "--output", parse_size)
    cost = IterationCost.roofline(model, gpu, efficiency=args.efficiency, num_gpus=args.gpus)
    memory = kv_blocks(model, gpu, num_gpus=args.gpus) * 16
    records = []
    for sch in args.scheduler or ["vllm"]:
        srv = LLMServer(rates[0], prompt, output, cost=cost, memory=memory, scheduler=sch,
                        max_seqs=args.max_seqs, max_tokens=args.max_tokens)
        cap = srv.capacity().value
        for lam in rates:
            rec = dict(scheduler=sch, rate=lam, capacity=cap, load=lam / cap)
            if lam < cap:
                srv.arrival_rate = lam
                s = srv.simulate(jobs=args.jobs, replications=args.replications,
                                 seed=args.seed)
                for m in ("TTFT", "TTFT_P90", "TTFT_P99", "TPOT", "TPOT_P90", "T", "T_P99",
                          "throughput", "preemptions"):
                    rec[m] = s.mean(m)
                rec["TTFT_fluid"] = srv.time_to_first_token().value
                rec["TPOT_fluid"] = srv.time_per_output_token().value
            records.append(rec)

    def text():
        lines = [f"{model} on {args.gpus} x {gpu}: {cost}; KV memory {memory} tokens"]
        for r in records:
            head = f"{r['scheduler']:<8} rate {r['rate']:<7g} load {r['load']:<6.3f}"
            if "T" not in r:
                lines.append(f"{head} above the capacity bound {r['capacity']:.4g}/s")
                continue
            lines.append(f"{head} TTFT {r['TTFT']:.4g} s (P99 {r['TTFT_P99']:.4g}, fluid "
                         f"{r['TTFT_fluid']:.4g})  TPOT {r['TPOT'] * 1e3:.4g} ms (P90 "
                         f"{r['TPOT_P90'] * 1e3:.4g}, fluid {r['TPOT_fluid'] * 1e3:.4g})  "
                         f"E2E {r['T']:.4g} s  preemptions/request {r['preemptions']:.3g}")
        return "\n".join(lines)
    emit(records, args.format, text)
    return 0
