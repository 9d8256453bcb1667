"""Scope and masking are enforced in analytics/, inside every query: a district leader running every
page's analytics and every report, with every filter a crafted URL could set, sees nothing of
another district; a viewer sees no full name; a scope with no grants sees nothing at all."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from filemaker import rows

from analytics import access
from analytics.access import Scope, mask_name
from analytics.filters import Filters
from analytics.page_analytics import PAGES, is_empty
from analytics.people import person_history, unit_people
from analytics.registry import ReportArgs
from analytics.reports import REPORTS

ROOT = Path(__file__).resolve().parent.parent
DISTRICT = "东湖区"
LEADER = Scope("leader", districts=(DISTRICT,), user="lead")
VIEWER = Scope("viewer", districts=(DISTRICT,), user="view")
ARGS = ReportArgs(year=2025, month="2025-06")


def strings(value, seen=None) -> set[str]:
    """Every text value in a result (DataFrame cells and column names, dataclass fields, lists…)."""
    seen = set() if seen is None else seen
    out: set[str] = set()
    if id(value) in seen:
        return out
    seen.add(id(value))
    if isinstance(value, str):
        out.add(value)
    elif isinstance(value, pd.DataFrame):
        out |= {str(c) for c in value.columns}
        for column in value.columns:
            if value[column].dtype == object or str(value[column].dtype) in ("string", "category"):
                for v in value[column].dropna():
                    out |= strings(v, seen) if isinstance(v, list | tuple | dict) else {str(v)}
        if value.index.dtype == object:
            out |= {str(v) for v in value.index}
    elif isinstance(value, pd.Series):
        out |= strings(value.to_frame(), seen)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            out |= strings(getattr(value, f.name), seen)
    elif isinstance(value, dict):
        for k, v in value.items():
            out |= strings(k, seen) | strings(v, seen)
    elif isinstance(value, list | tuple | set):
        for v in value:
            out |= strings(v, seen)
    return out


@pytest.fixture(scope="module")
def world(demo_con):
    """Who and what is inside and outside the district, read from the unscoped store."""
    people = demo_con.execute("""
        SELECT p.person_id, p.name, p.unit, u.district FROM people p JOIN units u USING (unit)
    """).df()
    inside = people[people["district"] == DISTRICT]
    outside = people[people["district"] != DISTRICT]
    return {
        "inside_ids": set(inside["person_id"]), "outside_ids": set(outside["person_id"]),
        "inside_names": set(inside["name"]),
        # names borne by someone outside and nobody inside (a shared name proves nothing)
        "outside_names": set(outside["name"]) - set(inside["name"]),
        "outside_units": set(outside["unit"]), "inside_units": set(inside["unit"]),
        "other_districts": set(outside["district"]),
    }


def run_everything(con, scope: Scope, filters: Filters) -> dict[str, object]:
    cur = access.scoped(con, scope)
    try:
        results: dict[str, object] = {}
        for page, spec in sorted(PAGES.items()):
            results[page] = spec.run(cur, filters, 5)
        for name, (fn, _) in sorted(REPORTS.items()):
            results[f"report {name}"] = fn(cur, filters, ARGS)
        return results
    finally:
        cur.close()


def shows_nothing(parts: dict[str, object]) -> bool:
    """Every part is empty (the rules summary always lists the rules: then it must have checked none)."""
    for name, value in parts.items():
        if name == "months":
            continue
        if name == "summary" and isinstance(value, pd.DataFrame) and "检查数" in value.columns:
            if value["检查数"].sum() != 0:
                return False
        elif not is_empty(value):
            return False
    return True


def leaks(texts: set[str], world) -> list[str]:
    exact = world["outside_ids"] | world["outside_names"]
    parts = world["outside_units"] | world["other_districts"]
    return sorted(t for t in texts if t in exact or any(p in t for p in parts))


def test_a_district_leader_sees_only_that_district_on_every_page_and_report(demo_con, world):
    results = run_everything(demo_con, LEADER, Filters())
    texts = strings(results)
    assert not leaks(texts, world)
    # ...and does see the district: its units and (leader: name rights) its people's names.
    assert world["inside_units"] <= texts
    assert len(texts & world["inside_names"]) > 50


@pytest.mark.parametrize("crafted", [
    Filters(districts=("西岭区",)),
    Filters(units=("西岭区财政局",)),
    Filters(districts=("西岭区", DISTRICT), units=("北原县人民法院",)),
], ids=["other-district", "other-unit", "mixed"])
def test_filters_naming_another_district_reach_nothing_outside(demo_con, world, crafted):
    """What a crafted URL (?district=…, ?unit=…) can set: the filters only narrow the scope."""
    results = run_everything(demo_con, LEADER, crafted)
    assert not leaks(strings(results), world)
    if DISTRICT not in crafted.districts:
        for page, parts in results.items():
            if page.startswith("pages/"):
                assert shows_nothing(parts), page


def test_a_person_of_another_district_has_no_history(demo_con, world):
    outsider = sorted(world["outside_ids"])[0]
    insider = sorted(world["inside_ids"])[0]
    cur = access.scoped(demo_con, LEADER)
    try:
        assert person_history(cur, outsider, Filters()) is None
        assert person_history(cur, insider, Filters()) is not None
    finally:
        cur.close()


def test_the_leaders_view_equals_the_admins_view_filtered_to_the_district(demo_con):
    cur = access.scoped(demo_con, LEADER)
    try:
        scoped = unit_people(cur, Filters())
    finally:
        cur.close()
    full = unit_people(demo_con, Filters(districts=(DISTRICT,)))
    key = list(scoped.columns[:3])
    pd.testing.assert_frame_equal(scoped.sort_values(key).reset_index(drop=True),
                                  full.sort_values(key).reset_index(drop=True))


def test_a_viewer_sees_no_full_name_only_masked_ones(demo_con, world):
    results = run_everything(demo_con, VIEWER, Filters())
    texts = strings(results)
    assert not leaks(texts, world)
    full_names = {n for n in world["inside_names"] if len(n) >= 2}
    assert not texts & full_names
    masked = {mask_name(n) for n in full_names}
    assert len(texts & masked) > 50


def test_no_grants_means_no_rows(demo_con):
    nobody = Scope("leader", user="new")
    results = run_everything(demo_con, nobody, Filters())
    for name, parts in results.items():
        if name.startswith("pages/"):
            assert shows_nothing(parts), name
        elif name == "report pilots":  # one row per metric, always: none may count a unit
            assert (parts["pilot_units"] + parts["other_units"]).sum() == 0
        else:
            assert parts.empty, name


def test_every_table_is_shadowed_and_an_unknown_table_is_empty(demo_con):
    demo_con.execute("CREATE TABLE IF NOT EXISTS later_table AS SELECT 'x' AS anything")
    try:
        cur = access.scoped(demo_con, LEADER)
        try:
            tables = [r[0] for r in demo_con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                "AND table_catalog = current_database()").fetchall()]
            for table in tables:
                full = rows(demo_con, f"SELECT count(*) FROM {table}")[0][0]
                seen = rows(cur, f"SELECT count(*) FROM {table}")[0][0]
                if table in access.UNSCOPED_TABLES:
                    assert seen == full, table
                elif table in ("later_table", "audit_log"):
                    assert seen == 0, table
                else:
                    assert seen <= full, table
            assert rows(cur, "SELECT count(*) FROM people")[0][0] == rows(demo_con, """
                SELECT count(*) FROM people JOIN units USING (unit) WHERE district = ?""", [DISTRICT])[0][0]
            assert rows(cur, "SELECT count(*) FROM people WHERE id_hash IS NOT NULL") == [(0,)]
        finally:
            cur.close()
    finally:
        demo_con.execute("DROP TABLE later_table")


def test_an_administrator_gets_the_plain_store(demo_con):
    cur = access.scoped(demo_con, Scope("admin", user="root"))
    try:
        assert rows(cur, "SELECT count(*) FROM people") == rows(demo_con, "SELECT count(*) FROM people")
        assert rows(cur, "SELECT count(*) FROM duckdb_views() WHERE temporary AND NOT internal") == [(0,)]
    finally:
        cur.close()


@pytest.mark.parametrize("name, masked", [
    ("张伟", "张*"), ("张三伟", "张*伟"), ("欧阳明月", "欧**月"), ("李", "李"), (" 王小明 ", "王*明"), (None, None),
    ("阿卜杜拉·买买提", "阿******提"),
])
def test_mask_name_by_hand(name, masked):
    assert mask_name(name) == masked


def test_the_sql_mask_agrees_with_the_python_one(demo_con):
    cur = access.scoped(demo_con, VIEWER)
    try:
        names = ["张伟", "张三伟", "欧阳明月", "李", " 王小明 ", None, "阿卜杜拉·买买提", ""]
        got = [rows(cur, "SELECT kaohe_mask(?)", [n])[0][0] for n in names]
        assert got == [mask_name(n) for n in names]
        # the stored names of the district come back masked, one for one
        pairs = rows(demo_con, """SELECT p.person_id, p.name FROM people p JOIN units u USING (unit)
                                  WHERE district = ? ORDER BY 1""", [DISTRICT])
        assert rows(cur, "SELECT person_id, name FROM people ORDER BY 1") == [(i, mask_name(n)) for i, n in pairs]
    finally:
        cur.close()


def test_analytics_sql_never_names_a_catalog_or_escapes_the_views():
    """A query that qualified a table with the store's catalog would bypass the scoped views."""
    for path in (ROOT / "analytics").glob("*.py"):
        if path.name in ("access.py", "store.py", "importer.py", "demo.py"):
            continue
        text = path.read_text(encoding="utf-8")
        assert ".main." not in text and "current_database()" not in text, path.name
        assert ".cursor()" not in text or path.name in ("audit.py",), path.name
