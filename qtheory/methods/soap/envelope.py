"""Suffix maxima of rank profiles (the tagged job's worst future rank) and its residence time."""

import numpy as np
from numba import njit

from .interp import _Interp
from .levels import distinct_ranks
from .rules import INF

#: Relative rounding noise of an exact population value N(r) (sums of Gauss terms):
#: the floor of what an interpolant of 1 / (1 - lambda N) can resolve, times h_max.
NOISE_EPS = 1e-15


@njit(cache=True, nogil=True)
def _suffix_max(S, E, C, V, M, w, mc, mv, flat_len, flat_c, flat_v, sl_len, sl_to):
    """The loop of :func:`envelope`, row by row from the last piece back (compiled: the
    rows are independent and each step is a handful of scalar comparisons)."""
    K, Pn = S.shape
    for k in range(K):
        c_max, v_max, seen = -INF, -INF, False
        for p in range(Pn - 1, -1, -1):
            s, c, v, m = S[k, p], C[k, p], V[k, p], M[k, p]
            sl_to[k, p] = v
            if not s < w[k]:           # inactive (beyond the work, or a padded piece)
                flat_c[k, p], flat_v[k, p] = c_max, v_max
                continue
            t = min(E[k, p], w[k])
            length = max(t - s, 0.0)
            vend = v + m * (t - s) if m != 0 else v
            top = vend if m > 0 else v             # the piece's maximum on [s, t)
            if seen and (c_max > c or (c_max == c and v_max > top)):
                kc, kv = c_max, v_max
            else:
                kc, kv = c, top
            if m < 0:
                # sloped from v down to max(vend, running max) while above it, then flat
                above = not seen or c > c_max or (c == c_max and vend >= v_max)
                below = c < c_max or (c == c_max and v <= v_max)
                if above:
                    sl_len[k, p], sl_to[k, p] = length, vend
                elif below:
                    flat_len[k, p] = length
                else:                               # crosses the running maximum
                    ac = s + (v - v_max) / -m
                    sl_len[k, p], sl_to[k, p] = ac - s, v_max
                    flat_len[k, p] = length - (ac - s)
                flat_c[k, p], flat_v[k, p] = c_max, v_max
            else:                                   # flat at max(running max, top)
                flat_len[k, p] = length
                flat_c[k, p], flat_v[k, p] = kc, kv
            c_max, v_max, seen = kc, kv, True
        mc[k], mv[k] = c_max, v_max


def envelope(pr, w):
    """Suffix maximum r_worst(a) = sup_{a <= b < w} r(b) of each profile row on [0, w):
    per piece a sloped part (following the rank) and a flat part (an earlier maximum).
    Returns a dict with ``r0`` = r_worst(0) and the parts."""
    S, E, C, V, M = (np.ascontiguousarray(z, float) for z in (pr.S, pr.E, pr.C, pr.V, pr.M))
    K, Pn = S.shape
    w = np.ascontiguousarray(np.broadcast_to(np.asarray(w, float), (K,)))
    mc, mv = np.empty(K), np.empty(K)
    flat_len, flat_c, flat_v = np.zeros((K, Pn)), np.empty((K, Pn)), np.empty((K, Pn))
    sl_len, sl_to = np.zeros((K, Pn)), np.empty((K, Pn))
    _suffix_max(S, E, C, V, M, w, mc, mv, flat_len, flat_c, flat_v, sl_len, sl_to)
    return dict(r0=(mc, mv), flat=(flat_len, flat_c, flat_v),
                slope=(sl_len, C, V, sl_to, np.abs(M)))


