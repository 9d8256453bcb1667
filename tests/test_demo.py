"""Demo data: determinism, sizes, every planted pattern (recomputed here with pandas), and the
sample export files (encodings, layout quirks, and that they import onto the demo store).

The demo is built once per session into a temporary DuckDB file; tests open it read-only.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import demo, samples, store
from analytics.config import ImportLimits, Settings

P = demo.PLANTED
KIND_TABLES = list(store.KIND_TABLES.values())


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory) -> tuple[Path, demo.DemoSummary]:
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    con = store.connect(path)
    summary = demo.build_demo(con)
    print(f"\ndemo build: {summary.seconds:.2f} s, rows {summary.rows}")
    con.execute("CHECKPOINT")
    con.close()
    return path, summary


@pytest.fixture(scope="session")
def db(demo_build):
    con = store.connect(demo_build[0], read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="session")
def summary(demo_build) -> demo.DemoSummary:
    return demo_build[1]


def df(con, sql: str, params: list | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


@pytest.fixture(scope="session")
def quarterly(db) -> pd.DataFrame:
    return df(db, "SELECT q.*, p.unit, p.dept, p.is_leader FROM quarterly q "
                  "JOIN people p USING (person_id)")


@pytest.fixture(scope="session")
def rated(quarterly) -> pd.DataFrame:
    return quarterly[quarterly.grade != "不确定等次"]


@pytest.fixture(scope="session")
def unit_quarters(rated) -> pd.DataFrame:
    g = rated.assign(is_good=rated.grade == "好").groupby(["period", "unit"]).agg(
        n=("grade", "size"), good=("is_good", "sum"),
        sd=("score", "std"), lo=("score", "min"), hi=("score", "max"),
    ).reset_index()
    p0 = g.groupby("period").good.sum() / g.groupby("period").n.sum()
    g["p0"] = g.period.map(p0)
    g["share"] = g.good / g.n
    g["pval"] = [_upper_tail(r.good, r.n, r.p0) for r in g.itertuples()]
    g["median_sd"] = g.period.map(g.groupby("period").sd.median())
    return g


def _upper_tail(x: int, n: int, p: float) -> float:
    """P(X >= x) for X ~ Binomial(n, p): the funnel plot's one-sided test."""
    return sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(x, n + 1))


def _special_units() -> set[str]:
    return (set(P["inflated_flat_units"]) | {P["inflating_unit"]["unit"], P["tiny_unit"]["unit"]}
            | set(P["pilot_units"]) | set(P["control_units"]))


# --- build, sizes, bookkeeping ----------------------------------------------------------------


def test_build_is_fast_and_sizes_are_in_range(summary, db):
    print(f"demo build took {summary.seconds:.2f} s")
    assert summary.seconds < 10
    rows = summary.rows
    assert 55 <= rows["units"] <= 65
    assert 1400 <= rows["people"] <= 1600
    assert rows["quarterly"] == rows["people"] * 12
    assert rows["annual"] == rows["people"] * 3
    assert 4 * rows["quarterly"] <= rows["ratings"] <= 5 * rows["quarterly"]
    assert 1_500_000 <= rows["worklogs"] <= 2_500_000
    assert 0.9 * rows["people"] * 36 <= rows["monthly"] <= rows["people"] * 36
    assert rows == {**store.counts(db), "worklog_daily": store.scalar(db, "SELECT count(*) FROM worklog_daily")}
    assert summary.counts == store.counts(db)
    levels = dict(db.execute("SELECT level, count(*) FROM units GROUP BY ALL").fetchall())
    assert set(levels) == {"市直", "旗县区", "乡镇街道"}
    districts = {r[0] for r in db.execute("SELECT DISTINCT district FROM units").fetchall()}
    assert districts == {"市直", "东湖区", "西岭区", "南川县", "北原县"}
    sizes = df(db, "SELECT unit, count(*) n FROM people GROUP BY ALL").n
    assert sizes.min() <= 4 and sizes.max() >= 50


