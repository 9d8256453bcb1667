"""评价人分析: leniency, the flag rule, self and type gaps, compression, ICC(1), the report, the
planted raters of the demo, and the page under AppTest."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics import raters, store
from analytics.demo import PLANTED
from analytics.filters import Filters
from analytics.registry import REPORTS, ReportArgs, ReportError

ROOT = Path(__file__).resolve().parent.parent


def rating_rows(rows: list[tuple]) -> str:
    """(ratee, rater, type, period, score) -> VALUES text (fixture literals only)."""
    return ",\n".join(
        f"('{p}', '{r}', '{t}', '{q}', {q[:4]}, {q[-1]}, {s}, 1)" for p, r, t, q, s in rows)


# Hand-made fixture. Every number below is worked out in the comments.
#
# 2025Q1, ratees X1..X3 (甲局, 3 people), raters A (上级), B and C (互评), plus a self-rating:
#            B    C    A = mean(B, C) + 6   self
#     X1    80   84   88                   90
#     X2    90   86   94                   85
#     X3    70   78   80                   74
#   A: 88-82 = +6, 94-88 = +6, 80-74 = +6            -> leniency +6, SD 0, SE 0, k 3 -> lenient
#   B: 80-(84+88)/2 = -6, 90-(86+94)/2 = 0, 70-(78+80)/2 = -9
#                                                    -> leniency -5, SD sqrt(21) = 4.583, SE 2.646;
#                                                       |-5| < 3 SE = 7.94 -> not flagged (large SD)
#   C: 84-84 = 0, 86-92 = -6, 78-75 = +3             -> leniency -1, SE 2.646
#   self gaps: X1 90-84 = +6, X2 85-90 = -5, X3 74-76 = -2
# 2025Q2, ratees V1, V2 (乙局): D = E + 6 both times -> D +6, E -6, SD 0, but k = 2 -> not flagged
#     V1: E 80, D 86;  V2: E 88, D 94
# 2025Q2, ratees W1..W3 (乙局), raters P (互评) and Q (上级) only:
#     W1: Q 80, P 96;  W2: Q 90, P 86;  W3: Q 85, P 91;  W1 also rates himself as '互评' 100 (a self-rating)
#   P: +16, -4, +6 -> leniency +6, SD 10, SE 5.774 -> not flagged (large SD); Q: -6, SE 5.774
#   self gap W1: 100 - (96+80)/2 = +12
# 2025Q2, Z1 (乙局) rated by 群众甲 (群众) 90 and H (互评) 80; Z2 rated by H 85 alone, self 88:
#   群众甲 +10 on one rating (k 1, no SD -> never flagged); H -10 on Z1, Z2 has no other rater
#   (H: 2 ratings given, 1 comparable); self gap Z2 88 - 85 = +3
RATINGS = [
    ("X1", "A", "上级", "2025Q1", 88), ("X1", "B", "互评", "2025Q1", 80), ("X1", "C", "互评", "2025Q1", 84),
    ("X1", "X1", "自评", "2025Q1", 90),
    ("X2", "A", "上级", "2025Q1", 94), ("X2", "B", "互评", "2025Q1", 90), ("X2", "C", "互评", "2025Q1", 86),
    ("X2", "X2", "自评", "2025Q1", 85),
    ("X3", "A", "上级", "2025Q1", 80), ("X3", "B", "互评", "2025Q1", 70), ("X3", "C", "互评", "2025Q1", 78),
    ("X3", "X3", "自评", "2025Q1", 74),
    ("V1", "E", "互评", "2025Q2", 80), ("V1", "D", "互评", "2025Q2", 86),
    ("V2", "E", "互评", "2025Q2", 88), ("V2", "D", "互评", "2025Q2", 94),
    ("W1", "Q", "上级", "2025Q2", 80), ("W1", "P", "互评", "2025Q2", 96), ("W1", "W1", "互评", "2025Q2", 100),
    ("W2", "Q", "上级", "2025Q2", 90), ("W2", "P", "互评", "2025Q2", 86),
    ("W3", "Q", "上级", "2025Q2", 85), ("W3", "P", "互评", "2025Q2", 91),
    ("Z1", "群众甲", "群众", "2025Q2", 90), ("Z1", "H", "互评", "2025Q2", 80),
    ("Z2", "H", "互评", "2025Q2", 85), ("Z2", "Z2", "自评", "2025Q2", 88),
]


@pytest.fixture
def small(con):
    people = [("X1", "甲局"), ("X2", "甲局"), ("X3", "甲局"), ("V1", "乙局"), ("V2", "乙局"), ("W1", "乙局"),
              ("W2", "乙局"), ("W3", "乙局"), ("Z1", "乙局"), ("Z2", "乙局"),
              ("A", "甲局"), ("B", "甲局"), ("C", "甲局"), ("D", "乙局"), ("E", "乙局"), ("H", "乙局"),
              ("P", "乙局"), ("Q", "乙局")]
    values = ", ".join(f"('{p}', '姓名{p}', '{u}', NULL, NULL, NULL, NULL, false, false, 1)" for p, u in people)
    con.execute(f"""
        INSERT INTO units VALUES ('甲局', '东区', '市直', '公安', false, NULL, false, 1),
                                 ('乙局', '西区', '市直', '法院', false, NULL, false, 1);
        INSERT INTO people VALUES {values};
        INSERT INTO ratings VALUES {rating_rows(RATINGS)};
    """)
    store.refresh_rating_gaps(con)  # what the importer does after writing ratings
    return con


def test_leniency_whole_table(small):
    # with the minimum lowered to 3 comparable ratings (the default 5 is tested below)
    t = raters.rater_table(small, Filters(), min_ratings=3).set_index("rater")
    se21 = math.sqrt(21) / math.sqrt(3)  # B and C: SD sqrt(21) over 3 ratings = 2.6458
    se_pq = 10 / math.sqrt(3)  # P and Q: SD 10 over 3 ratings = 5.7735
    expected = pd.DataFrame([
        # rater, given, comparable, leniency, SE, lenient, harsh
        ("A", 3, 3, 6.0, 0.0, True, False),
        ("B", 3, 3, -5.0, se21, False, False),
        ("C", 3, 3, -1.0, se21, False, False),
        ("D", 2, 2, 6.0, 0.0, False, False),  # +6 every time, but only 2 ratings
        ("E", 2, 2, -6.0, 0.0, False, False),
        ("H", 2, 1, -10.0, np.nan, False, False),  # one comparable rating: no SD, never flagged
        ("P", 3, 3, 6.0, se_pq, False, False),  # +6 but SD 10: 6 < 3 * 5.77
        ("Q", 3, 3, -6.0, se_pq, False, False),
        ("群众甲", 1, 1, 10.0, np.nan, False, False),  # free-text rater who rated one person
    ], columns=["rater", "n_given", "k", "leniency", "se", "lenient", "harsh"]).set_index("rater")
    got = t[expected.columns]
    pd.testing.assert_frame_equal(got.astype(expected.dtypes.to_dict()), expected, check_exact=False, atol=1e-9)
    assert t.loc["A", "label"] == "姓名A（甲局）" and t.loc["群众甲", "label"] == "群众甲"
    assert not t.loc["群众甲", "is_person"] and t.loc["A", "is_person"]
    assert t.loc["A", "example"].startswith("2025Q1 给姓名X1打 88.0 分，其他 2 条评价平均 82.0 分")


def test_self_ratings_never_enter_leniency(small):
    t = raters.rater_table(small, Filters())
    assert not set(t["rater"]) & {"X1", "X2", "X3", "Z2", "W1"}  # self-raters (W1 typed as 互评)
    small.execute("DELETE FROM ratings WHERE rater = person_id")
    store.refresh_rating_gaps(small)
    again = raters.rater_table(small, Filters())
    pd.testing.assert_frame_equal(t[["rater", "k", "leniency", "se"]], again[["rater", "k", "leniency", "se"]])


def test_flag_rule_edges(small):
    # the SE rule: +6 with SD 0 and k = 3 is flagged at a minimum of 3; with k = 2 (D) or SD 10 (P)
    # it is not; with the default minimum of 5 comparable ratings nobody in this fixture is judged
    assert raters.MIN_RATINGS == 5
    for minimum in (4, raters.MIN_RATINGS):
        t = raters.rater_table(small, Filters(), min_ratings=minimum)
        assert not t["lenient"].any() and not t["harsh"].any()
    t = raters.rater_table(small, Filters(), min_ratings=3)
    assert set(t.loc[t["lenient"], "rater"]) == {"A"} and not t["harsh"].any()
    t = raters.rater_table(small, Filters(), min_ratings=2)
    assert set(t.loc[t["lenient"], "rater"]) == {"A", "D"} and set(t.loc[t["harsh"], "rater"]) == {"E"}


def test_compression_and_top_share(small):
    t = raters.rater_table(small, Filters()).set_index("rater")
    given = pd.DataFrame(RATINGS, columns=["ratee", "rater", "type", "period", "score"])
    given = given[given["ratee"] != given["rater"]]
    sd = given.groupby("rater")["score"].std(ddof=1)
    n = given.groupby("rater")["score"].size()
    typical = float(np.median(sd[n >= 3]))  # A 7.024, B 10, C 4.163, P 5, Q 5 -> 5.0
    assert typical == pytest.approx(5.0)
    assert raters.typical_sd(t.reset_index()) == pytest.approx(typical)
    for rater in ("A", "B", "C", "P", "Q", "D"):
        assert t.loc[rater, "sd_score"] == pytest.approx(sd[rater])
        assert t.loc[rater, "compression"] == pytest.approx(sd[rater] / typical)
    assert t.loc["C", "compression"] == pytest.approx(math.sqrt(52 / 3) / 5)  # C: 84, 86, 78
    assert t.loc["P", "top_share"] == pytest.approx(1 / 3)  # P gave 96, 86, 91
    assert t.loc["A", "top_share"] == 0.0
    assert not t["compressed"].any()  # nobody below half the typical SD


def test_self_gap_per_person_and_unit(small):
    people = raters.self_gap_by_person(small, Filters()).set_index("person_id")
    assert people["self_gap"].to_dict() == pytest.approx({"W1": 12.0, "X1": 6.0, "Z2": 3.0, "X3": -2.0, "X2": -5.0})
    assert list(people.index) == ["W1", "X1", "Z2", "X3", "X2"]
    units = raters.self_gap_by_unit(small, Filters(), min_group=3).set_index("unit")
    assert units.loc["甲局", "self_gap"] == pytest.approx((6 - 5 - 2) / 3)
    assert units.loc["甲局", "people"] == 3
    assert units.loc["乙局", "self_gap"] != units.loc["乙局", "self_gap"]  # 2 people < 3: 样本过少 (NaN)
    assert bool(units.loc["乙局", "small"])
    units5 = raters.self_gap_by_unit(small, Filters(), min_group=5)
    assert units5["small"].all() and units5["self_gap"].isna().all()


def test_rater_type_gaps(small):
    t = raters.type_gaps(small, Filters()).set_index("rater_type")
    assert list(t.index) == ["自评", "互评", "上级", "群众"]
    # 自评: X1..X3, Z2 and W1's self-rating typed 互评: gaps 6, -5, -2, 3, 12 -> 2.8; scores 90, 85, 74, 88, 100
    assert t.loc["自评", "gap"] == pytest.approx(14 / 5) and t.loc["自评", "mean_score"] == pytest.approx(437 / 5)
    # 上级: A +6 x3, Q -16, +4, -6 -> 0; scores 88, 94, 80, 80, 90, 85
    assert t.loc["上级", "gap"] == pytest.approx(0.0) and t.loc["上级", "mean_score"] == pytest.approx(517 / 6)
    # 互评: B -6 0 -9, C 0 -6 3, D 6 6, E -6 -6, P 16 -4 6, H -10 (Z2 not comparable) -> -10/14
    assert t.loc["互评", "gap"] == pytest.approx(-10 / 14)
    assert (t.loc["互评", "ratings"], t.loc["互评", "compared"]) == (15, 14)
    assert t.loc["群众", "gap"] == pytest.approx(10.0)


def icc_numpy(groups: list[np.ndarray]) -> tuple[float, float]:
    """ICC(1) and ICC(k) from a one-way ANOVA, written independently of the SQL."""
    groups = [g for g in groups if len(g) >= 2]
    all_scores = np.concatenate(groups)
    big_n, g = len(all_scores), len(groups)
    sizes = np.array([len(x) for x in groups])
    ssb = sum(len(x) * (x.mean() - all_scores.mean()) ** 2 for x in groups)
    ssw = sum(((x - x.mean()) ** 2).sum() for x in groups)
    msb, msw = ssb / (g - 1), ssw / (big_n - g)
    k0 = (big_n - (sizes ** 2).sum() / big_n) / (g - 1)
    return (msb - msw) / (msb + (k0 - 1) * msw), (msb - msw) / msb


def test_icc_against_numpy(small):
    overall, units = raters.agreement(small, Filters(), min_group=3)
    frame = pd.DataFrame(RATINGS, columns=["ratee", "rater", "type", "period", "score"])
    frame = frame[(frame["ratee"] != frame["rater"]) & (frame["type"] != "自评")]
    groups = [g["score"].to_numpy(float) for _, g in frame.groupby(["ratee", "period"])]
    icc1, icck = icc_numpy(groups)
    assert overall["icc1"] == pytest.approx(icc1) and overall["icc_k"] == pytest.approx(icck)
    assert overall["targets"] == 9  # X1..X3, V1, V2, W1..W3, Z1 (Z2 has a single rater)
    jia = frame[frame["ratee"].str.startswith("X")]
    icc_jia, _ = icc_numpy([g["score"].to_numpy(float) for _, g in jia.groupby("ratee")])
    assert units.set_index("unit").loc["甲局", "icc1"] == pytest.approx(icc_jia)


def test_icc_on_shrout_fleiss_example(con):
    # Shrout & Fleiss (1979), table 2: 6 targets, 4 judges; their ICC(1,1) = .17 and ICC(1,k) = .44
    table = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    rows = [(f"T{i}", f"J{j}", "互评", "2025Q1", s) for i, r in enumerate(table) for j, s in enumerate(r)]
    con.execute(f"INSERT INTO ratings VALUES {rating_rows(rows)}")
    store.refresh_rating_gaps(con)  # what the importer does after writing ratings
    con.execute("INSERT INTO people SELECT 'T' || i, NULL, '丙局', NULL, NULL, NULL, NULL, false, false, 1 "
                "FROM range(6) t(i)")
    overall, _ = raters.agreement(con, Filters())
    assert round(overall["icc1"], 2) == 0.17 and round(overall["icc_k"], 2) == 0.44
    assert overall["k0"] == pytest.approx(4.0)


def test_filters_that_leave_nothing(small):
    f = Filters(districts=("北区",))
    result = raters.analyse(small, f)
    assert result.empty and result.raters.empty and result.flagged.empty
    report = REPORTS["raters"][0](small, f, ReportArgs())
    assert list(report.columns) == ["rater", "ratings", "leniency", "lenient_flag", "harsh_flag"] and report.empty
    assert raters.rater_table(small, Filters(periods=("2030Q1",))).empty


def test_only_self_ratings(small):
    small.execute("DELETE FROM ratings WHERE rater <> person_id AND rater_type <> '自评'")
    store.refresh_rating_gaps(small)
    result = raters.analyse(small, Filters())
    assert not result.empty and not result.has_comparable and result.raters.empty
    assert result.types["rater_type"].tolist() == ["自评"] and result.types["compared"].tolist() == [0]
    assert "没有评价人的打分明显偏松或偏严" in raters.headline(result)
    assert raters.agreement_sentence(result) is None


def test_ratings_of_one_rater(small):
    given = raters.rater_ratings(small, Filters(), "H")
    assert given[["被评价人编号", "分数", "其他评价人平均", "差值"]].fillna(-1).values.tolist() == [
        ["Z1", 80.0, 90.0, -10.0], ["Z2", 85.0, -1, -1]]
    assert given["备注"].tolist() == ["", "无其他评价人，不计入"]


def test_report_keys_and_period_argument(small):
    fn, description = REPORTS["raters"]
    out = fn(small, Filters(), ReportArgs(period="2025Q1"))
    assert list(out.columns) == ["rater", "ratings", "leniency", "lenient_flag", "harsh_flag"]
    records = json.loads(out.to_json(orient="records", force_ascii=False))
    assert records == [  # A: +6 every time, but 3 ratings are fewer than the 5 needed for a flag
        {"rater": "A", "ratings": 3, "leniency": 6.0, "lenient_flag": False, "harsh_flag": False},
        {"rater": "B", "ratings": 3, "leniency": -5.0, "lenient_flag": False, "harsh_flag": False},
        {"rater": "C", "ratings": 3, "leniency": -1.0, "lenient_flag": False, "harsh_flag": False},
    ]
    assert all(isinstance(v, bool) for v in out["lenient_flag"])
    assert len(fn(small, Filters(), ReportArgs(year=2025))) == 9
    with pytest.raises(ReportError):
        fn(small, Filters(), ReportArgs(period="2025年一季度"))
    assert "偏松" in description


# --- the demo ------------------------------------------------------------------------------------

LENIENT = {r["rater"] for r in PLANTED["lenient_raters"]}
HARSH = {r["rater"] for r in PLANTED["harsh_raters"]}
# False-alarm bound. For an unbiased rater one difference has noise SD of about 3 points (each
# rating has SD 2.5, the others' mean adds a little, raters' own bias SD is 0.8). Simulating that
# model (docs/metrics/raters.md), the chance that an unbiased rater is flagged is about 0.11 % at
# k = 5 comparable ratings, 0.005 % at k = 10 and 0.0003 % at k = 20. Over the whole demo or one
# year nearly every rater has k >= 8, so among about 1,500 raters we expect well under one chance
# flag: we allow 1 (all years) and 2 (a single year). In single quarters about 450 raters reach
# k = 5, so about 0.5 chance flags a quarter at most: we allow 12 over the 12 quarters together.
MAX_FALSE_ALL = 1
MAX_FALSE_YEAR = 2
MAX_FALSE_QUARTERS = 12


def test_demo_planted_raters_flagged(demo_con):
    t = raters.rater_table(demo_con.cursor(), Filters())
    lenient, harsh = set(t.loc[t["lenient"], "rater"]), set(t.loc[t["harsh"], "rater"])
    assert lenient >= LENIENT and harsh >= HARSH
    assert len((lenient | harsh) - LENIENT - HARSH) <= MAX_FALSE_ALL
    for rater in LENIENT | HARSH:
        row = t.set_index("rater").loc[rater]
        assert 6 <= abs(row["leniency"]) <= 10 and abs(row["z"]) >= 3


@pytest.mark.parametrize("year", [2023, 2024, 2025])
def test_demo_planted_raters_flagged_each_year(demo_con, year):
    t = raters.rater_table(demo_con.cursor(), Filters(years=(year,)))
    lenient, harsh = set(t.loc[t["lenient"], "rater"]), set(t.loc[t["harsh"], "rater"])
    assert lenient >= LENIENT and harsh >= HARSH
    assert len((lenient | harsh) - LENIENT - HARSH) <= MAX_FALSE_YEAR


def test_demo_single_quarters(demo_con):
    leaders = {r["rater"] for r in PLANTED["lenient_raters"] + PLANTED["harsh_raters"] if r["role"] == "上级"}
    false_flags = 0
    for period in PLANTED["periods"]:
        t = raters.rater_table(demo_con.cursor(), Filters(periods=(period,)))
        flagged = set(t.loc[t["lenient"] | t["harsh"], "rater"])
        assert leaders <= flagged, period  # department leaders rate 5 or more people every quarter
        false_flags += len(flagged - LENIENT - HARSH)
    assert false_flags <= MAX_FALSE_QUARTERS


def test_demo_agreement_low_where_scores_are_flattened(demo_con):
    result = raters.analyse(demo_con.cursor(), Filters())
    assert 0.5 < result.agreement["icc1"] < 0.9
    units = result.agreement_units.set_index("unit")
    for unit in PLANTED["inflated_flat_units"]:
        assert units.loc[unit, "icc1"] < 0.3  # scores within 90-92: raters cannot agree on differences
    assert bool(units.loc[PLANTED["tiny_unit"]["unit"], "small"])  # 4 people: 样本过少
    types = result.types.set_index("rater_type")
    assert 1.5 < types.loc["自评", "gap"] < 3.5  # demo: self = score + 2.5
    findings = raters.top_findings(demo_con.cursor(), Filters())
    assert findings[0].title.startswith("2 名评价人打分明显") and findings[0].page == "pages/raters.py"


def test_leniency_chart_log_axis_has_only_readable_ticks(demo_con):
    result = raters.analyse(demo_con.cursor(), Filters())
    axis = raters.leniency_figure(result).layout.xaxis
    assert axis.type == "log" and axis.title.text == "可比评价条数（对数刻度）"
    assert list(axis.tickvals) == [5, 10, 20, 50, 100, 200] and list(axis.ticktext) == ["5", "10", "20", "50", "100", "200"]
    assert int(result.raters["k"].max()) <= 10 ** axis.range[1]  # every rater is inside the axis


# --- the page ------------------------------------------------------------------------------------


def test_page_renders_on_demo_and_shows_a_raters_ratings(demo_app):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/raters.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "评价人分析"
    assert "2 名评价人打分明显偏松" in at.markdown[0].value
    assert "（在 1,505 名有足够可比评价的评价人中，" in at.markdown[0].value
    assert len(at.get("plotly_chart")) == 5
    flagged = next(d.value for d in at.dataframe if "示例" in d.value.columns)
    assert set(flagged["评价人编号"]) == LENIENT | HARSH
    harsh = sorted(HARSH)[0]
    at.selectbox(key="raters-pick").set_value(harsh).run()
    assert not at.exception
    given = next(d.value for d in at.dataframe if "差值" in d.value.columns)
    assert len(given) >= 20 and given["差值"].mean() < -5


def test_page_with_filters_that_leave_nothing(demo_app, demo_con):
    district, sector = demo_con.execute("""
        SELECT d.district, s.sector
        FROM (SELECT DISTINCT district FROM units) d, (SELECT DISTINCT sector FROM units) s
        WHERE NOT EXISTS (SELECT 1 FROM units u WHERE u.district = d.district AND u.sector = s.sector)
        ORDER BY ALL LIMIT 1
    """).fetchall()[0]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    # The sidebar filters are bound to the URL. AppTest re-runs only the page script after the first
    # run when the default page is a file, so the entrypoint's sidebar would not pick up a widget
    # change: set the filters through the URL before the first run instead.
    at.query_params["district"] = [district]
    at.query_params["sector"] = [sector]
    at.run()
    assert at.session_state["global_filters"].districts == (district,)
    at.switch_page("pages/raters.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("没有" in i.value for i in at.info)
    assert not at.get("plotly_chart")


@pytest.mark.parametrize(("label", "rater", "shown"), [
    ("方庆瑞（青崖市公安局）", "P00005", "方庆瑞（青崖市公安局，P00005）"),
    ("方庆瑞", "P00005", "方庆瑞（P00005）"),
    ("群众代表", "群众代表", "群众代表"),  # a rater who is not on the roster is named by what the file says
])
def test_rater_choice_label(label, rater, shown):
    assert raters.choice_label(label, rater) == shown


@pytest.mark.parametrize("filters", [Filters(), Filters(years=(2024,))])
def test_leniency_alone_matches_the_rater_table(demo_con, filters):
    full = raters.rater_table(demo_con.cursor(), filters)[raters.LENIENCY_COLUMNS]
    lean = raters.leniency(demo_con.cursor(), filters)
    pd.testing.assert_frame_equal(lean.reset_index(drop=True), full.reset_index(drop=True), check_exact=False,
                                  atol=1e-9, rtol=0)
    assert lean["lenient"].sum() > 0


# --- the person-quarter aggregate (rating_targets) and the store check ---------------------------

TARGETS_AFRESH = """
    SELECT person_id, period, count(*) FILTER (WHERE NOT s) AS n,
           round(avg(score) FILTER (WHERE NOT s), 9) AS mean,
           round(var_samp(score) FILTER (WHERE NOT s) * (count(*) FILTER (WHERE NOT s) - 1), 9) AS ssw
    FROM (SELECT *, rater_type = '自评' OR rater = person_id AS s FROM ratings) GROUP BY ALL
