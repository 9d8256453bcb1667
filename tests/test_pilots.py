"""联系点对比: unit-quarter metrics, the stacked difference in differences and its cluster bootstrap
on hand-made fixtures, the planted pilots of the demo, the report, and the page under AppTest."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics import pilots, store
from analytics.demo import PLANTED
from analytics.filters import Filters
from analytics.registry import REPORTS, ReportArgs, ReportError

ROOT = Path(__file__).resolve().parent.parent
R = math.sqrt(2.5)  # five scores m-2d, m-d, m, m+d, m+2d have sample SD d * sqrt(2.5)
PERIODS = ("2023Q4", "2024Q1", "2024Q2", "2024Q3")

# Four units of 5 people (plus 戊局 with 3, everyone 好), quarters 2023Q4..2024Q3.
# Per unit and quarter: d (score spread), g (number of 好: the top 1 or 2), l (number of 一般: the lowest).
#   甲局 pilot since 2024Q1: d 1 | 3 3 3    g 2 | 1 1 1   l 0 | 1 1 1
#   乙局 pilot since 2024Q2: d 1 1 | 2 2    g 2 2 | 1 1   l 0 0 | 1 1
#   丙局 not a pilot:        d 2 2 2 2      g 2 always    l 0
#   丁局 not a pilot:        d 1 2 2 2      g 2 always    l 0
# 甲局 also has a sixth person who is 不确定等次 in 2024Q1 (left out of every rate).
DESIGN = {
    "甲局": ([1, 3, 3, 3], [2, 1, 1, 1], [0, 1, 1, 1]),
    "乙局": ([1, 1, 2, 2], [2, 2, 1, 1], [0, 0, 1, 1]),
    "丙局": ([2, 2, 2, 2], [2, 2, 2, 2], [0, 0, 0, 0]),
    "丁局": ([1, 2, 2, 2], [2, 2, 2, 2], [0, 0, 0, 0]),
}
# Score SD DiD by hand, in units of sqrt(2.5):
#   cohort 2024Q1: 甲 1 -> 3 (+2); 丙 2 -> 2 (0), 丁 1 -> 2 (+1): others +0.5; DiD 1.5
#   cohort 2024Q2: 乙 1 -> 2 (+1); 丙 2 -> 2 (0), 丁 mean(1, 2) = 1.5 -> 2 (+0.5): others +0.25; DiD 0.75
#   one pilot per cohort: weights 1/2, 1/2 -> DiD 1.125
#   pilot before (1 + 1)/2 = 1, after (3 + 2)/2 = 2.5; others before ((2+1)/2 + (2+1.5)/2)/2 = 1.625, after 2
# Bootstrap: each cohort has one pilot (always drawn); the two never-pilots are drawn with replacement:
#   丙丙 -> others (0, 0) -> DiD (2 + 1)/2 = 1.5; 丁丁 -> (1, 0.5) -> (1 + 0.5)/2 = 0.75; 丙丁 -> 1.125
#   so the replicates take 0.75, 1.125, 1.5 with chances 1/4, 1/2, 1/4 and the 95 % percentile
#   interval is exactly [0.75, 1.5] (each end has about 250 of the 1,000 replicates).
# 好 share: pilots 0.4 -> 0.2, others 0.4 -> 0.4: DiD -0.2 and every replicate -0.2.
# 一般 share: pilots 0 -> 0.2, others 0 -> 0: DiD +0.2.


def quarterly_rows() -> list[tuple]:
    rows = []
    for unit, (ds, gs, ls) in DESIGN.items():
        for t, period in enumerate(PERIODS):
            for i in range(5):
                score = 85 + ds[t] * (i - 2)
                grade = "好" if i >= 5 - gs[t] else "一般" if i < ls[t] else "较好"
                rows.append((f"{unit}{i}", period, score, grade))
    rows.append(("甲局5", "2024Q1", None, "不确定等次"))
    for period in PERIODS:
        rows += [(f"戊局{i}", period, 90 + i, "好") for i in range(3)]
    return rows


@pytest.fixture
def four(con):
    units = "('甲局', '东区', '市直', '司法', true, '2024Q1', false, 1), ('乙局', '西区', '市直', '卫健', true, '2024Q2', false, 1), " \
            "('丙局', '东区', '市直', '司法', false, NULL, false, 1), ('丁局', '西区', '市直', '卫健', false, NULL, false, 1), " \
            "('戊局', '东区', '市直', '史志', false, NULL, false, 1)"
    people = [(f"{u}{i}", u) for u in DESIGN for i in range(5)] + [("甲局5", "甲局")] + [(f"戊局{i}", "戊局") for i in range(3)]
    people_sql = ", ".join(f"('{p}', '{p}', '{u}', NULL, NULL, NULL, NULL, false, false, 1)" for p, u in people)
    q_sql = ", ".join(
        f"('{p}', '{q}', {q[:4]}, {q[-1]}, {'NULL' if s is None else s}, '{g}', 1)" for p, q, s, g in quarterly_rows())
    con.execute(f"""
        INSERT INTO units VALUES {units};
        INSERT INTO people VALUES {people_sql};
        INSERT INTO quarterly (person_id, period, year, quarter, score, grade, batch_id) VALUES {q_sql};
    """)
    return con


def test_unit_quarter_metrics(four):
    uq = pilots.unit_quarters(four, Filters()).set_index(["unit", "period"])
    row = uq.loc[("甲局", "2024Q1")]
    assert row["n_rated"] == 5  # 不确定等次 left out
    assert row["score_sd"] == pytest.approx(3 * R)
    assert (row["good_share"], row["low_share"]) == (pytest.approx(0.2), pytest.approx(0.2))
    assert row["is_pilot"] and row["pilot_since"] == "2024Q1"
    assert math.isnan(row["log_coverage"]) and math.isnan(row["saturation"])  # no logs at all
    small = uq.loc[("戊局", "2024Q1")]  # 3 people, everyone 好: 样本过少
    assert small["small_rated"] and math.isnan(small["good_share"]) and math.isnan(small["score_sd"])
    sds = pilots.unit_quarters(four, Filters()).pivot(index="unit", columns="period", values="score_sd")
    expected = pd.DataFrame({u: [d * R for d in ds] for u, (ds, _, _) in DESIGN.items()}, index=list(PERIODS)).T
    pd.testing.assert_frame_equal(sds.loc[list(DESIGN)], expected, check_names=False, atol=1e-9)


def test_did_by_hand(four):
    result = pilots.analyse(four, Filters())
    t = result.did.table.set_index("metric")
    sd = t.loc["score_sd"]
    assert sd["pilot_before"] == pytest.approx(1 * R) and sd["pilot_after"] == pytest.approx(2.5 * R)
    assert sd["other_before"] == pytest.approx(1.625 * R) and sd["other_after"] == pytest.approx(2 * R)
    assert sd["did"] == pytest.approx(1.125 * R)
    assert (sd["ci_low"], sd["ci_high"]) == (pytest.approx(0.75 * R), pytest.approx(1.5 * R))
    assert sd["ci_low"] <= sd["did"] <= sd["ci_high"]
    assert (sd["pilot_units"], sd["other_units"]) == (2, 2)  # 戊局 is too small to count
    good = t.loc["good_share"]
    assert good[["pilot_before", "pilot_after", "other_before", "other_after", "did", "ci_low", "ci_high"]].tolist() \
        == pytest.approx([0.4, 0.2, 0.4, 0.4, -0.2, -0.2, -0.2])
    assert t.loc["low_share", "did"] == pytest.approx(0.2)
    for metric in ("log_coverage", "saturation"):
        assert pd.isna(t.loc[metric, "did"]) and t.loc[metric, "pilot_units"] == 0
    assert result.did.cohorts == ["2024Q1", "2024Q2"]
    each = result.did.per_pilot.query("metric == 'score_sd'").set_index("unit")
    assert each.loc["甲局", "change"] == pytest.approx(2 * R) and each.loc["乙局", "join"] == "2024Q2"


def test_group_series(four):
    s = pilots.analyse(four, Filters()).series.set_index(["period", "group"])
    assert s.loc[("2024Q2", "联系点单位"), "score_sd"] == pytest.approx((3 + 2) / 2 * R)
    assert s.loc[("2023Q4", "其他单位"), "score_sd"] == pytest.approx((2 + 1) / 2 * R)  # 戊局 too small
    assert s.loc[("2023Q4", "其他单位"), "units"] == 3


def test_bootstrap_reproducible_with_the_seed(four):
    a = pilots.analyse(four, Filters()).did.table
    b = pilots.analyse(four, Filters()).did.table
    pd.testing.assert_frame_equal(a, b)


def test_did_edge_cases():
    # a pilot without a join quarter and a pilot with no quarter before it joined drop out of the DiD
    rows = []
    for unit, pilot, since in (("A", True, "2024Q1"), ("B", True, None), ("C", True, "2023Q1"),
                               ("D", False, None), ("E", False, None)):
        for period, value in zip(("2023Q1", "2023Q2", "2024Q1", "2024Q2"), (1.0, 1.0, 2.0, 2.0), strict=True):
            bump = 1.0 if unit == "A" and period >= "2024Q1" else 0.0
            rows.append({"unit": unit, "period": period, "is_pilot": pilot, "pilot_since": since,
                         **{m: value + bump for m in pilots.METRICS}})
    result = pilots.did(pd.DataFrame(rows), reps=200, seed=1)
    assert result.pilot_units == ["A", "C"] and result.cohorts == ["2023Q1", "2024Q1"]
    t = result.table.set_index("metric")
    assert t.loc["score_sd", "did"] == pytest.approx(1.0)  # A: +2 against D, E: +1
    assert t.loc["score_sd", "pilot_units"] == 1  # C has no quarter before 2023Q1
    assert t.loc["score_sd", "ci_low"] == pytest.approx(1.0) and t.loc["score_sd", "ci_high"] == pytest.approx(1.0)


def test_log_coverage_and_saturation(con):
    # 2025-01-02 (Thu) and 01-03 (Fri) are working days, 01-04/05 a weekend. The logs span 01-02..01-05,
    # so each expected person has 2 working days. Expected: L1..L5 (rated), not L6 (不确定等次),
    # and L7 (no quarterly row, but logged). Logged working days 2 (L1) + 1 (L2) + 1 (L7) = 4 of
    # 6 x 2 = 12: coverage 1/3. Hours 8 + 6 + 2 (Sunday, counted) + 4 + 8 = 28 of 12 x 8: 0.2917.
    people = ", ".join(f"('L{i}', NULL, '己局', NULL, NULL, NULL, NULL, false, false, 1)" for i in range(1, 8))
    rated = ", ".join(f"('L{i}', '2025Q1', 2025, 1, 85, '较好', 1)" for i in range(1, 6))
    con.execute(f"""
        INSERT INTO units VALUES ('己局', '东区', '市直', '司法', false, NULL, false, 1);
        INSERT INTO people VALUES {people};
        INSERT INTO quarterly (person_id, period, year, quarter, score, grade, batch_id) VALUES
            {rated}, ('L6', '2025Q1', 2025, 1, NULL, '不确定等次', 1);
        INSERT INTO worklog_daily VALUES ('L1', DATE '2025-01-02', 8, 1), ('L1', DATE '2025-01-03', 6, 2),
            ('L1', DATE '2025-01-05', 2, 1), ('L2', DATE '2025-01-02', 4, 1), ('L7', DATE '2025-01-03', 8, 1);
    """)
    store.refresh_worklog_monthly(con)  # what the importer does after writing logs
    row = pilots.unit_quarters(con, Filters()).set_index(["unit", "period"]).loc[("己局", "2025Q1")]
    assert (row["n_expected"], row["n_logging"], row["n_rated"]) == (6, 3, 5)
    assert row["log_coverage"] == pytest.approx(4 / 12)
    assert row["saturation"] == pytest.approx(28 / 96)
    assert pilots.unit_quarters(con, Filters(), min_group=7).loc[0, "log_coverage"] != pytest.approx(4 / 12)


def test_filters_that_leave_nothing_and_one_sided_filters(four):
    empty = pilots.analyse(four, Filters(districts=("北区",)))
    assert empty.empty and empty.did.table["did"].isna().all()
    only_pilots = pilots.analyse(four, Filters(pilot="pilot"))
    assert "没有非联系点单位" in pilots.headline(only_pilots)
    no_pilots = pilots.analyse(four, Filters(pilot="other"))
    assert "没有带加入季度的联系点单位" in pilots.headline(no_pilots)
    report = REPORTS["pilots"][0](four, Filters(districts=("北区",)), ReportArgs())
    assert report["did"].isna().all() and len(report) == 5


def test_report_keys(four):
    fn, description = REPORTS["pilots"]
    out = fn(four, Filters(), ReportArgs())
    assert list(out.columns) == ["metric", "label", "pilot_before", "pilot_after", "other_before", "other_after",
                                 "did", "ci_low", "ci_high", "pilot_units", "other_units"]
    records = {r["metric"]: r for r in json.loads(out.to_json(orient="records", force_ascii=False))}
    assert list(records) == ["score_sd", "good_share", "low_share", "log_coverage", "saturation"]
    assert records["good_share"]["did"] == pytest.approx(-0.2) and records["saturation"]["did"] is None
    assert records["score_sd"]["pilot_units"] == 2
    with pytest.raises(ReportError):
        fn(four, Filters(), ReportArgs(period="24Q1"))
    assert "双重差分" in description


# --- the demo ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_result(demo_con):
    return pilots.analyse(demo_con.cursor(), Filters())


def test_demo_planted_pilots(demo_result):
    d = demo_result.did
    assert d.pilot_units == sorted(PLANTED["pilot_units"]) and d.cohorts == [PLANTED["pilot_since"]]
    t = d.table.set_index("metric")
    sd, good = t.loc["score_sd"], t.loc["good_share"]
    # planted: pilots go from SD about 1.5 to about 4 and from 好 at the 40 % quota to 25-35 %
    assert sd["did"] > 1.5 and sd["ci_low"] > 0.5
    assert good["did"] < -0.03 and good["ci_high"] < 0
    assert t.loc["log_coverage", "did"] > 0.05 and t.loc["log_coverage", "ci_low"] > 0  # 90 % -> 98.5 %
    for row in (sd, good):
        assert row["ci_low"] <= row["did"] <= row["ci_high"]
    assert t.loc["score_sd", "other_units"] >= 50


def test_demo_seed(demo_con, demo_result):
    again = pilots.analyse(demo_con.cursor(), Filters())
    pd.testing.assert_frame_equal(again.did.table, demo_result.did.table)
    other = pilots.analyse(demo_con.cursor(), Filters(), seed=7).did.table
    assert other["did"].tolist() == demo_result.did.table["did"].tolist()
    assert other["ci_low"].tolist() != demo_result.did.table["ci_low"].tolist()


def test_demo_findings(demo_con):
    findings = pilots.top_findings(demo_con.cursor(), Filters())
    assert [f.title for f in findings] == ["联系点单位加入后得分标准差提高", "联系点单位加入后好等次比例下降",
                                           "联系点单位加入后日志覆盖率提高"]
    assert all(f.page == "pages/pilots.py" and f.count == 3 for f in findings)


def test_compare_units_keeps_the_chosen_order(demo_result):
    chosen = [PLANTED["control_units"][0], PLANTED["pilot_units"][0]]
    part = pilots.compare_units(demo_result.unit_quarters, chosen)
    assert list(dict.fromkeys(part["unit"])) == chosen and len(part) == 2 * len(PLANTED["periods"])
    shown = pilots.unit_quarters_display(part)
    assert set(shown.columns) >= {label for label, _ in pilots.METRICS.values()}
    tiny = pilots.unit_quarters_display(pilots.compare_units(demo_result.unit_quarters, [PLANTED["tiny_unit"]["unit"]]))
    assert (tiny["好等次比例"] == "样本过少").all()
    assert np.isfinite(demo_result.unit_quarters["score_sd"]).sum() > 600


# --- the page ------------------------------------------------------------------------------------


def test_page_renders_on_demo(demo_app):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/pilots.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "联系点对比"
    assert "3 个联系点单位（2024Q1 起）" in at.markdown[0].value
    assert len(at.get("plotly_chart")) == 4  # DiD, series, each pilot, the chosen units
    assert sorted(at.multiselect(key="pilots-compare").value) == sorted(PLANTED["pilot_units"])
    at.multiselect(key="pilots-compare").set_value([]).run()
    assert not at.exception and len(at.get("plotly_chart")) == 3


def test_page_with_pilots_only(demo_app):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["pilot"] = "联系点单位"
    at.run()
    at.switch_page("pages/pilots.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "没有非联系点单位作对照" in at.markdown[0].value
    assert any("无法计算双重差分" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 3  # series, each pilot, the chosen units; no DiD chart


def test_page_with_filters_that_leave_nothing(demo_app, demo_con):
    district, sector = demo_con.execute("""
        SELECT d.district, s.sector
        FROM (SELECT DISTINCT district FROM units) d, (SELECT DISTINCT sector FROM units) s
        WHERE NOT EXISTS (SELECT 1 FROM units u WHERE u.district = d.district AND u.sector = s.sector)
        ORDER BY ALL LIMIT 1
    """).fetchall()[0]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    # Filters go in through the URL: after the first run AppTest re-runs only the page script, so a
    # sidebar widget change would not reach the entrypoint's Filters.
    at.query_params["district"] = [district]
    at.query_params["sector"] = [sector]
    at.run()
    assert at.session_state["global_filters"].districts == (district,)
    at.switch_page("pages/pilots.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("没有数据" in i.value for i in at.info)
    assert not at.get("plotly_chart")
