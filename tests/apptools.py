"""Helpers for AppTest page tests on the demo store (fixture ``demo_app`` in conftest.py)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent


def open_page(page: str, filters: dict[str, list[str] | str] | None = None) -> AppTest:
    """Run the app on ``page`` (e.g. "pages/raters.py"), the sidebar filters given as URL query
    parameters, as a bookmarked link would give them. Fails on any exception."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in (filters or {}).items():
        at.query_params[key] = value
    at.run()  # the entry point first (navigation, sidebar, filters), then the page
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def empty_combination(con) -> tuple[str, str]:
    """A district and a sector that no unit has together: selecting both leaves nobody."""
    return con.execute("""
        SELECT d.district, s.sector
        FROM (SELECT DISTINCT district FROM units) d, (SELECT DISTINCT sector FROM units) s
        WHERE NOT EXISTS (SELECT 1 FROM units u WHERE u.district = d.district AND u.sector = s.sector)
        ORDER BY ALL LIMIT 1
    """).fetchall()[0]


def shown_formats(frame_element) -> dict[str, str]:
    """The display format of each column of an ``st.dataframe`` under AppTest (its column config)."""
    import json

    config = json.loads(frame_element.proto.columns or "{}")
    return {column: c["type_config"]["format"] for column, c in config.items()
            if c.get("type_config", {}).get("format")}
