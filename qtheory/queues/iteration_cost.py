"""The time of one engine iteration as a function of what it holds (MATH.md §9).

    τ = d0 + d_prefill · P + d_decode · n_d + d_kv · K

P prefill tokens, n_d decode sequences (one token each), K KV tokens read (every
sequence's context, prefills included, counted as :class:`qtheory.ContinuousBatching`
counts it: s + j at a request's j-th token). Prefill is compute-bound (a cost per token),
decode memory-bound (the weights once per iteration in d0, the KV per token in d_kv).
``ContinuousBatching``'s iteration d0 + d_tok·(tokens) + d1·(KV) is the case
d_prefill = d_decode = d_tok, d_kv = d1 (:meth:`IterationCost.from_continuous`).

The cost may also be a user function of (P, n_d, K), or a table of measured iteration
times interpolated (:meth:`IterationCost.from_table`).
"""

import math
import numbers

import numpy as np

from ..core.errors import ParameterError
from .llm import GPUS, MODELS, _lookup

__all__ = ["IterationCost"]


def _coef(name, v):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not (0 <= v < math.inf):
        raise ParameterError(f"{name} = {v!r} is invalid: it must be a finite number >= 0 "
                             "(seconds per iteration, token or sequence).")
    return float(v)


class IterationCost:
    """Iteration time τ(P, n_d, K) = d0 + d_prefill P + d_decode n_d + d_kv K.

    Parameters
    ----------
    d0 : float or callable
        Fixed time per iteration (reading the weights). A callable ``f(P, n_d, K)``
        instead gives any cost (it is compiled with numba for the simulator; write it
        with scalar arithmetic); the other coefficients must then be left out.
    d_prefill, d_decode, d_kv : float
        Time per prefill token, per decode sequence and per KV token read.
    max_tokens : int, optional
        The engine's cap on tokens per iteration (``max_num_batched_tokens``); a server's
        own ``max_tokens`` wins if smaller.

    Examples
    --------
    >>> c = IterationCost(0.01, 1e-4, 2e-4, 1e-7)
    >>> round(float(c(512, 0, 512)), 9)          # a 512-token prefill: 0.01 + 0.0512 + 0.0000512
    0.0612512
    >>> round(float(c(0, 32, 32 * 600)), 6)      # 32 decodes over 600-token contexts
    0.01832
    >>> c.linear, IterationCost.from_continuous(0.01, 1e-5, d_tok=1e-6).coefficients
    (True, (0.01, 1e-06, 1e-06, 1e-05))
    """

    def __init__(self, d0=0.0, d_prefill=0.0, d_decode=0.0, d_kv=0.0, max_tokens=None):
        self.fn = None
        self.table = None
        if callable(d0):
            if any(v != 0 for v in (d_prefill, d_decode, d_kv)):
                raise ParameterError("pass either a cost function f(P, n_d, K) or the "
                                     "coefficients d0, d_prefill, d_decode, d_kv, not both.")
            self.fn = d0
            self.d0 = self.d_prefill = self.d_decode = self.d_kv = math.nan
        else:
            self.d0 = _coef("d0", d0)
            self.d_prefill = _coef("d_prefill", d_prefill)
            self.d_decode = _coef("d_decode", d_decode)
            self.d_kv = _coef("d_kv", d_kv)
            if self.d0 == 0 and self.d_prefill == 0 and self.d_decode == 0:
                raise ParameterError("d0, d_prefill and d_decode are all 0: an iteration "
                                     "would take no time; give at least one of them.")
        if max_tokens is not None and (isinstance(max_tokens, bool) or
                                       not isinstance(max_tokens, numbers.Integral) or
                                       max_tokens < 1):
            raise ParameterError(f"max_tokens = {max_tokens!r} is invalid: an integer >= 1.")
        self.max_tokens = max_tokens
        self.source = ""

    # -- constructors ---------------------------------------------------------------
    @classmethod
    def from_continuous(cls, d0, d1, d_tok=0.0):
        """ContinuousBatching's iteration d0 + d_tok·(tokens) + d1·(KV): one per-token cost
        for prefill and decode tokens (d_prefill = d_decode = d_tok, d_kv = d1)."""
        return cls(d0, d_tok, d_tok, d1)

    @classmethod
    def from_table(cls, prefill, decode, kv, times, max_tokens=None):
        """Measured iteration times on a grid, interpolated (trilinear; linear
        extrapolation beyond the grid, so a table of a linear cost reproduces it).

        Parameters
        ----------
        prefill, decode, kv : 1-d arrays
            Increasing grid points of P, n_d and K (one point: the time does not depend
            on that quantity).
        times : array of shape (len(prefill), len(decode), len(kv))
            Measured iteration times in seconds.

        Examples
        --------
        >>> P, n = [0, 512, 2048], [0, 64]
        >>> t = [[[0.01 + 1e-4 * p + 2e-4 * d] for d in n] for p in P]
        >>> c = IterationCost.from_table(P, n, [0], t)
        >>> round(c(1024, 32, 5000), 9), c.linear
        (0.1188, False)
        """
        axes = []
        for name, a in (("prefill", prefill), ("decode", decode), ("kv", kv)):
            a = np.asarray(a, float).ravel()
            if a.size < 1 or not np.all(np.isfinite(a)) or np.any(np.diff(a) <= 0):
                raise ParameterError(f"{name} = {a!r} is invalid: give increasing finite grid "
                                     "points (at least one).")
            axes.append(a)
        t = np.asarray(times, float)
        shape = tuple(a.size for a in axes)
        if t.shape != shape:
            raise ParameterError(f"times has shape {t.shape}, expected {shape} "
                                 "(len(prefill), len(decode), len(kv)).")
        if not np.all(np.isfinite(t)) or np.any(t <= 0):
            raise ParameterError("times must be positive finite iteration times (seconds).")
        c = cls(1.0, max_tokens=max_tokens)
        c.d0 = c.d_prefill = c.d_decode = c.d_kv = math.nan
        c.table = (axes[0], axes[1], axes[2], np.ascontiguousarray(t))
        return c

    @classmethod
    def roofline(cls, model, gpu, efficiency=1.0, num_gpus=1, weight_bytes=2, kv_bytes=2,
                 decode_overhead=0.0, max_tokens=None):
        """Coefficients from public specs (a roofline *sum*, an upper estimate of the
        roofline max, with every term at its peak rate times ``efficiency``):

        * d0 = parameters × weight_bytes / bandwidth — every iteration reads the weights;
        * d_prefill = 2 × parameters / FLOP/s — a token's matrix products (2 FLOPs per
          parameter, Kaplan et al. 2020 §2.1);
        * d_decode = 2 × parameters / FLOP/s + ``decode_overhead`` — a decode sequence
          is one more token through the same products; the per-sequence rest (sampling,
          attention kernel launches, scheduler) is not in any datasheet: it is 0 unless
          you give it, fitted from a profile;
        * d_kv = KV bytes per token / bandwidth — attention reads each context token's
          K and V once per iteration (:meth:`ModelShape.kv_bytes_per_token`).

        ``efficiency`` scales the peaks: a number, or (FLOP efficiency, bandwidth
        efficiency); 1.0 is the datasheet roofline (a lower bound on real times; engines
        reach roughly 50–70 % of peak FLOP/s in prefill and 70–90 % of bandwidth in
        decode). Tensor parallelism over ``num_gpus`` divides all four terms.

        Examples
        --------
        >>> c = IterationCost.roofline("Llama-3-8B", "A100-80GB")
        >>> round(c.d0 * 1e3, 4), round(c.d_prefill * 1e6, 4), round(c.d_kv * 1e9, 3)
        (7.8764, 51.4744, 64.282)
        """
        m = _lookup(MODELS, model, "model")
        g = _lookup(GPUS, gpu, "gpu")
        if g.bandwidth is None or g.flops is None:
            raise ParameterError(f"gpu = {g.name!r} has no bandwidth/FLOP/s in the presets: "
                                 "pass qt.GPU(name, memory_bytes, bandwidth, flops).")
        if isinstance(efficiency, (tuple, list)):
            ef, eb = (float(e) for e in efficiency)
        else:
            ef = eb = float(efficiency)
        for name, e in (("efficiency (FLOP/s)", ef), ("efficiency (bandwidth)", eb)):
            if not (0 < e <= 1):
                raise ParameterError(f"{name} = {e!r} is invalid: it must be in (0, 1].")
        if not (isinstance(num_gpus, int) and num_gpus >= 1):
            raise ParameterError(f"num_gpus = {num_gpus!r} is invalid: an integer >= 1.")
        bw, fl = g.bandwidth * eb * num_gpus, g.flops * ef * num_gpus
        per_token = 2 * m.parameters / fl
        c = cls(m.parameters * weight_bytes / bw, per_token,
                per_token + _coef("decode_overhead", decode_overhead),
                m.kv_bytes_per_token(kv_bytes) / bw, max_tokens=max_tokens)
        c.source = (f"roofline: {m.name} ({m.source}) on {num_gpus} x {g.name} ({g.source}), "
                    f"efficiency {ef:g}/{eb:g}")
        return c

    # -- evaluation -------------------------------------------------------------------
    @property
    def linear(self) -> bool:
        """True for the linear form (the analysis needs it)."""
        return self.fn is None and self.table is None

    @property
    def coefficients(self):
        """(d0, d_prefill, d_decode, d_kv)."""
        return (self.d0, self.d_prefill, self.d_decode, self.d_kv)

    def __call__(self, prefill_tokens, decode_seqs, kv_tokens):
        if self.fn is not None:
            return self.fn(prefill_tokens, decode_seqs, kv_tokens)
        if self.table is not None:
            from ..methods.sim.llm_sched import interp3
            f = np.vectorize(lambda p, d, k: interp3(float(p), float(d), float(k),
                                                     *self.table))
            out = f(prefill_tokens, decode_seqs, kv_tokens)
            return float(out) if np.ndim(out) == 0 else out
        return (self.d0 + self.d_prefill * np.asarray(prefill_tokens) + self.d_decode *
                np.asarray(decode_seqs) + self.d_kv * np.asarray(kv_tokens))[()] * 1.0

    def kernel_args(self):
        """(kind, coefficient array, table axes and values, compiled function or None) for
        the simulator."""
        empty1, empty3 = np.zeros(1), np.zeros((1, 1, 1))
        if self.table is not None:
            return 1, np.zeros(4), *self.table, None
        cp = np.array(self.coefficients if self.linear else (0, 0, 0, 0), float)
        fn = None
        if self.fn is not None:
            from numba import njit
            from numba.core.registry import CPUDispatcher
            fn = self.fn if isinstance(self.fn, CPUDispatcher) else njit(self.fn)
            self.fn = fn
        return 0, cp, empty1, empty1, empty1, empty3, fn

    def __repr__(self):
        if self.fn is not None:
            return f"IterationCost({getattr(self.fn, '__name__', 'f')})"
        if self.table is not None:
            return "IterationCost.from_table({}x{}x{})".format(*self.table[3].shape)
        return (f"IterationCost(d0={self.d0:.6g}, d_prefill={self.d_prefill:.6g}, "
                f"d_decode={self.d_decode:.6g}, d_kv={self.d_kv:.6g})")
