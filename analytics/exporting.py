"""Tables as downloadable files: CSV that opens in Excel on Chinese Windows, and xlsx workbooks."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Mapping, Sequence

import pandas as pd


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 with BOM, so Excel on Chinese Windows shows the characters correctly."""
    return frame.to_csv(index=False).encode("utf-8-sig")


_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def sheet_names(stems: Sequence[str]) -> list[str]:
    """Valid, distinct Excel sheet names: no []:*?/\\, at most 31 characters."""
    names: list[str] = []
    for stem in stems:
        base = _BAD_SHEET_CHARS.sub("_", stem).strip("'") or "表"
        name, n = base[:31], 2
        while name in names:
            suffix = f"_{n}"
            name, n = base[: 31 - len(suffix)] + suffix, n + 1
        names.append(name)
    return names


def excel_bytes(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """One sheet per table."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in zip(sheet_names(list(sheets)), sheets.values(), strict=True):
            frame.to_excel(writer, sheet_name=name, index=False)
    return buffer.getvalue()


def page_workbook(page: str, filters: str, data_date: str, method: str,
                  tables: Sequence[tuple[str, pd.DataFrame]]) -> bytes:
    """「导出本页」: every table of a page, after a first sheet stating what the numbers are."""
    about = pd.DataFrame({
        "项目": ["页面", "筛选条件", "数据日期", "导出时间", "方法说明"],
        "内容": [page, filters, data_date, dt.datetime.now().strftime("%Y-%m-%d %H:%M"), method],
    })
    sheets = {"筛选条件与说明": about}
    for name, frame in zip(sheet_names([s for s, _ in tables]), [f for _, f in tables], strict=True):
        sheets[name if name not in sheets else f"{name}_表"] = frame
    return excel_bytes(sheets)
