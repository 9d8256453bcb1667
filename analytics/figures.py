"""Shared chart conventions: one colour per grade on every chart, Chinese number formats.

Colours are the Okabe–Ito palette, distinguishable with the common colour-vision deficiencies;
grades also keep a fixed order so position carries the meaning as well as colour.
"""

from __future__ import annotations

import math

import pandas as pd

QUARTER_GRADE_ORDER = ("好", "较好", "一般", "较差", "不确定等次")
ANNUAL_GRADE_ORDER = ("优秀", "称职", "合格", "基本称职", "基本合格", "不称职", "不合格", "不定等次", "不确定档次")
GRADE_COLORS = {
    "好": "#0072B2", "较好": "#56B4E9", "一般": "#E69F00", "较差": "#D55E00", "不确定等次": "#999999",
    "优秀": "#0072B2", "称职": "#56B4E9", "合格": "#56B4E9", "基本称职": "#E69F00", "基本合格": "#E69F00",
    "不称职": "#D55E00", "不合格": "#D55E00", "不定等次": "#999999", "不确定档次": "#999999",
}
SATURATION_BANDS = ("不饱和", "较饱和", "饱和", "超负荷")
BAND_COLORS = {"不饱和": "#E69F00", "较饱和": "#56B4E9", "饱和": "#009E73", "超负荷": "#D55E00"}
FLAG_COLOR = "#D55E00"
NEUTRAL_COLOR = "#0072B2"
MUTED_COLOR = "#999999"
FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"


def pct(value: float | None, digits: int = 1) -> str:
    """0.352 -> '35.2%'; missing -> '—'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value * 100:.{digits}f}%"


def score(value: float | None, digits: int = 1) -> str:
    """88.46 -> '88.5分'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}f}分"


def count(value: int | None, unit: str = "人") -> str:
    """1234 -> '1,234人'."""
    if value is None:
        return "—"
    return f"{int(value):,}{unit}"


def log_ticks(low: float, high: float) -> list[int]:
    """Tick values for a log axis from ``low`` to ``high``: 1, 2, 5, 10, 20, 50 … (only 1, 10, 100 …
    when that would give more than eight ticks), instead of plotly's labelled minor ticks 2 3 4 5 … 9."""
    low, high = max(low, 1), max(high, 1)
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    steps = (1, 2, 5)
    ticks = [m * 10**d for d in decades for m in steps if low <= m * 10**d <= high]
    if len(ticks) > 8:
        ticks = [t for t in ticks if str(t).startswith("1")]
    return ticks or [int(low)]


def log_axis(low: float, high: float, title: str) -> dict:
    """A readable log x axis: ticks 1-2-5 with thousands separators, no labelled minor ticks; the range
    reaches a little beyond the data on both sides."""
    ticks = log_ticks(low, high)
    span = (math.log10(max(low, 1)) - 0.05, math.log10(max(high, 1)) + 0.05)
    return {"type": "log", "title": title, "tickvals": ticks, "ticktext": [f"{t:,}" for t in ticks],
            "range": list(span), "minor": {"showgrid": False}}


def style(fig, height: int = 420):
    """Common layout for every plotly figure: font, margins, a horizontal legend above the plot
    (below it when the figure has a title, or above the titles of subplots, so that they never overlap),
    and numbers on the axes written out with thousands separators (1,000 and 20,000, not 1000 and 20k)."""
    titled = bool(fig.layout.title and fig.layout.title.text)
    subplot_titles = any(a.yref == "paper" and (a.y or 0) >= 0.99 for a in fig.layout.annotations or ())
    if titled:
        legend, top = {"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0}, 50
    else:
        lift = 34 / height if subplot_titles else 0.02  # above a line of subplot titles
        legend, top = {"orientation": "h", "yanchor": "bottom", "y": 1 + lift, "x": 0}, 70 if subplot_titles else 40
    fig.update_layout(
        font_family=FONT, height=height, margin={"l": 10, "r": 10, "t": top, "b": 10},
        legend=legend, hoverlabel={"font_family": FONT},
    )
    fig.update_xaxes(exponentformat="none", separatethousands=True)
    fig.update_yaxes(exponentformat="none", separatethousands=True)
    return fig


# --- tables -------------------------------------------------------------------------------------------
# How a table shows a numeric column. The data stays numeric (it sorts as numbers, and the downloads get
# the raw values); only the display changes. Formats are sprintf-js strings, as st.column_config takes.
TABLE_FORMATS = {
    "count": "%,d",  # 19,989
    "plain": "%d",  # years, batch numbers: 2025, not 2,025
    "pct": "%.1f%%",  # 0.352 -> 35.2% (the shown value is multiplied by 100)
    "pct0": "%.0f%%",
    "score": "%.1f",  # 88.5 (the column header says 分)
    "decimal": "%,.2f",
    "signed": "%+.1f",  # +7.8 (points above or below a benchmark)
    "hours": "%,.1f",  # 1,234.5
}
PERCENT_FORMATS = ("pct", "pct0")
IDENTIFIER_COLUMNS = ("年", "批次", "行号", "year")  # numbers, not amounts (and any column ending in 年度 or 年份)


def table_formats(frame: pd.DataFrame, formats: dict[str, str] | None = None
                  ) -> tuple[pd.DataFrame, dict[str, str]]:
    """The frame as a table shows it, and the display format of each numeric column.

    ``formats`` names a kind from TABLE_FORMATS per column (or gives a sprintf string). Unnamed columns:
    whole numbers (integer columns, and float columns whose values are all whole, such as counts that
    went through a join) get thousands separators, except years, batch and row numbers; other floats keep
    Streamlit's default. Percent columns are multiplied by 100 for display only.
    """
    formats = dict(formats or {})
    shown = frame
    out: dict[str, str] = {}
    for column in frame.columns:
        series = frame[column]
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue  # text (including numbers already written out, or 样本过少) is shown as it is
        kind = formats.get(column)
        if kind is None:
            if not _whole(series):
                continue
            kind = "plain" if _identifier(str(column)) else "count"
        if kind in PERCENT_FORMATS:
            if shown is frame:
                shown = frame.copy()
            shown[column] = pd.to_numeric(series, errors="coerce") * 100
        out[str(column)] = TABLE_FORMATS.get(kind, kind)
    return shown, out


def _identifier(column: str) -> bool:
    return column in IDENTIFIER_COLUMNS or column.endswith(("年度", "年份"))


def _whole(series: pd.Series) -> bool:
    if pd.api.types.is_integer_dtype(series):
        return True
    values = pd.to_numeric(series, errors="coerce").dropna()
    return bool(len(values)) and bool((values == values.round()).all())
