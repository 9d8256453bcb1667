"""分数分布: spread statistics and flattened scoring against hand computations, the planted
patterns of the demo city, and the page under AppTest."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from apptools import empty_combination
from streamlit.testing.v1 import AppTest

from analytics import distribution as dist
from analytics.demo import PLANTED
from analytics.filters import Filters
from analytics.registry import REPORTS, ReportArgs, ReportError

ROOT = Path(__file__).resolve().parent.parent

# Scores per unit and quarter (None = 不确定等次, no score). 乙局 is a unit of 3; 丙局 scores everyone
# alike; P0 has no unit and must be left out of every unit statistic.
SCORES = {
    "2025Q1": {
        "甲局": [90, 85, 80, 95, 88, None],
        "乙局": [70, 75, 80],
        "丙局": [90, 90, 91, 91, 90],
        "丁局": [80, 82, 84, 86, 88, 90],
    },
    "2025Q2": {
        "甲局": [90, 85, 80, 95, 88, 96],
        "乙局": [70, 70, 70],
        "丙局": [90, 90.5, 91, 90.5, 90],
        "丁局": [80, 82, 84, 86, 88, 90],
    },
}
SECTORS = {"甲局": "公安", "乙局": "法院", "丙局": "法院", "丁局": "公安"}


@pytest.fixture
def small(con):
    for unit, sector in SECTORS.items():
        con.execute("INSERT INTO units VALUES (?, '东区', '市直', ?, false, NULL, false, 1)", [unit, sector])
    people = {unit: len(SCORES["2025Q2"][unit]) for unit in SECTORS}
    for unit, size in people.items():
        for i in range(size):
            con.execute("INSERT INTO people VALUES (?, ?, ?, NULL, '办公室', '综合管理类', NULL, ?, false, 1)",
                        [f"{unit}{i}", f"{unit}{i}", unit, i == 0])
    con.execute("INSERT INTO people VALUES ('P0', '无单位', NULL, NULL, NULL, NULL, NULL, false, false, 1)")
    for period, units in SCORES.items():
        for unit, scores in units.items():
            for i, score in enumerate(scores):
                grade = "不确定等次" if score is None else ("好" if score >= 90 else "较好")
                con.execute("INSERT INTO quarterly (person_id, period, year, quarter, score, grade, batch_id) "
                            "VALUES (?, ?, 2025, ?, ?, ?, 1)", [f"{unit}{i}", period, int(period[-1]), score, grade])
        con.execute("INSERT INTO quarterly (person_id, period, year, quarter, score, grade, batch_id) "
                    "VALUES ('P0', ?, 2025, ?, 99, '好', 1)", [period, int(period[-1])])
    return con


# Worked out by hand (sample SD with n − 1; IQR from linearly interpolated quartiles):
# 2025Q1 甲局 80 85 88 90 95 (不确定等次 left out): mean 87.6, SD sqrt(125.2/4), Q1 85, Q3 90, one of 5 ≥ 95.
# 2025Q1 乙局 70 75 80: SD 5, IQR 77.5 − 72.5 = 5. 丙局 90 90 90 91 91: SD sqrt(1.2/4), 2 distinct values.
# 丁局 80..90 step 2: SD sqrt(70/5), Q1 82.5, Q3 87.5. Median SD of Q1 = (sqrt(14) + 5)/2 = 4.3708; half 2.185.
# 2025Q2 甲局 80 85 88 90 95 96: mean 89, SD sqrt(184/5), median 89, Q1 85.75, Q3 93.75, 2 of 6 ≥ 95.
# 2025Q2 乙局 70 70 70: SD 0 but only 3 people, so not flagged. 丙局 90 90 90.5 90.5 91: SD sqrt(0.7/4),
# 3 distinct values; median SD of Q2 = (sqrt(0.175) + sqrt(14))/2 = 2.0800, half 1.04 > 0.418: flagged by SD.
MED1 = (math.sqrt(14) + 5) / 2
MED2 = (math.sqrt(0.175) + math.sqrt(14)) / 2
EXPECTED = pd.DataFrame([
    ("丁局", "2025Q1", 6, 85.0, 85.0, math.sqrt(14), 5.0, 0.0, 6, MED1, False),
    ("丁局", "2025Q2", 6, 85.0, 85.0, math.sqrt(14), 5.0, 0.0, 6, MED2, False),
    ("丙局", "2025Q1", 5, 90.4, 90.0, math.sqrt(0.3), 1.0, 0.0, 2, MED1, True),
    ("丙局", "2025Q2", 5, 90.4, 90.5, math.sqrt(0.175), 0.5, 0.0, 3, MED2, True),
    ("乙局", "2025Q1", 3, 75.0, 75.0, 5.0, 5.0, 0.0, 3, MED1, False),
    ("乙局", "2025Q2", 3, 70.0, 70.0, 0.0, 0.0, 0.0, 1, MED2, False),
    ("甲局", "2025Q1", 5, 87.6, 88.0, math.sqrt(31.3), 5.0, 0.2, 5, MED1, False),
    ("甲局", "2025Q2", 6, 89.0, 89.0, math.sqrt(36.8), 8.0, 2 / 6, 6, MED2, False),
], columns=dist.REPORT_COLUMNS)


def test_unit_quarter_spread_matches_hand_computation(small):
    got = dist.unit_quarter_spread(small, Filters())
    got = got.sort_values(["unit", "period"], key=lambda s: s.map(str)).reset_index(drop=True)
    want = EXPECTED.sort_values(["unit", "period"], key=lambda s: s.map(str)).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[dist.REPORT_COLUMNS], want, check_dtype=False, atol=1e-9)


def test_flattened_rule_needs_enough_people_and_benchmarks_against_every_unit(small):
    # Only 丙局 and 乙局 selected: the benchmark is still the median over all four units (MED2), so a
    # unit's flag does not change with the unit filters; 乙局 (3 people, SD 0) is not flagged.
    got = dist.unit_quarter_spread(small, Filters(units=("乙局", "丙局"), periods=("2025Q2",)))
    assert dict(zip(got["unit"], got["flattened_flag"], strict=True)) == {"乙局": False, "丙局": True}
    assert got["period_median_sd"].tolist() == pytest.approx([MED2, MED2])
    # person-level filters do change the benchmark: staff only (leaders are member 0 of each unit).
    # Q2 staff SDs: 甲局 85 80 95 88 96, 乙局 70 70, 丙局 90.5 91 90.5 90, 丁局 82 84 86 88 90.
    staff = dist.unit_quarter_spread(small, Filters(periods=("2025Q2",), role="staff")).set_index("unit")
    sds = [np.std(v, ddof=1) for v in ([85, 80, 95, 88, 96], [70, 70], [90.5, 91, 90.5, 90], [82, 84, 86, 88, 90])]
    assert staff["period_median_sd"].iloc[0] == pytest.approx(np.median(sds))
    assert staff.loc["丙局", "people"] == 4 and not staff.loc["丙局", "flattened_flag"]  # fewer than 5
    # with a minimum group of 3, the unit of 3 scoring everyone 70 counts as flattened
    got = dist.unit_quarter_spread(small, Filters(periods=("2025Q2",)), min_group=3)
    assert dict(zip(got["unit"], got["flattened_flag"], strict=True)) == {
        "丁局": False, "丙局": True, "乙局": True, "甲局": False}


def test_group_stats_and_histogram_against_numpy(small):
    groups = dist.group_stats(small, Filters(), "sector").set_index("group")
    police = [s for p in SCORES.values() for u in ("甲局", "丁局") for s in p[u] if s is not None]
    court = [s for p in SCORES.values() for u in ("乙局", "丙局") for s in p[u] if s is not None]
    for name, scores, people in (("公安", police, 12), ("法院", court, 8)):
        row = groups.loc[name]
        a = np.array(scores, float)
        q1, q3 = np.percentile(a, [25, 75])
        assert (row["people"], row["scores"]) == (people, len(a))
        assert row["mean"] == pytest.approx(a.mean())
        assert row["median"] == pytest.approx(np.median(a))
        assert row["sd"] == pytest.approx(a.std(ddof=1))
        assert (row["q1"], row["q3"], row["iqr"]) == pytest.approx((q1, q3, q3 - q1))
        assert row["low"] == a[a >= q1 - 1.5 * (q3 - q1)].min()
        assert row["high"] == a[a <= q3 + 1.5 * (q3 - q1)].max()
        assert row["share_95"] == pytest.approx((a >= 95).mean())
        assert row["distinct_scores"] == len(set(scores))

    roles = dist.group_stats(small, Filters(), "role").set_index("group")
    assert roles.loc["领导", "people"] == 4 and roles.loc["工作人员", "people"] == 17  # P0 included: no unit needed

    hist = dist.score_histogram(small, Filters(periods=("2025Q2",)), "unit")
    jia = hist[hist["group"] == "甲局"].set_index(["bin_start", "grade"])["count"].to_dict()
    assert jia == {(80.0, "较好"): 1, (85.0, "较好"): 1, (88.0, "较好"): 1, (90.0, "好"): 1, (95.0, "好"): 1,
                   (96.0, "好"): 1}
    everyone = hist[hist["group"] == "全部"]
    assert everyone["count"].sum() == 20 + 1  # every Q2 score, P0 (no unit) included in 全部
    assert dist.histogram_table(hist, "甲局", 1.0)["合计"].sum() == 6


def test_tables_hide_small_groups(small):
    result = dist.score_distribution(small, Filters(), "unit")
    table = dist.quarters_table(result.quarters).set_index(["单位", "考核周期"])
    assert table.loc[("乙局", "2025Q1"), "平均分"] == dist.SMALL
    assert table.loc[("乙局", "2025Q1"), "平均化打分"] == "样本过少"
    assert table.loc[("甲局", "2025Q2"), "95分及以上占比"] == "33.3%"
    assert table.loc[("丙局", "2025Q2"), "平均化打分"] == "是"
    assert dist.units_table(result.units)["单位"].tolist() == ["丙局", "丁局", "甲局", "乙局"]  # flattened first, small last
    units = dist.units_table(result.units).set_index("单位")
    assert units.loc["乙局", "季内标准差（平均）"] == dist.SMALL
    assert units.loc["丙局", "平均化打分季度数"] == 2
    assert units.loc["甲局", "平均分"] == f"{(87.6 * 5 + 89 * 6) / 11:.1f}"
    groups = dist.groups_table(result.groups, "unit").set_index("单位")
    assert groups.loc["乙局", "标准差"] == dist.SMALL
    assert "乙局" not in set(dist.box_figure(result.groups, "unit").data[0].y)
    assert "丙局" in dist.flattened_sentence(result)


def test_report_keys_periods_and_small_groups(small):
    assert "distribution" in REPORTS
    frame = dist.distribution_report(small, Filters(), ReportArgs(period="2025Q2"))
    assert list(frame.columns) == dist.REPORT_COLUMNS
    assert set(frame["period"]) == {"2025Q2"}
    records = {r["unit"]: r for r in frame.to_dict("records")}
    assert records["乙局"]["people"] == 3 and records["乙局"]["sd_score"] is None
    assert records["丙局"]["flattened_flag"] is True and records["甲局"]["flattened_flag"] is False
    assert records["甲局"]["mean_score"] == pytest.approx(89.0)
    assert len(dist.distribution_report(small, Filters(), ReportArgs(year=2025))) == 8
    assert len(dist.distribution_report(small, Filters(), ReportArgs(year=2024))) == 0
    with pytest.raises(ReportError):
        dist.distribution_report(small, Filters(), ReportArgs(period="2025年一季度"))


def test_empty_selection(small):
    result = dist.score_distribution(small, Filters(districts=("北区",)), "sector")
    assert result.empty and result.units.empty and result.groups.empty
    assert dist.top_findings(small, Filters(districts=("北区",))) == []
    assert dist.flattened_sentence(result) == "当前筛选条件下没有分数数据。"


# --- demo city -----------------------------------------------------------------------------------

def test_demo_flattened_units_are_the_planted_ones(demo_con):
    quarters = dist.unit_quarter_spread(demo_con, Filters())
    flat = quarters[quarters["flattened_flag"]]
    periods = PLANTED["periods"]
    by_unit = flat.groupby("unit")["period"].apply(sorted).to_dict()
    # (a) inflated_flat_units and (g) control units: flattened every quarter
    for unit in PLANTED["inflated_flat_units"] + PLANTED["control_units"]:
        assert by_unit.get(unit) == periods, unit
    # (g) pilots: flattened before joining (2024Q1) only
    before = [p for p in periods if p < PLANTED["pilot_since"]]
    for unit in PLANTED["pilot_units"]:
        assert by_unit.get(unit) == before, unit
    # Nothing else is planted. The rule is a fixed threshold, not a test with a nominal error rate;
    # a clean unit's SD (about 4) rarely falls below half the median (about 2). Bound: at most 2
    # unplanted unit-quarters (found: 0).
    planted = set(PLANTED["inflated_flat_units"] + PLANTED["control_units"] + PLANTED["pilot_units"])
    unplanted = flat[~flat["unit"].isin(planted)]
    assert len(unplanted) <= 2, unplanted
    findings = dist.top_findings(demo_con, Filters())
    assert findings and findings[0].count == len(planted) + len({u for u in unplanted["unit"]})


def test_demo_planted_flat_units_score_in_their_range(demo_con):
    lo, hi = PLANTED["flat_score_range"]
    result = dist.score_distribution(demo_con, Filters(units=tuple(PLANTED["inflated_flat_units"])), "unit")
    groups = result.groups.set_index("group")
    assert (groups["min"] >= lo).all() and (groups["max"] <= hi).all()
    assert (result.units["flattened_quarters"] == len(PLANTED["periods"])).all()


# --- the page ------------------------------------------------------------------------------------


def test_page_renders_on_demo_data_and_when_empty(demo_app, demo_con):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/distribution.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "分数分布"
    headline = at.markdown[0].value
    assert "平均化打分" in headline and PLANTED["inflated_flat_units"][0] in headline
    assert len(at.get("plotly_chart")) == 3
    assert any(e.label == "指标说明" for e in at.expander)

    at.selectbox(key="dist-grouping").set_value("系统")
    at.run()
    assert not at.exception
    at.selectbox(key="dist-hist-group-sector").set_value("公安")
    at.run()
    assert not at.exception
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert "分数直方图：公安" in titles and "各系统分数箱线图" in titles
    at.selectbox(key="dist-unit").set_value(PLANTED["inflated_flat_units"][0])
    at.run()
    assert not at.exception

    district, sector = empty_combination(demo_con)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    # the sidebar filters are bound to the URL; under AppTest a switch_page keeps the URL's values
    # but not values set on the sidebar widgets, so the filters go in as query parameters
    at.query_params["district"] = [district]
    at.query_params["sector"] = [sector]
    at.run()
    at.switch_page("pages/distribution.py")
    at.run()
    assert not at.exception
    assert any("没有数据" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_box_chart_of_many_groups_draws_the_narrowest_and_widest_and_counts_the_rest():
    iqr = {"甲": 1.0, "乙": 9.0, "丙": 2.0, "丁": 8.0, "戊": 5.0, "己": 0.5, "庚": 7.0, "小": 0.1}
    groups = pd.DataFrame({"group": list(iqr), "people": [10] * 7 + [2], "q1": 80.0,
                           "q3": [80.0 + v for v in iqr.values()], "median": 85.0, "mean": 85.0,
                           "low": 70.0, "high": 99.0})
    shown, left_out = dist.box_groups(groups, min_group=5, limit=4)
    # 小 is too small to draw at all; of the other 7: narrowest 己 (0.5), 甲 (1); widest 乙 (9), 丁 (8).
    assert list(shown["group"]) == ["甲", "乙", "丁", "己"] and left_out == 3
    every, none_left = dist.box_groups(groups, min_group=5, limit=7)
    assert len(every) == 7 and none_left == 0
    fig = dist.box_figure(groups, "unit", min_group=5, limit=4)
    assert list(fig.data[0].y) == ["甲", "乙", "丁", "己"] and "另有 3 个见下表" in fig.layout.title.text


def test_sd_chart_of_a_city_is_drawn_with_webgl():
    def quarters(n):
        return pd.DataFrame({"unit": [f"U{i}" for i in range(n)], "period": "2025Q1", "people": 8,
                             "sd_score": 3.0, "distinct_scores": 5, "flattened_flag": [i % 50 == 0 for i in range(n)],
                             "period_median_sd": 4.0})
    assert {type(t).__name__ for t in dist.sd_figure(quarters(100)).data} == {"Scatter"}
    big = dist.sd_figure(quarters(dist.SCATTER_GL_POINTS + 1))
    assert [type(t).__name__ for t in big.data] == ["Scattergl", "Scattergl", "Scatter"]  # the line stays SVG
    assert len(big.data[0].x) + len(big.data[1].x) == dist.SCATTER_GL_POINTS + 1
