"""The module paths of qtheory 0.1 (``qtheory.soap``, ``qtheory.formulas``, ...) keep
working for one release: importing one gives the module at its new place, with a
DeprecationWarning naming it."""

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

#: old module -> its place in the layered package
MOVED = {
    "qtheory.errors": "qtheory.core.errors", "qtheory.params": "qtheory.core.params",
    "qtheory.result": "qtheory.core.result", "qtheory.numerics": "qtheory.core.numerics",
    "qtheory.distributions": "qtheory.laws.sizes", "qtheory.predictions": "qtheory.laws.predictions",
    "qtheory.joint": "qtheory.laws.joint", "qtheory.gittins": "qtheory.policies.gittins",
    "qtheory.formulas": "qtheory.methods.formula", "qtheory.soap": "qtheory.methods.soap",
    "qtheory.symbolic": "qtheory.methods.symbolic", "qtheory.sim": "qtheory.methods.sim",
    "qtheory.sim.engine": "qtheory.methods.sim.engine",
    "qtheory.sim.kernels": "qtheory.methods.sim.kernels",
    "qtheory.sim.generic": "qtheory.methods.sim.generic",
    "qtheory.sim.stats": "qtheory.methods.sim.stats", "qtheory.batchsim": "qtheory.methods.sim.batch",
    "qtheory.queue": "qtheory.queues.mg1", "qtheory.batch": "qtheory.queues.batch",
    "qtheory.continuous": "qtheory.queues.continuous", "qtheory.llm": "qtheory.queues.llm",
    "qtheory.validate": "qtheory.analysis.validate", "qtheory.optimize": "qtheory.analysis.optimize",
    "qtheory.bounds": "qtheory.analysis.bounds", "qtheory.sweep": "qtheory.tools.sweep",
    "qtheory.cli": "qtheory.tools.cli", "qtheory.reproduction": "qtheory.tools.reproduction",
}
#: moved, and still public at the old path without a warning
PUBLIC = {"qtheory.plot": "qtheory.tools.plot"}


class _Moved(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name in MOVED or name in PUBLIC:
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):
        new = MOVED.get(spec.name) or PUBLIC[spec.name]
        if spec.name in MOVED:
            warnings.warn(f"{spec.name} is now {new}; the old path goes in the next release",
                          DeprecationWarning, stacklevel=3)
        return importlib.import_module(new)

    def exec_module(self, module):
        pass


if not any(isinstance(f, _Moved) for f in sys.meta_path):
    sys.meta_path.append(_Moved())
