# %% [markdown]
# # Scheduling with predictions and the price of misprediction
#
# A size-based policy such as SRPT needs each job's size. In practice a scheduler has only
# a **prediction** $Y$ of the true size $X$. Mitzenmacher (2020, *Scheduling with
# Predictions and the Price of Misprediction*, arXiv 1902.00732) analyses the policies
# that simply trust the prediction:
#
# | policy | rank of a job (lower runs first) | preemptive |
# |---|---|---|
# | SPJF | predicted size $y$ | no |
# | PSPJF | predicted size $y$ | yes |
# | SPRPT | predicted remaining size $y - a$ at age $a$ | yes |
#
# With $\rho'_y = \lambda E[X\,\mathbf 1\{Y<y\}]$, the load of jobs predicted shorter
# than $y$, his formulas are, for example,
#
# $$E[T_{\rm SPJF}(x,y)] = x + \frac{\lambda E[X^2]}{2(1-\rho'_y)^2}, \qquad
# E[T_{\rm PSPJF}(x,y)] = \frac{x}{1-\rho'_y} + \frac{\lambda E[X^2 \mathbf 1\{Y<y\}]}{2(1-\rho'_y)^2},$$
#
# averaged over the joint law of $(X, Y)$ (SPRPT's is longer; `docs/theory/predictions.md`). The price of
# misprediction is how much worse they do than their counterparts with true sizes
# (SJF, PSJF, SRPT).

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

import qtheory as qt

size = qt.Exponential(1.0)
loads = [0.5, 0.7, 0.9]
pairs = [(qt.SJF, qt.SPJF), (qt.PSJF, qt.PSPJF), (qt.SRPT, qt.SPRPT)]
table = {}
for lam in loads:
    q = qt.MG1(lam, size, prediction=qt.ExpNoise())     # Y | X=x ~ Exp(mean x)
    for true, predicted in pairs:
        table[lam, true.__name__] = q.mean_response_time(true).value
        table[lam, predicted.__name__] = q.mean_response_time(predicted).value

names = [p.__name__ for pair in pairs for p in pair]
print("lambda " + "".join(f"{n:>9}" for n in names))
for lam in loads:
    print(f"{lam:6.2f} " + "".join(f"{table[lam, n]:9.4f}" for n in names))

# %% [markdown]
# ## Against the published table
#
# Mitzenmacher's Table 1 (Exp(1) sizes, exponential prediction noise, "results from
# equations") prints these to four decimals. SJF, SPJF, PSJF, PSPJF and SRPT agree to the
# printed digits; his PSPJF column is slightly low (by up to 0.02% here, ~0.1% at
# $\lambda \ge 0.95$). His SPRPT column is known to sit 0.3–1% *below* the exact value
# (and below his own simulations: 1.6588 at $\lambda=0.5$, 5.0973 at 0.9), so we check our
# SPRPT against our simulator instead.

# %%
published = {  # Mitzenmacher 2020, Table 1
    0.5: {"SJF": 1.7127, "SPJF": 1.7948, "PSJF": 1.5314, "PSPJF": 1.6636, "SRPT": 1.4254,
          "SPRPT": 1.6531},
    0.7: {"SJF": 2.3122, "SPJF": 2.5726, "PSJF": 2.0839, "PSPJF": 2.3970, "SRPT": 1.8746,
          "SPRPT": 2.3539},
    0.9: {"SJF": 4.1969, "SPJF": 5.3610, "PSJF": 4.0518, "PSPJF": 5.2232, "SRPT": 3.5521,
          "SPRPT": 5.0481},
}
for lam, row in published.items():
    for name, value in row.items():
        ours = table[lam, name]
        if name == "SPRPT":
            assert 0.003 < ours / value - 1 < 0.010, (lam, ours, value)   # known gap
        elif name == "PSPJF":
            assert 0 <= ours / value - 1 < 2e-4, (lam, ours, value)
        else:
            assert abs(ours - value) <= 5e-5, (lam, name, ours, value)

q = qt.MG1(0.7, size, prediction=qt.ExpNoise())
sim = q.simulate(qt.SPRPT, jobs=200_000, replications=6, seed=3)
print(sim, "  z =", round(sim.z(table[0.7, "SPRPT"]), 2))
assert abs(sim.z(table[0.7, "SPRPT"])) < 4

# %% [markdown]
# ## The price of misprediction versus load
#
# The ratio $E[T_{\rm SPRPT}]/E[T_{\rm SRPT}]$ is what exponential noise — a very poor
# predictor, its standard deviation equals the true size — costs. Even so every
# prediction policy beats FCFS, $E[T] = 1/(1-\rho)$, by a wide margin at high load.

# %%
fig, ax = plt.subplots(figsize=(5, 3.2))
for name, style in [("SJF", "C0-"), ("SPJF", "C0--"), ("PSJF", "C1-"), ("PSPJF", "C1--"),
                    ("SRPT", "C2-"), ("SPRPT", "C2--")]:
    ax.plot(loads, [table[lam, name] for lam in loads], style, marker="o", label=name)
ax.plot(loads, [1 / (1 - lam) for lam in loads], "k:", label="FCFS")
ax.set(xlabel=r"load $\rho$", ylabel=r"$E[T]$", yscale="log")
ax.legend(ncol=2, fontsize=8)
plt.show()

price = {lam: table[lam, "SPRPT"] / table[lam, "SRPT"] for lam in loads}
print({lam: round(p, 3) for lam, p in price.items()})
for lam in loads:
    for true, predicted in pairs:
        assert table[lam, true.__name__] < table[lam, predicted.__name__] < 1 / (1 - lam)

# %% [markdown]
# ## The price of misprediction versus prediction quality
#
# Better predictors shrink the gap. With bounded multiplicative noise,
# $Y \mid X=x \sim U[(1-\alpha)x, (1+\alpha)x]$, the width $\alpha$ sets the quality:
# as $\alpha \to 0$, SPRPT becomes SRPT. For such bounded errors, $\beta x \le Y \le
# \alpha' x$, Scully, Grosof & Mitzenmacher (2022, arXiv 2110.00633) also bound PSPJF by
# $1.5\,(\alpha'/\beta)\,E[T_{\rm SRPT}]$ (`qt.pspjf_bound`).

# %%
lam = 0.8
srpt = qt.MG1(lam, size).mean_response_time(qt.SRPT).value
widths = [0.1, 0.5, 1.0]
sprpt = [qt.MG1(lam, size, prediction=qt.UniformNoise(a)).mean_response_time(qt.SPRPT).value
         for a in widths]
for a, t in zip(widths, sprpt):
    print(f"alpha = {a:3.1f}: E[T_SPRPT] = {t:.4f}, price of misprediction {t / srpt:.3f}")

q = qt.MG1(lam, size, prediction=qt.UniformNoise(0.5))
beta, alpha = qt.error_range(q.prediction)
pspjf = q.mean_response_time(qt.PSPJF).value
print(f"PSPJF {pspjf:.4f} <= bound {qt.pspjf_bound(srpt, beta, alpha):.4f}")

# %% [markdown]
# The price grows with the noise and tends to 1 as the predictions become exact: with
# $\pm 10\%$ errors SPRPT is within 1% of SRPT. The worst-case bound holds with room to
# spare (it covers every size law, not just the exponential).

# %%
assert all(srpt < a < b for a, b in zip(sprpt, sprpt[1:]))
assert sprpt[0] / srpt < 1.01
assert (beta, alpha) == (0.5, 1.5) and pspjf <= qt.pspjf_bound(srpt, beta, alpha)
