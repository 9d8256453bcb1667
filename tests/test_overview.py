"""总览: numbers on a hand-made fixture, and the page on demo data."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from apptools import shown_formats
from streamlit.testing.v1 import AppTest

from analytics.filters import Filters
from analytics.overview import FINDING_MODULES, findings_of, overview

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def small(con):
    con.execute("""
        INSERT INTO units VALUES ('甲局', '东区', '市直', '公安', false, NULL, false, 1),
                                 ('乙局', '西区', '市直', '法院', false, NULL, false, 1);
        INSERT INTO people (person_id, name, unit, auto, batch_id) VALUES
            ('P1', 'a', '甲局', false, 1), ('P2', 'b', '甲局', false, 1), ('P3', 'c', '乙局', false, 1),
            ('P4', 'd', '乙局', false, 1);
        INSERT INTO quarterly (person_id, period, year, quarter, score, grade, batch_id) VALUES
            ('P1', '2025Q1', 2025, 1, 95, '好', 1), ('P2', '2025Q1', 2025, 1, 85, '较好', 1),
            ('P3', '2025Q1', 2025, 1, 70, '一般', 1), ('P4', '2025Q1', 2025, 1, NULL, '不确定等次', 1),
            ('P1', '2025Q2', 2025, 2, 96, '好', 1), ('P2', '2025Q2', 2025, 2, 94, '好', 1),
            ('P3', '2025Q2', 2025, 2, 80, '较好', 1), ('P4', '2025Q2', 2025, 2, 60, '较差', 1);
        INSERT INTO annual VALUES ('P1', 2025, '优秀', NULL, NULL, 1), ('P2', 2025, '称职', NULL, NULL, 1);
    """)
    return con


def test_numbers_grade_mix_and_trend(small):
    ov = overview(small, Filters())
    assert (ov.units, ov.people, ov.rated, ov.periods) == (2, 4, 7, ("2025Q1", "2025Q2"))
    # 7 rated person-quarters: 好 3, 较好 2, 一般 1, 较差 1; 不确定等次 1 of all 8.
    mix = ov.grade_mix.set_index("等次")
    assert mix["人次"].to_dict() == {"好": 3, "较好": 2, "一般": 1, "较差": 1, "不确定等次": 1}
    assert math.isclose(mix.loc["好", "占比"], 3 / 7) and math.isclose(mix.loc["不确定等次", "占比"], 1 / 8)
    trend = ov.trend.set_index("考核周期")
    assert trend["参评人次"].to_dict() == {"2025Q1": 3, "2025Q2": 4}
    assert math.isclose(trend.loc["2025Q1", "好等次占比"], 1 / 3)
    assert math.isclose(trend.loc["2025Q2", "好等次占比"], 2 / 4)
    assert math.isclose(trend.loc["2025Q1", "一般及以下占比"], 1 / 3)
    assert math.isclose(trend.loc["2025Q2", "一般及以下占比"], 1 / 4)
    assert ov.annual_mix.set_index("等次")["人次"].to_dict() == {"优秀": 1, "称职": 1}


def test_filters_narrow_and_empty(small):
    assert overview(small, Filters(districts=("西区",))).rated == 3
    assert overview(small, Filters(periods=("2025Q2",))).rated == 4
    assert overview(small, Filters(districts=("北区",))).empty


def test_every_analysis_reports_findings_on_demo(demo_con):
    for name in FINDING_MODULES:
        found = findings_of(demo_con.cursor(), name, Filters())
        assert all(f.page.startswith("pages/") and f.title and f.detail for f in found), name
    titles = [f.title for f in findings_of(demo_con.cursor(), "raters", Filters())]
    assert any("偏松" in t for t in titles) and any("偏严" in t for t in titles)


def test_overview_page_on_demo_and_with_nothing_selected(demo_app, demo_con):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    assert at.title[0].value == "总览"
    assert any("个单位" in m.value and "好等次占" in m.value for m in at.markdown)
    assert not at.warning, [w.value for w in at.warning]
    assert len(at.get("plotly_chart")) == 3
    assert [b.proto.label for b in at.sidebar.get("download_button")] == ["导出本页（Excel）"]
    # Tables show 1,487 and 33.5%, but hold (and download) the numbers themselves.
    mix, trend, annual = at.dataframe
    assert shown_formats(trend) == {"参评人次": "%,d", "好": "%,d", "好等次占比": "%.1f%%", "一般及以下占比": "%.1f%%"}
    assert shown_formats(mix) == shown_formats(annual) == {"人次": "%,d", "占比": "%.1f%%"}
    ov = overview(demo_con.cursor(), Filters())
    assert trend.value["参评人次"].tolist() == ov.trend["参评人次"].tolist()
    assert trend.value["好等次占比"].round(6).tolist() == (ov.trend["好等次占比"] * 100).round(6).tolist()
    district, sector = demo_con.execute("""
        SELECT d.district, s.sector
        FROM (SELECT DISTINCT district FROM units) d, (SELECT DISTINCT sector FROM units) s
        WHERE NOT EXISTS (SELECT 1 FROM units u WHERE u.district = d.district AND u.sector = s.sector)
        ORDER BY ALL LIMIT 1""").fetchall()[0]
    at.sidebar.multiselect(key="district").set_value([district])
    at.sidebar.multiselect(key="sector").set_value([sector])
    at.run()
    assert not at.exception
    assert any("没有数据" in i.value for i in at.info)