def test_import_batches_one_per_kind(db, summary):
    batches = df(db, "SELECT * FROM import_batch ORDER BY batch_id")
    assert list(batches.kind) == list(store.KIND_TABLES)
    assert list(batches.batch_id) == list(range(1, 8))
    assert (batches.file_name == "演示数据（自动生成）").all()
    assert batches.sheet.isna().all()
    assert (batches.imported_by == "demo").all() and batches.is_demo.all()
    assert list(batches.content_hash) == [f"demo:{demo.DEFAULT_SEED}:{k}" for k in store.KIND_TABLES]
    assert dict(zip(batches.kind, batches.rows, strict=True)) == summary.counts
    for kind, table in store.KIND_TABLES.items():
        found = {r[0] for r in db.execute(f"SELECT DISTINCT batch_id FROM {table}").fetchall()}
        assert found == {summary.batch_ids[kind]}, kind
    assert store.has_demo_data(db)


def test_refuses_a_store_that_is_not_empty(db):
    before = store.counts(db)
    with pytest.raises(demo.DemoError, match="已有数据"):
        demo.build_demo(db)
    assert store.counts(db) == before


def test_unknown_scale_is_refused(tmp_path):
    con = store.connect(tmp_path / "x.duckdb")
    try:
        with pytest.raises(demo.DemoError, match="规模"):
            demo.build_demo(con, scale="city")
        assert store.is_empty(con)
    finally:
        con.close()


def _table_digests(con) -> dict[str, tuple]:
    """Order-independent digests of every table (row count, two sums of row hashes)."""
    out = {}
    for table in [*KIND_TABLES, "worklog_daily"]:
        out[table] = con.execute(
            f"SELECT count(*), sum(hash(s) % 1000000007), bit_xor(hash(s)) "
            f"FROM (SELECT t::VARCHAR AS s FROM {table} t)"
        ).fetchall()[0]
    out["import_batch"] = tuple(con.execute(
        "SELECT batch_id, file_name, kind, content_hash, rows FROM import_batch ORDER BY ALL"
    ).fetchall())
    return out


def test_same_seed_gives_identical_tables_other_seed_does_not(db):
    again = store.connect(":memory:")
    other = store.connect(":memory:")
    try:
        demo.build_demo(again)
        demo.build_demo(other, seed=7)
        reference = _table_digests(db)
        assert _table_digests(again) == reference
        different = _table_digests(other)
        assert different["people"] != reference["people"]  # names come from the seed
        assert different["quarterly"] != reference["quarterly"]
        # The layout (units, ids, planted roles) does not depend on the seed.
        assert different["units"] == reference["units"]
        assert other.execute("SELECT list(person_id ORDER BY person_id) FROM people").fetchall() == \
            db.execute("SELECT list(person_id ORDER BY person_id) FROM people").fetchall()
    finally:
        again.close()
        other.close()


# --- people and units -------------------------------------------------------------------------


def test_people_roster(db):
    people = df(db, "SELECT * FROM people")
    assert people.person_id.str.fullmatch(r"P\d{5}").all()
    assert people.person_id.is_unique
    assert not people.duplicated(["unit", "name"]).any()
    assert people.name.str.len().between(2, 3).all()
    assert set(people.category) <= {"综合管理类", "专业技术类", "行政执法类", "执法勤务类", "警务技术类"}
    assert {"执法勤务类", "行政执法类", "专业技术类"} <= set(people.category)
    # About one leader per department, and every department has exactly one.
    leaders = people.groupby(["unit", "dept"]).is_leader.sum()
    assert (leaders == 1).all()
    assert 0.1 <= people.is_leader.mean() <= 0.25
    tiny = people[people.unit == P["tiny_unit"]["unit"]]
    assert sorted(tiny.person_id) == P["tiny_unit"]["people"] and 3 <= len(tiny) <= 4


