# %% [markdown]
# # Symbolic derivations for a paper
#
# With `method="symbolic"` qtheory returns the mean response time as an exact sympy
# expression: closed where a closed form exists, with integrals left unevaluated where it
# does not. Parameters may be symbols. This notebook derives a few textbook and research
# results, checks them against independent sources, and prints the LaTeX to paste into a
# paper.

# %%
import math

import sympy
from IPython.display import Math, display
from scipy.special import lambertw

import qtheory as qt

lam, mu, T = sympy.symbols("lambda mu T", positive=True)

# %% [markdown]
# ## Pollaczek–Khinchine, symbolically
#
# FCFS on M/M/1 with rates $\lambda, \mu$ must give $1/(\mu - \lambda)$; on M/E$_2$/1
# (Erlang sizes with two phases of rate $\mu$: $E[X] = 2/\mu$, $E[X^2] = 6/\mu^2$) the
# Pollaczek–Khinchine formula $E[X] + \lambda E[X^2]/(2(1-\rho))$ gives
# $\frac{2\mu - \lambda}{\mu(\mu - 2\lambda)}$ (Kleinrock, *Queueing Systems* I, ch. 5).

# %%
def fcfs(size):
    exact = qt.MG1(lam, size).mean_response_time(qt.FCFS, method="symbolic")
    return sympy.simplify(exact)


mm1, me21 = fcfs(qt.Exponential(mu)), fcfs(qt.Erlang(2, mu))
display(Math(r"E[T_{M/M/1}] = " + qt.latex(mm1)), Math(r"E[T_{M/E_2/1}] = " + qt.latex(me21)))
assert sympy.simplify(mm1 - 1 / (mu - lam)) == 0
assert sympy.simplify(me21 - (2 * mu - lam) / (mu * (mu - 2 * lam))) == 0

# %% [markdown]
# `qt.latex` is `sympy.latex` with qtheory's defaults; `qt.heavy_traffic` gives the
# leading term as $\rho \to 1$.

# %%
print(qt.latex(mm1))
print(qt.heavy_traffic(qt.MG1(lam, qt.Exponential(mu)), qt.FCFS))

# %% [markdown]
# ## SRPT: an exact integral, to 30 digits
#
# The Schrage–Miller formula has no closed form for exponential sizes; the symbolic
# method keeps it as an integral that `qt.evaluate` computes with mpmath to any
# precision. At $\lambda = 0.8$, Mitzenmacher (2020, arXiv 1902.00732, Table 1) prints
# 2.3528.

# %%
srpt = qt.MG1(sympy.Rational(4, 5), qt.Exponential(1)).mean_response_time(qt.SRPT,
                                                                          method="symbolic")
display(Math(r"E[T_{\rm SRPT}] = " + qt.latex(srpt)))
srpt30 = qt.evaluate(srpt, digits=30)
print(srpt30)

# %% [markdown]
# Independent checks: the `"formula"` method evaluates Schrage–Miller by adaptive
# quadrature in double precision (separate code, with an error bound), and the published
# table.

# %%
formula = qt.MG1(0.8, qt.Exponential(1.0)).mean_response_time(qt.SRPT)
print(formula)
assert abs(float(srpt30) - formula.value) <= formula.error + 1e-13
assert abs(float(srpt30) - 2.3528) <= 5e-5

# %% [markdown]
# ## Light traffic
#
# `qt.light_traffic` expands $E[T]$ in powers of $\lambda$ with exact coefficients. For
# SRPT with Exp(1) sizes the first-order term is $\lambda/2$; we check the expansion
# against the numerical formula at a small load, where the error is $O(\lambda^3)$.

# %%
series = qt.light_traffic(qt.MG1(lam, qt.Exponential(1)), qt.SRPT)
display(Math(r"E[T_{\rm SRPT}] = " + qt.latex(series)))
x = 0.01
numeric = qt.MG1(x, qt.Exponential(1)).mean_response_time(qt.SRPT).value
truncated = float(series.removeO().subs(lam, x))
print(numeric, truncated)
assert abs(numeric - truncated) < 10 * x**3

