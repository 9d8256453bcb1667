"""联系点对比: pilot units (平时考核联系点) against the other units, and before against after joining.

Unit of analysis: the unit-quarter. Five metrics per unit-quarter are computed in SQL (score SD,
好 share, 一般-or-worse share, log coverage, saturation); everything after that works on the small
unit-quarter table.

Difference in differences (stacked design): for every join quarter g (a *cohort*: the pilots whose
``units.pilot_since`` is g), each pilot of the cohort and each never-pilot unit gets a before value
(mean of its unit-quarter values before g) and an after value (from g on); units lacking either side
drop out for that metric. DiD_g = mean(after - before | cohort pilots) - mean(after - before |
never-pilots); the overall DiD weights cohorts by their number of pilots. The interval is a cluster
bootstrap over units (pilots and never-pilots resampled separately with replacement; a resampled
never-pilot unit carries its differences for every cohort), 95 % percentile, fixed seed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analytics import figures, store
from analytics.filters import Filters
from analytics.findings import Finding
from analytics.registry import ReportArgs, ReportError, report

PAGE = "pages/pilots.py"
RATED_GRADES = ("好", "较好", "一般", "较差")
BOOTSTRAP_REPS = 1000
BOOTSTRAP_SEED = 20240101
STANDARD_HOURS = 8.0
_PERIOD = re.compile(r"^\d{4}Q[1-4]$")

# metric id -> (Chinese label as on the page, kind) ; kind: 'points' (score points) or 'share'
METRICS: dict[str, tuple[str, str]] = {
    "score_sd": ("得分标准差", "points"),
    "good_share": ("好等次比例", "share"),
    "low_share": ("一般及以下比例", "share"),
    "log_coverage": ("日志覆盖率", "share"),
    "saturation": ("工作饱和度", "share"),
}
PILOT_COLOR = figures.NEUTRAL_COLOR
OTHER_COLOR = "#555555"


# --- SQL: unit-quarter metrics -------------------------------------------------------------------

def _unit_quarter_sql(filters: Filters) -> tuple[str, list]:
    pop_sql, pop_params = filters.population()
    q_sql, q_params = filters.period_clause("q.period")
    d_sql, d_params = filters.date_clause("w.month")  # a month lies in one quarter and year
    grades = list(RATED_GRADES)
    # Only when the filters narrow the people is the log scan restricted to them first (for the
    # whole store, the join with pop after the grouping keeps the same rows, at less cost).
    only = "AND {col} IN (SELECT person_id FROM pop)" if filters.with_(years=(), periods=()) != Filters() else ""
    quarters = (1, 2, 3, 4)
    log_sums = ", ".join(f"sum(w.logged_workdays) FILTER (WHERE quarter(w.month) = {k}) AS days{k}, "
                         f"sum(w.hours) FILTER (WHERE quarter(w.month) = {k}) AS hours{k}" for k in quarters)
    unit_sums = ", ".join(
        f"sum(((coalesce(l.logged, 0) | coalesce(r.rated, 0)) >> {k - 1}) & 1)::BIGINT AS n_expected{k}, "
        f"sum((coalesce(l.logged, 0) >> {k - 1}) & 1)::BIGINT AS n_logging{k}, "
        f"sum(l.days{k}) AS logged_days{k}, sum(l.hours{k}) AS hours{k}" for k in quarters)
    unnest = ", ".join(f"unnest([{', '.join(f'{c}{k}' for k in quarters)}]) AS {c}"
                       for c in ("n_expected", "n_logging", "logged_days", "hours"))
    sql = f"""
        WITH pop AS ({pop_sql}),
        grades AS (
            SELECT p.unit, q.period,
                   count(*) FILTER (WHERE q.grade = ANY(?)) AS n_rated,
                   stddev_samp(q.score) FILTER (WHERE q.grade = ANY(?)) AS score_sd,
                   count(*) FILTER (WHERE q.grade = '好') AS n_good,
                   count(*) FILTER (WHERE q.grade IN ('一般', '较差')) AS n_low
            FROM quarterly q JOIN pop p USING (person_id)
            WHERE p.unit IS NOT NULL AND {q_sql}
            GROUP BY ALL
        ),
        span AS (SELECT min(work_date) AS d0, max(work_date) AS d1 FROM worklog_daily),
        workdays AS (
            SELECT year(day) AS y, quarter(day) AS qn, count(*) AS days
            FROM workday_calendar, span
            WHERE is_workday AND day BETWEEN span.d0 AND span.d1
            GROUP BY ALL
        ),
        -- Who should log in a quarter: everyone rated that quarter (不确定等次 excluded), and
        -- anyone who did log. Per person and year, a bit per quarter (bit q-1 for Qq) says who
        -- logged and who was rated, so that the people are counted without a row per person and
        -- quarter; the logged working days and hours (from the monthly pre-aggregate) are summed
        -- per quarter alongside.
        log_years AS (
            SELECT w.person_id, year(w.month) AS y, bit_or(1 << (quarter(w.month) - 1)) AS logged,
                   {log_sums}
            FROM worklog_monthly w
            WHERE {d_sql} {only.format(col="w.person_id")}
            GROUP BY ALL
        ),
        rated_years AS (
            SELECT q.person_id, q.year AS y, bit_or(1 << (q.quarter - 1)) AS rated
            FROM quarterly q
            WHERE q.grade = ANY(?) AND q.quarter BETWEEN 1 AND 4 AND {q_sql} {only.format(col="q.person_id")}
            GROUP BY ALL
        ),
        unit_years AS (
            SELECT p.unit, coalesce(l.y, r.y) AS y, {unit_sums}
            FROM log_years l
            FULL JOIN rated_years r ON r.person_id = l.person_id AND r.y = l.y
            JOIN pop p ON p.person_id = coalesce(l.person_id, r.person_id)
            WHERE p.unit IS NOT NULL
            GROUP BY ALL
        ),
        unit_q AS (
            SELECT unit, y, unnest([1, 2, 3, 4]) AS qn, {unnest} FROM unit_years
        ),
        logs AS (
            -- workdays: the quarter's working days once per expected person
            SELECT u.unit, u.y || 'Q' || u.qn AS period, u.n_expected, u.n_logging,
                   coalesce(u.logged_days, 0) AS logged_days, u.n_expected * wd.days AS workdays,
                   coalesce(u.hours, 0) AS hours
            FROM unit_q u JOIN workdays wd USING (y, qn)
            WHERE u.n_expected > 0
        ),
        units_sel AS (
            SELECT unit, bool_or(is_pilot) AS is_pilot, any_value(pilot_since) AS pilot_since
            FROM pop WHERE unit IS NOT NULL GROUP BY unit
        )
        SELECT coalesce(g.unit, l.unit) AS unit, coalesce(g.period, l.period) AS period,
               u.is_pilot, u.pilot_since,
               coalesce(g.n_rated, 0) AS n_rated, g.score_sd,
               g.n_good::DOUBLE / NULLIF(g.n_rated, 0) AS good_share,
               g.n_low::DOUBLE / NULLIF(g.n_rated, 0) AS low_share,
               coalesce(l.n_expected, 0) AS n_expected, coalesce(l.n_logging, 0) AS n_logging,
               CASE WHEN l.n_logging > 0 THEN l.logged_days::DOUBLE / NULLIF(l.workdays, 0) END AS log_coverage,
               CASE WHEN l.n_logging > 0 THEN l.hours / NULLIF(l.workdays * {STANDARD_HOURS}, 0) END AS saturation
        FROM grades g
        FULL JOIN logs l ON l.unit = g.unit AND l.period = g.period
        JOIN units_sel u ON u.unit = coalesce(g.unit, l.unit)
        ORDER BY unit, period
    """
    params = [*pop_params, grades, grades, *q_params, *d_params, grades, *q_params]
    return sql, params


def unit_quarters(con: duckdb.DuckDBPyConnection, filters: Filters, min_group: int = 5) -> pd.DataFrame:
    """One row per unit-quarter with the five metrics; groups below ``min_group`` are NaN (样本过少).

    Columns: unit, period, is_pilot, pilot_since, n_rated, n_expected, n_logging, score_sd,
    good_share, low_share, log_coverage, saturation, small_rated, small_logs.
    """
    sql, params = _unit_quarter_sql(filters)
    frame = store.frame(con, sql, params)  # the same frame as .df(), fetched faster
    frame["is_pilot"] = frame["is_pilot"].fillna(False).astype(bool)
    frame["small_rated"] = frame["n_rated"] < min_group
    frame["small_logs"] = frame["n_expected"] < min_group
    for column in ("score_sd", "good_share", "low_share"):
        frame[column] = frame[column].where(~frame["small_rated"]).astype(float)
    for column in ("log_coverage", "saturation"):
        frame[column] = frame[column].where(~frame["small_logs"]).astype(float)
    return frame


# --- difference in differences -------------------------------------------------------------------

def join_quarter(value: object) -> str | None:
    """``pilot_since`` as a 'YYYYQn' join quarter, or None when absent or malformed."""
    if isinstance(value, str) and _PERIOD.match(value.strip()):
        return value.strip()
    return None


class _Quarters:
    """The unit-quarter table as arrays, for the before/after means of ``_before_after``."""

    def __init__(self, uq: pd.DataFrame) -> None:
        # units coded in sorted order, as a groupby on the unit names would order them
        codes, units = pd.factorize(uq["unit"], sort=True, use_na_sentinel=False)
        self.codes = codes
        self.index = pd.Index(units)
        self.period = uq["period"].to_numpy(dtype=object)
        self.values = {m: uq[m].to_numpy(dtype=float) for m in METRICS}


def _before_after(q: _Quarters, units: list[str], cohort: str, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Per unit of ``units`` (in that order): mean of the unit-quarter values before ``cohort`` and
    from ``cohort`` on (NaN where there are none).

    Bit for bit the means of ``pivot_table(index="unit", columns="side", aggfunc="mean")`` on the
    units' non-NaN rows: the same rows in the same order, grouped on integer keys that sort like
    (unit, side) with 'after' < 'before', so pandas takes the same summation path (it depends on
    whether the group keys come in sorted order)."""
    wanted = q.index.get_indexer(units)
    values = q.values[metric]
    rows = np.isin(q.codes, wanted) & ~np.isnan(values)
    key = q.codes[rows] * 2 + (q.period[rows] < cohort)  # 2u: after, 2u + 1: before
    means = pd.DataFrame({metric: values[rows]}).groupby(key).mean()[metric]
    both = np.full(2 * len(q.index), np.nan)
    both[means.index.to_numpy()] = means.to_numpy()
    return both[2 * wanted + 1], both[2 * wanted]