def test_planted_names_exist(db):
    units = {r[0] for r in db.execute("SELECT unit FROM units").fetchall()}
    people = {r[0] for r in db.execute("SELECT person_id FROM people").fetchall()}
    named_units = (set(P["inflated_flat_units"]) | {P["inflating_unit"]["unit"], P["tiny_unit"]["unit"]}
                   | set(P["pilot_units"]) | set(P["control_units"])
                   | {d["unit"] for d in P["overloaded_depts"] + P["underloaded_depts"]}
                   | {q["unit"] for q in P["annual_violations"]["excellent_quota"]})
    assert named_units <= units
    raters = {r["rater"] for r in P["lenient_raters"] + P["harsh_raters"]}
    violators = {v["person_id"] for key in ("excellent_with_general", "excellent_low_average",
                                            "excellent_without_good")
                 for v in P["annual_violations"][key]}
    assert raters | violators <= people
    # The planted unit roles do not overlap each other.
    roles = [set(P["inflated_flat_units"]), {P["inflating_unit"]["unit"]}, {P["tiny_unit"]["unit"]},
             set(P["pilot_units"]), set(P["control_units"])]
    assert len(set().union(*roles)) == sum(len(r) for r in roles)


# --- quarterly results ------------------------------------------------------------------------


def test_quarterly_basics(quarterly, rated):
    assert set(quarterly.period) == set(P["periods"])
    assert (quarterly.period == quarterly.year.astype(str) + "Q" + quarterly.quarter.astype(str)).all()
    unsure = quarterly[quarterly.grade == "不确定等次"]
    assert 0.005 <= len(unsure) / len(quarterly) <= 0.02
    assert unsure.score.isna().all()
    assert rated.score.notna().all() and rated.score.between(0, 100).all()
    assert set(rated.grade) == {"好", "较好", "一般", "较差"}
    # Element scores add up to the score, with weights 15/25/15/35/10.
    elements = rated[["score_de", "score_neng", "score_qin", "score_ji", "score_lian"]]
    assert np.allclose(elements.sum(axis=1), rated.score, atol=1e-6)
    assert (rated.score_de <= 15).all() and (rated.score_ji <= 35).all() and (rated.score_lian <= 10).all()
    assert quarterly.assessor.notna().all()


def test_normal_units_look_realistic(rated, unit_quarters):
    normal = unit_quarters[~unit_quarters.unit.isin(_special_units())]
    assert 0.25 <= normal.good.sum() / normal.n.sum() <= 0.35
    assert (normal.good <= np.floor(0.4 * normal.n)).all()  # the 40 % quota is kept
    grades = rated[~rated.unit.isin(_special_units())].grade.value_counts(normalize=True)
    assert 0.01 <= grades["一般"] <= 0.06
    assert grades.get("较差", 0) <= 0.005
    # Every normal unit shows some 一般 over three years (no unplanted compression).
    low = rated.assign(low=rated.grade.isin(["一般", "较差"])).groupby("unit").low.sum()
    assert set(low[low == 0].index) <= _special_units()


def test_grades_follow_scores_within_unit_quarter(rated):
    forced = {v["person_id"] for vs in P["annual_violations"].values() for v in vs if "person_id" in v}
    data = rated[~rated.person_id.isin(forced)]
    order = {"好": 3, "较好": 2, "一般": 1, "较差": 0}
    data = data.assign(rank=data.grade.map(order))
    for _, g in data.groupby(["unit", "period"]):
        by = g.groupby("rank").score.agg(["min", "max"]).sort_index()
        # every grade's lowest score is at least the next lower grade's highest
        assert (by["min"].to_numpy()[1:] >= by["max"].to_numpy()[:-1]).all(), g.unit.iloc[0]


def test_a_inflated_and_flattened_units(rated, unit_quarters):
    lo, hi = P["flat_score_range"]
    for unit in P["inflated_flat_units"]:
        rows = rated[rated.unit == unit]
        assert (rows.grade == "好").mean() > 0.9
        assert rows.score.between(lo, hi).all()
        uq = unit_quarters[unit_quarters.unit == unit]
        assert (uq.sd < 0.5 * uq.median_sd).all()  # flattened scoring in every quarter
        assert (uq.pval < 0.001).all()  # above the 99.8 % funnel limit in every quarter


def test_b_unit_that_starts_inflating(unit_quarters):
    spec = P["inflating_unit"]
    uq = unit_quarters[unit_quarters.unit == spec["unit"]]
    before, after = uq[uq.period < spec["from"]], uq[uq.period >= spec["from"]]
    assert len(before) == 6 and len(after) == 6
    assert (before.share <= 0.4).all() and (before.pval >= 0.001).all()
    assert (after.share >= 0.8).all() and (after.pval < 0.001).all()


