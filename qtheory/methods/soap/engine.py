"""The SOAP theorem for one queue and one policy: the tagged job on top of the
population's threshold functions."""

import numpy as np

from ...core.errors import ConvergenceError, PolicyError
from ...core.numerics import ACCEPT_RTOL, adaptive_gauss
from ...laws.grid import size_cuts
from .envelope import NOISE_EPS, _HFunction, envelope
from .interp import _Interp
from .levels import _piece_values
from .population import Population, _Component

#: Relative accuracy of the tagged job's integral over its size (adaptive Gauss pieces).
TAGGED_RTOL = 1e-11


class Engine(Population):
    """The SOAP theorem for one queue and one policy: the population's threshold
    functions (:class:`Population`) and the tagged job's worst future rank."""

    def rank_values(self):
        """The values the fixed components' ranks take at piece ends (sorted): where the
        population functions may have kinks or jumps."""
        vals = list(self._rank_values.values())
        return np.unique(np.concatenate(vals)) if vals else np.zeros(0)

    def kink_values(self):
        """:meth:`rank_values` and, for components with a size or prediction descriptor,
        the values their ranks take at its lower end (0) and at the policy's thresholds:
        N(r) has a kink where r crosses the rank of the smallest descriptor (SPRPT: no
        new work below rank 0, linear growth above). A rank-space interpolant must be cut
        there: a kink closer to a piece's end than its outermost node is invisible to
        the piece's error estimate."""
        if "kinks" not in self._cache:
            d = np.array([0.0, *self.policy.jumps()])
            vals = [np.zeros(0)]
            for comp in self.components:
                if comp.kind != "fixed":
                    try:
                        vals.append(_piece_values(self.profile(comp, d)))
                    except (ArithmeticError, ValueError, PolicyError):
                        pass  # a user's rank undefined at descriptor 0: no known kinks
            self._cache["kinks"] = np.unique(np.concatenate(vals))
        return np.union1d(self.rank_values(), self._cache["kinks"])

    def _critical(self, pr):
        """Ages where a level-set or suffix-maximum structure can change: piece ends and the
        ages where a rising piece reaches the start or end value of an earlier piece."""
        S, E, C, V, M = (z[:, :, None, None] for z in (pr.S, pr.E, pr.C, pr.V, pr.M))
        with np.errstate(all="ignore"):
            lv = np.stack([pr.V, pr.V + pr.M * (pr.E - pr.S)], -1)[:, None, :, :]
            a = S + (lv - V) / M                                     # (n, p, q, 2)
            Pn = pr.S.shape[1]
            earlier = np.tril(np.ones((Pn, Pn), bool), -1)[None, :, :, None]
            ok = (M > 0) & earlier & (C == pr.C[:, None, :, None]) & (a > S) & (a < E)
        a = np.where(ok, a, np.nan).reshape(pr.S.shape[0], -1)
        a = a[:, ~np.all(np.isnan(a), axis=0)]
        return np.concatenate([pr.breakpoints(), a], axis=1)

    # size-descriptor population: descriptor = x, integrated directly over x
    def _size_nodes(self, comp):
        key = ("snodes", id(comp))
        if key not in self._cache:
            X = self.size
            if X.discrete:
                xs = X.values
                w = X.weights * (1.0 if comp.weight is None else np.asarray(comp.weight(xs), float))
                self._cache[key] = ("discrete", xs, w)
            else:
                cuts = np.array(sorted(set(size_cuts(X)) | set(comp.jumps)))
                self._cache[key] = ("continuous", cuts)
        return self._cache[key]

    # -- the tagged job ---------------------------------------------------------------------
    def tagged_nodes(self, comp):
        """Tagged-job nodes of a component: profile rows, works, weights (32- and 16-point
        rules)."""
        if comp.kind == "fixed":
            tab = self._fixed_table(comp)
            pr = self._fixed_profile(comp)
            w32, g32, w16, g16 = (z[0].ravel() for z in tab.nodes)
            works = np.concatenate([w32, w16])
            return (pr.take(np.zeros(works.size, int)), works,
                    np.concatenate([g32, 0 * g16]), np.concatenate([0 * g32, g16]))
        if comp.kind == "size":
            nodes = self._size_nodes(comp)
            if nodes[0] == "discrete":
                xs, w = nodes[1], nodes[2]
                return self.profile(comp, xs), xs + comp.shift, w, w
            # one table for the size law (fixed-descriptor style) gives the Gauss nodes
            tab = self._table(_Component("fixed", comp.weight, 0.0, jumps=comp.jumps), None)
            w32, g32, w16, g16 = (z[0].ravel() for z in tab.nodes)
            xs = np.concatenate([w32, w16])
            return (self.profile(comp, xs), xs + comp.shift,
                    np.concatenate([g32, 0 * g16]), np.concatenate([0 * g32, g16]))
        fast = self.fast(comp)
        if fast is not None:
            return fast.tagged_nodes()
        g = self._cond_grid(comp)
        tab = g["tab"]
        w32, g32, w16, g16 = tab.nodes
        T = g["ys"].size
        Q32, Q16 = w32.reshape(T, -1).shape[1], w16.reshape(T, -1).shape[1]
        rows = np.repeat(np.arange(T), Q32 + Q16)
        works = np.concatenate([w32.reshape(T, -1), w16.reshape(T, -1)], 1).ravel()
        gx32 = np.concatenate([g32.reshape(T, -1), 0 * g16.reshape(T, -1)], 1)
        gx16 = np.concatenate([0 * g32.reshape(T, -1), g16.reshape(T, -1)], 1)
        # weights: (outer y rule) x (inner x rule); mixed rules give the error estimate
        wa = (gx32 * g["wy"][:, None]).ravel()
        wb = (gx16 * g["wy16"][:, None]).ravel()
        keep = (wa != 0) | (wb != 0)
        return g["pr"].take(rows[keep]), works[keep], wa[keep], wb[keep]

    def prepare(self, envs):
        """Interpolants in r of each component's population functions (N, O0, S), one per
        rank class, over the ranks the tagged jobs need: worth it when each exact value is
        an integral over sizes (continuous predictions on the closed-form path, Gittins
        tables). Each component gets its own: its kinks are its own rank values only,
        while their sum has the kinks of all components (Gittins: one per cell)."""
        tables = self.policy.tabulated
        comps = [c for c in self.components
                 if self.fast(c) is not None or (tables and c.kind == "fixed")]
        if not comps:
            return
        cs, vs = [], []
        for env in envs:
            fl, fc, fv = env["flat"]
            ln, c, a, b, _ = env["slope"]
            cs += [env["r0"][0], fc[fl > 0], c[ln > 0], c[ln > 0]]
            vs += [env["r0"][1], fv[fl > 0], a[ln > 0], b[ln > 0]]
        cs, vs = np.concatenate(cs), np.concatenate(vs)
        keep = np.isfinite(cs) & np.isfinite(vs)
        cs, vs = cs[keep], vs[keep]
        ranges = {}              # class -> its range, quantiles and the sum's magnitude
        for cls in np.unique(cs):
            v = vs[cs == cls]
            if np.unique(v).size > 64:
                qs = np.quantile(v, np.linspace(0, 1, 9))
                total = np.abs(self.exact(np.full(qs.size, cls), qs)).max(1)
                ranges[cls] = (qs[0], qs[-1], qs, total)
        for comp in comps:
            f = self.fast(comp)
            for cls, (lo, hi, quantiles, total) in ranges.items():
                if f is None:
                    special = self._rank_values[id(comp)]
                    cuts = special
                else:
                    co = f.coef
                    special = [co[name][0][(co[name][1] == 0) & np.isfinite(co[name][0])
                                           & (co["C"] == cls)] for name in ("V", "Vend")]
                    special = np.unique(np.concatenate([np.ravel(z) for z in special]))
                    cuts = np.concatenate([co[name][0].ravel() for name in ("V", "Vend")])
                cuts = np.concatenate([[lo, hi], quantiles, cuts])
                cuts = cuts[np.isfinite(cuts) & (cuts >= lo) & (cuts <= hi)]
                # accuracy relative to the whole population: a cell of small mass is
                # not refined down to its own rounding noise
                ip = _Interp(lambda r, cls=cls, comp=comp:
                             self._population(comp, np.full(r.size, cls), r), cuts, nodes=16,
                             scale=total)
                self._interp.setdefault(id(comp), {})[float(cls)] = (ip, special)
                self.errors.append(ip.error)

    def _work_rule(self, comp):
        """The pieces and weight of a component whose tagged jobs are integrated over a
        continuous work (no descriptor, or the size itself): the cuts of its Gauss rule,
        or None (discrete sizes: an exact sum; continuous predictions: the y grid)."""
        if self.size.discrete or comp.kind not in ("fixed", "size"):
            return None
        if comp.kind == "fixed":
            tab = self._fixed_table(comp)
        else:
            tab = self._table(_Component("fixed", comp.weight, 0.0, jumps=comp.jumps), None)
        cuts = np.unique(tab.cuts[0])
        return cuts[cuts >= 0]

    def _tagged_at(self, comp, x, h):
        """E[T] of tagged jobs of component ``comp`` with sizes ``x`` (their work is
        x + shift; their descriptor the size, or the component's fixed one)."""
        if comp.kind == "fixed":
            pr = self._fixed_profile(comp).take(np.zeros(x.size, int))
        else:
            pr = self.profile(comp, x)
        env = envelope(pr, x + comp.shift)
        h.cover([env])
        return self._tagged(env, h)

    def _tagged(self, env, h):
        r0c, r0v = env["r0"]
        Nv, O0, Sv = self.exact(r0c, r0v)
        lam = self.lam
        denom = (1 - lam * O0) * (1 - lam * Nv)
        if np.any(denom <= 0):
            raise PolicyError("the SOAP waiting-time denominator is not positive: the "
                              "queue is unstable for this policy.")
        return lam * Sv / (2 * denom) + h.residence(env)

    def mean(self):
        """(E[T], error). Components with a continuous work integrate the tagged job's
        E[T(x)] by adaptive Gauss pieces: near rho = 1 it peaks where 1 - rho^new is
        small, e.g. for SRPT at the top of a bounded support, in a width 1 - rho
        (Uniform(0, 2) at rho = 0.99999: a fixed rule on [1.97, 2] gave 14762 +- 9.9e3
        for 33335.9)."""
        parts, ends = [], []
        for comp in self.components:
            pr, w, wa, wb = self.tagged_nodes(comp)
            parts.append((comp, envelope(pr, w), wa, wb, self._work_rule(comp)))
            cuts = parts[-1][4]
            if cuts is not None:
                # jobs at the rule's piece ends: the rank ranges refined nodes may need
                x = cuts[np.isfinite(cuts)]
                pe = (self._fixed_profile(comp).take(np.zeros(x.size, int))
                      if comp.kind == "fixed" else self.profile(comp, x))
                ends.append(envelope(pe, x + comp.shift))
        envs = [p[1] for p in parts] + ends
        self.prepare(envs)
        h = _HFunction(self, envs)
        # the tagged values carry rounding amplified by 1 / (1 - rho): no rule can do better
        cond = 1.0 / (1.0 - min(self.lam * float(self.size.mean), 1.0 - 1e-300))
        rtol = max(TAGGED_RTOL, NOISE_EPS * cond)
        total_a = total_b = quad_err = 0.0
        for comp, env, wa, wb, cuts in parts:
            if cuts is None:
                tagged = self._tagged(env, h)
                total_a += float(np.dot(wa, tagged))
                total_b += float(np.dot(wb, tagged))
                continue
            weight = self._weight(comp)

            def fn(x, comp=comp, weight=weight):
                with np.errstate(all="ignore"):
                    g = np.nan_to_num(np.asarray(weight(x), float), nan=0.0, posinf=0.0)
                t = self._tagged_at(comp, x, h)
                return np.where(g == 0, 0.0, g * t)
            v, e = adaptive_gauss(fn, cuts, rtol)
            total_a += float(v)
            total_b += float(v)
            quad_err += float(e)
            if not np.isfinite(v) or e > ACCEPT_RTOL * abs(v):
                raise ConvergenceError("the SOAP engine's integral over the tagged job's size",
                                       float(v), float(e))
        # the residence time integrates h over at most the work: h's error times E[work]
        work = float(self.size.mean) + max((abs(c.shift) for c in self.components), default=0.0)
        err = (abs(total_a - total_b) + quad_err + h.error * work
               + sum(self.errors) * 10 + 4 * NOISE_EPS * cond * abs(total_a))
        return total_a, err
