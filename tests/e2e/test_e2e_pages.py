"""Every page, opened by clicking its link in the sidebar navigation, renders without any error and
shows its own title; a full-page screenshot of each goes to test-artifacts/screenshots/."""

from __future__ import annotations

import harness
from harness import expect

# Navigation label → (URL path, page title). app.py names each page's URL after its file.
PAGES = {
    "总览": ("/", "总览"),
    "分数分布": ("/distribution", "分数分布"),
    "等次分布": ("/grade_spread", "等次分布"),
    "工作饱和度": ("/saturation", "工作饱和度"),
    "好/一般 走势": ("/patterns", "好/一般 走势"),
    "联系点对比": ("/pilots", "联系点对比"),
    "评价人分析": ("/raters", "评价人分析"),
    "规则检查": ("/rules", "规则检查"),
    "单位人员": ("/unit", "单位人员"),
    "人员档案": ("/person", "人员档案"),
    "数据概况": ("/data_status", "数据概况"),
    "数据导入": ("/import_data", "数据导入"),
    "操作日志": ("/audit", "操作日志"),  # demo data: the visitor is an administrator
}
# What each analysis page must show besides its title (its first section, in words or a chart).
CONTENT = {
    "/": "需要关注的发现",
    "/distribution": "指标说明",
    "/grade_spread": "好等次比例漏斗图",
    "/saturation": "饱和度档次",
    "/patterns": "指标说明",
    "/pilots": "指标说明",
    "/raters": "评价人宽严度",
    "/rules": "指标说明",
    "/unit": "指标说明",
    "/person": "选择一个人",
    "/data_status": "各类数据",
    "/import_data": "导入历史",
    "/audit": "日志只增不改",
}


def test_every_page_from_the_sidebar_renders_without_errors(app, page):
    harness.open_url(page, app.url("/"))
    nav = page.locator("[data-testid='stSidebarNav'] a[data-testid='stSidebarNavLink']")
    labels = harness.page_nav_labels(page)
    assert labels == list(PAGES), f"the sidebar navigation changed: {labels}"

    seen = {}
    for label, (path, title) in PAGES.items():
        nav.filter(has_text=label).first.click()
        expect(page.locator("[data-testid='stMain'] h1")).to_have_text(title)
        harness.wait_idle(page)
        assert harness.url_path(page) == path, f"{label}: URL {page.url}"
        assert harness.h1(page) == [title], f"{label}: headings {harness.h1(page)}"
        assert harness.problems(page) == [], f"{label} ({path}): {harness.problems(page)}"
        expect(harness.main(page)).to_contain_text(CONTENT[path])
        expect(harness.main(page)).to_contain_text(harness.DEMO_BANNER)
        current = page.locator("[data-testid='stSidebarNav'] a[aria-current='page']")
        expect(current).to_contain_text(label)
        seen[path] = (page.locator("[data-testid='stPlotlyChart']").count(),
                      page.locator("[data-testid='stDataFrame']").count())
        name = path.strip("/") or "overview"
        harness.full_screenshot(page, harness.ARTIFACTS / "screenshots" / f"{name}.png")

    # The analysis pages draw charts and tables (a page that silently drew nothing would pass above).
    for path in ("/", "/distribution", "/grade_spread", "/saturation", "/patterns", "/pilots", "/raters", "/rules"):
        charts, tables = seen[path]
        assert charts >= 2 and tables >= 2, f"{path}: only {charts} charts and {tables} tables"
    assert page.js_errors == [], page.js_errors


def test_the_problem_detector_sees_a_missing_page(app, page):
    """The checks above can fail: an unknown URL shows Streamlit's "Page not found" dialog."""
    page.goto(app.url("/no_such_page"))
    expect(page.get_by_role("dialog")).to_contain_text("Page not found")
    assert any("Page not found" in p for p in harness.problems(page))
