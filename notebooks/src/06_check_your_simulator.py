# %% [markdown]
# # Checking your own simulator against theory
#
# You wrote a simulator — of a scheduler, a load balancer, an LLM server — and want to
# know it is right before you trust what it says about the cases theory cannot reach.
# Run it on a case theory *can* reach and compare. `qt.check_samples` takes the per-job
# response times your simulator produced (one replication, in arrival order) and tests
# them against the exact mean.
#
# Successive response times are strongly correlated (a long busy period delays many
# jobs), so a naive standard error is far too small. `check_samples` uses **batch
# means**: it cuts the series into contiguous batches whose means are nearly independent,
# and applies a Student-$t$ test to them; it reports the lag-1 correlation of the batch
# means so you can see whether the batches are long enough (the method of batch means;
# Law & Kelton, *Simulation Modeling and Analysis*, ch. 9).

# %%
import heapq

import numpy as np
import pandas as pd

import qtheory as qt

# %% [markdown]
# ## A simulator to check
#
# Here is a small event-driven simulator of a non-preemptive M/G/1 queue that serves the
# waiting job chosen by `key` — the arrival time for FCFS, the size for SJF. Sizes are
# hyperexponential (mean 1, squared coefficient of variation 4.6): high variability is
# where scheduling matters and where bugs show.

# %%
def simulate(lam, sizes_law, n, key, seed):
    """Response times of n jobs of a non-preemptive M/G/1 queue serving the smallest key."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1 / lam, n))
    sizes = sizes_law.sample(rng, n)
    response = np.empty(n)
    waiting, clock, i = [], 0.0, 0
    for _ in range(n):
        if not waiting:                       # idle: jump to the next arrival
            clock = max(clock, arrivals[i])
        while i < n and arrivals[i] <= clock:  # everyone who arrived during the last job
            heapq.heappush(waiting, (key(arrivals[i], sizes[i]), i))
            i += 1
        _, j = heapq.heappop(waiting)
        clock += sizes[j]
        response[j] = clock - arrivals[j]
    return response, sizes


size = qt.Hyperexponential([0.9, 0.1], [1.8, 0.2])
q = qt.MG1(0.7, size)
scv = size.moment(2) / size.mean**2 - 1
print(f"E[X] = {size.mean:.4f}, squared coefficient of variation {scv:.3f}, "
      f"load {q.load:.2f}")

# %% [markdown]
# `size.sample(rng, n)` draws from a qtheory size law, so your simulator and the theory
# use the same model.
#
# ## FCFS
#
# Theory: Pollaczek–Khinchine, $E[T] = E[X] + \lambda E[X^2] / (2(1-\rho))$. Passing the
# sizes too adds a comparison by size quintile ($E[T(x)] = x + E[W]$ for FCFS).

# %%
T, x = simulate(0.7, size, 200_000, key=lambda arrival, s: arrival, seed=1)
fcfs = qt.check_samples(T, q, qt.FCFS, sizes=x)
print(fcfs)

# %% [markdown]
# ## SJF
#
# Theory (non-preemptive shortest job first, `docs/theory/classical.md`):
# $E[T(x)] = x + \frac{\lambda E[X^2]}{2(1-\rho_{x^-})(1-\rho_x)}$.

# %%
T, x = simulate(0.7, size, 200_000, key=lambda arrival, s: s, seed=2)
sjf = qt.check_samples(T, q, qt.SJF, sizes=x)
print(sjf)
pd.DataFrame(sjf.by_size)

# %% [markdown]
# The table compares each size quintile with theory, $E[T \mid x \text{ in the bin}]$.
# Both simulators pass, overall and per size.

# %%
assert fcfs.agrees and sjf.agrees
assert all(abs(row["z"]) < 4 for row in fcfs.by_size + sjf.by_size)

# %% [markdown]
# ## A bug it catches
#
# A classic slip: the key function is "simplified" to a constant, so the heap breaks
# ties by job index — arrival order. The simulator still runs and its output looks
# plausible — it is FCFS now — but the check against SJF fails by many standard errors,
# and the per-size table shows who suffers: the short jobs, which no longer skip the
# queue.

# %%
T_bug, x_bug = simulate(0.7, size, 200_000, key=lambda arrival, s: 0.0, seed=2)
bug = qt.check_samples(T_bug, q, qt.SJF, sizes=x_bug)
print(bug)
pd.DataFrame(bug.by_size)

# %%
assert not bug.agrees and abs(bug.z) > 10
assert bug.by_size[0]["z"] > 10          # the shortest fifth waits far too long

# %% [markdown]
# A subtler bug — a size law with the right mean but the wrong variance, say — shows up
# the same way, since the mean response time depends on $E[X^2]$. And when the check
# fails only for one size quintile, the per-size table points to the part of the
# scheduler at fault.