@dataclass(frozen=True)
class DidResult:
    table: pd.DataFrame  # one row per metric: the report's keys
    per_pilot: pd.DataFrame  # unit, join quarter, metric, before, after, change
    cohorts: list[str]
    pilot_units: list[str]  # pilots with a usable join quarter
    other_units: list[str]


def did(uq: pd.DataFrame, reps: int = BOOTSTRAP_REPS, seed: int = BOOTSTRAP_SEED,
        upto: str | None = None) -> DidResult:
    """Stacked difference in differences with a cluster bootstrap over units (see module docstring).

    ``upto``: stop after this metric (in METRICS order); the metrics before it get the same
    numbers as in the full run, since the bootstrap draws come from one stream in that order."""
    units = uq.drop_duplicates("unit")[["unit", "is_pilot", "pilot_since"]]
    units = units.assign(join=units["pilot_since"].map(join_quarter))
    pilots = units[units["is_pilot"] & units["join"].notna()]
    others = sorted(units.loc[~units["is_pilot"], "unit"])
    cohorts = sorted(pilots["join"].unique())
    rng = np.random.default_rng(seed)
    quarters = _Quarters(uq)
    rows, per_pilot = [], []
    for metric, (label, _kind) in METRICS.items():
        est = _did_metric(quarters, pilots, others, cohorts, metric, rng, reps)
        rows.append({"metric": metric, "label": label, **est.pop("summary")})
        per_pilot.append(est.pop("per_pilot").assign(metric=metric, label=label))
        if metric == upto:
            break
    table = pd.DataFrame(rows, columns=["metric", "label", "pilot_before", "pilot_after", "other_before",
                                        "other_after", "did", "ci_low", "ci_high", "pilot_units", "other_units"])
    pp = pd.concat(per_pilot, ignore_index=True) if per_pilot else pd.DataFrame()
    return DidResult(table=table, per_pilot=pp, cohorts=cohorts,
                     pilot_units=sorted(pilots["unit"]), other_units=others)


