"""Closed-form and specialised results (``method="formula"``), docs/theory (classical, predictions, advice).

Each entry gives the per-job response time E[T(x, y)] and the mean E[T] of one policy on
an :class:`~qtheory.queues.mg1.MG1` queue, straight from its published formula. Means are
computed with the integration order swapped where that turns a double integral into a
single one, e.g. E[integral_0^X dt / (1 - rho_t)] = integral_0^inf P(X > t) / (1 - rho_t) dt.
Nothing here calls the SOAP engine or the simulator: they are independent witnesses.

At atoms of a discrete law, (1 - rho_y)^2 reads (1 - rho_{<y})(1 - rho_{<=y}) (docs/theory).
"""

import math

import numpy as np

from ..core.errors import InfiniteMomentError, PolicyError
from ..core.numerics import integrate
from ..policies import catalogue as P
from ..laws.predictions import ClassBit, Threshold


def _second_moment(q, policy):
    m2 = q.size.moment(2)
    if not math.isfinite(m2):
        raise InfiniteMomentError(
            f"E[X^2] is infinite for {q.size!r}, so the mean response time under "
            f"{policy} is infinite (the residual work seen on arrival has infinite mean); "
            "SRPT, PSJF, FB and PS stay finite.")
    return m2


class Formula:
    """A policy's closed form. ``mean`` returns (value, error); ``at`` returns E[T(x, y)]."""

    def mean(self, q, p):
        raise NotImplementedError

    def at(self, q, p, x, y):
        raise NotImplementedError


# -- section 1: classical --------------------------------------------------------------------
class _FCFS(Formula):
    def mean(self, q, p):
        return q.size.mean + q.arrival_rate * _second_moment(q, p) / (2 * (1 - q.load)), 0.0

    def at(self, q, p, x, y):
        return x + q.arrival_rate * _second_moment(q, p) / (2 * (1 - q.load))


class _PS(Formula):  # PS and preemptive LCFS: E[T(x)] = x / (1 - rho)
    def mean(self, q, p):
        return q.size.mean / (1 - q.load), 0.0

    def at(self, q, p, x, y):
        return x / (1 - q.load)


class _SizeBased(Formula):
    """SJF, PSJF, SRPT, FB: functions of x through the partial loads rho_{<x}, rho_{<=x}."""

    def loads(self, q, x):
        lam, X = q.arrival_rate, q.size
        lo = lam * float(X.partial_moment(1, x, strict=True))
        return lo, (lam * float(X.partial_moment(1, x)) if X.discrete else lo)

    def mean(self, q, p):
        wait, err = q.size.expect(lambda x: self.waiting(q, p, x), what=f"the {p.name} mean")
        res, err2 = self.residence_mean(q, p)
        return wait + res, err + err2


class _SJF(_SizeBased):
    def waiting(self, q, p, x):
        lo, le = self.loads(q, x)
        return q.arrival_rate * _second_moment(q, p) / (2 * (1 - lo) * (1 - le))

    def residence_mean(self, q, p):
        return q.size.mean, 0.0

    def at(self, q, p, x, y):
        return x + self.waiting(q, p, x)


class _PSJF(_SizeBased):
    def waiting(self, q, p, x):
        lo, le = self.loads(q, x)
        return q.arrival_rate * float(q.size.partial_moment(2, x)) / (2 * (1 - lo) * (1 - le))

    def residence_mean(self, q, p):
        # E[X / (1 - rho_X)] = E[X] / (1 - rho) - E[X (rho - rho_X) / ((1 - rho)(1 - rho_X))]:
        # the second integrand falls off a power of x faster than X's own tail (quadrature
        # of E[X / (1 - rho_X)] on Pareto(1.32) lost 0.5 % of E[X] beyond its last point)
        rho = q.load
        v, e = q.size.expect(lambda x: x * (rho - self.loads(q, x)[0])
                             / ((1 - rho) * (1 - self.loads(q, x)[0])),
                             what="the PSJF residence")
        return q.size.mean / (1 - rho) - v, e

    def at(self, q, p, x, y):
        return self.waiting(q, p, x) + x / (1 - self.loads(q, x)[0])


