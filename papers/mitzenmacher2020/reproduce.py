"""Reproduce the table of mean response times in Mitzenmacher (2020).

Source: M. Mitzenmacher, "Scheduling with Predictions and the Price of Misprediction",
ITCS 2020, LIPIcs 151, 14:1-14:18 (arXiv 1902.00732): the table "results from
equations", reprinted as Table 1 of M. Mitzenmacher and R. Shahout, arXiv 2503.07545
(Stochastic Systems 15(3), 2025). M/G/1 with Exp(1) sizes and predictions
Y | X = x ~ Exp(mean x).

Every cell is recomputed by qtheory's closed forms (method "auto"). The two columns the
paper got slightly wrong are explained by an independent one-dimensional evaluation
(``sprpt_bessel``, ``pspjf_bessel`` below, which do not use qtheory) and, for SPRPT, by
simulation. Run ``python reproduce.py`` (reduced simulation, seconds) or
``python reproduce.py --full``; writes table.csv, table.tex and figure.pdf.
"""

import math
import sys
from pathlib import Path

import numpy as np
from scipy.integrate import quad
from scipy.special import kv

import qtheory as qt
from qtheory import plot
from qtheory.tools.reproduction import run_reproduction
from qtheory.analysis.validate import t_limit

HERE = Path(__file__).resolve().parent
POLICIES = {"FIFO": qt.FCFS, "SJF": qt.SJF, "SPJF": qt.SPJF, "PSJF": qt.PSJF,
            "PSPJF": qt.PSPJF, "SRPT": qt.SRPT, "SPRPT": qt.SPRPT}
# Published values (4 decimals), columns in the order of POLICIES.
PUBLISHED = {
    0.50: (2.0000, 1.7127, 1.7948, 1.5314, 1.6636, 1.4254, 1.6531),
    0.60: (2.5000, 1.9625, 2.1086, 1.7526, 1.9527, 1.6041, 1.9305),
    0.70: (3.3333, 2.3122, 2.5726, 2.0839, 2.3970, 1.8746, 2.3539),
    0.80: (5.0000, 2.8822, 3.3758, 2.6589, 3.1943, 2.3528, 3.1168),
    0.90: (10.0000, 4.1969, 5.3610, 4.0518, 5.2232, 3.5521, 5.0481),
    0.95: (20.0000, 6.2640, 8.6537, 6.2648, 8.6166, 5.5410, 8.3221),
    0.98: (50.0000, 11.2849, 16.9502, 11.5513, 17.1090, 10.4947, 16.6239),
    0.99: (100.0000, 18.4507, 29.0536, 18.9556, 29.3783, 17.6269, 28.7302),
}
# The same paper's simulated SPRPT means (quoted in the Mitzenmacher-Shahout survey).
PAPER_SIMULATED_SPRPT = {0.5: 1.6588, 0.7: 2.3684, 0.9: 5.0973}

ROUNDING = 5e-5        # half a unit in the 4th decimal
TRUNCATION = 50.0      # predicted sizes above this reproduce the printed PSPJF (see README)
SPRPT_LOW = (0.0, 0.012)   # documented: printed SPRPT is 0-1.2% below the exact value
Z_MAX = 4.0            # simulation vs exact: |t| as unlikely as a normal 4 sigma

# settings: loads simulated, jobs per replication, replications
REDUCED = dict(loads=(0.5, 0.9), jobs=50_000, replications=8)
FULL = dict(loads=tuple(PUBLISHED), jobs=2_000_000, replications=10)


# -- independent witnesses: Exp(1) sizes, ExpNoise, reduced to one-dimensional integrals ---
# With Y | X=x ~ Exp(mean x) and X ~ Exp(1) (docs/theory):
#   f_Y(y) = 2 K0(2 sqrt y),  P(Y > y) = 2 sqrt(y) K1(2 sqrt y),
#   rho'_y = lam (1 - 2 y K2(2 sqrt y)),  E[X^2 1{Y <= y}] = 2 - 2 y^1.5 K3(2 sqrt y),
#   E[X 1{Y in dy}] = 2 sqrt(y) K1(2 sqrt y) dy.
def _k(n, y):
    return kv(n, 2 * math.sqrt(y))


def _load_below(lam, y):
    return lam * (1 - 2 * y * _k(2, y)) if y > 0 else 0.0