def _did_metric(q: _Quarters, pilots: pd.DataFrame, others: list[str], cohorts: list[str], metric: str,
                rng: np.random.Generator, reps: int) -> dict:
    # never-pilots: one row per unit, (before, after) per cohort
    o_before = np.full((len(others), len(cohorts)), np.nan)
    o_after = np.full((len(others), len(cohorts)), np.nan)
    p_before, p_after, p_cohort, p_units = [], [], [], []
    for j, g in enumerate(cohorts):
        o_before[:, j], o_after[:, j] = _before_after(q, others, g, metric)
        members = sorted(pilots.loc[pilots["join"] == g, "unit"])
        before, after = _before_after(q, members, g, metric)
        p_before += list(before)
        p_after += list(after)
        p_cohort += [j] * len(members)
        p_units += members
    p_before, p_after, p_cohort = np.array(p_before, float), np.array(p_after, float), np.array(p_cohort, int)
    per_pilot = pd.DataFrame({"unit": p_units, "join": [cohorts[j] for j in p_cohort], "before": p_before,
                              "after": p_after, "change": p_after - p_before})
    p_ok = ~np.isnan(p_before) & ~np.isnan(p_after)
    o_ok = ~np.isnan(o_before) & ~np.isnan(o_after)
    # cohorts with at least one usable pilot and one usable never-pilot
    n_p = np.array([np.sum(p_ok & (p_cohort == j)) for j in range(len(cohorts))], float)
    n_o = o_ok.sum(axis=0).astype(float)
    live = (n_p > 0) & (n_o > 0)
    empty = {"pilot_before": None, "pilot_after": None, "other_before": None, "other_after": None,
             "did": None, "ci_low": None, "ci_high": None,
             "pilot_units": int(p_ok.sum()) if len(p_ok) else 0, "other_units": int(o_ok.any(axis=1).sum())}
    if not live.any():
        return {"summary": empty, "per_pilot": per_pilot}
    w = np.where(live, n_p, 0) / np.where(live, n_p, 0).sum()

    def cohort_means(values: np.ndarray, ok: np.ndarray, j: int) -> float:
        return float(values[ok & (p_cohort == j)].mean())

    pb = np.array([cohort_means(p_before, p_ok, j) if live[j] else 0.0 for j in range(len(cohorts))])
    pa = np.array([cohort_means(p_after, p_ok, j) if live[j] else 0.0 for j in range(len(cohorts))])
    ob = np.where(live, _nanmean(np.where(o_ok, o_before, np.nan), axis=0), 0.0)
    oa = np.where(live, _nanmean(np.where(o_ok, o_after, np.nan), axis=0), 0.0)
    summary = {
        "pilot_before": float(w @ pb), "pilot_after": float(w @ pa),
        "other_before": float(w @ ob), "other_after": float(w @ oa),
    }
    summary["did"] = ((summary["pilot_after"] - summary["pilot_before"])
                      - (summary["other_after"] - summary["other_before"]))
    boot = _bootstrap(p_after - p_before, p_ok, p_cohort, o_after - o_before, o_ok, live, rng, reps)
    low, high = (np.nanpercentile(boot, [2.5, 97.5]) if np.isfinite(boot).any() else (np.nan, np.nan))
    summary.update(ci_low=float(low), ci_high=float(high),
                   pilot_units=int(p_ok[np.isin(p_cohort, np.flatnonzero(live))].sum()),
                   other_units=int(o_ok[:, live].any(axis=1).sum()))
    return {"summary": summary, "per_pilot": per_pilot}