class _SRPT(_SizeBased):
    # Schrage-Miller: lambda [E[X^2; X<=x] + x^2 P(X>x)] / (2(1-rho_x)^2) + int_0^x dt/(1-rho_t)
    def waiting(self, q, p, x):
        lo, le = self.loads(q, x)
        X = q.size
        sf = float(X.sf(x))
        old = float(X.partial_moment(2, x)) + (x * x * sf if sf > 0 else 0.0)  # no inf · 0
        return q.arrival_rate * old / (2 * (1 - lo) * (1 - le))

    def residence(self, q, t):
        return 1.0 / (1 - self.loads(q, t)[0])

    def residence_mean(self, q, p):
        # ∫ S(t) / (1 - rho_t) dt = E[X] / (1 - rho) - ∫ S(t) (rho - rho_t) / ((1 - rho)
        # (1 - rho_t)) dt: as for PSJF, the integrand left to quadrature has a lighter tail
        X, rho = q.size, q.load
        v, e = integrate(lambda t: float(X.sf(t)) * (rho - self.loads(q, t)[0])
                         / ((1 - rho) * (1 - self.loads(q, t)[0])), 0.0, X.support[1],
                         X.split_points, what="the SRPT residence")
        return X.mean / (1 - rho) - v, e

    def at(self, q, p, x, y):
        X = q.size
        res = integrate(lambda t: self.residence(q, t), 0.0, x,
                        [b for b in X.breakpoints if b < x])[0]
        return self.waiting(q, p, x) + res


class _FB(_SizeBased):
    # with Xbar = min(X, x): lambda E[Xbar^2] / (2(1 - rhobar)^2) + x / (1 - rhobar)
    def at(self, q, p, x, y):
        X, lam = q.size, q.arrival_rate
        sf = float(X.sf(x))
        rho_bar = lam * (float(X.partial_moment(1, x)) + (x * sf if sf > 0 else 0.0))
        m2_bar = float(X.partial_moment(2, x)) + (x * x * sf if sf > 0 else 0.0)
        return lam * m2_bar / (2 * (1 - rho_bar) ** 2) + x / (1 - rho_bar)

    def mean(self, q, p):
        return q.size.expect(lambda x: self.at(q, p, x, None), what="the FB mean")


# -- section 1 and 4: priority classes and one bit -----------------------------------------
def _class_table(q, joint, thresholds):
    """Per class i: (P_i, E[X; i], E[X^2; i]) for classes split at predicted thresholds."""
    edges = [0.0, *thresholds, math.inf]
    cum = [(0.0, 0.0, 0.0)]
    for t in edges[1:]:
        cum.append((1.0, q.size.mean, q.size.moment(2)) if t == math.inf else
                   tuple(joint.below(k, t) for k in range(3)))
    return [tuple(b - a for a, b in zip(lo, hi)) for lo, hi in zip(cum[:-1], cum[1:])]


def _cobham(q, p, classes, preemptive):
    """Cobham's formulas; returns per-class mean response times and probabilities."""
    lam = q.arrival_rate
    R = lam * _second_moment(q, p) / 2
    sigma, m2_up, out = 0.0, 0.0, []
    for prob, m1, m2 in classes:
        prev, sigma, m2_up = sigma, sigma + lam * m1, m2_up + m2
        if prob <= 0:
            out.append((0.0, 0.0))
            continue
        if preemptive == "resume":
            t = m1 / prob / (1 - prev) + lam * m2_up / 2 / ((1 - prev) * (1 - sigma))
        else:
            t = m1 / prob + R / ((1 - prev) * (1 - sigma))
        out.append((prob, t))
    return out


