"""Variance and P99 of the response time under noisy predictions: analytic values
(qtheory.methods.distribution.noisy) beside the simulator's 95% intervals, as a markdown
table for docs/theory/distributions.md. New numbers: no published values exist.

    python docs/tables/noisy_tails.py [--loads 0.8] [--jobs 400000]
"""

import argparse

import qtheory as qt

POLICIES = [("SPRPT", qt.SPRPT(), qt.ExpNoise()), ("PSPJF", qt.PSPJF(), qt.ExpNoise()),
            ("Trail(0.5)", qt.Trail(0.5), qt.ExpNoise()),
            ("one bit, T = 1", qt.OneBit(False), qt.Threshold(1.0, qt.ExpNoise()))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loads", type=float, nargs="+", default=[0.8])
    ap.add_argument("--jobs", type=int, default=400_000)
    args = ap.parse_args()
    print("| ρ | policy | Var T | Var T simulated | P99 | P99 simulated |")
    print("|---|---|---|---|---|---|")
    for rho in args.loads:
        for name, policy, pred in POLICIES:
            q = qt.MG1(rho, qt.Exponential(1.0), pred)
            d = q.response_time_distribution(policy)
            var, p99 = d.variance(), d.quantile(0.99)
            s = q.simulate(policy, jobs=args.jobs, replications=10, seed=7, quantiles=(0.99,))
            m1, m2 = s.mean_response_time, s.moment(2).mean
            sp = s.quantiles[0.99]
            print(f"| {rho} | {name} | {var.value:.4f} | {m2 - m1**2:.2f} "
                  f"| {p99.value:.4f} | {sp.mean:.2f} ± {sp.ci[1] - sp.mean:.2f} |")


if __name__ == "__main__":
    main()
