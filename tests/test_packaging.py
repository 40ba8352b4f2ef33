"""The package as a user gets it: a wheel built from this tree, installed into a fresh
virtual environment, imports from there (not from the checkout), computes, and has its
command. It catches files missing from the wheel and a broken entry point. The
environment borrows the installed dependencies (numpy, scipy, sympy, numba), so nothing
is downloaded but the build backend (pyproject.toml's build-system, as any pip install
of this tree fetches it)."""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_distribution_name_is_ours():
    """PyPI's ``qtheory`` is an unrelated 2020 package: ours is distributed under another
    name and keeps ``import qtheory`` and the ``qtheory`` command."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert meta["name"] == "qtheory-lab"
    assert meta["scripts"]["qtheory"] == "qtheory.tools.cli:main"


def test_wheel_installs_into_a_fresh_environment(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "-q", "-w", str(wheels), str(ROOT)], check=True, cwd=tmp_path)
    wheel, = wheels.glob("qtheory_lab-*.whl")
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(env)],
                   check=True)
    python = env / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
                   check=True, cwd=tmp_path)
    code = ("import qtheory as qt, pathlib; "
            "print(pathlib.Path(qt.__file__).resolve()); "
            "print(qt.MG1(0.5, qt.Exponential(1.0)).mean_response_time(qt.PS).value)")
    out = subprocess.run([str(python), "-c", code], check=True, capture_output=True,
                         text=True, cwd=tmp_path).stdout.split()
    assert Path(out[0]).is_relative_to(env), out[0]        # the wheel's copy, not ours
    assert float(out[1]) == 2.0                              # M/M/1-PS: 1 / (mu - lambda)
    help_text = subprocess.run([str(env / "bin" / "qtheory"), "--help"], check=True,
                               capture_output=True, text=True, cwd=tmp_path).stdout
    assert "tail" in help_text and "mean" in help_text
