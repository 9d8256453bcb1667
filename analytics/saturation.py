"""工作饱和度: logged hours against standard hours, per person, department (处室) and unit.

saturation = logged hours ÷ (working days × 8), working days from ``workday_calendar`` (mainland
China's official calendar: holidays out, make-up working days in).

Decisions (see docs/metrics/saturation.md):
* Hours logged on non-working days (weekends, holidays) count toward the hours; the denominator
  is always the month's working days. Log coverage counts working days only.
* A person counts in a month when they have at least one log row or a monthly reconciliation
  (月度对账) row that month; a person with a monthly row and no log rows shows hours 0,
  saturation 0 and coverage 0. The store has no joining or leaving dates, so a month is never
  prorated: someone who joined mid-month shows a low saturation that month. People of the
  filtered population with neither kind of row are counted apart (``Saturation.absent``).
* A group (处室 or unit) with fewer than ``min_group`` people shows 样本过少 instead of its rates.

Everything is aggregated in DuckDB from the ``worklog_monthly`` pre-aggregate (hours and logged
working days per person and month; its months start on the 1st, like every range here), the calendar,
and ``worklog_daily`` for the hours on non-working days only; only per-person (or smaller) results
come back to pandas.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics import store
from analytics.figures import (
    BAND_COLORS,
    GRADE_COLORS,
    MUTED_COLOR,
    NEUTRAL_COLOR,
    QUARTER_GRADE_ORDER,
    SATURATION_BANDS,
    pct,
)
from analytics.filters import Filters
from analytics.findings import Finding
from analytics.registry import ReportArgs, ReportError, report

STANDARD_HOURS = 8
SMALL = "样本过少"
NO_DEPT = "（未填处室）"
# Lower edges are inclusive: exactly 60% is 较饱和, exactly 90% and exactly 110% are 饱和.
BAND_EDGES = (0.6, 0.9, 1.1)
# A 处室 whose Gini coefficient of saturation reaches this is marked 分配不均: half its people at
# 60% and half at 120% give 0.167, half at 70% and half at 110% give 0.111.
GINI_UNEVEN = 0.15
RATING_ORDER = ("不饱满", "一般", "较饱满", "饱满")  # the leader's 饱和度评价, lowest first
PAGE = "pages/saturation.py"
_FAR = (dt.date(1900, 1, 1), dt.date(2200, 1, 1))


def band_sql(expr: str) -> str:
    """SQL CASE giving the band of a saturation expression (rounded to 6 decimals first, so that
    91.2 h over 152 h is exactly 60%)."""
    low, mid, high = BAND_EDGES
    return (f"CASE WHEN {expr} IS NULL THEN NULL WHEN round({expr}, 6) < {low} THEN '不饱和' "
            f"WHEN round({expr}, 6) < {mid} THEN '较饱和' WHEN round({expr}, 6) <= {high} THEN '饱和' "
            f"ELSE '超负荷' END")


def parse_month(text: str | dt.date | None) -> dt.date:
    """'2025-10' (or a date) -> date(2025, 10, 1); ValueError otherwise."""
    if isinstance(text, dt.date):
        return text.replace(day=1)
    match = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", text or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"月份应写成 YYYY-MM，例如 2025-10，而不是「{text}」")
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def month_label(month: dt.date) -> str:
    return f"{month.year}年{month.month}月"


def _next_month(month: dt.date) -> dt.date:
    return dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def _range(f: Filters, month: dt.date | None) -> tuple[dt.date, dt.date, str, list]:
    """[lo, hi) dates and a predicate on the calendar's ``day`` for the view: one month (which
    then overrides the years/quarters of the filters), else the filters' years or quarters."""
    if month is not None:
        return month, _next_month(month), "true", []
    clause, params = f.date_clause("day")
    if f.periods:
        starts = [dt.date(int(p[:4]), 3 * int(p[-1]) - 2, 1) for p in f.periods]
        ends = [dt.date(int(p[:4]) + (p[-1] == "4"), (3 * int(p[-1])) % 12 + 1, 1) for p in f.periods]
        return min(starts), max(ends), clause, params
    if f.years:
        return dt.date(min(f.years), 1, 1), dt.date(max(f.years) + 1, 1, 1), clause, params
    return *_FAR, clause, params


def _narrows(f: Filters) -> bool:
    """Whether the filters select fewer people than the whole store (then the log scan is
    restricted to them first; otherwise it aggregates first and joins the people after)."""
    return f.with_(years=(), periods=()) != Filters()


def _months_cte(clause: str) -> str:
    """The ``months`` CTE of the person-month queries: working days per month of the calendar between
    two parameters (the first and the day after the last), where ``clause`` holds."""
    return f"""months AS (
        SELECT date_trunc('month', day)::DATE AS month,
               count(*) FILTER (WHERE is_workday) AS workdays
        FROM workday_calendar
        WHERE day >= ? AND day < ? AND {clause}
        GROUP BY 1
    )"""


def _person_months_sql(f: Filters, month: dt.date | None = None,
                       bounds: tuple[dt.date, dt.date] | None = None) -> tuple[str, list]:
    """One row per person and month of the view where the person has a log row or a monthly
    reconciliation row: hours, working days, logged working days, off-day hours, plan and done,
    the leader's rating, and the person's name, unit and 处室."""
    pop_sql, pop_params = f.population()
    lo, hi, cal_clause, cal_params = _range(f, month)
    if bounds is not None:
        lo, hi, cal_clause, cal_params = bounds[0], bounds[1], "true", []
    only = "AND {col} IN (SELECT person_id FROM pop)" if _narrows(f) else ""
    std = f"(mo.workdays * {STANDARD_HOURS})"
    sql = f"""
    WITH pop AS ({pop_sql}),
    {_months_cte(cal_clause)},
    offdays AS (
        SELECT d.person_id, date_trunc('month', d.work_date)::DATE AS month, sum(d.hours) AS offday_hours
        FROM worklog_daily d
        JOIN workday_calendar c ON c.day = d.work_date AND NOT c.is_workday
        WHERE d.work_date >= ? AND d.work_date < ? {only.format(col="d.person_id")}
        GROUP BY ALL
    ),
    logs AS (
        SELECT w.person_id, w.month, w.hours, w.logged_workdays,
               coalesce(o.offday_hours, 0) AS offday_hours
        FROM worklog_monthly w
        LEFT JOIN offdays o ON o.person_id = w.person_id AND o.month = w.month
        WHERE w.month >= ? AND w.month < ? {only.format(col="w.person_id")}
    ),
    mon AS (
        SELECT m.person_id, date_trunc('month', m.month)::DATE AS month,
               sum(m.planned) AS planned, sum(m.done) AS done,
               arg_max(m.saturation_rating, m.batch_id) AS rating
        FROM monthly m
        WHERE m.month >= ? AND m.month < ? {only.format(col="m.person_id")}
        GROUP BY ALL
    )
    SELECT pop.person_id, pop.name, pop.unit, coalesce(pop.dept, '{NO_DEPT}') AS dept, pop.dept AS raw_dept,
           mo.month, mo.workdays,
           coalesce(l.hours, 0) AS hours,
           coalesce(l.logged_workdays, 0) AS logged_workdays,
           coalesce(l.offday_hours, 0) AS offday_hours,
           m.planned, m.done, m.rating, l.person_id IS NOT NULL AS has_logs,
           coalesce(l.hours, 0) / {std} AS saturation,
           {band_sql(f"coalesce(l.hours, 0) / {std}")} AS band
    FROM logs l
    FULL JOIN mon m ON m.person_id = l.person_id AND m.month = l.month
    JOIN months mo ON mo.month = coalesce(l.month, m.month)
    JOIN pop ON pop.person_id = coalesce(l.person_id, m.person_id)
    WHERE mo.workdays > 0
    """
    return sql, [*pop_params, lo, hi, *cal_params, lo, hi, lo, hi, lo, hi]


