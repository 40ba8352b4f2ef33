"""Exact mean and per-size response times, one derivation per policy, registered by
policy class."""

import sympy
from sympy import (Add, S, log, oo)

from ...core.errors import ParameterError
from ...core.errors import PolicyError
from ...laws import predictions as PR
from ...policies import catalogue as P
from ...policies.base import as_policy
from ...core.exact import INSIDE, X_VAR, Y_VAR, Z_VAR, exact, integrate_exact, positive_part
from ...laws.exact import DensityLaw, exact_law
from .noise import _Joint, _noise


class _Model:
    """What the derivations read from a queue."""

    def __init__(self, q):
        self.lam = exact(q.arrival_rate, "arrival_rate")
        self.law = exact_law(q.size)
        pred = q.prediction
        self.bit = pred if isinstance(pred, PR.Threshold) else None
        if pred is None or isinstance(pred, (PR.Perfect, PR.Threshold)):
            self.joint = _Joint(self.law, None)
        else:
            self.joint = _Joint(self.law, _noise(pred))
        self.m1, self.m2 = self.law.moment(1), self.law.moment(2)
        self.rho = self.lam * self.m1
        if self.m2.is_finite is False or self.m2 == oo:
            from ...core.errors import InfiniteMomentError
            raise InfiniteMomentError(f"E[X^2] is infinite for {q.size!r}.")

    def size_joint(self):
        return _Joint(self.law, None)


def _residence_log(m):
    """E[X / (1 - rho'_{Y-})] for continuous Y: the integrand is (1/lambda) d rho'_y /
    (1 - rho'_y), so it equals -log(1 - rho)/lambda (rho'_0 = 0, rho'_oo = rho)."""
    return -log(1 - m.rho) / m.lam


def _mean_prediction_family(m, J, policy):
    """SPJF, PSPJF, SPRPT, Trail (and SJF, PSJF, SRPT with J perfect)."""
    lam, law = m.lam, J.law
    kind = _FAMILY[type(policy)]
    c = exact(policy.c, "c") if isinstance(policy, P.Trail) else S.One
    if J.perfect and law.discrete:
        return _mean_discrete(m, kind, c if kind == "trail" else None)
    lo, hi = J.y_range()
    y = Y_VAR
    rho_y = lam * J.below(1, y)
    fy = J.density(0, y)
    if kind == "sjf":
        return m.m1 + integrate_exact(fy * lam * m.m2 / (2 * (1 - rho_y) ** 2), y, lo, hi)
    if kind == "psjf":
        return (integrate_exact(fy * lam * J.below(2, y) / (2 * (1 - rho_y) ** 2), y, lo, hi)
                + _residence_log(m))
    if c == 0:
        return _mean_prediction_family(m, J, P.SPJF())
    wait = integrate_exact(fy * lam * (J.below(2, y, strict=False) + J.old_work(y, c))
                      / (2 * (1 - rho_y) ** 2), y, lo, hi)
    # E[int_{Y - min(X, cY)}^Y dz/(1 - rho'_z)] with the order of integration swapped:
    # int_0^oo [P(Y > z) - P(Y - min(X, cY) >= z)] / (1 - rho'_z) dz
    z = Z_VAR
    if not J.perfect:
        rho_z = lam * J.below(1, z)
        res = integrate_exact((J.above(z) - J.exceed(z, c)) / (1 - rho_z), z, 0, oo)
    elif c == 1:  # rho_z = 0 and P(X > z) = 1 below the support
        res = law.lo + integrate_exact(law.sf(z) / (1 - lam * law.pm(1, z)), z, law.lo, law.hi)
    else:
        res = integrate_exact((law.sf_pw(z) - law.sf_pw(z / (1 - c))) / (1 - lam * law.pm_pw(1, z)),
                         z, 0, law.hi)
    return wait + res + J.overshoot(c)


def _mean_discrete(m, kind, c):
    """SJF, PSJF, SRPT, Trail on atoms: (1 - rho_{<x})(1 - rho_{<=x}) in place of
    (1 - rho_x)^2 (docs/theory)."""
    lam, law = m.lam, m.law
    vs, ws = law.values, law.weights
    order = sorted(range(len(vs)), key=lambda i: float(vs[i]))
    vs, ws = [vs[i] for i in order], [ws[i] for i in order]
    cum1 = [S.Zero]
    cum2 = [S.Zero]
    for v, w in zip(vs, ws):
        cum1.append(cum1[-1] + w * v)
        cum2.append(cum2[-1] + w * v**2)
    out = S.Zero
    for i, (v, w) in enumerate(zip(vs, ws)):
        lo, le = lam * cum1[i], lam * cum1[i + 1]
        den = 2 * (1 - lo) * (1 - le)
        if kind == "sjf":
            out += w * (v + lam * m.m2 / den)
        elif kind == "psjf":
            out += w * (v / (1 - lo) + lam * cum2[i + 1] / den)
        else:
            out += w * (lam * (cum2[i + 1] + _discrete_old(vs, ws, v, c)) / den
                        + _discrete_residence(lam, vs, ws, cum1, v, c) + (1 - c) * v)
    return out


