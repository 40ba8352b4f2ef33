"""papers/inoue2021/reproduce.py on reduced settings: outputs and verdicts."""

import csv
import importlib.util
import math
from pathlib import Path

PAPER = Path(__file__).resolve().parents[1] / "papers" / "inoue2021"


def _load():
    spec = importlib.util.spec_from_file_location("inoue2021_reproduce",
                                                  PAPER / "reproduce.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_reproduce_reduced(tmp_path, capsys):
    assert _load().main(["--out", str(tmp_path)]) == 0
    assert "rows agree" in capsys.readouterr().out
    for name in ("table.csv", "table.tex", "figure.pdf"):
        assert (tmp_path / name).stat().st_size > 0
    assert (tmp_path / "figure.pdf").read_bytes()[:4] == b"%PDF"
    tex = (tmp_path / "table.tex").read_text()
    assert r"\toprule" in tex and r"\bottomrule" in tex
    with open(tmp_path / "table.csv") as fh:
        rows = list(csv.DictReader(fh))
    uncapped = [r for r in rows if r["case"] == "uncapped"]
    assert len(uncapped) == 22 and all(r["status"] == "agrees" for r in rows)
    # Inoue's theorem: min(phi0, phi1) is an upper bound on the exact mean latency
    assert all(float(r["bound"]) >= float(r["exact"]) * (1 - 1e-9) for r in uncapped)
    # the paper simulated: our simulation is there at the reduced loads
    assert sum(math.isfinite(float(r["sim"])) for r in uncapped) == 4
    # docs/theory.1 reference, own independent computation: E[T] = 5.52148
    ref = next(r for r in rows if r["case"] == "reference")
    assert abs(float(ref["exact"]) - 5.52148) < 5e-6


def test_disagreement_is_reported(tmp_path, monkeypatch):
    # a wrong reference value must make the script fail (exit status 1)
    mod = _load()
    monkeypatch.setattr(mod, "LOADS", (0.5,))
    monkeypatch.setattr(mod, "CAPS", ())
    monkeypatch.setattr(mod, "REDUCED", dict(sim_loads=(), jobs=20_000, replications=4))
    monkeypatch.setitem(mod.REFERENCE, "value", 5.6)
    assert mod.main(["--out", str(tmp_path)]) == 1
