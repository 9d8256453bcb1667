"""Filters: the population and period predicates, checked against hand-counted fixtures."""

from __future__ import annotations

import pytest

from analytics.filters import Filters


@pytest.fixture
def small(con):
    con.execute("""
        INSERT INTO units VALUES
            ('甲局', '东区', '市直', '公安', true, '2024Q1', false, 1),
            ('乙局', '西区', '旗县区', '法院', false, NULL, false, 1),
            ('丙局', '西区', '旗县区', '公安', NULL, NULL, false, 1);
        INSERT INTO people VALUES
            ('P1', '张三', '甲局', NULL, '办公室', '综合管理类', '科长', true, false, 1),
            ('P2', '李四', '甲局', NULL, '办公室', '行政执法类', '科员', false, false, 1),
            ('P3', '王五', '乙局', NULL, '立案庭', '综合管理类', NULL, NULL, false, 1),
            ('P4', '赵六', '丙局', NULL, NULL, NULL, NULL, false, false, 1),
            ('P5', '钱七', NULL, NULL, NULL, NULL, NULL, NULL, true, 1);
        INSERT INTO quarterly (person_id, period, year, quarter, score, grade, batch_id) VALUES
            ('P1', '2024Q4', 2024, 4, 90, '好', 1), ('P1', '2025Q1', 2025, 1, 91, '好', 1),
            ('P2', '2025Q1', 2025, 1, 85, '较好', 1), ('P3', '2025Q2', 2025, 2, 80, '一般', 1);
    """)
    return con


def people(con, f: Filters) -> list[str]:
    sql, params = f.population()
    return [r[0] for r in con.execute(f"SELECT person_id FROM ({sql}) ORDER BY 1", params).fetchall()]


@pytest.mark.parametrize("f, expected", [
    (Filters(), ["P1", "P2", "P3", "P4", "P5"]),
    (Filters(districts=("西区",)), ["P3", "P4"]),
    (Filters(sectors=("公安",), levels=("旗县区",)), ["P4"]),
    (Filters(pilot="pilot"), ["P1", "P2"]),
    (Filters(pilot="other"), ["P3", "P4", "P5"]),
    (Filters(role="leader"), ["P1"]),
    (Filters(role="staff"), ["P2", "P3", "P4", "P5"]),
    (Filters(categories=("综合管理类",), units=("甲局", "乙局")), ["P1", "P3"]),
    (Filters(districts=("北区",)), []),
])
def test_population(small, f, expected):
    assert people(small, f) == expected


@pytest.mark.parametrize("f, expected", [
    (Filters(), 4), (Filters(years=(2025,)), 3), (Filters(periods=("2024Q4", "2025Q2")), 2),
    (Filters(years=(2024,), periods=("2025Q1",)), 2),
])
def test_period_clause(small, f, expected):
    sql, params = f.period_clause("period")
    assert small.execute(f"SELECT count(*) FROM quarterly WHERE {sql}", params).fetchall() == [(expected,)]


def test_year_and_date_clauses_follow_the_same_periods():
    f = Filters(periods=("2025Q1", "2024Q4"))
    assert f.year_clause()[1] == [[2024, 2025]]
    sql, params = f.date_clause("d")
    assert params == [["2025Q1", "2024Q4"]] and "quarter(d)" in sql


def test_user_text_never_enters_sql():
    hostile = "x'); DROP TABLE people; --"
    f = Filters(districts=(hostile,), units=(hostile,))
    sql, params = f.population()
    assert hostile not in sql and params == [[hostile], [hostile]]


def test_describe_in_words():
    assert Filters().describe() == "全部数据（未筛选）"
    assert Filters(years=(2024, 2025), districts=("东区",), pilot="pilot").describe() == \
        "年度：2024、2025；地区：东区；联系点单位"
