"""规则检查: every rule of DOMAIN.md on the selection, each breach with its evidence and a link."""

import streamlit as st

from analytics import rules
from analytics.config import ConfigError
from analytics.figures import pct
from ui import blocks, common, router, sidebar

router.enter()

CONFIG_KEY = ("规则编号",)  # good_quota …: kept in the downloads for whoever edits the configuration, not shown

f = sidebar.current()
settings = common.settings()
st.title("规则检查")

source = f"配置文件 {settings.config_path} 的 [rules] 表" if settings.config_path else "配置文件"
try:
    cfg = rules.RuleConfig.from_settings_raw(settings.raw, source)
except ConfigError as exc:
    st.error(f"规则设置有误，无法检查：{exc}")
    st.stop()

result = common.compute(rules.check_rules, f, cfg, settings.min_group_size)
common.method(result.method)

summary = result.summary
if not (summary["检查数"].fillna(0) > 0).any():
    blocks.empty()
    st.stop()



b = result.breaches
counts = b["rule"].value_counts().to_dict()
if b.empty:
    checked = int(summary["检查数"].fillna(0).sum())
    st.markdown(f"**所选范围内没有发现违反规则的情况**（共检查 {checked:,} 个单位季度、单位年度和个人年度；{f.describe()}）。")
else:
    parts = []
    for rule in rules.RULE_IDS:
        n = counts.get(rule, 0)
        if n:
            sub = b[b["rule"] == rule]
            what = {"good_quota": "个单位季度", "excellent_quota": "个单位年度"}.get(rule, "人次")
            extra = f"（{sub['unit'].nunique()} 个单位）" if rule == "good_quota" else ""
            parts.append(f"{rules.RULE_LABELS[rule]} {n} {what}{extra}")
    st.markdown(f"**共 {len(b)} 条规则提示**：" + "；".join(parts) + "。")
st.info("规则提示是需要核实的线索，不是结论：每条都附有依据（数字、标准和算法），请对照原始材料核实，"
        "例如是否经批准提高了优秀比例、季度等次是否事后调整。", icon="🔎")
if f.categories or f.role:
    st.caption("注意：好等次和优秀的名额按单位全体人员计算；「人员类别」「领导/工作人员」筛选只决定检查哪些单位和哪些人的个人规则，"
               "不改变单位名额的计算基数。")

st.subheader("各规则的违反情况")
picked = blocks.chart(rules.breaches_by_rule_figure(result),
                      "每条横条是一条规则，长度是违反的条数（单位季度、单位年度或人次）；点一条横条，下方清单只列这条规则。",
                      "rules-by-rule", selectable=True)
blocks.table(summary, "规则检查_汇总", "rules-summary", hidden=CONFIG_KEY,
             caption="检查数：实际检查的单位季度、单位年度或年度优秀人员数；未能检查：缺少当年平时考核结果，无法判断的人数。")

labels = {rules.RULE_LABELS[r]: r for r in rules.RULE_IDS}
clicked = picked[0].get("y") if picked else None
options = ["全部规则", *labels]
if clicked in options and clicked != st.session_state.get("rules-last-click"):
    st.session_state["rules-pick"] = clicked  # a new click on the chart picks that rule below
st.session_state["rules-last-click"] = clicked
choice = st.selectbox("只看某条规则", options, key="rules-pick")
shown = b if choice == "全部规则" else b[b["rule"] == labels[choice]]

st.subheader("违反清单")
if shown.empty:
    st.caption("没有违反这条规则的记录。")
else:
    listing = shown.rename(columns={"规则": "规则", "person_id": "人员编号", "unit": "单位", "period": "期间",
                                    "detail": "依据"}).drop(columns=["rule"]).fillna("—")
    blocks.table(listing, "规则检查_违反清单", "rules-list",
                 caption="每行一条规则提示；依据列写明数字、标准和计算方法。")
    targets = []
    for r in shown.itertuples(index=False):
        if r.person_id:
            targets.append((f"{r.person_id} {r.姓名 or ''}（{r.unit}，{r.period}，{r.规则}）", "person", r.person_id))
        else:
            targets.append((f"{r.unit}（{r.period}，{r.规则}）", "unit", r.unit))
    seen = list(dict.fromkeys(targets))
    pick = st.selectbox("查看其中一条的单位或人员", range(len(seen)), format_func=lambda i: seen[i][0],
                        key="rules-target")
    _, kind, target = seen[pick]
    if kind == "person":
        blocks.person_link(target)
    else:
        blocks.unit_link(target)

