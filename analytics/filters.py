"""The global filters: one frozen object from the sidebar (and the URL) to every query.

``Filters`` is the only way filter values reach SQL. It renders itself as SQL fragments with ``?``
placeholders and a parameter list; no value is ever formatted into the SQL text.

    pop_sql, params = filters.population()
    sql = f"WITH pop AS ({pop_sql}) SELECT ... FROM quarterly q JOIN pop USING (person_id)"
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import duckdb

PILOT_LABELS = {"pilot": "联系点单位", "other": "非联系点单位"}
ROLE_LABELS = {"leader": "领导", "staff": "工作人员"}


@dataclass(frozen=True)
class Filters:
    years: tuple[int, ...] = ()
    periods: tuple[str, ...] = ()  # quarters such as '2025Q1'; narrower than years when given
    districts: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    pilot: str | None = None  # 'pilot' | 'other'
    role: str | None = None  # 'leader' | 'staff'

    def __post_init__(self) -> None:
        if self.pilot not in (None, *PILOT_LABELS):
            raise ValueError(f"pilot must be one of {list(PILOT_LABELS)}")
        if self.role not in (None, *ROLE_LABELS):
            raise ValueError(f"role must be one of {list(ROLE_LABELS)}")

    def with_(self, **changes: Any) -> Filters:
        return replace(self, **changes)

    # --- SQL fragments -------------------------------------------------------------------

    def _where(self, unit: str, category: str, leader: str) -> tuple[list[str], list]:
        """The predicates of the filters, with the person's unit, category and leader flag in the
        given columns (the unit's attributes always in ``u``)."""
        where: list[str] = []
        params: list = []
        for column, values in (
            ("u.district", self.districts), ("u.level", self.levels), ("u.sector", self.sectors),
            (unit, self.units), (category, self.categories),
        ):
            if values:
                where.append(f"{column} = ANY(?)")
                params.append(list(values))
        if self.pilot:
            where.append("COALESCE(u.is_pilot, false) = ?")
            params.append(self.pilot == "pilot")
        if self.role:
            where.append(f"{leader} = ?")
            params.append(self.role == "leader")
        return where, params

    def population(self) -> tuple[str, list]:
        """SELECT of the people the filters select, with their unit's attributes.

        Columns: person_id, name, unit, dept, category, position, is_leader, district, level,
        sector, is_pilot, pilot_since.
        """
        where, params = self._where("p.unit", "p.category", "COALESCE(p.is_leader, false)")
        sql = """
            SELECT p.person_id, p.name, p.unit, p.dept, p.category, p.position,
                   COALESCE(p.is_leader, false) AS is_leader,
                   u.district, u.level, u.sector, COALESCE(u.is_pilot, false) AS is_pilot,
                   u.pilot_since
            FROM people p LEFT JOIN units u ON u.unit = p.unit
        """
        if where:
            sql += " WHERE " + " AND ".join(where)
        return sql, params

    def counts_clause(self) -> tuple[str, list]:
        """Predicate selecting the same people as ``population()`` on a table of counts per unit,
        人员类别 and 领导/工作人员 (``grade_counts``, aliased ``c``) left-joined to ``units u``."""
        where, params = self._where("c.unit", "c.category", "c.is_leader")
        return (" AND ".join(where) if where else "true"), params

    def period_clause(self, column: str = "period") -> tuple[str, list]:
        """Predicate on a 'YYYYQn' column (quarterly results, ratings)."""
        if self.periods:
            return f"{column} = ANY(?)", [list(self.periods)]
        if self.years:
            return f"CAST(substr({column}, 1, 4) AS INTEGER) = ANY(?)", [list(self.years)]
        return "true", []

    def date_clause(self, column: str) -> tuple[str, list]:
        """Predicate on a DATE column (logs, months), by the same years or quarters."""
        if self.periods:
            return (f"(CAST(year({column}) AS VARCHAR) || 'Q' || CAST(quarter({column}) AS VARCHAR)) = ANY(?)",
                    [list(self.periods)])
        if self.years:
            return f"year({column}) = ANY(?)", [list(self.years)]
        return "true", []

    def year_clause(self, column: str = "year") -> tuple[str, list]:
        """Predicate on an integer year column (annual results)."""
        years = sorted({int(p[:4]) for p in self.periods}) if self.periods else list(self.years)
        if years:
            return f"{column} = ANY(?)", [years]
        return "true", []

    # --- words ------------------------------------------------------------------------------

    def is_empty(self) -> bool:
        return self == Filters()

    def describe(self) -> str:
        """The filters in words, for page captions and the 筛选条件 sheet of exports."""
        parts = []
        if self.periods:
            parts.append("考核周期：" + "、".join(self.periods))
        elif self.years:
            parts.append("年度：" + "、".join(str(y) for y in self.years))
        for label, values in (("地区", self.districts), ("单位层级", self.levels), ("系统", self.sectors),
                              ("单位", self.units), ("人员类别", self.categories)):
            if values:
                parts.append(f"{label}：" + "、".join(values))
        if self.pilot:
            parts.append(PILOT_LABELS[self.pilot])
        if self.role:
            parts.append(ROLE_LABELS[self.role])
        return "；".join(parts) if parts else "全部数据（未筛选）"


FILTER_FIELDS = tuple(f.name for f in fields(Filters))


def options(con: duckdb.DuckDBPyConnection) -> dict[str, list]:
    """The values each filter can take, from what the store holds."""
    def column(sql: str) -> list:
        return [r[0] for r in con.execute(sql).fetchall() if r[0] is not None]

    return {
        "years": column("""
            SELECT DISTINCT y FROM (
                SELECT year AS y FROM quarterly UNION SELECT year FROM annual
                UNION SELECT DISTINCT year(month) FROM monthly
            ) ORDER BY y"""),
        "periods": column("SELECT DISTINCT period FROM quarterly ORDER BY 1"),
        "districts": column("SELECT DISTINCT district FROM units ORDER BY 1"),
        "levels": column("SELECT DISTINCT level FROM units ORDER BY 1"),
        "sectors": column("SELECT DISTINCT sector FROM units ORDER BY 1"),
        "units": column("SELECT DISTINCT unit FROM people ORDER BY 1"),
        "categories": column("SELECT DISTINCT category FROM people ORDER BY 1"),
    }