def test_c_tiny_unit_all_good_but_not_flagged(unit_quarters):
    spec = P["tiny_unit"]
    uq = unit_quarters[unit_quarters.unit == spec["unit"]]
    all_good = uq[uq.good == uq.n]
    assert set(all_good.period) == set(spec["all_good_periods"])
    assert (all_good.n <= 4).all()
    assert (uq.pval >= 0.001).all()  # a funnel plot at 99.8 % does not flag it


def test_funnel_flags_only_planted_units(unit_quarters):
    flagged = unit_quarters[unit_quarters.pval < 0.001]
    spec = P["inflating_unit"]
    expected = set(P["inflated_flat_units"]) | {spec["unit"]}
    assert set(flagged.unit) == expected
    late = flagged[flagged.unit == spec["unit"]]
    assert (late.period >= spec["from"]).all()


def test_flattened_flags_only_planted_units(unit_quarters):
    flat = unit_quarters[(unit_quarters.n >= 5) & (unit_quarters.sd < 0.5 * unit_quarters.median_sd)]
    expected = set(P["inflated_flat_units"]) | set(P["control_units"]) | set(P["pilot_units"])
    assert set(flat.unit) <= expected
    pilots = flat[flat.unit.isin(P["pilot_units"])]
    assert (pilots.period < P["pilot_since"]).all()


# --- ratings ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def leniency(db) -> pd.DataFrame:
    r = df(db, "SELECT * FROM ratings WHERE rater_type <> '自评'")
    totals = r.groupby(["person_id", "period"]).score.agg(["sum", "count"])
    r = r.join(totals, on=["person_id", "period"])
    r = r[r["count"] > 1]
    r["diff"] = r.score - (r["sum"] - r.score) / (r["count"] - 1)
    out = r.groupby("rater")["diff"].agg(["mean", "std", "count"])
    out["se"] = out["std"] / np.sqrt(out["count"])
    return out


def test_ratings_structure(db, rated):
    r = df(db, "SELECT r.*, p.unit AS ratee_unit, q.unit AS rater_unit FROM ratings r "
               "JOIN people p ON p.person_id = r.person_id JOIN people q ON q.person_id = r.rater")
    assert set(r.rater_type) == {"自评", "互评", "上级"}
    assert r.score.between(0, 100).all()
    selfs = r[r.rater_type == "自评"]
    assert (selfs.rater == selfs.person_id).all()
    assert len(selfs) == len(rated)  # one self-rating per rated person-quarter, none when 不确定
    peers = r[r.rater_type == "互评"]
    assert (peers.ratee_unit == peers.rater_unit).all() and (peers.rater != peers.person_id).all()
    assert peers.groupby(["person_id", "period"]).size().max() == 3
    assert not r.duplicated(["person_id", "rater", "period"]).any()
    sup = r[r.rater_type == "上级"]
    assert sup.groupby(["person_id", "period"]).size().max() == 1
    people = df(db, "SELECT person_id, unit, dept, is_leader FROM people").set_index("person_id")
    boss = people.loc[sup.rater]
    assert boss.is_leader.all() and (boss.unit.to_numpy() == sup.ratee_unit.to_numpy()).all()
    # Self-ratings run a little above what others give.
    others = r[r.rater_type != "自评"].groupby(["person_id", "period"]).score.mean()
    gap = selfs.set_index(["person_id", "period"]).score - others
    assert 1 <= gap.mean() <= 4


def test_d_lenient_and_harsh_raters(leniency):
    flagged = leniency[(leniency["mean"].abs() >= 5) & (leniency["mean"].abs() >= 3 * leniency.se)]
    lenient = {r["rater"] for r in P["lenient_raters"]}
    harsh = {r["rater"] for r in P["harsh_raters"]}
    assert set(flagged.index) == lenient | harsh
    for rater in lenient:
        assert 6.5 <= leniency.loc[rater, "mean"] <= 9.5
        assert leniency.loc[rater, "count"] >= 20
    for rater in harsh:
        assert -9.5 <= leniency.loc[rater, "mean"] <= -6.5
        assert leniency.loc[rater, "count"] >= 20
    others = leniency.drop(index=list(lenient | harsh))
    assert others["mean"].abs().max() < 4.5


