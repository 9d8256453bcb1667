"""The store: migrations, the monthly log pre-aggregate, and what undo does to it."""

from __future__ import annotations

import datetime as dt

import duckdb
from filemaker import rows, snapshot, write_text

from analytics import importer, store


def test_new_store_is_at_the_latest_schema_version(con):
    assert store.schema_version(con) == store.SCHEMA_VERSION == 3


def test_a_version_1_store_with_logs_is_migrated_and_its_monthly_aggregate_filled(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    # Build the version-1 schema and data by hand, as an older program would have left it.
    store.MIGRATIONS[0][1](con)
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    store.fill_calendar(con, 2025, 2025)
    con.execute("""
        INSERT INTO worklog_daily VALUES ('P1', DATE '2025-05-01', 3, 1), ('P1', DATE '2025-05-06', 8, 2),
                                         ('P1', DATE '2025-05-10', 4, 1), ('P2', DATE '2025-06-03', 6, 1)
    """)
    con.close()
    con = store.connect(path)
    assert store.schema_version(con) == 3
    assert rows(con, "SELECT count(*) FROM audit_log") == [(0,)]  # v3 added the audit log
    # 2025-05-01 is Labour Day (holiday), 05-06 a Tuesday, 05-10 a Saturday: one working day logged.
    assert rows(con, "SELECT * FROM worklog_monthly ORDER BY ALL") == [
        ("P1", dt.date(2025, 5, 1), 15.0, 3, 1, 4), ("P2", dt.date(2025, 6, 1), 6.0, 1, 1, 1)]
    con.close()


def test_undo_and_replace_keep_the_monthly_aggregate_in_step(con, settings, tmp_path):
    before = snapshot(con)
    first = write_text(tmp_path / "a.csv", [["人员编号", "日期", "工时", "工作内容"],
                                           ["P1", "2025-03-03", "8", "甲"], ["P1", "2025-04-01", "4", "乙"]])
    second = write_text(tmp_path / "b.csv", [["人员编号", "日期", "工时", "工作内容"],
                                            ["P1", "2025-03-03", "6", "丙"]])
    importer.import_files(con, [first], settings)
    replaced = importer.import_files(con, [second], settings, replace=True)[0]
    assert rows(con, "SELECT month, hours FROM worklog_monthly ORDER BY 1") == [
        (dt.date(2025, 3, 1), 6.0), (dt.date(2025, 4, 1), 4.0)]
    importer.undo(con, replaced.batch_id)
    assert rows(con, "SELECT month, hours FROM worklog_monthly ORDER BY 1") == [
        (dt.date(2025, 3, 1), 8.0), (dt.date(2025, 4, 1), 4.0)]
    importer.undo(con, replaced.batch_id - 1)
    after = snapshot(con)
    assert {t: v for t, v in after.items() if t != "import_batch"} == {
        t: v for t, v in before.items() if t != "import_batch"}


def test_demo_monthly_aggregate_matches_the_daily_one(demo_con):
    assert rows(demo_con, """
        SELECT count(*) FROM (
            SELECT person_id, date_trunc('month', work_date)::DATE AS month, sum(hours) AS h, count(*) AS d
            FROM worklog_daily GROUP BY ALL
        ) x FULL JOIN worklog_monthly m USING (person_id, month)
        WHERE x.h IS DISTINCT FROM m.hours OR x.d IS DISTINCT FROM m.logged_days
    """) == [(0,)]