def _integral(f, upper=math.inf):
    return sum(quad(f, a, b, limit=400, epsabs=1e-13, epsrel=1e-12)[0]
               for a, b in ((0, 1), (1, min(10, upper)), (min(10, upper), upper)) if b > a)


def pspjf_bessel(lam, upper=math.inf):
    """PSPJF mean response time, predicted sizes integrated up to ``upper``:
    E[T] = int [E[X 1{Y in dy}]/(1 - rho'_y) + lam f_Y(y) E[X^2 1{Y < y}]/(2 (1 - rho'_y)^2)]."""
    def f(y):
        d = 1 - _load_below(lam, y)
        return (2 * math.sqrt(y) * _k(1, y) / d
                + lam * 2 * _k(0, y) * (2 - 2 * y ** 1.5 * _k(3, y)) / (2 * d * d))
    return _integral(f, upper)


def sprpt_bessel(lam):
    """SPRPT mean response time. Given X = x, Y - y | Y > y ~ Exp(mean x), so
    E[((X - (Y - y))^+)^2 1{Y > y}] = (1 - 2/e) E[X^2 1{Y > y}]; with
    P(Y - X > u) = P(Y > u)/e and E[(X - Y)^+] = 1/e (docs/theory):
    E[T] = lam int f_Y (2 - (4/e) y^1.5 K3) / (2 (1 - rho'_y)^2) dy
           + (1 - 1/e) int P(Y > u) / (1 - rho'_u) du + 1/e."""
    def waiting(y):
        d = 1 - _load_below(lam, y)
        return lam * 2 * _k(0, y) * (2 - 4 / math.e * y ** 1.5 * _k(3, y)) / (2 * d * d)

    def residence(u):
        return (1 - 1 / math.e) * 2 * math.sqrt(u) * _k(1, u) / (1 - _load_below(lam, u))
    return _integral(waiting) + _integral(residence) + 1 / math.e


# -- the reproduction -------------------------------------------------------------------
def compute(settings):
    """One row per (load, policy): published value, qtheory's, the independent witness
    (PSPJF, SPRPT), and the verdict."""
    rows = []
    for lam, published in PUBLISHED.items():
        q = qt.MG1(lam, qt.Exponential(1.0), qt.ExpNoise())
        for (name, policy), pub in zip(POLICIES.items(), published):
            r = q.mean_response_time(policy)
            row = dict(load=lam, policy=name, published=pub, value=r.value, error=r.error,
                       rel_diff=(pub - r.value) / r.value,
                       witness={"PSPJF": pspjf_bessel, "SPRPT": sprpt_bessel}.get(
                           name, lambda _: math.nan)(lam),
                       truncated=pspjf_bessel(lam, TRUNCATION) if name == "PSPJF" else math.nan,
                       sim=math.nan, sim_lo=math.nan, sim_hi=math.nan, z=math.nan)
            row["status"], row["note"] = _judge(row, name)
            if name == "SPRPT" and lam in settings["loads"]:
                _simulate(row, q, policy, settings)
            rows.append(row)
    return rows


def _judge(row, name):
    if abs(row["witness"] / row["value"] - 1) > 1e-8:      # NaN (no witness) passes
        return "DISAGREES", f"the 1-D witness gives {row['witness']:.8g}"
    if abs(row["published"] - row["value"]) <= ROUNDING + row["error"]:
        return "agrees", "within rounding"
    if name == "PSPJF":
        # one unit in the printed digit: the paper's own quadrature error adds to rounding
        ok = abs(row["published"] - row["truncated"]) <= 2 * ROUNDING
        return ("known" if ok else "DISAGREES"), f"= exact truncated at y <= {TRUNCATION:g}"
    if name == "SPRPT":
        low = -row["rel_diff"]
        ok = SPRPT_LOW[0] < low <= SPRPT_LOW[1]
        return ("known" if ok else "DISAGREES"), f"printed {low:.2%} low"
    return "DISAGREES", f"off by {row['rel_diff']:+.3%}"


def _simulate(row, q, policy, settings):
    s = q.simulate(policy, jobs=settings["jobs"], replications=settings["replications"],
                   seed=int(row["load"] * 1000))
    row.update(sim=s.mean_response_time, sim_lo=s.ci[0], sim_hi=s.ci[1],
               z=(s.mean_response_time - row["value"]) / s.std_error)
    if abs(row["z"]) >= t_limit(Z_MAX, settings["replications"]):
        row["status"], row["note"] = "DISAGREES", f"simulation z = {row['z']:+.1f}"