# --- logs and monthly reconciliation ----------------------------------------------------------


def test_worklog_daily_equals_aggregate_of_worklogs(db):
    diff = store.scalar(db, """
        SELECT count(*) FROM (
            (SELECT person_id, work_date, sum(hours) AS hours, count(*)::INTEGER AS entries
             FROM worklogs GROUP BY ALL
             EXCEPT SELECT person_id, work_date, hours, entries FROM worklog_daily)
            UNION ALL
            (SELECT person_id, work_date, hours, entries FROM worklog_daily
             EXCEPT SELECT person_id, work_date, sum(hours), count(*)::INTEGER
             FROM worklogs GROUP BY ALL))
    """)
    assert diff == 0


def test_worklogs_shape(db):
    checks = db.execute("""
        SELECT
            count(*) FILTER (WHERE NOT c.is_workday),
            count(*) FILTER (WHERE w.hours <= 0 OR w.hours * 2 <> round(w.hours * 2)),
            min(year(w.work_date)), max(year(w.work_date)),
            count(*) FILTER (WHERE w.content IS NULL)
        FROM worklogs w JOIN workday_calendar c ON c.day = w.work_date
    """).fetchall()[0]
    assert checks == (0, 0, 2023, 2025, 0)
    daily = db.execute("SELECT min(entries), max(entries), max(hours), "
                       "count(DISTINCT entries) FROM worklog_daily").fetchall()[0]
    assert daily[0] == 1 and daily[1] == 3 and daily[2] <= 24
    dupes = store.scalar(db, "SELECT count(*) - count(DISTINCT (person_id, work_date, content)) FROM worklogs")
    assert dupes == 0
    # Logs cover most working days of most people (leave aside).
    workdays = store.scalar(db, "SELECT count(*) FROM workday_calendar WHERE is_workday "
                                "AND year(day) BETWEEN 2023 AND 2025")
    people = store.scalar(db, "SELECT count(*) FROM people")
    coverage = store.scalar(db, "SELECT count(*) FROM worklog_daily") / (workdays * people)
    assert 0.9 <= coverage <= 0.99


@pytest.fixture(scope="session")
def dept_saturation(db) -> pd.DataFrame:
    workdays = store.scalar(db, "SELECT count(*) FROM workday_calendar WHERE is_workday "
                                "AND year(day) BETWEEN 2023 AND 2025")
    frame = df(db, """
        SELECT p.unit, p.dept, count(DISTINCT p.person_id) AS people, sum(w.hours) AS hours
        FROM people p JOIN worklog_daily w USING (person_id) GROUP BY ALL
    """)
    frame["hours_per_workday"] = frame.hours / (frame.people * workdays)
    frame["saturation"] = frame.hours_per_workday / 8
    return frame.set_index(["unit", "dept"])


def test_e_overloaded_and_underloaded_departments(dept_saturation):
    over = [(d["unit"], d["dept"]) for d in P["overloaded_depts"]]
    under = [(d["unit"], d["dept"]) for d in P["underloaded_depts"]]
    for key in over:
        assert dept_saturation.loc[key, "hours_per_workday"] > 8.8
        assert dept_saturation.loc[key, "saturation"] > 1.1
    for key in under:
        assert dept_saturation.loc[key, "saturation"] < 0.6
    rest = dept_saturation.drop(index=over + under)
    assert rest.saturation.between(0.6, 1.1).all()


