"""The joint law of (size X, prediction Y): the loads and moments the formulas need.

Notation of docs/theory: rho'_y = lambda E[X 1{Y < y}] is the load of jobs predicted below y.
Every quantity is an integral over x against the size law; for one y they are all
computed in one vectorised pass (Gauss-Legendre pieces with an error estimate, split at
the size law's breakpoints, at the prediction model's kinks for this y and on a
quantile grid, then bisected where the estimate is not tight), falling back to scalar
adaptive quadrature only when that stalls.

With ``Perfect()`` predictions (Y = X) everything reduces to the size law's partial
moments, and sums over atoms for discrete laws are exact.
"""

import math
import threading
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

from ..core.numerics import adaptive_gauss, integrate
from .predictions import Perfect

#: Relative accuracy the vectorised inner integrals must reach before falling back.
INNER_RTOL = 1e-11
#: Relative error accepted, and carried into the reported bound, when refining stalls.
LOOSE_RTOL = 1e-9


@lru_cache(maxsize=64)
def joint_law(size, prediction=None):
    """The (shared, cached) joint law of a size law and a prediction model: queues that
    differ only in their arrival rate reuse each other's inner integrals."""
    return JointLaw(size, prediction)


def quantile_grid(size):
    """Cut points at quantiles F^-1(16^-k) and F^-1(1 - 8^-k): pieces that hold
    comparable probability, so Gauss rules see smooth, well-scaled integrands whatever
    the law's head and tail look like.

    Each quantile is bracketed on a log-spaced grid and then bisected on the law's own
    cdf: a law whose mass sits in a sliver narrower than the grid's spacing (a bounded
    Pareto with alpha = 1e4 holds 1 - 1e-6 of its mass within 0.15 % of its low end; the
    grid's spacing is 1.2 %) still gets its cuts inside the sliver.

    Examples
    --------
    >>> import qtheory as qt
    >>> cuts = quantile_grid(qt.BoundedPareto(1e4, 1.0, 10.0))
    >>> 1.0 < cuts[0] < cuts[-1] < 1.004       # all inside the sliver
    True
    """
    lo, hi = size.support
    x = size.scale * np.logspace(-24, 8, 6000)
    x = np.concatenate([[lo], x[(x > lo) & (x < hi)], [hi]])
    x = x[np.isfinite(x)]
    with np.errstate(divide="ignore"):
        head = _bisect_levels(lambda u: np.log(np.asarray(size.cdf(u), float)), x,
                              -np.arange(1, 15) * np.log(16.0))
        tail = _bisect_levels(lambda u: -np.log(np.asarray(size.sf(u), float)), x,
                              np.arange(1, 19) * np.log(8.0))
    pts = np.concatenate([head, tail, [size.scale]])
    # a cut within a few ulps of an end (a quantile of 1e-45 above loc = 0.24) leaves a
    # piece whose Gauss nodes round onto the end, where a density may be infinite
    near_lo = 1024 * np.spacing(abs(lo))
    near_hi = 1024 * np.spacing(abs(hi)) if math.isfinite(hi) else 0.0
    return sorted(set(float(p) for p in pts[np.isfinite(pts)]
                      if p - lo > near_lo and hi - p > near_hi))


def _bisect_levels(g, x, levels, steps=64):
    """Points where the nondecreasing ``g`` crosses each of ``levels``: bracketed on the
    grid ``x``, then bisected (levels outside g's range on the grid give NaN)."""
    gx = np.maximum.accumulate(np.nan_to_num(g(x), nan=-np.inf, posinf=np.inf))
    i = np.searchsorted(gx, levels)
    ok = (i > 0) & (i < x.size)
    a, b = x[np.where(ok, i - 1, 0)], x[np.where(ok, i, 0)]
    for _ in range(steps):
        m = 0.5 * (a + b)
        below = g(m) < levels
        a, b = np.where(below, m, a), np.where(below, b, m)
        if np.all(b - a <= 1e-15 * np.abs(b)):
            break
    return np.where(ok, b, np.nan)


