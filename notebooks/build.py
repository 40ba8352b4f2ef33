"""Build the tutorial notebooks (``notebooks/*.ipynb``) from their sources in
``notebooks/src/*.py``, written in the "percent" format: a line ``# %%`` starts a code
cell, ``# %% [markdown]`` a markdown cell whose lines are comments.

Run ``python notebooks/build.py`` after editing a source; the notebooks are committed
without outputs, and ``tests/test_notebooks.py`` checks that they are up to date.
"""

import re
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
CELL = re.compile(r"^# %%( \[markdown\])?[ \t]*$", re.MULTILINE)


def notebook(source):
    """The notebook (nbformat v4, no outputs) written in ``source``."""
    parts = CELL.split(source)
    cells = []
    # parts = [preamble, marker, body, marker, body, ...]; the preamble must be empty
    if parts[0].strip():
        raise ValueError("text before the first '# %%' cell marker")
    for markdown, body in zip(parts[1::2], parts[2::2]):
        body = body.strip("\n")
        if markdown:
            text = "\n".join(re.sub(r"^# ?", "", line) for line in body.splitlines())
            cells.append(nbformat.v4.new_markdown_cell(text))
        else:
            cells.append(nbformat.v4.new_code_cell(body))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):  # stable ids keep rebuilds byte-identical
        cell["id"] = f"cell-{i}"
    return nb


def build(source_path):
    """The text of the .ipynb built from one source file."""
    return nbformat.writes(notebook(Path(source_path).read_text(encoding="utf-8"))) + "\n"


def main():
    for src in sorted((HERE / "src").glob("*.py")):
        target = HERE / f"{src.stem}.ipynb"
        target.write_text(build(src), encoding="utf-8")
        print(f"wrote {target.relative_to(HERE.parent)}")


if __name__ == "__main__":
    sys.exit(main())
