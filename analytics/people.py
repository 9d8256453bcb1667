"""Drill-down: the people of the selected units, and one person's full history."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd
import plotly.graph_objects as go

from analytics.figures import GRADE_COLORS, QUARTER_GRADE_ORDER
from analytics.filters import Filters


def unit_people(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """One row per person of the filtered population, with their quarters in the filtered period."""
    pop_sql, pop_params = filters.population()
    period_sql, period_params = filters.period_clause("q.period")
    year_sql, year_params = filters.year_clause("a.year")
    return con.execute(
        f"""
        WITH pop AS ({pop_sql}),
        q AS (
            SELECT q.person_id,
                   count(*) FILTER (WHERE q.grade IS DISTINCT FROM '不确定等次') AS rated,
                   count(*) FILTER (WHERE q.grade = '好') AS good,
                   count(*) FILTER (WHERE q.grade IN ('一般', '较差')) AS general_or_worse,
                   avg(q.score) AS mean_score,
                   arg_max(q.grade, q.period) AS latest_grade,
                   max(q.period) AS latest_period
            FROM quarterly q WHERE {period_sql} GROUP BY q.person_id
        ),
        a AS (
            SELECT a.person_id, arg_max(a.grade, a.year) AS annual_grade, max(a.year) AS annual_year
            FROM annual a WHERE {year_sql} GROUP BY a.person_id
        )
        SELECT pop.person_id AS 人员编号, pop.name AS 姓名, pop.unit AS 单位, pop.dept AS 处室,
               pop.category AS 人员类别, CASE WHEN pop.is_leader THEN '领导' ELSE '工作人员' END AS 岗位,
               COALESCE(q.rated, 0) AS 参评季度数, COALESCE(q.good, 0) AS 好等次次数,
               COALESCE(q.general_or_worse, 0) AS 一般及以下次数, round(q.mean_score, 1) AS 平均得分,
               q.latest_period AS 最近季度, q.latest_grade AS 最近等次,
               a.annual_year AS 最近年度, a.annual_grade AS 年度等次
        FROM pop LEFT JOIN q USING (person_id) LEFT JOIN a USING (person_id)
        ORDER BY pop.unit, pop.dept NULLS LAST, pop.is_leader DESC, pop.person_id
        """,
        pop_params + period_params + year_params,
    ).df()


@dataclass(frozen=True)
class PersonHistory:
    profile: dict
    quarters: pd.DataFrame
    ratings: pd.DataFrame
    months: pd.DataFrame
    years: pd.DataFrame


def find_people(con: duckdb.DuckDBPyConnection, filters: Filters, limit: int = 5000) -> pd.DataFrame:
    """People to choose from (id, name, unit), within the filters."""
    pop_sql, params = filters.population()
    return con.execute(
        f"SELECT person_id, name, unit FROM ({pop_sql}) ORDER BY unit, person_id LIMIT {int(limit)}", params
    ).df()


def person_history(con: duckdb.DuckDBPyConnection, person_id: str, filters: Filters | None = None
                   ) -> PersonHistory | None:
    """Everything stored about one person, across all periods. With ``filters``, the person must
    belong to the filtered population (else None), so a URL cannot reach outside the selection."""
    pop_sql, params = (filters or Filters()).population()
    found = con.execute(
        f"SELECT * FROM ({pop_sql}) WHERE person_id = ?", params + [person_id]
    ).df()
    if found.empty:
        return None
    profile = found.iloc[0].to_dict()
    quarters = con.execute("""
        SELECT period AS 考核周期, score AS 得分, grade AS 等次, score_de AS 德, score_neng AS 能,
               score_qin AS 勤, score_ji AS 绩, score_lian AS 廉, bonus AS 加分, penalty AS 减分,
               assessor AS 评鉴人
        FROM quarterly WHERE person_id = ? ORDER BY period
    """, [person_id]).df()
    ratings = con.execute("""
        SELECT r.period AS 考核周期, r.rater_type AS 评价类型, r.rater AS 评价人,
               p.name AS 评价人姓名, r.score AS 分数
        FROM ratings r LEFT JOIN people p ON p.person_id = r.rater
        WHERE r.person_id = ? ORDER BY r.period, r.rater_type, r.rater
    """, [person_id]).df()
    months = con.execute("""
        WITH days AS (
            SELECT date_trunc('month', day)::DATE AS month, count(*) AS workdays
            FROM workday_calendar WHERE is_workday GROUP BY 1
        ), logged AS (  -- the monthly pre-aggregate: hours and logged working days per month
            SELECT month, hours, logged_workdays AS logged_days FROM worklog_monthly WHERE person_id = ?
        ), rec AS (
            SELECT month, planned, done, saturation_rating, comment FROM monthly WHERE person_id = ?
        )
        SELECT strftime(month, '%Y-%m') AS 月份, round(COALESCE(l.hours, 0), 1) AS 工时, days.workdays AS 工作日,
               round(COALESCE(l.hours, 0) / (days.workdays * 8), 3) AS 饱和度,
               round(COALESCE(l.logged_days, 0) / days.workdays, 3) AS 记实覆盖率,
               rec.planned AS 计划事项数, rec.done AS 完成事项数, rec.saturation_rating AS 饱和度评价,
               rec.comment AS 评语
        FROM (SELECT month FROM logged UNION SELECT month FROM rec) m
        JOIN days USING (month) LEFT JOIN logged l USING (month) LEFT JOIN rec USING (month)
        ORDER BY month
    """, [person_id, person_id]).df()
    years = con.execute("""
        SELECT year AS 年度, grade AS 年度等次, score AS 年度得分, quarterly_avg AS 平时考核平均分
        FROM annual WHERE person_id = ? ORDER BY year
    """, [person_id]).df()
    return PersonHistory(profile, quarters, ratings, months, years)


def grade_timeline(quarters: pd.DataFrame) -> go.Figure:
    """One person's quarterly scores, each point coloured by its grade (不确定等次 has no score)."""
    fig = go.Figure()
    for grade in QUARTER_GRADE_ORDER:
        part = quarters[quarters["等次"] == grade]
        if part.empty:
            continue
        fig.add_trace(go.Scatter(
            x=part["考核周期"], y=part["得分"],
            mode="markers", name=grade, marker={"color": GRADE_COLORS[grade], "size": 12},
            hovertemplate="%{x}<br>得分 %{y:.1f}<extra>" + grade + "</extra>",
        ))
    fig.add_trace(go.Scatter(x=quarters["考核周期"], y=quarters["得分"], mode="lines",
                             line={"color": "#bbbbbb"}, showlegend=False, hoverinfo="skip"))
    fig.update_layout(xaxis_title="考核周期", yaxis_title="得分", height=320,
                      xaxis={"type": "category", "categoryorder": "category ascending"})
    return fig
