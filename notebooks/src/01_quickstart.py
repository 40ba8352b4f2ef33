# %% [markdown]
# # Quickstart: one queue, every method, one verdict
#
# qtheory answers one question many ways: *what is the mean response time $E[T]$ of this
# queue under this scheduling policy?* You declare the queue and the policy once; each
# **method** — a closed-form `"formula"`, the generic `"soap"` engine, an exact
# `"symbolic"` expression, or the `"simulation"` — then gives an answer, and the answers
# must agree. This notebook walks through them on the M/M/1 queue.

# %%
import math

import qtheory as qt

q = qt.MG1(arrival_rate=0.8, size=qt.Exponential(rate=1.0))
q, q.load

# %% [markdown]
# Jobs arrive as a Poisson process at rate $\lambda = 0.8$ and have Exp(1) sizes, so the
# load is $\rho = \lambda E[X] = 0.8$.
#
# ## Every policy with a closed form
#
# - FCFS, by Pollaczek–Khinchine: $E[T] = E[X] + \frac{\lambda E[X^2]}{2(1-\rho)}$,
#   which is $1/(1-\rho) = 5$ here.
# - PS and preemptive LCFS: $E[T(x)] = x/(1-\rho)$, the same mean.
# - SJF, PSJF, SRPT (Schrage & Miller 1966) and FB: integrals over the load
#   $\rho_x = \lambda\int_0^x t f(t)\,dt$ of smaller jobs (see `docs/theory/classical.md`).
#
# `mean_response_time` returns a `Result`: the value, a bound on its numerical error, and
# the method that produced it.

# %%
policies = [qt.FCFS, qt.PS, qt.LCFS, qt.FB, qt.SJF, qt.PSJF, qt.SRPT]
results = {r.policy: r for r in (q.mean_response_time(p) for p in policies)}
for name, r in results.items():
    print(f"{name:5s} E[T] = {r.value:.6f}  ± {r.error:.1e}  ({r.method})")

# %% [markdown]
# Checks against independent sources: FCFS and PS equal $1/(1-\rho)$; for exponential
# sizes FB has the same mean as well (with memoryless sizes the attained service says
# nothing about the remaining work, so every size-blind policy has the same mean number
# in system); and SJF, PSJF, SRPT match Table 1 of Mitzenmacher 2020
# (arXiv 1902.00732) at $\lambda = 0.8$, printed to four decimals. SRPT is optimal among
# all policies (Schrage 1968), so it must be the smallest.

# %%
assert math.isclose(results["FCFS"].value, 1 / (1 - 0.8), rel_tol=1e-12)
assert math.isclose(results["PS"].value, 1 / (1 - 0.8), rel_tol=1e-12)
assert math.isclose(results["FB"].value, results["PS"].value, rel_tol=1e-9)
published = {"SJF": 2.8822, "PSJF": 2.6589, "SRPT": 2.3528}   # Mitzenmacher 2020, Table 1
for name, value in published.items():
    assert abs(results[name].value - value) <= 5e-5, (name, results[name], value)
assert min(results.values(), key=float).policy == "SRPT"

# %% [markdown]
# ## One policy, four methods
#
# SRPT again, by each method. The SOAP engine (Scully, Harchol-Balter & Scheller-Wolf
# 2018, arXiv 1712.00790) knows nothing of Schrage–Miller: it works from SRPT's *rank
# function* $r(x, a) = x - a$ alone. The symbolic method returns an exact sympy
# expression, with integrals left unevaluated where no closed form exists, which
# `qt.evaluate` computes to any number of digits. The simulator replays jobs one by
# one (independent replications with a 95% Student-t confidence interval).

# %%
formula = q.mean_response_time(qt.SRPT, method="formula")
soap = q.mean_response_time(qt.SRPT, method="soap")
exact = q.mean_response_time(qt.SRPT, method="symbolic")
exact

# %%
digits = qt.evaluate(exact, digits=20)
sim = q.simulate(qt.SRPT, jobs=200_000, replications=6, seed=1)
print("formula   ", formula)
print("soap      ", soap)
print("symbolic  ", digits)
print("simulation", sim)

# %% [markdown]
# The analytic methods agree to within their error bounds; the simulation's confidence
# interval covers them (a $|z| < 4$ test: the estimate's distance from theory in
# standard errors).

# %%
assert abs(formula.value - soap.value) <= formula.error + soap.error + 1e-9 * formula.value
assert abs(float(digits) - formula.value) <= formula.error + 1e-12
assert abs(sim.z(formula)) < 4

# %% [markdown]
# ## `qt.validate`: all of it in one call
#
# `validate` runs every method that applies and prints them side by side with a
# verdict. Here we skip the two slowest methods, already shown above.

# %%
report = qt.validate(q, qt.PSJF, jobs=200_000, replications=6, seed=2,
                     methods=("formula", "soap", "simulation"))
print(report)
assert report.passed

# %% [markdown]
# Next: `02_predictions` (scheduling with predicted sizes), `03_one_bit_advice`,
# `04_limited_preemption`, `05_llm_batching`, `06_check_your_simulator`,
# `07_symbolic`.