gq = result.good_quota
if cfg.good_quota_enabled and gq["breach"].any():
    st.subheader("好等次超比例的单位")
    blocks.chart(rules.good_quota_figure(result),
                 "每行一个有超比例的单位、每列一个季度，格中是「好等次人数/名额」（名额 = 参评人数 × 比例，向下取整）；"
                 "颜色越红超出越多，白色表示未超出。",
                 "rules-good-quota")
    table = gq[gq["unit"].isin(gq.loc[gq["breach"], "unit"])].copy()
    table["好等次比例"] = [("样本过少" if s else pct(v)) for s, v in zip(table["small"], table["share"], strict=True)]
    table["是否超出"] = table["breach"].map({True: "超出", False: "未超出"})
    table["excess"] = table["excess"].clip(lower=0)
    blocks.table(table[["unit", "period", "rated", "uncertain", "good", "quota", "excess", "好等次比例", "是否超出"]]
                 .rename(columns={"unit": "单位", "period": "季度", "rated": "参评人数", "uncertain": "不确定等次人数",
                                  "good": "好等次人数", "quota": "名额", "excess": "超出人数"}),
                 "规则检查_好等次名额", "rules-good-quota-table",
                 caption="上图各格的数字；参评人数不足最小人数时，比例显示为「样本过少」。")

eq = result.excellent_quota
if cfg.excellent_quota_enabled and (eq["graded"] > 0).any():
    st.subheader("年度优秀与名额")
    blocks.chart(rules.excellent_quota_figure(result),
                 "每个点是一个单位的一个年度：横轴是优秀名额，纵轴是实际优秀人数；虚线上方（红点）表示超出名额。",
                 "rules-excellent-quota")
    table = eq[eq["graded"] > 0].sort_values("excess", ascending=False, kind="stable")  # breaches first
    table["优秀比例"] = [("样本过少" if s else pct(v)) for s, v in zip(table["small"], table["share"], strict=True)]
    table["比例上限"] = table["share_limit"]
    table["是否超出"] = table["breach"].map({True: "超出", False: "未超出"})
    table["excess"] = table["excess"].clip(lower=0)
    blocks.table(table[["unit", "year", "graded", "undetermined", "excellent", "比例上限", "quota", "excess", "优秀比例",
                        "是否超出"]]
                 .rename(columns={"unit": "单位", "year": "年度", "graded": "确定等次人数", "undetermined": "不定等次人数",
                                  "excellent": "优秀人数", "quota": "名额", "excess": "超出人数"}),
                 "规则检查_优秀名额", "rules-excellent-quota-table", formats={"比例上限": "pct"},
                 caption="上图各点的数字；确定等次人数不足最小人数时，比例显示为「样本过少」。")

st.subheader("现行标准")
st.caption(f"阈值来自{source if settings.raw.get('rules') else '程序默认值（配置文件中没有 [rules] 表）'}；"
           "各单位可在配置文件中修改，见 config.example.toml 的 [rules] 部分。")
standards = rules.thresholds(cfg, settings.raw.get("rules"), source)
blocks.table(standards, "规则检查_现行标准", "rules-thresholds", hidden=CONFIG_KEY)

with st.expander("指标说明"):
    st.markdown("""
- **好等次超比例**（good_quota）：一个单位一个季度里，好等次人数不得超过实际参加评定人数的一定比例（默认 40%）。名额 = 参评人数 × 比例，向下取整：例如 7 人参评，7 × 40% = 2.8，名额 2 人，3 人评为好即超出。不确定等次（未评定）和缺少等次的人不算参评人数。
- **优秀超比例**（excellent_quota）：一个单位一个年度里，优秀人数不得超过确定年度等次人数的一定比例（默认 20%，经批准的单位 25%），同样向下取整；不定等次、不确定档次不计入。
- **有一般或较差季度却评为优秀**（excellent_with_general）：年度评为优秀的人，当年任何一个季度为一般或较差。
- **平时平均分偏低却评为优秀**（excellent_low_average）：年度评为优秀的人，当年平时考核各季度得分的平均低于门槛（默认 85 分）；没有季度得分时，用年度结果中填报的平时平均分。
- **好等次次数不足却评为优秀**（excellent_without_good）：年度评为优秀的人，当年好等次的季度少于要求（默认至少 1 次；也可设为评定季度数的一半）。
- **现行标准**：上面各条规则此刻使用的阈值，以及它来自配置文件还是程序默认值。
- 单位名额按单位全体人员计算；年度规则看当年全部季度，不受季度筛选的影响。当年没有平时考核结果的人无法检查，计入「未能检查」，不算违反。
""")
    st.markdown(f"- 单位人数少于 {settings.min_group_size} 人时，比例显示为「样本过少」，但规则照常检查（名额规则本身就按人数计算）。\n"
                f"- {result.method}")
