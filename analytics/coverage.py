"""What the store holds: rows per kind and the periods they cover (the data status page)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from analytics import store
from analytics.store import KIND_LABELS


@dataclass(frozen=True)
class Coverage:
    kinds: pd.DataFrame  # 数据类型, 行数, 覆盖范围
    units: int
    pilot_units: int
    people: int
    quarters: pd.DataFrame  # 考核周期, 人数, 好, 较好, 一般, 较差, 不确定等次
    is_demo: bool


_RANGES = {
    # "62 个", or "62 个（另有 3 个仅有名称）" when results named units the roster does not have
    "units": "SELECT count(*) FILTER (WHERE NOT auto)::VARCHAR || ' 个' || "
             "CASE WHEN count(*) FILTER (WHERE auto) > 0 THEN '（另有 ' || "
             "count(*) FILTER (WHERE auto)::VARCHAR || ' 个仅有名称）' ELSE '' END FROM units",
    "people": "SELECT count(DISTINCT unit)::VARCHAR || ' 个单位' FROM people",
    "quarterly": "SELECT min(period) || ' 至 ' || max(period) FROM quarterly",
    "ratings": "SELECT min(period) || ' 至 ' || max(period) FROM ratings",
    "worklogs": "SELECT strftime(min(work_date), '%Y-%m-%d') || ' 至 ' || "
                "strftime(max(work_date), '%Y-%m-%d') FROM worklog_daily",
    "monthly": "SELECT strftime(min(month), '%Y-%m') || ' 至 ' || strftime(max(month), '%Y-%m') FROM monthly",
    "annual": "SELECT min(year)::VARCHAR || ' 至 ' || max(year)::VARCHAR || ' 年度' FROM annual",
}


def coverage(con: duckdb.DuckDBPyConnection) -> Coverage:
    counts = store.counts(con)
    kinds = pd.DataFrame(
        [
            {"数据类型": KIND_LABELS[k], "行数": n, "覆盖范围": store.scalar(con, _RANGES[k]) if n else "—"}
            for k, n in counts.items()
        ]
    )
    quarters = con.execute("""
        SELECT period AS 考核周期, count(*) AS 人数,
               count(*) FILTER (WHERE grade = '好') AS 好,
               count(*) FILTER (WHERE grade = '较好') AS 较好,
               count(*) FILTER (WHERE grade = '一般') AS 一般,
               count(*) FILTER (WHERE grade = '较差') AS 较差,
               count(*) FILTER (WHERE grade = '不确定等次') AS 不确定等次
        FROM quarterly GROUP BY period ORDER BY period
    """).df()
    return Coverage(
        kinds=kinds,
        units=int(store.scalar(con, "SELECT count(*) FROM units")),
        pilot_units=int(store.scalar(con, "SELECT count(*) FROM units WHERE is_pilot")),
        people=int(store.scalar(con, "SELECT count(*) FROM people")),
        quarters=quarters,
        is_demo=store.has_demo_data(con),
    )
