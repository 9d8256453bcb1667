"""Sign-in in the browser, on an app whose store holds real (non-demo) data: a bookmark asks for
sign-in and then shows its view; a district leader typing URLs for another district's unit or for the
administrators' pages gets nothing of them; a viewer sees masked names and no download button; the
administrator reads every attempt in 操作日志."""

from __future__ import annotations

import re

import harness
import pytest
from harness import expect

from analytics import demo, store

PASSWORD = "e2e district password"
ACCOUNTS = {"lead-e2e": (PASSWORD, "leader", ("东湖区",)), "view-e2e": (PASSWORD, "viewer", ("东湖区",))}
OTHER_UNIT = "西岭区财政局"


@pytest.fixture(scope="module")
def real_app(tmp_path_factory, browser):
    workdir = tmp_path_factory.mktemp("e2e-signin")
    con = store.connect(workdir / "e2e.duckdb")
    try:
        demo.build_demo(con)
        con.execute("UPDATE import_batch SET is_demo = false")  # as if imported: sign-in is required
    finally:
        con.close()
    try:
        running = harness.start_app(workdir, accounts=ACCOUNTS, env_extra={"KAOHE_DEMO_ON_EMPTY": "0"})
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield running
    running.stop()


@pytest.fixture
def tab(real_app, context):
    page = context.new_page()
    yield page
    page.close()


def text_of(page) -> str:
    return page.locator("body").inner_text()


def test_a_bookmark_asks_for_sign_in_then_shows_its_view(real_app, tab):
    harness.open_url(tab, real_app.url("/raters", district="东湖区"), as_user=None)
    assert harness.signing_in(tab)
    assert "东湖区" not in text_of(tab)  # nothing of the data before signing in
    harness.sign_in(tab, "lead-e2e", "wrong password")
    expect(harness.main(tab).locator("[data-testid='stAlertContentError']")).to_contain_text("账号或密码错误")
    harness.sign_in(tab, "lead-e2e", PASSWORD)
    expect(harness.main(tab).locator("h1").first).to_have_text("评价人分析")
    harness.wait_idle(tab)
    assert harness.url_path(tab) == "/raters"
    assert harness.chips(tab, "地区") == ["东湖区"]
    expect(harness.sidebar(tab)).to_contain_text("当前用户：lead-e2e（领导）")
    assert harness.problems(tab) == []


def test_a_leader_gets_nothing_of_another_district_from_crafted_urls(real_app, tab):
    harness.open_url(tab, real_app.url("/unit", unit=OTHER_UNIT, district="西岭区"),
                     as_user=("lead-e2e", PASSWORD))
    assert harness.h1(tab) == ["单位人员"]
    # The only mention is the notice that echoes the link's own values as ignored (the same words as
    # for a district that does not exist); no data of the district is anywhere on the page.
    notice = harness.main(tab).locator("[data-testid='stAlertContentWarning']").filter(has_text="已忽略")
    expect(notice).to_contain_text(OTHER_UNIT)
    shown = harness.main(tab).inner_text().replace(notice.inner_text(), "")
    assert "西岭区" not in shown
    assert harness.chips(tab, "单位") == [] and harness.chips(tab, "地区") == []
    assert harness.sidebar_options(tab, "地区") == ["东湖区"]  # the only district offered
    for path in ("/import_data", "/audit"):
        harness.open_url(tab, real_app.url(path), as_user=("lead-e2e", PASSWORD))
        assert harness.h1(tab) not in (["数据导入"], ["操作日志"]), path
        assert harness.page_nav_labels(tab) and not {"数据导入", "操作日志"} & set(harness.page_nav_labels(tab))


def test_a_viewer_sees_masked_names_and_no_downloads(real_app, tab):
    harness.open_url(tab, real_app.url("/unit"), as_user=("view-e2e", PASSWORD))
    table = harness.dataframe_with(tab, "姓名")
    header = harness.dataframe_header(table)
    names = [row[header.index("姓名")] for row in harness.dataframe_rows(table)]
    assert names and all(re.fullmatch(r".\*+.?", n) for n in names), names[:5]
    assert tab.locator("[data-testid='stDownloadButton']").count() == 0
    # Nor from the table's own toolbar (client.disableDataExport): it shows, without a download.
    table.hover()
    toolbar = table.locator("xpath=ancestor::*[@data-testid='stElementContainer'][1]").locator(
        "[data-testid='stElementToolbar']")
    expect(toolbar.get_by_role("button").first).to_be_visible()
    labels = [b.get_attribute("aria-label") or b.inner_text() for b in toolbar.get_by_role("button").all()]
    assert labels and not [x for x in labels if "ownload" in x or "下载" in x], labels
    expect(harness.sidebar(tab)).to_contain_text("姓名已脱敏；不可导出")


def test_the_administrator_reads_every_attempt_in_the_audit_log(real_app, tab):
    harness.open_url(tab, real_app.url("/audit"))  # signs in as the harness's administrator
    assert harness.h1(tab) == ["操作日志"]
    table = harness.dataframe_with(tab, "操作")
    header = harness.dataframe_header(table)
    seen = {(r[header.index("账号")], r[header.index("操作")], r[header.index("结果")])
            for r in harness.dataframe_rows(table)}
    assert {("lead-e2e", "登录失败", "失败"), ("lead-e2e", "登录", "成功"), ("view-e2e", "登录", "成功"),
            (harness.ADMIN[0], "登录", "成功")} <= seen
