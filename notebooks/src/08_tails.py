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

# %% [markdown]
# ## k bits of perfect advice
#
# With $k$ bits a job learns which of $2^k$ size classes it falls in (cut at the size
# law's quantiles); the classes run in priority order, preemptive-resume. Each bit lowers
# the mean, and each raises the P99: the more finely small jobs are favoured, the longer
# the largest wait, as under SRPT (FCFS's P99 here is 46.05, SRPT's 50.08).

# %%
bits = {}
for k in (1, 2, 3):
    cuts = [-math.log(1 - i / 2**k) for i in range(1, 2**k)]   # quantiles of Exp(1)
    d = q.response_time_distribution(qt.PriorityClasses(cuts, preemptive="resume"))
    bits[k] = (d.mean().value, d.quantile(0.99).value)
    print(f"{k} bit(s): E[T] = {bits[k][0]:.3f}, P99 = {bits[k][1]:.2f}")
assert bits[1][0] > bits[2][0] > bits[3][0] and bits[1][1] < bits[2][1] < bits[3][1]

# %% [markdown]
# ## Tails under noisy predictions
#
# Predictions $Y \mid x \sim \mathrm{Exp}(\text{mean } x)$ (`qt.ExpNoise()`): SPRPT
# preempts by predicted remaining size, and Trail($c$) stops preempting a job once it
# has received the fraction $c$ of its prediction ($c = 0$ is SPJF, $c = 1$ SPRPT). These variances and percentiles are new numbers (no published
# values exist): the tail of each comes from its closed structure over the joint law of
# $(X, Y)$, and the simulator checks one of them below. Load 0.8 keeps the cells quick.
# Trail's $c$ trades the mean against the tail: from $c = 0$ to $c = 1$ the mean falls
# and the variance and P99 rise.

# %%
qn = qt.MG1(0.8, qt.Exponential(1.0), prediction=qt.ExpNoise())
trail = {}
for name, policy in (("Trail(0) = SPJF", qt.Trail(0.0)), ("Trail(0.5)", qt.Trail(0.5)),
                     ("Trail(1) = SPRPT", qt.SPRPT())):
    d = qn.response_time_distribution(policy)
    p99 = d.quantile(0.99)
    trail[name] = (d.mean().value, d.variance().value, p99.value)
    print(f"{name:<17} E[T] = {d.mean().value:.4f}, Var T = {d.variance().value:.2f}, "
          f"P99 = {p99.value:.3f} ± {p99.error:.0e}")
c0, c05, c1 = (trail[k] for k in ("Trail(0) = SPJF", "Trail(0.5)", "Trail(1) = SPRPT"))
assert c0[0] > c05[0] > c1[0] and c0[1] < c05[1] < c1[1] and c0[2] < c05[2] < c1[2]

# %% [markdown]
# ### What a prediction costs a job
#
# Given its prediction $y$, a job's law of $T$ is known too (`prediction=y`): an
# underestimated long job is served early, an overestimated short one waits. Here jobs
# of size 2 with predictions 0.5, 2 and 8 under SPRPT (means here; `quantile` works the
# same way).

# %%
for y in (0.5, 2.0, 8.0):
    d = qn.response_time_distribution(qt.SPRPT(), size=2.0, prediction=y)
    print(f"x = 2, y = {y}: E[T] = {d.mean().value:.3f}")

# %% [markdown]
# The simulator's streaming quantiles agree with SPRPT's analytic ones (a verdict per
# row: the z-score against the analytic value and its error):

# %%
report = qt.validate(qn, qt.SPRPT(), jobs=100_000, replications=8, quantiles=(0.9,),
                     methods=("formula", "simulation"))
print(report)
assert report.passed
