"""The store: migrations, the monthly log and ratings pre-aggregates, and what undo does to them."""

from __future__ import annotations

import datetime as dt

import duckdb
from filemaker import rows, snapshot, write_text

from analytics import importer, store


def test_new_store_is_at_the_latest_schema_version(con):
    assert store.schema_version(con) == store.SCHEMA_VERSION == 7


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
    con.execute("""
        INSERT INTO ratings VALUES ('P1', 'P2', '互评', '2025Q1', 2025, 1, 80, 1),
                                   ('P1', 'P3', '上级', '2025Q1', 2025, 1, 90, 1),
                                   ('P1', 'P1', '自评', '2025Q1', 2025, 1, 99, 1)
    """)
    con.execute("""
        INSERT INTO people (person_id, name, unit, category, is_leader, auto, batch_id) VALUES
            ('P1', '甲', '甲局', '综合管理类', true, false, 1), ('P2', '乙', '甲局', '综合管理类', NULL, false, 1),
            ('P3', '丙', NULL, NULL, false, false, 1);
        INSERT INTO quarterly (person_id, period, year, quarter, score, grade, batch_id) VALUES
            ('P1', '2025Q1', 2025, 1, 95, '好', 1), ('P2', '2025Q1', 2025, 1, NULL, '不确定等次', 1),
            ('P2', '2025Q2', 2025, 2, 80, '一般', 1), ('P3', '2025Q1', 2025, 1, 90, '好', 1);
    """)
    con.close()
    con = store.connect(path)
    assert store.schema_version(con) == 7
    assert rows(con, "SELECT count(*) FROM audit_log") == [(0,)]  # v3 added the audit log
    assert rows(con, "SELECT count(*) FROM memo") == [(0,)]  # v5 added the memo of results
    assert rows(con, "SELECT person_id, n, mean, ssw FROM rating_targets") == [("P1", 2, 85.0, 50.0)]  # v7
    # v6 filled the grade counts: per unit, quarter, category and leader flag; P3 has no unit.
    assert rows(con, "SELECT * FROM grade_counts ORDER BY period, is_leader") == [
        ("甲局", "2025Q1", "综合管理类", False, 0, 0, 0, 0, 0, 1),
        ("甲局", "2025Q1", "综合管理类", True, 1, 1, 0, 0, 0, 0),
        ("甲局", "2025Q2", "综合管理类", False, 1, 0, 0, 1, 0, 0)]
    # v4 filled the ratings pre-aggregate: each rating with the other non-self raters' mean.
    assert rows(con, "SELECT rater, is_self, n_others, others_mean FROM rating_gaps ORDER BY rater") == [
        ("P1", True, 2, 85.0), ("P2", False, 1, 90.0), ("P3", False, 1, 80.0)]
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


# The ratings pre-aggregate recomputed from the ratings table, the way raters.py used to compute it.
RATING_GAPS_AFRESH = """
    WITH r AS (
        SELECT person_id, rater, rater_type, period, score,
               (rater_type = '自评' OR rater = person_id) AS is_self FROM ratings
    ),
    t AS (SELECT person_id, period, sum(score) AS s, count(*) AS n FROM r WHERE NOT is_self GROUP BY ALL),
    b AS (SELECT person_id, period, rater, sum(score) AS s, count(*) AS n FROM r WHERE NOT is_self GROUP BY ALL)
    SELECT r.person_id, r.period, r.rater, r.rater_type, r.score, r.is_self,
           coalesce(t.n, 0) - coalesce(b.n, 0) AS n_others,
           round((t.s - coalesce(b.s, 0)) / NULLIF(coalesce(t.n, 0) - coalesce(b.n, 0), 0), 9) AS others_mean
    FROM r LEFT JOIN t USING (person_id, period)
    LEFT JOIN b ON NOT r.is_self AND b.person_id = r.person_id AND b.period = r.period AND b.rater = r.rater
"""
RATING_GAPS_STORED = """
    SELECT person_id, period, rater, rater_type, score, is_self, n_others, round(others_mean, 9)
    FROM rating_gaps
"""


def rating_gaps_in_step(con) -> bool:
    differ = rows(con, f"""
        SELECT count(*) FROM (
            (({RATING_GAPS_AFRESH}) EXCEPT ALL ({RATING_GAPS_STORED}))
            UNION ALL (({RATING_GAPS_STORED}) EXCEPT ALL ({RATING_GAPS_AFRESH})))
    """)
    return differ == [(0,)]