def _latex(rows):
    names = list(POLICIES)
    body = []
    for lam in PUBLISHED:
        cells = {r["policy"]: r for r in rows if r["load"] == lam}
        body.append([f"{lam:g}"] + [f"{cells[n]['value']:.4f}" for n in names])
        body.append([""] + [(r"\textit{%.4f}" % cells[n]["published"]) +
                            ("" if cells[n]["status"] == "agrees" else r"$^\dagger$")
                            for n in names])
    return plot.latex_table(
        [r"$\lambda$"] + names, body,
        caption=r"Mean response time, M/G/1 with Exp(1) sizes and predictions "
                r"$Y \mid X=x \sim \mathrm{Exp}(\text{mean } x)$: qtheory (upright) and "
                r"Mitzenmacher (2020), Table~1 of the 2025 survey (italic). $^\dagger$: the "
                r"printed value is low (see README).",
        label="tab:mitzenmacher2020")


def _figure(rows, path):
    import matplotlib.pyplot as plt
    loads = np.array(list(PUBLISHED))
    with plot.style(columns=2, aspect=0.36):
        fig, (left, right) = plt.subplots(1, 2)
        for i, name in enumerate(POLICIES):
            mine = [r for r in rows if r["policy"] == name]
            colour = plot.PALETTE[i % len(plot.PALETTE)]
            left.plot(loads, [r["value"] * (1 - r["load"]) for r in mine], color=colour,
                      marker="", label=name)
            left.plot(loads, [r["published"] * (1 - r["load"]) for r in mine], color=colour,
                      linestyle="none", marker=plot.MARKERS[i], fillstyle="none")
            right.plot(loads, [100 * r["rel_diff"] for r in mine], color=colour, label=name,
                       marker=plot.MARKERS[i])
        sim = [r for r in rows if np.isfinite(r["sim"])]
        if sim:
            x = np.array([r["load"] for r in sim])
            v = np.array([r["value"] for r in sim])
            y = 100 * (np.array([r["sim"] for r in sim]) / v - 1)
            lo = 100 * (np.array([r["sim_lo"] for r in sim]) / v - 1)
            hi = 100 * (np.array([r["sim_hi"] for r in sim]) / v - 1)
            right.errorbar(x, y, yerr=[y - lo, hi - y], color="0.4", marker="x",
                           linestyle="none", label="SPRPT simulated (95% CI)")
        left.set(xlabel=r"load $\lambda$", ylabel=r"$(1-\lambda)\,E[T]$",
                 title="lines: qtheory, markers: published")
        right.set(xlabel=r"load $\lambda$", ylabel=r"published $-$ qtheory (\%)")
        left.legend(ncol=2)
        right.legend(ncol=2)
        plot.save(fig, path)
        plt.close(fig)


def print_table(rows, out=sys.stdout):
    print("Mitzenmacher 2020 (arXiv 1902.00732), Table 1 of the 2025 survey: E[T], Exp(1) "
          "sizes, ExpNoise predictions", file=out)
    print(f"{'lambda':>6} {'policy':<6} {'published':>10} {'qtheory':>12} {'diff':>9}  "
          f"{'simulated (95% CI)':<28} status", file=out)
    for r in rows:
        sim = (f"{r['sim']:.4f} [{r['sim_lo']:.4f}, {r['sim_hi']:.4f}]"
               if np.isfinite(r["sim"]) else "")
        print(f"{r['load']:>6g} {r['policy']:<6} {r['published']:>10.4f} {r['value']:>12.6f} "
              f"{r['rel_diff']:>+9.3%}  {sim:<28} {r['status']} ({r['note']})", file=out)


def main(argv=None):
    return run_reproduction(
        argv, __doc__, compute, reduced=REDUCED, full=FULL, folder=HERE,
        full_help=f"simulate every load with {FULL['replications']} x {FULL['jobs']:,} jobs "
                  f"(default: loads {REDUCED['loads']}, {REDUCED['replications']} x "
                  f"{REDUCED['jobs']:,} jobs)",
        latex=_latex, figure=_figure, print_table=print_table,
        disagrees=lambda r: r["status"] == "DISAGREES",
        agreement="cells agree or match a documented discrepancy")


if __name__ == "__main__":
    sys.exit(main())
