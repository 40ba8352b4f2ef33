"""Paper-ready figures and tables: a house style, mean response time against load or
size, validation plots (theory line, simulated points with 95% confidence bars), PDF/PGF
export and booktabs LaTeX tables.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import qtheory as qt
>>> with qt.plot.style(columns=1):
...     ax = qt.plot.plot_vs_load(qt.Exponential(1.0), [qt.FCFS, qt.SRPT], [0.5, 0.7, 0.9])
>>> [line.get_label() for line in ax.get_lines()]
['FCFS', 'SRPT']
"""

from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..analysis.optimize import optimal_threshold
from ..core.errors import ParameterError, PolicyError
from ..core.result import t_interval
from ..laws.predictions import Threshold
from ..policies.catalogue import OneBit, SkipPredict, as_policy

#: Okabe & Ito (2008) colours, distinguishable with every common colour-vision deficiency.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
           "#F0E442")
MARKERS = ("o", "s", "D", "^", "v", "<", ">", "p")
#: Figure widths in inches: one column and the full text width of two-column layouts
#: (ACM/IEEE/Elsevier templates: about 3.33-3.5 in and 7-7.16 in).
WIDTHS = {1: 3.4, 2: 7.0}


def figsize(columns=1, aspect=0.62):
    """(width, height) in inches for a figure spanning ``columns`` (1 or 2) columns.

    Examples
    --------
    >>> figsize(2, aspect=0.5)
    (7.0, 3.5)
    """
    if columns not in WIDTHS:
        raise ParameterError(f"columns = {columns!r} is invalid: use 1 (one column) or 2 "
                             "(full width of a two-column paper).")
    if not aspect > 0:
        raise ParameterError(f"aspect = {aspect!r} is invalid: height/width must be > 0.")
    return WIDTHS[columns], WIDTHS[columns] * aspect


@contextmanager
def style(columns=1, aspect=0.62, fontsize=8, usetex=False):
    """Matplotlib settings for a paper: serif fonts at ``fontsize`` points, the figure size
    of ``columns`` columns, the colour-blind-safe :data:`PALETTE`, embeddable fonts.

    Examples
    --------
    >>> import matplotlib
    >>> with style(columns=2):
    ...     matplotlib.rcParams["figure.figsize"], matplotlib.rcParams["font.family"]
    ([7.0, 4.34], ['serif'])
    """
    import matplotlib
    from cycler import cycler
    rc = {
        "figure.figsize": figsize(columns, aspect),
        "font.family": "serif",
        "font.serif": ["Times", "Nimbus Roman", "TeX Gyre Termes", "DejaVu Serif"],
        "mathtext.fontset": "dejavuserif",
        "font.size": fontsize, "axes.labelsize": fontsize, "legend.fontsize": fontsize - 1,
        "xtick.labelsize": fontsize - 1, "ytick.labelsize": fontsize - 1,
        "axes.prop_cycle": cycler(color=PALETTE) + cycler(marker=MARKERS),
        "lines.linewidth": 1.2, "lines.markersize": 3.5, "errorbar.capsize": 2,
        "axes.grid": True, "grid.linewidth": 0.4, "grid.alpha": 0.5,
        "legend.frameon": False, "savefig.bbox": "tight", "savefig.pad_inches": 0.02,
        # TrueType fonts in PDF/PS (Type 3 fonts are rejected by many publishers)
        "pdf.fonttype": 42, "ps.fonttype": 42,
        "text.usetex": usetex, "pgf.rcfonts": False,
    }
    with matplotlib.rc_context(rc):
        yield


def label(policy):
    """A short legend label for a policy.

    Examples
    --------
    >>> import qtheory as qt
    >>> label(qt.SPRPT), label(qt.Trail(0.5)), label(qt.OneBit(preemptive=True))
    ('SPRPT', 'Trail(c=0.5)', '1-bit preemptive')
    """
    p = as_policy(policy)
    if isinstance(p, OneBit):
        return "1-bit " + {False: "non-preemptive", True: "preemptive"}.get(p.preemptive,
                                                                           "prio. resume")
    if isinstance(p, SkipPredict):
        return f"SkipPredict(T={p.T:g})"
    return repr(p) if p._key() else p.name


def resolve(q, policy):
    """``(queue, T)``: a one-bit policy on a queue whose predictions are not yet one bit gets
    the queue at its optimal threshold T (:func:`qtheory.optimal_threshold`); any other
    policy gets ``q`` itself and T = None.

    Examples
    --------
    >>> import qtheory as qt
    >>> q, T = resolve(qt.MG1(0.8, qt.Exponential(1.0), qt.Perfect()), qt.OneBit(True))
    >>> round(T, 5), q.prediction.T == T      # T* = 1 + W0(lam / (e (1 - lam)))
    (1.71782, True)
    """
    policy = as_policy(policy)
    from ..laws.predictions import is_bit
    if isinstance(policy, OneBit) and not is_bit(q.prediction):
        T = optimal_threshold(q, policy).T
        return q.with_prediction(Threshold(T, q.prediction)), T
    return q, None