def _discrete_old(vs, ws, y, c):
    return Add(*[w * sympy.Max(y, (1 - c) * v) ** 2 for v, w in zip(vs, ws) if (v > y) == S.true])


def _discrete_residence(lam, vs, ws, cum1, x, c):
    """int_{(1-c)x}^{x} dz / (1 - rho_{<z}) with rho piecewise constant between atoms."""
    a, out, prev = (1 - c) * x, S.Zero, S.Zero
    for i, v in enumerate(vs):
        l, r = sympy.Max(prev, a), sympy.Min(v, x)
        if (r > l) == S.true:
            out += (r - l) / (1 - lam * cum1[i])
        prev = v
    return out


def _mean_fb(m):
    law, lam = m.law, m.lam

    def at(x):
        sf = law.sf_at(x) if law.discrete else law.sf(x)
        pm1 = law.pm_at(1, x) if law.discrete else law.pm(1, x)
        pm2 = law.pm_at(2, x) if law.discrete else law.pm(2, x)
        rb = lam * (pm1 + x * sf)
        return lam * (pm2 + x**2 * sf) / (2 * (1 - rb) ** 2) + x / (1 - rb)
    return law.expect(at)


def _class_table(m, J, thresholds):
    """(P_i, E[X; i], E[X^2; i]) for classes split at predicted thresholds (Y < t)."""
    cum = [(S.Zero, S.Zero, S.Zero)]
    for t in thresholds:
        cum.append(tuple(J.below(k, t, strict=True) for k in range(3)))
    cum.append((S.One, m.m1, m.m2))
    return [tuple(b - a for a, b in zip(lo, hi)) for lo, hi in zip(cum[:-1], cum[1:])]


def _cobham_mean(m, table, preemptive):
    lam = m.lam
    R = lam * m.m2 / 2
    sigma, m2_up, out = S.Zero, S.Zero, S.Zero
    for prob, m1, m2 in table:
        prev, sigma, m2_up = sigma, sigma + lam * m1, m2_up + m2
        if preemptive == "resume":
            out += m1 / (1 - prev) + prob * lam * m2_up / (2 * (1 - prev) * (1 - sigma))
        else:
            out += m1 + prob * R / ((1 - prev) * (1 - sigma))
    return out


def _one_bit_table(m):
    bit = m.bit
    if bit is None:
        raise PolicyError("OneBit needs a queue whose prediction is qt.Threshold(T, noise).")
    noise = None if isinstance(bit.noise, PR.Perfect) else _noise(bit.noise)
    return _class_table(m, _Joint(m.law, noise), [exact(bit.T, "T")])


def _mean_one_bit(m, policy):
    (ps, m1s, m2s), (pl, m1l, _) = _one_bit_table(m)
    lam = m.lam
    rho_s = lam * m1s
    R = lam * m.m2 / 2
    if policy.preemptive is True:   # Mitzenmacher 2021, preempt-any (docs/theory/advice.md)
        return m.m1 / (1 - rho_s) + pl * R / ((1 - rho_s) * (1 - m.rho))
    if policy.preemptive == "resume":
        return (m1s + m1l / (1 - rho_s) + ps * lam * m2s / (2 * (1 - rho_s))
                + pl * R / ((1 - rho_s) * (1 - m.rho)))
    return m.m1 + R * (ps / (1 - rho_s) + pl / ((1 - rho_s) * (1 - m.rho)))