class _PriorityClasses(Formula):
    def classes(self, q, p):
        return _class_table(q, q.joint, p.thresholds)

    def mean(self, q, p):
        return sum(pr * t for pr, t in _cobham(q, p, self.classes(q, p), p.preemptive)), 0.0

    def at(self, q, p, x, y):
        lam, table = q.arrival_rate, self.classes(q, p)
        i = p.klass(y)
        prev = lam * sum(m1 for _, m1, _ in table[:i])
        sig = prev + lam * table[i][1]
        if p.preemptive == "resume":
            m2_up = sum(m2 for _, _, m2 in table[:i + 1])
            return x / (1 - prev) + lam * m2_up / 2 / ((1 - prev) * (1 - sig))
        return x + lam * _second_moment(q, p) / 2 / ((1 - prev) * (1 - sig))


class _OneBit(Formula):
    """Mitzenmacher 2021: short iff the prediction is below T (bit 0)."""

    def classes(self, q, p):
        bit = q.prediction
        if isinstance(bit, ClassBit):   # classes exactly from the mixture's components
            return bit.class_table()
        if not isinstance(bit, Threshold):
            raise PolicyError("OneBit needs a queue whose prediction is qt.Threshold(T, noise); "
                              "use qt.optimal_threshold to choose T.")
        return _class_table(q, q.joint, [bit.T])  # the joint law of (X, noisy prediction)

    def mean(self, q, p):
        (ps, m1s, _), (pl, _, _) = table = self.classes(q, p)
        if p.preemptive is True:  # preempt-any: LCFS among shorts, longs FCFS behind them
            lam, rho_s = q.arrival_rate, q.arrival_rate * m1s
            R = lam * _second_moment(q, p) / 2
            return q.size.mean / (1 - rho_s) + pl * R / ((1 - rho_s) * (1 - q.load)), 0.0
        return sum(pr * t for pr, t in _cobham(q, p, table, p.preemptive)), 0.0

    def at(self, q, p, x, y):
        (ps, m1s, m2s), (pl, m1l, _) = self.classes(q, p)
        lam = q.arrival_rate
        rho_s = lam * m1s
        if p.preemptive is True:
            R = lam * _second_moment(q, p) / 2
            return x / (1 - rho_s) + (R / ((1 - rho_s) * (1 - q.load)) if y else 0.0)
        return _PriorityClasses.at(self, q, _AsClasses(p), x, y)


class _AsClasses:  # a OneBit policy seen as two classes split at bit 1
    def __init__(self, p):
        self.preemptive, self.thresholds = p.preemptive, (1.0,)

    def klass(self, y):
        return int(y >= 1)


# -- section 2: prediction policies ----------------------------------------------------------
class _Predicted(Formula):
    """SPJF, PSPJF, SPRPT, Trail: functions of y through rho'_{<y}, rho'_{<=y}."""

    def loads(self, q, y):
        lam, J = q.arrival_rate, q.joint
        return lam * J.below(1, y), lam * J.below_incl(1, y)

    def mean(self, q, p):
        wait, e1 = q.joint.expect_y(lambda y: self.waiting(q, p, y),
                                    what=f"the {p.name} waiting time")
        res, e2 = self.residence_mean(q, p)
        return wait + res, e1 + e2

    def slowdown(self, q, p):
        """E[T(X, Y) / X] = int W(y) E[1/X; Y in dy] + E[R(X, Y) / X]: the waiting time
        depends on y only, so it meets the density of 1/X over predictions."""
        J, h = q.joint, q.joint.prediction
        wait, e1 = integrate(
            lambda y: self.waiting(q, p, y) * float(J.inner(lambda x: h.pdf(y, x) / x,
                                                            J._points(y))),
            0.0, math.inf, J.y_points(), what=f"the {p.name} slowdown (waiting part)")
        res, e2 = self.residence_slowdown(q, p)
        return wait + res, e1 + e2


