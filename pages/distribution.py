"""分数分布: how quarterly scores spread within units and groups, and which units score everyone alike."""

import streamlit as st

from analytics import distribution as dist
from ui import blocks, common, router, sidebar

router.enter()

f = sidebar.current()
min_group = common.settings().min_group_size
labels = {label: key for key, (label, _) in dist.GROUPINGS.items()}
grouping_label = st.session_state.get("dist-grouping", "单位")  # the selector is drawn further down

st.title("分数分布")
result = common.compute(dist.score_distribution, f, labels.get(grouping_label, "unit"), min_group)

if result.empty:
    blocks.empty()
    st.stop()

st.markdown(f"**{dist.flattened_sentence(result)}**")
st.caption(f"筛选条件：{f.describe()}。{result.note}")
common.method(result.note)

st.subheader("平均化打分")
picked = blocks.chart(
    dist.sd_figure(result.quarters, min_group),
    "每个点是一个单位一个季度内分数的标准差（越低说明分数越接近）；灰色虚线是同季度各单位标准差中位数的一半，"
    "红点（低于虚线，或分数只有1至2种）是平均化打分。点一个点可查看该单位的人员。",
    "dist-sd", selectable=True,
)
clicked = (picked[0].get("customdata") or [None])[0] if picked else None
if clicked:
    blocks.unit_link(str(clicked))
flat = dist.quarters_table(result.flattened, min_group)
if flat.empty:
    st.caption("所选范围内没有平均化打分的单位季度。")
else:
    blocks.table(flat, "平均化打分单位季度", "dist-flat", caption="标为平均化打分的单位季度（图中红点）。")
with st.expander("全部单位季度的分数统计"):
    blocks.table(dist.quarters_table(result.quarters, min_group), "单位季度分数统计", "dist-quarters",
                 caption=f"每个单位每个季度一行；不足{min_group}人的单位季度显示「样本过少」。")

st.subheader("各单位分数离散程度（所选季度汇总）")
blocks.table(dist.units_table(result.units, min_group), "单位分数离散程度", "dist-units",
             caption="平均分和95分及以上占比按人次合计；标准差、四分位距和不同分值数先按季度计算再取平均，"
                     "避免把季度之间的变化算成单位内部的差异。")

st.subheader("分组对比")
st.selectbox("分组方式", list(labels), key="dist-grouping",
             help="按单位、系统、单位层级、地区、人员类别或领导/工作人员分组比较分数分布。")
label = dist.GROUPINGS[result.grouping][0]
blocks.chart(
    dist.box_figure(result.groups, result.grouping, min_group),
    f"每行一个{label}（所选季度的全部分数）：箱体是中间一半人的分数范围，箱中竖线是中位数，虚线是平均分，"
    f"两侧须线到1.5倍四分位距以内的最高和最低分；不足{min_group}人的组不画。",
    "dist-box",
)
blocks.table(dist.groups_table(result.groups, result.grouping, min_group), f"按{label}分数统计", "dist-groups")

shown_groups = ["全部", *result.groups.loc[result.groups["people"] >= min_group, "group"].astype(str)]
group = st.selectbox(f"直方图：选择{label}", shown_groups, key=f"dist-hist-group-{result.grouping}")
blocks.chart(
    dist.histogram_figure(result.histogram, group, result.bin_width),
    "横轴是季度得分（每1分一段），柱高是人次，颜色是该季度评定的等次；可看出等次大致按多少分划分、分数是否挤在一起。",
    "dist-hist",
)
blocks.table(dist.histogram_table(result.histogram, group, result.bin_width), f"分数直方图_{group}", "dist-hist-table")

st.subheader("查看单位人员")
units = sorted(result.units["unit"])
unit = st.selectbox("选择单位", units, index=None, placeholder="选择一个单位", key="dist-unit")
if unit:
    blocks.unit_link(unit)

with st.expander("指标说明"):
    st.markdown(f"""
- **人数**：该单位该季度有分数的人数。不确定等次（如长期请假、新入职，没有分数）不计入任何统计。
- **平均分 / 中位数**：分数的平均值；中位数是排在正中间的分数，不受个别极端分数影响。
- **标准差**：分数离平均分的典型距离（样本标准差），越小说明大家的分数越接近。
- **四分位距**：把分数从低到高排好，中间一半人的分数范围（第75百分位数减第25百分位数）。
- **95分及以上占比**：得分在95分及以上的人次占全部人次的比例。
- **不同分值数**：该单位该季度一共出现了几种不同的分数。
- **同期标准差中位数**：同一季度全部单位（至少2人有分数）标准差的中位数，作为比较的基准。它不随地区、系统、单位等筛选变化，
  所以一个单位是否被标出，不取决于同时查看了哪些单位；人员类别和领导/工作人员筛选则按所选人员计算。
- **平均化打分**：某单位某季度至少{min_group}人，且分数标准差不到同期标准差中位数的一半，或分数只有1至2种。
  这说明分数几乎拉不开差距，可能是"轮流坐庄"或"一样打分"，请结合实际工作核实；它是线索，不是结论。
- **样本过少**：不足{min_group}人的单位或分组不显示统计数字，以免从图表中推算出个人的分数。
- **季内标准差（平均）**等汇总：先逐季度计算，再对所选季度取平均。
详细定义见项目文档 docs/metrics/distribution.md。
""")
