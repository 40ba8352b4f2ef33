"""Parameter sweeps on any :class:`concurrent.futures.Executor`, resumable from a
JSON-lines store: every finished point is written (and fsynced) at once, so a sweep
that is interrupted loses nothing and, run again, computes only what is missing."""

import concurrent.futures as cf
import itertools
import json
import os
import pickle
import traceback
import warnings
from collections.abc import Iterable, Mapping

import numpy as np

from ..core.errors import ParameterError

try:
    from tqdm import tqdm
except ImportError:  # tqdm is in the [dask] extra; without it there is no bar
    tqdm = None

try:
    import pandas as pd
except ImportError:
    pd = None

__all__ = ["sweep"]


def sweep(func, grid, executor=None, store=None, progress=True):
    """Evaluate ``func(**point)`` at every point of a parameter grid, in parallel.

    Parameters
    ----------
    func : callable
        Called with each grid point as keyword arguments. It may return a number; a
        :class:`qtheory.Result`, a simulation result or anything else with ``value``,
        ``error`` and ``method`` attributes (flattened into those columns, plus
        ``ci_lo``, ``ci_hi`` when it has a ``ci``; ``error`` is the object's own error
        measure: a numerical bound for a Result, the standard error for
        :class:`qtheory.SimulationResult`); or a dict of such (a Result under key ``k``
        gives columns ``k``, ``k_error``, ``k_method``). With the default process pool
        it must be picklable: defined at module level, not a lambda.
    grid : dict of lists, or iterable of dicts
        A dict ``{name: [values]}`` means the Cartesian product of its lists, in order
        (the last name varies fastest); an iterable of dicts lists the points one by one.
    executor : concurrent.futures.Executor, optional
        Where to run: a process pool on all cores by default (shut down at the end); a
        Dask cluster through ``distributed.Client(...).get_executor()``; a
        ``ThreadPoolExecutor`` for functions that cannot be pickled.
    store : str or path-like, optional
        A JSON-lines file, one record per finished point, appended and fsynced as each
        point finishes. Points that already have a successful record there are not
        computed again, so rerunning an interrupted sweep resumes it; a partially written
        last line (from a killed run) is dropped. Parameters and results must then be
        JSON-serialisable (numbers, strings, lists, dicts; NumPy values are converted).
    progress : bool, default True
        Show a tqdm progress bar (silently skipped when tqdm is not installed).

    Returns
    -------
    pandas.DataFrame or list of dict
        One row per grid point in grid order: the parameters, the flattened result and an
        ``exception`` column. A DataFrame when pandas is installed.

    Notes
    -----
    An exception raised by ``func`` at one point does not stop the sweep: that row gets
    ``exception = "TypeName: message"`` (the traceback is kept in the store's record) and
    no result columns, and a warning counts the failures. Failed points are computed
    again when the sweep is resumed from its store.

    Examples
    --------
    Mean response time of M/M/1 under FCFS, 1/(1 - rho), on a small grid:

    >>> from concurrent.futures import ThreadPoolExecutor
    >>> import qtheory as qt
    >>> def fcfs(rho, mean_size):
    ...     q = qt.MG1(rho / mean_size, qt.Exponential(rate=1 / mean_size))
    ...     return q.mean_response_time(qt.FCFS)
    >>> table = qt.sweep(fcfs, {"rho": [0.5, 0.8], "mean_size": [1.0, 2.0]},
    ...                  executor=ThreadPoolExecutor(2), progress=False)
    >>> table[["rho", "mean_size", "value", "method"]]
       rho  mean_size  value   method
    0  0.5        1.0    2.0  formula
    1  0.5        2.0    4.0  formula
    2  0.8        1.0    5.0  formula
    3  0.8        2.0   10.0  formula
    """
    points = _grid_points(grid)
    keys = [_key(p) for p in points] if store is not None else list(range(len(points)))
    records = _read_store(store) if store is not None else {}
    todo = [i for i, k in enumerate(keys)
            if k not in records or records[k].get("exception")]

    own_executor = executor is None
    if own_executor and todo:
        _check_picklable(func)
        executor = cf.ProcessPoolExecutor()
    bar = (tqdm(total=len(points), initial=len(points) - len(todo), desc="sweep")
           if progress and tqdm is not None else None)
    sink = open(store, "a", encoding="utf-8") if store is not None else None
    futures = {}
    try:
        futures = {executor.submit(_evaluate, func, points[i], store is not None): i
                   for i in todo}
        for future in cf.as_completed(futures):
            i = futures[future]
            try:
                record = future.result()
            except Exception as exc:  # the worker itself failed (crashed, unpicklable)
                record = _failure(points[i], exc)
            records[keys[i]] = record
            if sink is not None:
                _append(sink, record)
            if bar is not None:
                bar.update()
    finally:
        for future in futures:
            future.cancel()
        if sink is not None:
            sink.close()
        if bar is not None:
            bar.close()
        if own_executor and todo:
            executor.shutdown(cancel_futures=True)

    rows = [{**points[i], **{k: v for k, v in records[keys[i]].items()
                             if k not in ("params", "traceback")}}
            for i in range(len(points))]
    failed = [row["exception"] for row in rows if row["exception"]]
    if failed:
        warnings.warn(f"{len(failed)} of {len(rows)} sweep points failed; see the "
                      f"'exception' column (first: {failed[0]})", UserWarning,
                      stacklevel=2)
    return _table(rows, list(points[0]) if points else [])


