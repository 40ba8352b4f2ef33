"""Reproduce Inoue (2021): closed-form latency bound vs the exact mean latency.

Source: Y. Inoue, "Queueing analysis of GPU-based inference servers with dynamic
batching: a closed-form characterization", Performance Evaluation 147 (2021) 102183;
arXiv 1912.06322. Dynamic batching with no cap (every waiting job joins the next batch),
Poisson arrivals, deterministic batch times S_k = α k + τ0 fitted to ResNet-50 on a
Tesla V100 (α = 0.1438 ms, τ0 = 1.8874 ms) and on a Tesla P4 with INT8 (α = 0.5833 ms,
τ0 = 1.4284 ms). The paper proves E[T] ≤ min(φ0, φ1) and shows, against simulation and
its exact analysis, that the bound is close.

We recompute, over the load ρ = λα: the bound (closed form), the exact E[T] (qtheory's
embedded-chain method) and, where the paper simulated, E[T] by simulation; and add the
memory-capped case b = ⌊M/m⌋, where the exact value is checked by two independent exact
methods (chain and PGF roots) and by simulation. Run ``python reproduce.py`` (seconds) or
``python reproduce.py --full``; writes table.csv, table.tex and figure.pdf.
"""

import math
import sys
from pathlib import Path

import numpy as np

from qtheory import plot
from qtheory.queues.batch import BatchQueue, inoue_phi0, inoue_phi1
from qtheory.tools.reproduction import run_reproduction
from qtheory.analysis.validate import t_limit

HERE = Path(__file__).resolve().parent
# Published fitted batch-time parameters (ms): batch time α k + τ0.
DEVICES = {"V100": (0.1438, 1.8874), "P4 INT8": (0.5833, 1.4284)}
LOADS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
# Memory-capped case: b = floor(M / m) requests per batch, V100 batch times, load λ E[S_b]/b.
CAPS = (8, 32)
CAP_LOADS = (0.5, 0.9)
# docs/theory.1 reference (own computation, independent of this code): b = 8,
# λ = 2.37, V100 batch times -> E[T] = 5.52148 (5 decimals).
REFERENCE = dict(b=8, lam=2.37, value=5.52148, tol=5e-6)

EXACT_TOL = 1e-9       # chain vs roots; bound >= exact up to this (relative)
Z_MAX = 4.0            # simulation vs exact: |t| as unlikely as a normal 4 sigma

REDUCED = dict(sim_loads=(0.3, 0.9), jobs=50_000, replications=6)
FULL = dict(sim_loads=LOADS, jobs=1_000_000, replications=10)


def _row(**kw):
    row = dict(case="", device="V100", b=math.inf, load=math.nan, lam=math.nan,
               exact=math.nan, roots=math.nan, bound=math.nan, phi0=math.nan,
               phi1=math.nan, gap=math.nan, sim=math.nan, sim_lo=math.nan, sim_hi=math.nan,
               z=math.nan, status="agrees", note="")
    row.update(kw)
    return row


def compute(settings):
    """One row per (device, load) for the paper's uncapped comparison, then the capped rows."""
    rows = []
    for device, (alpha, tau0) in DEVICES.items():
        for rho in LOADS:
            lam = rho / alpha
            q = BatchQueue.affine(lam, alpha, tau0)
            exact = q.mean_response_time().value
            p0, p1 = inoue_phi0(lam, alpha, tau0), inoue_phi1(lam, alpha, tau0)
            bound = min(p0, p1)
            row = _row(case="uncapped", device=device, load=rho, lam=lam, exact=exact,
                       bound=bound, phi0=p0, phi1=p1, gap=bound / exact - 1)
            if bound < exact * (1 - EXACT_TOL):
                row.update(status="DISAGREES", note="bound below the exact value")
            if rho in settings["sim_loads"]:
                _simulate(row, q, settings)
            rows.append(row)
    alpha, tau0 = DEVICES["V100"]
    for b in CAPS:
        for rho in CAP_LOADS:
            lam = rho * b / (alpha * b + tau0)
            rows.append(_capped(b, lam, rho, settings))
    ref = _capped(REFERENCE["b"], REFERENCE["lam"], math.nan, settings)
    ref["case"] = "reference"
    if abs(ref["exact"] - REFERENCE["value"]) > REFERENCE["tol"]:
        ref.update(status="DISAGREES", note=f"docs/theory gives {REFERENCE['value']}")
    else:
        ref["note"] = f"docs/theory/batch.md (own chain computation): {REFERENCE['value']}"
    rows.append(ref)
    return rows


def _capped(b, lam, rho, settings):
    alpha, tau0 = DEVICES["V100"]
    q = BatchQueue.affine(lam, alpha, tau0, max_batch=b)
    chain = q.mean_response_time().value
    roots = q.mean_response_time(method="roots").value
    row = _row(case="capped", b=b, load=q.load if math.isnan(rho) else rho, lam=lam,
               exact=chain, roots=roots)
    if abs(chain - roots) > EXACT_TOL * chain:
        row.update(status="DISAGREES", note="chain and roots differ")
    _simulate(row, q, settings)
    return row