def _grade_months_sql(f: Filters, lo: dt.date, hi: dt.date) -> tuple[str, list]:
    """The person-months of ``_person_months_sql`` with ``bounds=(lo, hi)``, with only the columns
    ``_grade_link`` reads (person_id, month, workdays, hours): the same rows and values, without the
    scan of the daily logs for off-day hours, the names or the monthly plan and rating."""
    pop_sql, pop_params = f.population()
    only = "AND {col} IN (SELECT person_id FROM pop)" if _narrows(f) else ""
    sql = f"""
    WITH pop AS ({pop_sql}),
    {_months_cte("true")},
    logs AS (
        SELECT w.person_id, w.month, w.hours
        FROM worklog_monthly w
        WHERE w.month >= ? AND w.month < ? {only.format(col="w.person_id")}
    ),
    mon AS (
        SELECT DISTINCT m.person_id, date_trunc('month', m.month)::DATE AS month
        FROM monthly m
        WHERE m.month >= ? AND m.month < ? {only.format(col="m.person_id")}
    )
    SELECT pop.person_id, mo.month, mo.workdays, coalesce(l.hours, 0) AS hours
    FROM logs l
    FULL JOIN mon m ON m.person_id = l.person_id AND m.month = l.month
    JOIN months mo ON mo.month = coalesce(l.month, m.month)
    JOIN pop ON pop.person_id = coalesce(l.person_id, m.person_id)
    WHERE mo.workdays > 0
    """
    return sql, [*pop_params, lo, hi, lo, hi, lo, hi]


@contextmanager
def _grade_months(con: duckdb.DuckDBPyConnection, f: Filters, lo: dt.date, hi: dt.date) -> Iterator[str]:
    """``person_months(con, f, bounds=(lo, hi))`` for ``_grade_link``: a TEMP table of the
    person-months with the columns it reads (see ``_grade_months_sql``)."""
    with _temp_table(con, "_sat_gm_", *_grade_months_sql(f, lo, hi)) as name:
        yield name


@contextmanager
def person_months(con: duckdb.DuckDBPyConnection, f: Filters, month: dt.date | None = None,
                  bounds: tuple[dt.date, dt.date] | None = None) -> Iterator[str]:
    """Materialise the view's person-month rows once, in a TEMP table private to ``con`` (a
    cursor), so that every table and chart of the view reads them instead of scanning the logs
    again; yields the table's name and drops it after."""
    with _temp_table(con, "_sat_pm_", *_person_months_sql(f, month, bounds)) as name:
        yield name


@contextmanager
def _temp_table(con: duckdb.DuckDBPyConnection, prefix: str, sql: str, params: list) -> Iterator[str]:
    """A TEMP table private to ``con`` holding a query's rows; yields its name and drops it after."""
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    con.execute(f"CREATE TEMP TABLE {name} AS {sql}", params)
    try:
        yield name
    finally:
        con.execute(f"DROP TABLE IF EXISTS {name}")


# --- the month picker and the calendar ----------------------------------------------------------

def available_months(con: duckdb.DuckDBPyConnection, f: Filters) -> tuple[list[dt.date], dt.date | None]:
    """Months in the filters' range where someone of the population has a log or a monthly row
    (newest first), and the default: the latest month with logs (else the latest month)."""
    pop_sql, pop_params = f.population()
    lo, hi, cal_clause, cal_params = _range(f, None)
    only = "AND {col} IN (SELECT person_id FROM pop)" if _narrows(f) else ""
    rows = con.execute(f"""
        WITH pop AS ({pop_sql}),
        months AS (
            SELECT DISTINCT date_trunc('month', day)::DATE AS month FROM workday_calendar
            WHERE day >= ? AND day < ? AND {cal_clause} AND is_workday
        ),
        found AS (
            SELECT DISTINCT month, true AS has_logs
            FROM worklog_monthly WHERE month >= ? AND month < ? {only.format(col="person_id")}
            UNION ALL
            SELECT DISTINCT date_trunc('month', month)::DATE, false
            FROM monthly WHERE month >= ? AND month < ? {only.format(col="person_id")}
        )
        SELECT month, bool_or(has_logs) FROM found JOIN months USING (month)
        GROUP BY month ORDER BY month DESC
    """, [*pop_params, lo, hi, *cal_params, lo, hi, lo, hi]).fetchall()
    months = [r[0] for r in rows]
    with_logs = [r[0] for r in rows if r[1]]
    return months, (with_logs or months or [None])[0]


def calendar_days(con: duckdb.DuckDBPyConnection, months: list[dt.date]) -> pd.DataFrame:
    """Holidays (放假) and make-up working days (调休上班) in the given months, and the days whose
    year the calendar only estimates."""
    rows = con.execute("""
        SELECT day, is_workday, note,
               CASE WHEN note = '按周一至周五估算' THEN '估算'
                    WHEN is_workday THEN '调休上班' ELSE '放假' END AS kind
        FROM workday_calendar
        WHERE date_trunc('month', day)::DATE = ANY(?) AND note IS NOT NULL
        ORDER BY day
    """, [list(months)]).fetchall()
    return pd.DataFrame(rows, columns=["day", "is_workday", "note", "kind"])


