"""Agreement between methods: formula, SOAP, symbolic and simulation side by side.

A number is trusted when independent methods agree (docs/theory/simulation.md): analytic
methods to their numerical error, the simulation within its confidence interval.
:func:`validate` reports one (queue, policy) pair, :func:`validate_all` a grid of them,
and :func:`check_samples` judges per-job output of *someone else's* simulator.

Examples
--------
>>> import qtheory as qt
>>> q = qt.MG1(0.5, qt.Exponential(1.0))
>>> report = validate(q, qt.PS, jobs=20_000, replications=4, seed=2,
...                   methods=("formula", "simulation"))
>>> report.passed
True
"""

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats as _st

from ..core.errors import ParameterError, PolicyError
from ..core.report import Z_MAX, Report, Row, records_frame, t_limit  # noqa: F401  (re-exported)
from ..core.result import Estimate
from ..core.types import PolicyLike
from ..methods.sim.stats import batch_means, lag1_autocorrelation
from ..policies.catalogue import as_policy
from ..policies.registry import catalogue

ANALYTIC = ("formula", "soap", "symbolic")


def _analytic(q, policy, method):
    r = q.mean_response_time(policy, method=method)
    if method == "symbolic":
        import sympy
        expr = getattr(r, "value", r)
        if not isinstance(expr, sympy.Basic):
            return float(expr), 0.0, "exact"
        try:
            from ..methods.symbolic import evaluate
        except ImportError:
            return float(sympy.N(expr, 17)), 0.0, "exact"
        return float(evaluate(expr, 17)), 0.0, "exact, evaluated to 17 digits"
    return float(r), float(getattr(r, "error", 0.0)), ""


