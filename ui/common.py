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

from analytics import access, audit, exporting, overview, store
from analytics.access import Scope
from analytics.config import ConfigError, Settings, load_settings
from analytics.store import StoreError

SCOPE_KEY = "_scope"
ADMIN_PAGES = frozenset({"import_data", "audit"})


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


def scope() -> Scope:
    """What the user of this session may see (set by the sign-in in app.py). Default deny: a session
    that has not passed the sign-in gate sees nothing."""
    return st.session_state.get(SCOPE_KEY) or Scope("viewer", user="")


def user_name() -> str:
    return scope().user or "未登录"


def client() -> str | None:
    try:
        address = st.context.ip_address
    except Exception:  # not in a browser session (bare mode)
        return None
    return address if isinstance(address, str) else None  # AppTest has no real address


def log(action: str, detail: str = "", ok: bool = True) -> None:
    """One entry in the audit log, as the signed-in user."""
    audit.record(connection(), user_name(), action, detail, ok=ok, role=scope().role, client=client())


def require_admin() -> None:
    """First line of an administrators' page (after ``router.enter``): anyone else gets nothing."""
    if not scope().is_admin:
        log("denied", "打开仅限管理员的页面", ok=False)
        st.error("此页面仅限管理员使用。")
        st.stop()


def admin_now(action: str) -> bool:
    """For a callback that changes data: Streamlit runs callbacks before app.py's sign-in gate, so
    the session's right is checked afresh here (a sign-out, a removed account, or real data arriving
    in an unsigned session all take effect)."""
    from ui import signin

    try:
        current = signin.resolve()
    except Exception:
        current = None
    if current is not None and current.is_admin:
        return True
    log("denied", f"{action}：需要管理员登录", ok=False)
    return False


@contextmanager
def root_cursor() -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor that sees the whole store: only for bookkeeping (data version, demo, imports)."""
    cur = connection().cursor()
    try:
        yield cur
    finally:
        cur.close()


@contextmanager
def cursor(for_scope: Scope | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor that sees only what the session's user may see (see ``analytics.access``)."""
    cur = access.scoped(connection(), for_scope or scope())
    try:
        yield cur
    finally:
        cur.close()


# Bounded: at city scale one entry can hold tens of MB, and the app must stay under 2 GB.
@st.cache_data(max_entries=32, ttl=3600, show_spinner="正在计算，请稍候……")
def _compute(module: str, name: str, version: tuple, who: Scope, args: tuple, kwargs: tuple) -> Any:
    fn = getattr(importlib.import_module(module), name)
    with cursor(who) as cur:
        return fn(cur, *args, **dict(kwargs))


def compute(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(cursor, *args, **kwargs)`` on the session's scoped cursor, cached per arguments (the
    filters among them), per scope and per state of the data: a view seen before by anyone with the
    same access comes back at once, and any import or undo starts afresh. Arguments must be hashable
    values (Filters is)."""
    with root_cursor() as cur:
        version = store.data_version(cur)
    key = access.grants(scope())  # what the scope grants, not who holds it
    return _compute(fn.__module__, fn.__qualname__, version, key, args, tuple(sorted(kwargs.items())))


@st.cache_data(max_entries=32, ttl=3600, show_spinner="正在汇总各页的发现，请稍候……")
def _leads(version: tuple, who: Scope, filters: Any, min_group: int) -> overview.Leads:
    def compute() -> overview.Leads:
        with cursor(who) as cur:  # the scoped views are built only when the store has no findings kept
            return overview.all_leads(cur, filters, min_group)

    with root_cursor() as root:
        return overview.remembered_leads(root, filters, min_group, who, compute)


def leads(filters: Any, min_group: int) -> overview.Leads:
    """总览's findings for the session's user: from memory, else from the store's memo (kept per state of
    the data, so only the first visit after an import computes them), else computed."""
    with root_cursor() as cur:
        version = store.data_version(cur)
    return _leads(version, access.grants(scope()), filters, min_group)


@st.cache_resource(show_spinner=False)
def _demo_loaded(db_path: str) -> bool:
    """Fill an empty store with demo data once per process (unless configured off)."""
    config = settings()
    with root_cursor() as cur:
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
    with root_cursor() as cur:
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


def export_filters_text(filters: Any, who: Scope) -> str:
    """The filters in words for an export; a scoped user's file also says it covers only the grants."""
    return filters.describe() + ("" if who.everything else f"；账号可见范围：{who.describe()}")


def export_page_button(title: str, filters_text: str) -> None:
    """「导出本页」in the sidebar: one workbook with every table the page showed."""
    tables = list(st.session_state.get(PAGE_TABLES, []))
    if not tables or not scope().can_export:
        return
    with root_cursor() as cur:
        data_date = store.data_date(cur)
    note = st.session_state.get(PAGE_METHOD, DEFAULT_METHOD)
    st.sidebar.download_button(
        "导出本页（Excel）",
        data=_audited(f"导出本页：{title}.xlsx（{filters_text}）",
                      lambda: exporting.page_workbook(title, filters_text, data_date, note, tables)),
        file_name=f"{title}.xlsx", mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        icon=":material/download:", width="stretch", key="export-page",
        help="把本页的全部表格导出为一个 Excel 文件，第一张表注明筛选条件、数据日期和方法。",
    )


def downloads(frame: pd.DataFrame, file_stem: str, key: str) -> None:
    """CSV (UTF-8 with BOM, opens in Excel) and Excel buttons for one table (also collected for
    「导出本页」)."""
    if not scope().can_export:
        return
    st.session_state.setdefault(PAGE_TABLES, []).append((file_stem, frame))
    # Files are built when clicked (on another thread, from the frame alone), not on every rerun.
    left, right, _ = st.columns([1, 1, 4])
    left.download_button(
        "下载 CSV", _audited(f"{file_stem}.csv（{len(frame):,} 行）", lambda: exporting.csv_bytes(frame)),
        f"{file_stem}.csv", "text/csv", key=f"{key}-csv",
        width="stretch",
    )
    right.download_button(
        "下载 Excel", _audited(f"{file_stem}.xlsx（{len(frame):,} 行）",
                              lambda: exporting.excel_bytes({file_stem: frame})), f"{file_stem}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=f"{key}-xlsx",
        width="stretch",
    )


def _audited(detail: str, build: Callable[[], bytes]) -> Callable[[], bytes]:
    """A download's file builder that first records the export in the audit log. The builder runs
    on another thread when the button is clicked, so who is exporting is captured now."""
    con, who, where = connection(), scope(), client()

    def run() -> bytes:
        data = build()
        audit.record(con, who.user or "未登录", "export", detail, role=who.role, client=where)
        return data

    return run
