"""Drill-down and click-to-filter: from a flagged unit to its people to one person's history, and
clicking a point or bar on a chart shows what was clicked."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urljoin, urlsplit

import harness
from harness import expect

from analytics.demo import PLANTED

FLAGGED = PLANTED["inflated_flat_units"]  # the demo's units whose 好 share is planted far too high


def unit_link(page):
    """The「查看「…」的人员」link (blocks.unit_link) and the unit it names."""
    link = harness.main(page).locator("[data-testid='stPageLink'] a").filter(has_text="的人员").first
    text = link.inner_text()
    return link, text[text.index("「") + 1:text.index("」")]


def test_grade_spread_opens_with_a_planted_unit_and_links_to_its_people(app, page):
    harness.open_url(page, app.url("/grade_spread"))
    link, unit = unit_link(page)
    assert unit in FLAGGED, f"the unit picked first on 等次分布 is {unit}, not one of the planted {FLAGGED}"
    href = urljoin(page.url, link.get_attribute("href"))
    assert urlsplit(href).path == "/unit" and parse_qs(urlsplit(href).query) == {"unit": [unit]}, href

    # The link opened as a bookmark or a new tab would: only that unit's people.
    harness.open_url(page, href)
    assert harness.h1(page) == ["单位人员"] and harness.problems(page) == []
    assert harness.chips(page, "单位") == [unit]
    expect(harness.main(page)).to_contain_text("1 个单位、")
    table = harness.dataframe_with(page, "姓名")
    header = harness.dataframe_header(table)
    rows = harness.dataframe_rows(table)
    assert {r[header.index("单位")] for r in rows} == {unit}
    person_id, name = rows[0][header.index("人员编号")], rows[0][header.index("姓名")]

    # Click the first row (its selection box, left of the first cell): the person's record opens.
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    page.mouse.click(box["x"] + 22, box["y"] + 35 + 17)
    page.wait_for_url(lambda url: urlsplit(url).path == "/person")
    expect(harness.main(page).locator("h3").first).to_have_text(f"{name} · {unit}")
    harness.wait_idle(page)
    assert harness.query(page).get("person") == [person_id], page.url
    assert harness.h1(page) == ["人员档案"] and harness.problems(page) == []
    expect(harness.selectbox(page, "人员")).to_have_value(f"{name}（{unit}，{person_id}）")
    expect(harness.main(page)).to_contain_text(f"人员编号 {person_id}")
    quarters = harness.dataframe_with(page, "等次")
    assert harness.dataframe_row_count(quarters) >= 4, "the person's quarterly history is (almost) empty"


def test_unit_link_clicked_in_the_session_filters_the_unit_page(app, page):
    """The same link clicked inside the session (it once left the URL-bound 单位 filter empty, so
    单位人员 listed every unit)."""
    harness.open_url(page, app.url("/grade_spread"))
    link, unit = unit_link(page)
    link.click()
    expect(harness.main(page).locator("h1")).to_have_text("单位人员")
    harness.wait_idle(page)
    assert harness.query(page) == {"unit": [unit]}
    assert harness.chips(page, "单位") == [unit]
    expect(harness.main(page)).to_contain_text("1 个单位、", timeout=5_000)
    table = harness.dataframe_with(page, "姓名")
    header = harness.dataframe_header(table)
    assert {r[header.index("单位")] for r in harness.dataframe_rows(table)} == {unit}


def test_clicking_a_flagged_unit_on_the_funnel_plot_shows_its_trend(app, page):
    harness.open_url(page, app.url("/grade_spread"))
    _, first = unit_link(page)
    funnel = harness.chart(page, "漏斗图")
    flagged = [p for p in harness.chart_points(funnel) if p["name"] == "好等次偏高"]
    assert {p["custom"][0] for p in flagged} >= set(FLAGGED), flagged
    target = next(p for p in flagged if p["custom"][0] != first)
    unit = target["custom"][0]

    harness.click_point(page, funnel, target)
    expect(harness.main(page).locator("[data-testid='stPageLink'] a").filter(has_text="的人员").first
           ).to_contain_text(f"查看「{unit}」的人员")
    harness.wait_idle(page)
    harness.chart(page, f"{unit} 各季度好等次比例")  # the trend chart below is now that unit's
    expect(harness.selectbox(page, "单位")).to_have_value(unit)
    assert harness.problems(page) == []


def test_clicking_a_unit_bar_on_saturation_lists_its_people(app, page):
    harness.open_url(page, app.url("/saturation"))
    bars = harness.chart(page, "各单位饱和度")
    points = [p for p in harness.chart_points(bars) if p["custom"]]
    assert len(points) >= 10, points
    target = next(p for p in points[1:] if p["width"] > 40)  # a unit with a drawn bar (not 样本过少)
    unit = target["custom"][0]

    harness.click_point(page, bars, target)
    expect(harness.main(page).locator("h4").filter(has_text=unit)).to_be_visible()
    harness.wait_idle(page)
    expect(harness.main(page).locator("[data-testid='stPageLink']").filter(has_text=f"查看「{unit}」的人员")).to_be_visible()
    caption = harness.main(page).get_by_text(f"{unit}的人员（")
    expect(caption).to_be_visible()
    people = caption.locator("xpath=following::*[@data-testid='stDataFrame'][1]")
    header = harness.dataframe_header(people)
    assert {r[header.index("单位")] for r in harness.dataframe_rows(people)} == {unit}
    depts = harness.chart(page, "各处室饱和度")
    assert {p["custom"][0] for p in harness.chart_points(depts) if p["custom"]} == {unit}
    assert harness.problems(page) == []


def test_clicking_a_flagged_rater_shows_their_ratings(app, page):
    harness.open_url(page, app.url("/raters"))
    scatter = harness.chart_under(page, "评价人宽严度")
    points = harness.chart_points(scatter)
    flagged = [p for p in points if p["name"] in ("偏松", "偏严")]
    assert len(flagged) >= 2, {p["name"] for p in points}
    shown = harness.selectbox(page, "评价人（或点击上图中的点）").input_value()
    target = next(p for p in flagged if str(p["custom"][0]) not in shown)
    rater, label = str(target["custom"][0]), str(target["custom"][1])

    harness.click_point(page, scatter, target)
    sentence = harness.main(page).locator("[data-testid='stMarkdownContainer']").filter(
        has_text=re.compile(re.escape(label) + r"（[^）]*）：可比评价 \d+ 条"))
    expect(sentence.first).to_be_visible(timeout=20_000)  # the page reruns in about 3 s
    harness.wait_idle(page)
    given = harness.dataframe_with(page, "被评价人")
    assert harness.dataframe_row_count(given) >= 5
    assert harness.problems(page) == []
    expect(harness.main(page).locator("[data-testid='stPageLink']").filter(
        has_text=f"查看评价人 {label} 的完整记录")).to_be_visible()
    assert rater not in shown


def test_overview_finding_opens_its_page_with_the_named_unit_selected(app, page):
    harness.open_url(page, app.url("/"))
    card = harness.main(page).locator("[data-testid='stVerticalBlock']").filter(
        has_text="个单位季度好等次超比例").last  # the innermost block holding it: the finding's card
    link = card.locator("[data-testid='stPageLink'] a").filter(has_text="的详情").first
    text = link.inner_text()
    unit = text[text.index("「") + 1:text.index("」")]
    assert unit in FLAGGED, text
    link.click()
    page.wait_for_url(re.compile(r"/rules\?"))
    harness.wait_idle(page)
    expect(harness.main(page).locator("h1")).to_have_text("规则检查")
    assert harness.chips(page, "单位") == [unit]
    assert harness.query(page).get("unit") == [unit]
    table = harness.dataframe_with(page, "依据")
    header = harness.dataframe_header(table)
    assert {r[header.index("单位")] for r in harness.dataframe_rows(table)} == {unit}
    assert harness.problems(page) == []
