"""Tables as downloadable files: CSV that opens in Excel on Chinese Windows, and xlsx workbooks.

Every text cell (and every text header) that a spreadsheet would read as a formula — one starting
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return — is written with a leading ``'`` so
that Excel, WPS or LibreOffice show it as text instead of running it (CSV/formula injection, see
docs/import-hardening.md). Numbers, dates and booleans are written as they are.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Mapping, Sequence

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutral_text(value: object) -> object:
    """A text value a spreadsheet would treat as a formula, prefixed with ``'``; anything else
    (numbers, dates, other text) unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` safe to open in a spreadsheet: text cells and text headers that start
    like a formula get a leading ``'``; numeric, date and boolean columns are left as they are."""
    out = frame.copy(deep=False)
    out.columns = [neutral_text(c) for c in frame.columns]
    for i, dtype in enumerate(frame.dtypes):
        if (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype)
                or pd.api.types.is_timedelta64_dtype(dtype)):
            continue  # numbers (negative ones too), booleans, dates: never text, never neutralised
        out.isetitem(i, frame.iloc[:, i].astype(object).map(neutral_text))
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 with BOM, so Excel on Chinese Windows shows the characters correctly. Lines end in CRLF,
    which also makes the writer quote any cell holding a bare carriage return (with a plain LF
    ending it would not, and the CR would split the row in a spreadsheet)."""
    return neutralised(frame).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


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
            neutralised(frame).to_excel(writer, sheet_name=name, index=False)
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
