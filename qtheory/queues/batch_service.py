"""The service time S_k of a batch of k jobs (docs/theory/batch.md): its law, the
number of Poisson arrivals during it, its Laplace transform and a sampler; shared by
the chain and root solutions of :class:`qtheory.queues.batch.BatchQueue`."""

import math
import numbers

import numpy as np
import sympy
from scipy import stats

from ..core.errors import ConvergenceError, ParameterError, PolicyError
from ..core.numerics import gauss_pieces
from ..core.params import is_symbolic
from ..laws.convert import as_size_law
from ..laws.sizes import (
    Deterministic,
    Empirical,
    Erlang,
    Exponential,
    Hyperexponential,
)

#: Poisson-mixture probabilities below this are dropped (renormalised).
PMF_FLOOR = 1e-18


class BatchService:
    """The law of S_k in the few forms the exact methods need: moments, the pmf of the
    Poisson arrivals during S_k, the transform E[exp(-s S_k)] and a sampler."""

    def __init__(self, spec, k):
        self.k = k
        if isinstance(spec, (numbers.Real, sympy.Basic)) and not isinstance(spec, bool):
            if not isinstance(spec, sympy.Basic) or not spec.free_symbols:
                v = float(spec)
                if not (v > 0 and math.isfinite(v)):
                    raise ParameterError(f"batch_time({k}) = {spec!r} is invalid: a batch time "
                                         "must be a positive finite number or a size law.")
                spec = v
            self.law, self.value, self.kind = None, spec, "det"
            self.mean, self.m2 = spec, spec * spec
            return
        try:
            law = as_size_law(spec)
        except ParameterError as exc:
            raise ParameterError(f"batch_time({k}) = {spec!r} is invalid: return a positive "
                                 "number (deterministic) or a size law such as "
                                 "qt.Exponential(rate) or a frozen scipy.stats law.") from exc
        self.law = law
        if isinstance(law, Deterministic):
            self.kind, self.value = "det", float(law.value)
            self.mean, self.m2 = self.value, self.value**2
            return
        self.kind = type(law).__name__
        self.mean, self.m2 = law.mean, law.moment(2)
        if not is_symbolic(self.mean, self.m2):
            self.mean, self.m2 = float(self.mean), float(self.m2)
        if not is_symbolic(self.mean) and not self.mean > 0:
            raise ParameterError(f"batch_time({k}) has mean {self.mean}: it must be positive.")

    # -- Poisson(λ S) arrivals during the batch ------------------------------------------
    def arrivals_pmf(self, lam):
        """(lo, p): P(A = lo + j) = p[j] for the arrivals during S_k, tiny tails dropped."""
        if self.kind == "det" or isinstance(self.law, Empirical):
            vals, wts = ((np.array([self.value]), np.array([1.0])) if self.kind == "det"
                         else (self.law.values, self.law.weights))
            mhi = lam * vals.max()
            hi = int(mhi + 12 * math.sqrt(mhi) + 40)
            lo = max(0, int(lam * vals.min() - 12 * math.sqrt(lam * vals.min()) - 40))
            j = np.arange(lo, hi + 1)
            p = (wts[:, None] * stats.poisson.pmf(j[None, :], lam * vals[:, None])).sum(0)
        elif isinstance(self.law, (Exponential, Erlang, Hyperexponential)):
            law = self.law
            if isinstance(law, Hyperexponential):
                probs, rates, shape = law.probs, law.rates, np.ones_like(law.probs)
            else:
                probs = np.array([1.0])
                rates = np.array([float(law.rate)])
                shape = np.array([float(getattr(law, "k", 1))])
            q = rates / (rates + lam)     # A | phase ~ NegBin(shape, q)
            hi = 64
            while True:
                j = np.arange(hi + 1)
                p = (probs[:, None] * stats.nbinom.pmf(j[None, :], shape[:, None],
                                                       q[:, None])).sum(0)
                tail = (probs * stats.nbinom.sf(hi, shape, q)).sum()
                if tail < 1e-17 or hi > 10**7:
                    break
                hi *= 2
            lo = 0
        else:
            p, lo = self._pmf_quadrature(lam)
        keep = np.nonzero(p > PMF_FLOOR)[0]
        p = p[keep[0]:keep[-1] + 1]
        lo += keep[0]
        return lo, p / p.sum()

    def _pmf_quadrature(self, lam):
        law = self.law
        mean, var = lam * self.mean, lam * self.mean + lam**2 * max(self.m2 - self.mean**2, 0)
        hi = int(mean + 14 * math.sqrt(var) + 40)
        sc = float(law.scale)
        lo_s, hi_s = law.support
        cuts = sorted({lo_s, hi_s, *[c for c in (sc * np.array([1e-3, 1e-2, .1, .3, 1, 3, 10,
                                                                30, 100, 1e3]))
                                     if lo_s < c < hi_s]})
        for _ in range(6):
            j = np.arange(hi + 1, dtype=float)

            def fn(t, j=j):
                t = np.asarray(t, float)
                return stats.poisson.pmf(j[:, None], lam * t[None, :]) * law.pdf(t)[None, :]

            p, err = gauss_pieces(fn, cuts)
            if 1 - p.sum() < 1e-10:
                break
            hi *= 2
        if not (abs(1 - p.sum()) < 1e-8 and err.sum() < 1e-8):
            raise ConvergenceError(f"the law of arrivals during batch_time({self.k})",
                                   float(p.sum()), float(max(err.sum(), abs(1 - p.sum()))))
        return np.clip(p, 0, None), 0

    # -- transform: E[exp(-s S)] and E[S exp(-s S)], s complex ---------------------------
    def lst(self, s, deriv=False):
        s = np.asarray(s, complex)
        if self.kind == "det" or isinstance(self.law, Empirical):
            vals, wts = ((np.array([float(self.value)]), np.array([1.0])) if self.kind == "det"
                         else (self.law.values, self.law.weights))
            e = np.exp(-s[..., None] * vals)
            return (wts * (vals * e if deriv else e)).sum(-1)
        law = self.law
        if isinstance(law, (Exponential, Erlang, Hyperexponential)):
            if isinstance(law, Hyperexponential):
                probs, rates, shape = law.probs, law.rates, np.ones_like(law.probs)
            else:
                probs, rates = np.array([1.0]), np.array([float(law.rate)])
                shape = np.array([float(getattr(law, "k", 1))])
            r = rates / (rates + s[..., None])
            val = r**shape if not deriv else shape / (rates + s[..., None]) * r**shape
            return (probs * val).sum(-1)
        raise PolicyError(f"method='roots' needs a batch-time law with a closed-form Laplace "
                          f"transform (Deterministic, Empirical, Exponential, Erlang, "
                          f"Hyperexponential); batch_time({self.k}) is {law!r}: use "
                          "method='chain'.")

    def sampler(self):
        return self.law
