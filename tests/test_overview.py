"""总览: numbers on a hand-made fixture, and the page on demo data."""

from __future__ import annotations

import math
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from apptools import shown_formats
from streamlit.testing.v1 import AppTest

from analytics import access, importer, memo, store
from analytics.access import Scope
from analytics.filters import Filters
from analytics.findings import Finding
from analytics.overview import FINDING_MODULES, all_leads, findings_of, leads, overview, remembered_leads

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


def test_the_good_quota_is_said_once_and_a_short_list_says_etc(demo_con):
    found = all_leads(demo_con.cursor(), Filters())
    assert found.failed == ()
    titles = [lead.finding.title for lead in found.leads]
    # 等次分布 and 规则检查 both find the 好 quota breaches: the overview keeps the rule's finding only.
    assert [t for t in titles if "好等次超" in t] == ["44 个单位季度好等次超比例"]
    inflation = next(lead for lead in found.leads if lead.finding.title == "4 个单位好等次比例显著高于全市")
    assert inflation.units == ("北原县教育局", "南川县市场监督管理局", "西岭区自然资源局")
    assert "西岭区自然资源局（12个季度，97.9%）等 4 个单位的好等次比例高于同期总体（33.5%）" in inflation.finding.detail
    assert inflation.focus == ()  # narrowed to these units, 等次分布 would have no benchmark left
    by_title = {lead.finding.title: lead for lead in found.leads}
    assert by_title["44 个单位季度好等次超比例"].focus == ("北原县教育局",)
    assert by_title["2025年12月 2 个处室超负荷"].focus == ("南川县公安局", "青崖市公安局")  # 处室 named with their unit
    assert by_title["2 名评价人打分明显偏松"].focus == ("青崖市公安局",)


@pytest.mark.parametrize(("detail", "count", "expected"), [
    ("甲局（2个季度，90.0%）、乙局（1个季度，80.0%）的好等次比例高于同期总体。", 3,
     "甲局（2个季度，90.0%）、乙局（1个季度，80.0%）等 3 个单位的好等次比例高于同期总体。"),
    ("甲局（2个季度，90.0%）、乙局（1个季度，80.0%）的好等次比例高于同期总体。", 2,
     "甲局（2个季度，90.0%）、乙局（1个季度，80.0%）的好等次比例高于同期总体。"),
])
def test_etc_only_when_fewer_names_than_counted(detail, count, expected):
    finding = Finding("pages/grade_spread.py", f"{count} 个单位好等次比例显著高于全市", detail, count)
    [lead] = leads([finding], ["甲局", "乙局", "丙局"])
    assert lead.finding.detail == expected
    assert lead.units == ("甲局", "乙局")


def test_overview_links_preselect_the_named_unit_where_the_page_judges_it_alone(demo_app):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    links = [(link.proto.label, link.proto.page, parse_qs(link.proto.query_string))
             for link in at.main.get("page_link")]
    assert links[:3] == [("查看详情", "grade_spread", {}), ("查看详情", "grade_spread", {}),
                         ("查看详情", "distribution", {})]
    assert ("查看「北原县教育局」的详情", "rules", {"unit": ["北原县教育局"]}) in links
    assert ("查看「南川县公安局、青崖市公安局」的详情", "saturation", {"unit": ["南川县公安局", "青崖市公安局"]}) in links
    assert links.count(("查看全部详情", "rules", {})) == 2


# --- findings remembered in the store ---------------------------------------------------------------

@pytest.fixture
def demo_copy(tmp_path, demo_con):
    """A writable copy of the session's demo store."""
    import shutil

    demo_con.execute("CHECKPOINT")
    source = demo_con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()[0][0]
    shutil.copy(source, tmp_path / "copy.duckdb")
    connection = store.connect(tmp_path / "copy.duckdb")
    yield connection
    connection.close()


def _refuse(*args, **kwargs):
    raise AssertionError("computed instead of recalled")


def test_findings_are_remembered_per_data_version_filters_and_grants(demo_copy):
    admin = Scope("admin")
    fresh = all_leads(demo_copy.cursor(), Filters())
    assert fresh.leads and not fresh.failed
    first = remembered_leads(demo_copy, Filters(), 5, admin, lambda: all_leads(demo_copy.cursor(), Filters()))
    assert first == fresh and memo.entries(demo_copy) == 1
    # Now computing is refused: the same question is answered from the store, equal to the computation.
    assert remembered_leads(demo_copy, Filters(), 5, admin, _refuse) == fresh
    # Anything else in the key is a new question.
    for filters, min_group, grants in ((Filters(districts=("东湖区",)), 5, admin), (Filters(), 10, admin),
                                       (Filters(), 5, Scope("leader", districts=("东湖区",)))):
        with pytest.raises(AssertionError, match="computed instead of recalled"):
            remembered_leads(demo_copy, filters, min_group, grants, _refuse)
    # An undo changes the data: the old entry is not served, and is dropped once a new one is kept.
    importer.undo(demo_copy, 7, user="测试")
    with pytest.raises(AssertionError, match="computed instead of recalled"):
        remembered_leads(demo_copy, Filters(), 5, admin, _refuse)
    after = remembered_leads(demo_copy, Filters(), 5, admin, lambda: all_leads(demo_copy.cursor(), Filters()))
    assert after == all_leads(demo_copy.cursor(), Filters())
    assert memo.entries(demo_copy) == 1


def test_a_scoped_cursor_never_sees_the_memo_and_a_read_only_store_keeps_nothing(demo_copy, tmp_path):
    leader = Scope("leader", districts=("东湖区",))
    scoped = access.scoped(demo_copy, leader)
    mine = remembered_leads(demo_copy, Filters(), 5, access.grants(leader), lambda: all_leads(scoped, Filters()))
    assert mine == all_leads(scoped, Filters())
    assert memo.entries(demo_copy) == 1
    assert scoped.execute("SELECT count(*) FROM memo").fetchall() == [(0,)]
    scoped.close()
    demo_copy.execute("CHECKPOINT")
    demo_copy.close()
    read_only = store.connect(tmp_path / "copy.duckdb", read_only=True)
    try:
        found = remembered_leads(read_only, Filters(districts=("西岭区",)), 5, Scope("admin"),
                                 lambda: all_leads(read_only.cursor(), Filters(districts=("西岭区",))))
        assert found == all_leads(read_only.cursor(), Filters(districts=("西岭区",)))
        assert memo.entries(read_only) == 1  # the leader's entry only: nothing was written
    finally:
        read_only.close()
