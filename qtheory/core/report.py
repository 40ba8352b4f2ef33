"""Validation reports: each method's answer for one model, side by side, with a verdict.

A number is trusted when independent methods agree: analytic methods to their
numerical error, a simulation within its confidence interval (docs/theory). The
queues build these reports; :mod:`qtheory.analysis.validate` fills them for any model.
"""

import math
from dataclasses import dataclass, field

from scipy import stats as _st

#: |z| above this is a disagreement (a 4-sigma event has probability 6e-5 by chance).
Z_MAX = 4.0


@dataclass
class Row:
    """One method's answer: value, error (numerical error or standard error), CI, the
    z-score of the simulation against it, and its status ("ok", "FAIL", "n/a", "error")."""

    method: str
    value: float = math.nan
    error: float = math.nan
    ci: tuple = None
    z: float = math.nan
    status: str = "n/a"
    note: str = ""


@dataclass
class Report:
    """The methods' answers for one queue and policy, and the verdict ``passed``."""

    queue: str
    policy: str
    rows: list = field(default_factory=list)
    z_max: float = Z_MAX
    rtol: float = 1e-6

    @property
    def passed(self):
        """True when every available analytic value agrees with the others (to their
        errors and ``rtol``) and with the simulation (|z| < ``z_max``), at least two
        methods were compared, and no method broke ("error": an unexpected exception,
        unlike "n/a", a method that does not apply)."""
        if any(r.status == "error" for r in self.rows):
            return False
        usable = [r for r in self.rows if r.status != "n/a"]
        return len(usable) >= 2 and all(r.status == "ok" for r in usable)

    def row(self, method):
        for r in self.rows:
            if r.method == method:
                return r
        raise KeyError(method)

    def __str__(self):
        head = f"{self.policy} on {self.queue}"
        lines = [head, "-" * len(head),
                 f"{'method':<14}{'value':>14}{'error / 95% CI':>30}{'z':>8}  status"]
        for r in self.rows:
            if r.ci is not None:
                err = f"[{r.ci[0]:.6g}, {r.ci[1]:.6g}]"
            elif math.isfinite(r.error):
                err = f"± {r.error:.2g}"
            else:
                err = ""
            val = f"{r.value:.8g}" if math.isfinite(r.value) else "-"
            z = f"{r.z:+.2f}" if math.isfinite(r.z) else ""
            note = f"  ({r.note})" if r.note else ""
            lines.append(f"{r.method:<14}{val:>14}{err:>30}{z:>8}  {r.status}{note}")
        lines.append(f"verdict: {'PASSED' if self.passed else 'FAILED'}")
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))

    def records(self):
        return [dict(queue=self.queue, policy=self.policy, method=r.method, value=r.value,
                     error=r.error, ci_lo=r.ci[0] if r.ci else math.nan,
                     ci_hi=r.ci[1] if r.ci else math.nan, z=r.z, status=r.status,
                     note=r.note) for r in self.rows]

    def to_frame(self):
        """The table as a pandas DataFrame (needs pandas)."""
        return records_frame(self.records())


def records_frame(records):
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("to_frame() needs pandas, an optional extra of qtheory: "
                          "pip install 'qtheory[pandas]' (or print the report, or use "
                          ".records() for a list of dicts).") from None
    return pd.DataFrame.from_records(records)


def t_limit(z_max, replications):
    """The |t| (Student t, replications - 1 degrees of freedom) as unlikely as a normal
    |z| >= z_max: the threshold a simulation z-score is held to.

    Examples
    --------
    >>> round(t_limit(4.0, 10**6), 3), round(t_limit(4.0, 10), 2)
    (4.0, 7.0)
    """
    return float(_st.t.isf(_st.norm.sf(z_max), replications - 1))
