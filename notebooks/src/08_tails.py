# %% [markdown]
# # Beyond the mean: variance, tails and percentiles
#
# Service-level objectives are percentiles, not means. `q.response_time_distribution`
# gives the whole law of the response time $T$: its transform $E[e^{-sT}]$ from the SOAP
# decomposition (Scully et al. 2018, arXiv 1712.00790), $E[T^2]$ and the variance in
# closed form, and the tail $P(T > t)$ and quantiles by numerical inversion (Abate &
# Whitt's Euler algorithm), each with its error (`docs/theory/distributions.md`).

# %%
import math

import matplotlib.pyplot as plt

import qtheory as qt

q = qt.MG1(0.9, qt.Exponential(1.0))
srpt, fcfs = (q.response_time_distribution(p) for p in (qt.SRPT, qt.FCFS))
for name, d in (("SRPT", srpt), ("FCFS", fcfs)):
    print(f"{name}: E[T] = {d.mean().value:.4f}, Var T = {d.variance().value:.2f}, "
          f"P99 = {d.quantile(0.99).value:.3f} ± {d.quantile(0.99).error:.1e}")

# %% [markdown]
# ## SRPT lowers the mean and raises the variance
#
# On M/M/1 at $\rho = 0.9$, SRPT's mean is about a third of FCFS's, but its variance is
# larger: the largest jobs wait behind every smaller one. (Nuyens, Wierman & Zwart 2008
# describe the shape: with light-tailed sizes SRPT's tail is heavier than FCFS's.) FCFS
# is exactly $T \sim \mathrm{Exp}(\mu - \lambda)$, so its numbers check the machinery.

# %%
assert srpt.mean().value < fcfs.mean().value
assert srpt.variance().value > fcfs.variance().value
assert abs(fcfs.variance().value - 1 / 0.1**2) < 1e-9
assert abs(fcfs.quantile(0.99).value - math.log(100) / 0.1) <= fcfs.quantile(0.99).error

# %% [markdown]
# ## The tails, with simulated points
#
# `qt.plot.plot_tail` draws $P(T > t)$ on log axes; with `simulate=True` it adds the
# simulator's estimates with 95% Student-t bars over independent replications. SRPT's
# tail crosses FCFS's: better for most jobs, worse far out.

# %%
fig, ax = plt.subplots(figsize=(5, 3.4))
qt.plot.plot_tail(q, [qt.FCFS, qt.SRPT, qt.FB], simulate=True, jobs=60_000, replications=6,
                  ax=ax, points=24)
plt.show()

# %% [markdown]
# ## One bit of advice and the P99
#
# With one bit ("short" iff the size is below $T$, here exact) the short jobs go first.
# The mean is minimised at some threshold; the P99 moves differently. The simulator's
# streaming quantiles (`quantiles=`) check one threshold.

# %%
for T in (0.5, 1.0, 2.0, 4.0):
    qb = qt.MG1(0.9, qt.Exponential(1.0), prediction=qt.Threshold(T))
    d = qb.response_time_distribution(qt.OneBit("resume"))
    print(f"T = {T}: E[T] = {d.mean().value:.3f}, P99 = {d.quantile(0.99).value:.2f}")

qb = qt.MG1(0.9, qt.Exponential(1.0), prediction=qt.Threshold(1.0))
report = qt.validate(qb, qt.OneBit("resume"), jobs=60_000, replications=8,
                     quantiles=(0.5, 0.99), methods=("formula", "simulation"))
print(report)
assert report.passed