def validate(q, policy: PolicyLike = None, jobs: int = 10**6, replications: int = 10,
             seed: int = 1, methods=None, reference=None, z_max: float = Z_MAX,
             rtol: float = 1e-6, quantiles=None, **sim_options) -> Report:
    """Compute E[T] of ``policy`` on ``q`` by every available method and compare.

    A batch queue (``qt.BatchQueue``, ``qt.ContinuousBatching``) is validated by its own
    methods (its ``validate``); ``policy`` is then its admission policy, if it has one.

    Parameters
    ----------
    q : qtheory.MG1
    policy : policy class or instance
    jobs, replications, seed
        Simulation size (see :func:`qtheory.methods.sim.simulate`); ``jobs=0`` skips simulation.
    methods : iterable of str, optional
        Subset of ("formula", "soap", "symbolic", "simulation"); default all.
    reference : dict, optional
        Extra values to check, e.g. ``{"my paper, eq. 7": 2.31}`` (exact, error 0) or
        ``{"mine": (2.31, 0.01)}`` (value, absolute error).
    z_max : float
        Simulation disagrees with a value when ``|z|`` is beyond the Student-t quantile as
        unlikely as a normal ``z_max`` (:func:`t_limit`), where
        z = (simulated - value) / sqrt(std_error^2 + error^2).
    rtol : float
        Relative tolerance between analytic values, on top of their error estimates.
    quantiles : tuple of float or True, optional
        Also compare the tail: E[T^2] and these quantiles of T from the response-time
        distribution (:meth:`qtheory.MG1.response_time_distribution`) against the
        simulation's (rows "E[T^2]", "P99", ...; ``True``: P50, P90, P99, P99.9).
    **sim_options
        Passed to the simulator (``warmup``, ``executor``, ...).

    Returns
    -------
    Report
        ``print(report)`` shows the table; ``report.passed`` is the verdict.

    Methods that cannot evaluate this policy (not implemented, no closed form, module not
    available) are listed as "n/a" with the reason.
    """
    if not hasattr(q, "joint"):          # not an M/G/1 queue: its own methods side by side
        options = dict(jobs=jobs, replications=replications, seed=seed)
        if policy is not None:
            options["policy"] = policy
        return q.validate(**options)
    if policy is None:
        raise ParameterError("policy is missing: validate(q, policy) compares the methods "
                             "for one policy, e.g. qt.validate(q, qt.SRPT).")
    policy = as_policy(policy)
    methods = tuple(methods) if methods is not None else (*ANALYTIC, "simulation")
    bad = set(methods) - {*ANALYTIC, "simulation"}
    if bad:
        raise ParameterError(f"methods = {sorted(bad)} are unknown: use any of "
                             f"{(*ANALYTIC, 'simulation')}.")
    report = Report(repr(q), _label(policy), z_max=z_max, rtol=rtol)
    for m in ANALYTIC:
        if m not in methods:
            continue
        try:
            value, error, note = _analytic(q, policy, m)
            report.rows.append(Row(m, value, error, status="ok", note=note))
        except (ImportError, NotImplementedError, PolicyError) as exc:
            report.rows.append(Row(m, status="n/a", note=_short(exc)))
        except Exception as exc:  # a method that breaks is reported, not fatal
            report.rows.append(Row(m, status="error", note=_short(exc)))
    for name, v in (reference or {}).items():
        value, error = (v if isinstance(v, tuple) else (v, 0.0))
        report.rows.append(Row(str(name), float(value), float(error), status="ok",
                               note="reference"))
    analytic = [r for r in report.rows if r.status == "ok"]
    # analytic values against each other
    for r in analytic:
        for o in analytic:
            if o is r:
                continue
            tol = r.error + o.error + rtol * max(abs(r.value), abs(o.value))
            if abs(r.value - o.value) > tol:
                r.status = "FAIL"
                r.note = (r.note + "; " if r.note else "") + f"differs from {o.method}"
                break
    if "simulation" in methods and jobs:
        try:
            s = q.simulate(policy, jobs=jobs, replications=replications, seed=seed,
                           quantiles=quantiles, **sim_options)
        except (NotImplementedError, PolicyError) as exc:
            report.rows.append(Row("simulation", status="n/a", note=_short(exc)))
            return report
        sim = Row("simulation", s.mean_response_time, s.std_error, s.ci, status="ok",
                  note=f"{replications} x {jobs} jobs")
        limit = t_limit(z_max, replications)
        zs = []
        for r in analytic:
            r.z = (s.mean_response_time - r.value) / math.hypot(s.std_error, r.error)
            zs.append(abs(r.z))
            if abs(r.z) >= limit:
                r.status = "FAIL"
                r.note = (r.note + "; " if r.note else "") + (
                    f"simulation |z| = {abs(r.z):.1f} >= {limit:.2f}")
        if zs and max(zs) >= limit:
            sim.status = "FAIL"
        report.rows.append(sim)
        if quantiles is not None:
            report.rows.extend(_tail_rows(q, policy, s, limit))
    return report


def _tail_rows(q, policy, s, limit):
    """E[T^2] and the quantiles: the distribution's value and error, the simulation's
    estimate as the z-score against it; "n/a" with the reason where there is no analytic
    value (PS's quantiles, say, beside its closed E[T^2])."""
    try:
        d = q.response_time_distribution(policy)
    except PolicyError as exc:
        return [Row("tail", status="n/a", note=_short(exc))]
    wanted = [("E[T^2]", lambda: d.moment(2), s.moment(2))]
    wanted += [(f"P{100 * p:g}", lambda p=p: d.quantile(p), est)
               for p, est in s.quantiles.items()]
    rows = []
    for name, exact, est in wanted:
        try:
            exact = exact()
        except PolicyError as exc:
            rows.append(Row(name, status="n/a", note=_short(exc)))
            continue
        z = (est.mean - exact.value) / math.hypot(est.std_error, exact.error)
        ok = abs(z) < limit
        rows.append(Row(name, exact.value, exact.error, est.ci, z, "ok" if ok else "FAIL",
                        f"simulated {est.mean:.6g}" + ("" if ok else
                                                        f"; |z| >= {limit:.2f}")))
    return rows


def _label(policy):
    """``SRPT``, ``Trail(c=0.5)``, ``OneBit(preemptive='resume')``, ..."""
    text = repr(policy)
    return policy.name if text == f"{policy.name}()" or "<" in text else text


def _short(exc):
    text = str(exc).split("\n")[0]
    return f"{type(exc).__name__}: {text[:70]}"


