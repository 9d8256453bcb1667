"""等次分布: how the share of 好 differs between units, and which differences are more than chance.

For each unit and quarter: n people rated (不确定等次 and missing grades excluded) and x of them 好.
The benchmark p0 is the overall 好 share of that quarter across the selected units.

* Funnel plot: exact binomial limits around p0 at 95 % and 99.8 %; a unit-quarter is flagged
  (``inflation_flag``) when P(X ≥ x | n, p0) < 0.001, i.e. x/n lies above the 99.8 % upper limit.
  Optionally the Spiegelhalter (2005) multiplicative overdispersion adjustment: φ is the mean of
  the squared standardised Pearson residuals, winsorised at the 10th and 90th percentiles, and the
  limits become p0 ± z·sqrt(φ·p0(1 − p0)/n) when φ > 1.
* Shrunk share: beta-binomial empirical Bayes, (x + a)/(n + a + b), with a and b fitted by the
  method of moments across the units of the quarter (guards for degenerate fits, see
  ``fit_beta_binomial``), and a 95 % posterior interval of Beta(x + a, n − x + b).
* Share of 一般 or worse, quota use (好 count against floor(quota × n)), and the trend per unit.

Exact binomial tails are computed in log space with numpy (no scipy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import duckdb
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics import store
from analytics.distribution import SMALL, chart_title, report_filters, unit_quarter_spread
from analytics.figures import FLAG_COLOR, GRADE_COLORS, MUTED_COLOR, NEUTRAL_COLOR, pct
from analytics.filters import Filters
from analytics.findings import Finding
from analytics.registry import ReportArgs, report

PAGE = "pages/grade_spread.py"
GOOD_QUOTA = 0.4  # DOMAIN.md good_quota: at most 40 % 好 per unit and quarter, rounded down
ALPHA_FLAG = 0.001  # one-sided tail beyond the 99.8 % two-sided limit
ALPHA_95 = 0.025  # one-sided tail beyond the 95 % two-sided limit
Z_998 = 3.090232306167813  # standard normal quantile 0.999
Z_95 = 1.959963984540054  # standard normal quantile 0.975
WINSOR = 0.10  # Spiegelhalter (2005): z-scores winsorised at the 10th and 90th percentiles
RATED_GRADES = ("好", "较好", "一般", "较差")
LOW_GRADES = ("一般", "较差")
MIN_UNITS_FOR_FIT = 3
LIMIT_COLUMNS = ["lo95", "hi95", "lo998", "hi998"]


# --- exact binomial tails ------------------------------------------------------------------------

_LOG_FACTORIALS = np.zeros(1)  # log k! for k = 0.., from math.lgamma, grown on demand


def _log_factorials(n: int) -> np.ndarray:
    global _LOG_FACTORIALS
    if len(_LOG_FACTORIALS) <= n:
        size = max(n + 1, 2 * len(_LOG_FACTORIALS))
        _LOG_FACTORIALS = np.array([math.lgamma(k + 1) for k in range(size)])
    return _LOG_FACTORIALS[: n + 1]


def _log_pmf(n: int, p: float) -> np.ndarray:
    """log P(X = k) for k = 0..n, X ~ Binomial(n, p), 0 < p < 1."""
    k = np.arange(n + 1, dtype=float)
    lf = _log_factorials(n)
    return lf[n] - lf - lf[::-1] + k * math.log(p) + (n - k) * math.log1p(-p)


@lru_cache(maxsize=512)
def _tails(n: int, p: float) -> tuple[np.ndarray, np.ndarray]:
    """(upper, lower): upper[k] = P(X ≥ k) and lower[k] = P(X ≤ k) for k = 0..n.

    Each tail is summed from its own end in log space, so small tail probabilities keep their
    relative precision.
    """
    if n < 0:
        raise ValueError("n must be non-negative")
    if p <= 0.0:
        point = np.zeros(n + 1)
        point[0] = 1.0
    elif p >= 1.0:
        point = np.zeros(n + 1)
        point[n] = 1.0
    else:
        log_pmf = _log_pmf(n, p)
        upper = np.exp(np.logaddexp.accumulate(log_pmf[::-1])[::-1])
        lower = np.exp(np.logaddexp.accumulate(log_pmf))
        return np.minimum(upper, 1.0), np.minimum(lower, 1.0)
    return np.cumsum(point[::-1])[::-1], np.cumsum(point)


def binom_sf(x: int, n: int, p: float) -> float:
    """P(X ≥ x) for X ~ Binomial(n, p)."""
    if x <= 0:
        return 1.0
    if x > n:
        return 0.0
    return float(_tails(int(n), float(p))[0][int(x)])


def binom_cdf(x: int, n: int, p: float) -> float:
    """P(X ≤ x) for X ~ Binomial(n, p)."""
    if x < 0:
        return 0.0
    if x >= n:
        return 1.0
    return float(_tails(int(n), float(p))[1][int(x)])


def _upper_count(upper: np.ndarray, alpha: float) -> int:
    """The smallest k with P(X ≥ k + 1) < alpha: x is flagged high exactly when x > k."""
    return int(np.nonzero(np.append(upper[1:], 0.0) < alpha)[0][0])


def _lower_count(lower: np.ndarray, alpha: float) -> int:
    """The largest k with P(X ≤ k − 1) < alpha: x is flagged low exactly when x < k."""
    return int(np.nonzero(np.concatenate(([0.0], lower[:-1])) < alpha)[0][-1])


def upper_limit_count(n: int, p: float, alpha: float) -> int:
    return _upper_count(_tails(int(n), float(p))[0], alpha)


def lower_limit_count(n: int, p: float, alpha: float) -> int:
    return _lower_count(_tails(int(n), float(p))[1], alpha)


def _limits_from_tails(n: int, upper: np.ndarray, lower: np.ndarray) -> dict[str, float]:
    return {
        "lo95": _lower_count(lower, ALPHA_95) / n, "hi95": _upper_count(upper, ALPHA_95) / n,
        "lo998": _lower_count(lower, ALPHA_FLAG) / n, "hi998": _upper_count(upper, ALPHA_FLAG) / n,
    }


def exact_limits(n: int, p0: float) -> dict[str, float]:
    """Funnel limits (as shares) at n: lo95, hi95, lo998, hi998. A share strictly above hi998 has
    P(X ≥ x) < 0.001; strictly above hi95, P(X ≥ x) < 0.025 (and the same below the lower ones)."""
    if n <= 0:
        return dict.fromkeys(LIMIT_COLUMNS, math.nan)
    return _limits_from_tails(n, *_tails(int(n), float(p0)))


def _exact_row(n: int, x: int, p0: float, cap: int) -> dict[str, float]:
    """Everything exact for one unit-quarter from one pair of tails: the P-value P(X ≥ x), the
    funnel limits at n, and P(X = cap), the chance of landing exactly on the quota."""
    if n <= 0:
        return {"p_value": math.nan, **dict.fromkeys(LIMIT_COLUMNS, math.nan), "p_at_cap": math.nan}
    upper, lower = _tails(int(n), float(p0))
    p_at_cap = float(upper[cap] - (upper[cap + 1] if cap < n else 0.0)) if 0 <= cap <= n else 0.0
    return {"p_value": float(upper[x]) if 0 < x <= n else (1.0 if x <= 0 else 0.0),
            **_limits_from_tails(n, upper, lower), "p_at_cap": p_at_cap}


def _exact_rows(n: np.ndarray, x: np.ndarray, p0: np.ndarray, cap: np.ndarray) -> dict[str, np.ndarray]:
    """``_exact_row`` for arrays of unit-quarters at once: the tails and limits are computed once
    per distinct (n, p0) (a quarter's units share p0, and sizes repeat), and every row reads its
    P-values from them."""
    rows = len(n)
    out = {c: np.full(rows, np.nan) for c in ["p_value", *LIMIT_COLUMNS, "p_at_cap"]}
    rated = n > 0
    if not rated.any():
        return out
    ns, ps, inverse = _distinct_pairs(n[rated], p0[rated])
    width = int(ns.max()) + 2
    upper = np.zeros((len(ns), width))  # upper[i, k] = P(X ≥ k) for pair i, 0 beyond its n
    limits = np.empty((len(ns), len(LIMIT_COLUMNS)))
    for i, (pn, pp) in enumerate(zip(ns, ps, strict=True)):
        up, low = _tails(int(pn), float(pp))
        upper[i, : int(pn) + 1] = up
        limits[i] = list(_limits_from_tails(int(pn), up, low).values())
    rn, rx, rc = n[rated], x[rated], cap[rated]
    p_value = np.where(rx <= 0, 1.0, np.where(rx > rn, 0.0, upper[inverse, np.clip(rx, 0, width - 1)]))
    cap_ok = (rc >= 0) & (rc <= rn)
    cc = np.clip(rc, 0, width - 2)
    p_at_cap = np.where(cap_ok, upper[inverse, cc] - upper[inverse, cc + 1], 0.0)
    out["p_value"][rated] = p_value
    out["p_at_cap"][rated] = p_at_cap
    for j, column in enumerate(LIMIT_COLUMNS):
        out[column][rated] = limits[inverse, j]
    return out


def _adjusted_rows(n: np.ndarray, p0: np.ndarray, phi: np.ndarray) -> dict[str, np.ndarray]:
    """``adjusted_limits`` for arrays (NaN where n is 0 or φ is NaN), the same arithmetic."""
    ok = (n > 0) & ~np.isnan(phi)
    n_ok = np.where(ok, n, 1).astype(float)
    p = np.where(ok, p0, 0.5)
    se = np.sqrt(np.where(phi > 1, phi, 1.0) * p * (1 - p) / n_ok)
    out = {"lo95": np.maximum(0.0, p - Z_95 * se), "hi95": np.minimum(1.0, p + Z_95 * se),
           "lo998": np.maximum(0.0, p - Z_998 * se), "hi998": np.minimum(1.0, p + Z_998 * se)}
    return {c: np.where(ok, v, np.nan) for c, v in out.items()}


def adjusted_limits(n: int, p0: float, phi: float) -> dict[str, float]:
    """Spiegelhalter (2005) multiplicative overdispersion: p0 ± z·sqrt(φ·p0(1 − p0)/n), clipped to [0, 1]."""
    if n <= 0:
        return {"lo95": math.nan, "hi95": math.nan, "lo998": math.nan, "hi998": math.nan}
    se = math.sqrt((phi if phi > 1 else 1.0) * p0 * (1 - p0) / n)  # φ ≤ 1 or NaN: no widening
    return {
        "lo95": max(0.0, p0 - Z_95 * se), "hi95": min(1.0, p0 + Z_95 * se),
        "lo998": max(0.0, p0 - Z_998 * se), "hi998": min(1.0, p0 + Z_998 * se),
    }


def overdispersion(x: np.ndarray, n: np.ndarray, p0: float) -> float:
    """Spiegelhalter's φ: mean of the squared standardised Pearson residuals
    z = (x/n − p0)/sqrt(p0(1 − p0)/n), after winsorising z at its 10th and 90th percentiles.
    NaN when it cannot be estimated (no units, or p0 is 0 or 1)."""
    keep = n > 0
    x, n = np.asarray(x, float)[keep], np.asarray(n, float)[keep]
    if len(n) == 0 or not 0 < p0 < 1:
        return math.nan
    z = (x / n - p0) / np.sqrt(p0 * (1 - p0) / n)
    lo, hi = np.percentile(z, [100 * WINSOR, 100 * (1 - WINSOR)])
    return float(np.mean(np.clip(z, lo, hi) ** 2))


# --- beta-binomial empirical Bayes ---------------------------------------------------------------

@dataclass(frozen=True)
class BetaFit:
    a: float
    b: float
    units: int
    prior_mean: float  # the unweighted mean of the units' shares
    between_var: float  # the method-of-moments estimate of the between-unit variance τ²
    note: str  # which guard, if any, was used

    @property
    def strength(self) -> float:
        return self.a + self.b


def fit_beta_binomial(x: np.ndarray, n: np.ndarray) -> BetaFit | None:
    """Method-of-moments fit of Beta(a, b) to the units' true shares (units with n ≥ 1).

    m = mean of the shares p_i = x_i/n_i; s² their sample variance (divisor I − 1); the expected
    binomial part of s² is m(1 − m)·mean(1/n_i), so τ² = s² − m(1 − m)·mean(1/n_i), and a + b =
    m(1 − m)/τ² − 1, a = m(a + b). Guards: fewer than 3 units → None (no shrinkage); m = 0 or 1 →
    everyone shares the same value (a + b = the total n, shrunk = m); τ² ≤ 0 (no between-unit
    spread beyond chance) or a + b above the total n → a + b = total n (the prior never weighs
    more than all the quarter's data); a + b below 1 → a + b = 1.
    """
    x, n = np.asarray(x, float), np.asarray(n, float)
    keep = n > 0
    x, n = x[keep], n[keep]
    units = len(n)
    if units < MIN_UNITS_FOR_FIT:
        return None
    shares = x / n
    m = float(shares.mean())
    total = float(n.sum())
    if m <= 0.0 or m >= 1.0:
        return BetaFit(m * total, (1 - m) * total, units, m, 0.0, "各单位比例相同，完全合并")
    tau2 = float(shares.var(ddof=1) - m * (1 - m) * np.mean(1 / n))
    note = "矩估计"
    if tau2 <= 0:
        strength, note = total, "单位间差异不超过随机波动，先验强度取本季度总人数"
    else:
        strength = m * (1 - m) / tau2 - 1
        if strength > total:
            strength, note = total, "先验强度超过本季度总人数，截至总人数"
        elif strength < 1.0:
            strength, note = 1.0, "单位间差异极大，先验强度取下限1"
    return BetaFit(m * strength, (1 - m) * strength, units, m, tau2, note)


def beta_quantiles(a: np.ndarray, b: np.ndarray, qs: tuple[float, ...] = (0.025, 0.975),
                   points: int = 2001, chunk: int = 256) -> np.ndarray:
    """Quantiles of Beta(a, b) for arrays a, b (shape (len(a), len(qs))), accurate to about 1e-5.

    Numerical integration on the logit scale s = log(t/(1 − t)), where the density
    exp(a·s − (a + b)·log(1 + e^s)) has no singularity at t = 0 or 1. The grid is uniform in v with
    s = mode + sd·sinh(v): dense near the mode, reaching 12 sd plus the slow exponential tails (30/a
    to the left, 30/b to the right); trapezoid rule in v, linear interpolation of the CDF.
    """
    a = np.atleast_1d(np.asarray(a, float))
    b = np.atleast_1d(np.asarray(b, float))
    out = np.empty((len(a), len(qs)))
    u = np.linspace(-1.0, 1.0, points)[None, :]
    for lo in range(0, len(a), chunk):
        ca, cb = a[lo:lo + chunk], b[lo:lo + chunk]
        mode, sd = np.log(ca / cb), np.sqrt((ca + cb) / (ca * cb))
        v_left, v_right = np.arcsinh(12 + 30 / (ca * sd)), np.arcsinh(12 + 30 / (cb * sd))
        v = np.where(u < 0, u * v_left[:, None], u * v_right[:, None])
        s = mode[:, None] + sd[:, None] * np.sinh(v)
        log_dens = ca[:, None] * s - (ca + cb)[:, None] * np.logaddexp(0.0, s)
        w = np.exp(log_dens - log_dens.max(axis=1, keepdims=True)) * np.cosh(v)  # ∝ density × ds/dv
        steps = (w[:, 1:] + w[:, :-1]) / 2 * np.diff(v, axis=1)
        cdf = np.concatenate([np.zeros((len(ca), 1)), np.cumsum(steps, axis=1)], axis=1)
        cdf /= cdf[:, -1:]
        for i in range(len(ca)):
            out[lo + i] = 1 / (1 + np.exp(-np.interp(qs, cdf[i], s[i])))
    return out


# --- data ----------------------------------------------------------------------------------------

def unit_quarter_grades(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Grade counts per unit and quarter for the selected people and periods, from the
    ``grade_counts`` pre-aggregate.

    Columns: unit, period, people (rated: 好/较好/一般/较差), good, fair (较好), general (一般),
    poor (较差), uncertain (不确定等次 or no grade).
    """
    where, params = filters.counts_clause()
    period_sql, period_params = filters.period_clause("c.period")
    return store.frame(con, f"""
        SELECT c.unit, c.period, sum(c.people)::BIGINT AS people, sum(c.good)::BIGINT AS good,
               sum(c.fair)::BIGINT AS fair, sum(c.general)::BIGINT AS general, sum(c.poor)::BIGINT AS poor,
               sum(c.uncertain)::BIGINT AS uncertain
        FROM grade_counts c LEFT JOIN units u ON u.unit = c.unit
        WHERE {where} AND {period_sql}
        GROUP BY c.unit, c.period
        ORDER BY c.unit, c.period
    """, params + period_params)


def unit_quarter_scores(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Mean and SD of the scores of the rated people per unit and quarter (the unit-grades report).

    Columns: unit, period, mean_score, sd_score.
    """
    pop_sql, params = filters.population()
    period_sql, period_params = filters.period_clause("q.period")
    return con.execute(f"""
        WITH pop AS ({pop_sql})
        SELECT pop.unit, q.period, avg(q.score) AS mean_score, stddev_samp(q.score) AS sd_score
        FROM quarterly q JOIN pop USING (person_id)
        WHERE pop.unit IS NOT NULL AND q.grade = ANY(?) AND {period_sql}
        GROUP BY pop.unit, q.period
    """, params + [list(RATED_GRADES)] + period_params).df()


def good_share_tests(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Only the funnel plot's test, per unit-quarter with rated people: people (好/较好/一般/较差), good,
    the quarter's overall share p0, good_share and the exact binomial P(X ≥ good | people, p0).

    The same numbers as the matching columns of ``grade_spread(...).quarters`` (rows with people > 0),
    from the same pre-aggregate, without the limits, overdispersion, shrinkage, quotas and unit
    summary; for a caller (a report, the pandas comparison in bench/) that needs only the test.
    """
    where, params = filters.counts_clause()
    period_sql, period_params = filters.period_clause("c.period")
    frame = store.frame(con, f"""
        WITH g AS (
            SELECT c.unit, c.period, sum(c.people)::BIGINT AS people, sum(c.good)::BIGINT AS good
            FROM grade_counts c LEFT JOIN units u ON u.unit = c.unit
            WHERE {where} AND {period_sql}
            GROUP BY c.unit, c.period
            HAVING sum(c.people) > 0
        )
        SELECT unit, period, people, good,
               sum(good) OVER (PARTITION BY period) / sum(people) OVER (PARTITION BY period) AS p0
        FROM g ORDER BY unit, period
    """, params + period_params)
    n, x, p0 = frame["people"].to_numpy(int), frame["good"].to_numpy(int), frame["p0"].to_numpy(float)
    frame["good_share"] = x / np.where(n > 0, n, 1)
    frame["p_value"] = upper_tail_p(n, x, p0)
    return frame


def _distinct_pairs(n: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (n, p) pairs of two arrays and each row's pair: (ns, ps, inverse), so that
    ns[inverse] == n and ps[inverse] == p. Ordered by p, then n. (np.unique over rows of a 2-D array
    sorts them as structured records, ten times slower at 10,000 rows.)"""
    ps, p_index = np.unique(p, return_inverse=True)
    width = int(n.max()) + 1 if len(n) else 1
    keys, inverse = np.unique(p_index.reshape(-1).astype(np.int64) * width + n.astype(np.int64), return_inverse=True)
    return (keys % width).astype(int), ps[keys // width], inverse.reshape(-1)


def upper_tail_p(n: np.ndarray, x: np.ndarray, p0: np.ndarray) -> np.ndarray:
    """P(X ≥ x | n, p0) row by row, from ``_tails`` computed once per distinct (n, p0)."""
    out = np.full(len(n), np.nan)
    if not len(n):
        return out
    ns, ps, inverse = _distinct_pairs(n, p0)
    width = int(ns.max()) + 2
    upper = _upper_tails(ns, ps, width)
    return np.where(x <= 0, 1.0, np.where(x > n, 0.0, upper[inverse, np.clip(x, 0, width - 1)]))


def _upper_tails(ns: np.ndarray, ps: np.ndarray, width: int) -> np.ndarray:
    """upper[i, k] = P(X ≥ k) for X ~ Binomial(ns[i], ps[i]), 0 beyond ns[i]: ``_tails`` for many (n, p)
    at once, with the same floating-point operations in the same order (so the same numbers)."""
    upper = np.zeros((len(ns), width))
    inside = (ps > 0.0) & (ps < 1.0)
    for i in np.flatnonzero(~inside):  # degenerate p: the point masses of _tails
        upper[i, : ns[i] + 1] = _tails(int(ns[i]), float(ps[i]))[0]
    if not inside.any():
        return upper
    rows = np.flatnonzero(inside)
    n = ns[rows][:, None]
    top = int(n.max())
    lf = _log_factorials(top)
    k = np.arange(top + 1, dtype=float)[None, :]
    ki = np.arange(top + 1)[None, :]
    valid = ki <= n
    log_p = np.array([math.log(float(p)) for p in ps[rows]])[:, None]
    log_q = np.array([math.log1p(-float(p)) for p in ps[rows]])[:, None]
    with np.errstate(invalid="ignore"):
        log_pmf = lf[n] - lf[ki] - lf[np.where(valid, n - ki, 0)] + k * log_p + (n - k) * log_q
    log_pmf = np.where(valid, log_pmf, -np.inf)
    tails = np.exp(np.logaddexp.accumulate(log_pmf[:, ::-1], axis=1)[:, ::-1])
    upper[rows, : top + 1] = np.minimum(tails, 1.0)
    return upper


# --- statistics ----------------------------------------------------------------------------------

PERIOD_COLUMNS = ["period", "units", "people", "good", "p0", "low_share", "phi", "a", "b", "fit_note"]


def _period_stats(grades: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for period, g in grades[grades["people"] > 0].groupby("period", sort=True):
        n, x = g["people"].to_numpy(), g["good"].to_numpy()
        p0 = x.sum() / n.sum()
        fit = fit_beta_binomial(x, n)
        rows.append({
            "period": period, "units": len(g), "people": int(n.sum()), "good": int(x.sum()), "p0": float(p0),
            "low_share": float((g["general"] + g["poor"]).sum() / n.sum()),
            "phi": overdispersion(x, n, p0),
            "a": fit.a if fit else math.nan, "b": fit.b if fit else math.nan,
            "fit_note": fit.note if fit else f"单位少于{MIN_UNITS_FOR_FIT}个，不做收缩估计",
        })
    return pd.DataFrame(rows, columns=PERIOD_COLUMNS)


def _add_unit_quarter_stats(grades: pd.DataFrame, periods: pd.DataFrame, quota: float) -> pd.DataFrame:
    q = grades.merge(periods[["period", "p0", "phi", "a", "b"]], on="period", how="left")
    rated = q["people"] > 0
    q["good_share"] = np.where(rated, q["good"] / q["people"].where(rated, 1), np.nan)
    q["low_share"] = np.where(rated, (q["general"] + q["poor"]) / q["people"].where(rated, 1), np.nan)
    q["quota_cap"] = np.floor(quota * q["people"] + 1e-9).astype(int)
    exact = _exact_rows(q["people"].to_numpy(int), q["good"].to_numpy(int), q["p0"].fillna(0.5).to_numpy(float),
                        q["quota_cap"].to_numpy(int))
    for column, values in exact.items():
        q[column] = values
    q["inflation_flag"] = (q["p_value"] < ALPHA_FLAG).fillna(False).astype(bool)
    adj = _adjusted_rows(q["people"].to_numpy(int), q["p0"].to_numpy(float), q["phi"].to_numpy(float))
    for column in LIMIT_COLUMNS:
        q[f"adj_{column}"] = adj[column]
    q["adj_flag"] = (q["good_share"] > q["adj_hi998"]).fillna(False).astype(bool)
    q["low_flag"] = (q["good_share"] < q["lo998"]).fillna(False).astype(bool)
    q["shrunk_good_share"] = (q["good"] + q["a"]) / (q["people"] + q["a"] + q["b"])
    q["quota_status"] = np.select(
        [q["people"] == 0, q["good"] > q["quota_cap"], q["good"] == q["quota_cap"]],
        ["无人定等", "超出名额", "用满名额"], "未用满")
    return q


def _unit_stats(q: pd.DataFrame, periods: pd.DataFrame, min_group: int) -> pd.DataFrame:
    """One row per unit over the selected quarters.

    ``compression_flag``: no 一般 or worse in any selected quarter, although with each quarter's
    overall rate r_q that would happen with probability prod (1 − r_q)^n_q < 0.001.
    ``follows_quota``: 好 exactly at the quota in every selected quarter (at least 2), in units with
    at least ``min_group`` people rated every quarter (DOMAIN.md's descriptive rule; with a quota of
    1 or 2, being at the cap says little). ``p_all_at_cap`` is the evidence beside it: the chance
    of landing exactly on the cap every quarter if the number of 好 followed Binomial(n, p0); over
    few quarters a small unit can be at the cap by chance (e.g. 0.24 a quarter for 12 people).
    """
    g = q[q["people"] > 0]
    r = g["period"].map(periods.set_index("period")["low_share"]).to_numpy(float)
    g = g.assign(
        low=g["general"] + g["poor"],
        # log chance of no 一般 or worse in the quarter if the unit had the quarter's overall rate
        log_none=g["people"] * np.log1p(-np.minimum(r, 1 - 1e-12)),
        # log chance of 好 landing exactly on the cap if it followed Binomial(n, p0)
        log_cap=np.log(np.maximum(g["p_at_cap"].to_numpy(float), 1e-300)),
        flagged_period=g["period"].where(g["inflation_flag"]),
        at_cap=g["quota_status"] == "用满名额", over_cap=g["quota_status"] == "超出名额", capped=g["quota_cap"] > 0,
    )
    u = g.groupby("unit", sort=True).agg(
        quarters=("period", "count"), min_people=("people", "min"), person_quarters=("people", "sum"),
        good=("good", "sum"), mean_shrunk=("shrunk_good_share", "mean"), flagged_quarters=("inflation_flag", "sum"),
        adj_flagged_quarters=("adj_flag", "sum"), first_flagged=("flagged_period", "min"), low=("low", "sum"),
        log_none=("log_none", "sum"), at_cap_quarters=("at_cap", "sum"), over_cap_quarters=("over_cap", "sum"),
        cap_quarters=("capped", "sum"), log_cap=("log_cap", "sum"),
    ).reset_index()
    u["good_share"] = u["good"] / u["person_quarters"]
    u["low_share"] = u["low"] / u["person_quarters"]
    u["p_no_low"] = np.where(u["low"] == 0, np.exp(u["log_none"]), np.nan)
    u["p_all_at_cap"] = np.exp(u["log_cap"])
    u["first_flagged"] = u["first_flagged"].astype(object).where(u["first_flagged"].notna(), None)
    cols = ["unit", "quarters", "min_people", "person_quarters", "good", "good_share", "mean_shrunk",
            "flagged_quarters", "adj_flagged_quarters", "first_flagged", "low", "low_share", "p_no_low",
            "at_cap_quarters", "over_cap_quarters", "cap_quarters", "p_all_at_cap"]
    u = u[cols].astype({c: int for c in ("quarters", "min_people", "person_quarters", "good", "flagged_quarters",
                                         "adj_flagged_quarters", "low", "at_cap_quarters", "over_cap_quarters",
                                         "cap_quarters")})
    u["compression_flag"] = (u["p_no_low"] < ALPHA_FLAG).fillna(False).astype(bool)
    u["follows_quota"] = ((u["quarters"] >= 2) & (u["min_people"] >= min_group)
                          & (u["at_cap_quarters"] == u["quarters"]))
    return u


def grade_mix(q: pd.DataFrame) -> pd.DataFrame:
    """Grade shares per unit over the selected quarters, plus the overall mix (unit '全部单位').

    Columns: unit, people (person-quarters rated), and one share column per grade.
    """
    counts = q.groupby("unit")[["people", "good", "fair", "general", "poor"]].sum()
    counts = counts[counts["people"] > 0]
    counts.loc["全部单位"] = counts.sum()
    shares = counts[["good", "fair", "general", "poor"]].div(counts["people"], axis=0)
    shares.columns = list(RATED_GRADES)
    return pd.concat([counts[["people"]], shares], axis=1).rename_axis("unit").reset_index()


@dataclass(frozen=True)
class GradeSpread:
    """Everything the 等次分布 page shows."""

    quarters: pd.DataFrame  # one row per unit and period (counts, p0, p-value, limits, shrunk, quota)
    units: pd.DataFrame  # one row per unit over the selected quarters
    periods: pd.DataFrame  # per period: p0, φ, a, b
    mix: pd.DataFrame  # grade shares per unit and overall
    distinct_people: pd.DataFrame  # unit, people (distinct persons rated), for the small-group rule on pooled rows
    quota: float
    min_group: int
    note: str
    # shrunk intervals of one period's units, computed on first use (the ranking chart and table share them)
    _shrunk: dict = field(default_factory=dict, init=False, compare=False, repr=False)

    @property
    def empty(self) -> bool:
        return self.quarters.empty or int(self.quarters["people"].sum()) == 0

    def shrunk_period(self, period: str) -> pd.DataFrame:
        """The period's unit-quarters of at least ``min_group`` people with ``shrunk_intervals``."""
        if period not in self._shrunk:
            part = self.quarters[(self.quarters["period"] == period) & (self.quarters["people"] > 0)]
            self._shrunk[period] = shrunk_intervals(part[part["people"] >= self.min_group])
        return self._shrunk[period]

    def latest_period(self) -> str | None:
        return None if self.periods.empty else str(self.periods["period"].max())


METHOD_NOTE = (
    "每个单位每季度的好等次比例与同季度所选单位的总体比例比较：按精确二项分布计算，"
    "若好等次人数达到或超过实际人数的概率小于0.1%（即高于99.8%控制线），标为好等次偏高；"
    "不确定等次不计入人数；收缩比例用贝塔-二项经验贝叶斯（矩估计）把小单位的比例向总体拉近。"
)


def _distinct_people(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    pop_sql, params = filters.population()
    period_sql, period_params = filters.period_clause("q.period")
    sql = f"""
        WITH pop AS ({pop_sql})
        SELECT pop.unit, count(DISTINCT q.person_id) AS people
        FROM quarterly q JOIN pop USING (person_id)
        WHERE pop.unit IS NOT NULL AND q.grade = ANY(?) AND {period_sql}
        GROUP BY pop.unit
    """
    return con.execute(sql, params + [list(RATED_GRADES)] + period_params).df()


def grade_spread(con: duckdb.DuckDBPyConnection, filters: Filters, min_group: int = 5,
                 quota: float = GOOD_QUOTA) -> GradeSpread:
    """The 等次分布 page in one call."""
    grades = unit_quarter_grades(con, filters)
    periods = _period_stats(grades)
    quarters = _add_unit_quarter_stats(grades, periods, quota)
    return GradeSpread(
        quarters=quarters, units=_unit_stats(quarters, periods, min_group), periods=periods, mix=grade_mix(quarters),
        distinct_people=_distinct_people(con, filters), quota=quota, min_group=min_group, note=METHOD_NOTE,
    )


def shrunk_intervals(quarters: pd.DataFrame) -> pd.DataFrame:
    """``quarters`` (rows of ``GradeSpread.quarters``) with shrunk_lo and shrunk_hi: the 95 %
    equal-tailed interval of the posterior Beta(x + a, n − x + b). Computed on demand (one period
    at a time on the page), as the numerical quantiles cost about 0.2 ms a row."""
    q = quarters.copy()
    q["shrunk_lo"], q["shrunk_hi"] = np.nan, np.nan
    post_a, post_b = q["good"] + q["a"], q["people"] - q["good"] + q["b"]
    rated = (q["people"] > 0) & q["a"].notna()
    ok = rated & (post_a > 0) & (post_b > 0)
    if ok.any():
        bounds = beta_quantiles(post_a[ok].to_numpy(), post_b[ok].to_numpy())
        q.loc[ok, "shrunk_lo"], q.loc[ok, "shrunk_hi"] = bounds[:, 0], bounds[:, 1]
    point = rated & ~ok  # all the posterior mass at 0 or 1 (everyone or nobody 好 in every unit)
    q.loc[point, "shrunk_lo"] = q.loc[point, "shrunk_hi"] = q.loc[point, "shrunk_good_share"]
    return q


# --- tables for the page -------------------------------------------------------------------------

def _p(value) -> str:
    return pct(None if value is None or pd.isna(value) else float(value))


def _pvalue(value) -> str:
    if value is None or pd.isna(value):
        return "—"
    return "<0.0001" if value < 1e-4 else f"{value:.4f}"


def _p_column(values) -> np.ndarray:
    """``_p`` for a whole column: '35.2%', '—' for missing."""
    v = np.asarray(values, dtype=float)
    out = np.full(len(v), "—", dtype=object)
    ok = ~np.isnan(v)
    out[ok] = [f"{x * 100:.1f}%" for x in v[ok]]
    return out


def _pvalue_column(values) -> np.ndarray:
    """``_pvalue`` for a whole column."""
    v = np.asarray(values, dtype=float)
    out = np.full(len(v), "—", dtype=object)
    ok = ~np.isnan(v)
    out[ok] = ["<0.0001" if x < 1e-4 else f"{x:.4f}" for x in v[ok]]
    return out


def quarters_table(result: GradeSpread, adjusted: bool = False) -> pd.DataFrame:
    """Unit-quarter table: counts, shares (样本过少 below ``min_group``), limits, flags, quota."""
    prefix = "adj_" if adjusted else ""
    q = result.quarters[result.quarters["people"] > 0]
    small = (q["people"] < result.min_group).to_numpy()

    def unless_small(column: np.ndarray) -> np.ndarray:
        return np.where(small, SMALL, column)

    flag = q["adj_flag"] if adjusted else q["inflation_flag"]
    columns = {
        "单位": q["unit"].to_numpy(object), "考核周期": q["period"].to_numpy(object),
        "定等人数": q["people"].astype(int).to_numpy(),
        "好等次比例": unless_small(_p_column(q["good_share"])),
        "同期总体比例": _p_column(q["p0"]),
        "99.8%上控制线": _p_column(q[f"{prefix}hi998"]),
        "精确二项P值": unless_small(_pvalue_column(q["p_value"])),
        "好等次偏高": np.where(flag.to_numpy(bool), "是", "否"),
        "收缩比例": unless_small(_p_column(q["shrunk_good_share"])),
        "一般及以下比例": unless_small(_p_column(q["low_share"])),
        "好等次名额": q["quota_cap"].astype(int).to_numpy(),
        "名额使用": q["quota_status"].to_numpy(object),
    }
    return pd.DataFrame({k: list(v) if v.dtype == object else v for k, v in columns.items()},
                        columns=list(columns))


def funnel_table(result: GradeSpread, period: str, adjusted: bool = False) -> pd.DataFrame:
    part = result.quarters[(result.quarters["period"] == period) & (result.quarters["people"] > 0)]
    prefix = "adj_" if adjusted else ""
    rows = []
    small_units = part["people"] < result.min_group  # listed last, by name: their rank would tell their P-value
    ordered = pd.concat([part[~small_units].sort_values("p_value"), part[small_units].sort_values("unit")])
    for r in ordered.itertuples(index=False):
        d = r._asdict()
        small = r.people < result.min_group
        rows.append({
            "单位": r.unit, "定等人数": int(r.people), "好等次比例": SMALL if small else _p(r.good_share),
            "95%控制线": f"{_p(d[prefix + 'lo95'])}–{_p(d[prefix + 'hi95'])}",
            "99.8%控制线": f"{_p(d[prefix + 'lo998'])}–{_p(d[prefix + 'hi998'])}",
            "精确二项P值": SMALL if small else _pvalue(r.p_value),
            "好等次偏高": "是" if (r.adj_flag if adjusted else r.inflation_flag) else "否",
        })
    return pd.DataFrame(rows, columns=["单位", "定等人数", "好等次比例", "95%控制线", "99.8%控制线", "精确二项P值",
                                       "好等次偏高"])


def shrunk_table(result: GradeSpread, period: str) -> pd.DataFrame:
    """Units ranked by shrunk share; units under ``min_group`` people are listed last, unranked, as
    样本过少 (with a, b known, a shrunk share would give their count of 好 away)."""
    part = result.quarters[(result.quarters["period"] == period) & (result.quarters["people"] > 0)]
    big = result.shrunk_period(period).sort_values("shrunk_good_share", ascending=False)
    small = part[part["people"] < result.min_group].sort_values("unit")
    rows = [{
        "排名": str(rank), "单位": r.unit, "定等人数": int(r.people), "原始比例": _p(r.good_share),
        "收缩比例": _p(r.shrunk_good_share), "95%区间下限": _p(r.shrunk_lo), "95%区间上限": _p(r.shrunk_hi),
    } for rank, r in enumerate(big.itertuples(index=False), 1)]
    rows += [{"排名": "—", "单位": r.unit, "定等人数": int(r.people), "原始比例": SMALL, "收缩比例": SMALL,
              "95%区间下限": SMALL, "95%区间上限": SMALL} for r in small.itertuples(index=False)]
    return pd.DataFrame(rows, columns=["排名", "单位", "定等人数", "原始比例", "收缩比例", "95%区间下限",
                                       "95%区间上限"])


def units_table(result: GradeSpread) -> pd.DataFrame:
    people = result.distinct_people.set_index("unit")["people"]
    rows = []
    small_units = result.units["unit"].map(lambda u: int(people.get(u, 0)) < result.min_group)
    ordered = pd.concat([result.units[~small_units].sort_values(["flagged_quarters", "good_share"], ascending=False),
                         result.units[small_units].sort_values("unit")])  # small units last, by name
    for r in ordered.itertuples(index=False):
        small = int(people.get(r.unit, 0)) < result.min_group
        rows.append({
            "单位": r.unit, "季度数": int(r.quarters), "定等人次": int(r.person_quarters),
            "好等次比例": SMALL if small else _p(r.good_share),
            "好等次偏高季度数": int(r.flagged_quarters), "首次偏高": r.first_flagged or "—",
            "一般及以下比例": SMALL if small else _p(r.low_share),
            "从未评一般": SMALL if small else (
                "是（压缩信号）" if r.compression_flag else ("无一般但人次少" if r.low == 0 else "否")),
            # Quota use of a small unit would give its 好 share away: suppressed like the share itself.
            "用满名额季度数": SMALL if small else str(int(r.at_cap_quarters)),
            "超出名额季度数": SMALL if small else str(int(r.over_cap_quarters)),
            "每季度用满名额": SMALL if small else ("是" if r.follows_quota else "否"),
            "每季度恰好用满的随机概率": SMALL if small else (_pvalue(r.p_all_at_cap) if r.follows_quota else "—"),
        })
    return pd.DataFrame(rows, columns=["单位", "季度数", "定等人次", "好等次比例", "好等次偏高季度数", "首次偏高",
                                       "一般及以下比例", "从未评一般", "用满名额季度数", "超出名额季度数",
                                       "每季度用满名额", "每季度恰好用满的随机概率"])


def quota_breaches(result: GradeSpread) -> pd.DataFrame:
    """Unit-quarters with more 好 than floor(quota × people rated)."""
    part = result.quarters[result.quarters["quota_status"] == "超出名额"].sort_values(["period", "unit"])
    rows = [{
        "单位": r.unit, "考核周期": r.period, "定等人数": int(r.people), "好等次名额": int(r.quota_cap),
        "好等次人数": SMALL if r.people < result.min_group else str(int(r.good)),  # text: one type per column
        "超出人数": SMALL if r.people < result.min_group else str(int(r.good - r.quota_cap)),
        "好等次比例": SMALL if r.people < result.min_group else _p(r.good_share),
    } for r in part.itertuples(index=False)]
    return pd.DataFrame(rows, columns=["单位", "考核周期", "定等人数", "好等次名额", "好等次人数", "超出人数",
                                       "好等次比例"])


def _mix_order(result: GradeSpread) -> list[str]:
    """全部单位 first, then units by 好 share (highest first), then small units by name: where a small
    unit sits in a ranking would give its share away."""
    people = result.distinct_people.set_index("unit")["people"]
    units = result.mix[result.mix["unit"] != "全部单位"]
    small = units["unit"].map(lambda u: int(people.get(u, 0)) < result.min_group)
    ranked = units[~small].sort_values(["好", "unit"], ascending=[False, True])["unit"].tolist()
    overall = ["全部单位"] if (result.mix["unit"] == "全部单位").any() else []
    return overall + ranked + sorted(units.loc[small, "unit"])


def mix_table(result: GradeSpread) -> pd.DataFrame:
    people = result.distinct_people.set_index("unit")["people"]
    rows = []
    for r in result.mix.set_index("unit").loc[_mix_order(result)].reset_index().itertuples(index=False):
        small = r.unit != "全部单位" and int(people.get(r.unit, 0)) < result.min_group
        row = {"单位": r.unit, "定等人次": int(r.people)}
        for i, grade in enumerate(RATED_GRADES):
            row[grade] = SMALL if small else _p(r[2 + i])
        rows.append(row)
    return pd.DataFrame(rows, columns=["单位", "定等人次", *RATED_GRADES])


def trend_table(result: GradeSpread, unit: str) -> pd.DataFrame:
    part = result.quarters[(result.quarters["unit"] == unit) & (result.quarters["people"] > 0)]
    rows = [{
        "考核周期": r.period, "定等人数": int(r.people),
        "好等次比例": SMALL if r.people < result.min_group else _p(r.good_share),
        "同期总体比例": _p(r.p0), "99.8%上控制线": _p(r.hi998),
        "收缩比例": SMALL if r.people < result.min_group else _p(r.shrunk_good_share),
        "好等次偏高": "是" if r.inflation_flag else "否", "名额使用": r.quota_status,
    } for r in part.sort_values("period").itertuples(index=False)]
    return pd.DataFrame(rows, columns=["考核周期", "定等人数", "好等次比例", "同期总体比例", "99.8%上控制线",
                                       "收缩比例", "好等次偏高", "名额使用"])


# --- figures -------------------------------------------------------------------------------------

def funnel_figure(result: GradeSpread, period: str, adjusted: bool = False) -> go.Figure:
    """好 share against people rated for one quarter, with the limits around p0 and the quota line.

    Units below ``min_group`` are drawn at their size on the p0 line in grey (their share is not
    shown); each point carries its unit name in customdata for click-to-select.
    """
    part = result.quarters[(result.quarters["period"] == period) & (result.quarters["people"] > 0)]
    row = result.periods[result.periods["period"] == period]
    fig = go.Figure()
    if part.empty or row.empty:
        return fig
    p0, phi = float(row["p0"].iloc[0]), float(row["phi"].iloc[0])
    n_max = int(part["people"].max())
    ns = np.unique(np.linspace(1, max(n_max * 1.05, 10), 300).round().astype(int))
    if adjusted:
        lim = pd.DataFrame([adjusted_limits(int(n), p0, phi) for n in ns])
        if math.isnan(phi):
            label = "φ无法估计，未调整，正态近似"
        else:
            label = f"已按过度离散调整（φ={phi:.2f}）" if phi > 1 else f"φ={phi:.2f}≤1，未调整，正态近似"
    else:
        lim = pd.DataFrame([exact_limits(int(n), p0) for n in ns])
        label = "精确二项控制线"
    for column, name, dash in (("hi998", "99.8%控制线", "solid"), ("lo998", None, "solid"),
                               ("hi95", "95%控制线", "dash"), ("lo95", None, "dash")):
        fig.add_scatter(x=ns, y=lim[column], mode="lines", name=name or "", showlegend=name is not None,
                        legendgroup=column[2:], line={"color": MUTED_COLOR, "dash": dash, "width": 1.2},
                        hoverinfo="skip")
    fig.add_hline(y=p0, line_color=NEUTRAL_COLOR, line_width=1,
                  annotation_text=f"同期总体 {pct(p0)}", annotation_position="bottom right")
    fig.add_hline(y=result.quota, line_color=GRADE_COLORS["好"], line_dash="dot",
                  annotation_text=f"好等次名额 {pct(result.quota, 0)}", annotation_position="top left")
    flag_col = "adj_flag" if adjusted else "inflation_flag"
    big = part[part["people"] >= result.min_group]
    small = part[part["people"] < result.min_group]
    for flagged, colour, name in ((False, GRADE_COLORS["好"], "单位"), (True, FLAG_COLOR, "好等次偏高")):
        pts = big[big[flag_col] == flagged]
        fig.add_scatter(
            x=pts["people"], y=pts["good_share"], mode="markers", name=name,
            marker={"color": colour, "size": 10 if flagged else 8, "line": {"width": 1, "color": "white"}},
            customdata=np.stack([pts["unit"], pts["good"], pts["p_value"]], axis=-1) if len(pts) else None,
            hovertemplate="%{customdata[0]}<br>定等%{x}人，好等次%{customdata[1]}人（%{y:.1%}）"
                          "<br>P值 %{customdata[2]:.4f}<extra></extra>",
        )
    if len(small):
        fig.add_scatter(
            x=small["people"], y=[p0] * len(small), mode="markers", name=f"{SMALL}（少于{result.min_group}人）",
            marker={"color": MUTED_COLOR, "size": 8, "symbol": "circle-open"},
            customdata=np.stack([small["unit"]], axis=-1),
            hovertemplate=f"%{{customdata[0]}}<br>定等%{{x}}人：{SMALL}<extra></extra>",
        )
    fig.update_layout(title=chart_title(f"{period} 好等次比例漏斗图（{label}）"),
                      xaxis_title="定等人数（不含不确定等次）", yaxis_title="好等次比例",
                      yaxis={"tickformat": ".0%", "range": [0, 1.05]}, height=520)
    return fig


HEATMAP_MAX_UNITS = 40  # more rows than this are unreadable (and slow to draw): the rest is in the table
UNIT_CHART_MAX = 80  # rows of a one-row-per-unit chart; a city's 1,000 units made each 20,000 pixels tall


def _first_units(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The first ``UNIT_CHART_MAX`` rows of a chart's frame (already in the chart's order, the rows that
    matter most first) and the words the title gets when rows are left out."""
    limit = UNIT_CHART_MAX
    if len(frame) <= limit:
        return frame, ""
    return frame.head(limit), f"（前 {limit} 个，共 {len(frame):,} 个单位，其余见下表）"


def heatmap_rows(result: GradeSpread, limit: int = HEATMAP_MAX_UNITS) -> tuple[list[str], int]:
    """The heatmap's rows and how many units are left out of it.

    Up to ``limit`` units: every unit, in the table's order (全部单位, units by 好 share, small units
    by name). With more, 全部单位 and the ``limit`` units whose grade mix differs most from the overall
    mix (sum over the four grades of |unit share − overall share|), in the same order; small units are
    left out then (their row would say only 样本过少), and everything stays in the table below."""
    order = _mix_order(result)
    units = [u for u in order if u != "全部单位"]
    if len(units) <= limit:
        return order, 0
    people = result.distinct_people.set_index("unit")["people"]
    mix = result.mix.set_index("unit")[list(RATED_GRADES)].astype(float)
    overall = mix.loc["全部单位"] if "全部单位" in mix.index else mix.mean()
    big = [u for u in units if int(people.get(u, 0)) >= result.min_group]
    distance = (mix.loc[big] - overall).abs().sum(axis=1)
    ranked = distance.reset_index().rename(columns={0: "d"}).sort_values(["d", "unit"], ascending=[False, True])
    keep = set(ranked["unit"].head(limit))
    rows = [u for u in order if u == "全部单位" or u in keep]
    return rows, len(units) - len(keep)


def heatmap_figure(result: GradeSpread, limit: int = HEATMAP_MAX_UNITS) -> go.Figure:
    """Units × grades: colour is the difference from the overall mix (percentage points); text is the
    share. At most ``limit`` units (see ``heatmap_rows``)."""
    people = result.distinct_people.set_index("unit")["people"]
    mix = result.mix.set_index("unit")
    overall = mix.loc["全部单位", list(RATED_GRADES)] if "全部单位" in mix.index else None
    rows, left_out = heatmap_rows(result, limit)
    values = mix.loc[rows, list(RATED_GRADES)].astype(float)
    small = [unit != "全部单位" and int(people.get(unit, 0)) < result.min_group for unit in rows]
    z, text = [], []
    for is_small, (_, v) in zip(small, values.iterrows(), strict=True):
        if is_small:
            z.append([None] * len(RATED_GRADES))
            text.append([SMALL] * len(RATED_GRADES))
        else:
            z.append(list((v - overall) * 100))
            text.append([pct(x) for x in v])
    ticks = [f"<span style='color:{GRADE_COLORS[g]}'><b>{g}</b></span>" for g in RATED_GRADES]
    fig = go.Figure(go.Heatmap(
        z=z, x=ticks, y=rows, text=text, texttemplate="%{text}", colorscale="RdBu_r", zmid=0,
        colorbar={"title": "与总体相差<br>（百分点）"}, hoverongaps=False,
        hovertemplate="%{y}<br>%{x}：%{text}<br>与总体相差 %{z:+.1f} 个百分点<extra></extra>",
    ))
    title = "各单位等次构成与总体对比"
    if left_out:
        shown = len([r for r in rows if r != "全部单位"])
        title += f"（与总体差别最大的 {shown} 个单位，其余 {left_out} 个见下表）"
    fig.update_layout(title=chart_title(title), height=max(360, 22 * len(rows) + 120),
                      yaxis={"autorange": "reversed", "type": "category"}, xaxis={"side": "top"})
    return fig


def shrunk_figure(result: GradeSpread, period: str) -> go.Figure:
    """Units ranked by shrunk 好 share with 95 % intervals, raw share for comparison, and the quota line."""
    part = result.shrunk_period(period)
    part = part[part["shrunk_good_share"].notna()].sort_values("shrunk_good_share", ascending=False)
    fig = go.Figure()
    if part.empty:
        return fig
    part, cut = _first_units(part)  # the highest shrunk shares
    colours = [FLAG_COLOR if f else GRADE_COLORS["好"] for f in part["inflation_flag"]]
    fig.add_scatter(
        x=part["shrunk_good_share"], y=part["unit"], mode="markers", name="收缩比例（95%区间）",
        marker={"color": colours, "size": 8},
        error_x={"type": "data", "symmetric": False, "array": part["shrunk_hi"] - part["shrunk_good_share"],
                 "arrayminus": part["shrunk_good_share"] - part["shrunk_lo"], "color": MUTED_COLOR, "thickness": 1},
        customdata=np.stack([part["people"]], axis=-1),
        hovertemplate="%{y}<br>收缩比例 %{x:.1%}（%{customdata[0]}人）<extra></extra>",
    )
    fig.add_scatter(x=part["good_share"], y=part["unit"], mode="markers", name="原始比例",
                    marker={"color": MUTED_COLOR, "symbol": "x", "size": 6},
                    hovertemplate="%{y}<br>原始比例 %{x:.1%}<extra></extra>")
    p0 = float(result.periods.loc[result.periods["period"] == period, "p0"].iloc[0])
    fig.add_vline(x=p0, line_color=NEUTRAL_COLOR, line_width=1, annotation_text=f"总体 {pct(p0)}")
    fig.add_vline(x=result.quota, line_color=GRADE_COLORS["好"], line_dash="dot",
                  annotation_text=f"名额 {pct(result.quota, 0)}", annotation_position="bottom right")
    fig.update_layout(title=chart_title(f"{period} 各单位好等次收缩比例排名{cut}"),
                      xaxis={"tickformat": ".0%", "range": [0, 1.02]}, xaxis_title="好等次比例",
                      height=max(360, 20 * len(part) + 120),
                      yaxis={"autorange": "reversed", "type": "category"})
    return fig


def trend_figure(result: GradeSpread, unit: str) -> go.Figure:
    """One unit's 好 share per quarter against the overall share, its 99.8 % limit and the quota."""
    part = result.quarters[(result.quarters["unit"] == unit) & (result.quarters["people"] > 0)].sort_values("period")
    fig = go.Figure()
    if part.empty:
        return fig
    fig.add_scatter(x=part["period"], y=part["hi998"], mode="lines", name="99.8%上控制线（本单位人数）",
                    line={"color": MUTED_COLOR, "dash": "dash"}, hovertemplate="%{x}<br>控制线 %{y:.1%}<extra></extra>")
    fig.add_scatter(x=part["period"], y=part["p0"], mode="lines", name="同期总体比例",
                    line={"color": NEUTRAL_COLOR, "width": 1}, hovertemplate="%{x}<br>总体 %{y:.1%}<extra></extra>")
    fig.add_hline(y=result.quota, line_color=GRADE_COLORS["好"], line_dash="dot",
                  annotation_text=f"好等次名额 {pct(result.quota, 0)}", annotation_position="top left")
    shown = part[part["people"] >= result.min_group]
    if len(shown):
        fig.add_scatter(x=shown["period"], y=shown["good_share"], mode="lines+markers", name="好等次比例",
                        line={"color": GRADE_COLORS["好"]},
                        marker={"size": 10, "color": [FLAG_COLOR if f else GRADE_COLORS["好"]
                                                      for f in shown["inflation_flag"]]},
                        hovertemplate="%{x}<br>好等次比例 %{y:.1%}<extra></extra>")
    fig.add_scatter(x=shown["period"], y=shown["shrunk_good_share"], mode="lines", name="收缩比例",
                    line={"color": GRADE_COLORS["好"], "dash": "dot", "width": 1},
                    hovertemplate="%{x}<br>收缩比例 %{y:.1%}<extra></extra>")
    fig.update_layout(title=chart_title(f"{unit} 各季度好等次比例"), yaxis={"tickformat": ".0%", "range": [0, 1.05]},
                      xaxis={"type": "category"}, xaxis_title="考核周期", yaxis_title="好等次比例")
    return fig


def quota_figure(result: GradeSpread) -> go.Figure:
    """Per unit: quarters over the quota, exactly at it, and under it (stacked). Units below the
    minimum group size are left out: their quota use would give their 好 share away."""
    people = result.distinct_people.set_index("unit")["people"]
    u = result.units[[int(people.get(n, 0)) >= result.min_group for n in result.units["unit"]]]
    u = u.sort_values(["over_cap_quarters", "at_cap_quarters"], ascending=False, kind="stable")
    u, cut = _first_units(u)  # the units most often over or at the quota
    u = u.iloc[::-1]  # drawn bottom-up: the most over the quota at the top
    u = u.assign(under=u["quarters"] - u["at_cap_quarters"] - u["over_cap_quarters"])
    fig = go.Figure()
    for column, name, colour in (("over_cap_quarters", "超出名额", FLAG_COLOR),
                                 ("at_cap_quarters", "用满名额", GRADE_COLORS["好"]),
                                 ("under", "未用满", GRADE_COLORS["较好"])):
        fig.add_bar(y=u["unit"], x=u[column], name=name, orientation="h", marker_color=colour,
                    hovertemplate=f"%{{y}}<br>{name} %{{x}} 个季度<extra></extra>")
    fig.update_layout(barmode="stack", title=chart_title(f"各单位好等次名额使用（季度数）{cut}"), xaxis_title="季度数",
                      height=max(360, 20 * len(u) + 120), yaxis={"type": "category"})
    return fig


def low_share_figure(result: GradeSpread) -> go.Figure:
    """Share of 一般 or worse per unit over the selected quarters, lowest first; units with none are
    marked at zero (red: a compression signal, grey: with so few person-quarters, none is likely)."""
    people = result.distinct_people.set_index("unit")["people"]
    u = result.units[[int(people.get(n, 0)) >= result.min_group for n in result.units["unit"]]]
    u, cut = _first_units(u.sort_values(["low_share", "p_no_low"]))  # the lowest shares
    overall = float((result.mix.set_index("unit").loc["全部单位", ["一般", "较差"]]).sum()) \
        if "全部单位" in set(result.mix["unit"]) else math.nan
    fig = go.Figure()
    fig.add_bar(y=u["unit"], x=u["low_share"], orientation="h", marker_color=GRADE_COLORS["一般"],
                customdata=np.stack([u["low"], u["person_quarters"]], axis=-1) if len(u) else None,
                hovertemplate="%{y}<br>一般及以下 %{customdata[0]} / %{customdata[1]} 人次（%{x:.1%}）<extra></extra>",
                name="一般及以下比例")
    none = u[u["low"] == 0]
    for flagged, colour, name in ((True, FLAG_COLOR, "从未评一般（压缩信号）"),
                                  (False, MUTED_COLOR, "无一般，但人次少")):
        pts = none[none["compression_flag"] == flagged]
        if len(pts):
            fig.add_scatter(y=pts["unit"], x=[0.0] * len(pts), mode="markers", name=name,
                            marker={"color": colour, "symbol": "diamond", "size": 10},
                            customdata=np.stack([pts["person_quarters"], pts["p_no_low"]], axis=-1),
                            hovertemplate="%{y}<br>%{customdata[0]} 人次无一人评一般或较差；按总体比例，"
                                          "这种情况出现的概率 %{customdata[1]:.2g}<extra></extra>")
    if not math.isnan(overall):
        fig.add_vline(x=overall, line_color=NEUTRAL_COLOR, line_width=1, annotation_text=f"总体 {pct(overall)}")
    fig.update_layout(title=chart_title(f"各单位一般及以下等次比例{cut}"), xaxis={"tickformat": ".0%"},
                      xaxis_title="一般及以下比例", height=max(360, 20 * len(u) + 120),
                      yaxis={"type": "category", "autorange": "reversed"})
    return fig


# --- words, findings, report ---------------------------------------------------------------------

def headline(result: GradeSpread) -> str:
    """The page's most important finding in one or two sentences."""
    if result.empty:
        return "当前筛选条件下没有定等的考核结果。"
    flagged = result.units[result.units["flagged_quarters"] > 0].sort_values(
        ["flagged_quarters", "good_share"], ascending=False)
    p0 = float(result.periods["good"].sum() / result.periods["people"].sum())
    n_uq = int((result.quarters["people"] > 0).sum())
    if flagged.empty:
        text = (f"在 {n_uq} 个单位季度中，没有单位的好等次比例显著高于同期总体水平（总体 {pct(p0)}，"
                "精确二项检验，P<0.001）。")
    else:
        names = "、".join(f"{r.unit}（{r.flagged_quarters}个季度，好等次比例{_p(r.good_share)}）"
                         for r in flagged.head(3).itertuples())
        more = f"等 {len(flagged)} 个单位" if len(flagged) > 3 else ""
        text = (f"{len(flagged)} 个单位的好等次比例显著高于同期总体水平（总体 {pct(p0)}）：{names}{more}，"
                f"共 {int(flagged['flagged_quarters'].sum())} 个单位季度高于99.8%控制线。")
    breaches = int((result.quarters["quota_status"] == "超出名额").sum())
    if breaches:
        units = result.quarters.loc[result.quarters["quota_status"] == "超出名额", "unit"].nunique()
        text += f"另有 {units} 个单位共 {breaches} 个季度好等次超出{pct(result.quota, 0)}名额。"
    return text


def top_findings(con: duckdb.DuckDBPyConnection, filters: Filters, min_group: int = 5) -> list[Finding]:
    result = grade_spread(con, filters, min_group)
    if result.empty:
        return []
    findings = []
    flagged = result.units[result.units["flagged_quarters"] > 0].sort_values("flagged_quarters", ascending=False)
    if len(flagged):
        p0 = float(result.periods["good"].sum() / result.periods["people"].sum())
        names = "、".join(f"{r.unit}（{r.flagged_quarters}个季度，{_p(r.good_share)}）"
                         for r in flagged.head(3).itertuples())
        findings.append(Finding(
            page=PAGE, title=f"{len(flagged)} 个单位好等次比例显著高于全市",
            detail=(f"{names}的好等次比例高于同期总体（{pct(p0)}）的99.8%漏斗控制线"
                    "（精确二项检验，P<0.001，随机误报约千分之一）。"),
            count=len(flagged)))
    breaches = result.quarters[result.quarters["quota_status"] == "超出名额"]
    if len(breaches):
        units = breaches["unit"].nunique()
        findings.append(Finding(
            page=PAGE, title=f"{units} 个单位好等次超出{pct(result.quota, 0)}名额",
            detail=(f"共 {len(breaches)} 个单位季度的好等次人数超过定等人数的{pct(result.quota, 0)}（向下取整，"
                    "不确定等次不计）；这是需要核实的线索，不是结论。"),
            count=units))
    capped = result.units[result.units["follows_quota"] | result.units["compression_flag"]]
    if len(capped):
        follows = int(result.units["follows_quota"].sum())
        compressed = int(result.units["compression_flag"].sum())
        findings.append(Finding(
            page=PAGE, title=f"{len(capped)} 个单位等次可能按名额而非按实绩评定",
            detail=(f"{follows} 个单位每个季度好等次都恰好用满名额，{compressed} 个单位所选季度从未评过一般或较差"
                    "（按总体比例，出现这种情况的概率低于千分之一）。"),
            count=len(capped)))
    return findings[:3]


REPORT_COLUMNS = ["unit", "period", "people", "good_share", "mean_score", "sd_score", "shrunk_good_share",
                  "inflation_flag", "flattened_flag"]


@report("unit-grades", "等次分布：每个单位每个季度的定等人数（不含不确定等次）、好等次比例、平均分、标准差、"
        "收缩后好等次比例、好等次偏高标记（精确二项，高于99.8%控制线）和平均化打分标记"
        "（可用 --period 或 --year 限定季度）")
def unit_grades_report(con: duckdb.DuckDBPyConnection, filters: Filters, args: ReportArgs) -> pd.DataFrame:
    """Keys: unit, period, people, good_share, mean_score, sd_score, shrunk_good_share, inflation_flag,
    flattened_flag. good_share, mean_score, sd_score and shrunk_good_share are null for unit-quarters
    with fewer than ``args.min_group`` people (样本过少); the flags are always given."""
    min_group = args.min_group
    f = report_filters(filters, args)
    result = grade_spread(con, f, min_group)
    q = result.quarters[result.quarters["people"] > 0]
    flat = unit_quarter_spread(con, f, min_group)[["unit", "period", "flattened_flag"]]
    q = q.merge(unit_quarter_scores(con, f), on=["unit", "period"], how="left")
    q = q.merge(flat, on=["unit", "period"], how="left")
    out = pd.DataFrame({
        "unit": q["unit"], "period": q["period"], "people": q["people"].astype(int),
        "good_share": q["good_share"], "mean_score": q["mean_score"], "sd_score": q["sd_score"],
        "shrunk_good_share": q["shrunk_good_share"],
    }).astype({"good_share": object, "mean_score": object, "sd_score": object, "shrunk_good_share": object})
    small = out["people"] < min_group
    out.loc[small, ["good_share", "mean_score", "sd_score", "shrunk_good_share"]] = None
    out = out.where(out.notna(), None)
    out["inflation_flag"] = [bool(v) for v in q["inflation_flag"]]
    out["flattened_flag"] = [bool(v) if isinstance(v, bool | np.bool_) else False for v in q["flattened_flag"]]
    return out[REPORT_COLUMNS].reset_index(drop=True)


def configured_quota(raw: dict | None) -> float:
    """The 好 quota from the configuration's ``[rules.good_quota] max_share`` (default 40 %)."""
    table = ((raw or {}).get("rules") or {}).get("good_quota") or {}
    value = table.get("max_share", GOOD_QUOTA) if isinstance(table, dict) else GOOD_QUOTA
    try:
        value = float(value)
    except (TypeError, ValueError):
        return GOOD_QUOTA
    return value if 0 < value <= 1 else GOOD_QUOTA
