# %% [markdown]
# # Limited preemption: Trail
#
# Preempting a job is not free. In LLM serving a preempted request keeps its KV cache in
# GPU memory (or must recompute it), so schedulers limit preemption. **Trail** (Shahout
# et al., ICLR 2025, arXiv 2410.01035) runs SPRPT — rank $y - a$, predicted remaining
# work — but a job that has received $c\,y$ units of service is never preempted again.
# The knob $c \in [0, 1]$ interpolates between SPJF ($c = 0$, never preempt) and SPRPT
# ($c = 1$).
#
# Trail is a SOAP policy (Scully et al. 2018, arXiv 1712.00790); its rank is $y - a$ for
# $a \le c\,y$, then $-\infty$. The SOAP theorem gives
#
# $$E[T(x,y)] = \frac{\lambda\{E[X^2; Y \le y] + E[((X - \min(Y - y, cY))^+)^2; Y > y]\}}
#   {2(1-\rho'_y)^2} + \int_0^{\min(x, cy)} \frac{da}{1 - \rho'_{y-a}} + (x - cy)^+,$$
#
# with $\rho'_y = \lambda E[X\,\mathbf 1\{Y < y\}]$ (`docs/theory/predictions.md`).

# %%
import math

import matplotlib.pyplot as plt

import qtheory as qt


def trail(c, lam=0.8):
    """E[T] of Trail(c): Exp(1) sizes, predictions Y | X=x ~ Exp(mean x)."""
    q = qt.MG1(lam, qt.Exponential(1.0), prediction=qt.ExpNoise())
    return q.mean_response_time(qt.Trail(c))


# %% [markdown]
# ## A sweep over $c$
#
# `qt.sweep` evaluates a function over a grid of parameters in parallel (a process pool
# by default; pass `executor=client.get_executor()` to run on a Dask cluster, and
# `store="file.jsonl"` to make a long sweep resumable). It returns a tidy table.

# %%
table = qt.sweep(trail, {"c": [0.0, 0.25, 0.5, 0.75, 1.0]}, progress=False)
table

# %%
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot(table.c, table.value, "o-")
ax.set(xlabel="preemption limit $c$", ylabel=r"$E[T]$", title=r"Trail, $\lambda = 0.8$")
plt.show()

# %% [markdown]
# ## Checks
#
# The end points must reproduce the policies Trail interpolates between; SPJF and SPRPT
# have their own formulas (Mitzenmacher 2020, arXiv 1902.00732), and the simulator, which
# runs Trail from its rank function, is an independent witness in between.

# %%
q = qt.MG1(0.8, qt.Exponential(1.0), prediction=qt.ExpNoise())
spjf, sprpt = q.mean_response_time(qt.SPJF), q.mean_response_time(qt.SPRPT)
print("SPJF ", spjf, "\nSPRPT", sprpt)
assert math.isclose(table.value.iloc[0], spjf.value, rel_tol=1e-9)
assert math.isclose(table.value.iloc[-1], sprpt.value, rel_tol=1e-9)
assert table.exception.isna().all()

sim = q.simulate(qt.Trail(0.5), jobs=200_000, replications=6, seed=5)
middle = table.value.iloc[2]
print(sim, " z =", round(sim.z(middle), 2))
assert abs(sim.z(middle)) < 4

# %% [markdown]
# Most of SPRPT's advantage over SPJF is already there with a small $c$: a job can be
# preempted only early in its life, when preempting it is cheapest.

# %%
gain = (table.value.iloc[0] - table.value) / (spjf.value - sprpt.value)
print({c: f"{g:.0%}" for c, g in zip(table.c, gain)})
assert gain.iloc[2] > 0.5

# %% [markdown]
# ## Per-job view
#
# `response_time(policy, size=x, prediction=y)` gives $E[T(x, y)]$. Take a long job
# predicted short ($x = 3$, $y = 0.5$). Under SPRPT its rank $y - a$ turns negative at age
# $y$ and nothing preempts it after that; Trail's limit changes its treatment only during
# its first $c\,y \le y$ units of service, and the rest of the difference comes from how
# the other jobs are scheduled.

# %%
for c in (0.0, 0.5, 1.0):
    t = q.response_time(qt.Trail(c), size=3.0, prediction=0.5)
    print(f"c = {c}: E[T(3, 0.5)] = {t:.4f}")
