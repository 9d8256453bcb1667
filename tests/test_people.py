"""Drill-down: a unit's people and one person's history, on a hand-made fixture and in the app."""

from __future__ import annotations

from pathlib import Path

import pytest
from apptools import empty_combination, shown_formats
from streamlit.testing.v1 import AppTest

from analytics import store
from analytics.filters import Filters
from analytics.people import person_history, unit_people

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def small(con):
    con.execute("""
        INSERT INTO units VALUES ('甲局', '东区', '市直', '公安', false, NULL, false, 1),
                                 ('乙局', '西区', '市直', '法院', false, NULL, false, 1);
        INSERT INTO people VALUES
            ('P1', '张三', '甲局', NULL, '办公室', '综合管理类', '科长', true, false, 1),
            ('P2', '李四', '甲局', NULL, '办公室', NULL, NULL, false, false, 1),
            ('P3', '王五', '乙局', NULL, NULL, NULL, NULL, false, false, 1);
        INSERT INTO quarterly (person_id, period, year, quarter, score, grade, batch_id) VALUES
            ('P1', '2025Q1', 2025, 1, 95, '好', 1), ('P1', '2025Q2', 2025, 2, 90, '较好', 1),
            ('P1', '2024Q4', 2024, 4, 80, '一般', 1),
            ('P2', '2025Q1', 2025, 1, 70, '一般', 1), ('P2', '2025Q2', 2025, 2, NULL, '不确定等次', 1);
        INSERT INTO annual VALUES ('P1', 2024, '称职', NULL, NULL, 1), ('P1', 2025, '优秀', 96, 92.5, 1);
        INSERT INTO ratings VALUES ('P1', 'P2', '互评', '2025Q1', 2025, 1, 88, 1),
                                   ('P1', 'P1', '自评', '2025Q1', 2025, 1, 97, 1);
        -- 2025-01: 23 weekdays, minus 元旦 (1st) and the Spring Festival weekdays 28th-31st, plus the
        -- make-up working Sunday 26th = 19 working days. Two logged working days and one Sunday.
        INSERT INTO worklog_daily VALUES ('P1', DATE '2025-01-02', 8, 1), ('P1', DATE '2025-01-03', 6, 2),
                                         ('P1', DATE '2025-01-05', 2, 1);
        INSERT INTO monthly VALUES ('P1', DATE '2025-01-01', 10, 9, '较饱满', '好', 1);
    """)
    store.refresh_worklog_monthly(con)  # what the importer does after writing logs
    store.refresh_rating_gaps(con)  # and after writing ratings
    return con


def test_unit_people_counts_the_selected_period(small):
    frame = unit_people(small, Filters(units=("甲局",), years=(2025,)))
    got = frame[["人员编号", "参评季度数", "好等次次数", "一般及以下次数", "平均得分", "最近等次", "年度等次"]]
    assert got.fillna("—").values.tolist() == [
        ["P1", 2, 1, 0, 92.5, "较好", "优秀"],
        ["P2", 1, 0, 1, 70.0, "不确定等次", "—"],
    ]


def test_person_history_has_every_kind_and_respects_filters(small):
    history = person_history(small, "P1")
    assert history.profile["name"] == "张三"
    assert history.quarters["考核周期"].tolist() == ["2024Q4", "2025Q1", "2025Q2"]
    assert history.ratings[["评价类型", "评价人姓名", "分数"]].values.tolist() == [
        ["互评", "李四", 88.0], ["自评", "张三", 97.0]]
    assert small.execute("SELECT count(*) FROM workday_calendar WHERE is_workday AND "
                         "day BETWEEN DATE '2025-01-01' AND DATE '2025-01-31'").fetchall() == [(19,)]
    month = history.months.iloc[0]
    assert (month["月份"], month["工时"], month["工作日"]) == ("2025-01", 16.0, 19)
    assert month["饱和度"] == round(16 / (19 * 8), 3)
    assert month["记实覆盖率"] == round(2 / 19, 3)
    assert history.years["年度等次"].tolist() == ["称职", "优秀"]
    assert person_history(small, "P1", Filters(districts=("西区",))) is None
    assert person_history(small, "nobody") is None


def test_drill_down_pages_render_on_demo_data(demo_app):
    from analytics.demo import PLANTED

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    assert any("当前是演示数据" in i.value for i in at.info)
    unit = PLANTED["inflated_flat_units"][0]
    # AppTest drops the entrypoint's sidebar from its tree after switch_page (the values persist),
    # so filters are set on the first page and the page is switched after.
    at.sidebar.multiselect(key="unit").set_value([unit])
    at.run()
    at.switch_page("pages/unit.py")
    at.run()
    assert not at.exception
    people = at.dataframe[0].value
    assert set(people["单位"]) == {unit} and len(people) >= 5
    assert shown_formats(at.dataframe[0]) == {"参评季度数": "%,d", "好等次次数": "%,d", "一般及以下次数": "%,d",
                                              "平均得分": "%.1f", "最近年度": "%d"}

    at.switch_page("pages/person.py")
    at.run()
    at.selectbox(key="person-pick").set_value(people["人员编号"].iloc[0])
    at.run()
    assert not at.exception
    assert any(people["姓名"].iloc[0] in s.value for s in at.subheader)
    assert len(at.get("plotly_chart")) == 1
    quarters, _, _, months, years = at.dataframe
    # The demo has no 加分/减分: those columns stay in the download but would show None in every row.
    assert quarters.value[["加分", "减分"]].isna().all().all()
    assert list(quarters.proto.column_order) == ["考核周期", "得分", "等次", "德", "能", "勤", "绩", "廉", "评鉴人"]
    assert quarters.proto.placeholder == "—"  # a missing value elsewhere is a dash, not None
    assert shown_formats(quarters)["德"] == "%.1f" and shown_formats(years)["平时考核平均分"] == "%.1f"
    assert shown_formats(months)["饱和度"] == "%.1f%%" and months.value["饱和度"].between(10, 200).all()


def test_drill_down_pages_with_filters_that_leave_nothing(demo_app, demo_con):
    district, sector = empty_combination(demo_con)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.sidebar.multiselect(key="district").set_value([district])
    at.sidebar.multiselect(key="sector").set_value([sector])
    at.run()
    assert at.session_state["global_filters"].districts == (district,)
    for page in ("pages/unit.py", "pages/person.py"):
        at.switch_page(page)
        at.run()
        assert not at.exception
        assert at.session_state["global_filters"].sectors == (sector,)
        assert any("没有数据" in i.value for i in at.info), page