def _nanmean(values: np.ndarray, axis: int) -> np.ndarray:
    """Mean ignoring NaN; NaN (without a warning) where nothing is left."""
    count = np.sum(~np.isnan(values), axis=axis)
    total = np.nansum(values, axis=axis)
    return np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)


def _bootstrap(p_diff: np.ndarray, p_ok: np.ndarray, p_cohort: np.ndarray, o_diff: np.ndarray,
               o_ok: np.ndarray, live: np.ndarray, rng: np.random.Generator, reps: int) -> np.ndarray:
    """DiD of ``reps`` cluster-bootstrap samples: units resampled with replacement, pilots within
    their cohort and never-pilots as whole rows (all cohorts at once). Vectorised over replicates."""
    n_cohorts = len(live)
    keep_o = o_ok[:, live].any(axis=1)
    od = np.where(o_ok, o_diff, np.nan)[keep_o]  # never-pilots usable for some live cohort
    idx = rng.integers(0, len(od), size=(reps, len(od)))
    if np.isnan(od).any():
        sample = od[idx]  # reps x units x cohorts
        o_mean = _nanmean(sample, axis=1)  # reps x cohorts (NaN if a cohort drew no usable unit)
    elif od.shape[1] == 1:
        # One cohort, every unit usable: the same sums as ``_nanmean`` (a reps x units x 1 sum over
        # the units adds like the reps x units one), without the NaN bookkeeping.
        o_mean = (np.sum(od[:, 0][idx], axis=1) / len(od))[:, None]
    else:
        o_mean = np.sum(od[idx], axis=1) / len(od)
    p_mean = np.full((reps, n_cohorts), np.nan)
    for j in np.flatnonzero(live):  # a handful of cohorts, each vectorised over replicates
        d = p_diff[p_ok & (p_cohort == j)]
        p_mean[:, j] = d[rng.integers(0, len(d), size=(reps, len(d)))].mean(axis=1)
    weights = np.where(live, [np.sum(p_ok & (p_cohort == j)) for j in range(n_cohorts)], 0).astype(float)
    weights /= weights.sum()
    contrib = (p_mean - o_mean)[:, live]
    return contrib @ weights[live]


