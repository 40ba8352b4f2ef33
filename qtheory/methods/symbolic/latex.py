"""LaTeX output of exact results, as papers print them."""

import sympy
from sympy.printing.latex import LatexPrinter


class _PaperPrinter(LatexPrinter):
    """sympy's printer, except that a sum starts with a positive term where it has one
    (``\\mu - \\lambda``, not ``- \\lambda + \\mu``)."""

    def _as_ordered_terms(self, expr, order=None):
        terms = list(super()._as_ordered_terms(expr, order=order))
        if isinstance(expr, sympy.Add) and terms and terms[0].could_extract_minus_sign():
            k = next((i for i, t in enumerate(terms) if not t.could_extract_minus_sign()), None)
            if k is not None:
                terms.insert(0, terms.pop(k))
        return terms


def in_load(expr, arrival_rate, mean_size, rho=None):
    """``expr`` with the arrival rate written through the load: λ = ρ / E[X], put in the
    canonical form (see :func:`~qtheory.methods.symbolic.means.canonical`).

    Examples
    --------
    >>> import sympy, qtheory as qt
    >>> lam, mu = sympy.symbols("lambda mu", positive=True)
    >>> e = qt.MG1(lam, qt.Exponential(mu)).mean_response_time(qt.FCFS)
    >>> in_load(e, lam, 1 / mu)
    1/(mu*(1 - rho))
    """
    from .means import canonical
    rho = sympy.Symbol("rho", positive=True) if rho is None else rho
    return canonical(sympy.sympify(expr).subs(arrival_rate, rho / sympy.sympify(mean_size)))


def latex(expr, mathtext=False, **settings):
    """LaTeX source of a result, as papers print it.

    ``expr`` is a sympy expression, or a dict ``{label: expression}`` of several results
    (e.g. one per policy), printed as one ``aligned`` block with the ``=`` signs lined
    up: ``E[T_{label}] &= ...``. A sum starts with a positive term; Greek symbol names
    print as letters (a symbol ``rho``, e.g. from :func:`in_load`, prints as ρ).
    ``mathtext=True`` gives a string Matplotlib's mathtext renders (no ``\\limits``,
    ``\\operatorname``, ``aligned``): ``ax.set_title("$" + latex(e, mathtext=True) + "$")``.
    Other keywords go to sympy's printer.

    Examples
    --------
    >>> import sympy, qtheory as qt
    >>> lam, mu = sympy.symbols("lambda mu", positive=True)
    >>> e = qt.MG1(lam, qt.Exponential(1)).mean_response_time(qt.PS)
    >>> latex(e)
    '\\\\frac{1}{1 - \\\\lambda}'
    >>> q = qt.MG1(lam, qt.Exponential(mu))
    >>> print(latex({"FCFS": q.mean_response_time(qt.FCFS), "LCFS": q.mean_response_time(qt.LCFS)}))
    \\begin{aligned}
    E[T_{\\mathrm{FCFS}}] &= \\frac{1}{\\mu - \\lambda} \\\\
    E[T_{\\mathrm{LCFS}}] &= \\frac{1}{\\mu - \\lambda}
    \\end{aligned}
    """
    opts = {"ln_notation": True}
    opts.update(settings)
    if isinstance(expr, dict):
        rows = [f"E[T_{{\\mathrm{{{label}}}}}] &= {latex(e, mathtext, **settings)}"
                for label, e in expr.items()]
        if mathtext:   # mathtext has no environments: one line, separated by commas
            return ",\\quad ".join(r.replace("&", "") for r in rows)
        return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"
    s = _PaperPrinter(opts).doprint(sympy.sympify(expr))
    if mathtext:
        import re
        s = s.replace("\\limits", "")
        s = re.sub(r"\\operatorname\{([^}]*)\}", r"\\mathrm{\1}", s)
    return s
