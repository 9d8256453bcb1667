"""评价人分析: rater leniency, compression, self-rating gaps, rater-type gaps and agreement.

Everything starts from the ratings table (评价明细) of the people the filters select (the filters
act on the person rated, 被评价人) in the selected quarters. A rating is a *self-rating* (自评) when
its type is 自评 or the rater is the person rated; self-ratings never enter leniency or agreement.

For every rating, "the others' mean" is the mean of the non-self ratings the same person got in
the same quarter from *other* raters (every rating by the same rater is left out). All of that is
aggregated in SQL; pandas only sees one row per rater, per rater type, per unit or per person.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics import figures, store
from analytics.filters import Filters
from analytics.findings import Finding
from analytics.registry import ReportArgs, ReportError, report

PAGE = "pages/raters.py"
SELF_TYPE = "自评"
TYPE_ORDER = ("自评", "互评", "上级", "群众")
TOP_SCORE = 95.0
LENIENCY_POINTS = 5.0  # at least this many points from the others' mean
LENIENCY_SE = 3.0  # and at least this many standard errors from 0
MIN_RATINGS = 5  # fewer comparable ratings: no flag (see docs: chance flags at k = 3 are about 0.6 %)
COMPRESSION_LOW = 0.5  # a rater whose score SD is below half the typical rater's: 打分集中
FEW_RATINGS = 10  # flagged with fewer comparable ratings than this: the table says chance plays a larger part
TYPICAL_MIN_GIVEN = 3  # raters with at least this many scores define the typical SD
HARSH_COLOR = "#0072B2"
LENIENT_COLOR = figures.FLAG_COLOR


# --- SQL -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Roster:
    """What the store guarantees about the people rated, checked on the person-quarter aggregate
    ``rating_targets`` (store migration 7) rather than on every rating.

    ``unique``: people has one row per person_id and units one row per unit, so joining a person's
    ratings to the filters' population neither repeats nor splits them. ``complete``: every person
    with ratings is also in people. With both, and filters that select nobody by attribute (years and
    quarters only), the join to the population keeps every rating once: the queries skip it.
    """

    unique: bool = False
    complete: bool = False
    targets: bool = False  # the store has rating_targets (a read-only store not yet migrated has not)

    def everyone(self, filters: Filters) -> bool:
        return self.unique and self.complete and filters.with_(years=(), periods=()).is_empty()


def roster(con: duckdb.DuckDBPyConnection, filters: Filters | None = None) -> Roster:
    """Check the store once per analysis (a few milliseconds on a city: 20,000 people, 240,000
    person-quarters); on a store without ``rating_targets`` every query keeps the join. With
    ``filters`` that select people by attribute the population is joined anyway: ``complete`` is
    then not checked (False)."""
    everyone = filters is None or filters.with_(years=(), periods=()).is_empty()
    complete = ("NOT EXISTS (SELECT 1 FROM rating_targets t WHERE t.person_id NOT IN (SELECT person_id FROM people))"
                if everyone else "false AND EXISTS (SELECT 1 FROM rating_targets)")
    try:
        unique, complete = con.execute(f"""
            SELECT (SELECT count(*) = count(DISTINCT person_id) FROM people)
                   AND (SELECT count(*) = count(DISTINCT unit) FROM units), {complete}
        """).fetchall()[0]
    except duckdb.CatalogException:
        return Roster()
    return Roster(bool(unique), bool(complete), True)


def _gaps_cte(filters: Filters, only_rater: str | None = None, everyone: bool = False) -> tuple[str, list]:
    """CTEs ending in ``gaps``: every rating of a selected person, with the others' mean.

    Columns of ``gaps``: person_id, rater, rater_type, period, score, is_self, others_mean,
    n_others (number of non-self ratings by other raters), diff = score - others_mean (NULL when
    nobody else rated the person that quarter). ``everyone``: the population is every person and
    joining it keeps every rating once (``Roster.everyone``), so it is not joined.
    """
    pop_sql, pop_params = filters.population()
    period_sql, period_params = filters.period_clause("r.period")
    if only_rater is not None:  # only this rater's ratings (the others' mean is stored with each)
        period_sql += " AND r.rater = ?"
        period_params = [*period_params, only_rater]
    # The others' mean of every rating is kept by the importer in ``rating_gaps``
    # (store.refresh_rating_gaps); it depends only on the ratings of the same person-quarter, so
    # selecting whole person-quarters here gives the same numbers as computing it afresh.
    columns = """r.person_id, r.rater, r.rater_type, r.period, r.score, r.is_self,
                   r.n_others, r.others_mean, r.score - r.others_mean AS diff"""
    if everyone:
        sql = f"""
        WITH gaps AS (
            SELECT {columns}
            FROM rating_gaps r
            WHERE {period_sql}
        )
    """
        return sql, list(period_params)
    sql = f"""
        WITH pop AS ({pop_sql}),
        gaps AS (
            SELECT {columns}
            FROM rating_gaps r JOIN pop USING (person_id)
            WHERE {period_sql}
        )
    """
    return sql, [*pop_params, *period_params]


@dataclass(frozen=True)
class GapSource:
    """A WITH clause that defines ``gaps`` (see ``_gaps_cte``) and its parameters, with the store
    check it was built on."""

    sql: str
    params: tuple = ()
    roster: Roster = Roster()


def _source(filters: Filters, source: GapSource | None) -> tuple[str, list]:
    if source is not None:
        return source.sql, list(source.params)
    return _gaps_cte(filters)


@contextmanager
def materialized(con: duckdb.DuckDBPyConnection, filters: Filters) -> Iterator[GapSource]:
    """``gaps`` for several queries. Since ``rating_gaps`` holds the others' mean of every rating,
    ``gaps`` is a filtered scan of it, cheaper to repeat than to copy into a TEMP table (which is
    what this did when it was a group-by and two joins over every rating)."""
    checked = roster(con, filters)
    sql, params = _gaps_cte(filters, everyone=checked.everyone(filters))
    yield GapSource(sql, tuple(params), checked)


# The rater types a rater gave, listed in the order string_agg(DISTINCT rater_type ORDER BY
# rater_type) lists them (by code point: 上级 < 互评 < 群众); any other type sets the last bit.
_KNOWN_TYPES = sorted(t for t in TYPE_ORDER if t != SELF_TYPE)
_TYPE_BITS = " ".join(f"WHEN '{t}' THEN {1 << i}" for i, t in enumerate(_KNOWN_TYPES))
_OTHER_TYPE = 1 << len(_KNOWN_TYPES)
_TYPES_SQL = "concat_ws('、', " + ", ".join(
    f"CASE WHEN s.type_mask & {1 << i} <> 0 THEN '{t}' END" for i, t in enumerate(_KNOWN_TYPES)) + ")"

_PEOPLE = "(SELECT person_id, any_value(name) AS name, any_value(unit) AS unit FROM people GROUP BY person_id)"


def _people(source: GapSource | None) -> str:
    """One row per person with name and unit: people itself when the store check found it has one
    row per person (then the same rows as grouping it, without the group-by)."""
    return "people" if source is not None and source.roster.unique else _PEOPLE


def _rater_stats(con: duckdb.DuckDBPyConnection, filters: Filters, source: GapSource | None = None) -> pd.DataFrame:
    gaps, params = _source(filters, source)
    sql = gaps + f"""
        , ns AS (SELECT * FROM gaps WHERE NOT is_self),
        stats AS (
            SELECT rater,
                   count(*) AS n_given,
                   count(diff) AS k,
                   avg(diff) AS leniency,
                   stddev_samp(diff) AS sd_diff,
                   avg(score) AS mean_score,
                   stddev_samp(score) AS sd_score,
                   avg(CASE WHEN score >= {TOP_SCORE} THEN 1.0 ELSE 0.0 END) AS top_share,
                   count(DISTINCT person_id) AS ratees,
                   -- the types given, as a bit mask of the known ones (cheaper than a distinct list)
                   bit_or(CASE rater_type {_TYPE_BITS} ELSE {_OTHER_TYPE} END) AS type_mask
            FROM ns GROUP BY rater
        )
        SELECT s.* EXCLUDE (type_mask), {_TYPES_SQL} AS types, s.type_mask >= {_OTHER_TYPE} AS other_types,
               pr.name AS rater_name, pr.unit AS rater_unit, pr.person_id IS NOT NULL AS is_person,
               CASE WHEN pr.name IS NOT NULL THEN pr.name || coalesce('（' || pr.unit || '）', '')
                    ELSE s.rater END AS label
        FROM stats s
        LEFT JOIN {_people(source)} pr ON pr.person_id = s.rater
        ORDER BY s.rater
    """
    stats = store.frame(con, sql, params)
    other = stats["other_types"]
    if other.any():  # a type the mask does not know: that rater's types listed exactly
        exact = con.execute(gaps + """
            SELECT rater, string_agg(DISTINCT rater_type, '、' ORDER BY rater_type) AS types
            FROM gaps WHERE NOT is_self AND rater = ANY(?) GROUP BY rater
        """, [*params, list(stats.loc[other, "rater"])]).fetchall()
        stats.loc[other, "types"] = stats.loc[other, "rater"].map(dict(exact))
    return stats.drop(columns="other_types")


def _examples(con: duckdb.DuckDBPyConnection, filters: Filters, source: GapSource | None,
              means: pd.Series) -> dict[str, str]:
    """For the raters in ``means`` (rater -> the unrounded mean difference of ``_rater_stats``): the
    comparable rating closest to that mean (ties: earliest period, then person), in words."""
    if means.empty:
        return {}
    gaps, params = _source(filters, source)
    rows = con.execute(gaps + f"""
        , s AS (SELECT unnest(?::VARCHAR[]) AS rater, unnest(?::DOUBLE[]) AS leniency),
        example AS (
            SELECT g.rater,
                   arg_min({{'person': g.person_id, 'period': g.period, 'score': g.score,
                             'others': g.others_mean, 'n': g.n_others}},
                           (abs(g.diff - s.leniency), g.period, g.person_id)) AS ex
            FROM gaps g JOIN s USING (rater)
            WHERE NOT g.is_self AND g.diff IS NOT NULL
            GROUP BY g.rater
        )
        SELECT e.rater, e.ex.period || ' 给' || coalesce(pe.name, e.ex.person) || '打 ' || printf('%.1f', e.ex.score)
                        || ' 分，其他 ' || e.ex.n || ' 条评价平均 ' || printf('%.1f', e.ex.others) || ' 分'
        FROM example e LEFT JOIN {_people(source)} pe ON pe.person_id = e.ex.person
    """, [*params, [str(r) for r in means.index], [float(v) for v in means]]).fetchall()
    return dict(rows)


# --- leniency and compression --------------------------------------------------------------------

_COLUMNS = ["rater", "label", "is_person", "rater_name", "rater_unit", "types", "n_given", "k", "ratees", "leniency",
            "sd_diff", "se", "z", "lenient", "harsh", "mean_score", "sd_score", "compression", "compressed",
            "top_share", "example"]
_DTYPES = {"rater": object, "label": object, "is_person": bool, "rater_name": object, "rater_unit": object,
           "types": object, "n_given": int, "k": int, "ratees": int, "lenient": bool, "harsh": bool,
           "compressed": bool, "example": object}


def rater_table(con: duckdb.DuckDBPyConnection, filters: Filters, min_ratings: int = MIN_RATINGS,
                source: GapSource | None = None) -> pd.DataFrame:
    """One row per rater (non-self ratings only), with leniency, its SE, flags and compression.

    Columns: rater, label, is_person, rater_name, rater_unit, types, n_given, k, ratees, leniency,
    sd_diff, se, z, lenient, harsh, mean_score, sd_score, compression, compressed, top_share, example.
    ``k`` is the number of ratings with at least one other rater (those that enter leniency).
    ``example`` (the rater's comparable rating closest to his mean, in words) is given for the
    flagged raters only (None for the others): the page shows it in the flagged table only.
    """
    stats = _rater_stats(con, filters, source)
    if stats.empty:
        return pd.DataFrame({c: pd.Series(dtype=_DTYPES.get(c, float)) for c in _COLUMNS})
    means = stats.set_index("rater")["leniency"]  # unrounded: the example's distances are measured from it
    # DuckDB's parallel sums differ in the last bits from run to run; rounded, the same data gives the
    # same numbers (and the same chart, which Streamlit needs to keep a click on it).
    stats = stats.round({c: 9 for c in stats.select_dtypes("float").columns})
    stats["k"] = stats["k"].astype(int)
    stats["se"] = stats["sd_diff"] / np.sqrt(stats["k"].where(stats["k"] > 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        stats["z"] = stats["leniency"] / stats["se"]
    enough = (stats["k"] >= min_ratings) & stats["se"].notna()
    far_enough = stats["leniency"].abs() >= LENIENCY_SE * stats["se"]
    stats["lenient"] = enough & (stats["leniency"] >= LENIENCY_POINTS) & far_enough
    stats["harsh"] = enough & (stats["leniency"] <= -LENIENCY_POINTS) & far_enough
    typical = typical_sd(stats)
    stats["compression"] = stats["sd_score"] / typical if typical and typical > 0 else np.nan
    stats["compressed"] = (stats["n_given"] >= min_ratings) & (stats["compression"] < COMPRESSION_LOW)
    # The typical rating only for the flagged raters, the only ones the page shows it for (the
    # flagged table); a search over every rating of every rater cost half the page on a city.
    flagged = stats.loc[stats["lenient"] | stats["harsh"], "rater"]
    examples = _examples(con, filters, source, means[list(flagged)])
    stats["example"] = pd.Series([examples.get(r) for r in stats["rater"]], index=stats.index,
                                 dtype=stats["label"].dtype)
    return stats[_COLUMNS].reset_index(drop=True)


LENIENCY_COLUMNS = ["rater", "k", "leniency", "sd_diff", "se", "lenient", "harsh"]


def leniency(con: duckdb.DuckDBPyConnection, filters: Filters, min_ratings: int = MIN_RATINGS,
             source: GapSource | None = None) -> pd.DataFrame:
    """Only the leniency test, one row per rater with non-self ratings: rater, k, leniency, sd_diff,
    se, lenient, harsh; the same numbers and flags as those columns of ``rater_table`` (which adds
    the rater's name, compression, top-score share and an example), for the report and callers that
    need only the test."""
    if source is None:
        with materialized(con, filters) as source:
            return leniency(con, filters, min_ratings, source)
    gaps, params = _source(filters, source)
    stats = store.frame(con, gaps + """
        SELECT rater, count(diff) AS k, avg(diff) AS leniency, stddev_samp(diff) AS sd_diff
        FROM gaps WHERE NOT is_self GROUP BY rater ORDER BY rater
    """, params)
    if stats.empty:
        return pd.DataFrame({c: pd.Series(dtype=_DTYPES.get(c, float)) for c in LENIENCY_COLUMNS})
    stats = stats.round({"leniency": 9, "sd_diff": 9})  # as rater_table rounds them
    stats["k"] = stats["k"].astype(int)
    stats["se"] = stats["sd_diff"] / np.sqrt(stats["k"].where(stats["k"] > 0))
    enough = (stats["k"] >= min_ratings) & stats["se"].notna()
    far_enough = stats["leniency"].abs() >= LENIENCY_SE * stats["se"]
    stats["lenient"] = enough & (stats["leniency"] >= LENIENCY_POINTS) & far_enough
    stats["harsh"] = enough & (stats["leniency"] <= -LENIENCY_POINTS) & far_enough
    return stats[LENIENCY_COLUMNS]


def typical_sd(raters: pd.DataFrame, min_given: int = TYPICAL_MIN_GIVEN) -> float:
    """The typical rater's SD of scores given: the median over raters who gave at least min_given scores."""
    sds = raters.loc[raters["n_given"] >= min_given, "sd_score"].dropna()
    return float(sds.median()) if len(sds) else float("nan")


def rater_ratings(con: duckdb.DuckDBPyConnection, filters: Filters, rater: str) -> pd.DataFrame:
    """Every rating one rater gave (self-ratings included, marked), with the others' mean."""
    gaps, params = _gaps_cte(filters, only_rater=rater)
    sql = gaps + """
        SELECT g.period AS 考核周期, g.person_id AS 被评价人编号, p.name AS 被评价人, p.unit AS 被评价人单位,
               g.rater_type AS 评价类型, g.score AS 分数, round(g.others_mean, 1) AS 其他评价人平均,
               g.n_others AS 其他评价条数, round(g.diff, 1) AS 差值,
               CASE WHEN g.is_self THEN '自评，不计入宽严' WHEN g.diff IS NULL THEN '无其他评价人，不计入'
                    ELSE '' END AS 备注
        FROM gaps g LEFT JOIN (
            -- the people he rated only (a few dozen), one row each
            SELECT person_id, any_value(name) AS name, any_value(unit) AS unit FROM people
            WHERE person_id IN (SELECT person_id FROM gaps WHERE rater = ?) GROUP BY person_id
        ) p USING (person_id)
        WHERE g.rater = ?
        ORDER BY g.period, g.person_id
    """
    return con.execute(sql, [*params, rater, rater]).df()


# --- self-rating gap, rater types ----------------------------------------------------------------

def _self_gaps(con: duckdb.DuckDBPyConnection, filters: Filters,
               source: GapSource | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The self-rating gaps per person and per unit of the person rated, from one pass over the
    self-ratings (grouping sets; each group's numbers are the same aggregates over the same
    ratings as a query per grouping would compute). The units in unit order, before the small-group
    rule."""
    gaps, params = _source(filters, source)
    both = store.frame(con, gaps + f"""
        SELECT grouping(g.person_id) = 0 AS by_person, g.person_id, p.name, p.unit,
               count(*) AS quarters, count(DISTINCT g.person_id) AS people,
               avg(g.score) AS self_mean, avg(g.others_mean) AS others_mean, avg(g.diff) AS self_gap,
               stddev_samp(g.diff) AS sd_gap
        FROM gaps g LEFT JOIN {_people(source)} p USING (person_id)
        WHERE g.is_self AND g.diff IS NOT NULL
        GROUP BY GROUPING SETS ((g.person_id, p.name, p.unit), (p.unit))
    """, params)
    mine = both["by_person"].astype(bool)
    people = both[mine].sort_values(["self_gap", "person_id"], ascending=[False, True], kind="stable")
    people = people[["person_id", "name", "unit", "quarters", "self_mean", "others_mean", "self_gap"]]
    units = both[~mine & both["unit"].notna()].sort_values("unit", kind="stable")
    units = units[["unit", "people", "quarters", "self_mean", "others_mean", "self_gap", "sd_gap"]]
    return (people.reset_index(drop=True),
            units.rename(columns={"quarters": "ratings"}).reset_index(drop=True))


def self_gap_by_person(con: duckdb.DuckDBPyConnection, filters: Filters,
                       source: GapSource | None = None) -> pd.DataFrame:
    """Per person: mean over quarters of (self score - mean of the others' non-self ratings)."""
    return _self_gaps(con, filters, source)[0]


def _small_units(frame: pd.DataFrame, min_group: int) -> pd.DataFrame:
    small = frame["people"] < min_group
    frame["small"] = small
    for column in ("self_mean", "others_mean", "self_gap", "sd_gap"):
        frame[column] = frame[column].where(~small)
    # Sorted on the gap rounded to 9 decimals: two units whose gaps are equal but for the last bits
    # of a parallel sum keep their unit order (they used to swap from run to run).
    frame["_gap"] = frame["self_gap"].round(9)
    frame = frame.sort_values(["small", "_gap"], ascending=[True, False], na_position="last")
    return frame.drop(columns="_gap").reset_index(drop=True)


def self_gap_by_unit(con: duckdb.DuckDBPyConnection, filters: Filters, min_group: int = 5,
                     source: GapSource | None = None) -> pd.DataFrame:
    """Per unit of the person rated: mean self gap over person-quarters; fewer than min_group people -> NaN."""
    return _small_units(_self_gaps(con, filters, source)[1], min_group)


def type_gaps(con: duckdb.DuckDBPyConnection, filters: Filters, source: GapSource | None = None) -> pd.DataFrame:
    """Per rater type: ratings, mean score, and mean gap to the other raters of the same person-quarter.

    A self-rating counts as 自评 whatever its recorded type (a rater rating himself as 互评 is still
    a self-rating)."""
    gaps, params = _source(filters, source)
    sql = gaps + f"""
        SELECT CASE WHEN is_self THEN '{SELF_TYPE}' ELSE rater_type END AS rater_type,
               count(*) AS ratings, avg(score) AS mean_score,
               count(diff) AS compared, avg(diff) AS gap, stddev_samp(diff) AS sd_gap,
               avg(CASE WHEN score >= ? THEN 1.0 ELSE 0.0 END) AS top_share
        FROM gaps GROUP BY 1
    """
    frame = con.execute(sql, [*params, TOP_SCORE]).df()
    order = {t: i for i, t in enumerate(TYPE_ORDER)}
    frame["_o"] = frame["rater_type"].map(lambda t: order.get(t, len(order)))
    return frame.sort_values(["_o", "rater_type"]).drop(columns="_o").reset_index(drop=True)


# --- agreement: ICC(1) ---------------------------------------------------------------------------

def _targets_cte(con: duckdb.DuckDBPyConnection, filters: Filters,
                 source: GapSource | None) -> tuple[str, list]:
    """CTEs ending in ``tgt``: the ICC(1) targets (person-quarters with >= 2 non-self ratings) of the
    selected people, with person_id, period, unit (of the person rated), n, m (mean score) and ssw
    (within sum of squares).

    Read from the person-quarter aggregate ``rating_targets`` when the store has it and the join to
    the population cannot repeat a person (``Roster.unique``); else grouped from ``gaps`` (the same
    numbers: ``store.refresh_rating_targets`` computes n, m and ssw as this fallback does)."""
    checked = source.roster if source is not None else roster(con, filters)
    if not (checked.targets and checked.unique):
        gaps, params = _source(filters, source)
        return gaps + f"""
        , tgt AS (
            SELECT g.person_id, g.period, p.unit, count(*) AS n, avg(g.score) AS m,
                   var_samp(g.score) * (count(*) - 1) AS ssw
            FROM gaps g LEFT JOIN {_PEOPLE} p USING (person_id)
            WHERE NOT g.is_self
            GROUP BY ALL HAVING count(*) >= 2
        )
    """, params
    period_sql, period_params = filters.period_clause("t.period")
    if checked.everyone(filters):
        return f"""
        WITH tgt AS (
            SELECT t.person_id, t.period, p.unit, t.n, t.mean AS m, t.ssw
            FROM rating_targets t LEFT JOIN people p USING (person_id)
            WHERE {period_sql} AND t.n >= 2
        )
    """, list(period_params)
    pop_sql, pop_params = filters.population()
    return f"""
        WITH pop AS ({pop_sql}),
        tgt AS (
            SELECT t.person_id, t.period, pop.unit, t.n, t.mean AS m, t.ssw
            FROM rating_targets t JOIN pop USING (person_id)
            WHERE {period_sql} AND t.n >= 2
        )
    """, [*pop_params, *period_params]


_ICC_SUMS = """count(*) AS targets, count(DISTINCT person_id) AS people, sum(n) AS ratings,
               sum(n * n) AS sum_n2, sum(n * m) / sum(n) AS grand,
               sum(n * m * m) - sum(n * m) * sum(n * m) / sum(n) AS ssb, sum(ssw) AS ssw"""


def _icc_from_sums(frame: pd.DataFrame) -> pd.DataFrame:
    g = frame["targets"].astype(float)
    n = frame["ratings"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        msb = frame["ssb"] / (g - 1)
        msw = frame["ssw"] / (n - g)
        k0 = (n - frame["sum_n2"] / n) / (g - 1)
        frame["k0"] = k0
        frame["msb"] = msb
        frame["msw"] = msw
        frame["icc1"] = (msb - msw) / (msb + (k0 - 1) * msw)
        frame["icc_k"] = (msb - msw) / msb
    ok = (g >= 2) & (n > g)
    frame.loc[~ok, ["icc1", "icc_k"]] = np.nan
    return frame


def agreement(con: duckdb.DuckDBPyConnection, filters: Filters, min_group: int = 5,
              source: GapSource | None = None) -> tuple[dict, pd.DataFrame]:
    """ICC(1) overall and per unit of the person rated.

    Returns (overall, by_unit). ``overall`` has targets, people, ratings, k0, icc1, icc_k; a unit
    with fewer than ``min_group`` people rated shows NaN (样本过少).
    """
    # Both in one pass over the person-quarters: grouping sets () and (unit).
    tgt, params = _targets_cte(con, filters, source)
    both = con.execute(tgt + f"""
        SELECT grouping(unit) = 1 AS overall, CASE WHEN grouping(unit) = 1 THEN '全部' ELSE unit END AS grp,
               {_ICC_SUMS}
        FROM tgt GROUP BY GROUPING SETS ((), (unit)) ORDER BY overall DESC, grp
    """, params).df()
    overall = _icc_from_sums(both[both["overall"]].drop(columns="overall").reset_index(drop=True))
    first = overall.iloc[0].to_dict() if len(overall) else {
        "targets": 0, "people": 0, "ratings": 0, "k0": np.nan, "icc1": np.nan, "icc_k": np.nan}
    units = _icc_from_sums(both[~both["overall"]].drop(columns="overall").reset_index(drop=True))
    units = units[units["grp"].notna()].rename(columns={"grp": "unit"})
    units["small"] = units["people"] < min_group
    units.loc[units["small"], ["icc1", "icc_k"]] = np.nan
    units = units.sort_values(["small", "icc1"], na_position="last").reset_index(drop=True)
    return first, units[["unit", "people", "targets", "ratings", "k0", "icc1", "icc_k", "small"]]


def agreement_overall(con: duckdb.DuckDBPyConnection, filters: Filters, source: GapSource | None = None) -> dict:
    """ICC(1) over every selected person-quarter (the first part of ``agreement``)."""
    tgt, params = _targets_cte(con, filters, source)
    overall = _icc_from_sums(con.execute(tgt + f"""
        SELECT grp, {_ICC_SUMS}
        FROM (SELECT '全部' AS grp, * FROM tgt) GROUP BY grp ORDER BY grp
    """, params).df())
    return overall.iloc[0].to_dict() if len(overall) else {
        "targets": 0, "people": 0, "ratings": 0, "k0": np.nan, "icc1": np.nan, "icc_k": np.nan}


def rater_label(con: duckdb.DuckDBPyConnection, rater: str) -> str:
    """A rater as ``rater_table``'s label column writes him: name（unit） when on the roster, else as written."""
    rows = con.execute(f"SELECT name, unit FROM {_PEOPLE} WHERE person_id = ?", [rater]).fetchall()
    if not rows or rows[0][0] is None:
        return rater
    name, unit = rows[0]
    return name + (f"（{unit}）" if unit is not None else "")


def icc_band(value: float) -> str:
    """Koo & Li (2016) words for an ICC."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if value < 0.5:
        return "较差"
    if value < 0.75:
        return "中等"
    if value < 0.9:
        return "良好"
    return "很好"


# --- the page's result ---------------------------------------------------------------------------

@dataclass(frozen=True)
class RaterAnalysis:
    raters: pd.DataFrame  # rater_table()
    typical_sd: float
    types: pd.DataFrame  # type_gaps()
    self_units: pd.DataFrame  # self_gap_by_unit()
    self_people: pd.DataFrame  # self_gap_by_person()
    agreement: dict  # overall ICC
    agreement_units: pd.DataFrame
    min_ratings: int
    method: str

    @property
    def empty(self) -> bool:
        return self.raters.empty and self.types.empty

    @property
    def has_comparable(self) -> bool:
        """Some rater has a rating that another rater's can be compared with."""
        return bool((self.raters["k"] > 0).any()) if len(self.raters) else False

    @property
    def has_compression(self) -> bool:
        r = self.raters
        return bool(((r["n_given"] >= self.min_ratings) & r["compression"].notna()).any()) if len(r) else False

    @property
    def flagged(self) -> pd.DataFrame:
        f = self.raters[self.raters["lenient"] | self.raters["harsh"]]
        return f.reindex(f["leniency"].abs().sort_values(ascending=False).index)


METHOD = (f"每条评价减去同一被评价人同一季度其他评价人（不含自评、不含本人）的平均分，评价人的宽严度为这些差值的平均；"
          f"至少 {MIN_RATINGS} 条可比评价、平均差至少 ±{LENIENCY_POINTS:.0f} 分且距 0 至少 "
          f"{LENIENCY_SE:.0f} 个标准误时标记偏松或偏严。")


def analyse(con: duckdb.DuckDBPyConnection, filters: Filters, min_group: int = 5,
            min_ratings: int = MIN_RATINGS) -> RaterAnalysis:
    with materialized(con, filters) as src:
        raters = rater_table(con, filters, min_ratings, source=src)
        overall, units = agreement(con, filters, min_group, source=src)
        self_people, self_units = _self_gaps(con, filters, src)
        return RaterAnalysis(
            raters=raters, typical_sd=typical_sd(raters) if len(raters) else float("nan"),
            types=type_gaps(con, filters, source=src), self_units=_small_units(self_units, min_group),
            self_people=self_people, agreement=overall, agreement_units=units,
            min_ratings=min_ratings, method=METHOD,
        )


def headline(result: RaterAnalysis) -> str:
    """The most important finding in words (one or two sentences)."""
    r = result.raters
    usable = int((r["k"] >= result.min_ratings).sum())
    lenient = r[r["lenient"]].sort_values("leniency", ascending=False)
    harsh = r[r["harsh"]].sort_values("leniency")
    parts = []
    if len(lenient):
        parts.append(f"{len(lenient)} 名评价人打分明显偏松：{_names(lenient)}")
    if len(harsh):
        parts.append(f"{len(harsh)} 名明显偏严：{_names(harsh)}")
    if parts:
        text = "；".join(parts) + (f"（在 {usable:,} 名有足够可比评价的评价人中，"
                                   "与同一被评价人其他评价人的平均分相比）。")
    else:
        text = (f"在 {usable:,} 名有足够可比评价的评价人中，没有评价人的打分明显偏松或偏严"
                f"（平均差 ≥ {LENIENCY_POINTS:.0f} 分且 ≥ {LENIENCY_SE:.0f} 个标准误）。")
    icc = result.agreement.get("icc1")
    if icc is not None and not math.isnan(icc):
        text += f"同一人的不同评价人之间一致性 ICC(1) = {icc:.2f}（{icc_band(icc)}）。"
    return text


def choice_label(label: str, rater: str) -> str:
    """A rater in a picker, as the person picker writes people: 方庆瑞（青崖市公安局，P00005）."""
    if label == rater:
        return rater
    if label.endswith("）"):
        return f"{label[:-1]}，{rater}）"
    return f"{label}（{rater}）"


def _names(raters: pd.DataFrame, top: int = 3) -> str:
    names = "、".join(f"{x.label}（{x.leniency:+.1f} 分）" for x in raters.head(top).itertuples())
    return names + ("等" if len(raters) > top else "")


# --- figures -------------------------------------------------------------------------------------

def leniency_figure(result: RaterAnalysis) -> go.Figure:
    """Leniency against the number of comparable ratings; ±5 lines and the 3-SE curve of a typical rater."""
    r = result.raters[result.raters["k"] > 0]
    fig = go.Figure()
    groups = (("偏松", r["lenient"], LENIENT_COLOR), ("偏严", r["harsh"], HARSH_COLOR),
              ("未标记", ~(r["lenient"] | r["harsh"]), figures.MUTED_COLOR))
    for name, mask, color in groups:
        part = r[mask]
        if part.empty:
            continue
        trace = go.Scattergl if len(part) > 3000 else go.Scatter  # a city has 20,000 raters
        fig.add_trace(trace(
            x=part["k"], y=part["leniency"], mode="markers", name=name,
            marker={"color": color, "size": 9 if name != "未标记" else 6, "opacity": 0.9 if name != "未标记" else 0.5},
            customdata=np.array(list(zip(part["rater"].astype(str), part["label"], part["se"].round(2),
                                         strict=True)), dtype=object),
            hovertemplate="%{customdata[1]}<br>可比评价 %{x} 条<br>宽严度 %{y:+.1f} 分<br>标准误 %{customdata[2]:.1f}"
                          "<extra></extra>",
        ))
    sd_typ = float(r["sd_diff"].median()) if len(r) else float("nan")
    kmax = int(r["k"].max()) if len(r) else 10
    ks = np.unique(np.geomspace(max(result.min_ratings, 1), max(kmax, result.min_ratings + 1), 60).round())
    if not math.isnan(sd_typ):
        band = np.maximum(LENIENCY_POINTS, LENIENCY_SE * sd_typ / np.sqrt(ks))
        for sign in (1, -1):
            fig.add_trace(go.Scatter(x=ks, y=sign * band, mode="lines", name="标记界限（典型离散程度）",
                                     line={"color": "#555555", "dash": "dash", "width": 1},
                                     showlegend=sign == 1, hoverinfo="skip"))
    fig.add_hline(y=0, line={"color": "#555555", "width": 1})
    low = min(int(r["k"].min()), max(result.min_ratings, 1)) if len(r) else 1
    fig.update_layout(xaxis=figures.log_axis(low, max(kmax, result.min_ratings + 1), "可比评价条数（对数刻度）"),
                      yaxis_title="宽严度：比其他评价人平均高（分）")
    return fig


def compression_figure(result: RaterAnalysis) -> go.Figure:
    """Histogram of the compression ratio (rater's SD over the typical rater's SD)."""
    r = result.raters[(result.raters["n_given"] >= result.min_ratings) & result.raters["compression"].notna()]
    fig = go.Figure(go.Histogram(x=r["compression"], nbinsx=40, marker_color=figures.NEUTRAL_COLOR,
                                 name="评价人数", hovertemplate="离散比 %{x}<br>%{y} 人<extra></extra>"))
    fig.add_vline(x=1.0, line={"color": "#555555", "width": 1})
    fig.add_vline(x=COMPRESSION_LOW, line={"color": figures.FLAG_COLOR, "dash": "dash", "width": 1})
    fig.update_layout(xaxis_title="打分离散比（本人给分标准差 ÷ 典型评价人标准差）", yaxis_title="评价人数",
                      showlegend=False)
    return fig


def type_figure(result: RaterAnalysis) -> go.Figure:
    t = result.types[result.types["compared"] > 0]
    se = t["sd_gap"] / np.sqrt(t["compared"])
    colors = [LENIENT_COLOR if g > 0 else HARSH_COLOR for g in t["gap"]]
    fig = go.Figure(go.Bar(
        x=t["rater_type"], y=t["gap"], marker_color=colors,
        error_y={"type": "data", "array": 1.96 * se.fillna(0), "visible": True},
        customdata=np.stack([t["mean_score"], t["compared"]], axis=1) if len(t) else None,
        hovertemplate="%{x}：比其他评价人平均高 %{y:+.2f} 分<br>平均给分 %{customdata[0]:.1f}<br>"
                      "%{customdata[1]} 条评价<extra></extra>",
    ))
    fig.add_hline(y=0, line={"color": "#555555", "width": 1})
    fig.update_layout(xaxis_title="评价类型", yaxis_title="与同一被评价人其他评价人平均分之差（分）", showlegend=False)
    return fig


def self_gap_figure(result: RaterAnalysis, top: int = 30) -> go.Figure:
    """Units by mean self-rating gap (units under the minimum group size are left out and listed as 样本过少)."""
    u = result.self_units[~result.self_units["small"]].head(top).iloc[::-1]
    fig = go.Figure(go.Bar(
        y=u["unit"], x=u["self_gap"], orientation="h", marker_color=figures.NEUTRAL_COLOR,
        customdata=np.stack([u["people"], u["self_mean"], u["others_mean"]], axis=1) if len(u) else None,
        hovertemplate="%{y}<br>自评比他评高 %{x:+.1f} 分<br>%{customdata[0]} 人<br>自评平均 %{customdata[1]:.1f}，"
                      "他评平均 %{customdata[2]:.1f}<extra></extra>",
    ))
    fig.add_vline(x=0, line={"color": "#555555", "width": 1})
    fig.update_layout(xaxis_title="自评减他评平均（分）", yaxis_title=None, height=max(320, 22 * len(u) + 120),
                      showlegend=False)
    return fig


def agreement_figure(result: RaterAnalysis, top: int = 40) -> go.Figure:
    u = result.agreement_units[~result.agreement_units["small"]].head(top).iloc[::-1]
    colors = [figures.FLAG_COLOR if v < 0.5 else figures.NEUTRAL_COLOR for v in u["icc1"]]
    fig = go.Figure(go.Bar(
        y=u["unit"], x=u["icc1"], orientation="h", marker_color=colors,
        customdata=np.stack([u["people"], u["targets"], u["k0"]], axis=1) if len(u) else None,
        hovertemplate="%{y}<br>ICC(1) = %{x:.2f}<br>%{customdata[0]} 人，%{customdata[1]} 个人次，"
                      "平均每人次 %{customdata[2]:.1f} 名评价人<extra></extra>",
    ))
    overall = result.agreement.get("icc1")
    if overall is not None and not math.isnan(overall):
        fig.add_vline(x=overall, line={"color": "#555555", "dash": "dash", "width": 1},
                      annotation_text=f"全部 {overall:.2f}")
    fig.add_vline(x=0.5, line={"color": figures.FLAG_COLOR, "dash": "dot", "width": 1})
    fig.update_layout(xaxis_title="评价人一致性 ICC(1)", yaxis_title=None, height=max(320, 22 * len(u) + 120),
                      showlegend=False)
    return fig


# --- tables for the page (Chinese column names; numbers stay numbers, TABLE_FORMATS says how to show them)

TABLE_FORMATS = {
    "宽严度（分）": "signed", "与其他评价人之差（分）": "signed", "自评减他评（分）": "signed",
    "标准误": "score", "平均给分": "score", "给分标准差": "score", "差值标准差": "score", "自评平均": "score",
    "他评平均": "score", "平均每人次评价人数": "score", "距 0 的标准误倍数": "score", "打分离散比": "decimal",
    "95分及以上占比": "pct", "分数": "score", "其他评价人平均": "score", "差值": "signed",
}

def fmt_signed(v: float) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:+.1f}"


def fmt_num(v: float, digits: int = 1) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def rater_sentence(result: RaterAnalysis, rater: str) -> str:
    """One rater in words, above the list of his ratings."""
    row = result.raters[result.raters["rater"] == rater].iloc[0]
    judge = "偏松" if row["lenient"] else "偏严" if row["harsh"] else "未标记"
    return (f"**{row['label']}**（{row['types']}）：可比评价 {int(row['k'])} 条，"
            f"宽严度 {fmt_signed(row['leniency'])} 分"
            f"（标准误 {fmt_num(row['se'])}），{judge}；给分标准差 {fmt_num(row['sd_score'])} 分，"
            f"95 分及以上占 {figures.pct(row['top_share'])}。")


def agreement_sentence(result: RaterAnalysis) -> str | None:
    """The overall ICC in words, or None when it cannot be computed."""
    icc = result.agreement.get("icc1")
    if icc is None or math.isnan(icc):
        return None
    return (f"全部 {int(result.agreement['targets']):,} 个至少有 2 名他评的人次：ICC(1) = **{icc:.2f}**"
            f"（{icc_band(icc)}），平均分信度 ICC(k) = {result.agreement['icc_k']:.2f}，"
            f"平均每人次 {result.agreement['k0']:.1f} 名评价人。")


def flagged_table(result: RaterAnalysis) -> pd.DataFrame:
    f = result.flagged
    return pd.DataFrame({
        "评价人": f["label"], "评价人编号": f["rater"], "评价类型": f["types"],
        "判断": np.where(f["lenient"], "偏松", "偏严"),
        "宽严度（分）": f["leniency"], "标准误": f["se"],
        "可比评价条数": f["k"], "距 0 的标准误倍数": f["z"].abs().replace(np.inf, np.nan),
        "示例": f["example"],
        "提示": np.where(f["k"] < FEW_RATINGS, f"可比评价不足 {FEW_RATINGS} 条，偶然因素较大", ""),
    })


def raters_display(result: RaterAnalysis) -> pd.DataFrame:
    r = result.raters.reindex(result.raters["leniency"].abs().sort_values(ascending=False, na_position="last").index)
    judge = np.where(r["lenient"], "偏松", np.where(r["harsh"], "偏严",
                     np.where(r["k"] < result.min_ratings, "评价过少，不判断", "")))
    return pd.DataFrame({
        "评价人": r["label"], "评价人编号": r["rater"], "评价类型": r["types"], "给分条数": r["n_given"],
        "可比评价条数": r["k"], "被评价人数": r["ratees"], "宽严度（分）": r["leniency"],
        "标准误": r["se"], "判断": judge, "平均给分": r["mean_score"], "给分标准差": r["sd_score"],
        "打分离散比": r["compression"], "打分集中": np.where(r["compressed"], "是", ""),
        "95分及以上占比": r["top_share"],
    })


def types_display(result: RaterAnalysis) -> pd.DataFrame:
    t = result.types
    return pd.DataFrame({
        "评价类型": t["rater_type"], "评价条数": t["ratings"], "平均给分": t["mean_score"],
        "可比评价条数": t["compared"], "与其他评价人之差（分）": t["gap"], "差值标准差": t["sd_gap"],
        "95分及以上占比": t["top_share"],
    })


def self_units_display(result: RaterAnalysis) -> pd.DataFrame:
    u = result.self_units
    small = u["small"]
    return pd.DataFrame({
        "单位": u["unit"], "人数": u["people"], "自评人次": u["ratings"],
        "自评平均": np.where(small, "样本过少", u["self_mean"].map(fmt_num)),
        "他评平均": np.where(small, "样本过少", u["others_mean"].map(fmt_num)),
        "自评减他评（分）": np.where(small, "样本过少", u["self_gap"].map(fmt_signed)),
    })


def self_people_display(result: RaterAnalysis, top: int = 50) -> pd.DataFrame:
    p = result.self_people.head(top)
    return pd.DataFrame({
        "人员编号": p["person_id"], "姓名": p["name"], "单位": p["unit"], "季度数": p["quarters"],
        "自评平均": p["self_mean"], "他评平均": p["others_mean"], "自评减他评（分）": p["self_gap"],
    })


def agreement_display(result: RaterAnalysis) -> pd.DataFrame:
    u = result.agreement_units
    small = u["small"]
    return pd.DataFrame({
        "单位": u["unit"], "人数": u["people"], "人次（至少 2 名他评）": u["targets"], "评价条数": u["ratings"],
        "平均每人次评价人数": u["k0"],
        "ICC(1)": np.where(small, "样本过少", u["icc1"].map(lambda v: fmt_num(v, 2))),
        "平均分信度 ICC(k)": np.where(small, "样本过少", u["icc_k"].map(lambda v: fmt_num(v, 2))),
        "一致性": np.where(small, "样本过少", u["icc1"].map(icc_band)),
    })


# --- findings and the report ---------------------------------------------------------------------

def top_findings(con: duckdb.DuckDBPyConnection, filters: Filters, min_group: int = 5) -> list[Finding]:
    # Only what the findings say: the leniency test (not the rest of rater_table), the first flagged
    # rater's label, and the overall ICC (not the per-unit ones); read from rating_gaps directly.
    with materialized(con, filters) as src:  # one store check for both
        raters = leniency(con, filters, source=src)
        overall = agreement_overall(con, filters, source=src)
    out: list[Finding] = []
    for flag, word in (("lenient", "偏松"), ("harsh", "偏严")):
        f = raters[raters[flag]]
        if f.empty:
            continue
        f = f.reindex(f["leniency"].abs().sort_values(ascending=False).index)
        first = f.iloc[0]
        out.append(Finding(
            page=PAGE, title=f"{len(f)} 名评价人打分明显{word}",
            detail=(f"如{rater_label(con, first['rater'])}：{int(first['k'])} 条可比评价平均比同一被评价人的其他评价人"
                    f"{'高' if first['leniency'] > 0 else '低'} {abs(first['leniency']):.1f} 分"
                    f"（标准误 {first['se']:.1f}）；"
                    f"标准：平均差至少 {LENIENCY_POINTS:.0f} 分且至少 {LENIENCY_SE:.0f} 个标准误，自评不计。"),
            count=len(f)))
    icc = overall.get("icc1")
    if icc is not None and not math.isnan(icc) and icc < 0.5:
        out.append(Finding(
            page=PAGE, title=f"评价人之间一致性较差（ICC(1) = {icc:.2f}）",
            detail=(f"在 {int(overall['targets'])} 个至少有 2 名他评的人次中，被评价人之间的真实差别只占评分差异的 "
                    f"{icc * 100:.0f}%，其余来自评价人；单因素方差分析 ICC(1)，低于 0.5 为较差。"),
            count=int(overall["targets"])))
    return out[:3]


REPORT_COLUMNS = ["rater", "ratings", "leniency", "lenient_flag", "harsh_flag"]


def _report_filters(filters: Filters, args: ReportArgs) -> Filters:
    if args.period:
        if len(args.period) != 6 or args.period[4] != "Q" or not args.period[:4].isdigit() \
                or args.period[5] not in "1234":
            raise ReportError(f"季度格式应为 2025Q1 这样的形式，而不是「{args.period}」。")
        return filters.with_(periods=(args.period,))
    if args.year:
        return filters.with_(years=(int(args.year),), periods=())
    return filters


@report("raters", "评价人宽严：每名评价人一行（rater 评价人，ratings 计入的非自评评价条数，"
                  "leniency 平均比同一被评价人其他评价人高的分数，lenient_flag 偏松，harsh_flag 偏严）；"
                  "可用 --year 或 --period 限定")
def raters_report(con: duckdb.DuckDBPyConnection, filters: Filters, args: ReportArgs) -> pd.DataFrame:
    r = leniency(con, _report_filters(filters, args))
    out = pd.DataFrame({
        "rater": r["rater"].astype(str),
        "ratings": r["k"].astype(int),
        "leniency": [None if pd.isna(v) else round(float(v), 3) for v in r["leniency"]],
        "lenient_flag": [bool(v) for v in r["lenient"]],
        "harsh_flag": [bool(v) for v in r["harsh"]],
    }, columns=REPORT_COLUMNS)
    return out.astype({"leniency": object})
