"""工作饱和度: hand-computed saturation, bands, Gini, coverage and completion on a small fixture
month with a public holiday and a make-up working day; the planted departments on the demo; the
page under AppTest."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from apptools import empty_combination
from streamlit.testing.v1 import AppTest

from analytics import saturation as sat
from analytics import store
from analytics.demo import PLANTED
from analytics.filters import Filters
from analytics.registry import REPORTS, ReportArgs, ReportError

ROOT = Path(__file__).resolve().parent.parent
JAN = "2025-01"
# 2025-01 by hand: the 1st is a Wednesday, so Wed/Thu/Fri occur 5 times and the other weekdays 4:
# 23 weekdays. Holidays on weekdays: 元旦 1st, 春节 28th-31st (5 days) -> 18; plus the make-up
# working Sunday 26th (调休上班) -> 19 working days, 152 standard hours.
JAN_WORKDAYS = 19
STD = JAN_WORKDAYS * 8


def hand_count_workdays(year: int, month: int, holidays: list[int], makeup: list[int]) -> int:
    days = [dt.date(year, month, d) for d in range(1, 32) if _valid(year, month, d)]
    weekdays = [d for d in days if d.weekday() < 5 and d.day not in holidays]
    return len(weekdays) + len(makeup)


def _valid(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def workdays_sql(pid: str, hours: float, limit: int = 99, month: str = JAN) -> str:
    """``hours`` on each of the first ``limit`` working days of ``month``."""
    return f"""
        INSERT INTO worklog_daily
        SELECT '{pid}', day, {hours}, 1 FROM workday_calendar
        WHERE is_workday AND strftime(day, '%Y-%m') = '{month}'
        ORDER BY day LIMIT {limit};
    """


@pytest.fixture
def small(con):
    """Units 甲局 (办公室 4 people, 执法队 5 people on the band edges), 乙局 (a coverage case, a
    person with only a monthly row, one with nothing, one with logs only in February, one without
    a 处室) and 丙局 (3 people). Saturations are in the comments."""
    con.execute("""
        INSERT INTO units VALUES ('甲局', '东区', '市直', '公安', false, NULL, false, 1),
                                 ('乙局', '西区', '市直', '法院', false, NULL, false, 1),
                                 ('丙局', '西区', '旗县区', '公安', false, NULL, false, 1);
        INSERT INTO people VALUES
            ('A1', '甲一', '甲局', NULL, '办公室', NULL, NULL, false, false, 1),
            ('A2', '甲二', '甲局', NULL, '办公室', NULL, NULL, false, false, 1),
            ('A3', '甲三', '甲局', NULL, '办公室', NULL, NULL, false, false, 1),
            ('A4', '甲四', '甲局', NULL, '办公室', NULL, NULL, false, false, 1),
            ('E1', '执一', '甲局', NULL, '执法队', NULL, NULL, false, false, 1),
            ('E2', '执二', '甲局', NULL, '执法队', NULL, NULL, false, false, 1),
            ('E3', '执三', '甲局', NULL, '执法队', NULL, NULL, false, false, 1),
            ('E4', '执四', '甲局', NULL, '执法队', NULL, NULL, false, false, 1),
            ('E5', '执五', '甲局', NULL, '执法队', NULL, NULL, false, false, 1),
            ('C1', '乙一', '乙局', NULL, '综合科', NULL, NULL, false, false, 1),
            ('M1', '乙二', '乙局', NULL, '综合科', NULL, NULL, false, false, 1),
            ('N1', '乙三', '乙局', NULL, '综合科', NULL, NULL, false, false, 1),
            ('F1', '乙四', '乙局', NULL, '综合科', NULL, NULL, false, false, 1),
            ('Z1', '乙五', '乙局', NULL, NULL, NULL, NULL, false, false, 1),
            ('T1', '丙一', '丙局', NULL, '编研室', NULL, NULL, false, false, 1),
            ('T2', '丙二', '丙局', NULL, '编研室', NULL, NULL, false, false, 1),
            ('T3', '丙三', '丙局', NULL, '编研室', NULL, NULL, false, false, 1);
    """)
    sql = [
        workdays_sql("A1", 4),  # 76 h = 0.5, coverage 19/19
        workdays_sql("A2", 7.6, 10),  # 76 h = 0.5, coverage 10/19
        workdays_sql("A3", 8),  # 152 h = 1.0
        workdays_sql("A4", 8, 18),  # 144 h on 18 working days ...
        "INSERT INTO worklog_daily VALUES ('A4', DATE '2025-01-04', 8, 1);",  # ... + 8 h on a Saturday = 1.0
        workdays_sql("E1", 4.8),  # 91.2 h = exactly 60%  -> 较饱和
        workdays_sql("E2", 7.2),  # 136.8 h = exactly 90% -> 饱和
        workdays_sql("E3", 8.8),  # 167.2 h = exactly 110% -> 饱和
        workdays_sql("E4", 8.8),  # 167.2 h + 0.1 h on Sunday 5th = 110.07% -> 超负荷
        "INSERT INTO worklog_daily VALUES ('E4', DATE '2025-01-05', 0.1, 1);",
        workdays_sql("E5", 4.8, 18),  # 86.4 h + 4.7 h = 91.1 h = 59.93% -> 不饱和
        "INSERT INTO worklog_daily VALUES ('E5', DATE '2025-01-27', 4.7, 1);",
        # C1: Thu 2nd (working), Sun 26th (调休上班, working), Tue 28th (春节, off), Sat 4th (off)
        """INSERT INTO worklog_daily VALUES ('C1', DATE '2025-01-02', 8, 1), ('C1', DATE '2025-01-26', 8, 2),
                                            ('C1', DATE '2025-01-28', 8, 1), ('C1', DATE '2025-01-04', 8, 1);""",
        "INSERT INTO worklog_daily VALUES ('F1', DATE '2025-02-05', 8, 1);",
        workdays_sql("A3", 4, month="2025-02"),  # February: 76 h of 152
        workdays_sql("Z1", 8), workdays_sql("T1", 8), workdays_sql("T2", 8), workdays_sql("T3", 8),
        """INSERT INTO monthly VALUES
            ('A1', DATE '2025-01-01', 10, 8, '饱满', NULL, 1), ('A2', DATE '2025-01-01', 5, 5, '一般', NULL, 1),
            ('A3', DATE '2025-01-01', 6, 6, '饱满', NULL, 1), ('M1', DATE '2025-01-01', 4, 1, '不饱满', NULL, 1),
            ('E3', DATE '2025-01-01', 3, 0, '不饱满', NULL, 1), ('E1', DATE '2025-01-01', 0, 0, '较饱满', NULL, 1);""",
        """INSERT INTO quarterly (person_id, period, year, quarter, score, grade, batch_id) VALUES
            ('A1', '2025Q1', 2025, 1, 90, '好', 1), ('A2', '2025Q1', 2025, 1, 85, '较好', 1),
            ('A3', '2025Q1', 2025, 1, 92, '好', 1), ('A4', '2025Q1', 2025, 1, 75, '一般', 1),
            ('E1', '2025Q1', 2025, 1, 84, '较好', 1), ('E2', '2025Q1', 2025, 1, NULL, '不确定等次', 1),
            ('T1', '2025Q1', 2025, 1, 91, '好', 1);""",
    ]
    for statement in sql:
        con.execute(statement)
    store.refresh_worklog_monthly(con)  # what the importer does after writing logs
    return con


def test_the_calendar_month_matches_a_hand_count(small):
    assert hand_count_workdays(2025, 1, holidays=[1, 28, 29, 30, 31], makeup=[26]) == JAN_WORKDAYS
    calendar, note = sat.calendar_note(small, [dt.date(2025, 1, 1)])
    assert calendar.to_dict("records") == [{"月份": "2025年1月", "工作日天数": JAN_WORKDAYS,
                                            "放假": "元旦 1月1日；春节 1月28日–1月31日", "调休上班": "1月26日（周日）"}]
    assert note == ""
    # 2025-10: National Day and 中秋 1st-8th off (6 weekdays), Saturday 11th worked: 23 - 6 + 1 = 18.
    assert hand_count_workdays(2025, 10, holidays=[1, 2, 3, 6, 7, 8], makeup=[11]) == 18
    october, _ = sat.calendar_note(small, [dt.date(2025, 10, 1)])
    assert october.to_dict("records") == [{"月份": "2025年10月", "工作日天数": 18,
                                           "放假": "国庆节、中秋 10月1日–10月8日", "调休上班": "10月11日（周六）"}]


def test_a_year_the_calendar_does_not_know_is_said_to_be_estimated(con):
    store.fill_calendar(con, 2024, 2040)  # the chinese_calendar package knows no holidays of 2040
    calendar, note = sat.calendar_note(con, [dt.date(2040, 3, 1)])
    assert calendar["工作日天数"].tolist() == [22]  # March 2040: starts on a Thursday, 22 weekdays
    assert note == "2040年的法定节假日安排尚未收录，工作日按周一至周五估算。"


def test_people_in_the_month_by_hand(small):
    view = sat.saturation(small, Filters(), JAN, min_group=5)
    got = view.people.set_index("person_id")
    expected = {  # person: (hours, saturation, band, coverage, off-day hours)
        "A1": (76, 0.5, "不饱和", 1, 0), "A2": (76, 0.5, "不饱和", 10 / 19, 0),
        "A3": (152, 1.0, "饱和", 1, 0), "A4": (152, 1.0, "饱和", 18 / 19, 8),
        "E1": (91.2, 0.6, "较饱和", 1, 0), "E2": (136.8, 0.9, "饱和", 1, 0),
        "E3": (167.2, 1.1, "饱和", 1, 0), "E4": (167.3, 167.3 / STD, "超负荷", 1, 0.1),
        "E5": (91.1, 91.1 / STD, "不饱和", 1, 0),
        "C1": (32, 32 / STD, "不饱和", 2 / 19, 16), "M1": (0, 0, "不饱和", 0, 0),
        "Z1": (152, 1.0, "饱和", 1, 0),
        "T1": (152, 1.0, "饱和", 1, 0), "T2": (152, 1.0, "饱和", 1, 0), "T3": (152, 1.0, "饱和", 1, 0),
    }
    assert sorted(got.index) == sorted(expected)
    for pid, (hours, saturation, band, coverage, offday) in expected.items():
        row = got.loc[pid]
        assert row["workdays"] == JAN_WORKDAYS and row["months"] == 1, pid
        assert row["hours"] == pytest.approx(hours), pid
        assert row["saturation"] == pytest.approx(saturation), pid
        assert row["band"] == band, pid
        assert row["coverage"] == pytest.approx(coverage), pid
        assert row["offday_hours"] == pytest.approx(offday), pid
    assert got.loc["Z1", "dept"] == sat.NO_DEPT
    # N1 has nothing in January and F1 only February: counted apart, not silently dropped
    assert view.absent == 2
    assert view.months == (dt.date(2025, 1, 1),)
    assert view.overall["bands"] == {"不饱和": 5, "较饱和": 1, "饱和": 8, "超负荷": 1}
    total_hours = sum(v[0] for v in expected.values())
    assert view.overall["saturation"] == pytest.approx(total_hours / (15 * STD))


@pytest.mark.parametrize("value, band", [
    (0.0, "不饱和"), (0.599999, "不饱和"), (0.6, "较饱和"), (0.899999, "较饱和"), (0.9, "饱和"),
    (1.1, "饱和"), (1.100001, "超负荷"), (2.0, "超负荷"), (None, None),
    # sums of floats land a hair off the edge; bands compare after rounding to 6 decimals
    (sum([4.8] * 19) / 152, "较饱和"), (sum([8.8] * 19) / 152, "饱和"), (0.59999999, "较饱和"),
])
def test_band_edges(value, band):
    assert duckdb.connect().execute(f"SELECT {sat.band_sql('x')} FROM (SELECT ?::DOUBLE AS x)", [value]).fetchall() == [(band,)]


def gini_by_mean_absolute_difference(values: list[float]) -> float:
    """G = sum_i sum_j |x_i - x_j| / (2 n^2 mean), the textbook definition."""
    x = np.asarray(values, dtype=float)
    return float(np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean()))


def test_gini_against_a_hand_computation(small):
    # [0.5, 0.5, 1.0, 1.0]: the 8 ordered pairs across the two levels differ by 0.5 -> sum 4;
    # 2 * n^2 * mean = 2 * 16 * 0.75 = 24 -> G = 4 / 24 = 1/6.
    assert gini_by_mean_absolute_difference([0.5, 0.5, 1.0, 1.0]) == pytest.approx(1 / 6)
    depts = sat.saturation(small, Filters(), JAN, min_group=4).depts.set_index(["unit", "dept"])
    assert depts.loc[("甲局", "办公室"), "gini"] == pytest.approx(1 / 6)
    edges = [91.2 / STD, 0.9, 1.1, 167.3 / STD, 91.1 / STD]
    assert depts.loc[("甲局", "执法队"), "gini"] == pytest.approx(gini_by_mean_absolute_difference(edges))
    assert depts.loc[("甲局", "办公室"), "uneven"] and not depts.loc[("甲局", "执法队"), "uneven"]
    # with the default minimum of 5 the office of 4 shows 样本过少 and no Gini
    default = sat.saturation(small, Filters(), JAN).depts.set_index(["unit", "dept"])
    assert default.loc[("甲局", "办公室"), "band"] == sat.SMALL
    assert pd.isna(default.loc[("甲局", "办公室"), "gini"]) and not default.loc[("甲局", "办公室"), "uneven"]


def test_groups_coverage_completion_and_small_groups(small):
    view = sat.saturation(small, Filters(), JAN, min_group=5)
    units = view.units.set_index("unit")
    # 甲局: 9 people, hours 76+76+152+152 + 91.2+136.8+167.2+167.3+91.1 = 1109.6 over 9 x 152
    assert units.loc["甲局", "n"] == 9
    assert units.loc["甲局", "saturation"] == pytest.approx(1109.6 / (9 * STD))
    assert units.loc["甲局", "band"] == "较饱和"  # 81.1%
    # coverage: logged working days 19+10+19+18 (办公室) + 19*5 (执法队; E5 missed no day) = 161 of 9 x 19
    assert units.loc["甲局", "coverage"] == pytest.approx(161 / (9 * 19))
    # completion: done 8+5+6+0+0 over planned 10+5+6+3+0
    assert units.loc["甲局", "completion"] == pytest.approx(19 / 24)
    assert (units.loc["甲局", "over_n"], units.loc["甲局", "under_n"]) == (1, 3)
    for small_unit, n in (("乙局", 3), ("丙局", 3)):
        assert units.loc[small_unit, "n"] == n and units.loc[small_unit, "band"] == sat.SMALL
        assert pd.isna(units.loc[small_unit, "saturation"]) and pd.isna(units.loc[small_unit, "coverage"])
    table = sat.group_table(view.units).set_index("单位")
    assert table.loc["丙局"].tolist()[1:] == [sat.SMALL] * 7
    assert table.loc["甲局", "饱和度"] == "81.1%"
    people = view.people.set_index("person_id")
    assert people.loc["A1", "completion"] == pytest.approx(0.8)
    assert pd.isna(people.loc["E1", "completion"])  # planned 0: no completion rather than 0/0
    assert pd.isna(people.loc["A4", "completion"])  # no monthly row
    assert people.loc["M1", "completion"] == pytest.approx(0.25)
    # overall: done 8+5+6+1+0+0 = 20 of planned 10+5+6+4+3+0 = 28
    assert view.overall["completion"] == pytest.approx(20 / 28)
    assert view.overall["coverage"] == pytest.approx((161 + 2 + 0 + 19 * 4) / (15 * 19))


def test_filters_and_the_period_view(small):
    only = sat.saturation(small, Filters(units=("丙局",)), JAN)
    assert sorted(only.people["person_id"]) == ["T1", "T2", "T3"] and only.absent == 0
    year = sat.saturation(small, Filters(years=(2025,)), None, min_group=5)
    people = year.people.set_index("person_id")
    # A3: January 152 h of 152, February 76 h of 152 (19 working days: 20 weekdays - 春节 3rd, 4th
    # + 调休 Saturday 8th) -> 228 / 304
    assert hand_count_workdays(2025, 2, holidays=[3, 4], makeup=[8]) == 19
    assert (people.loc["A3", "months"], people.loc["A3", "workdays"]) == (2, 38)
    assert people.loc["A3", "saturation"] == pytest.approx(0.75)
    # F1 logged only in February: only February counts for them
    assert (people.loc["F1", "months"], people.loc["F1", "saturation"]) == (1, pytest.approx(8 / 152))
    assert year.absent == 1 and year.scope == "2025年"
    assert year.months == (dt.date(2025, 1, 1), dt.date(2025, 2, 1))
    months, default = sat.available_months(small, Filters())
    assert months == [dt.date(2025, 2, 1), dt.date(2025, 1, 1)] and default == dt.date(2025, 2, 1)
    assert sat.available_months(small, Filters(periods=("2025Q2",))) == ([], None)
    trend = sat.trend(small, Filters(years=(2025,)))
    assert trend["people"].tolist() == [15, 2]
    assert trend["saturation"].iloc[1] == pytest.approx((76 + 8) / (2 * 152))


def test_filters_that_leave_nothing(small):
    nobody = Filters(districts=("北区",))
    assert sat.available_months(small, nobody) == ([], None)
    view = sat.saturation(small, nobody, JAN)
    assert view.people.empty and view.depts.empty and view.units.empty and view.absent == 0
    assert view.overall["saturation"] is None
    assert sat.headline(view) == "2025年1月没有日志或月度对账记录。"
    assert sat.agreement(small, nobody, JAN).pairs == 0
    assert sat.grade_link(small, nobody, JAN).by_grade.empty
    assert sat.top_findings(small, nobody) == []


def test_saturation_against_grade(small):
    link = sat.grade_link(small, Filters(), JAN, min_group=1)
    by_grade = link.by_grade.set_index("grade")
    # 2025Q1 (the quarter of January) pooled; 不确定等次 (E2) left out.
    # 好: A1 76/152, A3 (152+76)/304, T1 1.0; 较好: A2 0.5, E1 0.6; 一般: A4 1.0
    assert list(by_grade.index) == ["好", "较好", "一般"]
    assert by_grade.loc["好", "n"] == 3 and by_grade.loc["好", "mean"] == pytest.approx((0.5 + 0.75 + 1.0) / 3)
    assert by_grade.loc["较好", "mean"] == pytest.approx(0.55)
    assert by_grade.loc["好", "median"] == pytest.approx(0.75)
    by_band = link.by_band.set_index("band")
    # bands: A1 不饱和 好, A2 不饱和, E1 较饱和, A3 较饱和 (75%) 好, A4 饱和, T1 饱和 好
    assert by_band[["n", "good"]].to_dict("index") == {
        "不饱和": {"n": 2, "good": 1}, "较饱和": {"n": 2, "good": 1}, "饱和": {"n": 2, "good": 1}}
    assert sat.grade_link(small, Filters(), JAN, min_group=5).by_band["good_share"].isna().all()


def test_leader_rating_against_the_logs(small):
    agree = sat.agreement(small, Filters(), JAN)
    # rating and logged saturation: A1 饱满 0.5, A2 一般 0.5, A3 饱满 1.0, M1 不饱满 0, E3 不饱满 1.1, E1 较饱满 0.6
    pairs = pd.DataFrame({"level": [4, 2, 4, 1, 1, 3], "saturation": [0.5, 0.5, 1.0, 0.0, 1.1, 0.6]})
    assert agree.pairs == 6
    ranks = pairs.rank(method="average")  # Spearman = Pearson on average ranks
    assert agree.spearman == pytest.approx(np.corrcoef(ranks["level"], ranks["saturation"])[0, 1])
    assert agree.disagree[["person_id", "rating", "band"]].values.tolist() == [
        ["A1", "饱满", "不饱和"], ["E3", "不饱满", "饱和"]]
    assert agree.by_rating[["rating", "n"]].values.tolist() == [["不饱满", 2], ["一般", 1], ["较饱满", 1], ["饱满", 2]]
    # the crosstab in a fixed order: rating lowest first, then band lowest first (E3's 110% is 饱和)
    assert agree.crosstab[["rating", "band", "n"]].values.tolist() == [
        ["不饱满", "不饱和", 1], ["不饱满", "饱和", 1], ["一般", "不饱和", 1], ["较饱满", "较饱和", 1],
        ["饱满", "不饱和", 1], ["饱满", "饱和", 1]]


def test_report_by_hand(small):
    fn, description = REPORTS["saturation"]
    assert "--month" in description
    frame = fn(small, Filters(), ReportArgs(month=JAN))
    assert list(frame.columns) == ["person_id", "unit", "dept", "hours", "workdays", "saturation", "band"]
    got = [[r.person_id, r.unit, None if pd.isna(r.dept) else r.dept, round(r.hours, 6), r.workdays, round(r.saturation, 6), r.band]
           for r in frame.itertuples()]
    assert got == [
        ["T1", "丙局", "编研室", 152.0, 19, 1.0, "饱和"],
        ["T2", "丙局", "编研室", 152.0, 19, 1.0, "饱和"],
        ["T3", "丙局", "编研室", 152.0, 19, 1.0, "饱和"],
        ["C1", "乙局", "综合科", 32.0, 19, round(32 / STD, 6), "不饱和"],
        ["M1", "乙局", "综合科", 0.0, 19, 0.0, "不饱和"],
        ["Z1", "乙局", None, 152.0, 19, 1.0, "饱和"],
        ["A1", "甲局", "办公室", 76.0, 19, 0.5, "不饱和"],
        ["A2", "甲局", "办公室", 76.0, 19, 0.5, "不饱和"],
        ["A3", "甲局", "办公室", 152.0, 19, 1.0, "饱和"],
        ["A4", "甲局", "办公室", 152.0, 19, 1.0, "饱和"],
        ["E1", "甲局", "执法队", 91.2, 19, 0.6, "较饱和"],
        ["E2", "甲局", "执法队", 136.8, 19, 0.9, "饱和"],
        ["E3", "甲局", "执法队", 167.2, 19, 1.1, "饱和"],
        ["E4", "甲局", "执法队", 167.3, 19, round(167.3 / STD, 6), "超负荷"],
        ["E5", "甲局", "执法队", 91.1, 19, round(91.1 / STD, 6), "不饱和"],
    ]  # units and 处室 in code-point order (丙 < 乙 < 甲), a missing 处室 last
    # the month overrides the years of the filters; the population filters still apply
    assert fn(small, Filters(years=(2024,), units=("丙局",)), ReportArgs(month=JAN))["person_id"].tolist() == [
        "T1", "T2", "T3"]


@pytest.mark.parametrize("month", [None, "", "2025/01", "2025-13"])
def test_report_needs_a_month(small, month):
    fn, _ = REPORTS["saturation"]
    with pytest.raises(ReportError, match="月份|--month"):
        fn(small, Filters(), ReportArgs(month=month))


# --- the demo city ----------------------------------------------------------------------------------

def planted(kind: str) -> set[tuple[str, str]]:
    return {(d["unit"], d["dept"]) for d in PLANTED[kind]}


def test_demo_planted_departments_every_month(demo_con):
    cur = demo_con.cursor()
    months = sat.band_months(cur, Filters()).set_index(["unit", "dept"])
    total = int(months["months"].max())
    assert total == 36  # 2023-01 .. 2025-12
    over, under = planted("overloaded_depts"), planted("underloaded_depts")
    for key in over:
        assert months.loc[key, "超负荷"] == months.loc[key, "months"] == total, key
    for key in under:
        assert months.loc[key, "不饱和"] == months.loc[key, "months"] == total, key
    # Bound: no unplanted 处室 is 超负荷 or 不饱和 in more than 1 of the 36 months (found: 0).
    others = months.drop(index=list(over | under))
    assert others["超负荷"].max() <= 1 and others["不饱和"].max() <= 1
    assert others["超负荷"].sum() + others["不饱和"].sum() == 0


def test_demo_latest_month_view_findings_and_report(demo_con):
    cur = demo_con.cursor()
    months, latest = sat.available_months(cur, Filters())
    assert latest == dt.date(2025, 12, 1) and len(months) == 36
    view = sat.saturation(cur, Filters(), latest)
    depts = view.depts.set_index(["unit", "dept"])
    over, under = planted("overloaded_depts"), planted("underloaded_depts")
    assert set(depts.index[depts["band"] == "超负荷"]) == over
    assert set(depts.index[depts["band"] == "不饱和"]) == under
    # coverage follows the planted share of working days logged (0.995 and 0.92, within 4 points)
    for kind in ("overloaded_depts", "underloaded_depts"):
        for d in PLANTED[kind]:
            assert abs(depts.loc[(d["unit"], d["dept"]), "raw_coverage"] - d["coverage"]) < 0.04
    # the demo plants no imbalance inside a 处室: nobody is flagged 分配不均 (bound: 0)
    assert not depts["uneven"].any() and depts["gini"].max() < 0.1
    findings = sat.top_findings(cur, Filters())
    assert [f.count for f in findings[:2]] == [2, 2]
    assert "超负荷" in findings[0].title and "不饱和" in findings[1].title
    for unit, dept in over:
        assert f"{unit}{dept}" in findings[0].detail
    frame = REPORTS["saturation"][0](cur, Filters(), ReportArgs(month="2025-12"))
    assert list(frame.columns) == sat.REPORT_KEYS and len(frame) == view.overall["people"]
    assert frame["workdays"].unique().tolist() == [23]
    members = frame[[(u, d) in over for u, d in zip(frame["unit"], frame["dept"], strict=True)]]
    assert (members["band"] == "超负荷").mean() >= 0.8


def test_demo_leader_rating_follows_the_logs(demo_con):
    agree = sat.agreement(demo_con.cursor(), Filters(years=(2025,)))
    assert agree.pairs > 15_000 and agree.spearman > 0.7 and agree.disagree.empty
    means = agree.by_rating.set_index("rating")["mean"]
    assert list(means.index) == list(sat.RATING_ORDER) and means.is_monotonic_increasing


# --- the page -------------------------------------------------------------------------------------


def test_page_renders_on_demo_data(demo_app):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/saturation.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "工作饱和度"
    headline = at.markdown[0].value
    assert "2025年12月" in headline and "2 个处室超负荷" in headline and "2 个处室不饱和" in headline
    assert at.selectbox(key="sat_month").value == "2025-12"
    assert len(at.get("plotly_chart")) >= 7
    assert any(e.label == "指标说明" for e in at.expander)
    at.selectbox(key="sat_month").set_value("2025-10").run()
    assert not at.exception
    assert any("10月11日（周六）" in m.value and "国庆节" in m.value for m in at.markdown)
    at.radio(key="sat_mode").set_value("所选期间").run()
    assert not at.exception, [e.value for e in at.exception]
    assert "2023年1月至2025年12月" in at.markdown[0].value


def test_page_with_filters_that_leave_nothing(demo_app, demo_con):
    district, sector = empty_combination(demo_con.cursor())
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    # the sidebar's filters are bound to the URL, so a deep link sets them
    at.query_params["district"] = district
    at.query_params["sector"] = sector
    at.run()
    at.switch_page("pages/saturation.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["global_filters"] == Filters(districts=(district,), sectors=(sector,))
    assert any("没有数据" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_wilson_interval_by_hand():
    # 2 of 12: centre (p + z²/2n)/(1 + z²/n) = 0.2475, half-width 0.2005 -> 4.7%–44.8% (z = 1.96)
    low, high = sat.wilson(pd.Series([2, 0, 5]), pd.Series([12, 10, 0]))
    assert (round(low[0], 4), round(high[0], 4)) == (0.0470, 0.4480)
    # 0 of 10: the lower end is 0, the upper z²/(n + z²) = 0.2775
    assert low[1] == pytest.approx(0) and high[1] == pytest.approx(3.8415 / 13.8415, abs=1e-4)
    assert pd.isna(low[2]) and pd.isna(high[2])
