"""规则检查: quotas with floor, each rule on a hand-made fixture (whole breach tables), config
overrides and invalid-config messages, the report, the planted breaches of the demo, and the page."""

from __future__ import annotations

import json
from pathlib import Path

import apptools
import pytest
from streamlit.testing.v1 import AppTest

from analytics import store
from analytics.config import ConfigError
from analytics.demo import PLANTED
from analytics.filters import Filters
from analytics.registry import ReportArgs, ReportError
from analytics.rules import RULE_IDS, RuleConfig, check_rules, quota, rules_report, thresholds

ROOT = Path(__file__).resolve().parent.parent


# --- quota arithmetic ----------------------------------------------------------------------------

@pytest.mark.parametrize("share, n, expected", [
    (0.40, 7, 2),    # 2.8 -> 2
    (0.40, 5, 2),    # exactly 2
    (0.40, 4, 1),    # 1.6 -> 1 (4 rated; a 不确定等次 fifth does not count)
    (0.40, 3, 1),    # 1.2 -> 1
    (0.40, 2, 0),    # 0.8 -> 0
    (0.40, 0, 0),
    (0.20, 8, 1),    # 1.6 -> 1
    (0.25, 8, 2),    # exactly 2
    (0.20, 35, 7),
    (0.29, 100, 29),  # binary floating point gives 28.999999999999996; the rule means 29
    (0.70, 10, 7),
])
def test_quota_is_the_exact_floor(share, n, expected):
    assert quota(share, n) == expected