class _SPJF(_Predicted):
    def waiting(self, q, p, y):
        lo, le = self.loads(q, y)
        return q.arrival_rate * _second_moment(q, p) / (2 * (1 - lo) * (1 - le))

    def residence_mean(self, q, p):
        return q.size.mean, 0.0

    def residence_slowdown(self, q, p):
        return 1.0, 0.0

    def at(self, q, p, x, y):
        return x + self.waiting(q, p, y)


class _PSPJF(_Predicted):
    def waiting(self, q, p, y):
        lo, le = self.loads(q, y)
        return q.arrival_rate * q.joint.below_incl(2, y) / (2 * (1 - lo) * (1 - le))

    def residence_mean(self, q, p):  # E[X / (1 - rho'_{<Y})]
        return q.joint.expect_y(lambda y: 1.0 / (1 - self.loads(q, y)[0]), k=1,
                                what="the PSPJF residence")

    def residence_slowdown(self, q, p):  # E[1 / (1 - rho'_{<Y})]
        return q.joint.expect_y(lambda y: 1.0 / (1 - self.loads(q, y)[0]),
                                what="the PSPJF residence slowdown")

    def at(self, q, p, x, y):
        return self.waiting(q, p, y) + x / (1 - self.loads(q, y)[0])


class _Trail(_Predicted):
    """Trail(c), SPRPT with limited preemption (docs/theory/predictions.md); SPRPT is c = 1."""

    def c(self, p):
        return p.c

    def waiting(self, q, p, y):
        lo, le = self.loads(q, y)
        J, c = q.joint, self.c(p)
        old = J.below_incl(2, y) + (J.old_work(y) if c == 1 else J.limited_old_work(y, c))
        return q.arrival_rate * old / (2 * (1 - lo) * (1 - le))

    def residence(self, q, z):
        return 1.0 / (1 - self.loads(q, z)[0])

    def residence_mean(self, q, p):
        # E[int_{Y - min(X, cY)}^{Y} dz / (1 - rho'_z)]
        #   = int_0^inf [P(Y > z) - P(Y - min(X, cY) >= z)] / (1 - rho'_z) dz
        J, c = q.joint, self.c(p)
        v, e = integrate(lambda z: (J.above(z) - J.exceed(z, c)) * self.residence(q, z),
                         0.0, math.inf, J.y_points(), what=f"the {p.name} residence")
        return v + J.overshoot(c), e

    def residence_slowdown(self, q, p):
        # E[(1/X) int_{Y - min(X, cY)}^{Y} dz / (1 - rho'_z)] + E[(1 - cY/X)^+]; given x,
        # P(Y - min(x, cY) < z <= Y) = P(z <= Y < min(z / (1 - c), x + z))
        J, h, c = q.joint, q.joint.prediction, self.c(p)
        if c == 0:
            return 1.0, 0.0

        def band(z):
            stop = z / (1 - c) if c < 1 else math.inf
            return float(J.inner(lambda x: (h.cdf(np.minimum(stop, x + z), x) - h.cdf(z, x)) / x,
                                 (*J._points(z), *(J._points(stop) if c < 1 else ()))))
        v, e = integrate(lambda z: band(z) * self.residence(q, z), 0.0, math.inf,
                         J.y_points(), what=f"the {p.name} residence slowdown")
        over = float(J.inner(lambda x: (lambda m: m[0] - c * m[1] / x)(
            h.partial_moments(x, 0.0, x / c))))
        return v + over, e

    def at(self, q, p, x, y):
        c = self.c(p)
        top = min(x, c * y)
        res = integrate(lambda a: self.residence(q, y - a), 0.0, top,
                        [y - b for b in q.size.breakpoints if 0 < y - b < top])[0]
        return self.waiting(q, p, y) + res + max(x - c * y, 0.0)


class _SPRPT(_Trail):
    def c(self, p):
        return 1.0


