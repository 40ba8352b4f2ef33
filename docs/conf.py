"""Sphinx configuration of the qtheory documentation.

Build with ``sphinx-build -W -b html docs docs/_build/html`` (``pip install -e ".[docs]"``).

Pages written for the site live in ``docs/``; pages kept elsewhere in the repository
(``papers/*/README.md``, ``benchmarks/README.md``, ``notebooks/README.md``) are pulled in
with MyST's ``{include}`` directive, never copied by hand. Two things are made at build
time, in git-ignored folders under ``docs/``:

* ``_generated/notebooks/``: the tutorial notebooks, copied from ``notebooks/`` because
  myst-nb reads only files under the source directory. They are rendered with whatever
  outputs they store and never executed here (``nb_execution_mode = "off"``); the test
  suite executes them (``tests/test_notebooks.py``).
* ``_generated/cli/``: the ``--help`` text of the ``qtheory`` command and of each
  subcommand, so the CLI page follows the parser.

``api/generated/`` holds autosummary's stub pages (one per public name).
"""

import filecmp
import os
import re
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

import qtheory  # noqa: E402

project = "qtheory"
author = "the qtheory developers"
copyright = "the qtheory developers"
version = release = qtheory.__version__

extensions = [
    "myst_nb",                      # MyST markdown pages and .ipynb notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",          # NumPy-style docstrings
    "sphinx.ext.mathjax",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "tables", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints",
                    "**/__pycache__",
                    "_generated/api_other.rst"]     # included by api/index.rst
templates_path = ["_templates"]

# --- MyST and myst-nb ----------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
myst_dmath_double_inline = True    # $$...$$ inside a paragraph or list item, as GitHub renders it
nb_execution_mode = "off"           # show stored outputs only; never run a notebook here
nb_merge_streams = True

# --- API reference -------------------------------------------------------------------
# the API pages, and the names of qtheory.__all__ that api/index.rst does not group yet
autosummary_generate = ["api/index.rst", "_generated/api_other.rst"]
autosummary_imported_members = False
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_inherit_docstrings = True
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
add_module_names = False

# --- HTML ----------------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"qtheory {release}"
html_static_path = []
html_theme_options = {"description": "Analytical queueing theory: closed forms, SOAP, "
                                     "symbolic results and a simulator that agree.",
                      "fixed_sidebar": True}


# --- files made at build time --------------------------------------------------------
GENERATED = DOCS / "_generated"


def _write_if_changed(path, text):
    """Write ``text`` unless ``path`` already holds it (keeps incremental builds cheap)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _copy_notebooks():
    target = GENERATED / "notebooks"
    target.mkdir(parents=True, exist_ok=True)
    sources = sorted((ROOT / "notebooks").glob("*.ipynb"))
    for src in sources:
        dst = target / src.name
        if not dst.exists() or not filecmp.cmp(src, dst, shallow=False):
            shutil.copy2(src, dst)
    names = {src.name for src in sources}
    for stale in target.glob("*.ipynb"):
        if stale.name not in names:
            stale.unlink()


def _cli_help():
    from qtheory.tools import cli

    os.environ["COLUMNS"] = "88"    # argparse wraps help text to the terminal's width
    parser = cli.build_parser()
    parser.prog = "qtheory"
    pages = {"qtheory": parser.format_help()}
    for action in parser._actions:   # the subcommands' parsers
        for name, sub in (getattr(action, "choices", None) or {}).items():
            if hasattr(sub, "format_help"):
                pages[name] = sub.format_help()
    target = GENERATED / "cli"
    listing = []
    for name, text in pages.items():
        _write_if_changed(target / f"{name}.txt", text)
        if name != "qtheory":
            listing.append(f"# `qtheory {name}`\n\n```{{literalinclude}} /_generated/cli/{name}.txt\n"
                           ":language: text\n```\n")
    _write_if_changed(target / "subcommands.md", "\n".join(listing))


def _other_names():
    """An autosummary of the public names that ``api/index.rst`` does not group yet (a
    name just added to ``qtheory.__all__``), so every public name has a page."""
    text = (DOCS / "api" / "index.rst").read_text(encoding="utf-8")
    listed = {name.rsplit(".", 1)[-1]
              for name in re.findall(r"^ {3}~?([A-Za-z_][\w.]*)\s*$", text, re.MULTILINE)}
    listed.add("plot")              # the module qtheory.tools.plot
    other = [name for name in qtheory.__all__ if name not in listed]
    lines = []
    if other:
        lines = ["Other names", "-----------", "",
                 "Public names not yet placed in a group above.", "",
                 ".. currentmodule:: qtheory", "", ".. autosummary::",
                 "   :toctree: ../api/generated", "   :nosignatures:", ""]
        lines += [f"   {name}" for name in other]
    _write_if_changed(GENERATED / "api_other.rst", "\n".join(lines) + "\n")


_copy_notebooks()
_cli_help()
_other_names()
# autosummary writes a stub per name but never removes one: start from none, so a name
# that left the API does not linger as a page outside every toctree
shutil.rmtree(DOCS / "api" / "generated", ignore_errors=True)


# --- links in included files -----------------------------------------------------------
def _rewrite_included_links(app, relative_path, parent_docname, content):
    """papers/README.md links each paper's folder (``[x](x/)``); on the site each paper's
    README is the page ``papers/x``."""
    if Path(relative_path).as_posix().endswith("papers/README.md"):
        content[0] = re.sub(r"\]\(([A-Za-z0-9_]+)/\)", r"](\1.md)", content[0])


def setup(app):
    app.connect("include-read", _rewrite_included_links)
