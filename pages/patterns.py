"""好/一般 走势: grade sequences, transitions, 好 counts, the follow-up list, quarters against the
annual grade, and rotation (轮流坐庄)."""

import pandas as pd
import streamlit as st

from analytics import exporting, patterns
from analytics.figures import pct
from ui import blocks, common, router, sidebar

router.enter()

f = sidebar.current()
min_group = common.settings().min_group_size
st.title("好/一般 走势")
result = common.compute(patterns.grade_patterns, f, min_group)
if result.empty:
    blocks.empty()
    st.stop()

st.markdown(f"**{result.headline}**")
common.method(patterns.METHOD)
st.caption(f"范围：{f.describe()}。人数少于 {min_group} 人的组显示「样本过少」，不给比例。")

# --- 等次序列 -----------------------------------------------------------------------------------
st.subheader("等次序列")
seq = result.sequences
units = sorted(seq["单位"].unique())
follow = result.follow_up
default_unit = next((u for u in f.units if u in units), None) or (
    follow["单位"].value_counts().index[0] if len(follow) else units[0])
unit = st.selectbox("选择单位", units, index=units.index(default_unit), key="patterns-unit")
blocks.chart(patterns.sequence_figure(seq, unit),
             "每行一人、每列一个季度，颜色是等次：深蓝好、浅蓝较好、橙色一般、红色较差、灰色不确定等次，空白是没有记录。"
             "一行颜色的变化就是这个人的等次走势。", "patterns-sequence")
blocks.table(seq[seq["单位"] == unit], f"等次序列_{unit}", "patterns-sequence-table",
             caption="上图的数字版（本单位）；全部单位的等次序列可用下面的按钮下载。")
left, right, _ = st.columns([1, 1, 2])
# built on click (a callable), not on every run: the whole table is large
left.download_button("下载全部单位（CSV）", lambda: exporting.csv_bytes(seq), "等次序列_全部单位.csv", "text/csv",
                     key="patterns-sequence-all-csv", width="stretch")
right.download_button("下载全部单位（Excel）", lambda: exporting.excel_bytes({"等次序列": seq}), "等次序列_全部单位.xlsx",
                      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                      key="patterns-sequence-all-xlsx", width="stretch")
blocks.unit_link(unit)

# --- 季度间等次转移 ---------------------------------------------------------------------------------
st.subheader("季度间等次转移")
trans = result.transitions
if trans.pairs == 0:
    st.caption("所选季度中没有相邻的两个季度，无法计算转移。请选择连续的季度或整年。")
else:
    blocks.chart(patterns.transition_figure(trans, min_group),
                 "每条横条是上季度的一个等次，颜色分段是同一批人下季度的等次占比；"
                 "例如「上季度好」一行中深蓝段越长，好等次越固定在同一批人身上。", "patterns-transitions")
    blocks.table(trans.shares, "等次转移_比例", "patterns-transitions-shares",
                 caption=f"行 = 上季度等次，列 = 下季度等次，数字为占该行的比例；共 {trans.pairs:,} 对相邻季度。")
    blocks.table(trans.counts, "等次转移_人次", "patterns-transitions-counts",
                 caption="同一张表的人次（人数：该行涉及的不同人数）。")

# --- 好等次次数 --------------------------------------------------------------------------------------
st.subheader("好等次次数")
gbu = result.good_by_unit
if gbu.empty:
    st.caption("所选范围内没有评定过等次的人。")
else:
    years = sorted(gbu["年度"].unique(), reverse=True)
    year = st.selectbox("年度", years, key="patterns-good-year")
    if (gbu[gbu["年度"] == year]["好等次比例"] != patterns.SMALL).any():
        blocks.chart(patterns.good_count_figure(gbu, int(year)),
                     "每条横条是一个单位，颜色分段是全年得到 0、1、2、3、4 次好的人所占比例（越深好越多）；"
                     "深色段长说明好集中在少数人，各段均匀说明好分散在很多人。", "patterns-good-count")
    blocks.table(gbu, "每人好等次次数_按单位", "patterns-good-count-table",
                 caption="每个单位每年：当年有等次的人数、人均好等次次数、好等次占评定季度的比例、得到 0–4 次好的人的比例。")