@dataclass
class ValidationSuite:
    """Reports of :func:`validate_all`."""

    reports: list

    @property
    def passed(self):
        return all(r.passed for r in self.reports)

    @property
    def failures(self):
        return [r for r in self.reports if not r.passed]

    def __str__(self):
        lines = [f"{'policy':<28}{'queue':<60}{'verdict':>8}"]
        for r in self.reports:
            lines.append(f"{r.policy[:27]:<28}{r.queue[:59]:<60}"
                         f"{'ok' if r.passed else 'FAILED':>8}")
        lines.append(f"{len(self.reports) - len(self.failures)}/{len(self.reports)} passed")
        return "\n".join(lines)

    def to_frame(self):
        return records_frame([rec for r in self.reports for rec in r.records()])


def validate_all(policies=None, laws=None, loads=(0.5, 0.9), prediction=None, jobs=200_000,
                 replications=8, seed=1, methods=None, generic_jobs=4000, **options):
    """:func:`validate` over a grid: every policy x size law x load.

    Parameters
    ----------
    policies : iterable, optional
        Policies, or (policy, kind) pairs with kind None, "prediction" or "bit" (the
        information the queue gives). Default: :func:`catalogue` of each law.
    laws : iterable of size laws, optional
        Default: Exp(1) and Weibull(0.5, 0.5) (mean 1, E[X^2] = 6).
    loads : iterable of float
        Loads rho; the arrival rate is rho / E[X].
    prediction : prediction model, optional
        The predictions of prediction-based policies (default ``qt.ExpNoise()``); bit
        policies get ``qt.Threshold(E[X], prediction)``.
    jobs, replications, seed, methods
        As in :func:`validate` (each cell gets its own seed).
    generic_jobs : int
        Jobs per replication for policies served by the Python rank loop (``qt.Rank``).
    **options
        Passed to :func:`validate`.

    Returns
    -------
    ValidationSuite
        ``print(suite)`` lists the verdicts; ``suite.reports`` holds every table.

    Examples
    --------
    >>> import qtheory as qt
    >>> suite = validate_all([qt.PS, qt.SRPT], laws=[qt.Exponential(1.0)], loads=(0.5,),
    ...                      jobs=20_000, replications=4, methods=("formula", "simulation"))
    >>> suite.passed, len(suite.reports)
    (True, 2)
    """
    from ..laws.convert import as_size_law
    from ..laws.predictions import ExpNoise, Threshold
    from ..laws.sizes import Exponential, Weibull
    from ..methods.sim.engine import Plan
    from ..queues.mg1 import MG1
    laws = (Exponential(1.0), Weibull(0.5, 0.5)) if laws is None else tuple(laws)
    prediction = ExpNoise() if prediction is None else prediction
    reports = []
    k = 0
    for law in laws:
        law = as_size_law(law)
        cells = catalogue(law) if policies is None else [
            c if isinstance(c, tuple) else (as_policy(c), as_policy(c).descriptor)
            for c in policies]
        for rho in loads:
            for p, kind in cells:
                info = {None: None, "size": None, "prediction": prediction,
                        "bit": Threshold(float(law.mean), prediction)}[kind]
                q = MG1(rho / law.mean, law, info)
                k += 1
                n = jobs
                if jobs and Plan(q, as_policy(p)).loop == "generic":
                    n = min(jobs, generic_jobs)
                reports.append(validate(q, p, jobs=n, replications=replications,
                                        seed=seed + k, methods=methods, **options))
    return ValidationSuite(reports)


