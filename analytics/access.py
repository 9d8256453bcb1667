"""Who may see what: roles, the granted scope, and name masking, enforced inside every query.

A ``Scope`` is what one signed-in user may see. ``scoped(con, scope)`` returns a cursor on which
every data table of the store is shadowed by a temporary view of the same name that holds only the
rows of the granted districts and units (and masks names for roles without name rights). Every
analysis, page, download and report runs its SQL unchanged on such a cursor, so none of them can
reach a row outside the scope: the restriction is not a ``WHERE`` that a query could forget, it is
the only table the query can see.

* Default deny: a scope with no granted district and no granted unit sees no rows; a table the
  store gains later and this module does not know is shadowed by an empty view.
* The grants reach SQL only as parameters (they are inserted into a temporary table); the one name
  formatted into the view text is the store's own catalog name, quoted as an identifier.
* Administrators get the plain cursor: no views, nothing hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

ROLES = {"admin": "管理员", "leader": "领导", "viewer": "查看者"}
ROLE_RIGHTS = {
    # role: (sees every row, sees names, may export, may import and manage)
    "admin": (True, True, True, True),
    "leader": (False, True, True, False),
    "viewer": (False, False, False, False),
}

# Tables that hold no personnel rows: bookkeeping, the calendar. Not shadowed.
UNSCOPED_TABLES = frozenset({"meta", "import_batch", "workday_calendar"})
# Tables a non-administrator never reads: shadowed by an empty view.
HIDDEN_TABLES = frozenset({"audit_log", "memo"})
# Columns that hold a person's name (masked for roles without name rights).
NAME_COLUMNS = frozenset({"name", "assessor"})
# Columns never shown to a non-administrator (the keyed hash of the 身份证号).
SECRET_COLUMNS = frozenset({"id_hash"})


class AccessError(Exception):
    """A request outside what the user may do; the message is for the user."""


@dataclass(frozen=True)
class Scope:
    """What one user may see. Hashable: it is part of every cache key."""

    role: str
    districts: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    user: str = ""

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")

    @property
    def everything(self) -> bool:
        return ROLE_RIGHTS[self.role][0]

    @property
    def names(self) -> bool:
        return ROLE_RIGHTS[self.role][1]

    @property
    def can_export(self) -> bool:
        return ROLE_RIGHTS[self.role][2]

    @property
    def is_admin(self) -> bool:
        return ROLE_RIGHTS[self.role][3]

    def describe(self) -> str:
        if self.everything:
            return "全部地区和单位"
        parts = []
        if self.districts:
            parts.append("地区：" + "、".join(self.districts))
        if self.units:
            parts.append("单位：" + "、".join(self.units))
        return "；".join(parts) if parts else "未授权任何地区或单位"


SYSTEM = Scope("admin", user="系统")


def grants(scope: Scope) -> Scope:
    """The scope without its holder's name: what the rows a user sees depend on (a cache key)."""
    if scope.everything:
        return Scope("admin")
    return Scope(scope.role, tuple(sorted(set(scope.districts))), tuple(sorted(set(scope.units))))


def mask_name(name: str | None) -> str | None:
    """张伟 → 张*，张三伟 → 张*伟，欧阳明月 → 欧**月 (the first and last character stay)."""
    if name is None:
        return None
    text = str(name).strip()
    if len(text) <= 1:
        return text
    if len(text) == 2:
        return text[0] + "*"
    return text[0] + "*" * (len(text) - 2) + text[-1]


# The same rule in SQL, as a macro on the scoped cursor.
_MASK_MACRO = """
CREATE OR REPLACE TEMP MACRO kaohe_mask(s) AS
    CASE WHEN s IS NULL THEN NULL
         WHEN length(trim(s)) <= 1 THEN trim(s)
         WHEN length(trim(s)) = 2 THEN left(trim(s), 1) || '*'
         ELSE left(trim(s), 1) || repeat('*', length(trim(s)) - 2) || right(trim(s), 1) END
"""


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, list[str]]:
    rows = con.execute("""
        SELECT table_name, column_name FROM information_schema.columns
        WHERE table_catalog = ? AND table_schema = 'main'
        ORDER BY table_name, ordinal_position
    """, [catalog]).fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(table, []).append(column)
    return tables


def restrict(cur: duckdb.DuckDBPyConnection, scope: Scope) -> None:
    """Shadow every data table on ``cur`` (a cursor of its own) by a view limited to ``scope``."""
    if scope.everything:
        return
    catalog = cur.execute("SELECT current_database()").fetchall()[0][0]
    base = f"{_ident(catalog)}.main."
    tables = _tables(cur, catalog)
    cur.execute(_MASK_MACRO)
    # The granted units: those of the granted districts, and those granted by name.
    cur.execute("CREATE OR REPLACE TEMP TABLE kaohe_scope_units (unit VARCHAR PRIMARY KEY)")
    cur.execute(f"""
        INSERT INTO kaohe_scope_units
        SELECT DISTINCT unit FROM {base}units WHERE district = ANY(?) OR unit = ANY(?)
        UNION SELECT DISTINCT unit FROM {base}people WHERE unit = ANY(?)
    """, [list(scope.districts), list(scope.units), list(scope.units)])
    cur.execute("CREATE OR REPLACE TEMP TABLE kaohe_scope_people (person_id VARCHAR PRIMARY KEY)")
    cur.execute(f"""
        INSERT INTO kaohe_scope_people
        SELECT DISTINCT person_id FROM {base}people WHERE unit IN (SELECT unit FROM kaohe_scope_units)
    """)
    for table, columns in tables.items():
        if table in UNSCOPED_TABLES or table.startswith("kaohe_scope"):
            continue
        if table in HIDDEN_TABLES:
            where = "false"
        elif "person_id" in columns:
            where = "person_id IN (SELECT person_id FROM kaohe_scope_people)"
        elif "unit" in columns:
            where = "unit IN (SELECT unit FROM kaohe_scope_units)"
        else:
            where = "false"  # default deny: a table this module does not know
        select = []
        for column in columns:
            col = _ident(column)
            if column in SECRET_COLUMNS:
                select.append(f"CAST(NULL AS VARCHAR) AS {col}")
            elif column in NAME_COLUMNS and not scope.names:
                select.append(f"kaohe_mask({col}) AS {col}")
            elif column == "rater" and not scope.names:
                # A rater is a 人员编号 or a name as written; names are masked, codes kept.
                select.append(f"CASE WHEN {col} IN (SELECT person_id FROM {base}people) THEN {col} "
                              f"ELSE kaohe_mask({col}) END AS {col}")
            else:
                select.append(col)
        cur.execute(f"CREATE OR REPLACE TEMP VIEW {_ident(table)} AS "
                    f"SELECT {', '.join(select)} FROM {base}{_ident(table)} WHERE {where}")


def scoped(con: duckdb.DuckDBPyConnection, scope: Scope) -> duckdb.DuckDBPyConnection:
    """A new cursor of ``con`` that sees only ``scope``. Close it when done."""
    cur = con.cursor()
    try:
        restrict(cur, scope)
    except BaseException:
        cur.close()
        raise
    return cur