def test_monthly_reconciliation(db):
    m = df(db, """
        SELECT m.*, h.hours, h.workdays FROM monthly m
        JOIN (SELECT w.person_id, date_trunc('month', w.work_date)::DATE AS month,
                     sum(w.hours) AS hours, any_value(c.n) AS workdays
              FROM worklog_daily w
              JOIN (SELECT date_trunc('month', day)::DATE AS month, count(*) AS n
                    FROM workday_calendar WHERE is_workday GROUP BY ALL) c
                ON c.month = date_trunc('month', w.work_date)
              GROUP BY ALL) h USING (person_id, month)
    """)
    assert (m.done <= m.planned).all() and (m.done >= 0).all() and (m.planned > 0).all()
    assert (pd.to_datetime(m.month).dt.day == 1).all()
    assert set(m.saturation_rating) == {"饱满", "较饱满", "一般", "不饱满"}
    sat = m.hours / (m.workdays * 8)
    order = {"不饱满": 0, "一般": 1, "较饱满": 2, "饱满": 3}
    ranks = m.saturation_rating.map(order)
    # The leader's rating is monotone in the month's saturation.
    by = sat.groupby(ranks).agg(["min", "max"]).sort_index()
    assert (by["min"].to_numpy()[1:] >= by["max"].to_numpy()[:-1]).all()
    assert m.comment.notna().all()


# --- annual results ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def annual(db, rated) -> pd.DataFrame:
    a = df(db, "SELECT a.*, p.unit FROM annual a JOIN people p USING (person_id)")
    flags = rated.assign(is_good=rated.grade == "好", is_low=rated.grade.isin(["一般", "较差"]))
    per_year = flags.groupby(["person_id", "year"]).agg(
        avg=("score", "mean"), good=("is_good", "sum"), low=("is_low", "sum"),
    ).reset_index()
    return a.merge(per_year, on=["person_id", "year"], how="left")


def test_annual_basics(annual):
    assert set(annual.grade) <= {"优秀", "称职", "基本称职", "不称职", "不定等次"}
    assert {"优秀", "称职", "基本称职", "不定等次"} <= set(annual.grade)
    graded = annual[annual.grade != "不定等次"]
    assert np.allclose(graded.quarterly_avg, graded.avg, atol=0.01)
    assert 0.15 <= (graded.grade == "优秀").mean() <= 0.2


def test_f_annual_excellent_against_the_rules(annual):
    spec = P["annual_violations"]
    excellent = annual[annual.grade == "优秀"]

    def found(mask) -> set[tuple[str, int]]:
        return set(zip(excellent[mask].person_id, excellent[mask].year, strict=True))

    def planted(key) -> set[tuple[str, int]]:
        return {(v["person_id"], v["year"]) for v in spec[key]}

    assert found(excellent.low > 0) == planted("excellent_with_general")
    assert found(excellent.avg < 85) == planted("excellent_low_average")
    assert found(excellent.good < 1) == planted("excellent_without_good")
    counted = annual[annual.grade != "不定等次"].groupby(["unit", "year"]).agg(
        n=("grade", "size"), x=("grade", lambda s: (s == "优秀").sum())).reset_index()
    over = counted[counted.x > np.floor(0.2 * counted.n)]
    assert set(zip(over.unit, over.year, strict=True)) == {
        (q["unit"], q["year"]) for q in spec["excellent_quota"]}
    assert (over.x / over.n > 0.25).all()


# --- pilot units ------------------------------------------------------------------------------


def test_g_pilot_units_differentiate_better_after_joining(db, unit_quarters):
    units = df(db, "SELECT unit, is_pilot, pilot_since FROM units")
    pilots = units[units.is_pilot]
    assert set(pilots.unit) == set(P["pilot_units"])
    assert (pilots.pilot_since == P["pilot_since"]).all()
    assert units[~units.is_pilot].pilot_since.isna().all()
    uq = unit_quarters.assign(post=unit_quarters.period >= P["pilot_since"])
    pil = uq[uq.unit.isin(P["pilot_units"])].groupby("post")[["sd", "share"]].mean()
    ctl = uq[uq.unit.isin(P["control_units"])].groupby("post")[["sd", "share"]].mean()
    did_sd = (pil.loc[True, "sd"] - pil.loc[False, "sd"]) - (ctl.loc[True, "sd"] - ctl.loc[False, "sd"])
    did_share = (pil.loc[True, "share"] - pil.loc[False, "share"]) - (
        ctl.loc[True, "share"] - ctl.loc[False, "share"])
    assert did_sd > 1.5
    assert did_share < -0.03
    assert 0.25 <= pil.loc[True, "share"] <= 0.35
    assert abs(ctl.loc[True, "sd"] - ctl.loc[False, "sd"]) < 0.5
    # Pilots also log more completely after joining; controls do not change.
    cov = df(db, """
        SELECT p.unit, w.work_date >= DATE '2024-01-01' AS post,
               count(*) / count(DISTINCT p.person_id) AS days
        FROM worklog_daily w JOIN people p USING (person_id)
        WHERE p.unit IN (SELECT unnest(?::VARCHAR[]))
        GROUP BY ALL
    """, [P["pilot_units"] + P["control_units"]])
    per_year = cov.pivot(index="unit", columns="post", values="days")
    per_year[False] /= 1  # 2023: one year
    per_year[True] /= 2  # 2024-2025: two years
    gain = per_year[True] - per_year[False]
    assert (gain[P["pilot_units"]] > 10).all()
    assert (gain[P["control_units"]].abs() < 10).all()