def mean_at(q, policy, method="auto", **options):
    """E[T] of ``policy`` on ``q``, one-bit policies at their optimal threshold
    (:func:`resolve`).

    Examples
    --------
    >>> import qtheory as qt
    >>> q = qt.MG1(0.8, qt.Exponential(1.0), qt.Perfect())
    >>> round(float(mean_at(q, qt.OneBit(preemptive=True))), 4)   # Mitzenmacher 2021
    2.9107
    """
    q, _ = resolve(q, policy)
    return q.mean_response_time(policy, method=method, **options)


def _queue_at(queue, prediction):
    """A function load -> MG1 from a queue factory or a size law."""
    from ..laws.convert import as_size_law
    from ..queues.mg1 import MG1
    if callable(queue) and not hasattr(queue, "cdf"):
        return queue
    law = as_size_law(queue)
    return lambda rho: MG1(rho / law.mean, law, prediction)


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt
        ax = plt.figure().add_subplot()
    return ax


def plot_vs_load(queue, policies, loads, prediction=None, method="auto", ax=None,
                 jobs=10**5, replications=8, seed=1):
    """Mean response time against load rho, one curve per policy.

    Parameters
    ----------
    queue : size law or callable
        A size law (the queue is ``MG1(rho / E[X], size, prediction)``) or a function
        ``rho -> MG1``.
    policies : iterable of policies
    loads : iterable of float
    prediction : prediction model, optional
        Used with a size law.
    method : str
        "auto", "formula", "soap" (lines) or "simulation" (points with 95% CI bars; then
        ``jobs``, ``replications``, ``seed`` set the run).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import qtheory as qt
    >>> ax = plot_vs_load(qt.Exponential(1.0), [qt.FCFS], [0.5, 0.75])
    >>> ax.get_lines()[0].get_ydata().tolist()          # M/M/1: 1 / (1 - rho)
    [2.0, 4.0]
    """
    at, ax, loads = _queue_at(queue, prediction), _axes(ax), np.asarray(loads, float)
    for i, p in enumerate(policies):
        if method == "simulation":
            runs = [mean_at(at(r), p, "simulation", jobs=jobs, replications=replications,
                            seed=seed + i) for r in loads]
            _ci_points(ax, loads, runs, label(p))
        else:
            ax.plot(loads, [float(mean_at(at(r), p, method)) for r in loads], label=label(p))
    ax.set_xlabel(r"load $\rho$")
    ax.set_ylabel(r"mean response time $E[T]$")
    ax.legend()
    return ax


def plot_servers(size, servers, policies, loads, prediction=None, speed=1, ax=None,
                 jobs=10**5, replications=8, seed=1, bounds=True):
    """E[T] against the load per server on a central queue of ``servers`` servers
    (:class:`qtheory.MGk`): simulated points with 95% CI bars for each policy, the exact
    value as a line where there is one, and, with ``bounds``, each policy's lower bound
    (dotted) and upper bound where known (dashed: SRPT-k).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import qtheory as qt
    >>> ax = plot_servers(qt.Exponential(1.0), 2, [qt.FCFS], [0.5], jobs=5000,
    ...                   replications=2)
    >>> round(float(ax.get_lines()[0].get_ydata()[0]), 6)   # Erlang C: 1/(1 - 0.25)
    1.333333
    """
    from ..queues.mgk import MGk
    ax, loads = _axes(ax), np.asarray(loads, float)
    k = int(servers)
    s = 1.0 if speed in (1, "1") else 1.0 / k
    for i, p in enumerate(policies):
        p = as_policy(p)
        queues = [MGk(r * k * s / size.mean, size, k, prediction, speed=s) for r in loads]
        exact = []
        for m in queues:
            try:
                exact.append(m.mean_response_time(p, method="exact").value)
            except PolicyError:
                exact.append(np.nan)
        colour = None
        if not np.all(np.isnan(exact)):
            colour = ax.plot(loads, exact, label=f"{label(p)} (exact)")[0].get_color()
        runs = [m.simulate(p, jobs=jobs, replications=replications, seed=seed + i)
                for m in queues]
        bars = _ci_points(ax, loads, runs, f"{label(p)} (simulation)", color=colour)
        colour = colour or bars[0].get_color()
        if bounds:
            bs = [m.bounds(p) for m in queues]
            ax.plot(loads, [b.lower.value for b in bs], linestyle=":", color=colour,
                    marker="", label=f"{label(p)} lower bound")
            if all(b.upper is not None for b in bs):
                ax.plot(loads, [b.upper.value for b in bs], linestyle="--", color=colour,
                        marker="", label=f"{label(p)} upper bound")
    ax.set_xlabel(r"load per server $\rho$")
    ax.set_ylabel(rf"mean response time $E[T]$, $k = {k}$")
    ax.legend()
    return ax