def test_import_replace_and_undo_keep_the_ratings_aggregate_in_step(con, settings, tmp_path):
    header = ["被评价人编号", "评价人", "评价类型", "考核周期", "分数"]
    first = write_text(tmp_path / "r1.csv", [header, ["P1", "P2", "互评", "2025Q1", "80"],
                                              ["P1", "P3", "上级", "2025Q1", "90"],
                                              ["P1", "P1", "自评", "2025Q1", "99"],
                                              ["P2", "P1", "互评", "2025Q2", "70"]])
    second = write_text(tmp_path / "r2.csv", [header, ["P1", "P2", "互评", "2025Q1", "60"],
                                               ["P1", "P4", "互评", "2025Q1", "75"]])
    assert importer.import_files(con, [first], settings)[0].status == "loaded"
    assert rating_gaps_in_step(con)
    assert rows(con, "SELECT rater, n_others, others_mean FROM rating_gaps WHERE person_id = 'P1' "
                     "ORDER BY rater") == [("P1", 2, 85.0), ("P2", 1, 90.0), ("P3", 1, 80.0)]
    replaced = importer.import_files(con, [second], settings, replace=True)[0]
    assert replaced.status == "loaded" and replaced.replaced == 1
    assert rating_gaps_in_step(con)
    assert rows(con, "SELECT rater, n_others, others_mean FROM rating_gaps WHERE person_id = 'P1' "
                     "ORDER BY rater") == [("P1", 3, 75.0), ("P2", 2, 82.5), ("P3", 2, 67.5), ("P4", 2, 75.0)]
    importer.undo(con, replaced.batch_id)
    assert rating_gaps_in_step(con)
    assert rows(con, "SELECT rater, n_others, others_mean FROM rating_gaps WHERE person_id = 'P1' "
                     "ORDER BY rater") == [("P1", 2, 85.0), ("P2", 1, 90.0), ("P3", 1, 80.0)]
    importer.undo(con, replaced.batch_id - 1)
    assert rows(con, "SELECT count(*) FROM rating_gaps") == [(0,)]


def test_demo_ratings_aggregate_matches_a_recomputation(demo_con):
    assert rows(demo_con, "SELECT count(*) FROM rating_gaps") == rows(demo_con, "SELECT count(*) FROM ratings")
    assert rating_gaps_in_step(demo_con)


GRADE_COUNTS_AFRESH = """
    SELECT p.unit, q.period, p.category, COALESCE(p.is_leader, false) AS is_leader,
           count(*) FILTER (WHERE q.grade IN ('好', '较好', '一般', '较差'))::INTEGER AS people,
           count(*) FILTER (WHERE q.grade = '好')::INTEGER AS good,
           count(*) FILTER (WHERE q.grade = '较好')::INTEGER AS fair,
           count(*) FILTER (WHERE q.grade = '一般')::INTEGER AS general,
           count(*) FILTER (WHERE q.grade = '较差')::INTEGER AS poor,
           count(*) FILTER (WHERE q.grade IS NULL OR q.grade NOT IN ('好', '较好', '一般', '较差'))::INTEGER AS uncertain
    FROM quarterly q JOIN people p USING (person_id) WHERE p.unit IS NOT NULL GROUP BY ALL
"""


def grade_counts_in_step(con) -> bool:
    differ = rows(con, f"""
        SELECT count(*) FROM (
            (({GRADE_COUNTS_AFRESH}) EXCEPT ALL (SELECT * FROM grade_counts))
            UNION ALL ((SELECT * FROM grade_counts) EXCEPT ALL ({GRADE_COUNTS_AFRESH})))
    """)
    return differ == [(0,)]


def test_import_replace_and_undo_keep_the_grade_counts_in_step(con, settings, tmp_path):
    roster = write_text(tmp_path / "roster.csv", [["人员编号", "姓名", "单位", "人员类别"],
                                                  ["P1", "甲", "甲局", "综合管理类"], ["P2", "乙", "甲局", "综合管理类"]])
    grades = write_text(tmp_path / "q1.csv", [["人员编号", "考核周期", "得分", "等次"],
                                              ["P1", "2025Q1", "95", "好"], ["P2", "2025Q1", "85", "较好"]])
    moved = write_text(tmp_path / "roster2.csv", [["人员编号", "姓名", "单位", "人员类别"],
                                                  ["P2", "乙", "乙局", "综合管理类"]])
    late = write_text(tmp_path / "q2.csv", [["人员编号", "考核周期", "得分", "等次"],
                                            ["P3", "2025Q1", "70", "一般"]])  # P3 is not in the roster
    assert importer.import_files(con, [roster, grades], settings)[0].status == "loaded"
    assert grade_counts_in_step(con)
    assert rows(con, "SELECT unit, people, good, fair FROM grade_counts ORDER BY unit") == [("甲局", 2, 1, 1)]
    # A roster that moves P2 to 乙局 (replace) moves P2's results with it.
    assert importer.import_files(con, [moved], settings, replace=True)[0].status == "loaded"
    assert grade_counts_in_step(con)
    assert rows(con, "SELECT unit, people, good, fair FROM grade_counts ORDER BY unit") == [
        ("乙局", 1, 0, 1), ("甲局", 1, 1, 0)]
    # Results of an unknown person are refused once a roster is loaded; nothing changes.
    assert importer.import_files(con, [late], settings)[0].status != "loaded"
    assert grade_counts_in_step(con)
    last = rows(con, "SELECT max(batch_id) FROM import_batch")[0][0]
    importer.undo(con, last)  # the move undone: P2 back in 甲局
    assert grade_counts_in_step(con)
    assert rows(con, "SELECT unit, people, good, fair FROM grade_counts ORDER BY unit") == [("甲局", 2, 1, 1)]


def test_demo_grade_counts_match_a_recomputation(demo_con):
    assert rows(demo_con, "SELECT sum(people) + sum(uncertain) FROM grade_counts") == rows(
        demo_con, "SELECT count(*) FROM quarterly JOIN people USING (person_id) WHERE people.unit IS NOT NULL")
    assert grade_counts_in_step(demo_con)