# --- sample files -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sample_files(db, tmp_path_factory) -> list[Path]:
    out = tmp_path_factory.mktemp("samples")
    return samples.write_samples(db, out)


def _by_name(files: list[Path], name: str) -> Path:
    return next(f for f in files if f.name == name)


def test_samples_written(sample_files):
    names = {f.name for f in sample_files}
    assert names == {samples.F_QUARTERLY_XLSX, samples.F_QUARTERLY_XLS, samples.F_LOGS_GB,
                     samples.F_LOGS_U16, samples.F_MONTHLY, samples.F_RATINGS, samples.F_ROSTER,
                     samples.ERROR_FILE}
    assert all(f.exists() and f.stat().st_size > 0 for f in sample_files)
    readme = (sample_files[0].parent / "README.md").read_text(encoding="utf-8")
    assert all(name in readme for name in names)


def test_samples_are_deterministic(db, sample_files, tmp_path):
    again = samples.write_samples(db, tmp_path)
    for a, b in zip(sorted(sample_files), sorted(again), strict=True):
        if a.suffix != ".xlsx":  # xlsx zips carry entry times
            assert a.read_bytes() == b.read_bytes(), a.name


def test_sample_encodings(sample_files):
    gb = _by_name(sample_files, samples.F_LOGS_GB).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        gb.decode("utf-8")
    text = gb.decode("gb18030")
    lines = text.splitlines()
    assert "工作日志" in lines[0] and lines[1].startswith("人员编号,姓名,单位,日期,工时,工作内容")
    assert "2026/1/" in text and "2026年1月" in text and "2026.1." in text
    assert "小时," in text and "h," in text

    u16 = _by_name(sample_files, samples.F_LOGS_U16).read_bytes()
    assert u16[:2] == b"\xff\xfe"
    body = u16.decode("utf-16")
    assert body.splitlines()[0].split("\t") == ["人员编号", "姓名", "工作日期", "用时", "事项", "成效"]

    monthly = _by_name(sample_files, samples.F_MONTHLY).read_bytes()
    assert monthly[:3] == b"\xef\xbb\xbf"
    first = monthly[3:].decode("utf-8").splitlines()
    assert first[0].split(",")[:6] == ["人员编号", "姓名", "单位", "月份", "计划事项数", "完成事项数"]
    assert any("2026-01" in x for x in first[1:]) and any("2026年1月" in x for x in first[1:])


def test_sample_quarterly_xlsx_layout(sample_files):
    from openpyxl import load_workbook

    wb = load_workbook(_by_name(sample_files, samples.F_QUARTERLY_XLSX))
    ws = wb.active
    assert ws["A1"].value == "2026年第一季度平时考核结果汇总表"
    assert ws["A2"].value == "填报单位：（盖章）  填报日期：2026年4月3日"
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert "F3:J3" in merged and ws["F3"].value == "考核要素得分"
    assert {"A3:A4", "B3:B4", "K3:K4", "L3:L4"} <= merged
    assert [ws.cell(4, c).value for c in range(6, 11)] == ["德", "能", "勤", "绩", "廉"]
    assert ws["A3"].value == "序号"
    values = [[c.value for c in row] for row in ws.iter_rows(min_row=5)]
    flat = [str(v) for row in values for v in row if v is not None]
    assert "９５" in flat and "93分" in flat and "好等次" in flat and "較好" in flat
    assert "２０２６Ｑ１" in flat
    assert any(v == "合计" for v in flat)
    assert any(v.startswith("制表人：") and "审核人：" in v for v in flat)


