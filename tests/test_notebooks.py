"""The tutorial notebooks run top to bottom in a real Jupyter kernel, and the checks they
contain (assert cells comparing methods and published values) pass."""

import importlib.util
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


def _build_module():
    spec = importlib.util.spec_from_file_location("notebook_build", NOTEBOOKS / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_source_has_an_up_to_date_notebook_without_outputs():
    build = _build_module()
    sources = sorted((NOTEBOOKS / "src").glob("*.py"))
    assert [s.stem for s in sources] == [p.stem for p in PATHS] and len(PATHS) == 8
    for src, path in zip(sources, PATHS):
        assert path.read_text(encoding="utf-8") == build.build(src), \
            f"{path.name} is stale: run python notebooks/build.py"
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code)
        # Each tutorial checks what it claims, not only that it runs.
        assert sum("assert " in c.source for c in code) >= 2, path.name


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_runs_in_a_kernel(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=300,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell and traceback, on error
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