# --- the hand-made fixture -------------------------------------------------------------------------
# 甲局 P01–P09, 乙局 P11–P15, 丙办 P21–P23 (a unit of 3). Grades and expected results by hand:
#
# 2024Q1 甲局: P01 好, P02 好, P03 较好, P04 较好, P05 较好, P06 一般, P07 较差, P08 grade missing
#              -> rated 7, quota floor(2.8) = 2, 好 2: ok
# 2024Q2 甲局: P01 好, P02 一般, P03 好, P04 好, P05-P07 较好 -> rated 7, quota 2, 好 3: breach (+1)
# 2024Q3/Q4 甲局: only P03 (较好) -> rated 1, quota 0, 好 0: ok
# 2024Q1 乙局: P11 较好, P12 好, P13 好, P14 较好, P15 不确定等次 -> rated 4, quota 1, 好 2: breach (+1)
# 2024Q2 乙局: P15 好, the others 较好 -> rated 5, quota 2, 好 1: ok
# 2024Q1 丙办: P21 好, P22 P23 较好 -> rated 3, quota 1: ok;  2024Q2: P21 P22 好 -> 2 > 1: breach (+1)
#
# Annual 2024 甲局: 优秀 P01 P02 P03, 称职 P04 P05 P08, 基本称职 P06, 不称职 P07, 不定等次 P09
#              -> graded 8, quota floor(1.6) = 1, 优秀 3: breach (+2)
# Annual 2024 乙局: 优秀 P11 P12 P15, 称职 P13 P14 -> graded 5, quota 1: breach (+2)
# Annual 2023 丙办: P23 优秀 (quarterly_avg 83.0 in the annual file, no quarterly rows in 2023)
#              -> graded 1, quota 0: breach (+1); 2024 丙办 all 称职: ok
#
# Person rules (annual 优秀):
#   P01 2024: 好 90, 好 92 -> clean
#   P02 2024: 好 88, 一般 80 -> with_general; average 84.0 < 85 -> low_average
#   P03 2024: 较好 87, 好 89, 较好 87, 较好 88 -> average 87.75; 1 好 of 4: ok for N = 1, breach for 'half'
#   P11 2024: 较好 86.1, 较好 83.9 -> average 85.0 (on the threshold: not below); 0 好 -> without_good
#   P12 2024: 好 85.0, 较好 84.9 -> average 84.95 -> low_average; 1 好 of 2: ok for N = 1 and 'half'
#   P15 2024: 不确定等次 (no score), 好 90 -> 1 rated quarter, average 90: clean
#   P23 2023: no quarterly rows -> low_average from the annual file's 83.0; the other two not checkable


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """One store for the whole module (tests only read it): opening a store costs a second or two."""
    con = store.connect(tmp_path_factory.mktemp("rules") / "small.duckdb")
    con.execute("""
        INSERT INTO units VALUES
            ('甲局', '东区', '市直', '公安', false, NULL, false, 1),
            ('乙局', '东区', '市直', '法院', false, NULL, false, 1),
            ('丙办', '西区', '市直', '史志', false, NULL, false, 1);
        INSERT INTO people (person_id, name, unit, is_leader, batch_id)
        SELECT 'P0' || i, '甲' || i, '甲局', i = 1, 1 FROM range(1, 10) t(i)
        UNION ALL SELECT 'P1' || i, '乙' || i, '乙局', false, 1 FROM range(1, 6) t(i)
        UNION ALL SELECT 'P2' || i, '丙' || i, '丙办', false, 1 FROM range(1, 4) t(i);
        INSERT INTO quarterly (person_id, period, year, quarter, score, grade, batch_id) VALUES
            ('P01', '2024Q1', 2024, 1, 90, '好', 1), ('P02', '2024Q1', 2024, 1, 88, '好', 1),
            ('P03', '2024Q1', 2024, 1, 87, '较好', 1), ('P04', '2024Q1', 2024, 1, 86, '较好', 1),
            ('P05', '2024Q1', 2024, 1, 85, '较好', 1), ('P06', '2024Q1', 2024, 1, 78, '一般', 1),
            ('P07', '2024Q1', 2024, 1, 70, '较差', 1), ('P08', '2024Q1', 2024, 1, NULL, NULL, 1),
            ('P01', '2024Q2', 2024, 2, 92, '好', 1), ('P02', '2024Q2', 2024, 2, 80, '一般', 1),
            ('P03', '2024Q2', 2024, 2, 89, '好', 1), ('P04', '2024Q2', 2024, 2, 88, '好', 1),
            ('P05', '2024Q2', 2024, 2, 85, '较好', 1), ('P06', '2024Q2', 2024, 2, 84, '较好', 1),
            ('P07', '2024Q2', 2024, 2, 83, '较好', 1),
            ('P03', '2024Q3', 2024, 3, 87, '较好', 1), ('P03', '2024Q4', 2024, 4, 88, '较好', 1),
            ('P11', '2024Q1', 2024, 1, 86.1, '较好', 1), ('P12', '2024Q1', 2024, 1, 85.0, '好', 1),
            ('P13', '2024Q1', 2024, 1, 91, '好', 1), ('P14', '2024Q1', 2024, 1, 80, '较好', 1),
            ('P15', '2024Q1', 2024, 1, NULL, '不确定等次', 1),
            ('P11', '2024Q2', 2024, 2, 83.9, '较好', 1), ('P12', '2024Q2', 2024, 2, 84.9, '较好', 1),
            ('P13', '2024Q2', 2024, 2, 87, '较好', 1), ('P14', '2024Q2', 2024, 2, 82, '较好', 1),
            ('P15', '2024Q2', 2024, 2, 90, '好', 1),
            ('P21', '2024Q1', 2024, 1, 90, '好', 1), ('P22', '2024Q1', 2024, 1, 86, '较好', 1),
            ('P23', '2024Q1', 2024, 1, 85, '较好', 1),
            ('P21', '2024Q2', 2024, 2, 90, '好', 1), ('P22', '2024Q2', 2024, 2, 89, '好', 1),
            ('P23', '2024Q2', 2024, 2, 85, '较好', 1);
        INSERT INTO annual (person_id, year, grade, quarterly_avg, batch_id) VALUES
            ('P01', 2024, '优秀', NULL, 1), ('P02', 2024, '优秀', NULL, 1), ('P03', 2024, '优秀', NULL, 1),
            ('P04', 2024, '称职', NULL, 1), ('P05', 2024, '称职', NULL, 1), ('P06', 2024, '基本称职', NULL, 1),
            ('P07', 2024, '不称职', NULL, 1), ('P08', 2024, '称职', NULL, 1), ('P09', 2024, '不定等次', NULL, 1),
            ('P11', 2024, '优秀', NULL, 1), ('P12', 2024, '优秀', NULL, 1), ('P13', 2024, '称职', NULL, 1),
            ('P14', 2024, '称职', NULL, 1), ('P15', 2024, '优秀', NULL, 1),
            ('P23', 2023, '优秀', 83.0, 1),
            ('P21', 2024, '称职', NULL, 1), ('P22', 2024, '称职', NULL, 1), ('P23', 2024, '称职', NULL, 1);
    """)
    yield con
    con.close()


def keys(result) -> list[tuple]:
    b = result.breaches
    return [(r.rule, r.person_id, r.unit, r.period) for r in b.itertuples(index=False)]