_WEEKDAYS = "一二三四五六日"


def _day(d: dt.date) -> str:
    return f"{d.month}月{d.day}日"


def calendar_note(con: duckdb.DuckDBPyConnection, months: list[dt.date]) -> tuple[pd.DataFrame, str]:
    """Per month: working days, holidays (as runs of days) and 调休 days, in words; and one
    sentence naming the years whose calendar is estimated Monday to Friday."""
    if not months:
        return pd.DataFrame(columns=["月份", "工作日天数", "放假", "调休上班"]), ""
    workdays = dict(con.execute("""
        SELECT date_trunc('month', day)::DATE, count(*) FILTER (WHERE is_workday)
        FROM workday_calendar WHERE date_trunc('month', day)::DATE = ANY(?) GROUP BY 1
    """, [list(months)]).fetchall())
    days = calendar_days(con, months)
    rows = []
    for month in sorted(months):
        mine = days[[d.replace(day=1) == month for d in days["day"]]] if len(days) else days
        off = mine[mine["kind"] == "放假"]
        runs: list[list] = []
        for d, note in zip(off["day"], off["note"], strict=True):
            if runs and (d - runs[-1][1]).days == 1:
                runs[-1][1] = d
                if note not in runs[-1][2]:
                    runs[-1][2].append(note)
            else:
                runs.append([d, d, [note]])
        holidays = "；".join(
            f"{'、'.join(names)} {_day(a)}" + (f"–{_day(b)}" if b != a else "") for a, b, names in runs)
        makeup = "、".join(f"{_day(d)}（周{_WEEKDAYS[d.weekday()]}）"
                          for d in mine.loc[mine["kind"] == "调休上班", "day"])
        rows.append({"月份": month_label(month), "工作日天数": int(workdays.get(month, 0)),
                     "放假": holidays or "—", "调休上班": makeup or "—"})
    estimated = sorted({d.year for d in days.loc[days["kind"] == "估算", "day"]}) if len(days) else []
    note = ("、".join(f"{y}年" for y in estimated) + "的法定节假日安排尚未收录，工作日按周一至周五估算。"
            if estimated else "")
    return pd.DataFrame(rows), note


# --- the main view ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Saturation:
    scope: str  # "2025年10月" or the filters' period in words
    months: tuple[dt.date, ...]
    overall: dict  # people, hours, workdays, saturation, coverage, completion, bands {band: people}
    people: pd.DataFrame  # one row per person
    depts: pd.DataFrame  # one row per 处室 (unit, dept)
    units: pd.DataFrame  # one row per unit
    calendar: pd.DataFrame  # per month: 工作日天数, 放假, 调休上班
    calendar_note: str  # which years are estimated Monday-Friday ('' when none)
    absent: int  # people of the population with neither logs nor a monthly row in the view
    method: str


_PEOPLE_SQL = f"""
    SELECT person_id, name, unit, dept,
           count(*) AS months, sum(workdays) AS workdays, sum(hours) AS hours,
           sum(offday_hours) AS offday_hours, sum(logged_workdays) AS logged_workdays,
           sum(hours) / (sum(workdays) * {STANDARD_HOURS}) AS saturation,
           {band_sql(f"sum(hours) / (sum(workdays) * {STANDARD_HOURS})")} AS band,
           sum(logged_workdays) / sum(workdays) AS coverage,
           sum(planned) AS planned, sum(done) AS done,
           sum(done) / nullif(sum(planned), 0) AS completion,
           CASE WHEN count(*) = 1 THEN any_value(rating) END AS rating
    FROM {{pm}}
    GROUP BY ALL
"""

_GROUP_SQL = """
    WITH g AS (
        SELECT {keys}, count(*) AS n, sum(hours) AS hours, sum(workdays) AS workdays,
               sum(hours) / (sum(workdays) * {std}) AS raw_saturation,
               sum(logged_workdays) / sum(workdays) AS raw_coverage,
               sum(done) / nullif(sum(planned), 0) AS raw_completion,
               count(*) FILTER (WHERE band = '超负荷') AS over_n,
               count(*) FILTER (WHERE band = '不饱和') AS under_n
        FROM {people} GROUP BY ALL
    ), ranked AS (
        SELECT {keys}, saturation,
               row_number() OVER (PARTITION BY {keys} ORDER BY saturation) AS i,
               count(*) OVER (PARTITION BY {keys}) AS n
        FROM {people}
    ), gini AS (
        -- Gini = sum_i (2i - n - 1) x_(i) / (n * sum x), x sorted ascending
        SELECT {keys}, sum((2 * i - n - 1) * saturation) / nullif(any_value(n) * sum(saturation), 0) AS gini
        FROM ranked GROUP BY ALL
    )
    SELECT g.*,
           CASE WHEN n >= ? THEN raw_saturation END AS saturation,
           CASE WHEN n >= ? THEN {band} ELSE '{small}' END AS band,
           CASE WHEN n >= ? THEN raw_coverage END AS coverage,
           CASE WHEN n >= ? THEN raw_completion END AS completion,
           CASE WHEN n >= ? THEN gini.gini END AS gini,
           coalesce(n >= ? AND gini.gini >= {uneven}, false) AS uneven
    FROM g JOIN gini USING ({keys})
    ORDER BY raw_saturation DESC, {keys}
"""


def _groups(con: duckdb.DuckDBPyConnection, people: str, keys: str, min_group: int) -> pd.DataFrame:
    sql = _GROUP_SQL.format(keys=keys, std=STANDARD_HOURS, band=band_sql("raw_saturation"), small=SMALL,
                            uneven=GINI_UNEVEN, people=people)
    return store.frame(con, sql, [min_group] * 6)


def _absent(con: duckdb.DuckDBPyConnection, f: Filters, pm: str) -> int:
    pop_sql, pop_params = f.population()
    return int(con.execute(f"""
        WITH pop AS ({pop_sql})
        SELECT count(*) FROM pop WHERE person_id NOT IN (SELECT person_id FROM {pm})
    """, pop_params).fetchall()[0][0])


def _scope(f: Filters, month: dt.date | None, months: tuple[dt.date, ...]) -> str:
    if month:
        return month_label(month)
    if f.periods:
        return "、".join(sorted(f.periods))
    if f.years:
        return "、".join(str(y) for y in sorted(f.years)) + "年"
    if months:
        return f"{month_label(months[0])}至{month_label(months[-1])}"
    return "所选期间"


