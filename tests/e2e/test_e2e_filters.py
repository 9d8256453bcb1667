"""The sidebar filters live in the URL: changing one changes the URL and the page, the URL opened
elsewhere gives the same view, and deep links to pages with filters work."""

from __future__ import annotations

import re

import harness
from harness import expect

HEADLINE = re.compile(r"共 [\d,]+ 个单位、")  # 全部数据共 62 个单位、… or 所选范围（…）共 12 个单位、…


def headline(page) -> str:
    """The overview's sentence under the title: the population in numbers."""
    line = harness.main(page).locator("[data-testid='stMarkdownContainer']").filter(has_text=HEADLINE).first
    return line.inner_text().strip()


def test_a_district_filter_goes_into_the_url_and_the_link_reproduces_the_view(app, page, browser):
    harness.open_url(page, app.url("/"))
    before = headline(page)
    assert before.startswith("全部数据共 "), before
    mix_before = harness.chart_traces(harness.chart_under(page, "平时考核等次构成"))

    districts = harness.sidebar_options(page, "地区")
    assert len(districts) >= 2, districts
    district = districts[-1]
    harness.choose(page, "地区", district)
    page.wait_for_url(lambda url: "district=" in url)
    expect(harness.main(page).locator("[data-testid='stMarkdownContainer']").filter(
        has_text=HEADLINE).first).to_contain_text(f"所选范围（地区：{district}）")
    harness.wait_idle(page)

    assert harness.query(page) == {"district": [district]}, page.url
    assert harness.chips(page, "地区") == [district]
    after = headline(page)
    assert after != before
    units_all = int(before.split("共 ")[1].split(" 个单位")[0].replace(",", ""))
    units_one = int(after.split("共 ")[1].split(" 个单位")[0].replace(",", ""))
    assert 0 < units_one < units_all, (before, after)
    mix_after = harness.chart_traces(harness.chart_under(page, "平时考核等次构成"))
    assert mix_after != mix_before, "the grade-mix chart did not change with the district"
    assert harness.problems(page) == []

    shared = page.url
    other = browser.new_context(viewport=harness.VIEWPORT, locale="zh-CN")
    try:
        fresh = other.new_page()
        harness.open_url(fresh, shared)
        assert harness.chips(fresh, "地区") == [district]
        assert headline(fresh) == after
        assert harness.chart_traces(harness.chart_under(fresh, "平时考核等次构成")) == mix_after
        assert harness.problems(fresh) == []
    finally:
        other.close()


def test_deep_link_to_raters_with_a_district(app, page):
    harness.open_url(page, app.url("/raters", district="北原县"))
    assert harness.url_path(page) == "/raters"
    assert harness.h1(page) == ["评价人分析"]
    assert harness.problems(page) == []
    expect(page.locator("[data-testid='stSidebarNav']")).to_be_visible()
    expect(harness.main(page)).to_contain_text(harness.DEMO_BANNER)
    assert harness.chips(page, "地区") == ["北原县"]
    assert harness.query(page) == {"district": ["北原县"]}
    expect(harness.main(page)).to_contain_text("筛选：地区：北原县")  # the page computed with the filter
    expect(page.locator("[data-testid='stSidebarNav'] a[aria-current='page']")).to_contain_text("评价人分析")


def test_deep_link_to_a_unit(app, page):
    unit = "西岭区自然资源局"
    harness.open_url(page, app.url("/unit", unit=unit))
    assert harness.url_path(page) == "/unit"
    assert harness.h1(page) == ["单位人员"]
    assert harness.problems(page) == []
    expect(page.locator("[data-testid='stSidebarNav']")).to_be_visible()
    expect(harness.main(page)).to_contain_text(harness.DEMO_BANNER)
    assert harness.chips(page, "单位") == [unit]
    expect(harness.main(page)).to_contain_text("1 个单位、")
    table = harness.dataframe_with(page, "姓名")
    header = harness.dataframe_header(table)
    units = {row[header.index("单位")] for row in harness.dataframe_rows(table)}
    assert units == {unit}


def test_deep_link_with_an_unknown_district_names_it(app, page):
    harness.open_url(page, app.url("/raters", district=["不存在区", "北原县"]))
    assert harness.h1(page) == ["评价人分析"]
    warning = harness.main(page).locator("[data-testid='stAlert']").filter(has_text="链接中有筛选值")
    expect(warning).to_contain_text("已忽略：「地区」（district）= 不存在区。")
    assert harness.chips(page, "地区") == ["北原县"]  # the known value still applies
    assert harness.query(page) == {"district": ["北原县"]}
    expect(harness.main(page)).to_contain_text("筛选：地区：北原县")
