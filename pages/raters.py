"""评价人分析: who scores more leniently or harshly than the other raters of the same people."""

import streamlit as st

from analytics import raters
from ui import blocks, common, router, sidebar

router.enter()

st.title("评价人分析")
f = sidebar.current()
min_group = common.settings().min_group_size
result = common.compute(raters.analyse, f, min_group=min_group)

if result.empty:
    blocks.empty("当前筛选条件下没有评价明细。请放宽左侧的筛选条件，或在「数据导入」页导入评价明细。")
    st.stop()

st.markdown(f"**{raters.headline(result)}**")
st.caption(result.method + f" 筛选：{f.describe()}（按被评价人筛选）。")

# --- leniency -------------------------------------------------------------------------------------
st.subheader("评价人宽严度")
if not result.has_comparable:
    st.caption("当前筛选条件下没有可比的评价（每名被评价人同一季度至少要有两名非本人的评价人），无法计算宽严度。")
else:
    points = blocks.chart(
        raters.leniency_figure(result),
        "每个点是一名评价人：横轴是可比评价条数，纵轴是他给分比同一被评价人其他评价人的平均高多少分；"
        "落在虚线外的红点（偏松）、蓝点（偏严）被标记。点击一个点，下方列出他的全部评价。",
        key="raters-leniency", selectable=True,
    )
    flagged = raters.flagged_table(result)
    if flagged.empty:
        st.caption("没有被标记的评价人。")
    else:
        blocks.table(flagged, "被标记的评价人", key="raters-flagged", formats=raters.TABLE_FORMATS,
                     caption="被标记的评价人及依据：宽严度、标准误、可比评价条数，以及一条有代表性的评价。")

    st.markdown("**查看一名评价人的评价**")
    clicked = None
    if points:
        data = points[0].get("customdata")
        clicked = data[0] if isinstance(data, list | tuple) and data else data
    flagged_ids = list(result.flagged["rater"])
    choices = flagged_ids + [r for r in result.raters["rater"] if r not in set(flagged_ids)]
    labels = dict(zip(result.raters["rater"], result.raters["label"], strict=True))
    if clicked in labels:
        chosen = clicked
    else:
        chosen = st.selectbox("评价人（或点击上图中的点）", choices, format_func=lambda r: raters.choice_label(labels.get(r, r), r),
                              key="raters-pick")
    if chosen:
        row = result.raters[result.raters["rater"] == chosen].iloc[0]
        st.markdown(raters.rater_sentence(result, chosen))
        with common.cursor() as cur:
            given = raters.rater_ratings(cur, f, chosen)
        blocks.table(given, f"评价人{chosen}的评价", key="raters-given", formats=raters.TABLE_FORMATS)
        if row["is_person"]:
            blocks.person_link(chosen, f"查看评价人 {row['label']} 的完整记录")
            if isinstance(row["rater_unit"], str):
                blocks.unit_link(row["rater_unit"])

# --- compression and top scores ----------------------------------------------------------------------
st.subheader("打分集中与高分占比")
if result.has_compression:
    blocks.chart(
        raters.compression_figure(result),
        f"每名评价人给分标准差除以典型评价人的标准差（{raters.fmt_num(result.typical_sd)} 分）：1 表示与多数人一样拉得开，"
        f"低于虚线 {raters.COMPRESSION_LOW} 表示打分很集中。",
        key="raters-compression",
    )
blocks.table(raters.raters_display(result), "评价人明细", key="raters-all", formats=raters.TABLE_FORMATS,
             caption="全部评价人：宽严度、给分标准差与离散比、95 分及以上占比（自评不计）。")

# --- rater types -------------------------------------------------------------------------------------
st.subheader("各类评价的差异")
blocks.chart(
    raters.type_figure(result),
    "每类评价（自评、互评、上级、群众）平均比同一被评价人同一季度其他评价人的平均分高多少；线段为 95% 置信区间。",
    key="raters-types",
)
blocks.table(raters.types_display(result), "各类评价", key="raters-types-table", formats=raters.TABLE_FORMATS)