def _view(con: duckdb.DuckDBPyConnection, f: Filters, pm: str, month: dt.date | None,
          min_group: int) -> Saturation:
    people_table_name = f"{pm}_people"
    con.execute(f"CREATE TEMP TABLE {people_table_name} AS {_PEOPLE_SQL.format(pm=pm)}")
    try:
        # The integer sums come as DOUBLE (exact: whole numbers far below 2**53), the dtype ``store.frame``
        # gives them anyway, without converting 20,000 DECIMAL values one by one.
        people = store.frame(con, f"""
            SELECT * REPLACE (workdays::DOUBLE AS workdays, logged_workdays::DOUBLE AS logged_workdays,
                              planned::DOUBLE AS planned, done::DOUBLE AS done)
            FROM {people_table_name} ORDER BY saturation DESC, person_id""")
        depts = _groups(con, people_table_name, "unit, dept", min_group)
        units = _groups(con, people_table_name, "unit", min_group)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {people_table_name}")
    months = tuple(r[0] for r in con.execute(f"SELECT DISTINCT month FROM {pm} ORDER BY 1").fetchall())
    hours, workdays = float(people["hours"].sum()), float(people["workdays"].sum())
    planned = people["planned"].sum()
    overall = {
        "people": len(people), "hours": hours, "workdays": workdays,
        "saturation": hours / (workdays * STANDARD_HOURS) if workdays else None,
        "coverage": float(people["logged_workdays"].sum()) / workdays if workdays else None,
        "completion": float(people["done"].sum()) / float(planned) if planned else None,
        "bands": {b: int((people["band"] == b).sum()) for b in SATURATION_BANDS},
    }
    calendar, note = calendar_note(con, list(months))
    return Saturation(
        scope=_scope(f, month, months), months=months, overall=overall, people=people, depts=depts,
        units=units, calendar=calendar, calendar_note=note, absent=_absent(con, f, pm),
        method=(f"饱和度 = 日志工时 ÷（工作日天数 × {STANDARD_HOURS} 小时），工作日按国家法定节假日和调休安排计算；"
                f"每人只计有日志或月度对账记录的月份；不足 {min_group} 人的处室、单位显示“{SMALL}”。"),
    )


def saturation(con: duckdb.DuckDBPyConnection, f: Filters, month: dt.date | str | None = None,
               min_group: int = 5) -> Saturation:
    """Saturation per person, 处室 and unit for one month, or (month=None) for the filters' years
    or quarters pooled."""
    month = parse_month(month) if month is not None else None
    with person_months(con, f, month) as pm:
        return _view(con, f, pm, month, min_group)


_DEPT_MONTHS_SQL = f"""
    WITH g AS (
        SELECT unit, dept, month, count(*) AS n,
               sum(hours) / sum(workdays * {STANDARD_HOURS}) AS raw_saturation
        FROM {{pm}} GROUP BY ALL
    )
    SELECT *, CASE WHEN n >= ? THEN raw_saturation END AS saturation,
           CASE WHEN n >= ? THEN {band_sql("raw_saturation")} ELSE '{SMALL}' END AS band
    FROM g
"""


def _dept_months(con: duckdb.DuckDBPyConnection, pm: str, min_group: int) -> pd.DataFrame:
    return con.execute(_DEPT_MONTHS_SQL.format(pm=pm) + " ORDER BY unit, dept, month",
                       [min_group, min_group]).df()


def _band_months(con: duckdb.DuckDBPyConnection, pm: str, min_group: int) -> pd.DataFrame:
    counts = ", ".join(f"count(*) FILTER (WHERE band = '{b}') AS \"{b}\"" for b in (*SATURATION_BANDS, SMALL))
    return con.execute(f"""
        WITH b AS ({_DEPT_MONTHS_SQL.format(pm=pm)})
        SELECT unit, dept, count(*) AS months, {counts}
        FROM b GROUP BY ALL ORDER BY "超负荷" DESC, "不饱和" DESC, unit, dept
    """, [min_group, min_group]).df()


def _trend(con: duckdb.DuckDBPyConnection, pm: str) -> pd.DataFrame:
    shares = ", ".join(f"count(*) FILTER (WHERE band = '{b}') / count(*) AS \"{b}\"" for b in SATURATION_BANDS)
    return con.execute(f"""
        SELECT month, count(*) AS people,
               sum(hours) / sum(workdays * {STANDARD_HOURS}) AS saturation,
               sum(logged_workdays) / sum(workdays) AS coverage,
               sum(done) / nullif(sum(planned), 0) AS completion, {shares}
        FROM {pm} GROUP BY month ORDER BY month
    """).df()


def dept_months(con: duckdb.DuckDBPyConnection, f: Filters, min_group: int = 5) -> pd.DataFrame:
    """Per 处室 and month of the filters' range: people, saturation and band (样本过少 below
    ``min_group`` people)."""
    with person_months(con, f) as pm:
        return _dept_months(con, pm, min_group)


def band_months(con: duckdb.DuckDBPyConnection, f: Filters, min_group: int = 5) -> pd.DataFrame:
    """Per 处室: in how many months of the filters' range it was in each band (a 处室 that is 超负荷
    month after month matters more than one busy month)."""
    with person_months(con, f) as pm:
        return _band_months(con, pm, min_group)


def trend(con: duckdb.DuckDBPyConnection, f: Filters) -> pd.DataFrame:
    """Per month of the filters' range: people, saturation, coverage, completion and the share of
    person-months in each band."""
    with person_months(con, f) as pm:
        return _trend(con, pm)


# --- saturation and grade ----------------------------------------------------------------------

@dataclass(frozen=True)
class GradeLink:
    scope: str
    by_grade: pd.DataFrame  # grade, n, mean, p05, q1, median, q3, p95
    by_band: pd.DataFrame  # band, n, good, good_share (None when n < min_group), ci_low, ci_high (Wilson 95%)
    method: str


def _quarter_of(month: dt.date) -> tuple[str, dt.date, dt.date]:
    q = (month.month - 1) // 3 + 1
    start = dt.date(month.year, 3 * q - 2, 1)
    return f"{month.year}Q{q}", start, dt.date(month.year + (q == 4), (3 * q) % 12 + 1, 1)


_GRADES = [g for g in QUARTER_GRADE_ORDER if g != "不确定等次"]