# --- 跟踪名单 -----------------------------------------------------------------------------------------
st.subheader("跟踪名单")
if follow.empty:
    st.caption("所选范围内没有人被评为一般或较差。")
else:
    st.caption(f"{follow['人员编号'].nunique():,} 人至少一个季度为一般或较差（每人每年一行），按年度和次数排序。")
    blocks.table(follow, "跟踪名单", "patterns-follow-up")
    labels = {pid: f"{pid} {name}（{unit_}）" for pid, name, unit_ in
              zip(follow["人员编号"], follow["姓名"], follow["单位"], strict=True)}
    person = st.selectbox("查看其中一人的完整记录", list(labels), format_func=labels.get, key="patterns-person")
    blocks.person_link(person)

# --- 平时等次与年度等次 ------------------------------------------------------------------------------
st.subheader("平时等次与年度等次")
alignment = result.alignment
if int(alignment.counts["合计"].sum()) == 0:
    st.caption("所选范围内没有评定过等次的人。")
else:
    blocks.chart(patterns.alignment_figure(alignment, min_group),
                 "每根柱是当年得到 0–4 次好的一组人，颜色分段是这组人的年度等次比例；"
                 "好的次数越多、优秀比例越高，说明年度等次和平时考核衔接得好。", "patterns-alignment")
    blocks.table(alignment.shares, "平时等次与年度等次_比例", "patterns-alignment-shares",
                 caption="行 = 当年好等次次数，列 = 年度等次，数字为占该行人数的比例（该行少于最小人数时为「样本过少」）。")
    blocks.table(alignment.counts, "平时等次与年度等次_人数", "patterns-alignment-counts", caption="同一张表的人数。")

# --- 轮流坐庄 -----------------------------------------------------------------------------------------
st.subheader("轮流坐庄")
rot = result.rotation
tested = patterns.tested_rotation(rot)
picked = None
if tested.empty:
    st.caption(f"没有可以检验的单位年度：需要全年 4 个季度都有等次、且至少 {min_group} 人。")
else:
    points = blocks.chart(patterns.rotation_figure(rot),
                          "每个点是一个单位的一个年度：横轴是参加检验的人数，纵轴是方差指数 = 每人好等次次数的实际方差 ÷ 随机分配时的期望方差。"
                          "约等于 1（虚线）与随机相当；明显大于 1 说明好固定在同一批人（按实绩评定时常见）；"
                          "明显小于 1（红点）说明好被轮流分给每个人。点一个点可在下方查看该单位的明细。",
                          "patterns-rotation", selectable=True)
    index = points[0].get("point_index", points[0].get("point_number")) if points else None
    if index is not None and 0 <= int(index) < len(tested):
        picked = (tested.loc[int(index), "unit"], int(tested.loc[int(index), "year"]))
table = pd.DataFrame({
    "单位": rot["unit"], "年度": rot["year"], "检验人数": rot["people"], "状态": rot["status"],
    "好等次比例": [pct(v) if s == "已检验" else ("样本过少" if s == patterns.SMALL else "—")
              for s, v in zip(rot["status"], rot["share"], strict=True)],
    "实际方差": rot["observed_var"].round(3), "随机期望方差": rot["expected_var"].round(3),
    "方差指数": rot["index"].round(2), "偏均匀 p 值": rot["p_even"].round(4),
    "偏集中 p 值": rot["p_concentrated"].round(4),
    "疑似轮流坐庄": rot["flagged"].map({True: "是", False: "否"}), "说明": rot["reading"],
})
blocks.table(table, "轮流坐庄检验", "patterns-rotation-table",
             formats={"实际方差": "%.3f", "随机期望方差": "%.3f", "方差指数": "%.2f", "偏均匀 p 值": "%.4f",
                      "偏集中 p 值": "%.4f"},
             caption="每个单位每年一行；只有全年 4 个季度都有等次的人参加检验。")
