"""Time budgets and progress for long computations.

A computation that may run for more than a few seconds (adaptive quadrature on a hard
law, the SOAP engine near load 1, Gittins indices, a long simulation) calls
:func:`tick` in its loops. Inside :func:`budget`, a tick past the deadline raises
:class:`~qtheory.core.errors.BudgetError` (a ConvergenceError) naming the budget and
what was reached; a tick shows a progress bar (``tqdm``, where installed) once the
computation has run for :data:`PROGRESS_DELAY` seconds, in interactive use only (a
terminal or a Jupyter kernel) unless asked otherwise. The deadline is checked between
steps: a single vectorised step (a second or a few on a slow law) may run past it.
Outside a budget a tick costs one context-variable lookup.

Examples
--------
>>> import qtheory as qt
>>> q = qt.MG1(0.9, qt.Exponential(1.0))
>>> with qt.budget(max_time=60):
...     round(q.mean_response_time(qt.SRPT).value, 6)
3.552125
>>> q.mean_response_time(qt.SRPT, max_time=0.0)
Traceback (most recent call last):
...
qtheory.core.errors.BudgetError: E[T] under SRPT stopped at its time budget max_time = 0 s ...
"""

import contextlib
import contextvars
import math
import sys
import threading
import time

from .errors import BudgetError, ParameterError

#: Seconds a computation runs before its progress bar appears.
PROGRESS_DELAY = 2.0

_active = contextvars.ContextVar("qtheory_budget", default=None)


def _interactive():
    """A person is watching: stderr is a terminal, or the code runs in a Jupyter kernel."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":   # a notebook
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class Budget:
    """The deadline and progress bar of one top-level computation (see :func:`budget`).
    The bar is drawn by a watcher thread, so it keeps showing the elapsed time while a
    long vectorised step runs between two checks."""

    def __init__(self, max_time, what, progress, fix=None):
        self.max_time, self.what, self.fix = max_time, what, fix
        self.start = time.perf_counter()
        self.deadline = self.start + max_time
        self.ticks, self.stage = 0, None
        self._stop = threading.Event()
        self._watcher = None
        if progress:
            self._watcher = threading.Thread(target=self._watch, daemon=True)
            self._watcher.start()

    @property
    def elapsed(self):
        return time.perf_counter() - self.start

    def tick(self, n=1, stage=None, achieved=None):
        """Count ``n`` steps of work; raise BudgetError past the deadline (``achieved``:
        the relative error reached so far, where the caller knows it)."""
        self.ticks += n
        if stage is not None:
            self.stage = stage
        now = time.perf_counter()
        if now > self.deadline:
            raise BudgetError(self.what, self.max_time, now - self.start, self.stage, achieved,
                              self.fix)

    def _watch(self):
        if self._stop.wait(PROGRESS_DELAY):
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        bar = tqdm(desc=self.what, unit=" steps", leave=False, file=sys.stderr)
        try:
            while True:
                bar.n = self.ticks
                if self.stage is not None:
                    bar.set_postfix_str(self.stage, refresh=False)
                bar.refresh()
                if self._stop.wait(0.5):
                    break
        finally:
            bar.close()

    def close(self):
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
            self._watcher = None


@contextlib.contextmanager
def budget(max_time=None, what="the computation", progress=None, fix=None):
    """Run the block under a time budget of ``max_time`` seconds, with progress shown.

    Parameters
    ----------
    max_time : float or None
        Seconds the block may run; past them the next check raises
        :class:`~qtheory.core.errors.BudgetError` with the time spent, the stage reached
        and, where known, the error achieved. ``None``: no deadline (progress only).
    what : str
        What is computed, for the progress bar and the error message.
    progress : bool or None
        Show a progress bar after :data:`PROGRESS_DELAY` seconds: ``None`` in
        interactive use only, ``True`` always, ``False`` never.
    fix : str, optional
        What the error message advises (default: raise max_time, or simulate).

    A budget inside another budget adds nothing: the outer one governs. Without a
    deadline and without a bar, no budget is installed (the block runs unchecked) and
    ``None`` is yielded.

    Examples
    --------
    >>> with budget(max_time=10, what="a sum") as b:
    ...     for k in range(3):
    ...         tick(stage=f"term {k}")
    >>> b.ticks
    3
    """
    if max_time is None:
        max_time = math.inf
    elif not (isinstance(max_time, (int, float)) and max_time >= 0 and max_time == max_time):
        raise ParameterError(f"max_time = {max_time!r} is invalid: give the seconds the "
                             "computation may run (a number >= 0), or None for no limit.")
    outer = _active.get()
    if outer is not None:
        yield outer
        return
    show = _interactive() if progress is None else bool(progress)
    if max_time == math.inf and not show:   # nothing to stop, nothing to show: no checks
        yield None
        return
    b = Budget(float(max_time), what, show, fix)
    token = _active.set(b)
    try:
        yield b
    finally:
        _active.reset(token)
        b.close()


def tick(n=1, stage=None, achieved=None):
    """Report ``n`` steps of work to the active budget, if any (see :func:`budget`)."""
    b = _active.get()
    if b is not None:
        b.tick(n, stage, achieved)


def active():
    """The active :class:`Budget`, or None."""
    return _active.get()