# --- group series, comparisons -------------------------------------------------------------------

def group_series(uq: pd.DataFrame) -> pd.DataFrame:
    """Per quarter and group (联系点单位 / 其他单位): the mean of the unit-quarter values and units counted."""
    if uq.empty:
        return pd.DataFrame(columns=["period", "group", "units", *METRICS])
    frame = uq.assign(group=np.where(uq["is_pilot"], "联系点单位", "其他单位"))
    agg = frame.groupby(["period", "group"]).agg(units=("unit", "nunique"),
                                                 **{m: (m, "mean") for m in METRICS}).reset_index()
    return agg.sort_values(["group", "period"], ascending=[False, True]).reset_index(drop=True)


def compare_units(uq: pd.DataFrame, units: list[str]) -> pd.DataFrame:
    """The unit-quarter rows of the chosen units, in the order chosen."""
    part = uq[uq["unit"].isin(units)].copy()
    part["_o"] = part["unit"].map({u: i for i, u in enumerate(units)})
    return part.sort_values(["_o", "period"]).drop(columns="_o").reset_index(drop=True)


@dataclass(frozen=True)
class PilotAnalysis:
    unit_quarters: pd.DataFrame
    series: pd.DataFrame
    did: DidResult
    min_group: int
    method: str

    @property
    def empty(self) -> bool:
        return self.unit_quarters.empty

    @property
    def has_did(self) -> bool:
        return bool(self.did.table["did"].notna().any())

    @property
    def units(self) -> list[str]:
        return sorted(self.unit_quarters["unit"].unique())

    @property
    def pilot_units(self) -> list[str]:
        return sorted(self.unit_quarters.loc[self.unit_quarters["is_pilot"], "unit"].unique())


METHOD = ("以单位-季度为分析单元，按各联系点加入季度分组做双重差分（联系点加入前后的变化减去非联系点单位同期的变化），"
          f"以单位为整群有放回重抽样 {BOOTSTRAP_REPS:,} 次（固定随机种子）取 95% 百分位区间。")


def analyse(con: duckdb.DuckDBPyConnection, filters: Filters, min_group: int = 5,
            reps: int = BOOTSTRAP_REPS, seed: int = BOOTSTRAP_SEED) -> PilotAnalysis:
    uq = unit_quarters(con, filters, min_group)
    return PilotAnalysis(unit_quarters=uq, series=group_series(uq), did=did(uq, reps, seed),
                         min_group=min_group, method=METHOD)


# --- words ---------------------------------------------------------------------------------------

