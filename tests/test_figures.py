"""Table number formats: what a table shows, while the data (and the downloads) stay numeric."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analytics.figures import log_ticks, table_formats


def test_counts_get_separators_years_and_row_numbers_do_not():
    frame = pd.DataFrame({
        "单位": ["甲局", "乙局"], "人数": [19989, 12], "年度": [2025, 2024], "最近年度": [2025, 2025], "行号": [1234, 5],
        "评价条数": [1069.0, 32900000.0], "平均分": [88.46, 90.0], "是否超出": [True, False],
    })
    shown, formats = table_formats(frame)
    assert formats == {"人数": "%,d", "年度": "%d", "最近年度": "%d", "行号": "%d", "评价条数": "%,d"}
    assert shown is frame  # nothing to rescale


def test_named_formats_percent_is_rescaled_for_display_only():
    frame = pd.DataFrame({"等次": ["好", "较好"], "占比": [0.352, float("nan")], "平均分": [88.46, 90.0],
                          "宽严度（分）": [7.8, -7.6], "备注": ["35.2%", "样本过少"]})
    shown, formats = table_formats(frame, {"占比": "pct", "平均分": "score", "宽严度（分）": "signed",
                                           "备注": "pct", "不在表中": "pct"})
    assert formats == {"占比": "%.1f%%", "平均分": "%.1f", "宽严度（分）": "%+.1f"}
    assert math.isclose(shown["占比"].iloc[0], 35.2) and pd.isna(shown["占比"].iloc[1])
    assert frame["占比"].iloc[0] == 0.352  # the caller's frame (the download) keeps the raw share
    assert list(shown["备注"]) == ["35.2%", "样本过少"]  # text columns are left as they are


@pytest.mark.parametrize(("low", "high", "ticks"), [
    (1, 10, [1, 2, 5, 10]), (3, 150, [5, 10, 20, 50, 100]), (5, 2000, [10, 100, 1000]),
    (1, 20000, [1, 10, 100, 1000, 10000]), (1, 1, [1]), (0, 3, [1, 2]),
])
def test_log_ticks_one_two_five(low, high, ticks):
    assert log_ticks(low, high) == ticks


def test_style_writes_thousands_and_keeps_the_legend_off_subplot_titles():
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from analytics.figures import style

    plain = style(go.Figure(go.Bar(x=["好"], y=[17838], name="人次")))
    assert plain.layout.xaxis.separatethousands and plain.layout.yaxis.exponentformat == "none"  # 18,000 not 18k
    assert plain.layout.legend.y == 1.02 and plain.layout.margin.t == 40

    panels = make_subplots(rows=1, cols=2, subplot_titles=("得分标准差（分）", "好等次比例（%）"))
    panels.add_trace(go.Scatter(x=[1], y=[1], name="联系点单位"), row=1, col=1)
    style(panels, height=340)
    assert math.isclose(panels.layout.legend.y, 1 + 34 / 340) and panels.layout.margin.t == 70
    assert all(axis.separatethousands for axis in (panels.layout.xaxis, panels.layout.xaxis2))