def _mean_skip_predict(m, policy, q):
    """SkipPredict with external costs (docs/theory/advice.md and docs/theory/soap.md): shorts (cheap bit below T)
    are an FCFS class on top; longs run SPRPT on the expensive prediction below them."""
    if policy.server_time:
        raise PolicyError("SkipPredict with server_time=True has no closed form; use "
                          "method='soap' or method='simulation'.")
    if not isinstance(q.prediction, (PR.ExpNoise, PR.UniformNoise, PR.LognormalNoise)) \
            or m.law.discrete:
        raise PolicyError("symbolic SkipPredict needs a continuous size law and a noisy "
                          "expensive prediction (ExpNoise, UniformNoise, LognormalNoise); "
                          "use method='formula' otherwise.")
    law, lam, T = m.law, m.lam, exact(policy.T, "T")
    f = law.pdf(X_VAR)  # short and long parts: densities f(x) w(x), of mass below 1
    if isinstance(policy.bit.noise, PR.Perfect):
        cut = sympy.Max(law.lo, sympy.Min(T, law.hi))
        short, long_ = DensityLaw(f, X_VAR, law.lo, cut), DensityLaw(f, X_VAR, cut, law.hi)
    else:
        p_long = 1 - _noise(policy.bit.noise).H(T, X_VAR)   # P(cheap prediction >= T | x)
        short = DensityLaw(f * (1 - p_long), X_VAR, law.lo, law.hi)
        long_ = DensityLaw(f * p_long, X_VAR, law.lo, law.hi)
    m2s, rho_s = short.moment(2), lam * short.moment(1)
    out = short.moment(1) + short.moment(0) * lam * m2s / (2 * (1 - rho_s))
    J, y, z = _Joint(long_, _noise(q.prediction)), Y_VAR, Z_VAR
    out += integrate_exact(J.density(0, y) * lam * (m2s + J.below(2, y, strict=False) + J.old_work(y))
                      / (2 * (1 - rho_s - lam * J.below(1, y)) ** 2), y, 0, oo)
    out += integrate_exact((J.above(z) - J.exceed(z)) / (1 - rho_s - lam * J.below(1, z)), z, 0, oo)
    return out + J.overshoot() / (1 - rho_s)


def _check_policy(policy):
    if type(policy) not in MEANS:
        raise PolicyError(f"{policy.name} has no symbolic closed form: use method='soap' "
                          "or method='simulation'.")


def _joint_for(m, policy):
    if policy.descriptor == "size":
        return m.size_joint()
    return m.joint


def canonical(expr):
    """The result as papers write it, where that is shorter: a rational function of the
    parameters put over one denominator, cancelled and factored, with a leading
    minus of the numerator moved into the denominator
    (``2λ/(μ²(2 − 2λ/μ)) + 1/μ`` becomes ``1/(μ − λ)``). Anything else (exponentials,
    integrals, special functions), or a form that would grow, is returned as it is.

    Examples
    --------
    >>> import sympy
    >>> lam, mu = sympy.symbols("lambda mu", positive=True)
    >>> canonical(2 * lam / (mu**2 * (-2 * lam / mu + 2)) + 1 / mu)
    1/(-lambda + mu)
    """
    expr = sympy.sympify(expr)
    # only small rational functions of the parameters: factoring expressions with
    # exponentials of rational multiples (an Erlang law at load 4/5) or special functions
    # builds polynomials of huge degree (gigabytes)
    symbols = expr.free_symbols
    if (not symbols or not expr.is_rational_function(*symbols)
            or sympy.count_ops(expr) > 120):
        return expr
    out = sympy.factor(sympy.cancel(sympy.together(expr)))
    num, den = sympy.fraction(out)
    if den != 1 and num.could_extract_minus_sign():
        # the minus into one sum of the denominator: -1/(λ - μ) -> 1/(μ - λ)
        factors = list(sympy.Mul.make_args(den))
        k = next((i for i, f in enumerate(factors) if f.is_Add), None)
        if k is not None:
            factors[k] = sympy.expand(-factors[k])
            out = sympy.expand(-num) / sympy.Mul(*factors)
    return out if sympy.count_ops(out) <= sympy.count_ops(expr) else expr


def symbolic_mean_response_time(q, policy, simplify=None):
    """E[T] of ``policy`` on the M/G/1 queue ``q`` as an exact sympy expression.

    Parameters
    ----------
    q : qtheory.MG1
        Parameters may be numbers or sympy expressions.
    policy : policy class or instance
        FCFS, PS, LCFS, SJF, PSJF, SRPT, FB, PriorityClasses, SPJF, PSPJF, SPRPT,
        Trail(c), OneBit (on a queue with ``prediction=qt.Threshold(T, noise)``),
        SkipPredict (external costs, noisy expensive predictions).
    simplify : bool or None
        None (default): the canonical form of :func:`canonical` (one fraction, factored,
        as papers write it: 1/(mu - lambda)); True: ``sympy.simplify`` (slow for large
        expressions); False: the raw derivation.

    Returns
    -------
    sympy.Expr
        Closed form where one is derived; integrals without one stay unevaluated.

    Examples
    --------
    >>> import sympy, qtheory as qt
    >>> lam = sympy.Symbol("lambda", positive=True)
    >>> q = qt.MG1(lam, qt.Exponential(1), prediction=qt.ExpNoise())
    >>> e = symbolic_mean_response_time(q, qt.SPJF)
    >>> e.has(sympy.besselk)
    True
    >>> from qtheory.methods.symbolic import evaluate
    >>> round(evaluate(e.subs(lam, sympy.Rational(1, 2)), fast=True), 12)
    1.794814491691
    """
    policy = as_policy(policy)
    _check_policy(policy)
    out = MEANS[type(policy)](_Model(q), policy, q)
    if simplify is None:
        return canonical(out)
    return sympy.simplify(out) if simplify else out