def _grid_points(grid):
    """The list of points (dicts of parameters) that ``grid`` describes."""
    if isinstance(grid, Mapping):
        for name, values in grid.items():
            if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
                raise ParameterError(
                    f"grid[{name!r}] = {values!r} is not a list of values; wrap a single "
                    f"value in a list: {{{name!r}: [{values!r}]}}.")
        names = list(grid)
        return [dict(zip(names, combo)) for combo in itertools.product(*grid.values())]
    if isinstance(grid, Iterable) and not isinstance(grid, (str, bytes)):
        points = [dict(p) if isinstance(p, Mapping) else p for p in grid]
        for p in points:
            if not isinstance(p, dict):
                raise ParameterError(f"grid point {p!r} is not a dict of parameters; give "
                                     "a dict of lists or an iterable of dicts.")
        return points
    raise ParameterError(f"grid = {grid!r} must be a dict of lists (Cartesian product) "
                         "or an iterable of dicts (one per point).")


def _plain(value):
    """NumPy scalars and arrays as Python numbers and lists (JSON-friendly)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _json_default(value):
    """``json.dumps`` hook: NumPy values become Python ones, anything else is refused."""
    plain = _plain(value)
    if plain is value:
        raise TypeError(f"{type(value).__name__} is not JSON-serialisable")
    return plain


def _key(point):
    """The canonical JSON text of a point: its identity in the store."""
    try:
        return json.dumps(point, sort_keys=True, default=_json_default)
    except TypeError as exc:
        raise ParameterError(
            f"grid point {point!r} cannot be written to the store ({exc}); with store= use "
            "numbers or strings as parameter values (e.g. a policy's name, not the object)."
        ) from None


def _is_result(obj):
    """A Result, a simulation summary, or anything else with value, error and method."""
    return all(hasattr(obj, a) for a in ("value", "error", "method"))


def _flatten(result):
    """The columns that one result contributes to its row."""
    if _is_result(result):
        columns = {"value": _plain(result.value), "error": _plain(result.error),
                   "method": result.method}
        if getattr(result, "ci", None) is not None:
            columns["ci_lo"], columns["ci_hi"] = map(float, result.ci)
        return columns
    if isinstance(result, Mapping):
        columns = {}
        for name, item in result.items():
            if _is_result(item):
                sub = _flatten(item)
                columns[name] = sub.pop("value")
                columns.update({f"{name}_{k}": v for k, v in sub.items()})
            else:
                columns[name] = _plain(item)
        return columns
    return {"value": _plain(result)}


def _evaluate(func, point, to_store):
    """Run one point (in a worker) and return its record; never raises."""
    try:
        record = {"params": point, **_flatten(func(**point)), "exception": None}
        if to_store:
            json.dumps(record, default=_json_default)
        return record
    except Exception as exc:
        return _failure(point, exc)


def _failure(point, exc):
    return {"params": point, "exception": f"{type(exc).__name__}: {exc}",
            "traceback": "".join(traceback.format_exception(exc))}


def _check_picklable(func):
    try:
        pickle.dumps(func)
    except Exception as exc:
        raise ParameterError(
            f"func = {func!r} cannot be sent to worker processes ({exc}); define it at "
            "module level, or pass executor=concurrent.futures.ThreadPoolExecutor() "
            "(or a Dask client's get_executor(), which pickles lambdas)."
        ) from None


def _read_store(path):
    """Records of a JSON-lines store by point key, the last record of a point winning.

    A last line without its newline was cut by a killed run: it is removed from the file
    so that new records start on a line of their own.
    """
    if not os.path.exists(path):
        return {}
    with open(path, "rb") as f:
        data = f.read()
    complete = data.rfind(b"\n") + 1
    if complete < len(data):
        with open(path, "r+b") as f:
            f.truncate(complete)
    records = {}
    for number, line in enumerate(data[:complete].decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            records[_key(record["params"])] = record
        except (ValueError, KeyError, TypeError):
            raise ParameterError(
                f"store {os.fspath(path)!r}, line {number}, is not a sweep record; give a "
                "new file, or remove that line to resume.") from None
    return records


def _append(sink, record):
    sink.write(json.dumps(record, default=_json_default) + "\n")
    sink.flush()
    os.fsync(sink.fileno())


def _table(rows, param_names):
    """Rows as a DataFrame (pandas installed) or a list of dicts, parameters first."""
    if pd is None:
        return rows
    columns = list(dict.fromkeys(param_names + [c for r in rows for c in r
                                                 if c != "exception"] + ["exception"]))
    return pd.DataFrame(rows, columns=columns)