def _grade_link(con: duckdb.DuckDBPyConnection, pm: str, scope: str, min_group: int) -> GradeLink:
    joined = f"""
        WITH pq AS (
            SELECT person_id, year(month) || 'Q' || quarter(month) AS period,
                   sum(hours) / (sum(workdays) * {STANDARD_HOURS}) AS saturation
            FROM {pm} GROUP BY ALL
        ), j AS (
            SELECT pq.*, q.grade, {band_sql("pq.saturation")} AS band
            FROM pq JOIN quarterly q ON q.person_id = pq.person_id AND q.period = pq.period
            WHERE q.grade = ANY(?)
        )
    """
    by_grade = con.execute(joined + """
        SELECT grade, count(*) AS n, avg(saturation) AS mean,
               quantile_cont(saturation, 0.05) AS p05, quantile_cont(saturation, 0.25) AS q1,
               median(saturation) AS median, quantile_cont(saturation, 0.75) AS q3,
               quantile_cont(saturation, 0.95) AS p95
        FROM j GROUP BY grade
    """, [_GRADES]).df()
    by_band = con.execute(joined + """
        SELECT band, count(*) AS n, count(*) FILTER (WHERE grade = '好') AS good,
               CASE WHEN count(*) >= ? THEN count(*) FILTER (WHERE grade = '好') / count(*) END AS good_share
        FROM j GROUP BY band
    """, [_GRADES, min_group]).df()
    order = {g: i for i, g in enumerate(_GRADES)}
    by_grade = by_grade.sort_values("grade", key=lambda s: s.map(order)).reset_index(drop=True)
    border = {b: i for i, b in enumerate(SATURATION_BANDS)}
    by_band = by_band.sort_values("band", key=lambda s: s.map(border)).reset_index(drop=True)
    by_band["ci_low"], by_band["ci_high"] = wilson(by_band["good"], by_band["n"])
    return GradeLink(scope, by_grade, by_band,
                     "每人每季度的饱和度（该季度各月工时合计 ÷ 标准工时合计）与当季平时考核等次对照，不含不确定等次；"
                     "这只是相关关系，不说明饱和度决定等次。")


def wilson(successes: pd.Series, trials: pd.Series, z: float = 1.959964) -> tuple[pd.Series, pd.Series]:
    """Wilson score 95% interval for a proportion (good coverage also for small n and shares near
    0 or 1, unlike the normal approximation)."""
    n = trials.astype(float)
    p = successes.astype(float) / n.where(n > 0)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def grade_link(con: duckdb.DuckDBPyConnection, f: Filters, month: dt.date | str | None = None,
               min_group: int = 5) -> GradeLink:
    """Each person's saturation in a quarter against their quarterly grade that quarter: the
    quarter of ``month``, or every quarter of the filters' range pooled. 不确定等次 is left out."""
    if month is None:
        with person_months(con, f) as pm:
            return _grade_link(con, pm, "所选期间各季度", min_group)
    period, lo, hi = _quarter_of(parse_month(month))
    with _grade_months(con, f, lo, hi) as pm:
        return _grade_link(con, pm, f"{period}（所选月份所在季度）", min_group)


# --- the leader's 饱和度评价 against the logs ---------------------------------------------------

@dataclass(frozen=True)
class Agreement:
    crosstab: pd.DataFrame  # rating, band, n
    by_rating: pd.DataFrame  # rating, level, n, mean, median
    spearman: float | None  # rank correlation of the rating (4 levels) with logged saturation
    pairs: int  # person-months with a rating
    disagree: pd.DataFrame  # clear disagreements: person_id, name, unit, dept, month, rating, saturation, band
    method: str


def _agreement(con: duckdb.DuckDBPyConnection, pm: str) -> Agreement:
    rated = f"""
        WITH b AS (
            SELECT person_id, name, unit, dept, month, rating, list_position(?, rating) AS level,
                   saturation, band
            FROM {pm} WHERE rating = ANY(?)
        )
    """
    params = [list(RATING_ORDER), list(RATING_ORDER)]
    # Rows in a fixed order (the leader's rating lowest first, then the bands lowest first): without
    # an ORDER BY the grouped rows came back in a different order from run to run.
    crosstab = con.execute(rated + """
        SELECT rating, band, count(*) AS n FROM b GROUP BY rating, band
        ORDER BY min(level), min(list_position(?, band)) NULLS LAST, band
    """, [*params, list(SATURATION_BANDS)]).df()
    by_rating = con.execute(rated + """
        SELECT rating, any_value(level) AS level, count(*) AS n, avg(saturation) AS mean,
               median(saturation) AS median
        FROM b GROUP BY rating ORDER BY level
    """, params).df()
    rho, pairs = con.execute(rated + """
        , ranks AS (
            SELECT rank() OVER (ORDER BY level) + (count(*) OVER (PARTITION BY level) - 1) / 2.0 AS rl,
                   rank() OVER (ORDER BY saturation)
                     + (count(*) OVER (PARTITION BY saturation) - 1) / 2.0 AS rs
            FROM b
        )
        SELECT corr(rl, rs), count(*) FROM ranks
    """, params).fetchall()[0]
    disagree = con.execute(rated + """
        SELECT person_id, name, unit, dept, month, rating, saturation, band
        FROM b
        WHERE (rating = '饱满' AND band = '不饱和') OR (rating = '不饱满' AND band IN ('饱和', '超负荷'))
        ORDER BY month DESC, unit, person_id
    """, params).df()
    rho = None if rho is None or pd.isna(rho) else float(rho)
    return Agreement(crosstab, by_rating, rho, int(pairs), disagree,
                     "领导每月的饱和度评价（不饱满、一般、较饱满、饱满）与当月日志饱和度对照；"
                     "评“饱满”而日志饱和度低于 60%，或评“不饱满”而日志饱和度达到 90%，算明显不一致。")


def agreement(con: duckdb.DuckDBPyConnection, f: Filters, month: dt.date | str | None = None) -> Agreement:
    """The leader's monthly 饱和度评价 against the month's logged saturation, per person-month.

    A clear disagreement is 饱满 with logged saturation below 60% (不饱和), or 不饱满 with 90% or
    more (饱和 or 超负荷). Spearman's rho uses average ranks for ties.
    """
    month = parse_month(month) if month is not None else None
    with person_months(con, f, month) as pm:
        return _agreement(con, pm)


# --- everything the page shows, from one pass over the logs -----------------------------------

@dataclass(frozen=True)
class SaturationPage:
    view: Saturation
    grades: GradeLink
    agreement: Agreement
    trend: pd.DataFrame | None  # period view only
    band_months: pd.DataFrame | None  # period view only


