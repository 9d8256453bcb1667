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


# --- formula neutralisation (CSV/formula injection) -------------------------------------------

ATTACKS = ["=SUM(A1:A3)", "+1+1", "-5", "@SUM(A1)", "\t=1+1", "\r=1+1", "=cmd|' /C calc'!A0",
           "正常文本", "a=b", None]
NEUTRAL = ["'=SUM(A1:A3)", "'+1+1", "'-5", "'@SUM(A1)", "'\t=1+1", "'\r=1+1", "'=cmd|' /C calc'!A0",
           "正常文本", "a=b", None]


def attack_frame() -> pd.DataFrame:
    n = len(ATTACKS)
    return pd.DataFrame({
        "单位": ATTACKS,
        "=HYPERLINK(\"http://x\")": ["x"] * n,
        "人数": [-5, 3, 0, 7, -1, 2, 9, 4, 1, -100],
        "得分": [-0.5, 88.5, 1e-3, -3.25, 0.0, 100.0, 60.0, 75.5, -2.0, float("nan")],
    })


def test_csv_neutralises_formula_text_and_keeps_numbers_numeric():
    import csv

    data = exporting.csv_bytes(attack_frame())
    assert data.startswith(b"\xef\xbb\xbf")
    records = list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))
    assert records[0] == ["单位", "'=HYPERLINK(\"http://x\")", "人数", "得分"]
    assert [r[0] for r in records[1:]] == [v if v is not None else "" for v in NEUTRAL]
    assert [r[2] for r in records[1:]] == ["-5", "3", "0", "7", "-1", "2", "9", "4", "1", "-100"]
    assert [r[3] for r in records[1:]] == ["-0.5", "88.5", "0.001", "-3.25", "0.0", "100.0", "60.0",
                                          "75.5", "-2.0", ""]
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert str(back["人数"].dtype) == "int64" and str(back["得分"].dtype) == "float64"
    # No header or text cell starts like a formula (the numeric columns hold plain negative numbers).
    assert not any(c.startswith(exporting.FORMULA_PREFIXES) for r in records for c in r[:2])


def test_excel_neutralises_formula_text_keeps_numbers_numeric_and_writes_no_formula():
    book = openpyxl.load_workbook(io.BytesIO(exporting.excel_bytes({"表": attack_frame()})))
    sheet = book["表"]
    cells = list(sheet.iter_rows())
    assert [c.value for c in cells[0]] == ["单位", "'=HYPERLINK(\"http://x\")", "人数", "得分"]
    # XML turns a written CR into LF when read back (line-end normalisation); the ' stays first.
    assert [r[0].value for r in cells[1:]] == [v.replace("\r", "\n") if v else v for v in NEUTRAL]
    assert [r[2].value for r in cells[1:]] == [-5, 3, 0, 7, -1, 2, 9, 4, 1, -100]
    assert [r[3].value for r in cells[1:-1]] == [-0.5, 88.5, 1e-3, -3.25, 0.0, 100.0, 60.0, 75.5, -2.0]
    assert cells[-1][3].value is None
    assert {r[2].data_type for r in cells[1:]} == {"n"} and {r[3].data_type for r in cells[1:-1]} == {"n"}
    assert all(type(r[2].value) is int for r in cells[1:])
    assert {c.data_type for row in cells for c in row} == {"s", "inlineStr", "n"}  # never "f" (formula)


def test_page_workbook_neutralises_the_about_sheet_and_the_tables():
    tables = [("单位", pd.DataFrame({"单位": ["=1+1", "甲"], "差值": [-3, 2]}))]
    book = openpyxl.load_workbook(io.BytesIO(exporting.page_workbook(
        "等次分布", "=HYPERLINK(\"http://evil\",\"点我\")", "-2026", "@方法", tables)))
    about = {r[0]: r[1] for r in book["筛选条件与说明"].iter_rows(min_row=2, values_only=True)}
    assert (about["页面"], about["筛选条件"], about["数据日期"], about["方法说明"]) == (
        "等次分布", "'=HYPERLINK(\"http://evil\",\"点我\")", "'-2026", "'@方法")
    assert list(book["单位"].iter_rows(values_only=True)) == [("单位", "差值"), ("'=1+1", -3), ("甲", 2)]
    assert "f" not in {c.data_type for sheet in book for row in sheet.iter_rows() for c in row}


def test_neutralising_does_not_change_the_callers_frame_or_other_column_types():
    import datetime as dt

    frame = pd.DataFrame({"文本": pd.array(["-1", "x"], dtype="string"), "是否": [True, False],
                          "日期": [dt.datetime(2025, 1, 2), dt.datetime(2025, 3, 4)],
                          "类别": pd.Categorical(["=a", "b"])})
    copy = frame.copy()
    safe = exporting.neutralised(frame)
    assert frame.equals(copy)
    assert safe["文本"].tolist() == ["'-1", "x"] and safe["类别"].tolist() == ["'=a", "b"]
    assert safe["是否"].tolist() == [True, False] and safe["日期"].tolist() == frame["日期"].tolist()
    book = openpyxl.load_workbook(io.BytesIO(exporting.excel_bytes({"t": frame})))
    assert list(book["t"].iter_rows(values_only=True))[1:] == [
        ("'-1", True, dt.datetime(2025, 1, 2), "'=a"), ("x", False, dt.datetime(2025, 3, 4), "b")]
