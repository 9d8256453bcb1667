"""The benchmark's registry of page analytics: it covers every analysis and detail page of the app,
and each entry returns something to show on the demo store, with and without a district filter."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from analytics.filters import Filters
from analytics.page_analytics import PAGES, is_empty

ROOT = Path(__file__).resolve().parent.parent
DISTRICT = "西岭区"  # one of the demo's four districts (it holds a planted inflated unit)


def app_sections() -> dict[str, list[str]]:
    """Section title -> page files, read from the ``st.navigation`` dict in app.py."""
    module = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    lists: dict[str, list[str]] = {}
    sections: dict[str, str] = {}
    for node in module.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)):
            continue
        name = node.targets[0].id
        if isinstance(node.value, ast.List):
            lists[name] = [call.args[0].value for call in node.value.elts
                           if isinstance(call, ast.Call) and call.args and isinstance(call.args[0], ast.Constant)]
        elif name == "pages" and isinstance(node.value, ast.Dict):
            sections = {k.value: v.id for k, v in zip(node.value.keys, node.value.values, strict=True)}
    return {title: lists[var] for title, var in sections.items()}


def test_the_registry_covers_every_analysis_and_detail_page():
    sections = app_sections()
    wanted = sections["分析"] + sections["详情"]
    assert len(wanted) >= 10, wanted  # the parse found the navigation
    assert sorted(PAGES) == sorted(wanted)
    for page in PAGES:
        assert (ROOT / page).exists(), page


@pytest.mark.parametrize("filters", [Filters(), Filters(districts=(DISTRICT,))], ids=["default", "one-district"])
@pytest.mark.parametrize("page", sorted(PAGES))
def test_each_page_returns_results_on_the_demo(demo_con, page, filters):
    cur = demo_con.cursor()
    try:
        parts = PAGES[page].run(cur, filters, 5)
    finally:
        cur.close()
    assert parts, page
    empty = [name for name, value in parts.items() if is_empty(value)]
    assert not empty, f"{page}: empty parts {empty} with {filters.describe()}"


def test_a_filter_that_selects_nobody_gives_empty_results_not_errors(demo_con):
    nobody = Filters(districts=("不存在的区",))
    cur = demo_con.cursor()
    try:
        for page, entry in PAGES.items():
            parts = entry.run(cur, nobody, 5)
            assert any(is_empty(v) for v in parts.values()), page
    finally:
        cur.close()


def test_the_district_filter_reaches_the_queries(demo_con):
    cur = demo_con.cursor()
    try:
        everyone = PAGES["pages/unit.py"].run(cur, Filters(), 5)["people"]
        district = PAGES["pages/unit.py"].run(cur, Filters(districts=(DISTRICT,)), 5)["people"]
    finally:
        cur.close()
    assert 0 < len(district) < len(everyone)
