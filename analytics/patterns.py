"""好/一般 走势: quarterly grade sequences per person, transitions between consecutive quarters,
好 counts per person and year, the follow-up list (一般 or worse), how the quarters line up with the
annual grade, and rotation (轮流坐庄) of 好 inside a unit.

Everything starts from one aggregate per person and year (``person_years``), computed in SQL;
the cross-tables, the unit distributions and the rotation test work on that small table.

Rotation. In a unit-year, take the people rated (好/较好/一般/较差) in all four quarters; X_i is
person i's number of 好 quarters, p the unit's 好 share among them. If 好 went to people
independently with probability p, Var(X) would be 4·p·(1−p) (binomial). The index is the
observed variance (of the unit's people, ddof 0) over that expectation: about 1 by chance, well
above 1 when the same people get 好 every quarter (the usual case when grades follow merit), well
below 1 when 好 is passed around. The flag comes from a permutation test that keeps each quarter's
number of 好 fixed and hands them out at random, with a sequential Monte Carlo p-value (Besag &
Clifford 1991): simulation stops at the 10th hand-out at least as even as the observed one, p = 10/L,
or after n_perm = 1,999 with p = (1 + #{as even}) / (n_perm + 1); the unit-year is flagged when
p < alpha. Simulations are seeded by the null (people tested, quarterly 好 counts) and simulated with
the counts in sorted order (the null's distribution does not depend on which quarter had which count),
so results are reproducible and do not depend on the selection. Each null's simulations are kept
between calls (bounded). Only units with at least ``min_group`` such people are tested. See
docs/metrics/patterns.md.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import pyarrow.compute as pc

from analytics import store
from analytics.figures import (
    ANNUAL_GRADE_ORDER,
    FLAG_COLOR,
    GRADE_COLORS,
    MUTED_COLOR,
    NEUTRAL_COLOR,
    QUARTER_GRADE_ORDER,
    pct,
)
from analytics.filters import Filters
from analytics.findings import Finding
from analytics.registry import ReportArgs, ReportError, report

PAGE = "pages/patterns.py"
RATED = ("好", "较好", "一般", "较差")
LOW = ("一般", "较差")
SMALL = "样本过少"
NO_ANNUAL = "无年度等次"
ROTATION_ALPHA = 0.01
ROTATION_PERMUTATIONS = 1999  # at most, per unit-year (the sequential test stops much earlier)
ROTATION_HITS = 10  # the sequential test stops at the 10th simulation at least as extreme
ROTATION_CONCENTRATED_MAX = 199  # 偏集中 p 值 (words the reading only): at most 199 simulations
ROTATION_SEED = 20240401
GOOD_COUNT_COLORS = ("#D9D9D9", "#C6DBEF", "#6BAED6", "#2171B5", "#08306B")  # 0..4 好: light to dark
REPORT_COLUMNS = ["person_id", "unit", "grades", "good_count", "general_or_worse_count", "annual_grade"]
METHOD = ("每人每年按季度排列平时考核等次（不确定等次单列，缺少记录不算）；相邻季度等次配对计数得到转移表；"
          "轮流坐庄指数 = 每人全年好等次次数的方差 ÷ 4p(1−p)，用保持每季度好等次人数不变的置换检验"
          f"（序贯蒙特卡洛：见到 {ROTATION_HITS} 次至少同样均匀的随机分配即停，最多 {ROTATION_PERMUTATIONS} 次）"
          f"判断是否比随机更均匀，p < {ROTATION_ALPHA:g} 标为疑似；"
          "人数少于最小人数的组显示「样本过少」。")


# --- the person-year aggregate ----------------------------------------------------------------

def person_years(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """One row per person and year of the selection.

    Columns: person_id, name, unit, year, quarters (list), grades (list, quarter order; a quarter
    with no row is left out, 不确定等次 is kept), rated_quarters, uncertain_quarters, good_count,
    general_or_worse_count, low_quarters ('2024Q2一般、…' or None), annual_grade (None if none),
    good_mask and rated_mask (bit q−1 set for each quarter q graded 好 / rated).
    People with an annual grade but no quarterly row in the selected quarters are included with
    empty lists.
    """
    return _person_year_grades(con, filters).frame


@dataclass(frozen=True)
class _PersonYearGrades:
    """``person_years`` with each row's grade per quarter as codes, for the tables built from it."""
    frame: pd.DataFrame
    codes: np.ndarray  # rows × 4 (quarters 1–4): index into QUARTER_GRADE_ORDER, −1 = no row that quarter
    plain: bool  # the fast path's conditions held (see _person_year_grades), so codes hold every graded row
    named: bool  # every selected period is named 'YYYYQn' after its year and quarter
    person: np.ndarray | None = None  # row → person number, in row order (fast path only)


_GRADE_CODE_SQL = ("CASE q.grade " + " ".join(f"WHEN '{g}' THEN {i + 1}" for i, g in enumerate(QUARTER_GRADE_ORDER))
                   + " ELSE 7 END")


def _person_year_grades(con: duckdb.DuckDBPyConnection, filters: Filters, lists: bool = True) -> _PersonYearGrades:
    """The person-year rows. In SQL, each person-year's grades are packed into one integer (3 bits per
    quarter: 0 = no row, 1–5 = QUARTER_GRADE_ORDER) and the counts, masks and lists are unpacked from it.
    That holds when every graded row is the only one of its person and quarter, the quarter is 1–4, the
    grade one of the five, the periods are named 'YYYYQn' and nobody is listed twice; otherwise (never
    in a store the importer wrote) the grades are aggregated per quarter in SQL as text
    (``_person_years_by_text``), with the same result. ``lists=False``: the fast path leaves out the
    columns quarters and grades (the codes hold them)."""
    pop_sql, pop_params = filters.population()
    period_sql, period_params = filters.period_clause("q.period")
    year_sql, year_params = filters.year_clause("a.year")
    fields = " ".join(f"WHEN {q} THEN {8 ** (q - 1)}" for q in range(1, 5))
    # people numbered in the output order (unit, person_id), so that grouping, joining and sorting the
    # person-years work on integers; ``twice``: people listed twice (the text query's joins repeat them)
    sql = f"""
        WITH pop AS (SELECT row_number() OVER (ORDER BY unit, person_id) AS pk, * FROM ({pop_sql})),
        wide AS (
            SELECT pop.pk, q.year::INTEGER AS year,
                   sum(({_GRADE_CODE_SQL}) * CASE q.quarter {fields} ELSE 4096 END)::INTEGER AS codes,
                   count(*)::INTEGER AS graded_rows,
                   bit_or(CASE WHEN q.quarter BETWEEN 1 AND 4 THEN 1 << (q.quarter - 1) ELSE 0 END)::INTEGER
                       AS present
            FROM quarterly q JOIN pop USING (person_id)
            WHERE {period_sql} AND q.grade IS NOT NULL
            GROUP BY pop.pk, q.year
        ),
        an AS (
            SELECT pop.pk, a.year::INTEGER AS year, a.grade AS annual_grade
            FROM annual a JOIN pop USING (person_id)
            WHERE {year_sql}
        )
        SELECT pop.person_id, pop.name, pop.unit, year, coalesce(codes, 0) AS codes, an.annual_grade,
               coalesce(graded_rows, 0) AS graded_rows, coalesce(present, 0) AS present,
               (SELECT count(*) - count(DISTINCT person_id) FROM pop) AS twice
        FROM wide FULL OUTER JOIN an USING (pk, year)
        JOIN pop USING (pk)
        ORDER BY pk, year
    """
    table = store.arrow(con, sql, pop_params + period_params + year_params)
    # every selected period named after its year and quarter ('2024Q2'): checked on all rows of those periods
    named = all(p == f"{y}Q{q}" for p, y, q in con.execute(
        f"SELECT DISTINCT q.period, q.year, q.quarter FROM quarterly q WHERE {period_sql}", period_params).fetchall())
    packed = table.column("codes").to_numpy().astype(np.int64)
    fields_ = np.stack([(packed >> (3 * q)) & 7 for q in range(4)], axis=1)  # rows × quarters, 0 = no row
    present = table.column("present").to_numpy()
    plain = bool((packed < 4096).all() and (fields_ <= len(QUARTER_GRADE_ORDER)).all()
                 and not (table.column("twice").to_numpy() > 0).any()
                 and (table.column("graded_rows").to_numpy() == np.bitwise_count(present.astype(np.uint8))).all()
                 and ((fields_ > 0) == ((present[:, None] >> np.arange(4)) & 1 == 1)).all())
    if not (plain and named):
        frame = _person_years_by_text(con, filters)
        position = {g: i for i, g in enumerate(QUARTER_GRADE_ORDER)}
        codes = np.full((len(frame), 4), -1, dtype=np.int64)
        for row, (qs, gs) in enumerate(zip(frame["quarters"], frame["grades"], strict=True)):
            for q, g in zip(qs, gs, strict=True):
                if 1 <= q <= 4:
                    codes[row, q - 1] = position.get(g, -2)
        return _PersonYearGrades(frame=frame, codes=codes, plain=False, named=named)
    codes = fields_ - 1
    frame = store.arrow_frame(table.select(["person_id", "year"]))
    index = frame.index
    frame.insert(1, "name", pd.Series(_objects(table.column("name")), index=index, dtype=object))
    frame.insert(2, "unit", pd.Series(_objects(table.column("unit"), few=True), index=index, dtype=object))
    if lists:
        quarters, grades = _grade_lists(codes)
        frame["quarters"] = pd.Series(quarters, index=index, dtype=object)
        frame["grades"] = pd.Series(grades, index=index, dtype=object)
    unpacked = _UNPACKED[:, packed]  # the counts and masks of each packed value, looked up
    for j, column in enumerate(("rated_quarters", "uncertain_quarters", "good_count", "general_or_worse_count")):
        frame[column] = unpacked[j]
    frame["low_quarters"] = pd.Series(_low_quarters(packed, frame["year"].to_numpy()), index=index, dtype=object)
    frame["annual_grade"] = pd.Series(_objects(table.column("annual_grade"), few=True), index=index, dtype=object)
    frame["good_mask"] = unpacked[4]
    frame["rated_mask"] = unpacked[5]
    ids = table.column("person_id").combine_chunks()
    change = pc.not_equal(ids[1:], ids[:-1]).to_numpy(zero_copy_only=False) if len(ids) > 1 else np.zeros(0, bool)
    person = np.concatenate([[0], np.cumsum(change)]).astype(np.int64) if len(ids) else np.zeros(0, np.int64)
    return _PersonYearGrades(frame=frame, codes=codes, plain=True, named=True, person=person)