def fmt_value(metric: str, value: float | None, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if METRICS[metric][1] == "share":
        return f"{value * 100:+.1f} 个百分点" if signed else figures.pct(value)
    return f"{value:+.2f} 分" if signed else f"{value:.2f} 分"


def _significant(row: pd.Series) -> bool:
    return row["ci_low"] is not None and not pd.isna(row["ci_low"]) and (row["ci_low"] > 0 or row["ci_high"] < 0)


def did_words(metric: str, row: pd.Series) -> str:
    """'得分标准差比其他单位多提高 2.95 分（95% 区间 2.64 分 至 3.17 分）'."""
    value = row["did"]
    direction = "提高" if value > 0 else "下降"
    size = fmt_value(metric, abs(value), signed=True).lstrip("+")
    interval = (f"95% 区间 {fmt_value(metric, row['ci_low'], signed=True)} 至 "
                f"{fmt_value(metric, row['ci_high'], signed=True)}")
    caveat = "" if _significant(row) else "，区间含 0，不能确定有变化"
    return f"{METRICS[metric][0]}比其他单位多{direction} {size}（{interval}{caveat}）"


def headline(result: PilotAnalysis) -> str:
    d = result.did
    t = d.table.set_index("metric")
    if t["did"].isna().all():
        if not d.pilot_units:
            return "当前筛选范围内没有带加入季度的联系点单位，无法做加入前后的对比。"
        if not d.other_units:
            return "当前筛选范围内没有非联系点单位作对照，无法做双重差分。"
        return "当前筛选范围内联系点单位缺少加入前或加入后的数据，无法做双重差分。"
    since = "、".join(d.cohorts)
    parts = []
    for metric in ("score_sd", "good_share", "low_share", "log_coverage"):
        row = t.loc[metric]
        if pd.isna(row["did"]):
            continue
        parts.append(did_words(metric, row))
    text = (f"{int(t['pilot_units'].max())} 个联系点单位（{since} 起）加入后，与同期 {int(t['other_units'].max())} 个"
            f"非联系点单位的变化相比：" + "；".join(parts) + "。")
    if len(d.pilot_units) < 5:
        text += f"联系点单位只有 {len(d.pilot_units)} 个，按单位重抽样的区间偏窄，只作参考。"
    return text


def did_display(result: PilotAnalysis) -> pd.DataFrame:
    t = result.did.table
    return pd.DataFrame({
        "指标": t["label"],
        "联系点加入前": [fmt_value(m, v) for m, v in zip(t["metric"], t["pilot_before"], strict=True)],
        "联系点加入后": [fmt_value(m, v) for m, v in zip(t["metric"], t["pilot_after"], strict=True)],
        "其他单位同期前": [fmt_value(m, v) for m, v in zip(t["metric"], t["other_before"], strict=True)],
        "其他单位同期后": [fmt_value(m, v) for m, v in zip(t["metric"], t["other_after"], strict=True)],
        "双重差分": [fmt_value(m, v, signed=True) for m, v in zip(t["metric"], t["did"], strict=True)],
        "95% 区间下限": [fmt_value(m, v, signed=True) for m, v in zip(t["metric"], t["ci_low"], strict=True)],
        "95% 区间上限": [fmt_value(m, v, signed=True) for m, v in zip(t["metric"], t["ci_high"], strict=True)],
        "联系点单位数": t["pilot_units"], "对照单位数": t["other_units"],
    })


def _cell(metric: str, value: float, small: bool) -> str:
    return "样本过少" if small else fmt_value(metric, value)


def unit_quarters_display(uq: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"单位": uq["unit"], "考核周期": uq["period"],
                        "联系点": np.where(uq["is_pilot"], "是", "否"),
                        "加入季度": uq["pilot_since"].fillna(""), "参评人数": uq["n_rated"]})
    for metric, (label, _kind) in METRICS.items():
        small = uq["small_rated"] if metric in ("score_sd", "good_share", "low_share") else uq["small_logs"]
        out[label] = [_cell(metric, v, s) for v, s in zip(uq[metric], small, strict=True)]
    return out


def series_display(series: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"考核周期": series["period"], "分组": series["group"], "单位数": series["units"]})
    for metric, (label, _kind) in METRICS.items():
        out[label] = [fmt_value(metric, v) for v in series[metric]]
    return out


def per_pilot_display(result: PilotAnalysis) -> pd.DataFrame:
    pp = result.did.per_pilot
    if pp.empty:
        return pd.DataFrame(columns=["单位", "加入季度", "指标", "加入前", "加入后", "变化"])
    return pd.DataFrame({
        "单位": pp["unit"], "加入季度": pp["join"], "指标": pp["label"],
        "加入前": [fmt_value(m, v) for m, v in zip(pp["metric"], pp["before"], strict=True)],
        "加入后": [fmt_value(m, v) for m, v in zip(pp["metric"], pp["after"], strict=True)],
        "变化": [fmt_value(m, v, signed=True) for m, v in zip(pp["metric"], pp["change"], strict=True)],
    })