def page(con: duckdb.DuckDBPyConnection, f: Filters, month: dt.date | str | None = None,
         min_group: int = 5) -> SaturationPage:
    """The whole page: the person-month rows are built once (plus once for the month's quarter in
    the month view) and every table reads them."""
    month = parse_month(month) if month is not None else None
    with person_months(con, f, month) as pm:
        view = _view(con, f, pm, month, min_group)
        agree = _agreement(con, pm)
        if month is None:
            return SaturationPage(view, _grade_link(con, pm, "所选期间各季度", min_group), agree,
                                  _trend(con, pm), _band_months(con, pm, min_group))
    return SaturationPage(view, grade_link(con, f, month, min_group), agree, None, None)


def headline(view: Saturation, min_group: int = 5) -> str:
    """The page's first sentence: the average, and the 处室 that are 超负荷 or 不饱和."""
    o = view.overall
    if not o["people"]:
        return f"{view.scope}没有日志或月度对账记录。"
    text = (f"{view.scope}，{o['people']:,} 人的平均饱和度为 {pct(o['saturation'])}，日志覆盖率 {pct(o['coverage'])}；"
            f"超负荷 {o['bands']['超负荷']:,} 人，不饱和 {o['bands']['不饱和']:,} 人。")
    rated = view.depts[view.depts["band"] != SMALL]
    over = rated[rated["band"] == "超负荷"]
    under = rated[rated["band"] == "不饱和"].sort_values("saturation")
    parts = []
    if len(over):
        parts.append(f"{len(over)} 个处室超负荷：{_group_names(over)}")
    if len(under):
        parts.append(f"{len(under)} 个处室不饱和：{_group_names(under)}")
    if parts:
        text += "；".join(parts) + "。"
    else:
        text += f"在不少于 {min_group} 人的 {len(rated):,} 个处室中，没有处室整体超负荷或不饱和。"
    uneven = view.depts[view.depts["uneven"]]
    if len(uneven):
        text += f"{len(uneven)} 个处室内部忙闲不均（基尼系数 ≥ {GINI_UNEVEN}）。"
    return text


# --- findings and the report --------------------------------------------------------------------

def _group_names(frame: pd.DataFrame, limit: int = 3) -> str:
    names = [f"{r.unit}{r.dept}（{pct(r.saturation)}）" for r in frame.head(limit).itertuples()]
    return "、".join(names) + ("等" if len(frame) > limit else "")


def top_findings(con: duckdb.DuckDBPyConnection, filters: Filters, min_group: int = 5) -> list[Finding]:
    """超负荷 and 不饱和 处室 in the latest month with logs, and clear disagreements of the leader's
    饱和度评价 with the logs in that month."""
    _, latest = available_months(con, filters)
    if latest is None:
        return []
    with person_months(con, filters, latest) as pm:
        view = _view(con, filters, pm, latest, min_group)
        agree = _agreement(con, pm)
    label = month_label(latest)
    found = []
    for band, word in (("超负荷", "超过 110%"), ("不饱和", "低于 60%")):
        hit = view.depts[view.depts["band"] == band]
        if band == "不饱和":
            hit = hit.sort_values("saturation")
        if len(hit):
            found.append(Finding(
                page=PAGE, title=f"{label} {len(hit)} 个处室{band}",
                detail=(f"{_group_names(hit)}：日志工时 ÷（工作日 × 8 小时）{word}；"
                        f"全部 {len(view.people):,} 人的平均饱和度为 {pct(view.overall['saturation'])}，"
                        f"只统计不少于 {min_group} 人的处室。"),
                count=len(hit)))
    if len(agree.disagree):
        found.append(Finding(
            page=PAGE, title=f"{label} {len(agree.disagree)} 人的饱和度评价与日志明显不一致",
            detail=(f"{agree.pairs:,} 条月度对账中，{len(agree.disagree)} 条评“饱满”而日志饱和度低于 60%"
                    f"或评“不饱满”而日志饱和度达到 90%；值得核实日志或评价。"),
            count=len(agree.disagree)))
    return found[:3]


REPORT_KEYS = ["person_id", "unit", "dept", "hours", "workdays", "saturation", "band"]


@report("saturation", "工作饱和度：指定月份（--month YYYY-MM）每人的日志工时、工作日天数、饱和度和饱和度档次")
def saturation_report(con: duckdb.DuckDBPyConnection, filters: Filters, args: ReportArgs) -> pd.DataFrame:
    if not args.month:
        raise ReportError("工作饱和度报表需要指定月份：--month YYYY-MM，例如 --month 2025-10。")
    try:
        month = parse_month(args.month)
    except ValueError as exc:
        raise ReportError(str(exc)) from exc
    sql, params = _person_months_sql(filters, month)
    frame = con.execute(f"""
        SELECT person_id, unit, raw_dept AS dept, hours, workdays, saturation, band
        FROM ({sql}) ORDER BY unit, raw_dept, person_id
    """, params).df()
    frame["workdays"] = frame["workdays"].astype(int)
    return frame[REPORT_KEYS]


# --- tables for the page (Chinese headers, Chinese percentages) --------------------------------

def _pct_col(series: pd.Series, small: pd.Series | None = None) -> pd.Series:
    out = series.map(lambda v: pct(None if pd.isna(v) else float(v)))
    if small is not None:
        out = out.where(~small, SMALL)
    return out


def people_table(people: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "人员编号": people["person_id"], "姓名": people["name"], "单位": people["unit"],
        "处室": people["dept"], "月数": people["months"], "工作日天数": people["workdays"],
        "日志工时": people["hours"].round(1), "其中非工作日工时": people["offday_hours"].round(1),
        "饱和度": _pct_col(people["saturation"]), "档次": people["band"],
        "日志覆盖率": _pct_col(people["coverage"]), "计划事项": people["planned"],
        "完成事项": people["done"], "圆满度": _pct_col(people["completion"]),
        "领导饱和度评价": people["rating"].fillna("—"),
    })


def group_table(groups: pd.DataFrame) -> pd.DataFrame:
    small = groups["band"] == SMALL
    out = pd.DataFrame({"单位": groups["unit"]})
    if "dept" in groups:
        out["处室"] = groups["dept"]
    out["人数"] = groups["n"]
    out["饱和度"] = _pct_col(groups["saturation"], small)
    out["档次"] = groups["band"]
    out["超负荷人数"] = [SMALL if s else str(int(v)) for s, v in zip(small, groups["over_n"], strict=True)]
    out["不饱和人数"] = [SMALL if s else str(int(v)) for s, v in zip(small, groups["under_n"], strict=True)]
    out["日志覆盖率"] = _pct_col(groups["coverage"], small)
    out["圆满度"] = _pct_col(groups["completion"], small)
    out["分配合理度（基尼系数）"] = groups["gini"].map(lambda v: "—" if pd.isna(v) else f"{v:.3f}").where(~small, SMALL)
    return out