class JointLaw:
    """The law of (X, Y) for a size law and a prediction model (None means Perfect).

    With ``weight`` w(x), every expectation carries the factor w(X): a sub-population
    such as the jobs a cheap one-bit predictor calls long (w = P(long | x)); its jumps,
    if any, go in ``weight_points``.
    """

    def __init__(self, size, prediction=None, weight=None, weight_points=()):
        self.size = size
        self.weight, self._weight_points = weight, tuple(weight_points)
        self.prediction = Perfect() if prediction is None else prediction
        self.perfect = isinstance(self.prediction, Perfect)
        # each cached value keeps its own relative error; a computation collects the
        # errors of the values it reads (tracking), so a cache hit reports what a miss did
        self._bundle = lru_cache(maxsize=4096)(self._bundle_uncached)
        self._local = threading.local()
        s = size.scale
        # the tail rows P(Y - X >= y) and P(Y > y) are small exactly where the integrals
        # over y need them, far out (P(Y > y) as 1 - P(Y <= y) was round-off there, and
        # SPRPT's residence integral subdivided for minutes): they are judged relative to
        # themselves down to 1e-6, an absolute 1e-17 that stays below the outer tolerance
        # even over the y ~ 1e6 a lognormal prediction's tail reaches (a floor of 1e-12
        # refined tails of 1e-20 for a minute on UniformNoise, to no effect on E[T])
        self._scales = np.array([1.0, s, s * s, 1 / s, 1.0, s * s, 1e-6, 1e-6])
        self._grid = [] if size.discrete else quantile_grid(size)
        self.mass = 1.0 if weight is None else float(self.inner(lambda x: 1.0 + 0 * x))
        self._closed = self.perfect and weight is None  # size-law partial moments suffice

    # -- error accounting ---------------------------------------------------------------
    @contextmanager
    def tracking(self):
        """Collect, for one computation in this thread, the largest relative error of the
        inner integrals it reads (cached or not): ``with joint.tracking() as t: ...``,
        then ``t.max_rel_error``.

        Examples
        --------
        >>> import qtheory as qt
        >>> J = JointLaw(qt.Exponential(1.0), qt.ExpNoise())
        >>> with J.tracking() as first:
        ...     _ = J.below(1, 0.5)
        >>> with J.tracking() as again:       # now from the cache: the same error
        ...     _ = J.below(1, 0.5)
        >>> first.max_rel_error == again.max_rel_error > 0
        True
        """
        stack = self._local.__dict__.setdefault("stack", [])
        t = _Tracker()
        stack.append(t)
        try:
            yield t
        finally:
            stack.remove(t)

    def _note(self, rel_error):
        for t in getattr(self._local, "stack", ()):
            t.max_rel_error = max(t.max_rel_error, rel_error)

    # -- integrating over x ------------------------------------------------------------
    def inner(self, fn, points=(), scales=1.0):
        """E[fn(X)] for a vectorised ``fn`` (it may return several rows at once).

        ``scales`` gives each row's natural size: an error is judged relative to the
        larger of the row's value and its scale."""
        vals, rel_error = self._inner(fn, points, scales)
        self._note(rel_error)
        return vals

    def _inner(self, fn, points=(), scales=1.0):
        """:meth:`inner` and its largest relative error."""
        X, w = self.size, self.weight
        if w is not None:
            fn = (lambda f: lambda x: f(x) * w(x))(fn)
            points = (*points, *self._weight_points)
        if X.discrete:
            vals = np.asarray(fn(X.values), float)
            return vals @ X.weights, 0.0
        lo, hi = X.support
        top = self._grid[-1] if self._grid else hi  # beyond it the law has no mass left
        cuts = sorted({lo, hi, *self._grid, *X.breakpoints,
                       *(p for p in points if lo < p < top)})
        vals, err = adaptive_gauss(lambda x: fn(x) * X.pdf(x), cuts, INNER_RTOL, scales)
        # Refinement stalls where round-off in a closed-form integrand, not the rule, sets
        # the error (far tails): keep the value and carry its error into the bound.
        scale = np.maximum(np.abs(vals), scales)
        if np.all(err <= LOOSE_RTOL * scale):
            return vals, float(np.max(err / scale))
        # still not tight: adaptive quadrature for the rows that need it
        rows = np.atleast_1d(vals).size
        out = np.array(np.atleast_1d(vals), float)
        worst = float(np.max(np.where(err <= LOOSE_RTOL * scale, err / scale, 0.0)))
        row_scales = np.broadcast_to(scale, (rows,))
        for r in np.flatnonzero(np.atleast_1d(err) > LOOSE_RTOL * row_scales):
            v, e = X.expect(lambda x, r=r: np.reshape(fn(np.atleast_1d(x)), (rows, -1))[r, 0],
                            points=points, atol=1e-3 * INNER_RTOL * float(row_scales[r]))
            worst = max(worst, e / float(row_scales[r]))
            out[r] = v
        return (out if np.ndim(vals) else float(out[0])), worst

    def _points(self, y):
        return (*(y * 4.0 ** np.arange(-3, 3)), *self.prediction.kinks(y)) if y > 0 else ()

    def _bundle_uncached(self, y):
        """(E[1{Y<y}], E[X 1{Y<y}], E[X^2 1{Y<y}], f_Y(y), E[X; Y in dy]/dy, old work,
        P(Y - X >= y), P(Y > y)); the last straight from the tail, not as 1 - P(Y <= y)."""
        h = self.prediction
        if self._closed:
            X = self.size
            return tuple(float(X.partial_moment(k, y, strict=True)) for k in range(3)) + (
                math.nan, math.nan, float(y * y * X.sf(y)), 0.0, float(X.sf(y))), 0.0
        if self.perfect:
            def rows(x):
                lt, gt, z = (x < y) * 1.0, (x > y) * 1.0, 0.0 * x
                return np.vstack([lt, x * lt, x * x * lt, z, z, y * y * gt, z, gt])
            vals, e = self._inner(rows, (y,), self._scales)
            return tuple(float(v) for v in vals), e

        def rows(x):
            cdf, pdf = h.cdf(y, x), h.pdf(y, x)
            return np.vstack([cdf, x * cdf, x * x * cdf, pdf, x * pdf, h.excess_square(x, y),
                              h.exceed_prob(x, y), h.sf(y, x)])
        vals, e = self._inner(rows, self._points(y), self._scales)
        return tuple(float(v) for v in vals), e

    def _values(self, y):
        """The cached bundle at y, its error noted for the computations tracking it."""
        vals, e = self._bundle(float(y))
        self._note(e)
        return vals

    # -- named quantities ------------------------------------------------------------------
    def below(self, k, y):
        """E[X^k 1{Y < y}]."""
        return self._values(y)[k] if y > 0 else 0.0

    def below_incl(self, k, y):
        """E[X^k 1{Y <= y}] (differs from ``below`` only at atoms of Y)."""
        if self._closed:
            return float(self.size.partial_moment(k, y))
        if self.perfect:
            return float(self.inner(lambda x: x**k * (x <= y), (y,)))
        return self.below(k, y)

    def density(self, k, y):
        """d/dy E[X^k 1{Y < y}] = integral of x^k f(x) h(y|x) dx (continuous Y only)."""
        return self._values(y)[3 + k]

    def old_work(self, y):
        """E[((X - (Y - y))^+)^2 1{Y > y}]: SPRPT's old work above y."""
        return self._values(y)[5]

    def above(self, y):
        """P(Y > y) (times the weight, if any), computed as a tail: accurate relative to
        itself far out in y, where mass - P(Y <= y) is round-off (on a hyperexponential
        law with lognormal predictions that noise kept SPRPT's residence integral
        subdividing for minutes)."""
        if y <= 0:
            return self.mass - self.below_incl(0, y)
        return self._values(y)[7]

    def limited_old_work(self, y, c):
        """E[((X - min(Y - y, cY))^+)^2 1{Y > y}] (Trail's old work)."""
        if self._closed:
            # Y = X: a job of size x > y stops being preemptible at age min(x - y, cx),
            # leaving y for x <= s = y / (1 - c) and (1 - c) x beyond s
            X = self.size
            if c >= 1:
                return float(y * y * X.sf(y))
            s = y / (1 - c)
            return float(y * y * (X.cdf(s) - X.cdf(y))
                         + (1 - c) ** 2 * (X.moment(2) - X.partial_moment(2, s)))
        if self.perfect:  # Y = X: the work left at the last preemptible age
            return float(self.inner(lambda x: (x > y) * (x - np.minimum(x - y, c * x)) ** 2,
                                    (y,)))
        cut = self._points(y / (1 - c)) if c < 1 else ()
        return float(self.inner(lambda x: self.prediction.limited_square(x, y, c),
                                self._points(y) + cut))

    def exceed(self, z, c=1.0):
        """P(Y - min(X, cY) >= z) for z > 0: the job's prediction is at least z above
        the age at which it stops being preemptible."""
        h = self.prediction
        if self.perfect and c >= 1:
            return 0.0
        if self._closed:  # Y = X: P((1 - c) X >= z)
            return 1.0 - float(self.size.partial_moment(0, z / (1 - c), strict=True))
        if self.perfect:
            return float(self.inner(lambda x: (x >= z / (1 - c)) * 1.0, (z / (1 - c),)))
        if c >= 1:
            return self._values(z)[6]
        stop = z / (1 - c)
        return float(self.inner(lambda x: h.sf(np.minimum(stop, x + z), x),
                                (*self._points(z), *self._points(stop), stop - z),
                                self._scales[7]))

    def overshoot(self, c=1.0):
        """E[(X - cY)^+]: service after the last preemptible age."""
        h = self.prediction
        if self._closed:
            return (1 - c) * float(self.size.mean)
        if self.perfect or c == 0:
            return (1 - c) * float(self.inner(lambda x: x))
        if c >= 1:
            return float(self.inner(h.overshoot))

        def rows(x):
            m0, m1, _ = h.partial_moments(x, 0.0, x / c)
            return x * m0 - c * m1
        return float(self.inner(rows))

    # -- integrating over y ------------------------------------------------------------------
    def y_points(self):
        """Where quadrature in y splits: where functions of y (loads, moments and
        probabilities below or above y) may have kinks, i.e. the predictions of the
        sizes at which the size density jumps or ends and of the weight's jumps; and,
        when the size law reaches beyond 100 times its scale, a point every factor of 100
        up to its top (its last split point), as a prediction is of the order of the
        size. QUADPACK's error estimate is not to be trusted across a kink nor over a
        piece spanning many decades: on a bounded Pareto law the SPRPT residence was off
        by 1e-10 while estimating 1e-12."""
        X = self.size
        xs = [x for x in (*X.support, *X.breakpoints, *self._weight_points)
              if 0 < x < math.inf]
        s, top = X.scale, max(X.split_points, default=X.scale)
        ladder = [s * 100.0 ** k for k in range(1, 16) if s * 100.0 ** k < top]
        ladder += [top] if ladder else []
        # atoms far below the scale put spikes of Y's density near them (predictions of
        # the order of the size), narrower than QUADPACK's first nodes on [0, scale]: a
        # ladder of points, a factor of about 3 apart, over the predictions of each decade
        # they occupy (sizes {1e-6, 27, 89} under ExpNoise: SPRPT was 49.155 for 50.166)
        if X.discrete:
            v = np.asarray(X.values, float)
            v = v[(v > 0) & (v < 1e-2 * s)]
            for d in np.unique(np.floor(np.log10(v))) if v.size else ():
                # Y | x spreads over about x 1e-2 ... x 1e3 (ExpNoise, LognormalNoise)
                ladder += [f * 10.0 ** (d + j) for j in range(-2, 4) for f in (1.0, 3.0)]
        return sorted({s, *ladder, *(float(y) for y in self.prediction.y_kinks(xs))})

    def expect_y(self, fn, k=0, what="an expectation over predictions"):
        """E[X^k fn(Y)] as ``(value, error)``."""
        if self.perfect:
            w = self.weight or (lambda x: 1.0)
            return self.size.expect(lambda x: x**k * fn(x) * w(x), points=self._weight_points,
                                    what=what)
        return integrate(lambda y: fn(y) * self.density(k, y), 0.0, math.inf,
                         self.y_points(), what=what)


class _Tracker:
    """The largest relative error of the inner integrals one computation read."""

    def __init__(self):
        self.max_rel_error = 0.0
