"""The shared command line of the paper reproductions (papers/<name>/reproduce.py).

Each script computes its rows, and this module does the rest the same way for all:
parse ``--full`` and ``--out DIR``, write table.csv, table.tex and figure.pdf, print the
table and a one-line summary, and return the exit status (0 only when every row agrees).
"""

import argparse
import csv
from pathlib import Path


def write_outputs(rows, out, latex, figure):
    """Write ``rows`` to ``out``/table.csv, ``latex(rows)`` to ``out``/table.tex and
    ``figure(rows, path)`` to ``out``/figure.pdf, creating ``out`` if needed."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "table.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (out / "table.tex").write_text(latex(rows) + "\n")
    figure(rows, out / "figure.pdf")


def run_reproduction(argv, doc, compute, *, reduced, full, folder, full_help, latex, figure,
                     print_table, disagrees, agreement):
    """Run one paper reproduction from the command line.

    Parameters
    ----------
    argv : list of str or None
        Command-line arguments (default ``sys.argv[1:]``): ``--full``, ``--out DIR``.
    doc : str
        The script's docstring; its first paragraph is the ``--help`` description.
    compute : callable
        ``compute(settings) -> rows``, a list of dicts, called with ``full`` under
        ``--full`` and ``reduced`` otherwise.
    reduced, full : dict
        The two settings.
    folder : Path
        Default output folder (the script's own).
    full_help : str
        Help text of ``--full``.
    latex, figure : callable
        ``latex(rows) -> str`` and ``figure(rows, path)``; see :func:`write_outputs`.
    print_table : callable
        ``print_table(rows)`` prints the table to standard output.
    disagrees : callable
        ``disagrees(row) -> bool``: the row does not agree with the paper.
    agreement : str
        What the agreeing rows do, for the summary line ("rows agree").

    Returns
    -------
    int
        0 when no row disagrees, else 1.
    """
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help=full_help)
    parser.add_argument("--out", type=Path, default=folder, help="output folder")
    args = parser.parse_args(argv)
    rows = compute(full if args.full else reduced)
    write_outputs(rows, args.out, latex, figure)
    print_table(rows)
    bad = [r for r in rows if disagrees(r)]
    print(f"\n{len(rows) - len(bad)}/{len(rows)} {agreement}; wrote table.csv, table.tex, "
          f"figure.pdf to {args.out}")
    return 1 if bad else 0