def _simulate(row, q, settings):
    s = q.simulate(jobs=settings["jobs"], replications=settings["replications"],
                   seed=int(1000 * row["load"]) + int(min(row["b"], 999)))
    row.update(sim=s.value, sim_lo=s.ci[0], sim_hi=s.ci[1], z=s.z(row["exact"]))
    if abs(row["z"]) >= t_limit(Z_MAX, settings["replications"]):
        row.update(status="DISAGREES", note=f"simulation z = {row['z']:+.1f}")


def _latex(rows):
    body = []
    for rho in LOADS:
        cells = [f"{rho:g}"]
        for device in DEVICES:
            r = next(r for r in rows if r["case"] == "uncapped" and r["device"] == device
                     and r["load"] == rho)
            cells += [f"{r['exact']:.4f}", f"{r['bound']:.4f}", _percent(r["gap"])]
        body.append(cells)
    head = [r"$\rho = \lambda\alpha$"] + [h for d in DEVICES for h in
                                         (f"{d} exact", f"{d} bound", "gap")]
    return plot.latex_table(
        head, body,
        caption=r"Mean latency (ms) of dynamic batching with no cap, batch time "
                r"$\alpha k + \tau_0$ (Inoue 2021 fits): exact (embedded chain) and the "
                r"closed-form bound $\min(\varphi_0, \varphi_1)$; gap = bound/exact $-$ 1.",
        label="tab:inoue2021")


def _percent(x):
    return f"{100 * x:.2g}\\%" if x >= 5e-5 else r"$<10^{-4}$\%"


def _figure(rows, path):
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter
    with plot.style(columns=2, aspect=0.36):
        fig, (left, right) = plt.subplots(1, 2)
        for i, device in enumerate(DEVICES):
            mine = [r for r in rows if r["case"] == "uncapped" and r["device"] == device]
            x = np.array([r["load"] for r in mine])
            colour = plot.PALETTE[i]
            left.plot(x, [r["exact"] for r in mine], color=colour, label=f"{device} exact")
            left.plot(x, [r["bound"] for r in mine], color=colour, linestyle="--",
                      label=f"{device} bound")
            sim = [r for r in mine if np.isfinite(r["sim"])]
            if sim:
                y = np.array([r["sim"] for r in sim])
                left.errorbar([r["load"] for r in sim], y,
                              yerr=[y - [r["sim_lo"] for r in sim],
                                    [r["sim_hi"] for r in sim] - y],
                              color=colour, marker=plot.MARKERS[i], linestyle="none",
                              fillstyle="none", label=f"{device} simulated")
            # gaps below 1e-12 % are rounding noise of the two doubles: drawn at the floor
            right.semilogy(x, [max(100 * r["gap"], 1e-12) for r in mine], color=colour,
                           marker=plot.MARKERS[i], label=device)
        left.set(xlabel=r"load $\rho = \lambda\alpha$", ylabel="mean latency (ms)",
                 yscale="log")
        left.set_yticks([2, 5, 10, 20, 50])
        left.yaxis.set_major_formatter(ScalarFormatter())
        left.yaxis.set_minor_formatter(NullFormatter())
        right.set(xlabel=r"load $\rho = \lambda\alpha$",
                  ylabel=r"bound / exact $-$ 1 (\%)")
        left.legend(ncol=1, fontsize=6)
        right.legend()
        plot.save(fig, path)
        plt.close(fig)


def print_table(rows, out=sys.stdout):
    print("Inoue 2021 (arXiv 1912.06322): mean latency (ms), batch time alpha k + tau0",
          file=out)
    print(f"{'case':<9} {'device':<8} {'b':>4} {'load':>5} {'exact':>11} {'roots':>11} "
          f"{'bound':>11} {'gap':>9}  {'simulated (95% CI)':<30} status", file=out)
    for r in rows:
        def num(v, fmt):
            return format(v, fmt) if np.isfinite(v) else ""
        sim = (f"{r['sim']:.4f} [{r['sim_lo']:.4f}, {r['sim_hi']:.4f}]"
               if np.isfinite(r["sim"]) else "")
        print(f"{r['case']:<9} {r['device']:<8} {num(r['b'], '.0f'):>4} "
              f"{r['load']:>5.3g} {r['exact']:>11.6f} {num(r['roots'], '11.6f'):>11} "
              f"{num(r['bound'], '11.6f'):>11} {num(r['gap'], '+9.2e'):>9}  {sim:<30} "
              f"{r['status']}{' (' + r['note'] + ')' if r['note'] else ''}", file=out)


def main(argv=None):
    return run_reproduction(
        argv, __doc__, compute, reduced=REDUCED, full=FULL, folder=HERE,
        full_help=f"simulate every load with {FULL['replications']} x {FULL['jobs']:,} jobs "
                  f"(default: loads {REDUCED['sim_loads']}, {REDUCED['replications']} x "
                  f"{REDUCED['jobs']:,} jobs)",
        latex=_latex, figure=_figure, print_table=print_table,
        disagrees=lambda r: r["status"] != "agrees", agreement="rows agree")


if __name__ == "__main__":
    sys.exit(main())