def _ci_points(ax, x, runs, name, color=None, marker=None):
    y = np.array([s.mean_response_time for s in runs])
    lo, hi = np.array([s.ci for s in runs]).T
    return ax.errorbar(x, y, yerr=[y - lo, hi - y], linestyle="none", label=name,
                       color=color, marker=marker)


def plot_validation(queue, policies, loads, prediction=None, method="auto", ax=None,
                    jobs=10**5, replications=8, seed=1, points=40):
    """Theory against simulation: for each policy a line of the analytic E[T] over the load
    range and simulated points at ``loads`` with their 95% confidence intervals.

    Parameters are those of :func:`plot_vs_load`; ``points`` is the number of loads the
    theory line is computed at.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import qtheory as qt
    >>> ax = plot_validation(qt.Exponential(1.0), [qt.PS], [0.5, 0.8], jobs=20_000,
    ...                      replications=4)
    >>> len(ax.get_lines()) >= 1, len(ax.containers)      # the line, one error bar set
    (True, 1)
    """
    at, ax, loads = _queue_at(queue, prediction), _axes(ax), np.asarray(loads, float)
    fine = np.linspace(loads.min(), loads.max(), points)
    for i, p in enumerate(policies):
        colour, marker = PALETTE[i % len(PALETTE)], MARKERS[i % len(MARKERS)]
        ax.plot(fine, [float(mean_at(at(r), p, method)) for r in fine], color=colour,
                marker="", label=f"{label(p)} (theory)")
        runs = [mean_at(at(r), p, "simulation", jobs=jobs, replications=replications,
                        seed=seed + i) for r in loads]
        _ci_points(ax, loads, runs, f"{label(p)} (simulation)", colour, marker)
    ax.set_xlabel(r"load $\rho$")
    ax.set_ylabel(r"mean response time $E[T]$")
    ax.legend()
    return ax


def plot_by_size(q, policies, sizes=None, ax=None, prediction_of=None):
    """E[T(x)], the mean response time of a job of size x, one curve per policy.

    Parameters
    ----------
    q : qtheory.MG1
    policies : iterable of size-based or blind policies; prediction-based ones need
        ``prediction_of``
    sizes : array_like, optional
        Default: 40 points from the 1% to the 99% quantile of the size law (estimated
        from a fixed-seed sample).
    prediction_of : callable, optional
        x -> predicted size y; prediction policies are drawn as E[T(x, y(x))] (for example
        ``lambda x: x`` for jobs whose prediction is right).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import qtheory as qt
    >>> ax = plot_by_size(qt.MG1(0.5, qt.Exponential(1.0)), [qt.PS], sizes=[1.0, 2.0])
    >>> ax.get_lines()[0].get_ydata().tolist()       # x / (1 - rho)
    [2.0, 4.0]
    """
    ax = _axes(ax)
    if sizes is None:
        draws = q.size.sample(np.random.default_rng(0), 100_000)
        sizes = np.unique(np.quantile(draws, np.linspace(0.01, 0.99, 40)))
    sizes = np.asarray(sizes, float)
    for p in map(as_policy, policies):
        if p.descriptor == "bit" or (p.descriptor == "prediction" and prediction_of is None
                                     and q.prediction is not None):
            raise PolicyError(f"{p.name} ranks by a prediction: pass prediction_of=lambda x: "
                              "y to draw E[T(x, y)], or plot the size-based policy.")
        ys = [q.response_time(p, x, None if prediction_of is None else prediction_of(x))
              for x in sizes]
        ax.plot(sizes, ys, label=label(p), marker="")
    ax.set_xlabel(r"job size $x$")
    ax.set_ylabel(r"$E[T(x)]$")
    ax.legend()
    return ax


