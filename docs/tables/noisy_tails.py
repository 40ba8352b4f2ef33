"""Variance and P99 of the response time under noisy predictions: analytic values
(qtheory.methods.distribution.noisy) beside the simulator's (method="simulation": the
mean over replications and its 95% interval), as a markdown table for
docs/theory/distributions.md, with the z-score of each cell. New numbers: no published
values exist. Each cell simulates with a seed of its own, so the z-scores of the cells are
independent.

    python docs/tables/noisy_tails.py [--loads 0.8] [--noise exp uniform lognormal]
                                      [--jobs 400000]
"""

import argparse

import qtheory as qt

NOISE = {"exp": ("Exp(mean x)", qt.ExpNoise()),
         "uniform": ("Uniform(x(1 ± 0.5))", qt.UniformNoise(0.5)),
         "lognormal": ("x · LogN(0, 0.5²)", qt.LognormalNoise(0.5))}


def policies(noise):
    return [("SPRPT", qt.SPRPT(), noise), ("PSPJF", qt.PSPJF(), noise),
            ("Trail(0.5)", qt.Trail(0.5), noise),
            ("one bit, T = 1", qt.OneBit(False), qt.Threshold(1.0, noise))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loads", type=float, nargs="+", default=[0.8])
    ap.add_argument("--noise", nargs="+", default=list(NOISE), choices=list(NOISE))
    ap.add_argument("--jobs", type=int, default=400_000)
    args = ap.parse_args()
    print("| ρ | predictions | policy | Var T | simulated | z | P99 | simulated | z |")
    print("|---|---|---|---|---|---|---|---|---|")
    cell = 0
    for rho in args.loads:
        for key in args.noise:
            label, noise = NOISE[key]
            for name, policy, pred in policies(noise):
                cell += 1   # a seed of its own: cells sharing one share their noise
                q = qt.MG1(rho, qt.Exponential(1.0), pred)
                d = q.response_time_distribution(policy)
                sim = q.response_time_distribution(policy, method="simulation",
                                                   jobs=args.jobs, replications=10,
                                                   seed=7 + cell)
                cells = []
                for exact, est in ((d.variance(), sim.variance()),
                                   (d.quantile(0.99), sim.quantile(0.99))):
                    lo, hi = est.details["ci"]
                    z = (est.value - exact.value) / est.error
                    cells.append(f"{exact.value:.4f} | {est.value:.2f} ± {(hi - lo) / 2:.2f} "
                                 f"| {z:+.1f}")
                print(f"| {rho} | {label} | {name} | {' | '.join(cells)} |", flush=True)


if __name__ == "__main__":
    main()
