"""qtheory.tools.plot: the house style, the three plots (their data against independent values),
export, and booktabs tables. Matplotlib runs on the Agg backend."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from scipy.special import lambertw  # noqa: E402

import qtheory as qt  # noqa: E402
from qtheory.tools import plot  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_style_sets_paper_rc_and_restores():
    before = dict(matplotlib.rcParams)
    with plot.style(columns=1):
        rc = matplotlib.rcParams
        assert rc["figure.figsize"] == [3.4, pytest.approx(3.4 * 0.62)]
        assert rc["font.family"] == ["serif"]
        assert rc["pdf.fonttype"] == 42
        assert rc["axes.prop_cycle"].by_key()["color"] == list(plot.PALETTE)
    with plot.style(columns=2, aspect=0.5):
        assert matplotlib.rcParams["figure.figsize"] == [7.0, 3.5]
    assert matplotlib.rcParams["figure.figsize"] == before["figure.figsize"]
    assert matplotlib.rcParams["font.family"] == before["font.family"]


def test_palette_is_okabe_ito():
    # Okabe & Ito (2008), "Color Universal Design", the eight colours in RGB
    okabe_ito = {(0, 114, 178), (213, 94, 0), (0, 158, 115), (204, 121, 167),
                 (230, 159, 0), (86, 180, 233), (0, 0, 0), (240, 228, 66)}
    rgb = {tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in plot.PALETTE}
    assert rgb == okabe_ito


def test_figsize_rejects_bad_columns():
    with pytest.raises(qt.ParameterError, match="columns"):
        plot.figsize(3)
    with pytest.raises(qt.ParameterError, match="aspect"):
        plot.figsize(1, aspect=0)


def test_plot_vs_load_data_and_labels():
    loads = [0.5, 0.8]
    ax = plot.plot_vs_load(qt.Exponential(1.0), [qt.FCFS, qt.SRPT], loads)
    fcfs, srpt = ax.get_lines()
    assert [fcfs.get_label(), srpt.get_label()] == ["FCFS", "SRPT"]
    # M/M/1: 1 / (1 - rho); SRPT: Mitzenmacher 2020, Table 1 (4 decimals)
    assert fcfs.get_ydata().tolist() == pytest.approx([2.0, 5.0], rel=1e-12)
    assert srpt.get_ydata().tolist() == pytest.approx([1.4254, 2.3528], abs=5e-5)
    assert ax.get_xlabel().startswith("load")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["FCFS", "SRPT"]


def test_plot_vs_load_queue_factory_and_one_bit():
    # perfect one bit, preempt-any, Exp(1): E[T] = 1 / ((1 - lam) T*),
    # T* = 1 + W0(lam / (e (1 - lam)))  (Mitzenmacher 2021; docs/theory/advice.md)
    def exact(lam):
        return 1 / ((1 - lam) * (1 + lambertw(lam / (math.e * (1 - lam))).real))
    ax = plot.plot_vs_load(lambda rho: qt.MG1(rho, qt.Exponential(1.0), qt.Perfect()),
                           [qt.OneBit(preemptive=True)], [0.5, 0.9])
    (line,) = ax.get_lines()
    assert line.get_ydata().tolist() == pytest.approx([exact(0.5), exact(0.9)], rel=1e-8)
    assert line.get_label() == "1-bit preemptive"


def test_plot_vs_load_simulation_has_ci_bars():
    ax = plot.plot_vs_load(qt.Exponential(1.0), [qt.PS], [0.5, 0.7], method="simulation",
                           jobs=20_000, replications=4, seed=3)
    (bars,) = ax.containers
    y = bars.lines[0].get_ydata()
    segments = bars.lines[2][0].get_segments()
    assert len(y) == len(segments) == 2
    for (lo, hi), exact in zip(([s[0][1], s[1][1]] for s in segments), [2.0, 1 / 0.3]):
        assert lo < exact < hi      # M/M/1 PS: 1 / (1 - rho), fixed seed


def test_plot_validation_line_and_points():
    ax = plot.plot_validation(qt.Exponential(1.0), [qt.FCFS, qt.PS], [0.5, 0.8],
                              jobs=10_000, replications=3, points=5)
    lines = [ln for ln in ax.get_lines() if ln.get_label().endswith("(theory)")]
    assert [ln.get_label() for ln in lines] == ["FCFS (theory)", "PS (theory)"]
    x, y = lines[0].get_data()
    assert y.tolist() == pytest.approx([1 / (1 - r) for r in x], rel=1e-12)
    assert len(ax.containers) == 2
    assert lines[0].get_color() == ax.containers[0].lines[0].get_color()
    assert "FCFS (simulation)" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_plot_by_size_curves():
    q = qt.MG1(0.5, qt.Exponential(1.0))
    ax = plot.plot_by_size(q, [qt.PS, qt.FCFS], sizes=[0.5, 1.0, 3.0])
    ps, fcfs = ax.get_lines()
    assert ps.get_ydata().tolist() == pytest.approx([1.0, 2.0, 6.0])     # x / (1 - rho)
    # FCFS: x + lam E[X^2] / (2 (1 - rho)) = x + 1 (Pollaczek-Khinchine)
    assert fcfs.get_ydata().tolist() == pytest.approx([1.5, 2.0, 4.0])
    default = plot.plot_by_size(q, [qt.PS], ax=plt.figure().add_subplot())
    xs = default.get_lines()[0].get_xdata()
    assert 30 <= len(xs) <= 40 and 0 < xs[0] < 0.02 and 4 < xs[-1] < 5   # 1%..99% of Exp(1)


def test_plot_by_size_prediction_policy_needs_a_prediction():
    q = qt.MG1(0.5, qt.Exponential(1.0), qt.ExpNoise())
    with pytest.raises(qt.PolicyError, match="prediction_of"):
        plot.plot_by_size(q, [qt.SPRPT], sizes=[1.0])


def test_save_pdf_and_bad_suffix(tmp_path):
    with plot.style():
        ax = plot.plot_vs_load(qt.Exponential(1.0), [qt.FCFS], [0.5, 0.6])
        path = plot.save(ax.figure, tmp_path / "f.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")
    assert len(data) > 2000
    with pytest.raises(qt.ParameterError, match=r"\.pdf, \.pgf"):
        plot.save(ax.figure, tmp_path / "f.txt")


def test_save_pgf(tmp_path):
    ax = plot.plot_vs_load(qt.Exponential(1.0), [qt.FCFS], [0.5, 0.6])
    try:
        path = plot.save(ax.figure, tmp_path / "f.pgf")
    except qt.ParameterError as exc:      # no TeX on this machine: the error says so
        assert "LaTeX" in str(exc) and ".pdf" in str(exc)
    else:
        assert r"\begin{pgfpicture}" in path.read_text()


def test_latex_table_booktabs():
    tex = plot.latex_table(["$x$", "a", "b"], [["1", "2.0", "3.0"], ["4", 5, 6]],
                           caption="C", label="tab:x")
    lines = tex.splitlines()
    assert lines.index(r"\toprule") < lines.index(r"\midrule") < lines.index(r"\bottomrule")
    assert r"\begin{tabular}{lrr}" in lines and r"\label{tab:x}" in lines
    assert "4 & 5 & 6 \\\\" in lines
    with pytest.raises(qt.ParameterError, match="one entry per header"):
        plot.latex_table(["a", "b"], [["1"]])


def test_exports():
    assert qt.plot_vs_load is plot.plot_vs_load
    assert qt.plot_by_size is plot.plot_by_size
    assert qt.plot_validation is plot.plot_validation


def test_plot_tail_theory_lines_and_simulated_points():
    """M/M/1 FCFS: the theory line is e^{-(mu - lambda) t}; the simulated points (95%
    Student-t bars over 6 replications) agree with it to |t| below the 4-sigma limit; the
    axes are logarithmic."""
    from scipy import stats
    from qtheory.analysis.validate import t_limit
    q = qt.MG1(0.5, qt.Exponential(1.0))
    times = [0.5, 1.0, 2.0, 4.0, 8.0, 12.0]
    ax = plot.plot_tail(q, [qt.FCFS, qt.SRPT], times=times, simulate=True, jobs=40_000,
                        replications=6, seed=2)
    fcfs = ax.get_lines()[0]
    assert fcfs.get_ydata().tolist() == pytest.approx([math.exp(-0.5 * t) for t in times],
                                                      abs=1e-9)
    assert ax.get_xscale() == ax.get_yscale() == "log"
    bars = ax.containers[0]
    y = bars.lines[0].get_ydata()
    for (lo, hi), t in zip(([s[0][1], s[1][1]] for s in bars.lines[2][0].get_segments()),
                           bars.lines[0].get_xdata()):
        se = (hi - lo) / 2 / stats.t.ppf(0.975, 5)
        assert abs((lo + hi) / 2 - math.exp(-0.5 * t)) < t_limit(4.0, 6) * se, (t, lo, hi)
    assert len(y) == len(times)