def _unpacked_table() -> np.ndarray:
    """For every packed value (3 bits a quarter, 0 = no row, 1–5 = QUARTER_GRADE_ORDER): rated quarters,
    不确定等次 quarters, 好 quarters, 一般-or-worse quarters, 好 mask, rated mask (int32, 6 × 4096)."""
    fields = (np.arange(4096)[:, None] >> (3 * np.arange(4))) & 7
    rated = (fields >= 1) & (fields <= 4)
    good = fields == 1
    bits = 1 << np.arange(4)
    return np.stack([rated.sum(axis=1), (fields == 5).sum(axis=1), good.sum(axis=1),
                     ((fields == 3) | (fields == 4)).sum(axis=1), (good * bits).sum(axis=1),
                     (rated * bits).sum(axis=1)]).astype(np.int32)


_UNPACKED = _unpacked_table()


def _grade_lists(codes: np.ndarray) -> tuple[list[list[int]], list[list[str]]]:
    """Per row of codes (rows × 4), the quarters with a row and their grades, as new lists."""
    packed = ((codes + 1) << (3 * np.arange(codes.shape[1]))).sum(axis=1) if len(codes) else np.zeros(0, np.int64)
    uniques, row_pattern = np.unique(packed, return_inverse=True)
    q_templates, g_templates = [], []
    for row in codes[np.unique(row_pattern.reshape(-1), return_index=True)[1]].tolist() if len(codes) else []:
        q_templates.append([q + 1 for q, c in enumerate(row) if c >= 0])
        g_templates.append([QUARTER_GRADE_ORDER[c] for c in row if c >= 0])
    row_pattern = row_pattern.reshape(-1).tolist()
    return [q_templates[i][:] for i in row_pattern], [g_templates[i][:] for i in row_pattern]


def _sequence_texts(codes: np.ndarray) -> list[str]:
    """``_sequence_text`` per row of codes (rows × 4): one text per distinct row."""
    if not len(codes):
        return []
    keys = ((codes + 1) * 8 ** np.arange(codes.shape[1])).sum(axis=1)  # codes −1…6: one integer per row
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    texts = np.array([" → ".join(f"Q{q + 1} {QUARTER_GRADE_ORDER[c] if c >= 0 else '无记录'}"
                                 for q, c in enumerate(row)) for row in codes[first].tolist()], dtype=object)
    return texts[inverse.reshape(-1)].tolist()