# --- figures -----------------------------------------------------------------------------------

def _band_lines(fig: go.Figure, horizontal: bool = True) -> None:
    for edge in BAND_EDGES:
        if horizontal:
            fig.add_vline(x=edge, line_dash="dot", line_color=MUTED_COLOR)
        else:
            fig.add_hline(y=edge, line_dash="dot", line_color=MUTED_COLOR)


def fig_bands(overall: dict) -> go.Figure:
    bands = list(SATURATION_BANDS)
    counts = [overall["bands"][b] for b in bands]
    total = sum(counts) or 1
    fig = go.Figure(go.Bar(
        x=bands, y=counts, marker_color=[BAND_COLORS[b] for b in bands],
        text=[f"{c:,}人（{pct(c / total)}）" for c in counts], textposition="outside",
        hovertemplate="%{x}：%{y:,} 人<extra></extra>"))
    fig.update_layout(title="各饱和度档次的人数", yaxis_title="人数", showlegend=False)
    return fig


def _group_bars(groups: pd.DataFrame, label: pd.Series, title: str, custom: list[str]) -> go.Figure:
    small = groups["band"] == SMALL
    values = groups["saturation"].where(~small, 0).fillna(0)
    fig = go.Figure(go.Bar(
        y=label, x=values, orientation="h",
        marker_color=[MUTED_COLOR if s else BAND_COLORS.get(b, MUTED_COLOR) for s, b in zip(small, groups["band"],
                                                                                          strict=True)],
        text=[SMALL if s else f"{pct(v)} {b}" for s, v, b in zip(small, values, groups["band"], strict=True)],
        textposition="outside", customdata=groups[custom].to_numpy(),
        hovertemplate="%{y}<br>%{text}<extra></extra>"))
    _band_lines(fig)
    top = max([1.2, *values.tolist()]) * 1.18
    fig.update_layout(title=title, xaxis_tickformat=".0%", xaxis_title="饱和度", xaxis_range=[0, top],
                      height=max(320, 26 * len(groups) + 120), showlegend=False)
    fig.update_yaxes(autorange="reversed")
    return fig


