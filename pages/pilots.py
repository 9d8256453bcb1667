"""联系点对比: do the pilot units (平时考核联系点) differentiate better since they joined?"""

import streamlit as st

from analytics import pilots
from ui import blocks, common, router, sidebar

router.enter()

st.title("联系点对比")
f = sidebar.current()
min_group = common.settings().min_group_size
result = common.compute(pilots.analyse, f, min_group=min_group)

if result.empty:
    blocks.empty()
    st.stop()

st.markdown(pilots.headline(result))
st.caption(result.method + f" 筛选：{f.describe()}。")

# --- difference in differences --------------------------------------------------------------------
st.subheader("加入前后的变化：联系点单位对比其他单位")
if result.has_did:
    blocks.chart(
        pilots.did_figure(result),
        "每格一个指标：点是双重差分（联系点单位加入后比加入前的变化，减去其他单位同期的变化），竖线是 95% 区间；"
        "红点表示区间不含 0（变化可以确定），灰点表示不能确定。",
        key="pilots-did",
    )
    blocks.table(pilots.did_display(result), "联系点双重差分", key="pilots-did-table",
                 caption="各指标加入前后的平均（每个单位同等权重）、双重差分和按单位重抽样的 95% 区间。")
else:
    st.caption("无法计算双重差分：需要同时有带加入季度的联系点单位和非联系点单位，并且所选季度跨过加入季度。")

# --- quarterly series -------------------------------------------------------------------------------
st.subheader("各季度走势")
blocks.chart(
    pilots.series_figure(result),
    "每格一个指标：蓝线是联系点单位的平均，灰线是其他单位的平均（每个单位同等权重），红色虚线是联系点加入的季度。",
    key="pilots-series",
)
blocks.table(pilots.series_display(result.series), "联系点各季度走势", key="pilots-series-table")

# --- each pilot before and after ---------------------------------------------------------------------
st.subheader("各联系点单位加入前后")
if result.did.per_pilot.empty:
    st.caption("当前筛选范围内没有带加入季度的联系点单位。")
else:
    metric = st.selectbox("指标", list(pilots.METRICS), format_func=lambda m: pilots.METRICS[m][0],
                          key="pilots-metric")
    clicked = blocks.chart(
        pilots.per_pilot_figure(result, metric),
        "每行一个联系点单位：灰点是加入前各季度的平均，蓝点是加入后的平均，连线越长变化越大。点击一个点查看该单位的人员。",
        key="pilots-each", selectable=True,
    )
    if clicked:
        unit = clicked[0].get("customdata")
        unit = unit[0] if isinstance(unit, list | tuple) else unit
        if unit:
            st.switch_page("pages/unit.py", query_params={"unit": unit})
    blocks.table(pilots.per_pilot_display(result), "各联系点单位加入前后", key="pilots-each-table")
    for unit in result.did.pilot_units:
        blocks.unit_link(unit)

# --- compare any units side by side ------------------------------------------------------------------
st.subheader("任选单位对比")
options = result.units
default = [u for u in result.pilot_units if u in options][:6]
chosen = st.multiselect("选择要对比的单位", options, default=default, key="pilots-compare",
                        placeholder="选择单位")
if chosen:
    blocks.chart(
        pilots.compare_figure(result, chosen),
        f"所选单位每个季度的五项指标，一条线一个单位；参评不足 {min_group} 人的季度不画（表中显示样本过少）。",
        key="pilots-compare-chart",
    )
    blocks.table(pilots.unit_quarters_display(pilots.compare_units(result.unit_quarters, chosen)),
                 "所选单位对比", key="pilots-compare-table")
else:
    st.caption("选择一个或多个单位，即可并排比较它们各季度的指标。")

with st.expander("指标说明"):
    st.markdown(f"""
- **得分标准差**：同一单位同一季度参评人员得分的标准差，越大说明打分拉得越开（区分度越高）。
- **好等次比例**：同一单位同一季度“好”等次人数 ÷ 参评人数；不确定等次不计入。
- **一般及以下比例**：“一般”和“较差”人数 ÷ 参评人数；长期为 0 说明可能没有真正区分。
- **日志覆盖率**：应记实人员（该季度参评的人和实际写了日志的人）写了日志的工作日数 ÷ 应有的工作日数。
  工作日按国家法定节假日和调休计算，只统计日志数据覆盖的日期范围。
- **工作饱和度**：日志工时合计 ÷（工作日数 × 8 小时）。
- **双重差分**：联系点单位加入后比加入前的变化，减去其他（非联系点）单位在同一时间点前后的变化。
  这样可以扣除全市都在发生的变化（例如政策调整），剩下的才更可能是联系点做法带来的。
  每个联系点以它自己的加入季度划分前后；非联系点单位按同一季度划分。每个单位同等权重。
- **95% 区间**：把单位有放回地重新抽样 {pilots.BOOTSTRAP_REPS:,} 次重算双重差分，取中间 95% 的范围；区间不含 0 才能说变化确实存在。
  联系点单位很少时区间会偏窄，只作参考。
- 参评不足 {min_group} 人的单位季度显示“样本过少”，不计入平均和双重差分。
""")