@dataclass
class SampleCheck:
    """Verdict of :func:`check_samples`.

    ``agrees`` is True when the theory value lies within ``z_max`` standard errors of the
    batch-means estimate. ``difference`` = estimate - theory (``relative_difference``
    relative to theory), ``ci`` its 95% interval (Student t over batches), ``p_value``
    the two-sided p-value of "the samples have mean ``theory``".
    """

    agrees: bool
    estimate: float
    theory: float
    std_error: float
    ci: tuple
    z: float
    p_value: float
    batches: int
    lag1: float
    by_size: list = None
    notes: list = field(default_factory=list)
    #: With ``quantiles=``: for each p, the batch-quantile estimate against the theory.
    quantiles: list = None

    @property
    def difference(self):
        return self.estimate - self.theory

    @property
    def relative_difference(self):
        return self.difference / self.theory

    def __str__(self):
        verdict = "AGREES with" if self.agrees else "DISAGREES with"
        out = [f"samples {verdict} theory: mean {self.estimate:.6g} (95% CI "
               f"[{self.ci[0]:.6g}, {self.ci[1]:.6g}], {self.batches} batch means) vs "
               f"theory {self.theory:.6g}; difference {self.relative_difference:+.2%}, "
               f"z = {self.z:+.2f}, p = {self.p_value:.3g}"]
        for r in self.quantiles or ():
            out.append(f"P{100 * r['p']:g}: samples {r['estimate']:.6g} ± {r['std_error']:.2g} "
                       f"vs theory {r['theory']:.6g} (z = {r['z']:+.2f}) "
                       + ("agrees" if r["agrees"] else "DISAGREES"))
        out += [f"note: {n}" for n in self.notes]
        return "\n".join(out)