if not tested.empty:
    ordered = tested.sort_values(["flagged", "unit", "year"], ascending=[False, True, True])  # flagged first
    choices = [(u, int(y)) for u, y in zip(ordered["unit"], ordered["year"], strict=True)]
    if picked and picked in choices and picked != st.session_state.get("patterns-rotation-last"):
        st.session_state["patterns-rotation-pick"] = picked  # a new click on the chart shows that unit-year
    st.session_state["patterns-rotation-last"] = picked
    chosen = st.selectbox("查看一个单位年度的明细", choices, format_func=lambda c: f"{c[0]}（{c[1]} 年）",
                          key="patterns-rotation-pick")
    blocks.chart(patterns.rotation_detail_figure(result.person_years, chosen[0], chosen[1]),
                 "柱是全年得到 0–4 次好的实际人数，虚线是按该单位好等次比例随机分配时的期望人数；"
                 "柱都挤在中间（人人 1 次左右）而虚线更分散，就是轮流的迹象。", "patterns-rotation-detail")
    detail = result.person_years[(result.person_years["unit"] == chosen[0]) & (result.person_years["year"] == chosen[1])
                                 & (result.person_years["rated_quarters"] == 4)]
    blocks.table(pd.DataFrame({"人员编号": detail["person_id"], "姓名": detail["name"],
                               "各季度等次": [" → ".join(g) for g in result.grades(detail.index)],
                               "好等次次数": detail["good_count"]}),
                 f"轮流坐庄明细_{chosen[0]}_{chosen[1]}", "patterns-rotation-detail-table",
                 caption="上图所依据的每个人（全年 4 个季度都有等次的人）。")
    blocks.unit_link(chosen[0])

with st.expander("指标说明"):
    st.markdown(f"""
- **等次序列**：每个人每个季度的平时考核等次，按季度排开。不确定等次（该季度未评定，如长期请假、新入职）单独显示，和「没有记录」不同。
- **季度间等次转移**：同一个人相邻两个季度（第四季度到次年第一季度也算相邻）的等次配对。例如「上季度好」一行中「下季度好」占 60%，表示上季度是好的人，六成下季度仍是好。缺少记录的季度不配对。
- **好等次次数**：每人每年得到好的季度数（0–4 次），按单位统计各次数的人所占比例。
- **跟踪名单**：当年至少一个季度评为一般或较差的人，列出是哪几个季度、全年等次和年度等次，便于跟踪帮扶。
- **平时等次与年度等次**：按当年好的次数把人分组，看每组的年度等次；好次数多的人应更可能评为优秀。
- **轮流坐庄指数**（方差指数）：一个单位一年中，每人好等次次数的实际方差 ÷ 按单位好等次比例 p 随机分配时的期望方差 4 × p × (1 − p)。约等于 1 与随机相当；大于 1 说明好集中在同一批人；明显小于 1 说明好被轮流分配（例如每人正好一次）。是否「明显」用置换检验判断：保持每个季度好的人数不变，把好随机分给该单位的人，反复模拟，看随机情况下方差不超过实际方差的比例（偏均匀 p 值）；模拟到出现 10 次不超过实际方差时即停止（明显不是轮流的单位很快停止），最多 {patterns.ROTATION_PERMUTATIONS:,} 次；小于 {patterns.ROTATION_ALPHA:g} 才标为「疑似轮流坐庄」。每个单位年度误报的概率不超过 {patterns.ROTATION_ALPHA:.0%}。只检验全年 4 个季度都有等次、且至少 {min_group} 人的单位年度。
- 人数少于 {min_group} 人的组显示「样本过少」，不给比例，避免从图表上读出个人结果。
""")
