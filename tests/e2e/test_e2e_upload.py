"""The import page in the browser: a sample export is checked, imported, shows in the history and
is undone; the deliberately broken sample is refused with every bad row listed.

The import test changes the store (and undoes the change), so this file runs last (file name order)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import harness
from harness import expect

from analytics import samples


def upload(page, *paths: Path) -> None:
    """Choose files the way a user does: the uploader's button opens the file chooser."""
    with page.expect_file_chooser() as chooser:
        harness.main(page).locator("[data-testid='stFileUploaderDropzone'] button").click()
    chooser.value.set_files([str(p) for p in paths])


def expander(page, text: str):
    return harness.main(page).locator("[data-testid='stExpander'] summary").filter(has_text=text)


def history(page) -> dict[str, dict[str, str]]:
    """The 导入历史 table as shown, newest batch first: batch number → row."""
    table = harness.dataframe_with(page, "批次")
    head = harness.dataframe_header(table)
    rows = [dict(zip(head, r, strict=True)) for r in harness.dataframe_rows(table)]
    return {r["批次"]: r for r in rows}


def undo(page, batch: str, name: str) -> None:
    """Undo one batch from the form on the import page: pick it, confirm, press 撤销."""
    form = harness.main(page).locator("[data-testid='stForm']")
    picker = form.locator("input[aria-label='撤销一次导入']")
    picker.click()
    picker.fill("")
    picker.press_sequentially(f"批次 {batch}：")
    page.get_by_role("option", name=re.compile(f"^批次 {batch}：")).click()
    expect(picker).to_have_value(re.compile(f"^批次 {batch}：{re.escape(name)}"))
    box = form.get_by_role("checkbox", name="我确认要撤销这次导入")
    if not box.is_checked():
        form.get_by_text("我确认要撤销这次导入").click()
    form.get_by_role("button", name="撤销").click()
    expect(harness.main(page).locator("[data-testid='stAlertContentSuccess']")).to_contain_text(f"已撤销批次 {batch}")
    harness.wait_idle(page)


def status_after(page, batch: str, prefix: str) -> str:
    """The batch's 状态 once it starts with ``prefix`` (the grid may redraw a moment after the run
    that changed it), or as it is when the step's time is up."""
    deadline = time.monotonic() + harness.STEP_TIMEOUT_MS / 1000
    while True:
        status = history(page)[batch]["状态"]
        if status.startswith(prefix) or time.monotonic() > deadline:
            return status
        page.wait_for_timeout(250)


def undo_options(page) -> list[str]:
    """The batches the 撤销一次导入 box offers (opens its list and closes it again)."""
    picker = harness.main(page).locator("[data-testid='stForm'] input[aria-label='撤销一次导入']")
    picker.click()
    picker.fill("")
    options = page.get_by_role("option")
    options.first.wait_for()
    texts = [t.strip() for t in options.all_inner_texts()]
    page.keyboard.press("Escape")
    return texts


def quarterly_coverage(app, page) -> str:
    """What 数据概况 says the stored 平时考核结果 cover (e.g. "2023Q1 至 2025Q4")."""
    harness.open_url(page, app.url("/data_status"))
    table = harness.dataframe_with(page, "覆盖范围")
    header = harness.dataframe_header(table)
    row = next(r for r in harness.dataframe_rows(table) if r[0] == "平时考核结果")
    return row[header.index("覆盖范围")]


def expected_errors(path: Path) -> list[list[str]]:
    """The bad rows of the error sample, worked out from the file itself (line number = row number
    in Excel): score 105, grade 優良, quarter 第五季度, the repeated line, and unknown person P99999."""
    lines = path.read_text(encoding="utf-8").splitlines()
    row = {i + 1: line.split(",") for i, line in enumerate(lines)}
    want = []
    for n, cells in row.items():
        if n == 1:
            continue
        if cells[4] == "105":
            want.append([str(n), "得分", "105"])
        if cells[5] == "優良":
            want.append([str(n), "等次", "優良"])
        if "第五季度" in cells[3]:
            want.append([str(n), "考核周期", cells[3]])
        if lines[n - 1] in lines[1:n - 1]:
            want.append([str(n), "人员编号", ""])  # the repeated line: no single value is wrong
        if cells[0] == "P99999":
            want.append([str(n), "人员编号", "P99999"])
    return want