# --- self-rating gap ---------------------------------------------------------------------------------
st.subheader("自评与他评之差")
if result.self_units.empty:
    st.caption("当前筛选条件下没有可与他评比较的自评。")
else:
    blocks.chart(
        raters.self_gap_figure(result),
        f"各单位自评平均比他评高多少分（按差值从大到小，最多 30 个单位）；不足 {min_group} 人的单位不画，表中显示样本过少。",
        key="raters-self",
    )
    blocks.table(raters.self_units_display(result), "自评与他评之差（单位）", key="raters-self-units",
                 formats=raters.TABLE_FORMATS)
    units = list(result.self_units["unit"])
    unit = st.selectbox("查看单位的人员", units, key="raters-self-unit")
    if unit:
        blocks.unit_link(unit)
    blocks.table(raters.self_people_display(result), "自评与他评之差（个人）", key="raters-self-people",
                 formats=raters.TABLE_FORMATS, caption="自评比他评高得最多的 50 人。")
    top = result.self_people.head(1)
    if len(top):
        blocks.person_link(top.iloc[0]["person_id"], f"查看 {top.iloc[0]['name']} 的完整记录（自评高出最多）")

# --- agreement -------------------------------------------------------------------------------------
st.subheader("评价人之间的一致性")
sentence = raters.agreement_sentence(result)
if sentence is None:
    st.caption("至少有 2 名他评的人次不足，无法计算一致性。")
else:
    st.markdown(sentence)
    blocks.chart(
        raters.agreement_figure(result),
        "各单位的 ICC(1)：越接近 1，不同评价人对同一人的打分越一致；红色低于 0.5（较差），表示打分差异主要来自评价人而不是被评价人。"
        "按一致性从低到高，最多 40 个单位。",
        key="raters-icc",
    )
    blocks.table(raters.agreement_display(result), "评价人一致性（单位）", key="raters-icc-table",
                 formats=raters.TABLE_FORMATS)

with st.expander("指标说明"):
    st.markdown(f"""
- **宽严度**：这名评价人每打一次分，就和同一被评价人同一季度其他评价人（不含自评，也不含他自己的其他评分）给的平均分相比，
  差值的平均就是宽严度。正数表示比别人打得松，负数表示比别人打得严。自评不计入。没有其他评价人的评分不计入。
- **标准误**：宽严度的不确定程度，等于差值的标准差除以可比评价条数的平方根。条数越多、差值越稳定，标准误越小。
- **偏松 / 偏严**：可比评价至少 {result.min_ratings} 条，宽严度至少 +{raters.LENIENCY_POINTS:.0f} 分（或至多 −{raters.LENIENCY_POINTS:.0f} 分），
  并且离 0 至少 {raters.LENIENCY_SE:.0f} 个标准误。只评过一两次的人不判断，偶然差一次也不会被标记。
- **给分标准差 / 打分离散比**：评价人给出的分数拉得有多开；离散比 = 他的标准差 ÷ 全部评价人标准差的中位数。
  低于 {raters.COMPRESSION_LOW} 记为打分集中。注意：被评价人本身差别小（例如都很优秀的小科室），离散比也会低。
- **95分及以上占比**：评价人给出的分数中 95 分及以上的比例。
- **各类评价的差异**：按评价类型（自评、互评、上级、群众）平均，每条评价比同一人同一季度其他评价人平均高多少分。
- **自评与他评之差**：自评分减去同一季度他评的平均分；单位为全体人次的平均，不足 {min_group} 人的单位显示“样本过少”。
- **ICC(1)**：评价人一致性（组内相关系数）。把每个被评价人每个季度看作一组、组内是不同评价人的打分，
  ICC(1) 是被评价人之间的真实差别占全部打分差异的比例。0.5 以下较差，0.5–0.75 中等，0.75–0.9 良好，0.9 以上很好。
  **平均分信度 ICC(k)**：用几名评价人的平均分来区分人时的可靠程度。
""")