"""
TARGETS_STORED = "SELECT person_id, period, n, round(mean, 9), round(ssw, 9) FROM rating_targets"


def targets_in_step(con) -> bool:
    return con.execute(f"""
        SELECT count(*) FROM ((({TARGETS_AFRESH}) EXCEPT ALL ({TARGETS_STORED}))
                              UNION ALL (({TARGETS_STORED}) EXCEPT ALL ({TARGETS_AFRESH})))
    """).fetchall() == [(0,)]


def test_person_quarter_aggregate_kept_in_step(small):
    assert targets_in_step(small)
    # X1 in 2025Q1: B 80, C 84, A 88 -> mean 84, within sum of squares 16 + 0 + 16 = 32 (self 90 left out)
    assert small.execute("SELECT n, mean, ssw FROM rating_targets WHERE person_id = 'X1'").fetchall() == [(3, 84.0, 32.0)]
    # a partial refresh of one person-quarter, as import, replace and undo do
    small.execute("UPDATE ratings SET score = 92 WHERE person_id = 'X1' AND rater = 'A'")
    store.refresh_rating_gaps(small, "SELECT 'X1' AS person_id, '2025Q1' AS period")
    assert targets_in_step(small)
    assert small.execute("SELECT n, mean FROM rating_targets WHERE person_id = 'X1'").fetchall() == [
        (3, pytest.approx(256 / 3))]
    # Z2 left with its self-rating only: n = 0, no mean, no sum of squares
    small.execute("DELETE FROM ratings WHERE person_id = 'Z2' AND rater = 'H'")
    store.refresh_rating_gaps(small, "SELECT 'Z2' AS person_id, '2025Q2' AS period")
    assert targets_in_step(small)
    assert small.execute("SELECT n, mean, ssw FROM rating_targets WHERE person_id = 'Z2'").fetchall() == [
        (0, None, None)]


def _joined(filters: Filters) -> raters.GapSource:
    """The queries as they are without the store check: every rating joined to the population and
    the ICC targets grouped from the ratings."""
    sql, params = raters._gaps_cte(filters)
    return raters.GapSource(sql, tuple(params), raters.Roster())


def _same_results(con, filters: Filters) -> None:
    with raters.materialized(con, filters) as checked:
        pairs = [
            (raters.rater_table(con, filters, source=checked), raters.rater_table(con, filters, source=_joined(filters))),
            (raters.leniency(con, filters, source=checked), raters.leniency(con, filters, source=_joined(filters))),
            (raters.type_gaps(con, filters, source=checked), raters.type_gaps(con, filters, source=_joined(filters))),
            (raters.self_gap_by_unit(con, filters, 3, checked), raters.self_gap_by_unit(con, filters, 3, _joined(filters))),
            (raters.self_gap_by_person(con, filters, checked), raters.self_gap_by_person(con, filters, _joined(filters))),
            (raters.agreement(con, filters, 3, checked)[1], raters.agreement(con, filters, 3, _joined(filters))[1]),
        ]
        overall = (raters.agreement_overall(con, filters, checked), raters.agreement_overall(con, filters, _joined(filters)))
    for fast, joined in pairs:
        pd.testing.assert_frame_equal(fast, joined, check_exact=False, rtol=1e-9)
    assert overall[0].keys() == overall[1].keys()
    for key, value in overall[0].items():
        if isinstance(value, str):
            assert value == overall[1][key], key
        else:
            assert value == pytest.approx(overall[1][key], rel=1e-9, nan_ok=True), key


def test_store_check_and_the_join_it_saves(small):
    assert raters.roster(small) == raters.Roster(unique=True, complete=True, targets=True)
    assert raters.roster(small).everyone(Filters(years=(2025,)))
    assert not raters.roster(small).everyone(Filters(districts=("东区",)))
    for filters in (Filters(), Filters(periods=("2025Q2",)), Filters(districts=("东区",))):
        _same_results(small, filters)
    before = raters.rater_table(small, Filters())
    # ratings of someone not on the roster: the population leaves them out, so they may not be read
    orphan = [("NOBODY", "A", "上级", "2025Q1", 10), ("NOBODY", "B", "互评", "2025Q1", 90)]
    small.execute(f"INSERT INTO ratings VALUES {rating_rows(orphan)}")
    store.refresh_rating_gaps(small)
    assert raters.roster(small) == raters.Roster(unique=True, complete=False, targets=True)
    pd.testing.assert_frame_equal(raters.rater_table(small, Filters()), before)
    _same_results(small, Filters())
    # a person twice on the roster: the join repeats his ratings, and the ICC is grouped from them
    small.execute("INSERT INTO people SELECT * FROM people WHERE person_id = 'X1'")
    assert raters.roster(small) == raters.Roster(unique=False, complete=False, targets=True)
    _same_results(small, Filters())
    assert raters.rater_table(small, Filters()).set_index("rater").loc["A", "n_given"] == 4  # X1 counted twice


def test_store_without_the_person_quarter_aggregate(small):
    small.execute("DROP TABLE rating_targets")
    assert raters.roster(small) == raters.Roster()
    overall, units = raters.agreement(small, Filters(), min_group=3)
    assert overall["targets"] == 9 and len(units) == 2
    assert len(raters.leniency(small, Filters())) == 9


def test_types_with_a_type_the_mask_does_not_know(small):
    special = [("X1", "A", "专项", "2025Q2", 80), ("X1", "B", "互评", "2025Q2", 70)]
    small.execute(f"INSERT INTO ratings VALUES {rating_rows(special)}")
    store.refresh_rating_gaps(small)
    t = raters.rater_table(small, Filters()).set_index("rater")
    assert t.loc["A", "types"] == "上级、专项"  # as string_agg lists them: by code point
    assert t.loc["B", "types"] == "互评" and t.loc["群众甲", "types"] == "群众"


@pytest.mark.parametrize("filters", [Filters(), Filters(years=(2024,)), Filters(pilot="pilot")])
def test_demo_store_check_gives_the_joined_numbers(demo_con, filters):
    _same_results(demo_con.cursor(), filters)


def test_person_quarter_aggregate_is_scoped_like_the_ratings(small):
    from analytics import access

    cur = access.scoped(small, access.Scope("viewer", districts=("东区",)))  # 甲局: X1..X3 and their raters
    try:
        assert {r[0] for r in cur.execute("SELECT person_id FROM rating_targets").fetchall()} == {"X1", "X2", "X3"}
        overall, units = raters.agreement(cur, Filters(), min_group=3)
        assert overall["targets"] == 3 and list(units["unit"]) == ["甲局"]
        assert set(raters.leniency(cur, Filters())["rater"]) == {"A", "B", "C"}
    finally:
        cur.close()