DEFAULT_BREACHES = [
    ("good_quota", None, "乙局", "2024Q1"),
    ("good_quota", None, "丙办", "2024Q2"),
    ("good_quota", None, "甲局", "2024Q2"),
    ("excellent_quota", None, "丙办", "2023"),
    ("excellent_quota", None, "乙局", "2024"),
    ("excellent_quota", None, "甲局", "2024"),
    ("excellent_with_general", "P02", "甲局", "2024"),
    ("excellent_low_average", "P23", "丙办", "2023"),
    ("excellent_low_average", "P12", "乙局", "2024"),
    ("excellent_low_average", "P02", "甲局", "2024"),
    ("excellent_without_good", "P11", "乙局", "2024"),
]


def test_every_rule_with_defaults_lists_exactly_the_hand_found_breaches(small):
    result = check_rules(small, Filters(), RuleConfig())
    assert keys(result) == DEFAULT_BREACHES
    details = dict(zip(keys(result), result.breaches["detail"], strict=True))
    assert details[("good_quota", None, "乙局", "2024Q1")] == (
        "2024Q1「乙局」参加评定 4 人（另有不确定等次 1 人不计入），好等次 2 人，"
        "名额 1 人（40% × 4 = 1.6，向下取整），超出 1 人。")
    assert details[("good_quota", None, "甲局", "2024Q2")] == (
        "2024Q2「甲局」参加评定 7 人，好等次 3 人，名额 2 人（40% × 7 = 2.8，向下取整），超出 1 人。")
    assert details[("excellent_quota", None, "甲局", "2024")] == (
        "2024 年度「甲局」确定年度等次 8 人（另有不定等次 1 人不计入），优秀 3 人，"
        "名额 1 人（20% × 8 = 1.6，向下取整），超出 2 人。")
    assert details[("excellent_with_general", "P02", "甲局", "2024")] == (
        "P02 2024 年度评为优秀，但当年平时考核有 1 个季度为一般或较差（2024Q2一般）；"
        "规则：当年有一般或较差季度的不得评为优秀。")
    assert details[("excellent_low_average", "P12", "乙局", "2024")] == (
        "P12 2024 年度评为优秀，但当年平时考核平均分为 84.95 分（2 个季度得分的平均），低于 85 分的门槛。")
    assert details[("excellent_low_average", "P23", "丙办", "2023")] == (
        "P23 2023 年度评为优秀，但当年平时考核平均分为 83.00 分（年度结果中填报的平时平均分），低于 85 分的门槛。")
    assert details[("excellent_without_good", "P11", "乙局", "2024")] == (
        "P11 2024 年度评为优秀，但当年 2 个评定季度中好等次 0 次，少于要求的 1 次。")
    assert list(result.breaches["姓名"]) == [None] * 6 + ["甲2", "丙3", "乙2", "甲2", "乙1"]


def test_quota_tables_by_hand(small):
    result = check_rules(small, Filters(), RuleConfig())
    gq = result.good_quota.set_index(["unit", "period"])
    assert gq.loc[("甲局", "2024Q1"), ["rated", "uncertain", "good", "quota", "excess"]].tolist() == [7, 0, 2, 2, 0]
    assert gq.loc[("乙局", "2024Q1"), ["rated", "uncertain", "good", "quota", "excess"]].tolist() == [4, 1, 2, 1, 1]
    assert gq.loc[("乙局", "2024Q2"), ["rated", "uncertain", "good", "quota", "excess"]].tolist() == [5, 0, 1, 2, -1]
    assert gq.loc[("甲局", "2024Q3"), ["rated", "good", "quota", "excess"]].tolist() == [1, 0, 0, 0]
    assert bool(gq.loc[("丙办", "2024Q1"), "small"]) and not bool(gq.loc[("乙局", "2024Q2"), "small"])
    eq = result.excellent_quota.set_index(["unit", "year"])
    assert eq.loc[("甲局", 2024), ["graded", "undetermined", "excellent", "quota", "excess"]].tolist() == [8, 1, 3, 1, 2]
    assert eq.loc[("丙办", 2024), ["graded", "excellent", "quota", "excess"]].tolist() == [3, 0, 0, 0]
    s = result.summary.set_index("规则编号")
    # checked: 8 unit-quarters with someone rated (甲局 4, 乙局 2, 丙办 2); 4 unit-years; 7 annual 优秀, of which P23 (2023) has no
    # quarterly rows: not checkable for the two rules that need the quarters, checkable by the annual average
    assert s["检查数"].tolist() == [8, 4, 6, 7, 6]
    assert s["违反数"].tolist() == [3, 3, 1, 3, 1]
    assert s["未能检查"].tolist() == [0, 0, 1, 0, 1]


