"""The DuckDB store: opening it, its schema as numbered migrations, and small read helpers.

One table per kind of export (see ``KIND_TABLES``), each row tagged with the import batch that
stored it. Rows replaced by a later import move to ``<table>__replaced`` so an undo can put them
back. ``worklog_daily`` (hours per person and day) and ``worklog_monthly`` (hours and logged days per
person and month) and ``rating_gaps`` (every rating with the other raters' mean of the same
person-quarter) and ``grade_counts`` (quarterly grade counts per unit, quarter, 人员类别 and
领导/工作人员) are pre-aggregates kept in step by the importer, undo and the demo generator.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

# Kind name (command line and JSON) -> table name.
KIND_TABLES: dict[str, str] = {
    "units": "units",
    "people": "people",
    "quarterly": "quarterly",
    "ratings": "ratings",
    "worklogs": "worklogs",
    "monthly": "monthly",
    "annual": "annual",
}
KIND_LABELS: dict[str, str] = {
    "units": "单位名册",
    "people": "人员名册",
    "quarterly": "平时考核结果",
    "ratings": "评价明细",
    "worklogs": "工作日志",
    "monthly": "月度对账",
    "annual": "年度考核结果",
}

_V1_TABLES = """
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE import_batch (
    batch_id     INTEGER PRIMARY KEY,
    file_name    VARCHAR NOT NULL,
    sheet        VARCHAR,
    kind         VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    rows         BIGINT NOT NULL,
    replaced     BIGINT NOT NULL DEFAULT 0,
    warnings     VARCHAR,
    imported_at  TIMESTAMP NOT NULL,
    imported_by  VARCHAR,
    is_demo      BOOLEAN NOT NULL DEFAULT false,
    undone_at    TIMESTAMP,
    undone_by    VARCHAR
);
CREATE TABLE units (
    unit        VARCHAR NOT NULL,
    district    VARCHAR,
    level       VARCHAR,
    sector      VARCHAR,
    is_pilot    BOOLEAN,
    pilot_since VARCHAR,
    auto        BOOLEAN NOT NULL DEFAULT false,
    batch_id    INTEGER NOT NULL
);
CREATE TABLE people (
    person_id VARCHAR NOT NULL,
    name      VARCHAR,
    unit      VARCHAR,
    id_hash   VARCHAR,
    dept      VARCHAR,
    category  VARCHAR,
    position  VARCHAR,
    is_leader BOOLEAN,
    auto      BOOLEAN NOT NULL DEFAULT false,
    batch_id  INTEGER NOT NULL
);
CREATE TABLE quarterly (
    person_id  VARCHAR NOT NULL,
    period     VARCHAR NOT NULL,
    year       SMALLINT NOT NULL,
    quarter    TINYINT NOT NULL,
    score      DOUBLE,
    grade      VARCHAR,
    score_de   DOUBLE,
    score_neng DOUBLE,
    score_qin  DOUBLE,
    score_ji   DOUBLE,
    score_lian DOUBLE,
    bonus      DOUBLE,
    penalty    DOUBLE,
    assessor   VARCHAR,
    batch_id   INTEGER NOT NULL
);
CREATE TABLE ratings (
    person_id  VARCHAR NOT NULL,
    rater      VARCHAR NOT NULL,
    rater_type VARCHAR NOT NULL,
    period     VARCHAR NOT NULL,
    year       SMALLINT NOT NULL,
    quarter    TINYINT NOT NULL,
    score      DOUBLE NOT NULL,
    batch_id   INTEGER NOT NULL
);
CREATE TABLE worklogs (
    person_id VARCHAR NOT NULL,
    work_date DATE NOT NULL,
    hours     DOUBLE NOT NULL,
    content   VARCHAR,
    place     VARCHAR,
    progress  VARCHAR,
    outcome   VARCHAR,
    batch_id  INTEGER NOT NULL
);
CREATE TABLE monthly (
    person_id         VARCHAR NOT NULL,
    month             DATE NOT NULL,
    planned           INTEGER NOT NULL,
    done              INTEGER NOT NULL,
    saturation_rating VARCHAR,
    comment           VARCHAR,
    batch_id          INTEGER NOT NULL
);
CREATE TABLE annual (
    person_id     VARCHAR NOT NULL,
    year          SMALLINT NOT NULL,
    grade         VARCHAR NOT NULL,
    score         DOUBLE,
    quarterly_avg DOUBLE,
    batch_id      INTEGER NOT NULL
);
CREATE TABLE worklog_daily (
    person_id VARCHAR NOT NULL,
    work_date DATE NOT NULL,
    hours     DOUBLE NOT NULL,
    entries   INTEGER NOT NULL
);
CREATE TABLE workday_calendar (
    day        DATE PRIMARY KEY,
    is_workday BOOLEAN NOT NULL,
    note       VARCHAR
);
"""

_V1_INDEXES = """
CREATE INDEX people_person ON people (person_id);
CREATE INDEX quarterly_person_period ON quarterly (person_id, period);
CREATE INDEX annual_person_year ON annual (person_id, year);
CREATE INDEX import_batch_hash ON import_batch (content_hash);
"""


def _v1(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_V1_TABLES)
    for table in KIND_TABLES.values():
        # Shadow tables hold rows replaced by a later batch, so that undo can restore them.
        con.execute(
            f"CREATE TABLE {table}__replaced AS "
            f"SELECT *, NULL::INTEGER AS replaced_by FROM {table} WHERE false"
        )
    con.execute(_V1_INDEXES)


_V2_MONTHLY = """
CREATE TABLE worklog_monthly (
    person_id       VARCHAR NOT NULL,
    month           DATE NOT NULL,     -- first day of the month
    hours           DOUBLE NOT NULL,   -- every logged hour of the month, working day or not
    logged_days     INTEGER NOT NULL,  -- days with at least one log row
    logged_workdays INTEGER NOT NULL,  -- working days (official calendar) with at least one log row
    entries         INTEGER NOT NULL
);
"""


def _v2(con: duckdb.DuckDBPyConnection) -> None:
    """Monthly log pre-aggregate: saturation and coverage pages read a row per person-month."""
    con.execute(_V2_MONTHLY)
    refresh_worklog_monthly(con)


_V3_AUDIT = """
CREATE TABLE audit_log (
    logged_at TIMESTAMP NOT NULL,
    username VARCHAR NOT NULL,   -- the account, or 命令行 / 本机用户 / 演示访客
    role     VARCHAR,
    action   VARCHAR NOT NULL,   -- see analytics.audit.ACTIONS
    detail   VARCHAR,
    ok       BOOLEAN NOT NULL,
    client   VARCHAR             -- the browser's address, when known
);
"""


def _v3(con: duckdb.DuckDBPyConnection) -> None:
    """Audit log: sign-ins, imports, undos, exports and report runs."""
    con.execute(_V3_AUDIT)


_V4_RATING_GAPS = """
CREATE TABLE rating_gaps (
    person_id   VARCHAR NOT NULL,  -- the person rated (so that access.py scopes it like ratings)
    period      VARCHAR NOT NULL,
    rater       VARCHAR NOT NULL,
    rater_type  VARCHAR NOT NULL,
    score       DOUBLE NOT NULL,
    is_self     BOOLEAN NOT NULL,  -- 自评, or the rater is the person rated
    n_others    BIGINT NOT NULL,   -- non-self ratings of the same person-quarter by other raters
    others_mean DOUBLE             -- their mean (NULL when there are none)
);
"""


def _v4(con: duckdb.DuckDBPyConnection) -> None:
    """Ratings pre-aggregate: every rating with the mean of the other raters of the same
    person-quarter, so that 评价人分析 does not recompute it over every rating on each visit."""
    con.execute(_V4_RATING_GAPS)
    refresh_rating_gaps(con)


_V5_MEMO = """
CREATE TABLE memo (
    key          VARCHAR PRIMARY KEY,  -- digest of the kind, data version, code and inputs (analytics.memo)
    kind         VARCHAR NOT NULL,     -- e.g. 'leads' (总览's findings)
    data_version VARCHAR NOT NULL,     -- the data version the result belongs to
    made_at      TIMESTAMP NOT NULL,
    payload      VARCHAR NOT NULL      -- the result, as JSON
);
"""


def _v5(con: duckdb.DuckDBPyConnection) -> None:
    """Results remembered per state of the data (analytics.memo): 总览's findings."""
    con.execute(_V5_MEMO)


_V6_GRADE_COUNTS = """
CREATE TABLE grade_counts (
    unit      VARCHAR NOT NULL,   -- the person's unit (people.unit), as the filters select it
    period    VARCHAR NOT NULL,
    category  VARCHAR,            -- people.category
    is_leader BOOLEAN NOT NULL,   -- COALESCE(people.is_leader, false)
    people    INTEGER NOT NULL,   -- rated: 好/较好/一般/较差
    good      INTEGER NOT NULL,
    fair      INTEGER NOT NULL,   -- 较好
    general   INTEGER NOT NULL,   -- 一般
    poor      INTEGER NOT NULL,   -- 较差
    uncertain INTEGER NOT NULL    -- 不确定等次 or no grade
);
"""


def _v6(con: duckdb.DuckDBPyConnection) -> None:
    """Quarterly grade counts per unit, quarter, 人员类别 and 领导/工作人员: 等次分布 reads these
    (about a sixth of the quarterly rows at city scale) instead of grouping every result."""
    con.execute(_V6_GRADE_COUNTS)
    refresh_grade_counts(con)


_V7_RATING_TARGETS = """
CREATE TABLE rating_targets (
    person_id VARCHAR NOT NULL,  -- the person rated (so that access.py scopes it like ratings)
    period    VARCHAR NOT NULL,
    n         BIGINT NOT NULL,   -- non-self ratings of the person-quarter
    mean      DOUBLE,            -- their mean score (NULL when n = 0)
    ssw       DOUBLE             -- their sum of squared deviations from that mean (NULL when n < 2)
);
"""


def _v7(con: duckdb.DuckDBPyConnection) -> None:
    """Person-quarter pre-aggregate of ``rating_gaps``: one row per person-quarter with ratings, with
    the number, mean and within sum of squares of its non-self scores, so that the raters' ICC(1)
    does not group every rating on each visit (and so that 评价人分析 can tell cheaply whether every
    rated person is on the roster)."""
    con.execute(_V7_RATING_TARGETS)
    refresh_rating_targets(con)


# Numbered migrations; each runs in its own transaction and bumps the stored version.
MIGRATIONS = [(1, _v1), (2, _v2), (3, _v3), (4, _v4), (5, _v5), (6, _v6), (7, _v7)]
SCHEMA_VERSION = MIGRATIONS[-1][0]


class StoreError(Exception):
    """The store cannot be opened or used; the message is for the user (Chinese)."""


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """First value of the first row, or None. Fetches everything: in DuckDB 2.0 a result that is
    not read to the end blocks its connection."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def arrow(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """A query's result as a pyarrow Table (through a relation: no extra copy of the rows)."""
    relation = con.sql(sql, params=params) if params else con.sql(sql)
    return relation.to_arrow_table()


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """A query's result as a DataFrame, fetched through Arrow: the same frame as ``.df()`` (dates and
    timestamps as ``datetime64[us]``, DECIMAL as float64, integers and booleans with NULLs as pandas'
    nullable types), about ten times faster on large results with string columns (``.df()`` builds
    the strings one by one)."""
    return arrow_frame(arrow(con, sql, params))


def arrow_frame(table):
    """A pyarrow Table as ``.df()`` would have given it (see ``frame``)."""
    import pandas as pd
    import pyarrow as pa

    out = table.to_pandas(date_as_object=False)
    for field, column in zip(table.schema, table.columns, strict=True):
        typ = field.type
        if pa.types.is_date(typ) or (pa.types.is_timestamp(typ) and typ.tz is None):
            if out[field.name].dtype != "datetime64[us]":
                out[field.name] = out[field.name].astype("datetime64[us]")
        elif pa.types.is_decimal(typ):
            out[field.name] = out[field.name].astype("float64")
        elif column.null_count and pa.types.is_integer(typ):  # .df() gives pandas' nullable integers
            out[field.name] = out[field.name].astype(("UInt" if pa.types.is_unsigned_integer(typ) else "Int")
                                                     + str(typ.bit_width))
        elif column.null_count and pa.types.is_boolean(typ):
            out[field.name] = out[field.name].astype("boolean")
        elif (pa.types.is_string(typ) or pa.types.is_large_string(typ)) and column.null_count == len(column):
            out[field.name] = pd.Series([None] * len(column), index=out.index, dtype=object)  # .df(): object
    return out


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = scalar(
        con, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
    )
    if not exists:
        return 0
    value = scalar(con, "SELECT value FROM meta WHERE key = 'schema_version'")
    return int(value) if value else 0


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Bring the schema up to ``SCHEMA_VERSION``; returns the version found before."""
    found = schema_version(con)
    if found > SCHEMA_VERSION:
        raise StoreError(
            f"数据库的结构版本（{found}）比本程序支持的（{SCHEMA_VERSION}）更新，请升级程序。"
        )
    for version, step in MIGRATIONS:
        if version <= found:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            step(con)
            con.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(version)]
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    if found < 1:
        fill_calendar(con)
    return found


_LOCK_PID = re.compile(r"PID (\d+)")


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) and migrate the store at ``path``.

    Raises ``StoreError`` with a message naming the process that holds the file when another
    process has it open (DuckDB's lock is per process).
    """
    path = Path(path)
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    config = {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            pid = _LOCK_PID.search(text)
            who = f"（进程号 {pid.group(1)}）" if pid else ""
            raise StoreError(
                f"数据库文件 {path} 正被另一个程序{who}使用，例如正在运行的看板。"
                "DuckDB 同一时间只允许一个程序写入：请在看板的「数据导入」页导入，"
                "或先关闭看板再使用命令行。"
            ) from exc
        raise StoreError(f"无法打开数据库文件 {path}：{text}") from exc
    except duckdb.Error as exc:
        raise StoreError(f"无法打开数据库文件 {path}：{exc}") from exc
    if not read_only:
        migrate(con)
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All-or-nothing unit of work on ``con``: commit on success, roll back on any error."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def refresh_worklog_monthly(con: duckdb.DuckDBPyConnection, keys_sql: str | None = None) -> None:
    """Recompute ``worklog_monthly`` from ``worklog_daily``: every row, or only the person-months of
    the (person_id, month) pairs a query returns."""
    if keys_sql is None:
        con.execute("DELETE FROM worklog_monthly")
        scope, join = "", ""
    else:
        con.execute("DROP TABLE IF EXISTS monthly_keys")
        con.execute(f"CREATE TEMP TABLE monthly_keys AS {keys_sql}")
        con.execute("""
            DELETE FROM worklog_monthly m USING monthly_keys k
            WHERE m.person_id = k.person_id AND m.month = k.month
        """)
        scope = "WHERE d.work_date >= (SELECT min(month) FROM monthly_keys) " \
                "AND d.work_date < (SELECT max(month) FROM monthly_keys) + INTERVAL 1 MONTH"
        join = "SEMI JOIN monthly_keys k ON d.person_id = k.person_id " \
               "AND date_trunc('month', d.work_date)::DATE = k.month"
    con.execute(f"""
        INSERT INTO worklog_monthly
        SELECT d.person_id, date_trunc('month', d.work_date)::DATE AS month, sum(d.hours),
               count(*), count(*) FILTER (WHERE c.is_workday), sum(d.entries)
        FROM worklog_daily d {join}
        LEFT JOIN workday_calendar c ON c.day = d.work_date
        {scope}
        GROUP BY ALL
        ORDER BY month, person_id
    """)


SELF_TYPE = "自评"


def _clear_person_quarters(con: duckdb.DuckDBPyConnection, table: str, keys: str, keys_sql: str | None,
                           alias: str) -> str:
    """Delete the rows of a person-quarter pre-aggregate that are about to be recomputed: every row, or
    those of the (person_id, period) pairs ``keys_sql`` returns (kept in the TEMP table ``keys``).
    Returns the join that limits the recomputation (source rows aliased ``alias``) to those pairs."""
    if keys_sql is None:
        con.execute(f"DELETE FROM {table}")
        return ""
    con.execute(f"DROP TABLE IF EXISTS {keys}")
    con.execute(f"CREATE TEMP TABLE {keys} AS SELECT DISTINCT person_id, period FROM ({keys_sql})")
    con.execute(f"DELETE FROM {table} t USING {keys} k WHERE t.person_id = k.person_id AND t.period = k.period")
    return f"SEMI JOIN {keys} k ON {alias}.person_id = k.person_id AND {alias}.period = k.period"


def refresh_rating_gaps(con: duckdb.DuckDBPyConnection, keys_sql: str | None = None) -> None:
    """Recompute ``rating_gaps`` from ``ratings``: every row, or only the person-quarters of the
    (person_id, period) pairs a query returns.

    A rating is a self-rating when its type is 自评 or the rater is the person rated. For each
    rating, ``others_mean`` is the mean of the non-self ratings of the same person and quarter by
    *other* raters (every rating by the same rater left out), ``n_others`` their number.
    """
    join = _clear_person_quarters(con, "rating_gaps", "rating_gap_keys", keys_sql, "r")
    con.execute(f"""
        INSERT INTO rating_gaps
        WITH r AS (
            SELECT r.person_id, r.rater, r.rater_type, r.period, r.score,
                   (r.rater_type = '{SELF_TYPE}' OR r.rater = r.person_id) AS is_self
            FROM ratings r {join}
        ),
        target AS (
            SELECT person_id, period, sum(score) AS s, count(*) AS n
            FROM r WHERE NOT is_self GROUP BY ALL
        ),
        by_rater AS (
            SELECT person_id, period, rater, sum(score) AS s, count(*) AS n
            FROM r WHERE NOT is_self GROUP BY ALL
        )
        SELECT r.person_id, r.period, r.rater, r.rater_type, r.score, r.is_self,
               coalesce(t.n, 0) - coalesce(b.n, 0) AS n_others,
               (t.s - coalesce(b.s, 0)) / NULLIF(coalesce(t.n, 0) - coalesce(b.n, 0), 0) AS others_mean
        FROM r
        LEFT JOIN target t USING (person_id, period)
        LEFT JOIN by_rater b ON NOT r.is_self AND b.person_id = r.person_id
                                AND b.period = r.period AND b.rater = r.rater
        ORDER BY r.period, r.person_id
    """)
    # rating_targets is derived from rating_gaps: kept in step here, so that every caller (import,
    # replace, undo, the demo, tests that write ratings) refreshes both. Before migration 6 (while
    # migration 4 builds rating_gaps) the table does not exist yet; _v7 fills it.
    if _has_table(con, "rating_targets"):
        refresh_rating_targets(con, None if keys_sql is None else "SELECT person_id, period FROM rating_gap_keys")


def refresh_rating_targets(con: duckdb.DuckDBPyConnection, keys_sql: str | None = None) -> None:
    """Recompute ``rating_targets`` from ``rating_gaps``: every person-quarter, or only those of the
    (person_id, period) pairs a query returns. ``n``, ``mean`` and ``ssw`` are the count, mean and
    ``var_samp * (n - 1)`` of the non-self scores (a self-rating as in ``refresh_rating_gaps``)."""
    join = _clear_person_quarters(con, "rating_targets", "rating_target_keys", keys_sql, "g")
    con.execute(f"""
        INSERT INTO rating_targets
        SELECT g.person_id, g.period, count(*) FILTER (WHERE NOT g.is_self) AS n,
               avg(g.score) FILTER (WHERE NOT g.is_self) AS mean,
               var_samp(g.score) FILTER (WHERE NOT g.is_self)
                   * (count(*) FILTER (WHERE NOT g.is_self) - 1) AS ssw
        FROM rating_gaps g {join}
        GROUP BY g.person_id, g.period
        ORDER BY g.period, g.person_id
    """)
    if keys_sql is not None:
        con.execute("DROP TABLE IF EXISTS rating_target_keys")


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(scalar(con, """
        SELECT count(*) FROM information_schema.tables
        WHERE table_catalog = current_database() AND table_schema = 'main' AND table_name = ?
    """, [name]))


RATED_GRADES = ("好", "较好", "一般", "较差")


def refresh_grade_counts(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute ``grade_counts`` from ``quarterly`` and ``people`` (every row: a roster import can move
    people between units). People without a unit are left out, as every unit-level analysis leaves
    them out."""
    con.execute("DELETE FROM grade_counts")
    con.execute("""
        INSERT INTO grade_counts
        SELECT p.unit, q.period, p.category, COALESCE(p.is_leader, false),
               count(*) FILTER (WHERE q.grade = ANY($rated)),
               count(*) FILTER (WHERE q.grade = '好'),
               count(*) FILTER (WHERE q.grade = '较好'),
               count(*) FILTER (WHERE q.grade = '一般'),
               count(*) FILTER (WHERE q.grade = '较差'),
               count(*) FILTER (WHERE q.grade IS NULL OR NOT q.grade = ANY($rated))
        FROM quarterly q JOIN people p USING (person_id)
        WHERE p.unit IS NOT NULL
        GROUP BY ALL
        ORDER BY 1, 2
    """, {"rated": list(RATED_GRADES)})


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows stored per kind."""
    return {
        kind: scalar(con, f"SELECT count(*) FROM {table}")
        for kind, table in KIND_TABLES.items()
    }


def is_empty(con: duckdb.DuckDBPyConnection) -> bool:
    return not any(counts(con).values())


def get_meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    return scalar(con, "SELECT value FROM meta WHERE key = ?", [key])


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])


def data_version(con: duckdb.DuckDBPyConnection) -> tuple:
    """Changes whenever an import or undo changes the data: a key for caches."""
    return tuple(con.execute(
        "SELECT count(*), max(batch_id), count(undone_at) FROM import_batch").fetchall()[0])


def data_date(con: duckdb.DuckDBPyConnection) -> str:
    """When the data last changed (import or undo), for report footers."""
    value = scalar(con, "SELECT max(greatest(imported_at, COALESCE(undone_at, imported_at))) FROM import_batch")
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def has_demo_data(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        scalar(con, "SELECT count(*) FROM import_batch WHERE is_demo AND undone_at IS NULL")
    )


_HOLIDAY_CN: dict[str, str] = {}


def fill_calendar(
    con: duckdb.DuckDBPyConnection, first_year: int = 2015, last_year: int | None = None
) -> None:
    """Mainland China's working-day calendar (holidays out, make-up working days in).

    Years the ``chinese_calendar`` package does not know fall back to Monday-Friday, marked in
    ``note`` so pages can say so.
    """
    import chinese_calendar

    _HOLIDAY_CN.update({h.value: h.chinese for h in chinese_calendar.Holiday})
    last_year = last_year or dt.date.today().year + 1
    rows = []
    day = dt.date(first_year, 1, 1)
    end = dt.date(last_year, 12, 31)
    while day <= end:
        try:
            workday = chinese_calendar.is_workday(day)
            _, name = chinese_calendar.get_holiday_detail(day)
            if name and not workday:
                note = _HOLIDAY_CN.get(name, name)
            elif workday and day.weekday() >= 5:
                note = "调休上班"
            else:
                note = None
        except NotImplementedError:
            workday, note = day.weekday() < 5, "按周一至周五估算"
        rows.append((day, workday, note))
        day += dt.timedelta(days=1)
    import pandas as pd

    con.register("calendar_frame", pd.DataFrame(rows, columns=["day", "is_workday", "note"]))
    try:
        con.execute("DELETE FROM workday_calendar")
        con.execute("INSERT INTO workday_calendar SELECT * FROM calendar_frame")
    finally:
        con.unregister("calendar_frame")
