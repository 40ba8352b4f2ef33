# %% [markdown]
# # Batching under a memory budget (LLM inference)
#
# A GPU serves requests in **batches**, and every request in a batch holds memory (its
# KV cache), so the memory $M$ caps the batch. qtheory has models from exact to
# approximate (`docs/theory/batch.md`):
#
# 1. **Dynamic batching**, the M/G$_k^{(a,b)}$/1 queue: when the server frees up it takes
#    up to $b = \lfloor M/m \rfloor$ waiting requests ($m$: memory reserved per request);
#    a batch of $k$ takes $S_k$. Solved exactly from the embedded Markov chain at batch
#    departures.
# 2. **Continuous (iteration-level) batching** with KV memory that grows token by token
#    (Ao, Luo, Simchi-Levi & Wang 2025, arXiv 2504.11320): capacity and a fluid
#    approximation, checked against an iteration-level simulator.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

import qtheory as qt

# %% [markdown]
# ## 1. Dynamic batching with a memory cap
#
# Inoue (2021, arXiv 1912.06322) fits batch times $S_k = \alpha k + \tau_0$ to GPU
# inference; for ResNet-50 on a V100, $\alpha = 0.1438$ ms and $\tau_0 = 1.8874$ ms. With
# 80 units of memory and 10 per request, at most $b = 8$ requests fit in a batch; the
# queue is stable iff $\lambda < b/E[S_b]$.

# %%
alpha, tau0 = 0.1438, 1.8874                     # ms, Inoue 2021 (V100, ResNet-50)
capped = qt.BatchQueue.from_memory(2.37, memory=80, job_memory=10,
                                   batch_time=lambda k: alpha * k + tau0)
chain = capped.mean_response_time()
roots = capped.mean_response_time(method="roots")
sim = capped.simulate(jobs=100_000, seed=1, replications=5)
print(f"cap b = {capped.max_batch}, capacity {capped.capacity:.4f} per ms")
print("Markov chain ", chain)
print("PGF roots    ", roots)
print("simulation   ", sim)
print(f"mean batch {capped.mean_batch_size():.3f}, utilisation {capped.utilisation():.4f}")

# %% [markdown]
# Two exact methods — truncating the embedded chain, and the roots of its probability
# generating function — agree to round-off, and the simulator agrees within its
# confidence interval. At $\lambda = 2.37$, close to the capacity $b/E[S_b] = 2.63$ per
# ms, the server is 99.98% busy and batches fill 6.8 of their 8 slots on average.

# %%
assert capped.max_batch == 8
assert abs(chain.value - roots.value) < 1e-9
assert abs(sim.z(chain.value)) < 4
assert math.isclose(capped.capacity, 8 / (8 * alpha + tau0), rel_tol=1e-12)

# %% [markdown]
# ### Inoue's closed-form bound
#
# Without a cap ($b = \infty$) Inoue bounds the mean latency by
# $\min(\varphi_0, \varphi_1)$ with
# $\varphi_0 = \frac{\alpha+\tau_0}{2(1-\lambda\alpha)}\left[1 + 2\lambda\tau_0 +
# \frac{1-\lambda\tau_0}{1+\lambda\alpha}\right]$ and
# $\varphi_1 = \frac{1.5\,\tau_0}{1-\lambda\alpha} + \frac{\alpha}{2}\,
# \frac{\lambda\alpha+2}{1-\lambda^2\alpha^2}$. How tight is it against the exact chain?

# %%
loads = np.linspace(0.5, 6.5, 13)                # requests per ms; capacity 1/alpha = 6.95
exact = [qt.BatchQueue(lam, lambda k: alpha * k + tau0).mean_response_time().value
         for lam in loads]
bound = [qt.inoue_bound(lam, alpha, tau0) for lam in loads]
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot(loads, exact, "o-", label="exact (chain)")
ax.plot(loads, bound, "--", label=r"bound $\min(\varphi_0, \varphi_1)$")
ax.set(xlabel=r"arrival rate $\lambda$ (1/ms)", ylabel=r"$E[T]$ (ms)")
ax.legend()
plt.show()
print(f"largest overestimate: {max(b / e - 1 for b, e in zip(bound, exact)):.1%}")
idle = [qt.BatchQueue(lam, lambda k: alpha * k + tau0).prob_idle() for lam in loads]
for lam, b, e, p in zip(loads, bound, exact, idle):
    print(f"lambda = {lam:.1f}: bound / exact - 1 = {b / e - 1:8.1e}, P(idle) = {p:8.1e}")

# %% [markdown]
# The bound is loose (by up to ~9%) at light load and becomes exact as the server stops
# idling: the relative gap shrinks like $P(\text{idle})$ and is at round-off level once
# the server is never idle.

# %%
assert all(e <= b * (1 + 1e-12) for e, b in zip(exact, bound))
assert abs(bound[-1] / exact[-1] - 1) < 1e-12 and idle[-1] < 1e-12

# %% [markdown]
# ## 2. Continuous batching on a real GPU budget
#
# `qt.kv_tokens` turns a model and a GPU into a KV-cache budget in tokens (here
# Llama-2-7B in 16-bit on one A100-40GB, 90% of memory usable). A request with prompt
# $s$ and output $o$ runs $o + 1$ iterations holding $s, s+1, \dots, s+o$ tokens; an
# iteration takes $d_0 + d_1\cdot$(tokens in the batch). While the server never idles the
# mean iteration time is exactly $\tau^* = d_0/(1 - d_1\lambda E[g])$ with
# $g = (o+1)(s + o/2)$, and memory limits the rate to
# $\lambda_{\max} = M / (E[g](d_0 + d_1 M))$.

# %%
M = qt.kv_tokens("Llama-2-7B", "A100-40GB")
server = dict(prompt=stats.randint(20, 200), output=stats.geom(0.01),   # mean output 100
              d0=0.01, d1=1e-7, memory=M)                               # seconds
lam_max = qt.ContinuousBatching(1.0, **server).max_throughput()
print(f"KV budget M = {M} tokens, lambda_max = {lam_max:.2f} requests/s")

rows = []
for share in (0.5, 0.8):
    cb = qt.ContinuousBatching(share * lam_max, **server)
    fluid, s = cb.mean_response_time(), cb.simulate(jobs=20_000, seed=1, replications=4)
    rows.append((share, cb, fluid, s))
    print(f"{share:.0%} of lambda_max: fluid E[T] = {fluid.value:.4f} s, simulated "
          f"{s.value:.4f} s (95% CI {s.ci[0]:.4f}..{s.ci[1]:.4f}), lower bound "
          f"{cb.lower_bound():.4f} s; iteration {cb.iteration_time().value * 1e3:.3f} ms, "
          f"simulated {s.mean('iteration_time') * 1e3:.3f} ms")

# %% [markdown]
# The fluid mean response time $(E[o] + 1.5)\,\tau^*$ is an *approximation*: it is
# within ~1% of the simulation here, where memory does not bind and $d_1 M \ll d_0$, and
# it degrades near $\lambda_{\max}$ (see `ContinuousBatching.mean_response_time`). The
# iteration time $\tau^*$ is an exact identity; the simulated mean iteration matches it
# within its noise, and no policy beats $d_0E[o+1] + d_1E[g]$.

# %%
for share, cb, fluid, s in rows:
    assert abs(fluid.value / s.value - 1) < 0.03
    assert abs(s.z(cb.iteration_time().value, "iteration_time")) < 4
    assert s.value > cb.lower_bound()