def _mean_classes(m, policy, q):
    J = _joint_for(m, policy)
    return _cobham_mean(m, _class_table(m, J, [exact(t, "thresholds")
                                               for t in policy.thresholds]), policy.preemptive)


def _mean_ranked(m, policy, q):
    if m.bit is not None:
        raise PolicyError(f"{policy.name} ranks by predicted size but this queue's "
                          "predictions are one bit (Threshold).")
    return _mean_prediction_family(m, _joint_for(m, policy), policy)


def _mean_blind(m, policy, q):      # PS and LCFS: E[T(x)] = x / (1 - rho)
    return m.m1 / (1 - m.rho)


#: The derivation of each policy's exact mean, by policy class.
MEANS = {P.FCFS: lambda m, p, q: m.m1 + m.lam * m.m2 / (2 * (1 - m.rho)),
         P.PS: _mean_blind, P.LCFS: _mean_blind,
         P.FB: lambda m, p, q: _mean_fb(m),
         P.OneBit: lambda m, p, q: _mean_one_bit(m, p),
         P.SkipPredict: _mean_skip_predict,
         P.PriorityClasses: _mean_classes,
         **dict.fromkeys((P.SJF, P.PSJF, P.SRPT, P.SPJF, P.PSPJF, P.SPRPT, P.Trail), _mean_ranked)}
#: How the size- and prediction-ranked policies are derived: (kind of rank).
_FAMILY = {P.SJF: "sjf", P.SPJF: "sjf", P.PSJF: "psjf", P.PSPJF: "psjf", P.SRPT: "trail",
           P.SPRPT: "trail", P.Trail: "trail"}


def symbolic_response_time(q, policy, x, y=None):
    """E[T(x)] (or E[T(x, y)] for a job predicted y) as a sympy expression.

    ``x`` and ``y`` may be numbers or sympy symbols (piecewise in them where the size
    law's support is bounded). For policies that rank by prediction, ``y`` defaults
    to ``x`` when predictions are perfect; for OneBit, ``y`` is the bit (0 short, 1 long).

    Examples
    --------
    >>> import sympy, qtheory as qt
    >>> lam, x = sympy.symbols("lambda x", positive=True)
    >>> q = qt.MG1(lam, qt.Exponential(1))
    >>> symbolic_response_time(q, qt.PS, x)
    x/(1 - lambda)
    >>> symbolic_response_time(q, qt.SRPT, x)
    lambda*(x**2*exp(-x) - 2*(x**2/2 + x + 1)*exp(-x) + 2)/(2*(-lambda*(-(x + 1)*exp(-x) + 1) + 1)**2) + Integral(1/(-lambda*(-(t + 1)*exp(-t) + 1) + 1), (t, 0, x))
    """
    # a user's symbol x or y equals the module's own bound variables: derive with
    # stand-ins so points given as symbols are never taken to lie inside the support
    given = [_point(v, n) for v, n in ((x, "size"), (y, "y")) if v is not None]
    clash = set().union(*(v.free_symbols for v in given)) & set(INSIDE)
    stand = {s: sympy.Dummy(s.name, positive=True) for s in clash}
    x, y = (v.xreplace(stand) if isinstance(v, sympy.Basic) else v for v in (x, y))
    out = _response_time(q, as_policy(policy), x, y)
    return out.xreplace({d: s for s, d in stand.items()})


