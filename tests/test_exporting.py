"""Downloads: CSV that Excel on Chinese Windows opens, workbooks, and「导出本页」."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd

from analytics import exporting


def test_csv_has_a_bom_and_round_trips():
    frame = pd.DataFrame({"单位": ["东湖区公安局"], "好等次比例": [0.352]})
    data = exporting.csv_bytes(frame)
    assert data.startswith(b"\xef\xbb\xbf")
    assert pd.read_csv(io.BytesIO(data), encoding="utf-8-sig").equals(frame)


def test_sheet_names_are_valid_and_distinct():
    names = exporting.sheet_names(["a/b", "x" * 40, "x" * 40, "", "评价[明细]"])
    assert names == ["a_b", "x" * 31, "x" * 29 + "_2", "表", "评价_明细_"]


def test_page_workbook_states_filters_date_and_method_then_every_table():
    tables = [("单位", pd.DataFrame({"单位": ["甲"], "人数": [3]})), ("单位", pd.DataFrame({"x": [1.5]}))]
    book = openpyxl.load_workbook(io.BytesIO(exporting.page_workbook(
        "等次分布", "地区：东湖区", "2026-11-20 10:00", "精确二项漏斗图", tables)))
    assert book.sheetnames == ["筛选条件与说明", "单位", "单位_2"]
    about = {r[0]: r[1] for r in book["筛选条件与说明"].iter_rows(min_row=2, values_only=True)}
    assert (about["页面"], about["筛选条件"], about["数据日期"], about["方法说明"]) == (
        "等次分布", "地区：东湖区", "2026-11-20 10:00", "精确二项漏斗图")
    assert list(book["单位"].iter_rows(values_only=True)) == [("单位", "人数"), ("甲", 3)]
    assert list(book["单位_2"].iter_rows(values_only=True)) == [("x",), (1.5,)]