def test_overrides_25_percent_and_half(small):
    cfg = RuleConfig.from_toml({"excellent_quota": {"max_share": 0.25},
                                "excellent_without_good": {"min_good": "half"}})
    result = check_rules(small, Filters(), cfg)
    eq = result.excellent_quota.set_index(["unit", "year"])
    assert eq.loc[("甲局", 2024), ["quota", "excess"]].tolist() == [2, 1]  # floor(0.25 × 8) = 2
    assert eq.loc[("乙局", 2024), ["quota", "excess"]].tolist() == [1, 2]  # floor(1.25) = 1
    without = [k for k in keys(result) if k[0] == "excellent_without_good"]
    # P11: 0 of 2 (< 1); P03: 1 of 4 (< 2); P12 1 of 2 and P15 1 of 1 are enough; P02 1 of 2
    assert without == [("excellent_without_good", "P11", "乙局", "2024"),
                       ("excellent_without_good", "P03", "甲局", "2024")]
    detail = result.breaches.loc[result.breaches["person_id"] == "P03", "detail"].item()
    assert detail == ("P03 2024 年度评为优秀，但当年 4 个评定季度中好等次 1 次，"
                      "少于要求的评定季度数的一半（4 个季度的一半，即 2 次）。")


def test_approved_units_raise_only_their_own_quota(small):
    cfg = RuleConfig.from_toml({"excellent_quota": {"approved_units": ["甲局"], "approved_share": 0.4}})
    eq = check_rules(small, Filters(), cfg).excellent_quota.set_index(["unit", "year"])
    assert eq.loc[("甲局", 2024), ["share_limit", "quota", "excess"]].tolist() == [0.4, 3, 0]
    assert eq.loc[("乙局", 2024), ["share_limit", "quota", "excess"]].tolist() == [0.2, 1, 2]


def test_disabled_rules_and_other_thresholds(small):
    cfg = RuleConfig.from_toml({"good_quota": {"enabled": False}, "excellent_quota": {"enabled": False},
                                "excellent_low_average": {"min_average": 84.0},
                                "excellent_without_good": {"min_good": 0}})
    result = check_rules(small, Filters(), cfg)
    assert keys(result) == [
        ("excellent_with_general", "P02", "甲局", "2024"),
        ("excellent_low_average", "P23", "丙办", "2023"),  # 83.0 < 84; P02's 84.0 and P12's 84.95 are not
    ]
    status = result.summary.set_index("规则编号")["状态"]
    assert status["good_quota"] == "停用" and status["excellent_low_average"] == "启用"


def test_filters_choose_units_but_quotas_count_the_whole_unit(small):
    # leaders only: P01 of 甲局; 甲局's quotas still count all 7 rated, P01's own record is clean
    result = check_rules(small, Filters(role="leader"), RuleConfig())
    assert keys(result) == [("good_quota", None, "甲局", "2024Q2"), ("excellent_quota", None, "甲局", "2024")]
    assert result.good_quota.set_index("period").loc["2024Q2", "rated"] == 7
    # one quarter chosen: good_quota looks at that quarter, the annual rules at the whole year
    result = check_rules(small, Filters(periods=("2024Q1",), units=("乙局",)), RuleConfig())
    assert keys(result) == [
        ("good_quota", None, "乙局", "2024Q1"), ("excellent_quota", None, "乙局", "2024"),
        ("excellent_low_average", "P12", "乙局", "2024"), ("excellent_without_good", "P11", "乙局", "2024"),
    ]


def test_filters_that_select_nothing_give_empty_tables(small):
    result = check_rules(small, Filters(districts=("北区",)), RuleConfig())
    assert result.breaches.empty and list(result.breaches.columns) == [
        "rule", "规则", "person_id", "姓名", "unit", "period", "detail"]
    assert result.summary["检查数"].tolist() == [0, 0, 0, 0, 0]
    assert result.good_quota.empty and result.excellent_quota.empty


# --- configuration -------------------------------------------------------------------------------

