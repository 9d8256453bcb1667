"""Tables as downloadable files: CSV that opens in Excel on Chinese Windows, and xlsx workbooks."""

from __future__ import annotations

import io
from collections.abc import Mapping

import pandas as pd


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 with BOM, so Excel on Chinese Windows shows the characters correctly."""
    return frame.to_csv(index=False).encode("utf-8-sig")


def excel_bytes(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """One sheet per table; sheet names cut to Excel's 31 characters."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name[:31] or "Sheet1", index=False)
    return buffer.getvalue()
