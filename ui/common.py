"""What every page needs: the settings, one store connection per process, a cursor per unit of
work, the demo-data banner, and table downloads."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from analytics import exporting, store
from analytics.config import ConfigError, Settings, load_settings
from analytics.store import StoreError

APP_USER = "看板用户"


@st.cache_resource(show_spinner=False)
def _settings() -> Settings:
    return load_settings()


def settings() -> Settings:
    try:
        return _settings()
    except ConfigError as exc:
        st.error(str(exc))
        st.stop()


@st.cache_resource(show_spinner="正在打开数据库……")
def _connection(db_path: str) -> duckdb.DuckDBPyConnection:
    return store.connect(db_path)


def connection() -> duckdb.DuckDBPyConnection:
    """The process-wide root connection. Never query it directly from a page: use ``cursor()``
    (DuckDB 2.0 refuses two threads on one connection)."""
    try:
        return _connection(str(settings().db_path))
    except StoreError as exc:
        st.error(str(exc))
        st.stop()


@contextmanager
def cursor() -> Iterator[duckdb.DuckDBPyConnection]:
    cur = connection().cursor()
    try:
        yield cur
    finally:
        cur.close()


# Bounded: at city scale one entry can hold tens of MB, and the app must stay under 2 GB.
@st.cache_data(max_entries=32, ttl=3600, show_spinner="正在计算，请稍候……")
def _compute(module: str, name: str, version: tuple, args: tuple, kwargs: tuple) -> Any:
    fn = getattr(importlib.import_module(module), name)
    with cursor() as cur:
        return fn(cur, *args, **dict(kwargs))


def compute(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(cursor, *args, **kwargs)``, cached per arguments (the filters among them) and per state of
    the data: a view seen before, by anyone, comes back at once, and any import or undo starts afresh.
    Arguments must be hashable values (Filters is)."""
    with cursor() as cur:
        version = store.data_version(cur)
    return _compute(fn.__module__, fn.__qualname__, version, args, tuple(sorted(kwargs.items())))


@st.cache_resource(show_spinner=False)
def _demo_loaded(db_path: str) -> bool:
    """Fill an empty store with demo data once per process (unless configured off)."""
    config = settings()
    with cursor() as cur:
        if not (config.demo_on_empty and store.is_empty(cur) and store.get_meta(cur, "auto_demo") != "off"):
            return False
        from analytics import demo, samples

        demo.build_demo(cur)
        samples.write_samples(cur, config.db_path.parent / "samples")
    return True


def ensure_demo() -> None:
    with st.spinner("首次启动：正在生成演示数据（约需十几秒）……"):
        _demo_loaded(str(settings().db_path))


def demo_banner() -> None:
    with cursor() as cur:
        demo = store.has_demo_data(cur)
    if demo:
        st.info(
            "**当前是演示数据**：虚构的青崖市，所有单位和人员均为程序生成，不代表任何真实情况。"
            "导入本单位数据前，可在「数据导入」页清除演示数据。",
            icon=":material/info:",
        )


PAGE_TABLES = "_page_tables"
PAGE_METHOD = "_page_method"
DEFAULT_METHOD = "各项指标的定义和计算方法见页面上的「指标说明」。"


def start_page() -> None:
    """Called by app.py before each page runs: the tables this run shows are collected anew."""
    st.session_state[PAGE_TABLES] = []
    st.session_state[PAGE_METHOD] = DEFAULT_METHOD


def method(text: str) -> None:
    """The page's method note, for the first sheet of「导出本页」."""
    st.session_state[PAGE_METHOD] = text


def export_page_button(title: str, filters_text: str) -> None:
    """「导出本页」in the sidebar: one workbook with every table the page showed."""
    tables = list(st.session_state.get(PAGE_TABLES, []))
    if not tables:
        return
    with cursor() as cur:
        data_date = store.data_date(cur)
    note = st.session_state.get(PAGE_METHOD, DEFAULT_METHOD)
    st.sidebar.download_button(
        "导出本页（Excel）",
        data=lambda: exporting.page_workbook(title, filters_text, data_date, note, tables),
        file_name=f"{title}.xlsx", mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/download:", width="stretch", key="export-page",
        help="把本页的全部表格导出为一个 Excel 文件，第一张表注明筛选条件、数据日期和方法。",
    )


def downloads(frame: pd.DataFrame, file_stem: str, key: str) -> None:
    """CSV (UTF-8 with BOM, opens in Excel) and Excel buttons for one table (also collected for
    「导出本页」)."""
    st.session_state.setdefault(PAGE_TABLES, []).append((file_stem, frame))
    # Files are built when clicked (on another thread, from the frame alone), not on every rerun.
    left, right, _ = st.columns([1, 1, 4])
    left.download_button(
        "下载 CSV", lambda: exporting.csv_bytes(frame), f"{file_stem}.csv", "text/csv", key=f"{key}-csv",
        width="stretch",
    )
    right.download_button(
        "下载 Excel", lambda: exporting.excel_bytes({file_stem: frame}), f"{file_stem}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=f"{key}-xlsx",
        width="stretch",
    )