def plot_tail(q, policies, times=None, ax=None, simulate=False, jobs=10**5, replications=8,
              seed=1, points=30):
    """P(T > t), the tail of the response time, on log axes, one curve per policy; with
    ``simulate=True`` also the simulated tail at a few times with 95% CI bars (over
    independent replications).

    Parameters
    ----------
    q : qtheory.MG1
    policies : iterable of policies with a response-time distribution
        (:meth:`qtheory.MG1.response_time_distribution`).
    times : array_like, optional
        Default: ``points`` times from the median to the 99.9th percentile of the first
        policy.
    simulate : bool
        Add simulated points (``jobs``, ``replications`` and ``seed`` set the runs).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import qtheory as qt
    >>> ax = plot_tail(qt.MG1(0.5, qt.Exponential(1.0)), [qt.FCFS], times=[1.0, 2.0])
    >>> [round(float(v), 9) for v in ax.get_lines()[0].get_ydata()]     # M/M/1: e^{-t/2}
    [0.60653066, 0.367879441]
    """
    ax = _axes(ax)
    policies = [as_policy(p) for p in policies]
    dists = [q.response_time_distribution(p) for p in policies]
    if times is None:
        lo, hi = dists[0].quantile(0.5).value, dists[0].quantile(0.999).value
        times = np.geomspace(lo, hi, points)
    times = np.asarray(times, float)
    for i, (p, d) in enumerate(zip(policies, dists)):
        colour = PALETTE[i % len(PALETTE)]
        ax.plot(times, d.sf(times), color=colour, marker="", label=f"{label(p)} (theory)")
        if simulate:
            at = times[:: max(1, len(times) // 6)]
            sims = np.array([[np.mean(s.per_job["response_time"] > t) for t in at]
                             for s in (q.simulate(p, jobs=jobs, replications=2,
                                                  seed=seed + 1000 * r + i, per_job=True,
                                                  executor=False)
                                       for r in range(replications))])
            rows = [t_interval(column) for column in sims.T]    # (mean, (lo, hi), se)
            mean = np.array([m for m, _, _ in rows])
            half = np.array([hi - m for m, (_, hi), _ in rows])
            ax.errorbar(at, mean, yerr=half, linestyle="none", color=colour,
                        marker=MARKERS[i % len(MARKERS)], label=f"{label(p)} (simulation)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"time $t$")
    ax.set_ylabel(r"$P(T > t)$")
    ax.legend()
    return ax


FORMATS = (".pdf", ".pgf", ".png", ".svg")


def check_path(path):
    """``path`` as a Path, if its suffix is one of :data:`FORMATS`.

    Examples
    --------
    >>> check_path("fig.pdf").suffix
    '.pdf'
    """
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ParameterError(f"path = {str(path)!r}: use a .pdf, .pgf, .png or .svg file name.")
    return path


def save(fig, path):
    """Write ``fig`` to ``path``; the suffix picks the format (.pdf, .pgf, .png, .svg).

    PGF (for ``\\input`` in LaTeX) needs a TeX installation to measure text.

    Examples
    --------
    >>> import os, tempfile
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig = plt.figure()
    >>> path = save(fig, os.path.join(tempfile.mkdtemp(), "empty.pdf"))
    >>> path.read_bytes()[:4]
    b'%PDF'
    >>> plt.close(fig)
    """
    path = check_path(path)
    try:
        fig.savefig(path)
    except RuntimeError as exc:
        if path.suffix.lower() == ".pgf":
            raise ParameterError(f"PGF export needs LaTeX ({exc}); install a TeX "
                                 "distribution or save as .pdf.") from None
        raise
    return path


def latex_table(header, rows, caption=None, label=None, align=None):
    """A LaTeX table with booktabs rules (needs ``\\usepackage{booktabs}``).

    Parameters
    ----------
    header : list of str
        Column titles (LaTeX).
    rows : list of lists
        Cells, already formatted as strings (or numbers, printed with ``str``).
    caption, label : str, optional
    align : str, optional
        Column alignment, default ``l`` then ``r`` for every other column.

    Examples
    --------
    >>> print(latex_table(["$\\\\lambda$", "FIFO"], [["0.5", "2.0000"]]))
    \\begin{table}
    \\centering
    \\begin{tabular}{lr}
    \\toprule
    $\\lambda$ & FIFO \\\\
    \\midrule
    0.5 & 2.0000 \\\\
    \\bottomrule
    \\end{tabular}
    \\end{table}
    """
    align = align or "l" + "r" * (len(header) - 1)
    if len(align) != len(header) or any(len(r) != len(header) for r in rows):
        raise ParameterError("every row and align must have one entry per header column.")
    lines = [r"\begin{table}", r"\centering"]
    if caption:
        lines.append(rf"\caption{{{caption}}}")
    if label:
        lines.append(rf"\label{{{label}}}")
    lines += [rf"\begin{{tabular}}{{{align}}}", r"\toprule",
              " & ".join(header) + r" \\", r"\midrule"]
    lines += [" & ".join(str(c) for c in r) + r" \\" for r in rows]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines)
