"""Building blocks every analysis page uses: a chart with its one-line reading guide, a table with
downloads, an empty state, and drill-down links."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.figures import style, table_formats
from ui import common

# Rows a table shows on screen. A whole city's people (20,000 rows) is megabytes for the browser to
# receive and lay out, and no one reads it on screen: the rest is reached by filtering, or downloaded.
SHOW_ROWS = 2_000


def chart(fig, how_to_read: str, key: str, selectable: bool = False):
    """A plotly chart and, under it, one line that says what it shows and how to read it.

    With ``selectable``, returns the points the user clicked or boxed (else None).
    """
    style(fig, height=fig.layout.height or 420)
    event = st.plotly_chart(
        fig, key=key, width="stretch",
        on_select="rerun" if selectable else "ignore",
        selection_mode=("points",) if selectable else ("points", "box", "lasso"),
        config={"displaylogo": False, "locale": "zh-CN"},
    )
    st.caption(how_to_read)
    if selectable and event and event.selection and event.selection.points:
        return event.selection.points
    return None


def show(frame: pd.DataFrame, formats: dict[str, str] | None = None, hidden: tuple[str, ...] = (), **kwargs):
    """``st.dataframe`` with the project's number formats (thousands separators, 35.2%, years as
    2025): the data stays numeric, only the display changes. ``formats`` as in
    ``analytics.figures.table_formats``; ``hidden`` columns, and columns without a single value, are
    left off the screen (not out of the downloads). Returns what ``st.dataframe`` returns (the selection)."""
    shown, fmts = table_formats(frame, formats)
    config = {column: st.column_config.NumberColumn(format=fmt) for column, fmt in fmts.items()}
    config.update(kwargs.pop("column_config", None) or {})
    blank = [c for c in frame.columns if len(frame) and frame[c].isna().all()]  # shows None in every row
    if hidden or blank:
        kwargs["column_order"] = [c for c in frame.columns if c not in hidden and c not in blank]
    kwargs.setdefault("placeholder", "—")  # a missing value, as figures.pct writes it (Streamlit: "None")
    total = len(shown)
    if total > SHOW_ROWS:
        shown = shown.iloc[:SHOW_ROWS]
    selected = st.dataframe(shown, hide_index=True, width="stretch", column_config=config, **kwargs)
    if total > SHOW_ROWS:
        rest = "，或下载完整的表" if common.scope().can_export else ""
        st.caption(f"表格较长，这里只显示前 {SHOW_ROWS:,} 行（共 {total:,} 行；表头排序只对显示的行有效）。"
                   f"请用左侧筛选缩小范围{rest}。")
    return selected


def table(frame: pd.DataFrame, stem: str, key: str, caption: str | None = None,
          formats: dict[str, str] | None = None, hidden: tuple[str, ...] = (), **kwargs) -> None:
    """The table behind a chart, with CSV and Excel downloads (of the raw numbers and every column,
    hidden ones included, not of the display)."""
    if caption:
        st.caption(caption)
    show(frame, formats, hidden, **kwargs)
    common.downloads(frame, stem, key)


def empty(what_to_change: str = "请放宽左侧的筛选条件（年度、地区、单位等）。") -> None:
    st.info(f"当前筛选条件下没有数据。{what_to_change}", icon=":material/search_off:")


def unit_link(unit: str, label: str | None = None) -> None:
    st.page_link("pages/unit.py", label=label or f"查看「{unit}」的人员", icon=":material/apartment:",
                  query_params={"unit": unit})


def person_link(person_id: str, label: str | None = None) -> None:
    st.page_link("pages/person.py", label=label or f"查看 {person_id} 的完整记录", icon=":material/person:",
                  query_params={"person": person_id})