def chart_rows(groups: pd.DataFrame, limit: int = 40) -> pd.DataFrame:
    """The groups a bar chart shows: all when few, else the highest and lowest ``limit // 2`` by
    saturation (groups shown as 样本过少 are left out of a cut chart)."""
    if len(groups) <= limit:
        return groups
    rated = groups[groups["band"] != SMALL].sort_values("saturation", ascending=False)
    return pd.concat([rated.head(limit // 2), rated.tail(limit // 2)]).drop_duplicates()


def fig_units(units: pd.DataFrame, limit: int = 40) -> go.Figure:
    rows = chart_rows(units, limit)
    return _group_bars(rows, rows["unit"], "各单位饱和度（点击条形查看该单位的处室和人员）", ["unit"])


def fig_depts(depts: pd.DataFrame, limit: int = 40) -> go.Figure:
    rows = chart_rows(depts, limit)
    return _group_bars(rows, rows["unit"] + " · " + rows["dept"], "各处室饱和度（点击条形查看该处室的人员）",
                       ["unit", "dept"])


def fig_gini(depts: pd.DataFrame) -> go.Figure:
    rated = depts[depts["gini"].notna()]
    fig = go.Figure()
    for band in SATURATION_BANDS:
        part = rated[rated["band"] == band]
        if part.empty:
            continue
        fig.add_trace(go.Scatter(
            x=part["saturation"], y=part["gini"], mode="markers", name=band,
            marker={"color": BAND_COLORS[band], "size": 9, "line": {"width": 0.5, "color": "white"}},
            customdata=part[["unit", "dept", "n"]].to_numpy(),
            hovertemplate="%{customdata[0]} · %{customdata[1]}（%{customdata[2]}人）<br>"
                          "饱和度 %{x:.1%}，基尼系数 %{y:.3f}<extra></extra>"))
    _band_lines(fig)
    fig.update_layout(xaxis_tickformat=".0%", xaxis_title="处室饱和度", yaxis_title="基尼系数（越高越不均衡）")
    return fig


def fig_coverage(units: pd.DataFrame) -> go.Figure:
    rated = units[units["band"] != SMALL]
    fig = go.Figure(go.Scatter(
        x=rated["coverage"], y=rated["saturation"], mode="markers",
        marker={"color": [BAND_COLORS[b] for b in rated["band"]], "size": 10, "line": {"width": 0.5, "color": "white"}},
        customdata=rated[["unit", "n"]].to_numpy(),
        hovertemplate="%{customdata[0]}（%{customdata[1]}人）<br>日志覆盖率 %{x:.1%}，饱和度 %{y:.1%}<extra></extra>"))
    _band_lines(fig, horizontal=False)
    fig.update_layout(title="各单位日志覆盖率与饱和度", xaxis_tickformat=".0%", yaxis_tickformat=".0%",
                      xaxis_title="日志覆盖率（有日志的工作日 ÷ 工作日）", yaxis_title="饱和度", showlegend=False)
    return fig


def fig_grade_box(link: GradeLink) -> go.Figure:
    fig = go.Figure()
    labels = [f"{r.grade}（{r.n:,}人次）" for r in link.by_grade.itertuples()]
    for label, r in zip(labels, link.by_grade.itertuples(), strict=True):
        fig.add_trace(go.Box(
            x=[label], q1=[r.q1], median=[r.median], q3=[r.q3], lowerfence=[r.p05], upperfence=[r.p95],
            mean=[r.mean], name=label, marker_color=GRADE_COLORS[r.grade],
            fillcolor=GRADE_COLORS[r.grade], line_color="#333333", opacity=0.8))
    _band_lines(fig, horizontal=False)
    fig.update_layout(title=f"各等次的饱和度分布（{link.scope}）", yaxis_tickformat=".0%", yaxis_title="季度饱和度",
                      showlegend=False, xaxis={"categoryorder": "array", "categoryarray": labels})
    return fig


def fig_good_by_band(link: GradeLink) -> go.Figure:
    b = link.by_band
    small = b["good_share"].isna()
    low, high = b["ci_low"].where(~small), b["ci_high"].where(~small)
    fig = go.Figure(go.Bar(
        x=b["band"], y=b["good_share"].fillna(0), marker_color=GRADE_COLORS["好"],
        error_y={"type": "data", "symmetric": False, "array": (high - b["good_share"]).fillna(0),
                 "arrayminus": (b["good_share"] - low).fillna(0), "color": "#333333"},
        text=[SMALL if s else f"{pct(v)}（{g}/{n}）" for s, v, g, n in zip(small, b["good_share"], b["good"], b["n"],
                                                                         strict=True)],
        textposition="inside", insidetextanchor="end", hovertemplate="%{x}：%{text}<extra></extra>"))
    fig.update_layout(title="各饱和度档次中评为好的比例（竖线为 95% 置信区间）", yaxis_tickformat=".0%",
                      yaxis_title="好等次比例", showlegend=False)
    return fig


def fig_agreement(agree: Agreement) -> go.Figure:
    ct = agree.crosstab
    bands = list(SATURATION_BANDS)
    ratings = list(RATING_ORDER)
    totals = ct.groupby("rating")["n"].sum()
    z, text = [], []
    for rating in ratings:
        row_z, row_t = [], []
        for band in bands:
            n = int(ct.loc[(ct["rating"] == rating) & (ct["band"] == band), "n"].sum())
            share = n / totals[rating] if rating in totals and totals[rating] else None
            row_z.append(share)
            row_t.append("—" if share is None else f"{pct(share)}（{n:,}）")
        z.append(row_z)
        text.append(row_t)
    fig = go.Figure(go.Heatmap(
        z=z, x=bands, y=ratings, text=text, texttemplate="%{text}", colorscale="Blues", zmin=0, zmax=1,
        showscale=False, hovertemplate="领导评价 %{y}，日志 %{x}：%{text}<extra></extra>"))
    fig.update_layout(title="领导饱和度评价与日志饱和度档次（每行合计 100%）", xaxis_title="日志饱和度档次",
                      yaxis_title="领导评价")
    return fig


def fig_trend(months: pd.DataFrame) -> go.Figure:
    """Average saturation and log coverage per month, against the band edges."""
    fig = go.Figure()
    for column, name, color in (("saturation", "平均饱和度", NEUTRAL_COLOR), ("coverage", "日志覆盖率", MUTED_COLOR)):
        fig.add_trace(go.Scatter(x=months["month"], y=months[column], name=name, mode="lines+markers",
                                 line={"color": color},
                                 hovertemplate=f"%{{x|%Y年%-m月}} {name} %{{y:.1%}}<extra></extra>"))
    _band_lines(fig, horizontal=False)
    top = max(1.2, float(months[["saturation", "coverage"]].max().max() or 0) * 1.1)
    fig.update_layout(yaxis_tickformat=".0%", yaxis_range=[0, top], yaxis_title="平均饱和度 / 日志覆盖率",
                      xaxis_tickformat="%Y年%-m月")
    return fig


def fig_trend_bands(months: pd.DataFrame) -> go.Figure:
    """Share of people in each band, per month (stacked to 100%)."""
    fig = go.Figure()
    for band in SATURATION_BANDS:
        fig.add_trace(go.Bar(x=months["month"], y=months[band], name=band, marker_color=BAND_COLORS[band],
                             hovertemplate=f"%{{x|%Y年%-m月}} {band}：%{{y:.1%}}<extra></extra>"))
    fig.update_layout(barmode="stack", yaxis_tickformat=".0%", yaxis_title="人数占比", xaxis_tickformat="%Y年%-m月")
    return fig


# --- more tables for the page ------------------------------------------------------------------

def _pcts(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = frame.copy()
    for c in columns:
        out[c] = _pct_col(out[c])
    return out


def band_table(overall: dict) -> pd.DataFrame:
    total = sum(overall["bands"].values())
    return pd.DataFrame({
        "档次": list(SATURATION_BANDS),
        "人数": [overall["bands"][b] for b in SATURATION_BANDS],
        "占比": [pct(overall["bands"][b] / total) if total else "—" for b in SATURATION_BANDS],
    })


def trend_table(months: pd.DataFrame) -> pd.DataFrame:
    out = _pcts(months, ["saturation", "coverage", "completion", *SATURATION_BANDS])
    out["month"] = [m.strftime("%Y-%m") for m in months["month"]]
    return out.rename(columns={"month": "月份", "people": "人数", "saturation": "平均饱和度",
                               "coverage": "日志覆盖率", "completion": "圆满度"})


def gini_table(depts: pd.DataFrame) -> pd.DataFrame:
    rated = depts[depts["gini"].notna()].sort_values("gini", ascending=False)
    out = group_table(rated)
    out["分配不均"] = rated["uneven"].map({True: "是", False: ""}).to_numpy()
    return out


def band_months_table(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={"unit": "单位", "dept": "处室", "months": "月数"})


def grade_table(link: GradeLink) -> pd.DataFrame:
    out = _pcts(link.by_grade, ["mean", "p05", "q1", "median", "q3", "p95"])
    return out.rename(columns={"grade": "等次", "n": "人次", "mean": "平均饱和度", "p05": "5%分位", "q1": "25%分位",
                               "median": "中位数", "q3": "75%分位", "p95": "95%分位"})


def good_band_table(link: GradeLink) -> pd.DataFrame:
    b = link.by_band
    small = b["good_share"].isna()
    return pd.DataFrame({"档次": b["band"], "人次": b["n"], "好等次人次": b["good"],
                         "好等次比例": _pct_col(b["good_share"], small),
                         "95%置信区间": [SMALL if s else f"{pct(lo)}–{pct(hi)}"
                                         for s, lo, hi in zip(small, b["ci_low"], b["ci_high"], strict=True)]})


def rating_table(agree: Agreement) -> pd.DataFrame:
    r = agree.by_rating
    return pd.DataFrame({"领导评价": r["rating"], "人月数": r["n"], "平均日志饱和度": _pct_col(r["mean"]),
                         "日志饱和度中位数": _pct_col(r["median"])})


def disagree_table(agree: Agreement) -> pd.DataFrame:
    d = agree.disagree
    return pd.DataFrame({
        "人员编号": d["person_id"], "姓名": d["name"], "单位": d["unit"], "处室": d["dept"],
        "月份": [m.strftime("%Y-%m") for m in d["month"]], "领导评价": d["rating"],
        "日志饱和度": _pct_col(d["saturation"]), "日志档次": d["band"],
    })
