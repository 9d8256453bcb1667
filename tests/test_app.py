"""The Streamlit app under AppTest: pages render, and the import page imports, reports and undoes."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from filemaker import write_text
from streamlit.testing.v1 import AppTest

from analytics import store

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


@pytest.fixture
def empty_app(tmp_path, monkeypatch):
    monkeypatch.setenv("KAOHE_DB", str(tmp_path / "app.duckdb"))
    monkeypatch.setenv("KAOHE_ID_KEY", "test-key")
    monkeypatch.setenv("KAOHE_DEMO_ON_EMPTY", "0")
    # A single-user install: these tests are about importing; sign-in is tested in test_signin.py.
    monkeypatch.setenv("KAOHE_AUTH_MODE", "desktop")
    st.cache_resource.clear()
    st.cache_data.clear()
    yield tmp_path
    st.cache_resource.clear()


def run(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def roster_bytes(tmp_path: Path) -> bytes:
    return write_text(tmp_path / "r.csv", [
        ["人员编号", "姓名", "单位"], ["P1", "张三", "甲局"], ["P2", "李四", "甲局"],
    ], encoding="gb18030").read_bytes()


def test_data_page_on_an_empty_store_says_what_to_do(empty_app):
    at = run("pages/data_status.py")
    assert any("还没有数据" in w.value for w in at.warning)


def test_import_page_checks_imports_shows_history_and_undoes(empty_app):
    at = run("pages/import_data.py")
    at.file_uploader[0].set_value(("人员名册.csv", roster_bytes(empty_app), "text/csv"))
    at.run()
    assert not at.exception
    assert any("可导入" in e.label and "人员名册" in e.label for e in at.expander)
    import_button = next(b for b in at.button if b.label.startswith("导入"))
    import_button.click()
    at.run()
    assert any("共写入 2 行" in s.value for s in at.success)
    history = at.dataframe[-1].value
    assert list(history["文件"]) == ["人员名册.csv"] and list(history["状态"]) == ["有效"]

    at.checkbox[0].check()
    next(b for b in at.button if b.label == "撤销").click()
    at.run()
    assert any("已撤销批次 1" in s.value for s in at.success)
    with store.connect(empty_app / "app.duckdb") as con:
        assert store.counts(con)["people"] == 0


def test_import_page_lists_row_level_errors(empty_app):
    at = run("pages/import_data.py")
    bad = write_text(empty_app / "bad.csv", [
        ["人员编号", "季度", "得分"], ["P1", "2025Q1", "105"], ["P2", "2025年春", "90"],
    ]).read_bytes()
    at.file_uploader[0].set_value(("季度结果.csv", bad, "text/csv"))
    at.run()
    assert not at.exception
    errors = next(d.value for d in at.dataframe if "原因" in d.value.columns)
    assert errors[["行号", "列", "值"]].values.tolist() == [[2, "得分", "105"], [3, "季度", "2025年春"]]
    assert next(b for b in at.button if b.label.startswith("导入")).disabled


def _long_table_script() -> None:
    import sys

    import pandas as pd
    import streamlit as st

    sys.path.insert(0, st.session_state["root"])
    from analytics.access import Scope
    from ui import blocks, common

    st.session_state[common.SCOPE_KEY] = Scope(st.session_state["role"], districts=("东湖区",))
    frame = pd.DataFrame({"人员编号": [f"P{i:05d}" for i in range(2_500)], "小时": [i / 4 for i in range(2_500)]})
    blocks.show(frame)
    blocks.show(frame.head(3))


@pytest.mark.parametrize(("role", "download_hint"), [("leader", True), ("viewer", False)])
def test_a_long_table_shows_its_first_rows_and_says_how_many_there_are(role, download_hint):
    at = AppTest.from_function(_long_table_script)
    at.session_state["root"] = str(Path(__file__).resolve().parent.parent)
    at.session_state["role"] = role
    at.run()
    assert not at.exception
    long, short = at.dataframe
    assert len(long.value) == 2_000 and long.value["人员编号"].iloc[-1] == "P01999"
    assert len(short.value) == 3
    captions = [c.value for c in at.caption]
    assert captions == ["表格较长，这里只显示前 2,000 行（共 2,500 行；表头排序只对显示的行有效）。请用左侧筛选缩小范围"
                        + ("，或下载完整的表。" if download_hint else "。")]
