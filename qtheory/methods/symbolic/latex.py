"""LaTeX output of exact results."""

import sympy


def latex(expr, mathtext=False, **settings):
    """LaTeX source of a result (``sympy.latex`` with qtheory's defaults).

    ``mathtext=True`` gives a string Matplotlib's mathtext renders (no ``\\limits``,
    ``\\operatorname``): ``ax.set_title("$" + latex(e, mathtext=True) + "$")``.

    Examples
    --------
    >>> import sympy, qtheory as qt
    >>> lam = sympy.Symbol("lambda", positive=True)
    >>> e = qt.MG1(lam, qt.Exponential(1)).mean_response_time(qt.PS)
    >>> latex(e)
    '\\\\frac{1}{1 - \\\\lambda}'
    """
    opts = {"ln_notation": True}
    opts.update(settings)
    s = sympy.latex(sympy.sympify(expr), **opts)
    if mathtext:
        import re
        s = s.replace("\\limits", "")
        s = re.sub(r"\\operatorname\{([^}]*)\}", r"\\mathrm{\1}", s)
    return s
