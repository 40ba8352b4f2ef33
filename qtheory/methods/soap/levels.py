"""Level sets {a : r(a) <= r} of linear rank pieces, and the new and old work of a job at a threshold rank (SOAP paper, section 5)."""

import numpy as np

from .rules import INF


def _piece_values(pr):
    """The finite values a profile's rank takes at its piece ends (sorted, distinct)."""
    with np.errstate(invalid="ignore"):
        ends = pr.V + pr.M * (pr.E - pr.S)
    vals = np.concatenate([pr.V.ravel(), ends.ravel()])
    return np.unique(vals[np.isfinite(vals)])


def levels(pr, rc, rv):
    """Level sets of profiles ``pr`` (K rows) at thresholds (rc, rv) (K,).

    Returns ``n`` = inf{a : r(a) >= r}, ``c0`` = inf{a : r(a) > r}, the maximal intervals
    [B, C) of {a : r(a) <= r} (arrays (K, P), NaN where unused) and a signature (K, P)
    of integer codes that is constant while the structure of the level sets is.
    """
    S, E, C, V, M = pr.S, pr.E, pr.C, pr.V, pr.M
    rc, rv = np.asarray(rc, float)[:, None], np.asarray(rv, float)[:, None]
    lt, gt = C < rc, C > rc
    eq = ~lt & ~gt
    point = E == S
    with np.errstate(invalid="ignore", divide="ignore"):
        dec, inc = eq & (M < 0) & ~point, eq & (M > 0) & ~point
        flat = eq & ~dec & ~inc
        astar = np.where(dec, S + (V - rv) / np.where(dec, -M, 1.0),
                         np.where(inc, S + (rv - V) / np.where(inc, M, 1.0), np.nan))
        # {r(a) >= r}: its first age; {r(a) > r}: its first age
        g_first = np.where(gt | (flat & (V >= rv)) | (dec & (V >= rv)), S,
                           np.where(inc & (astar < E), np.maximum(S, astar), INF))
        gs_first = np.where(gt | (flat & (V > rv)) | (dec & (V > rv)), S,
                            np.where(inc & (astar < E), np.maximum(S, astar), INF))
        # {r(a) <= r} within the piece: [lo, hi)
        in_l = lt | (flat & (V <= rv)) | (dec & (astar < E)) | (inc & (V <= rv))
        lo = np.where(dec, np.maximum(S, astar), S)
        hi = np.where(inc, np.minimum(astar, E), E)
        starts = lt | flat | (dec & (astar <= S)) | inc
        ends = lt | flat | dec | (inc & (astar >= E))
    n = g_first.min(axis=1)
    c0 = gs_first.min(axis=1)
    K, Pn = S.shape
    B = np.full((K, Pn), np.nan)
    Cr = np.full((K, Pn), np.nan)
    open_ = np.zeros(K, bool)
    cur_b = np.zeros(K)
    cur_c = np.zeros(K)
    slot = np.zeros(K, int)
    rows = np.arange(K)
    for p in range(Pn):
        il = in_l[:, p]
        connect = open_ & il & starts[:, p]
        close = open_ & ~connect
        B[rows[close], slot[close]] = cur_b[close]
        Cr[rows[close], slot[close]] = cur_c[close]
        slot = slot + close
        new = il & ~connect
        cur_b = np.where(new, lo[:, p], cur_b)
        cur_c = np.where(il, hi[:, p], cur_c)
        open_ = il & ends[:, p]
        # a run that does not reach the end of its piece closes here
        shut = il & ~ends[:, p]
        B[rows[shut], slot[shut]] = cur_b[shut]
        Cr[rows[shut], slot[shut]] = cur_c[shut]
        slot = slot + shut
    B[rows[open_], slot[open_]] = cur_b[open_]
    Cr[rows[open_], slot[open_]] = cur_c[open_]
    with np.errstate(invalid="ignore"):
        pos = np.where(dec | inc, np.select([astar < S, astar == S, astar < E, astar == E],
                                            [0, 1, 2, 3], 4), np.sign(V - rv) + 6)
    sig = np.where(lt, 10, np.where(gt, 20, 30 + np.nan_to_num(pos, nan=9))).astype(int)
    return n, c0, B, Cr, sig


def _job_quantities(w, n, c0, B, Cr):
    """Per-job new work, first old interval and sum of squared old intervals for works
    ``w`` (K, Q) and level sets of K rows."""
    new = np.minimum(w, n[:, None])
    old0 = np.minimum(w, c0[:, None])
    sq = np.zeros_like(w)
    for i in range(B.shape[1]):
        b, c = B[:, i:i + 1], Cr[:, i:i + 1]
        ok = np.isfinite(b)
        seg = np.where(ok, np.minimum(np.where(ok, c, 0), w) - np.minimum(np.where(ok, b, 0), w), 0.0)
        sq += seg * seg
    return new, old0, sq


def _bisect_change(lo, hi, ref, signature, iters=64):
    """Where ``signature(y)`` (rows) first differs from ``ref`` between ``lo`` and ``hi``,
    with ``signature(lo) == ref`` and ``signature(hi) != ref``: ``iters`` bisections (64:
    the returned upper ends are the change points to rounding)."""
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        same = np.all(signature(mid) == ref, axis=1)
        lo, hi = np.where(same, mid, lo), np.where(same, hi, mid)
    return hi


#: Position weights of :func:`_code`: two independent sets of odd integers below 2^40
#: (codes below 64 over at most 4096 positions keep every sum below 2^58, exact).
_CODE_WEIGHTS = 2 * np.random.default_rng(20261128).integers(1, 2**39, (4096, 2)) + 1


def _code(codes, real):
    """Two integers per row for small non-negative integer ``codes`` (K, L), only where
    ``real``: the same for rows whose real columns agree, whatever the padding (rows of
    different widths compare). Rows that differ get the same pair with probability
    about 2^-80 (independent random weights), where a missed split would follow."""
    c = np.where(real, codes + 1, 0).astype(np.int64)
    return c @ _CODE_WEIGHTS[:c.shape[1]]


def distinct_ranks(c, v):
    """Distinct rank levels (c, v) (a (2, m) array, sorted) and the index of each input."""
    c, v = np.ravel(np.asarray(c, float)), np.ravel(np.asarray(v, float))
    if c.size and np.all(c == c[0]):          # one class: sort the values alone
        u, inv = np.unique(v, return_inverse=True)
        return np.stack([np.full(u.size, c[0]), u]), inv.ravel()
    z = np.empty(v.size, complex)             # (class, value) pairs, sorted fast
    z.real, z.imag = c, v
    z, inv = np.unique(z, return_inverse=True)
    return np.stack([z.real, z.imag]), inv.ravel()