def _response_time(q, policy, x, y):
    _check_policy(policy)
    m = _Model(q)
    x = _point(x, "size")
    lam = m.lam
    if isinstance(policy, P.FCFS):
        return x + lam * m.m2 / (2 * (1 - m.rho))
    if isinstance(policy, (P.PS, P.LCFS)):
        return x / (1 - m.rho)
    law = m.law
    if isinstance(policy, P.FB):
        sf, pm1, pm2 = law.sf_at(x), law.pm_at(1, x), law.pm_at(2, x)
        rb = lam * (pm1 + x * sf)
        return lam * (pm2 + x**2 * sf) / (2 * (1 - rb) ** 2) + x / (1 - rb)
    if isinstance(policy, P.OneBit):
        if y is None:
            raise ParameterError("OneBit response times need the bit: pass y=0 (short) or "
                                 "y=1 (long).")
        b = _point(y, "y")
        (ps, m1s, m2s), (pl, m1l, _) = _one_bit_table(m)
        rho_s, R = lam * m1s, lam * m.m2 / 2
        if policy.preemptive is True:
            return x / (1 - rho_s) + b * R / ((1 - rho_s) * (1 - m.rho))
        table = [(ps, m1s, m2s), (pl, m1l, m.m2 - m2s)]
        return _cobham_at(m, table, int(b != 0), x, policy.preemptive)
    J = _joint_for(m, policy)
    if policy.descriptor == "size" or (y is None and J.perfect):
        y = x
    if y is None:
        raise ParameterError(f"{policy.name} ranks by prediction: pass y (the prediction).")
    y = _point(y, "y")
    if isinstance(policy, P.PriorityClasses):
        ts = [exact(t, "thresholds") for t in policy.thresholds]
        i = sum(1 for t in ts if (y >= t) == S.true)
        return _cobham_at(m, _class_table(m, J, ts), i, x, policy.preemptive)
    lo_load = lam * J.below(1, y, strict=True)
    le_load = lam * J.below(1, y, strict=False)
    if J.perfect and law.discrete:
        den = 2 * (1 - lo_load) * (1 - le_load)
    else:  # Y continuous: rho'_{y-} = rho'_y
        den = 2 * (1 - lo_load) ** 2
    if isinstance(policy, P.PSJF):
        return x / (1 - lo_load) + lam * J.below(2, y, strict=False) / den
    if isinstance(policy, P.SJF):
        return x + lam * m.m2 / den
    c = S.One if isinstance(policy, P.SRPT) else exact(policy.c, "c")
    old = J.below(2, y, strict=False) + J.old_work(y, c)
    if J.perfect and law.discrete:
        res = _discrete_interval(lam, law, y - sympy.Min(x, c * y), y)
    else:
        t = _fresh("t", x, y)
        res = _residence_integral(m, J, t, y - sympy.Min(x, c * y), y)
    return lam * old / den + res + positive_part(x - c * y)


def _discrete_interval(lam, law, a, b):
    """int_a^b dz / (1 - lambda E[X 1{X < z}]) for a discrete law."""
    vs = sorted(law.values, key=float)
    ws = dict(zip(law.values, law.weights))
    out, prev, cum = S.Zero, S.Zero, S.Zero
    for v in vs + [oo]:
        l, r = sympy.Max(prev, a), sympy.Min(v, b)
        if (r > l) == S.true:
            out += (r - l) / (1 - lam * cum)
        if v != oo:
            cum += ws[v] * v
        prev = v
    return out


def _residence_integral(m, J, t, a, b):
    """int_a^b dt / (1 - rho'_t), split where the support of X starts (rho'_t = 0 below
    it for perfect predictions)."""
    lam = m.lam
    if a == b:
        return S.Zero
    if J.perfect and J.law.lo != 0:
        lo = J.law.lo
        head = sympy.Max(sympy.Min(b, lo) - a, 0)
        pm = J.law.pm if J.law.hi == oo else J.law.pm_pw  # rho'_t = rho above the support
        return head + integrate_exact(1 / (1 - lam * pm(1, t)), t, sympy.Max(a, lo),
                                 sympy.Max(b, lo))
    return integrate_exact(1 / (1 - lam * J.below(1, t)), t, a, b)


def _cobham_at(m, table, i, x, preemptive):
    lam = m.lam
    prev = lam * Add(*[m1 for _, m1, _ in table[:i]])
    sig = prev + lam * table[i][1]
    if preemptive == "resume":
        m2_up = Add(*[m2 for _, _, m2 in table[:i + 1]])
        return x / (1 - prev) + lam * m2_up / (2 * (1 - prev) * (1 - sig))
    return x + lam * m.m2 / (2 * (1 - prev) * (1 - sig))


def _point(v, name):
    e = exact(v, name)
    if e.is_number and (e.is_negative or not e.is_finite):
        raise ParameterError(f"{name} = {v!r} is invalid: it must be a finite number >= 0.")
    if not e.is_number and e.is_negative:
        raise ParameterError(f"{name} = {v!r} is invalid: declare it nonnegative.")
    return e


def _fresh(name, *exprs):
    s = sympy.Symbol(name, positive=True)
    used = set().union(*(sympy.sympify(e).free_symbols for e in exprs))
    return s if s not in used else sympy.Dummy(name, positive=True)