def test_sample_xls_and_ratings_and_roster(sample_files):
    import xlrd
    from openpyxl import load_workbook

    book = xlrd.open_workbook(str(_by_name(sample_files, samples.F_QUARTERLY_XLS)))
    sheet = book.sheet_by_index(0)
    assert sheet.row_values(1)[:6] == ["人员编号", "姓名", "单位", "季度", "考核得分", "考核等次"]
    assert set(sheet.col_values(5)[2:-1]) <= {"A", "B", "C", "D", "E"}

    ratings = load_workbook(_by_name(sample_files, samples.F_RATINGS)).active
    header = [c.value for c in ratings[1]]
    assert header == ["人員編號", "被評價人", "單位", "評價人", "評價類型", "考核週期", "評分"]
    types = {row[4] for row in ratings.iter_rows(min_row=2, values_only=True)}
    assert {"自評", "互評", "上級"} <= types

    roster = load_workbook(_by_name(sample_files, samples.F_ROSTER))
    assert roster.sheetnames == ["填表说明", "单位名册", "人员名册"]
    units = [list(r) for r in roster["单位名册"].iter_rows(values_only=True)]
    assert units[0][0] == "单位名称" and units[1][0] == samples.NEW_UNIT
    people = [list(r) for r in roster["人员名册"].iter_rows(values_only=True)]
    col = people[0].index("身份证号")
    numbers = [r[col] for r in people[1:]]
    assert all(len(n) == 18 and samples.id_card_valid(n) for n in numbers)
    assert any(n.endswith("X") for n in numbers)


def test_error_example_has_each_planted_error(sample_files):
    text = _by_name(sample_files, samples.ERROR_FILE).read_text(encoding="utf-8")
    rows = [line.split(",") for line in text.splitlines()]
    assert rows[0] == ["人员编号", "姓名", "单位", "考核周期", "得分", "等次"]
    assert any(r[4] == "105" for r in rows) and any(r[5] == "優良" for r in rows)
    assert any(r[3] == "2026年第五季度" for r in rows) and any(r[0] == "P99999" for r in rows)
    assert len(rows) - len({tuple(r) for r in rows}) == 1  # one duplicate row


def test_id_card_check_character():
    number = samples.id_card_number("110105", dt.date(1949, 12, 31), 2)
    assert number == "11010519491231002X"  # the example in GB 11643
    assert samples.id_card_valid(number) and not samples.id_card_valid(number[:-1] + "1")


def test_samples_import_onto_the_demo_store(demo_build, sample_files, tmp_path):
    importer = pytest.importorskip("analytics.importer")
    path = tmp_path / "copy.duckdb"
    shutil.copy(demo_build[0], path)
    con = store.connect(path)
    try:
        settings = Settings(db_path=path, id_hash_key=b"test-key", limits=ImportLimits())
        results = importer.import_files(con, sample_files, settings, user="test")
        by_file: dict[str, set[str]] = {}
        for r in results:
            by_file.setdefault(r.file, set()).add(r.status)
            if r.file != samples.ERROR_FILE and r.status == "refused":
                pytest.fail(f"{r.file} {r.sheet}: {[e.reason for e in r.errors]}")
        assert by_file[samples.ERROR_FILE] == {"refused"}
        for f in sample_files:
            if f.name != samples.ERROR_FILE:
                assert "loaded" in by_file[f.name], f.name
                assert by_file[f.name] <= {"loaded", "skipped"}, f.name
        error = next(r for r in results if r.file == samples.ERROR_FILE)
        assert len(error.errors) >= 4
        kinds = {r.kind for r in results if r.status == "loaded"}
        assert kinds == {"units", "people", "quarterly", "ratings", "worklogs", "monthly"}
        assert store.scalar(con, "SELECT count(*) FROM quarterly WHERE period = '2026Q1'") > 0
        assert store.scalar(con, "SELECT count(*) FROM people WHERE unit = ?", [samples.NEW_UNIT]) == 7
    finally:
        con.close()