class _HFunction:
    """h(r) = 1 / (1 - lambda N(r)) at the flat levels (exactly) and its integrals over the
    sloped rank ranges (from an adaptive piecewise-Legendre interpolant per class)."""

    def __init__(self, eng, envs):
        self.eng, self.lam = eng, eng.lam
        self.interp, self.ranges, self._errors = {}, {}, {}
        self.cover(envs)

    @property
    def error(self):
        """A bound on |h - interpolant| over every rank (summed over the classes): the
        residence time, an integral of h over at most the work, is off by at most this
        times the work."""
        return float(sum(self._errors.values()))

    @staticmethod
    def _ranges(envs, ranges):
        """Per rank class: the range the sloped parts of ``envs`` span (merged into
        ``ranges``, a dict class -> (lo, hi, points))."""
        for env in envs:
            ln, c, a, b, _ = env["slope"]
            use = ln > 0
            for cls in np.unique(c[use]):
                sel = use & (c == cls)
                lo = float(np.min(np.minimum(a[sel], b[sel])))
                hi = float(np.max(np.maximum(a[sel], b[sel])))
                pts = np.concatenate([a[sel], b[sel]])
                old = ranges.get(cls)
                ranges[cls] = (min(lo, old[0]), max(hi, old[1]), np.concatenate([old[2], pts])) \
                    if old else (lo, hi, pts)
        return ranges

    def cover(self, envs):
        """Make the interpolants span the sloped rank ranges of ``envs`` too: a class
        whose range grows is rebuilt over the union (tagged jobs added after the first
        build, by adaptive refinement, must not read an interpolant past its end)."""
        new = self._ranges(envs, {})

        def beyond(cls, lo, hi):   # past the built range by more than its rounding
            if cls not in self.ranges:
                return True
            olo, ohi = self.ranges[cls][:2]
            slack = 1e-12 * max(ohi - olo, abs(olo), abs(ohi))
            return lo < olo - slack or hi > ohi + slack
        grow = [cls for cls, (lo, hi, _) in new.items() if beyond(cls, lo, hi)]
        if not grow:
            return
        for cls in grow:
            lo, hi, pts = new[cls]
            if cls in self.ranges:
                olo, ohi, opts = self.ranges[cls]
                lo, hi, pts = min(lo, olo), max(hi, ohi), np.concatenate([opts, pts])
            self.ranges[cls] = (lo, hi, pts)
            self.interp[cls], self._errors[cls] = self._build(cls, lo, hi, pts)

    def h(self, c, v):
        N = self.eng.exact(c, v)[0]
        return 1.0 / (1.0 - self.lam * N)

    def _build(self, cls, lo, hi, pts):
        if not hi > lo:
            return None, 0.0
        q = np.quantile(pts, np.linspace(0, 1, 17))
        kinks = self.eng.kink_values()
        cuts = np.unique(np.concatenate([[lo, hi], q, kinks[(kinks > lo) & (kinks < hi)]]))
        # h = 1 / (1 - lambda N) carries N's rounding amplified by lambda N h: relative to
        # the largest h its noise is about eps h_max. Near rho = 1 (h_max = 1e5 at
        # rho = 0.99999) that is above INTERP_RTOL, and pieces were halved down to 1e-12
        # of the range chasing noise (SRPT on Exp(1) at rho = 0.99999: > 200 s)
        ip = _Interp(lambda r: self.h(np.full(r.size, cls), r)[None], cuts,
                     nodes=32 if cuts.size < 64 else 16, noise=NOISE_EPS)
        # ip.error is relative to the largest |h|
        return ip, ip.error * ip.scale

    def integral(self, cls, r):
        """int_{lo}^{r} h, for ranks r of class ``cls``."""
        return self.interp[cls].integral(r)[0]

    def at(self, c, v):
        """h at many levels (c, v): from the interpolants where they cover them, away from
        the rank values where N may jump; exactly elsewhere or when the levels are few."""
        (c, v), inv = distinct_ranks(c, v)
        return self._at(c, v)[inv]

    def _at(self, c, v):
        out = np.empty(v.shape)
        todo = np.ones(v.shape, bool)
        if np.unique(v).size > 256:
            jumps = self.eng.kink_values()
            for cls, ip in self.interp.items():
                if ip is not None:
                    sel = (c == cls) & (v > ip.lo) & (v < ip.hi) & ~np.isin(v, jumps)
                    out[sel] = ip(v[sel])[0]
                    todo &= ~sel
        if todo.any():
            out[todo] = self.h(c[todo], v[todo])
        return out

    def residence(self, env):
        fl, fc, fv = env["flat"]
        use = fl > 0
        res = np.zeros(fl.shape[0])
        if use.any():
            hv = self.at(fc[use], fv[use])
            tmp = np.zeros(fl.shape)
            tmp[use] = hv * fl[use]
            res += tmp.sum(1)
        ln, c, a, b, m = env["slope"]
        use = ln > 0
        if use.any():
            tmp = np.zeros(ln.shape)
            for cls in np.unique(c[use]):
                sel = use & (c == cls)
                tmp[sel] = (self.integral(cls, a[sel]) - self.integral(cls, b[sel])) / m[sel]
            res += tmp.sum(1)
        return res