# %% [markdown]
# ## One bit of advice: the optimal threshold in closed form
#
# With a symbolic threshold $T$ the preemptive one-bit formula (Mitzenmacher 2021, arXiv
# 2006.15463) is an explicit function of $T$; sympy solves $\partial E[T]/\partial T = 0$
# and finds the paper's $T^* = 1 + W_0\big(\lambda/(e(1-\lambda))\big)$.

# %%
q_bit = qt.MG1(lam, qt.Exponential(1), prediction=qt.Threshold(T, qt.Perfect()))
one_bit = q_bit.mean_response_time(qt.OneBit(preemptive=True), method="symbolic")
display(Math(r"E[T] = " + qt.latex(sympy.simplify(one_bit))))
[T_star] = qt.symbolic_optimal_threshold(q_bit, qt.OneBit(preemptive=True))
display(Math(r"T^* = " + qt.latex(T_star)))

# %%
lam_value = 0.8
T_num = float(T_star.subs(lam, lam_value))
w = 1 + lambertw(lam_value / (math.e * (1 - lam_value))).real
numeric_opt = qt.optimal_threshold(qt.MG1(lam_value, qt.Exponential(1), qt.Perfect()),
                                   qt.OneBit(preemptive=True))
print(T_num, float(w), numeric_opt.T)
assert abs(T_num - float(w)) < 1e-12 and abs(numeric_opt.T - T_num) < 1e-6
slope = sympy.diff(one_bit, T).subs({lam: lam_value, T: T_num})
assert abs(float(slope)) < 1e-12

# %% [markdown]
# ## A predicted bit: Bessel functions
#
# When the bit comes from an exponential prediction, $Y \mid X=x \sim$ Exp(mean $x$),
# the expectations become modified Bessel functions $K_\nu$, via
# $\int_0^\infty x^{\nu-1}e^{-x-y/x}dx = 2y^{\nu/2}K_\nu(2\sqrt y)$. The symbolic method
# returns the paper's closed form:

# %%
q_pred = qt.MG1(lam, qt.Exponential(1), prediction=qt.Threshold(T, qt.ExpNoise()))
pred_bit = q_pred.mean_response_time(qt.OneBit(preemptive=True), method="symbolic")
display(Math(r"E[T] = " + qt.latex(pred_bit)))
K = sympy.besselk
paper = ((1 - lam + lam * 2 * sympy.sqrt(T) * K(1, 2 * sympy.sqrt(T)))
         / ((1 - lam) * (1 - lam * (1 - 2 * T * K(2, 2 * sympy.sqrt(T))))))
for point in ({lam: sympy.Rational(1, 2), T: sympy.Rational(7, 10)},
              {lam: sympy.Rational(9, 10), T: sympy.Rational(5, 2)}):
    ours, theirs = sympy.N(pred_bit.subs(point), 30), sympy.N(paper.subs(point), 30)
    print(ours, theirs)
    assert abs(ours - theirs) < 1e-25

# %% [markdown]
# ## Batch service
#
# The M/M$^{(1,b)}$/1 bulk queue (exponential batch times, batches of up to $b$) has a
# closed form through the root $r \in (0,1)$ of $\mu z^{b+1} - (\lambda+\mu)z + \lambda$
# (`docs/theory/batch.md`). For $b = 2$ the root is a quadratic surd, and the symbolic result must
# agree with the exact embedded-chain solution, a different method.

# %%
bulk = qt.BatchQueue(lam, qt.Exponential(mu), max_batch=2)
bulk_expr = sympy.simplify(bulk.mean_response_time(method="formula"))   # a sympy expression
display(Math(r"E[T] = " + qt.latex(bulk_expr)))
chain = qt.BatchQueue(1.5, qt.Exponential(1.0), max_batch=2).mean_response_time(
    method="chain")
print(float(bulk_expr.subs({lam: 1.5, mu: 1})), chain)
assert abs(float(bulk_expr.subs({lam: 1.5, mu: 1})) - chain.value) < 1e-9