# --- figures -------------------------------------------------------------------------------------

def _scale(metric: str, values: pd.Series | np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    return v * 100 if METRICS[metric][1] == "share" else v


def _axis_title(metric: str) -> str:
    return METRICS[metric][0] + ("（%）" if METRICS[metric][1] == "share" else "（分）")


def did_figure(result: PilotAnalysis) -> go.Figure:
    """One panel per metric: the DiD estimate with its 95 % bootstrap interval and the zero line."""
    t = result.did.table
    fig = make_subplots(rows=1, cols=len(t), subplot_titles=[_axis_title(m) for m in t["metric"]],
                        horizontal_spacing=0.06)
    for i, row in enumerate(t.itertuples(), start=1):
        if row.did is None or pd.isna(row.did):
            continue
        est, low, high = _scale(row.metric, [row.did, row.ci_low, row.ci_high])
        significant = low > 0 or high < 0
        fig.add_trace(go.Scatter(
            x=["双重差分"], y=[est], mode="markers", showlegend=False,
            marker={"size": 12, "color": figures.FLAG_COLOR if significant else figures.MUTED_COLOR},
            error_y={"type": "data", "symmetric": False, "array": [high - est], "arrayminus": [est - low]},
            hovertemplate=f"{row.label}<br>双重差分 %{{y:.2f}}<br>95% 区间 {low:.2f} 至 {high:.2f}<extra></extra>",
        ), row=1, col=i)
        fig.add_hline(y=0, line={"color": "#555555", "width": 1}, row=1, col=i)
    fig.update_xaxes(showticklabels=False)
    fig.update_layout(height=360)
    return fig


def series_figure(result: PilotAnalysis) -> go.Figure:
    """Small multiples: each metric's quarterly mean over pilot units and over the other units."""
    s = result.series
    metrics = list(METRICS)
    fig = make_subplots(rows=2, cols=3, subplot_titles=[_axis_title(m) for m in metrics],
                        vertical_spacing=0.16, horizontal_spacing=0.07)
    for i, metric in enumerate(metrics):
        r, c = divmod(i, 3)
        for group, color in (("联系点单位", PILOT_COLOR), ("其他单位", OTHER_COLOR)):
            part = s[s["group"] == group]
            if part.empty:
                continue
            fig.add_trace(go.Scatter(
                x=part["period"], y=_scale(metric, part[metric]), mode="lines+markers", name=group,
                legendgroup=group, showlegend=i == 0,
                line={"color": color, "width": 2 if group == "联系点单位" else 1.5},
                customdata=part["units"],
                hovertemplate=f"{group} %{{x}}<br>%{{y:.1f}}<br>%{{customdata}} 个单位<extra></extra>",
            ), row=r + 1, col=c + 1)
        for g in result.did.cohorts:
            if g in set(s["period"]):
                fig.add_vline(x=g, line={"color": figures.FLAG_COLOR, "dash": "dash", "width": 1}, row=r + 1, col=c + 1)
    fig.update_layout(height=620)
    fig.update_xaxes(type="category", tickangle=-45)
    return fig


def per_pilot_figure(result: PilotAnalysis, metric: str) -> go.Figure:
    """Dumbbell: each pilot unit before (grey) and after (blue) joining, on one metric."""
    pp = result.did.per_pilot
    pp = pp[(pp["metric"] == metric)].iloc[::-1]
    fig = go.Figure()
    for row in pp.itertuples():
        if pd.isna(row.before) or pd.isna(row.after):
            continue
        fig.add_trace(go.Scatter(x=_scale(metric, [row.before, row.after]), y=[row.unit, row.unit], mode="lines",
                                 line={"color": "#BBBBBB", "width": 3}, showlegend=False, hoverinfo="skip"))
    for side, color, name in (("before", figures.MUTED_COLOR, "加入前"), ("after", PILOT_COLOR, "加入后")):
        fig.add_trace(go.Scatter(
            x=_scale(metric, pp[side]), y=pp["unit"], mode="markers", name=name,
            marker={"color": color, "size": 12}, customdata=pp["unit"],
            hovertemplate=f"%{{y}}<br>{name} %{{x:.1f}}<extra></extra>",
        ))
    fig.update_layout(xaxis_title=_axis_title(metric), yaxis_title=None, height=max(260, 50 * len(pp) + 140))
    return fig


def compare_figure(result: PilotAnalysis, units: list[str]) -> go.Figure:
    """Small multiples of the chosen units' quarterly metrics (样本过少 quarters left as gaps)."""
    part = compare_units(result.unit_quarters, units)
    metrics = list(METRICS)
    fig = make_subplots(rows=2, cols=3, subplot_titles=[_axis_title(m) for m in metrics],
                        vertical_spacing=0.16, horizontal_spacing=0.07)
    palette = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
    for k, unit in enumerate(units):
        rows = part[part["unit"] == unit]
        color = palette[k % len(palette)]
        for i, metric in enumerate(metrics):
            r, c = divmod(i, 3)
            fig.add_trace(go.Scatter(
                x=rows["period"], y=_scale(metric, rows[metric]), mode="lines+markers", name=unit, legendgroup=unit,
                showlegend=i == 0, line={"color": color}, customdata=rows["unit"], connectgaps=False,
                hovertemplate="%{customdata} %{x}<br>%{y:.1f}<extra></extra>",
            ), row=r + 1, col=c + 1)
    fig.update_layout(height=620)
    fig.update_xaxes(type="category", tickangle=-45)
    return fig


# --- findings and the report ---------------------------------------------------------------------

def top_findings(con: duckdb.DuckDBPyConnection, filters: Filters, min_group: int = 5) -> list[Finding]:
    # Only the DiD of the metrics the findings name (the last of them in METRICS order ends the run).
    uq = unit_quarters(con, filters, min_group)
    t = did(uq, upto="log_coverage").table.set_index("metric")
    out: list[Finding] = []
    for metric in ("score_sd", "good_share", "log_coverage"):
        row = t.loc[metric]
        if pd.isna(row["did"]) or not _significant(row):
            continue
        label = METRICS[metric][0]
        direction = "提高" if row["did"] > 0 else "下降"
        out.append(Finding(
            page=PAGE, title=f"联系点单位加入后{label}{direction}",
            detail=(f"{int(row['pilot_units'])} 个联系点单位从 {fmt_value(metric, row['pilot_before'])}变为 "
                    f"{fmt_value(metric, row['pilot_after'])}，同期 {int(row['other_units'])} 个其他单位从 "
                    f"{fmt_value(metric, row['other_before'])}变为 {fmt_value(metric, row['other_after'])}；"
                    f"双重差分 {fmt_value(metric, row['did'], signed=True)}，单位整群自助法 95% 区间 "
                    f"{fmt_value(metric, row['ci_low'], signed=True)} 至 "
                    f"{fmt_value(metric, row['ci_high'], signed=True)}。"),
            count=int(row["pilot_units"])))
    return out


REPORT_COLUMNS = ["metric", "label", "pilot_before", "pilot_after", "other_before", "other_after", "did",
                  "ci_low", "ci_high", "pilot_units", "other_units"]


def _report_filters(filters: Filters, args: ReportArgs) -> Filters:
    if args.period:
        if not _PERIOD.match(args.period):
            raise ReportError(f"季度格式应为 2025Q1 这样的形式，而不是「{args.period}」。")
        return filters.with_(periods=(args.period,))
    if args.year:
        return filters.with_(years=(int(args.year),), periods=())
    return filters


@report("pilots", "联系点对比（双重差分）：每个指标一行（metric 指标代码，label 指标名称，pilot_before/pilot_after "
                  "联系点单位加入前/后的平均，other_before/other_after 非联系点单位同期前/后的平均，did 双重差分，"
                  "ci_low/ci_high 单位整群自助法 95% 区间，pilot_units/other_units 计入的单位数）；"
                  "比例为 0–1 的小数，得分标准差为分；可用 --year 或 --period 限定")
def pilots_report(con: duckdb.DuckDBPyConnection, filters: Filters, args: ReportArgs) -> pd.DataFrame:
    result = analyse(con, _report_filters(filters, args))
    t = result.did.table.copy()
    for column in ("pilot_before", "pilot_after", "other_before", "other_after", "did", "ci_low", "ci_high"):
        t[column] = [None if v is None or pd.isna(v) else round(float(v), 4) for v in t[column]]
    t["pilot_units"] = t["pilot_units"].astype(int)
    t["other_units"] = t["other_units"].astype(int)
    return t[REPORT_COLUMNS].astype({c: object for c in REPORT_COLUMNS[2:9]})