def test_the_error_sample_is_refused_with_each_bad_row(app, page):
    path = app.samples / samples.ERROR_FILE
    harness.open_url(page, app.url("/import_data"))
    upload(page, path)
    expect(harness.main(page).locator("h3").filter(has_text="错误清单")).to_be_visible()
    harness.wait_idle(page)

    expect(expander(page, samples.ERROR_FILE)).to_contain_text("❌ 有错误")
    table = harness.dataframe_with(page, "原因")
    header = harness.dataframe_header(table)
    assert header[-4:] == ["行号", "列", "值", "原因"] and header[0] == "文件", header
    at = [header.index(c) for c in ("行号", "列", "值")]
    rows = harness.dataframe_rows(table)
    want = expected_errors(path)
    assert len(want) == 5, want
    assert [[r[i] for i in at] for r in rows] == want
    assert {r[0] for r in rows} == {samples.ERROR_FILE}
    reasons = {r[at[0]]: r[header.index("原因")] for r in rows}
    assert "100" in reasons[want[0][0]] and "重复" in reasons[want[3][0]] and "P99999" in reasons[want[4][0]], reasons
    expect(harness.main(page).locator("[data-testid='stAlertContentError']")).to_contain_text(
        "发现 5 个错误，整个文件未导入")
    expect(harness.main(page).get_by_role("button", name=re.compile(r"^导入 0 个文件$"))).to_be_disabled()


def test_samples_are_imported_listed_and_undone(app, page):
    """Two sample exports are checked and imported at once (two batches), show in the history and in
    数据概况, and are undone one by one. Between the two undos 撤销 is pressed again without a new
    confirmation: that must not undo the other batch (it once did: the confirmation stayed ticked and
    the form had moved on to the next batch)."""
    files = [samples.F_QUARTERLY_XLSX, samples.F_MONTHLY]
    assert quarterly_coverage(app, page).endswith("2025Q4")  # the demo ends there; the samples are 2026

    harness.open_url(page, app.url("/import_data"))
    upload(page, *[app.samples / name for name in files])
    for name in files:
        expect(expander(page, name)).to_contain_text("✅ 可导入")
    harness.wait_idle(page)
    rows = {}
    for name, kind in zip(files, ("平时考核结果", "月度对账"), strict=True):
        header = expander(page, name).inner_text()
        assert kind in header, header
        rows[name] = int(re.search(r"([\d,]+) 行", header).group(1).replace(",", ""))
        assert rows[name] >= 5, header

    harness.main(page).get_by_role("button", name="导入 2 个文件").click()
    done = harness.main(page).locator("[data-testid='stAlertContentSuccess']").filter(has_text="导入完成")
    expect(done).to_contain_text(f"导入完成：共写入 {sum(rows.values()):,} 行。")
    harness.wait_idle(page)
    for name in files:
        expect(expander(page, name).filter(has_text="✅ 已导入")).to_have_count(1)

    shown = history(page)
    newer, older = list(shown)[:2]  # newest batch first: the two just imported
    for batch in (newer, older):
        row = shown[batch]
        assert row["文件"] in files and row["状态"] == "有效" and row["行数"] == str(rows[row["文件"]]), row
    assert {shown[newer]["文件"], shown[older]["文件"]} == set(files)
    try:
        # Real (non-demo) data is now in the store: a new visit must sign in first.
        harness.open_url(page, app.url("/"), as_user=None)
        assert harness.signing_in(page), harness.h1(page)
        assert harness.sidebar(page).locator("[data-testid='stMultiSelect']").count() == 0
        assert quarterly_coverage(app, page).endswith("2026Q1")  # the import reached the store (signed in)

        harness.open_url(page, app.url("/import_data"))
        undo(page, newer, shown[newer]["文件"])
        assert status_after(page, newer, "已撤销").startswith("已撤销")  # the same screen shows the undo
        assert not any(o.startswith(f"批次 {newer}：") for o in undo_options(page)), "an undone batch is offered"

        form = harness.main(page).locator("[data-testid='stForm']")
        expect(form.get_by_role("checkbox", name="我确认要撤销这次导入")).not_to_be_checked()
        form.get_by_role("button", name="撤销").click()  # once more, without confirming again
        expect(harness.main(page).locator("[data-testid='stAlertContentWarning']")).to_contain_text("请先勾选")
        harness.wait_idle(page)
        assert history(page)[older]["状态"] == "有效", f"pressing 撤销 again also undid batch {older}"

        undo(page, older, shown[older]["文件"])
        assert status_after(page, older, "已撤销").startswith("已撤销")
        assert harness.problems(page) == []
        harness.open_url(page, app.url("/"), as_user=None)  # demo data only again: open without sign-in
        assert harness.h1(page) == ["总览"]
    finally:  # leave the store as the demo was, whatever failed above
        harness.open_url(page, app.url("/import_data"))
        for batch in (newer, older):
            if history(page)[batch]["状态"] == "有效":
                undo(page, batch, shown[batch]["文件"])
    assert quarterly_coverage(app, page).endswith("2025Q4")  # and the undo took it out again