class _SkipPredict(Formula):
    """SkipPredict with external prediction costs (Shahout & Mitzenmacher 2024; docs/theory
    section 6): lexicographic ranks (0, FCFS) for predicted-short jobs, (1, y - a) for
    predicted-long ones, which then see shorts as a higher class."""

    def parts(self, q, p):
        if p.server_time:
            raise PolicyError("SkipPredict with server_time=True has no closed form; use "
                              "method='soap' or method='simulation'.")
        if q.prediction is None:
            raise PolicyError("SkipPredict needs the queue's expensive prediction model, "
                              "e.g. qt.MG1(lam, size, prediction=qt.ExpNoise()).")
        from ..laws.joint import JointLaw
        from ..laws.predictions import Perfect
        bit = p.bit
        jump = (bit.T,) if isinstance(bit.noise, Perfect) else ()
        short = JointLaw(q.size, None, weight=bit.short_prob, weight_points=jump)
        long_ = JointLaw(q.size, q.prediction, weight=lambda x: 1.0 - bit.short_prob(x),
                         weight_points=jump)
        lam = q.arrival_rate
        s = {"P": short.mass, "m1": float(short.inner(lambda x: x)),
             "m2": float(short.inner(lambda x: x * x))}
        s["rho"] = lam * s["m1"]
        return s, long_

    def mean(self, q, p):
        s, L = self.parts(q, p)
        lam, rho_s = q.arrival_rate, s["rho"]
        short = s["m1"] + s["P"] * lam * s["m2"] / (2 * (1 - rho_s))
        with L.tracking() as inner:
            wait, e1 = L.expect_y(lambda y: self.long_waiting(q, s, L, y),
                                  what="the SkipPredict long-job waiting time")
            res, e2 = integrate(lambda z: (L.above(z) - L.exceed(z))
                                / (1 - rho_s - lam * L.below(1, z)),
                                0.0, math.inf, L.y_points(), what="the SkipPredict residence")
            value = short + wait + res + L.overshoot() / (1 - rho_s)
        # the long class's inner integrals propagate a few times their relative error
        return value, e1 + e2 + 4 * abs(value) * inner.max_rel_error

    def long_waiting(self, q, s, L, y):
        lam, rho_s = q.arrival_rate, s["rho"]
        old = s["m2"] + L.below_incl(2, y) + L.old_work(y)
        return lam * old / (2 * (1 - rho_s - lam * L.below(1, y)) * (1 - rho_s - lam * L.below_incl(1, y)))

    def at(self, q, p, x, y, bit=None):
        """E[T(x, y)] for a job the cheap predictor calls long (``bit=1``, default when
        ``y`` is given) or short (``bit=0``)."""
        s, L = self.parts(q, p)
        lam, rho_s = q.arrival_rate, s["rho"]
        if bit == 0:
            return x + lam * s["m2"] / (2 * (1 - rho_s))
        top = min(x, y)
        res = integrate(lambda a: 1 / (1 - rho_s - lam * L.below(1, y - a)), 0.0, top)[0]
        return self.long_waiting(q, s, L, y) + res + max(x - y, 0.0) / (1 - rho_s)

    def cost(self, q, p, mean):
        """E[T] + c1 + P(long) c2: the external-cost objective of the paper."""
        s, _ = self.parts(q, p)
        return mean + p.cheap_cost + (1 - s["P"]) * p.expensive_cost


FORMULAS = {
    P.FCFS: _FCFS(), P.PS: _PS(), P.LCFS: _PS(),
    P.SJF: _SJF(), P.PSJF: _PSJF(), P.SRPT: _SRPT(), P.FB: _FB(),
    P.SPJF: _SPJF(), P.PSPJF: _PSPJF(), P.SPRPT: _SPRPT(), P.Trail: _Trail(),
    P.PriorityClasses: _PriorityClasses(), P.OneBit: _OneBit(), P.SkipPredict: _SkipPredict(),
}


def formula_for(policy):
    """The closed form of ``policy``, or raise PolicyError."""
    try:
        return FORMULAS[type(policy)]
    except KeyError:
        raise PolicyError(f"{policy.name} has no closed form; use method='soap' or "
                          "method='simulation'.") from None