def check_samples(response_times, q, policy: PolicyLike = None, sizes=None, batches: int = 30,
                  warmup: int = 0, z_max: float = Z_MAX, theory=None,
                  quantiles=None) -> "SampleCheck":
    """Do per-job response times from another simulator agree with theory?

    Successive response times are autocorrelated, so the series is cut into ``batches``
    contiguous batches whose means are nearly independent; the test is a Student-t test
    of their mean against the theory value (method "auto": formula, else SOAP).

    Parameters
    ----------
    response_times : array_like
        One response time per job, in arrival (or departure) order, one replication.
    q, policy
        The queue and policy the samples claim to come from. A
        :class:`~qtheory.queues.dispatch.Dispatch` brings its own policy (``policy``, if
        given, replaces it) and is compared with its exact, else mean-field, value.
    sizes : array_like, optional
        The jobs' sizes: adds a per-size-quintile comparison to E[T(x)] (size-based and
        blind policies only).
    batches : int
        Number of batches (>= 10); the lag-1 correlation of batch means is reported and a
        note asks for more jobs when it exceeds 0.2.
    warmup : int
        Leading samples to drop.
    z_max : float
        Disagreement threshold on ``|z|``.
    theory : float, optional
        The value to test against (default: ``q.mean_response_time(policy)``).
    quantiles : tuple of float, optional
        Also test these quantiles: the mean of the batches' own p-quantiles (nearly
        independent, like the batch means) against the p-quantile of
        :meth:`qtheory.MG1.response_time_distribution`, by a Student-t test; every one
        must agree for ``agrees``. Batches should hold a few hundred jobs per 1 − p.

    Returns
    -------
    SampleCheck

    Examples
    --------
    Per-job output of our own simulator agrees with the Pollaczek-Khinchine formula, and
    a wrong theory value is caught:

    >>> import qtheory as qt
    >>> q = qt.MG1(0.7, qt.Exponential(1.0))
    >>> s = q.simulate(qt.FCFS, jobs=200_000, replications=2, seed=4, per_job=True)
    >>> T = s.per_job["response_time"]
    >>> check_samples(T, q, qt.FCFS).agrees
    True
    >>> check_samples(T, q, qt.FCFS, theory=1 / (1 - 0.7) * 1.2).agrees
    False
    """
    x = np.asarray(response_times, float).ravel()
    warmup = int(warmup)
    if warmup < 0 or warmup >= x.size:
        raise ParameterError(f"warmup = {warmup} is invalid: it must be in [0, {x.size}).")
    x = x[warmup:]
    if not np.all(np.isfinite(x)) or np.any(x < 0):
        raise ParameterError("response_times must be finite and >= 0: drop NaN or negative "
                             "entries (jobs that never finished?).")
    if not (isinstance(batches, (int, np.integer)) and batches >= 10):
        raise ParameterError(f"batches = {batches!r} is invalid: use an integer >= 10 "
                             "(30 is typical).")
    if x.size < 10 * batches:
        raise ParameterError(f"{x.size} samples are too few for {batches} batches: pass at "
                             f"least {10 * batches} response times or fewer batches.")
    if hasattr(q, "rule"):   # a Dispatch: its own policy, theory its exact or mean-field value
        if policy is not None:
            q = type(q)(q.arrival_rate, q.size, q.servers, q.rule, policy, q.prediction)
        policy = q.policy
        if theory is None:
            theory = float(q.mean_response_time())
        if sizes is not None or quantiles is not None:
            raise ParameterError("check_samples on a Dispatch compares the mean only: drop "
                                 "sizes= and quantiles=.")
    elif policy is None:
        raise ParameterError("policy is missing: check_samples(times, q, policy).")
    policy = as_policy(policy)
    if theory is None:
        theory = float(q.mean_response_time(policy))
    # in units of the largest sample: squares of times near 1e300 would overflow (a
    # constant series of 1e300 once "agreed" with E[T] = 2 through an infinite CI)
    unit = float(x.max()) if x.max() > 0 else 1.0
    bm = batch_means(x / unit, batches)
    mean, se = float(bm.mean()), float(bm.std(ddof=1) / math.sqrt(batches))
    z = (mean - theory / unit) / se if se > 0 else (0.0 if mean * unit == theory else math.inf)
    est, se = mean * unit, se * unit
    tq = float(_st.t.ppf(0.975, batches - 1))
    p = float(2 * _st.t.sf(abs(z), batches - 1))
    lag1 = lag1_autocorrelation(bm)
    notes = []
    if lag1 > 0.2:
        notes.append(f"batch means are correlated (lag-1 {lag1:.2f}): the interval is too "
                     "narrow; pass more jobs (longer batches).")
    by_size = None
    if sizes is not None:
        by_size = _by_size(x, np.asarray(sizes, float).ravel()[warmup:], q, policy, z_max)
    tails = None
    if quantiles is not None:
        d = q.response_time_distribution(policy)
        blocks = x[:x.size // batches * batches].reshape(batches, -1)
        tails = []
        for pq in quantiles:
            per = Estimate.of(np.quantile(blocks, pq, axis=1))
            exact = d.quantile(pq)
            zq = (per.mean - exact.value) / math.hypot(per.std_error, exact.error)
            tails.append(dict(p=float(pq), estimate=per.mean, std_error=per.std_error,
                              theory=exact.value, z=zq, agrees=bool(abs(zq) < z_max)))
            if blocks.shape[1] * (1 - pq) < 50:
                notes.append(f"P{100 * pq:g}: batches of {blocks.shape[1]} jobs hold fewer "
                             "than 50 beyond the quantile; its estimate is biased; pass "
                             "more jobs or fewer batches.")
    agrees = bool(abs(z) < z_max) and all(r["agrees"] for r in tails or ())
    return SampleCheck(agrees, est, float(theory), se, (est - tq * se, est + tq * se),
                       float(z), p, int(batches), lag1, by_size, notes, tails)


def _by_size(T, sizes, q, policy, z_max, bins=5):
    """Per size-quintile: mean T (samples) vs mean of E[T(x)] over the bin's sizes."""
    if sizes.shape != T.shape:
        raise ParameterError("sizes must have one entry per response time.")
    if policy.descriptor == "prediction" or policy.descriptor == "bit":
        return None
    edges = np.quantile(sizes, np.linspace(0, 1, bins + 1))
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (sizes >= lo) & (sizes <= hi)
        t, s = T[m], sizes[m]
        pick = np.quantile(s, np.linspace(0.01, 0.99, 25))
        theory = float(np.mean([q.response_time(policy, size=v) for v in pick]))
        bm = batch_means(t, 10) if t.size >= 100 else t
        se = float(np.std(bm, ddof=1) / math.sqrt(len(bm)))
        out.append({"sizes": (float(lo), float(hi)), "mean": float(t.mean()),
                    "theory": theory, "z": (float(t.mean()) - theory) / se if se > 0 else 0.0})
    return out