def _low_quarters(packed: np.ndarray, year: np.ndarray) -> np.ndarray:
    """'2024Q2一般、2024Q3较差' per row from the packed grades (None without 一般 or 较差)."""
    out = np.full(len(packed), None, dtype=object)
    rows = np.flatnonzero(_UNPACKED[3, packed] > 0)
    if not len(rows):
        return out
    keys = year[rows].astype(np.int64) * 4096 + packed[rows]  # one text per year and packed value
    distinct, inverse = np.unique(keys, return_inverse=True)
    texts = np.array(["、".join(f"{y}Q{q + 1}{QUARTER_GRADE_ORDER[c - 1]}" for q in range(4)
                               if (c := (value >> (3 * q)) & 7) in (3, 4))
                      for y, value in zip((distinct // 4096).tolist(), (distinct % 4096).tolist(), strict=True)],
                     dtype=object)
    out[rows] = texts[inverse.reshape(-1)]
    return out


def _person_years_by_text(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """``person_years`` with the grades aggregated per quarter as text in SQL (any store)."""
    pop_sql, pop_params = filters.population()
    period_sql, period_params = filters.period_clause("q.period")
    year_sql, year_params = filters.year_clause("a.year")
    sql = f"""
        WITH pop AS ({pop_sql}),
        g AS (
            SELECT q.person_id, q.year::INTEGER AS year, q.quarter::INTEGER AS quarter, q.period, q.grade
            FROM quarterly q JOIN pop USING (person_id)
            WHERE {period_sql} AND q.grade IS NOT NULL
        ),
        wide AS (
            -- one row per person and quarter (the store's key), so the four quarters are four columns
            -- of plain aggregates; the lists are put together from them in quarter order (no sorting)
            SELECT person_id, year,
                   {", ".join(f"max(grade) FILTER (WHERE quarter = {q}) AS g{q}" for q in range(1, 5))},
                   {", ".join(f"max(period) FILTER (WHERE quarter = {q}) AS p{q}" for q in range(1, 5))},
                   count(*) FILTER (WHERE grade IN ('好', '较好', '一般', '较差'))::INTEGER AS rated_quarters,
                   count(*) FILTER (WHERE grade = '不确定等次')::INTEGER AS uncertain_quarters,
                   count(*) FILTER (WHERE grade = '好')::INTEGER AS good_count,
                   count(*) FILTER (WHERE grade IN ('一般', '较差'))::INTEGER AS general_or_worse_count,
                   bit_or(1 << (quarter - 1)) FILTER (WHERE grade = '好')::INTEGER AS good_mask,
                   bit_or(1 << (quarter - 1)) FILTER (WHERE grade IN ('好', '较好', '一般', '较差'))::INTEGER
                       AS rated_mask
            FROM g GROUP BY person_id, year
        ),
        py AS (
            SELECT person_id, year,
                   list_filter([{", ".join(f"CASE WHEN g{q} IS NOT NULL THEN {q} END" for q in range(1, 5))}],
                               lambda x: x IS NOT NULL)::INTEGER[] AS quarters,
                   list_filter([g1, g2, g3, g4], lambda x: x IS NOT NULL) AS grades,
                   rated_quarters, uncertain_quarters, good_count, general_or_worse_count,
                   nullif(concat_ws('、', {", ".join(f"CASE WHEN g{q} IN ('一般', '较差') THEN p{q} || g{q} END"
                                                   for q in range(1, 5))}), '') AS low_quarters,
                   good_mask, rated_mask
            FROM wide
        ),
        an AS (
            SELECT a.person_id, a.year::INTEGER AS year, a.grade AS annual_grade
            FROM annual a JOIN pop USING (person_id)
            WHERE {year_sql}
        )
        SELECT person_id, pop.name, pop.unit, year,
               coalesce(py.quarters, []::INTEGER[]) AS quarters,
               coalesce(py.grades, []::VARCHAR[]) AS grades,
               coalesce(py.rated_quarters, 0) AS rated_quarters,
               coalesce(py.uncertain_quarters, 0) AS uncertain_quarters,
               coalesce(py.good_count, 0) AS good_count,
               coalesce(py.general_or_worse_count, 0) AS general_or_worse_count,
               py.low_quarters, an.annual_grade,
               coalesce(py.good_mask, 0) AS good_mask, coalesce(py.rated_mask, 0) AS rated_mask
        FROM py FULL OUTER JOIN an USING (person_id, year)
        JOIN pop USING (person_id)
        ORDER BY pop.unit, person_id, year
    """
    params = pop_params + period_params + year_params
    # Through Arrow: the list columns come out as Python lists of Python values directly.
    table = store.arrow(con, sql, params)
    frame = store.arrow_frame(table.drop_columns(["quarters", "grades"]))
    for position, column in ((4, "quarters"), (5, "grades")):
        frame.insert(position, column, pd.Series(table.column(column).to_pylist(), index=frame.index, dtype=object))
    for column in ("low_quarters", "annual_grade", "unit", "name"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame


def _codes(columns: list) -> tuple[np.ndarray, np.ndarray]:
    """Text columns (Arrow) as one label array (object) and a rows × columns code matrix (−1 = null)."""
    position: dict[str, int] = {}
    out = np.full((len(columns[0]) if columns else 0, len(columns)), -1, dtype=np.int64)
    for j, column in enumerate(columns):
        encoded = pc.dictionary_encode(column.combine_chunks())
        remap = np.array([position.setdefault(v, len(position)) for v in encoded.dictionary.to_pylist()] + [-1],
                         dtype=np.int64)
        out[:, j] = remap[pc.fill_null(encoded.indices, len(encoded.dictionary)).to_numpy()]
    labels = np.array(list(position), dtype=object)
    return labels, out


def _objects(column, few: bool = False) -> np.ndarray:
    """An Arrow text column as Python strings (object), None for null; ``few``: few distinct values."""
    if few:
        labels, codes = _codes([column])
        return np.append(labels, None)[codes[:, 0]]
    return column.to_numpy(zero_copy_only=False).astype(object)


# --- grade sequences ----------------------------------------------------------------------------

def grade_sequences(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Wide table: 人员编号, 姓名, 单位, then one column per quarter with the grade (None = no row)."""
    return _grade_sequences(_person_year_grades(con, filters, lists=False), con, filters)


def _grade_sequences(pyg: _PersonYearGrades, con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """``grade_sequences`` pivoted from the person-year codes (person-years come in the order unit,
    person), or in SQL when the codes do not hold every row, a period is not named after its quarter
    or a person without a unit is graded (the SQL orders them as '（未知单位）')."""
    py = pyg.frame
    graded = (pyg.codes[:, 0] >= 0) | (pyg.codes[:, 1] >= 0) | (pyg.codes[:, 2] >= 0) | (pyg.codes[:, 3] >= 0)
    if not (pyg.plain and pyg.named and pyg.person is not None) or any(u is None
                                                                       for u in py["unit"].to_numpy()[graded]):
        return _grade_sequences_by_sql(con, filters)
    if not graded.any():
        return pd.DataFrame(columns=["人员编号", "姓名", "单位"])
    rows = np.flatnonzero(graded)
    person = pyg.person[rows]
    first = np.flatnonzero(np.r_[True, person[1:] != person[:-1]])  # rows[first]: each person's first row
    number = np.cumsum(np.r_[True, person[1:] != person[:-1]]) - 1  # 0, 1, … per person in order
    year = py["year"].to_numpy(np.int64)[rows]
    codes = pyg.codes[rows]
    low = int(year.min())
    used = np.stack([np.bincount(year[codes[:, q] >= 0] - low, minlength=int(year.max()) - low + 1) > 0
                     for q in range(4)], axis=1)  # (year − low, quarter): any grade
    slots = [(int(y) + low, int(q)) for y, q in zip(*np.nonzero(used), strict=True)]
    periods = [f"{y}Q{q + 1}" for y, q in slots]
    order = sorted(range(len(periods)), key=periods.__getitem__)  # columns in the order of the period text
    periods = [periods[i] for i in order]
    column_of = np.full((int(year.max()) - low + 1, 4), -1, dtype=np.int64)  # (year − low, quarter) → column
    for j, i in enumerate(order):
        column_of[slots[i][0] - low, slots[i][1]] = j
    cells = np.full((len(first), len(periods)), None, dtype=object)
    labels = np.array(QUARTER_GRADE_ORDER, dtype=object)
    for q in range(4):
        has = codes[:, q] >= 0
        cells[number[has], column_of[year[has] - low, q]] = labels[codes[has, q]]
    firsts = rows[first]
    out = pd.DataFrame({
        "人员编号": py["person_id"].iloc[firsts].reset_index(drop=True),
        "姓名": pd.Series(py["name"].iloc[firsts].fillna("").tolist(), dtype="str"),
        "单位": pd.Series(py["unit"].iloc[firsts].tolist(), dtype="str"),
    })
    return pd.concat([out, pd.DataFrame(cells, columns=periods, dtype=object)], axis=1)


def _grade_sequences_by_sql(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    pop_sql, pop_params = filters.population()
    period_sql, period_params = filters.period_clause("q.period")
    periods = [r[0] for r in con.execute(f"""
        WITH pop AS ({pop_sql})
        SELECT DISTINCT q.period FROM quarterly q JOIN pop USING (person_id)
        WHERE {period_sql} AND q.grade IS NOT NULL ORDER BY 1
    """, pop_params + period_params).fetchall()]
    if not periods:
        return pd.DataFrame(columns=["人员编号", "姓名", "单位"])
    # pivoted in SQL (one row per person and quarter in the store, so max() picks that row's grade)
    cells = ", ".join(f'max(q.grade) FILTER (WHERE q.period = ?) AS "p{i}"' for i in range(len(periods)))
    wide = store.frame(con, f"""
        WITH pop AS ({pop_sql})
        SELECT q.person_id AS 人员编号, coalesce(pop.name, '') AS 姓名, coalesce(pop.unit, '（未知单位）') AS 单位,
               {cells}
        FROM quarterly q JOIN pop USING (person_id)
        WHERE {period_sql} AND q.grade IS NOT NULL
        GROUP BY ALL ORDER BY 单位, 人员编号
    """, pop_params + periods + period_params)
    wide.columns = ["人员编号", "姓名", "单位", *periods]
    wide[periods] = wide[periods].astype(object).where(wide[periods].notna(), None)
    return wide


# --- transitions -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Transitions:
    counts: pd.DataFrame  # 上季度等次, then one column per 下季度等次, 合计, 人数
    shares: pd.DataFrame  # the same rows as shares of the row total ('样本过少' for rows of too few people)
    pairs: int
    good_stays: float | None  # share of 好 followed by 好 (None without pairs or with fewer than min_group people)
    method: str


def transitions(con: duckdb.DuckDBPyConnection, filters: Filters, min_group: int = 5) -> Transitions:
    """Grade in quarter t against grade in quarter t+1, same person, both quarters selected.

    Consecutive means the next calendar quarter (2024Q4 → 2025Q1 counts); a missing row breaks the
    pair, 不确定等次 is a state of its own.
    """
    return _transitions(_person_year_grades(con, filters, lists=False), con, filters, min_group)


def _transitions(pyg: _PersonYearGrades, con: duckdb.DuckDBPyConnection, filters: Filters,
                 min_group: int) -> Transitions:
    """``transitions`` from the person-year codes: quarter q and q + 1 of a row, and quarter 4 of a row
    with quarter 1 of the next row when that is the same person's next year (rows come by person and
    year); in SQL when the codes do not hold every row or a person-year comes twice."""
    states = list(QUARTER_GRADE_ORDER)
    year = pyg.frame["year"].to_numpy(np.int64)
    person = pyg.person
    same = person[1:] == person[:-1] if person is not None else None
    if not pyg.plain or person is None or (same & (year[1:] <= year[:-1])).any():
        matrix, persons = _transition_counts_by_sql(con, filters)
    else:
        codes = pyg.codes
        parts = []  # (from, to, person) of each pair
        for q in range(3):
            pair = (codes[:, q] >= 0) & (codes[:, q + 1] >= 0)
            parts.append((codes[pair, q], codes[pair, q + 1], person[pair]))
        pair = np.flatnonzero(same & (year[1:] == year[:-1] + 1) & (codes[:-1, 3] >= 0) & (codes[1:, 0] >= 0))
        parts.append((codes[pair, 3], codes[pair + 1, 0], person[pair]))
        start, end, who_ = (np.concatenate(column) for column in zip(*parts, strict=True))
        s = len(states)
        cells = np.bincount(start * s + end, minlength=s * s).reshape(s, s)
        matrix = pd.DataFrame(cells.astype(int), index=pd.Index(states, name="from_grade"),
                              columns=pd.Index(states, name="to_grade"))
        people_count = int(person.max()) + 1 if len(person) else 0
        seen = np.bincount(who_ * s + start, minlength=people_count * s).reshape(people_count, s) > 0
        people = seen.sum(axis=0)  # distinct people per from-grade
        persons = pd.Series(people.astype(int), index=states)
    return _transition_tables(matrix, persons, min_group)


def _transition_counts_by_sql(con: duckdb.DuckDBPyConnection, filters: Filters) -> tuple[pd.DataFrame, pd.Series]:
    pop_sql, pop_params = filters.population()
    period_sql, period_params = filters.period_clause("q.period")
    both = con.execute(f"""
        WITH pop AS ({pop_sql}),
        g AS (
            SELECT q.person_id, q.year * 4 + q.quarter AS t, q.grade
            FROM quarterly q JOIN pop USING (person_id)
            WHERE {period_sql} AND q.grade IS NOT NULL
        ),
        pairs AS MATERIALIZED (
            SELECT a.person_id, a.grade AS from_grade, b.grade AS to_grade
            FROM g a JOIN g b ON b.person_id = a.person_id AND b.t = a.t + 1
        )
        SELECT from_grade, to_grade, count(*)::INTEGER AS n, NULL::INTEGER AS people FROM pairs GROUP BY ALL
        UNION ALL
        SELECT from_grade, NULL, NULL, count(DISTINCT person_id)::INTEGER FROM pairs GROUP BY from_grade
    """, pop_params + period_params).df()
    raw = both[both["n"].notna()][["from_grade", "to_grade", "n"]].astype({"n": int})
    persons = both[both["n"].isna()].set_index("from_grade")["people"].astype(int)
    states = list(QUARTER_GRADE_ORDER)
    matrix = (raw.pivot_table(index="from_grade", columns="to_grade", values="n", aggfunc="sum", fill_value=0)
              .reindex(index=states, columns=states, fill_value=0).astype(int))
    return matrix, persons


def _transition_tables(matrix: pd.DataFrame, persons: pd.Series, min_group: int) -> Transitions:
    states = list(QUARTER_GRADE_ORDER)
    counts = matrix.copy()
    counts["合计"] = counts.sum(axis=1)
    counts["人数"] = [int(persons.get(s, 0)) for s in states]
    counts = counts.reset_index().rename(columns={"from_grade": "上季度等次"})
    counts.columns.name = None
    shares = counts[["上季度等次"]].copy()
    for s in states:
        shares[s] = [
            (SMALL if people < min_group else pct(n / total)) if total else "—"
            for n, total, people in zip(counts[s], counts["合计"], counts["人数"], strict=True)
        ]
    shares["合计"] = counts["合计"]
    good_row = counts[counts["上季度等次"] == "好"].iloc[0]
    # no rate from fewer than min_group people (a unit of 4 would show its people's grades)
    good_stays = (int(matrix.loc["好", "好"]) / int(good_row["合计"])
                  if good_row["合计"] and good_row["人数"] >= min_group else None)
    method = ("同一人相邻两个季度（含跨年的第四季度到次年第一季度）的等次配对计数；缺少记录的季度不配对，"
              "不确定等次单列；比例为每行占该行合计的比例。")
    return Transitions(counts=counts, shares=shares, pairs=int(matrix.to_numpy().sum()),
                       good_stays=good_stays, method=method)


# --- per unit and year: how many 好 each person got -----------------------------------------

def good_counts_by_unit(py: pd.DataFrame, min_group: int = 5) -> pd.DataFrame:
    """Per unit and year, how the people rated that year spread over 0, 1, 2, 3, 4 好 quarters."""
    columns = ["单位", "年度", "人数", "人均好等次次数", "好等次比例"] + [f"{k}次好" for k in range(5)]
    rated = py[(py["rated_quarters"] > 0) & py["unit"].notna()]
    if rated.empty:
        return pd.DataFrame(columns=columns)
    units, years, group = _unit_years(rated)
    m = len(units)
    good = rated["good_count"].to_numpy().astype(np.int64)
    n = np.bincount(group, minlength=m).astype(np.int64)
    goods = _group_sums(group, good, m).tolist()
    rated_q = _group_sums(group, rated["rated_quarters"].to_numpy().astype(np.int64), m).tolist()
    small = (n < min_group).tolist()
    sizes = n.tolist()
    out = {"单位": units, "年度": years, "人数": n,
           "人均好等次次数": [SMALL if sm else f"{g / c:.2f}" for sm, g, c in zip(small, goods, sizes, strict=True)],
           # pct() of numbers (no None or NaN here: every group has people and rated quarters), inlined
           "好等次比例": [SMALL if sm else f"{g / r * 100:.1f}%"
                     for sm, g, r in zip(small, goods, rated_q, strict=True)]}
    for k in range(5):
        counts = np.bincount(group[good == k], minlength=m).tolist()
        out[f"{k}次好"] = [SMALL if sm else f"{c / s * 100:.1f}%"
                         for sm, c, s in zip(small, counts, sizes, strict=True)]
    return pd.DataFrame(out, columns=columns)


def _unit_years(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (unit, year) groups of a frame's rows in sorted order, as a sorted groupby gives them: the
    units (object), the years (int64) and each row's group number."""
    unit_codes, units = _factorize_sorted(frame["unit"])
    years_u, year_codes = np.unique(frame["year"].to_numpy().astype(np.int64), return_inverse=True)
    keys, group = np.unique(unit_codes.astype(np.int64) * len(years_u) + year_codes.reshape(-1), return_inverse=True)
    return (np.asarray(units, dtype=object)[keys // len(years_u)], years_u[keys % len(years_u)],
            group.reshape(-1))


def _factorize_sorted(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(values, sort=True)`` of a text column without nulls; an Arrow-backed column is
    encoded by Arrow (its distinct values sorted in Python, as pandas sorts them)."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow" and len(values):
        encoded = pc.dictionary_encode(pa.chunked_array([pa.array(values.array)]).combine_chunks())
        distinct = np.array(encoded.dictionary.to_pylist(), dtype=object)
        order = np.argsort(distinct, kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return rank[encoded.indices.to_numpy()], distinct[order]
    return pd.factorize(values.to_numpy(object), sort=True)


def _group_sums(group: np.ndarray, values: np.ndarray, m: int) -> np.ndarray:
    """Exact integer sums per group."""
    return np.bincount(group, weights=values, minlength=m).round().astype(np.int64)


# --- follow-up list --------------------------------------------------------------------------

def follow_up(py: pd.DataFrame, codes: np.ndarray | None = None) -> pd.DataFrame:
    """跟踪名单: every person-year with at least one 一般 or 较差 quarter.

    The 全年等次 text comes from the rows' lists (quarters, grades), or from ``codes`` (rows × 4, see
    ``_PersonYearGrades``) when given."""
    low = py[py["general_or_worse_count"] > 0]
    low = low.sort_values(["year", "general_or_worse_count", "unit", "person_id"],
                          ascending=[False, False, True, True], kind="stable")
    if codes is not None:
        sequence = _sequence_texts(codes[py.index.get_indexer(low.index)])
    else:
        texts: dict[tuple, str] = {}
        sequence = []
        for q, g in zip(low["quarters"], low["grades"], strict=True):
            key = (*q, None, *g)
            text = texts.get(key)
            if text is None:
                text = texts[key] = _sequence_text(q, g)
            sequence.append(text)
    return pd.DataFrame({
        "人员编号": low["person_id"], "姓名": low["name"], "单位": low["unit"], "年度": low["year"].astype(int),
        "一般及以下次数": low["general_or_worse_count"].astype(int), "一般及以下季度": low["low_quarters"],
        "全年等次": sequence, "年度等次": low["annual_grade"].fillna(NO_ANNUAL),
    }, index=low.index).reset_index(drop=True)


def _sequence_text(quarters: list[int], grades: list[str]) -> str:
    by_q = dict(zip(quarters, grades, strict=True))
    return " → ".join(f"Q{q} {by_q.get(q, '无记录')}" for q in range(1, 5))


# --- quarters against the annual grade -----------------------------------------------------

@dataclass(frozen=True)
class Alignment:
    counts: pd.DataFrame  # 好等次次数, then one column per annual grade present (and 无年度等次), 合计
    shares: pd.DataFrame
    method: str


def annual_alignment(py: pd.DataFrame, min_group: int = 5) -> Alignment:
    """Number of 好 quarters in the year × annual grade (people with at least one rated quarter)."""
    rated = py[py["rated_quarters"] > 0]
    annual = rated["annual_grade"].fillna(NO_ANNUAL).to_numpy(object)
    codes, grades = pd.factorize(annual)
    seen = set(grades.tolist())
    present = [g for g in (*ANNUAL_GRADE_ORDER, NO_ANNUAL) if g in seen]
    if len(rated):
        good = rated["good_count"].to_numpy().astype(np.int64)
        inside = (good >= 0) & (good < 5)
        cells = np.bincount(good[inside] * len(grades) + codes[inside], minlength=5 * len(grades))
        by_grade = dict(zip(grades.tolist(), cells.reshape(5, len(grades)).T.tolist(), strict=True))
        table = pd.DataFrame({g: by_grade[g] for g in present}, index=pd.Index(range(5), name="good_count"),
                             columns=present, dtype=int)
    else:
        table = pd.DataFrame(index=pd.Index([], name="good_count"))
    table = table.reindex(index=range(5), columns=present, fill_value=0).astype(int)
    counts = table.copy()
    counts["合计"] = counts.sum(axis=1)
    counts = counts.reset_index().rename(columns={"good_count": "好等次次数"})
    counts.columns.name = None
    counts["好等次次数"] = [f"{k} 次" for k in counts["好等次次数"]]
    shares = counts[["好等次次数"]].copy()
    for g in present:
        shares[g] = [(SMALL if total < min_group else pct(n / total)) if total else "—"
                     for n, total in zip(counts[g], counts["合计"], strict=True)]
    shares["合计"] = counts["合计"]
    method = "每人每年一行：按当年平时考核好等次的季度数分行、按年度等次分列计人数；比例为占该行人数的比例。"
    return Alignment(counts=counts, shares=shares, method=method)


# --- rotation -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RotationTest:
    people: int
    share: float  # p
    observed_var: float
    expected_var: float  # 4 · p · (1 − p)
    permutation_var: float  # Σ_t p_t (1 − p_t), the mean under the permutation null
    index: float
    p_even: float  # P(variance ≤ observed) under random hand-out with fixed quarterly 好 counts
    p_concentrated: float  # P(variance ≥ observed)


def sequential_p(hits: np.ndarray, h: int | None, n_max: int) -> float | None:
    """Monte Carlo p-value from the outcomes of the first simulations (True = at least as extreme).

    Sequential rule (Besag & Clifford 1991): stop at the simulation L where the h-th hit is seen,
    p = h / L; if fewer than h hits come in n_max simulations, p = (hits + 1) / (n_max + 1), the
    ordinary Monte Carlo p-value. ``h=None`` is the fixed-size test (always n_max simulations).
    None when the outcomes given do not settle it yet (fewer than n_max and fewer than h hits).
    """
    p = _sequential_many(np.asarray(hits, dtype=bool)[None, :], h, n_max)[0]
    return None if np.isnan(p) else float(p)


def _sequential_many(hits: np.ndarray, h: int | None, n_max: int) -> np.ndarray:
    """``sequential_p`` for each row of a (tests × simulations) boolean matrix; NaN = not settled."""
    hits = hits[:, :n_max]
    m, drawn = hits.shape
    out = np.full(m, np.nan)
    if drawn == n_max:
        out[:] = (hits.sum(axis=1) + 1) / (n_max + 1)
    if h is not None and drawn:
        cum = np.cumsum(hits, axis=1)
        stopped = cum[:, -1] >= h
        at = np.argmax(cum >= h, axis=1) + 1  # the simulation where the h-th hit came
        out[stopped] = h / at[stopped]
    return out


def _sequential_p_values(hits: np.ndarray, h: int, n_max: int) -> np.ndarray:
    """``_sequential_many`` with a sequential rule (h given), counting in 16 bits (n_max < 32,768)."""
    if n_max >= 2 ** 15:
        return _sequential_many(hits, h, n_max)
    hits = hits[:, :n_max]
    m, drawn = hits.shape
    out = np.full(m, np.nan)
    if not drawn:
        return out
    cum = np.cumsum(hits, axis=1, dtype=np.int16)
    if drawn == n_max:
        out[:] = (cum[:, -1].astype(np.int64) + 1) / (n_max + 1)
    stopped = cum[:, -1] >= h
    at = np.argmax(cum[stopped] >= h, axis=1).astype(np.int64) + 1  # the simulation where the h-th hit came
    out[stopped] = h / at
    return out


def _signature_seed(n: int, k: np.ndarray) -> list[int]:
    """One random stream per null distribution: it depends only on n and the quarterly 好 counts."""
    return [ROTATION_SEED, int(n), *sorted(int(v) for v in k)]


def _simulated_sumsq(n: int, k: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Σ_i X_i² for ``size`` random hand-outs: each quarter's k_t 好 go to k_t of the n people at random.

    Only how many people hold 0, 1, 2, … 好 so far matters for the next quarter, so a hand-out is
    simulated on those counts: a quarter's k_t 好 split over the groups is multivariate
    hypergeometric, drawn as one univariate hypergeometric per group. The cost does not grow with n.

    The draws are one ``rng.hypergeometric`` call per quarter t ≥ 1 and group x < t, each over all
    ``size`` hand-outs, in that order; a group size that is still the same in every hand-out (before
    the first draw) is passed as a number, which gives the same draws with less overhead.
    """
    groups: list = [n]  # groups[x]: people holding x 好 so far (a number, or one per hand-out)
    for t, kt in enumerate(int(v) for v in k):
        left_people, left_k = n, kt
        new = [*groups, 0]
        for x in range(t + 1):
            d = left_k if x == t else rng.hypergeometric(groups[x], left_people - groups[x], left_k, size=size)
            left_people = left_people - groups[x]
            left_k = left_k - d
            new[x] = new[x] - d
            new[x + 1] = new[x + 1] + d
        groups = new
    total = sum(x * x * g for x, g in enumerate(groups))
    return np.broadcast_to(np.asarray(total, dtype=np.int64), (size,)).copy()


def _even_concentrated(n: int, k: np.ndarray, observed_sumsq: list[int], n_perm: int, hits: int | None,
                       rng: np.random.Generator) -> list[tuple[float, float]]:
    """(p_even, p_concentrated) for several observed Σ X² sharing one null (n, k), from one stream.

    p_even by the sequential rule with at most n_perm simulations; p_concentrated, which only words
    the reading, with at most ``ROTATION_CONCENTRATED_MAX`` (its smallest value 1/200 is still below
    alpha). Simulations are drawn in growing batches until every p-value is settled."""
    conc_max = min(n_perm, ROTATION_CONCENTRATED_MAX) if hits is not None else n_perm
    obs = np.asarray(observed_sumsq, dtype=np.int64)[:, None]
    sims = np.zeros(0, dtype=np.int64)
    size = min(n_perm, conc_max + 1)
    while True:
        sims = np.concatenate([sims, _simulated_sumsq(n, k, size, rng)])
        even = _sequential_many(sims[None, :] <= obs, hits, n_perm)
        conc = _sequential_many(sims[None, :] >= obs, hits, conc_max)
        if not (np.isnan(even).any() or np.isnan(conc).any()):
            return list(zip(even.tolist(), conc.tolist(), strict=True))
        size = min(2 * len(sims), n_perm - len(sims))


def rotation_test(good: np.ndarray, n_perm: int = ROTATION_PERMUTATIONS, seed: int | list[int] | None = None,
                  hits: int | None = ROTATION_HITS) -> RotationTest:
    """Variance of per-person 好 counts against chance; ``good`` is people × quarters (bool).

    ``seed`` None: the stream of the null (n, quarterly counts), as ``rotation`` uses it.
    ``hits`` None: the fixed-size test with n_perm simulations for both p-values."""
    good = np.asarray(good, dtype=bool)
    n, quarters = good.shape
    x = good.sum(axis=1)
    k = good.sum(axis=0)
    rng = np.random.default_rng(_signature_seed(n, k) if seed is None else seed)
    # simulated with the counts in sorted order, as ``rotation`` does (the null does not depend on it)
    (p_even, p_conc), = _even_concentrated(n, np.sort(k), [int((x * x).sum())], n_perm, hits, rng)
    return _rotation_numbers(n, int(x.sum()), int((x * x).sum()), k, quarters, p_even, p_conc)


def _rotation_numbers(n: int, total: int, sumsq: int, k: np.ndarray, quarters: int,
                      p_even: float, p_conc: float) -> RotationTest:
    p = total / (n * quarters)
    observed = (n * sumsq - total * total) / (n * n)  # population variance, exact from integers
    expected = quarters * p * (1 - p)
    shares_t = np.asarray(k) / n
    return RotationTest(people=n, share=p, observed_var=observed, expected_var=expected,
                        permutation_var=float((shares_t * (1 - shares_t)).sum()),
                        index=observed / expected if expected > 0 else float("nan"),
                        p_even=p_even, p_concentrated=p_conc)


def rotation(py: pd.DataFrame, min_group: int = 5, alpha: float = ROTATION_ALPHA,
             n_perm: int = ROTATION_PERMUTATIONS) -> pd.DataFrame:
    """The rotation test for every unit and year of the selection.

    Columns: unit, year, people (rated in all four quarters), status ('已检验', '样本过少',
    '季度不足', '无差异'), share, observed_var, expected_var, permutation_var, index, p_even,
    p_concentrated, flagged, reading (Chinese).

    Unit-years with the same null (people tested and quarterly 好 counts) share one stream of
    simulations, seeded by that null (kept between calls, see ``_null_sims``): a unit-year's p-values are those of
    ``_even_concentrated`` on that stream, computed for all unit-years at once.
    """
    have = py[py["unit"].notna() & (py["rated_quarters"] > 0)]
    if have.empty:
        return _no_rotation()
    masks = _quarter_masks(have)
    good_mask = masks["good"].to_numpy()
    rated_mask = masks["rated"].to_numpy()
    units, years, group = _unit_years(have)  # unit-years in (unit, year) order
    m = len(units)
    full = (have["rated_quarters"] == 4).to_numpy()
    good_count = have["good_count"].to_numpy(np.int64)

    def per_group(values: np.ndarray) -> np.ndarray:
        return np.bincount(group, weights=values, minlength=m).round().astype(np.int64)

    n = np.bincount(group[full], minlength=m).astype(np.int64)
    total = per_group(np.where(full, good_count, 0))
    sumsq = per_group(np.where(full, good_count ** 2, 0))
    k = np.stack([np.bincount(group[full & ((good_mask >> t) & 1 == 1)], minlength=m) for t in range(4)],
                 axis=1).astype(np.int64)
    seen = np.stack([np.bincount(group[(rated_mask >> t) & 1 == 1], minlength=m) > 0 for t in range(4)],
                    axis=1).sum(axis=1)
    return _rotation_of_unit_years(units, years, n, total, sumsq, k, seen, min_group, alpha, n_perm)


ROTATION_COLUMNS = ["unit", "year", "people", "status", "share", "observed_var", "expected_var", "permutation_var",
                    "index", "p_even", "p_concentrated", "flagged", "reading"]


def _no_rotation() -> pd.DataFrame:
    frame = pd.DataFrame(columns=ROTATION_COLUMNS)
    frame["flagged"] = frame["flagged"].astype(bool)
    return frame


def _rotation_of_unit_years(units: np.ndarray, years: np.ndarray, n: np.ndarray, total: np.ndarray,
                            sumsq: np.ndarray, k: np.ndarray, seen: np.ndarray, min_group: int, alpha: float,
                            n_perm: int) -> pd.DataFrame:
    """``rotation`` from its sums per unit-year, in (unit, year) order: units (object), years, people rated
    all year (n), their 好 quarters (total) and Σ of squares (sumsq), per quarter the 好 among them (k,
    unit-years × 4), and the number of quarters with a rated row (seen); all integer arrays."""
    columns = ROTATION_COLUMNS
    m = len(units)
    no_spread = ((k == 0) | (k == n[:, None])).all(axis=1)
    status = np.where(seen < 4, "季度不足", np.where(n < min_group, SMALL, np.where(no_spread, "无差异", "已检验")))
    tested = status == "已检验"
    reading = np.empty(m, dtype=object)
    for i in np.flatnonzero(seen < 4):
        reading[i] = f"只有 {int(seen[i])} 个季度有等次，需要全年 4 个季度。"
    for i in np.flatnonzero(status == SMALL):
        reading[i] = f"全年 4 个季度都有等次的只有 {int(n[i])} 人，少于 {min_group} 人，不检验。"
    reading[status == "无差异"] = "每个季度要么人人是好、要么没人是好，无法判断是否轮流。"

    nan = np.full(m, np.nan)
    share, observed, expected, permutation, index, p_even, p_conc = (nan.copy() for _ in range(7))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(tested | (status == "无差异"), total / (4 * n), np.nan)
    rows = np.flatnonzero(tested)
    if len(rows):
        tn, tt, ts, tk = n[rows], total[rows], sumsq[rows], k[rows]
        p_even[rows], p_conc[rows] = _null_p_values(tn, tk, ts, n_perm)
        observed[rows] = (tn * ts - tt * tt) / (tn * tn)  # population variance, exact from integers
        expected[rows] = 4 * share[rows] * (1 - share[rows])
        shares_t = tk / tn[:, None]
        parts = shares_t * (1 - shares_t)
        permutation[rows] = ((parts[:, 0] + parts[:, 1]) + parts[:, 2]) + parts[:, 3]
        with np.errstate(divide="ignore", invalid="ignore"):
            index[rows] = np.where(expected[rows] > 0, observed[rows] / expected[rows], np.nan)
    flagged = tested & (p_even < alpha)
    for i, people, sh, ov, ev, ix, pe, pcon, fl in zip(
            rows, n[rows].tolist(), share[rows].tolist(), observed[rows].tolist(), expected[rows].tolist(),
            index[rows].tolist(), p_even[rows].tolist(), p_conc[rows].tolist(), flagged[rows].tolist(), strict=True):
        reading[i] = _reading_text(people, sh, ov, ev, ix, pe, pcon, fl, alpha)
    frame = pd.DataFrame({
        "unit": units.tolist(), "year": years,
        "people": n, "status": status.tolist(), "share": share, "observed_var": observed,
        "expected_var": expected, "permutation_var": permutation, "index": index, "p_even": p_even,
        "p_concentrated": p_conc, "flagged": flagged.astype(bool), "reading": reading.tolist(),
    }, columns=columns)
    return frame


# --- the simulated nulls, kept between calls ------------------------------------------------------
# A null's stream of simulations is a pure function of (n, quarterly 好 counts in the order simulated,
# n_perm): its seed is the null, its batches have fixed sizes. Streams are kept (bounded, least recently
# used first out) so that a later selection with the same nulls reads the simulations instead of
# drawing them again; the p-values are the same either way.

STREAM_CACHE_SIMULATIONS = 2_000_000  # at most this many simulated Σ X² kept (8 bytes each: 16 MB)
STREAM_OVERHEAD = 256  # a kept null counts as this many simulations more (its generator: about 2 KB)


class _NullStream:
    """One null's simulations so far, and its generator (the state after them)."""

    __slots__ = ("k", "n", "n_perm", "rng", "sims")

    def __init__(self, n: int, k: tuple[int, ...], n_perm: int):
        self.n, self.k, self.n_perm = n, np.array(k, dtype=np.int64), n_perm
        self.rng = np.random.default_rng(_signature_seed(n, self.k))
        self.sims = np.zeros(0, dtype=np.int64)

    def draw_to(self, length: int) -> int:
        """Draw batches (the sizes ``_even_concentrated`` uses) until ``length`` simulations are there;
        returns the number drawn."""
        before = len(self.sims)
        while len(self.sims) < length:
            size = _batch_sizes(self.n_perm)[len(_stage_lengths(self.n_perm, len(self.sims)))]
            self.sims = np.concatenate([self.sims, _simulated_sumsq(self.n, self.k, size, self.rng)])
        return len(self.sims) - before


_streams: OrderedDict[tuple, _NullStream] = OrderedDict()
_streams_size = 0
_streams_lock = threading.Lock()


def _batch_sizes(n_perm: int) -> list[int]:
    """The batch sizes of ``_even_concentrated`` (sequential test): e.g. 200, 400, 800, 599 for 1,999."""
    size = min(n_perm, min(n_perm, ROTATION_CONCENTRATED_MAX) + 1)
    sizes, drawn = [], 0
    while drawn < n_perm:
        sizes.append(size)
        drawn += size
        size = min(2 * drawn, n_perm - drawn)
    return sizes


def _stage_lengths(n_perm: int, up_to: int | None = None) -> list[int]:
    """Numbers of simulations after each batch (those at most ``up_to`` when given)."""
    lengths = list(itertools.accumulate(_batch_sizes(n_perm)))
    return lengths if up_to is None else [v for v in lengths if v <= up_to]


def _null_sims(key: tuple, length: int) -> np.ndarray:
    """The first ``length`` simulations of the null ``key`` = (n, k_1 … k_4 in simulation order, n_perm)."""
    global _streams_size
    with _streams_lock:
        stream = _streams.get(key)
        if stream is None:
            stream = _streams[key] = _NullStream(key[0], key[1:-1], key[-1])
            _streams_size += STREAM_OVERHEAD
        else:
            _streams.move_to_end(key)
        _streams_size += stream.draw_to(length)
        sims = stream.sims[:length]
        while _streams_size > STREAM_CACHE_SIMULATIONS and len(_streams) > 1:
            _, old = _streams.popitem(last=False)
            _streams_size -= len(old.sims) + STREAM_OVERHEAD
    return sims


def clear_null_streams() -> None:
    """Forget the kept simulations (tests; the results do not change)."""
    global _streams_size
    with _streams_lock:
        _streams.clear()
        _streams_size = 0


def _null_p_values(n: np.ndarray, k: np.ndarray, sumsq: np.ndarray, n_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """(p_even, p_concentrated) of each tested unit-year (arrays in its order), as ``_even_concentrated``
    gives them: unit-years with the same null (n, sorted k) share one stream, simulated with the
    counts in sorted order; the stream grows batch by batch until every p-value is
    settled (each settled p-value depends only on the simulations up to where it settled)."""
    conc_max = min(n_perm, ROTATION_CONCENTRATED_MAX)
    m = len(n)
    base = int(n.max()) + 1
    signature = n.copy()
    for column in np.sort(k, axis=1).T:
        signature = signature * base + column
    _, first, row_null = np.unique(signature, return_index=True, return_inverse=True)
    # Simulated with the counts in sorted order: the null does not depend on which quarter had which
    # count, and a stream that did would depend on which unit-year of the selection came first.
    nulls = [(int(n[i]), *sorted(k[i].tolist()), n_perm) for i in first]
    p_even = np.full(m, np.nan)
    p_conc = np.full(m, np.nan)
    todo = np.arange(m)
    for stage, length in enumerate(_stage_lengths(n_perm)):
        needed = np.unique(row_null[todo])
        sims = np.stack([_null_sims(nulls[j], length) for j in needed])
        at = np.searchsorted(needed, row_null[todo])
        obs = sumsq[todo][:, None]
        if stage == 0:
            p_conc[todo] = _sequential_p_values(sims[at] >= obs, ROTATION_HITS, conc_max)
        p_even[todo] = _sequential_p_values(sims[at] <= obs, ROTATION_HITS, n_perm)
        todo = todo[np.isnan(p_even[todo])]
        if not len(todo):
            break
    return p_even, p_conc


def _quarter_masks(py: pd.DataFrame) -> pd.DataFrame:
    """Per person-year, bit q−1 set for each quarter graded 好 (good) and each rated quarter (rated)."""
    if "good_mask" in py.columns and "rated_mask" in py.columns:
        return pd.DataFrame({"good": py["good_mask"].to_numpy(np.int64), "rated": py["rated_mask"].to_numpy(np.int64)})
    good, rated = [], []
    for qs, gs in zip(py["quarters"], py["grades"], strict=True):
        g = r = 0
        for q, grade in zip(qs, gs, strict=True):
            if grade in RATED:
                r |= 1 << (q - 1)
                if grade == "好":
                    g |= 1 << (q - 1)
        good.append(g)
        rated.append(r)
    return pd.DataFrame({"good": np.array(good, dtype=np.int64), "rated": np.array(rated, dtype=np.int64)})


def _reading_text(people: int, share: float, observed_var: float, expected_var: float, index: float,
                  p_even: float, p_concentrated: float, flagged: bool, alpha: float) -> str:
    numbers = (f"{people} 人全年好等次占 {pct(share)}，每人好等次次数的方差 {observed_var:.2f}，"
               f"随机时约为 {expected_var:.2f}（指数 {index:.2f}）")
    if flagged:
        return f"{numbers}；比随机分配还均匀（置换检验 p = {p_even:.3f} < {alpha:g}），疑似轮流坐庄，需核实。"
    if p_concentrated < alpha:
        return f"{numbers}；好等次相对集中在同一批人（p = {p_concentrated:.3f}），与按实绩评定一致。"
    return f"{numbers}；与随机分配没有显著差别。"


# --- everything for the page ------------------------------------------------------------------

@dataclass(frozen=True)
class Patterns:
    person_years: pd.DataFrame  # ``person_years``; the list columns quarters and grades only on the slow path
    # (see _person_year_grades): read the lists with ``grades``
    sequences: pd.DataFrame
    transitions: Transitions
    good_by_unit: pd.DataFrame
    follow_up: pd.DataFrame
    alignment: Alignment
    rotation: pd.DataFrame
    min_group: int
    headline: str
    grade_codes: np.ndarray | None = None  # rows of person_years × quarters 1–4: QUARTER_GRADE_ORDER index, −1 none

    @property
    def empty(self) -> bool:
        return self.person_years.empty or int(self.person_years["rated_quarters"].sum() +
                                              self.person_years["uncertain_quarters"].sum()) == 0

    def grades(self, rows: pd.Index) -> list[list[str]]:
        """The grades lists of ``person_years`` (quarter order, 不确定等次 kept) for the rows of ``rows``
        (labels of person_years' index), built only for them."""
        if "grades" in self.person_years.columns:
            return list(self.person_years.loc[rows, "grades"])
        return _grade_lists(self.grade_codes[self.person_years.index.get_indexer(rows)])[1]


def grade_patterns(con: duckdb.DuckDBPyConnection, filters: Filters, min_group: int = 5) -> Patterns:
    # one query; the sequences, transitions and the follow-up texts come from its grade codes too
    pyg = _person_year_grades(con, filters, lists=False)
    py = pyg.frame
    trans = _transitions(pyg, con, filters, min_group)
    follow = follow_up(py, pyg.codes if pyg.plain else None)
    rot = rotation(py, min_group)
    return Patterns(
        person_years=py, sequences=_grade_sequences(pyg, con, filters), transitions=trans,
        good_by_unit=good_counts_by_unit(py, min_group), follow_up=follow,
        alignment=annual_alignment(py, min_group), rotation=rot, min_group=min_group,
        headline=_headline(follow, trans, rot), grade_codes=pyg.codes,
    )


def _headline(follow: pd.DataFrame, trans: Transitions, rot: pd.DataFrame) -> str:
    parts = []
    if len(follow):
        parts.append(f"{follow['人员编号'].nunique():,} 人（{len(follow):,} 人次·年）至少一个季度为一般或较差，"
                     "列入跟踪名单")
    else:
        parts.append("所选范围内没有人被评为一般或较差")
    if trans.good_stays is not None:
        parts.append(f"上季度为好的人，下季度仍为好的占 {pct(trans.good_stays)}")
    tested = rot[rot["status"] == "已检验"]
    flagged = tested[tested["flagged"]]
    if len(flagged):
        names = "、".join(f"{u}（{y}）" for u, y in zip(flagged["unit"], flagged["year"], strict=True))
        parts.append(f"{len(flagged)} 个单位年度的好等次分布比随机还均匀，疑似轮流坐庄：{names}")
    elif len(tested):
        parts.append(f"检验的 {len(tested)} 个单位年度中没有发现轮流坐庄的迹象")
    return "；".join(parts) + "。"


# --- figures ----------------------------------------------------------------------------------

_GRADE_CODE = {g: i for i, g in enumerate(QUARTER_GRADE_ORDER)}


def sequence_figure(sequences: pd.DataFrame, unit: str) -> go.Figure:
    """Heat strip of one unit: one row per person, one column per quarter, grade colours."""
    sub = sequences[sequences["单位"] == unit]
    periods = [c for c in sequences.columns if c not in ("人员编号", "姓名", "单位")]
    z = [[_GRADE_CODE.get(g) if g is not None else None for g in row] for row in sub[periods].to_numpy()]
    text = [[g or "无记录" for g in row] for row in sub[periods].to_numpy()]
    n = len(QUARTER_GRADE_ORDER)
    scale = []
    for i, g in enumerate(QUARTER_GRADE_ORDER):
        scale += [[i / n, GRADE_COLORS[g]], [(i + 1) / n, GRADE_COLORS[g]]]
    labels = [f"{pid} {name}" for pid, name in zip(sub["人员编号"], sub["姓名"], strict=True)]
    fig = go.Figure(go.Heatmap(
        z=z, x=periods, y=labels, text=text, zmin=-0.5, zmax=n - 0.5, colorscale=scale, showscale=False,
        xgap=2, ygap=2, hovertemplate="%{y}<br>%{x}：%{text}<extra></extra>",
    ))
    for g in QUARTER_GRADE_ORDER:  # legend entries for the grade colours
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=g,
                                 marker={"color": GRADE_COLORS[g], "size": 12, "symbol": "square"}))
    # the legend (top, see figures.style) names the chart; a title there would overlap it
    fig.update_layout(legend={"title": {"text": f"「{unit}」各季度等次："}},
                      yaxis={"autorange": "reversed", "type": "category"},
                      xaxis={"type": "category"}, height=140 + 22 * max(1, len(sub)), plot_bgcolor="white")
    return fig


def transition_figure(trans: Transitions, min_group: int = 5) -> go.Figure:
    """For each grade in quarter t, how the same people were graded in quarter t+1 (100 % bars)."""
    counts = trans.counts
    shown = counts[(counts["合计"] > 0) & (counts["人数"] >= min_group)]
    fig = go.Figure()
    for g in QUARTER_GRADE_ORDER:
        share = shown[g] / shown["合计"]
        fig.add_bar(
            y=[f"上季度{s}" for s in shown["上季度等次"]], x=share, name=f"下季度{g}", orientation="h",
            marker_color=GRADE_COLORS[g], customdata=np.stack([shown[g], shown["合计"]], axis=1),
            hovertemplate=f"%{{y}} → 下季度{g}：%{{x:.1%}}（%{{customdata[0]}} / %{{customdata[1]}}）<extra></extra>",
        )
    fig.update_layout(barmode="stack", legend={"title": {"text": "同一人下季度："}, "traceorder": "normal"},
                      xaxis={"tickformat": ".0%", "title": "占该行的比例"},
                      yaxis={"autorange": "reversed"}, height=160 + 50 * max(1, len(shown)))
    return fig


GOOD_COUNT_MAX_UNITS = 80  # bars of the 0–4 好 chart; a city's 1,000 units made it 18,000 pixels tall


def good_count_figure(good_by_unit: pd.DataFrame, year: int) -> go.Figure:
    """Per unit (one year): shares of people with 0–4 好 quarters; small units left out. With more than
    ``GOOD_COUNT_MAX_UNITS`` units, the largest ones (most people; the rest are in the table)."""
    sub = good_by_unit[(good_by_unit["年度"] == year) & (good_by_unit["好等次比例"] != SMALL)]
    title = f"{year} 年每人得到："
    if len(sub) > GOOD_COUNT_MAX_UNITS:
        title = (f"{year} 年人数最多的 {GOOD_COUNT_MAX_UNITS} 个单位（共 {len(sub):,} 个，其余见下表），"
                 "每人得到：")
        sub = sub.loc[sub["人数"].sort_values(ascending=False, kind="stable").index[:GOOD_COUNT_MAX_UNITS]].sort_index()
    fig = go.Figure()
    for k in range(5):
        values = [float(v.rstrip("%")) / 100 for v in sub[f"{k}次好"]]
        fig.add_bar(y=sub["单位"], x=values, name=f"{k} 次好", orientation="h", marker_color=GOOD_COUNT_COLORS[k],
                    customdata=sub["人数"], hovertemplate=f"%{{y}}：{k} 次好的人占 %{{x:.1%}}（共 %{{customdata}} 人）"
                                                       "<extra></extra>")
    fig.update_layout(barmode="stack", legend={"title": {"text": title}, "traceorder": "normal"},
                      xaxis={"tickformat": ".0%", "title": "占单位人数的比例"}, yaxis={"autorange": "reversed"},
                      height=160 + 18 * max(1, len(sub)))
    return fig


def alignment_figure(alignment: Alignment, min_group: int = 5) -> go.Figure:
    """Annual grades of the people with 0–4 好 quarters (100 % bars, annual grade colours)."""
    counts = alignment.counts
    shown = counts[counts["合计"] >= min_group]
    grades = [c for c in counts.columns if c not in ("好等次次数", "合计")]
    fig = go.Figure()
    for g in grades:
        fig.add_bar(x=shown["好等次次数"], y=shown[g] / shown["合计"], name=g,
                    marker_color=GRADE_COLORS.get(g, MUTED_COLOR),
                    marker_pattern_shape="/" if g == NO_ANNUAL else "",
                    customdata=np.stack([shown[g], shown["合计"]], axis=1),
                    hovertemplate=f"当年好等次%{{x}}：年度{g} %{{y:.1%}}（%{{customdata[0]}} / %{{customdata[1]}} 人）"
                                  "<extra></extra>")
    fig.update_layout(barmode="stack", legend={"title": {"text": "年度等次："}, "traceorder": "normal"},
                      xaxis_title="当年平时考核好等次次数",
                      yaxis={"tickformat": ".0%", "title": "占该组人数的比例"})
    return fig


def tested_rotation(rot: pd.DataFrame) -> pd.DataFrame:
    """The tested unit-years in the order of the rotation chart's points (point_index = row)."""
    return rot[rot["status"] == "已检验"].reset_index(drop=True)


def rotation_figure(rot: pd.DataFrame) -> go.Figure:
    """One point per tested unit-year: people tested (x) and the variance index (y; 1 = chance)."""
    tested = tested_rotation(rot)
    labels = [f"{u}（{y}）" for u, y in zip(tested["unit"], tested["year"], strict=True)]
    fig = go.Figure(go.Scatter(
        x=tested["people"], y=tested["index"], mode="markers", text=labels,
        marker={"size": 9, "opacity": 0.8,
                "color": [FLAG_COLOR if f else NEUTRAL_COLOR for f in tested["flagged"]]},
        customdata=tested[["p_even"]].to_numpy(),
        hovertemplate="%{text}<br>%{x} 人，方差指数 %{y:.2f}，偏均匀的 p = %{customdata[0]:.3f}<extra></extra>",
    ))
    fig.add_hline(y=1, line_dash="dash", line_color=MUTED_COLOR, annotation_text="与随机相当",
                  annotation_position="top left")
    fig.update_layout(title="各单位年度好等次次数的方差指数（实际方差 ÷ 随机期望）", xaxis_title="参加检验的人数",
                      yaxis={"title": "方差指数", "rangemode": "tozero"}, showlegend=False)
    return fig


def rotation_detail_figure(py: pd.DataFrame, unit: str, year: int) -> go.Figure:
    """One unit-year: people with 0–4 好 quarters, observed against the binomial expectation."""
    full = py[(py["unit"] == unit) & (py["year"] == year) & (py["rated_quarters"] == 4)]
    n = len(full)
    p = full["good_count"].sum() / (4 * n) if n else 0.0
    observed = [int((full["good_count"] == k).sum()) for k in range(5)]
    expected = [n * math.comb(4, k) * p ** k * (1 - p) ** (4 - k) for k in range(5)]
    ks = [f"{k} 次" for k in range(5)]
    fig = go.Figure()
    fig.add_bar(x=ks, y=observed, name="实际人数", marker_color=GRADE_COLORS["好"],
                hovertemplate="好等次%{x}：%{y} 人<extra></extra>")
    fig.add_trace(go.Scatter(x=ks, y=expected, name="随机分配时的期望人数", mode="lines+markers",
                             line={"color": MUTED_COLOR, "dash": "dash"},
                             hovertemplate="好等次%{x}：期望 %{y:.1f} 人<extra></extra>"))
    fig.update_layout(legend={"title": {"text": f"「{unit}」{year} 年："}}, xaxis_title="全年好等次次数",
                      yaxis_title="人数")
    return fig


# --- findings and report ----------------------------------------------------------------------

def top_findings(con: duckdb.DuckDBPyConnection, filters: Filters, min_group: int = 5) -> list[Finding]:
    # Aggregated in SQL up to what the findings read: per unit-year the rotation sums (as ``rotation``
    # takes them from the person-years), per year the person-years with a 一般-or-worse quarter (any unit;
    # person-years with no graded quarter, annual grade only, enter neither).
    rot, low_by_year = _finding_sums(con, filters, min_group)
    findings: list[Finding] = []
    flagged = rot[rot["flagged"]]
    if len(flagged):
        first = flagged.sort_values("p_even").iloc[0]
        findings.append(Finding(
            PAGE, f"{len(flagged)} 个单位年度疑似轮流坐庄",
            f"例如「{first['unit']}」{first['year']} 年：{first['reading']}", len(flagged)))
    if low_by_year:
        latest = max(low_by_year)
        recent, repeat = low_by_year[latest]
        findings.append(Finding(
            PAGE, f"{latest} 年 {recent} 人至少一个季度为一般或较差",
            f"其中 {repeat} 人有两个及以上季度为一般或较差；名单见「好/一般 走势」页的跟踪名单。", recent))
    return findings


def _finding_sums(con: duckdb.DuckDBPyConnection, filters: Filters,
                  min_group: int) -> tuple[pd.DataFrame, dict[int, tuple[int, int]]]:
    """The rotation table of the selection (as ``rotation(person_years(...))``) and, per year with
    any, (person-years with a 一般-or-worse quarter, those with two or more)."""
    pop_sql, pop_params = filters.population()
    period_sql, period_params = filters.period_clause("q.period")
    rows = con.execute(f"""
        WITH pop AS (SELECT dense_rank() OVER (ORDER BY person_id) AS pk, * FROM ({pop_sql})),
        py AS MATERIALIZED (  -- one row per person (numbered: pk) and year
            SELECT pop.pk, any_value(pop.unit) AS unit, q.year::INTEGER AS year,
                   count(*) FILTER (WHERE q.grade IN ('好', '较好', '一般', '较差'))::INTEGER AS rated_quarters,
                   count(*) FILTER (WHERE q.grade = '好')::INTEGER AS good_count,
                   count(*) FILTER (WHERE q.grade IN ('一般', '较差'))::INTEGER AS general_or_worse_count,
                   coalesce(bit_or(1 << (q.quarter - 1)) FILTER (WHERE q.grade = '好'), 0)::INTEGER AS good_mask,
                   coalesce(bit_or(1 << (q.quarter - 1)) FILTER (WHERE q.grade IN ('好', '较好', '一般', '较差')),
                            0)::INTEGER AS rated_mask
            FROM quarterly q JOIN pop USING (person_id)
            WHERE {period_sql} AND q.grade IS NOT NULL
            GROUP BY pop.pk, q.year
        )
        SELECT 1 AS part, unit, year,
               count(*) FILTER (WHERE rated_quarters = 4)::BIGINT,
               coalesce(sum(good_count) FILTER (WHERE rated_quarters = 4), 0)::BIGINT,
               coalesce(sum(good_count * good_count) FILTER (WHERE rated_quarters = 4), 0)::BIGINT,
               {", ".join(f"count(*) FILTER (WHERE rated_quarters = 4 AND good_mask & {1 << t} <> 0)::BIGINT"
                          for t in range(4))},
               bit_count(bit_or(rated_mask) & 15)::BIGINT
        FROM py WHERE unit IS NOT NULL AND rated_quarters > 0
        GROUP BY unit, year
        UNION ALL
        SELECT 2, NULL, year, count(*), count(*) FILTER (WHERE general_or_worse_count >= 2), NULL, NULL, NULL, NULL,
               NULL, NULL
        FROM py WHERE general_or_worse_count > 0
        GROUP BY year
    """, pop_params + period_params).fetchall()
    low_by_year = {int(r[2]): (int(r[3]), int(r[4])) for r in rows if r[0] == 2}
    sums = sorted((r[1:] for r in rows if r[0] == 1), key=lambda r: (r[0], r[1]))  # (unit, year), as pandas sorts
    if not sums:
        return _no_rotation(), low_by_year
    units = np.array([r[0] for r in sums], dtype=object)
    numbers = np.array([r[1:] for r in sums], dtype=np.int64)
    rot = _rotation_of_unit_years(units, numbers[:, 0], numbers[:, 1], numbers[:, 2], numbers[:, 3],
                                  numbers[:, 4:8], numbers[:, 8], min_group, ROTATION_ALPHA, ROTATION_PERMUTATIONS)
    return rot, low_by_year


@report("patterns", "好/一般 走势：每人一年的各季度等次、好等次次数、一般及以下次数和年度等次（需 --year）")
def patterns_report(con: duckdb.DuckDBPyConnection, filters: Filters, args: ReportArgs) -> pd.DataFrame:
    """One row per person: person_id, unit, grades (JSON array in quarter order), good_count,
    general_or_worse_count, annual_grade (None if none)."""
    if args.year is None:
        raise ReportError("好/一般 走势报告需要指定年度，例如 --year 2024。")
    year = int(args.year)
    f = filters.with_(years=(year,), periods=tuple(p for p in filters.periods if p.startswith(str(year))))
    py = person_years(con, f)
    py = py[py["year"] == year]
    out = py[REPORT_COLUMNS].copy()
    out["good_count"] = out["good_count"].astype(int)
    out["general_or_worse_count"] = out["general_or_worse_count"].astype(int)
    return out.sort_values("person_id", kind="stable").reset_index(drop=True)


__all__ = ["Patterns", "RotationTest", "Transitions", "annual_alignment", "follow_up", "good_counts_by_unit",
           "grade_patterns", "grade_sequences", "patterns_report", "person_years", "rotation", "rotation_test",
           "tested_rotation", "top_findings", "transitions"]
