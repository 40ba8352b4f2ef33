"""The package's import graph: layers import only downwards (core <- laws <- policies <-
methods <- queues <- analysis <- tools), modules import each other without cycles, and
no private name crosses a package boundary. Read from the source with ``ast``, imports
inside functions included."""

import ast
import pathlib
import subprocess
import sys

import qtheory

ROOT = pathlib.Path(qtheory.__file__).parent
LAYERS = ["core", "laws", "policies", "methods", "queues", "analysis", "tools"]


def _modules():
    out = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_pkg)
    return out


MODULES = _modules()


def _imports(name):
    """(target module, imported names) of every ``from ... import`` in a module."""
    path, is_pkg = MODULES[name]
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            target = ".".join(base[:len(base) - node.level + 1] + ([node.module] if node.module else []))
            yield target, [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("qtheory"):
            yield node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("qtheory"):
                    yield a.name, []


def _edges(name):
    """Modules that ``name`` depends on (a ``from pkg import mod`` is the module)."""
    for target, names in _imports(name):
        subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
        yield from subs or [target]


def _layer(name):
    parts = name.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_layers_import_only_downwards():
    bad = []
    for name in MODULES:
        src = _layer(name)
        if src is None:
            continue                    # qtheory/__init__ (lazy names) and _compat
        for target in _edges(name):
            dst = _layer(target)
            if dst is not None and dst > src:
                bad.append(f"{name} -> {target}")
    assert not bad, bad


def test_no_import_cycles():
    graph = {n: {t for t in _edges(n) if t in MODULES and t != n} for n in MODULES
             if _layer(n) is not None}
    state, stack, cycles = {}, [], []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for t in graph.get(n, ()):
            if state.get(t) == 1:
                cycles.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t)
        stack.pop()
        state[n] = 2

    for n in graph:
        if n not in state:
            visit(n)
    assert not cycles, cycles


def test_no_private_names_across_packages():
    """A module may use its own package's private names, never another package's."""
    bad = []
    for name in MODULES:
        path, is_pkg = MODULES[name]
        own = name if is_pkg else name.rsplit(".", 1)[0]
        for target, names in _imports(name):
            pkg = target if target in MODULES and MODULES[target][1] else target.rsplit(".", 1)[0]
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private and pkg != own:
                bad.append(f"{name}: {private} from {target}")
    assert not bad, bad


def test_import_is_light():
    """``import qtheory`` loads none of sympy, matplotlib, pandas, dask or numba, and the
    first closed-form answer loads none of them either."""
    code = ("import sys, qtheory as qt; a = set(sys.modules); "
            "qt.MG1(0.5, qt.Exponential(1.0)).mean_response_time(qt.SRPT); "
            "heavy = ('sympy', 'matplotlib', 'pandas', 'dask', 'numba'); "
            "print([m for m in heavy if m in a], [m for m in heavy if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[] []", out