def test_defaults_and_the_example_config_agree():
    import tomllib

    raw = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    assert RuleConfig.from_settings_raw(raw) == RuleConfig()
    assert RuleConfig.from_settings_raw({}) == RuleConfig()
    documented = {f"{rule}.{key}" for rule, opts in raw["rules"].items() for key in opts}
    assert documented == {
        "good_quota.enabled", "good_quota.max_share", "excellent_quota.enabled", "excellent_quota.max_share",
        "excellent_quota.approved_share", "excellent_quota.approved_units", "excellent_with_general.enabled",
        "excellent_low_average.enabled", "excellent_low_average.min_average", "excellent_without_good.enabled",
        "excellent_without_good.min_good"}


@pytest.mark.parametrize("table, message", [
    ({"good_quota": {"max_share": 1.5}}, "rules.good_quota.max_share 应是 0 到 1 之间的比例"),
    ({"good_quota": {"max_share": 0}}, "rules.good_quota.max_share 应是 0 到 1 之间的比例"),
    ({"good_quota": {"max_share": "40%"}}, "rules.good_quota.max_share 应为数字"),
    ({"good_quota": {"enabled": "yes"}}, "rules.good_quota.enabled 应为 true 或 false"),
    ({"good_quota": 0.4}, "rules.good_quota 应是一个表"),
    ({"good_qouta": {"max_share": 0.4}}, "未知的规则「good_qouta」"),
    ({"excellent_quota": {"max": 0.2}}, "未知的设置「max」"),
    ({"excellent_quota": {"approved_share": 0.1}}, "不应小于 max_share"),
    ({"excellent_quota": {"approved_units": "甲局"}}, "应为单位名称的列表"),
    ({"excellent_low_average": {"min_average": 120}}, "min_average 应是 0 到 100 之间的分数"),
    ({"excellent_without_good": {"min_good": "third"}}, "应为 0 到 4 的整数或 \"half\""),
    ({"excellent_without_good": {"min_good": 5}}, "应为 0 到 4 的整数或 \"half\""),
    ({"excellent_without_good": {"min_good": 1.5}}, "应为 0 到 4 的整数或 \"half\""),
])
def test_invalid_config_is_refused_in_chinese(table, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as info:
        RuleConfig.from_toml(table, "配置文件 x.toml")
    assert "配置文件 x.toml" in str(info.value)


def test_thresholds_say_where_each_comes_from():
    raw = {"good_quota": {"max_share": 0.35}}
    table = thresholds(RuleConfig.from_toml(raw), raw, "配置文件 c.toml")
    assert table["规则编号"].tolist() == list(RULE_IDS)
    assert table["来源"].tolist() == ["配置文件 c.toml"] + ["默认值"] * 4
    assert table["标准"].iloc[0] == "单位每季度好等次不超过参评人数的 35%（向下取整）"


# --- the report ----------------------------------------------------------------------------------

def test_report_rows_keys_and_json(small):
    frame = rules_report(small, Filters(), ReportArgs(year=2024), RuleConfig())
    assert list(frame.columns) == ["rule", "person_id", "unit", "period", "detail"]
    assert [tuple(r[:4]) for r in frame.itertuples(index=False)] == [k for k in DEFAULT_BREACHES if k[3] == "2024" or
                                                                     k[3].startswith("2024Q")]
    records = json.loads(frame.to_json(orient="records", force_ascii=False))
    assert records[0]["person_id"] is None and records[-1]["person_id"] == "P11"
    with pytest.raises(ReportError, match="--year"):
        rules_report(small, Filters(), ReportArgs(), RuleConfig())


def test_report_reads_the_config_file_by_default(small, tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text("[rules.good_quota]\nmax_share = 0.5\n[rules.excellent_quota]\nenabled = false\n",
                      encoding="utf-8")
    monkeypatch.setenv("KAOHE_CONFIG", str(config))
    frame = rules_report(small, Filters(), ReportArgs(year=2024))
    # 50%: 乙局 2024Q1 quota 2 (ok), 甲局 2024Q2 quota 3 (ok), 丙办 2024Q2 quota floor(1.5) = 1 (breach)
    assert frame[frame["rule"] == "good_quota"][["unit", "period"]].values.tolist() == [["丙办", "2024Q2"]]
    assert "excellent_quota" not in set(frame["rule"])


# --- the demo ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_result(demo_con):
    return check_rules(demo_con.cursor(), Filters(), RuleConfig())


def test_demo_annual_violations_are_found_exactly(demo_result):
    planted = PLANTED["annual_violations"]
    b = demo_result.breaches
    for rule in ("excellent_with_general", "excellent_low_average", "excellent_without_good"):
        found = set(b.loc[b["rule"] == rule, ["person_id", "period"]].itertuples(index=False, name=None))
        assert found == {(p["person_id"], str(p["year"])) for p in planted[rule]}, rule
    found = set(b.loc[b["rule"] == "excellent_quota", ["unit", "period"]].itertuples(index=False, name=None))
    assert found == {(q["unit"], str(q["year"])) for q in planted["excellent_quota"]}


def test_demo_good_quota_breaches_are_the_planted_units_exactly(demo_result):
    # the demo gives 好 to at most floor(40%) of every normal unit-quarter, so every breach is planted:
    # the inflated flat units every quarter, the inflating unit from its start, the tiny unit's all-好 quarters
    periods = PLANTED["periods"]
    inflating = PLANTED["inflating_unit"]
    expected = {(u, p) for u in PLANTED["inflated_flat_units"] for p in periods}
    expected |= {(inflating["unit"], p) for p in periods if p >= inflating["from"]}
    expected |= {(PLANTED["tiny_unit"]["unit"], p) for p in PLANTED["tiny_unit"]["all_good_periods"]}
    b = demo_result.breaches
    found = set(b.loc[b["rule"] == "good_quota", ["unit", "period"]].itertuples(index=False, name=None))
    assert found == expected
    tiny = demo_result.good_quota.query("unit == @PLANTED['tiny_unit']['unit'] and breach")
    assert tiny["rated"].tolist() == [4, 4] and tiny["quota"].tolist() == [1, 1] and tiny["small"].all()


def test_demo_half_rule_flags_more_but_keeps_the_planted(demo_con):
    cfg = RuleConfig.from_toml({"excellent_without_good": {"min_good": "half"}})
    b = check_rules(demo_con.cursor(), Filters(years=(2023,)), cfg).breaches
    found = set(b.loc[b["rule"] == "excellent_without_good", "person_id"])
    planted = {p["person_id"] for p in PLANTED["annual_violations"]["excellent_without_good"]}
    assert planted < found  # people with one 好 in four quarters are now breaches too


# --- the page ----------------------------------------------------------------------------------------


def open_page(filters: dict[str, list[str]] | None = None) -> AppTest:
    return apptools.open_page("pages/rules.py", filters)


def test_page_renders_on_the_demo(demo_app):
    at = open_page()
    assert at.title[0].value == "规则检查"
    headline = at.markdown[0].value
    assert "共 51 条规则提示" in headline and "好等次超比例 44 个单位季度（5 个单位）" in headline
    assert any("不是结论" in i.value for i in at.info)
    listing = next(d.value for d in at.dataframe if "依据" in d.value.columns)
    assert len(listing) == 51
    assert len(at.get("plotly_chart")) == 3
    standards = next(d for d in at.dataframe if "来源" in d.value.columns)
    assert set(standards.value["来源"]) == {"默认值"}
    # The configuration key (good_quota …) is in the downloads, not on the leader's screen.
    summary = next(d for d in at.dataframe if "检查数" in d.value.columns)
    for table in (standards, summary):
        assert "规则编号" in table.value.columns and "规则编号" not in table.proto.column_order
        assert list(table.proto.column_order)[0] == "规则"
    assert [s.value for s in at.subheader][-1] == "现行标准"  # after the breaches, not between headline and chart

    at.selectbox(key="rules-pick").set_value("优秀超比例").run()
    assert not at.exception
    listing = next(d.value for d in at.dataframe if "依据" in d.value.columns)
    assert listing["单位"].tolist() == [PLANTED["annual_violations"]["excellent_quota"][0]["unit"]]


def test_page_with_filters_that_leave_nothing(demo_app):
    # 史志 exists only at city level (the tiny unit), so 东湖区 + 史志 selects nobody
    at = open_page({"district": ["东湖区"], "sector": ["史志"]})
    assert any("没有数据" in i.value for i in at.info)
    assert not at.get("plotly_chart") and not at.dataframe


def test_page_shows_a_config_error_instead_of_crashing(demo_app, monkeypatch):
    bad = demo_app / "bad.toml"
    bad.write_text("[rules.good_quota]\nmax_share = 40\n", encoding="utf-8")
    monkeypatch.setenv("KAOHE_CONFIG", str(bad))
    at = open_page({"district": ["东湖区"], "sector": ["史志"]})  # the settings are read before any data
    assert any("rules.good_quota.max_share" in e.value for e in at.error)
