"""Downloads: a table's CSV (UTF-8 with BOM, for Excel) and Excel file hold what the table on
screen shows, and「导出本页（Excel）」states the URL's filters on its first sheet."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import harness
import openpyxl
from harness import expect

FILTERS = {"year": "2025", "district": "北原县"}
FILTERS_IN_WORDS = "年度：2025；地区：北原县"  # Filters.describe() of the two above, written out


def download(page, button) -> tuple[str, bytes]:
    with page.expect_download() as info:
        button.click()
    done = info.value
    assert done.failure() is None, done.failure()
    return done.suggested_filename, Path(done.path()).read_bytes()


def sheet_rows(data: bytes, sheet: str | int = 0) -> list[list]:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    ws = book.worksheets[sheet] if isinstance(sheet, int) else book[sheet]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_table_downloads_match_the_table_on_screen(app, page):
    harness.open_url(page, app.url("/", **FILTERS))
    table = harness.dataframe_with(page, "人次")
    header = harness.dataframe_header(table)
    assert header[:2] == ["等次", "人次"], header
    rows_on_screen = harness.dataframe_rows(table)
    assert rows_on_screen and harness.dataframe_row_count(table) == len(rows_on_screen)

    name, data = download(page, harness.download_button(table, "下载 CSV"))
    assert name == "平时考核等次构成.csv"
    assert data.startswith(b"\xef\xbb\xbf"), data[:20]
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))
    assert rows[0] == header
    assert [r[0] for r in rows[1:]] == [r[0] for r in rows_on_screen]  # same grades, same order
    assert [r[1] for r in rows[1:]] == [r[1] for r in rows_on_screen]  # same counts

    name, data = download(page, harness.download_button(table, "下载 Excel"))
    assert name == "平时考核等次构成.xlsx"
    book = sheet_rows(data)
    assert [str(c) for c in book[0]] == header
    assert [str(r[1]) for r in book[1:]] == [r[1] for r in rows_on_screen]
    assert harness.problems(page) == []


def test_export_page_states_the_url_filters(app, page):
    harness.open_url(page, app.url("/", **FILTERS))
    expect(harness.main(page)).to_contain_text(f"所选范围（{FILTERS_IN_WORDS}）")
    button = harness.sidebar(page).get_by_role("button", name="导出本页（Excel）")
    name, data = download(page, button)
    assert name == "总览.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    assert book.sheetnames[0] == "筛选条件与说明"
    about = dict((r[0], r[1]) for r in sheet_rows(data, 0)[1:])
    assert about["页面"] == "总览"
    assert about["筛选条件"] == FILTERS_IN_WORDS
    assert about["数据日期"] and about["方法说明"]
    # Every table the page showed is in the workbook, with the header shown on screen.
    assert {"平时考核等次构成", "好等次占比走势"} <= set(book.sheetnames[1:]), book.sheetnames
    on_screen = harness.dataframe_header(harness.dataframe_with(page, "参评人次"))
    assert [str(c) for c in sheet_rows(data, "好等次占比走势")[0]] == on_screen
    assert harness.query(page) == {k: [v] for k, v in FILTERS.items()}  # downloading kept the view


def test_every_download_is_in_the_audit_log(app, page):
    """The downloads above (demo data: the visitor may open 操作日志) were each recorded with the file."""
    harness.open_url(page, app.url("/audit"))
    assert harness.h1(page) == ["操作日志"]
    table = harness.dataframe_with(page, "操作")
    header = harness.dataframe_header(table)
    exports = [r[header.index("内容")] for r in harness.dataframe_rows(table) if r[header.index("操作")] == "导出"]
    assert any(e.startswith("平时考核等次构成.csv（") for e in exports), exports
    assert any(e.startswith("平时考核等次构成.xlsx（") for e in exports), exports
    assert any(e.startswith("导出本页：总览.xlsx（") for e in exports), exports
