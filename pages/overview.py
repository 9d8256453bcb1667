"""总览: the selected population in numbers, grade mix, 好 trend, and the top findings."""

import streamlit as st

from analytics.figures import pct
from analytics.overview import grade_mix_figure, overview, trend_figure
from ui import blocks, common, router, sidebar

router.enter()

f = sidebar.current()
config = common.settings()
st.title("总览")
ov = common.compute(overview, f)
if ov.empty:
    blocks.empty()
    st.stop()

latest = ov.trend.iloc[-1] if not ov.trend.empty else None
scope = "全部数据" if f.is_empty() else f"所选范围（{f.describe()}）"
headline = f"{scope}共 **{ov.units:,} 个单位、{ov.people:,} 人**"
if latest is not None:
    headline += (f"；最近一个季度 {latest['考核周期']} 有 {int(latest['参评人次']):,} 人参评，"
                 f"好等次占 **{pct(latest['好等次占比'])}**（上限 40%），一般及以下占 {pct(latest['一般及以下占比'])}")
st.markdown(headline + "。")

st.subheader("需要关注的发现")
found = common.leads(f, config.min_group_size)
for title, error in found.failed:  # one analysis failing must not take the overview down
    st.warning(f"「{title}」的发现暂时无法汇总：{error}")
if not found.leads:
    st.success("在当前筛选范围内，各页都没有需要特别关注的发现。")
for lead in found.leads:
    with st.container(border=True):
        st.markdown(f"**{lead.finding.title}**")
        st.caption(lead.finding.detail)
        if lead.focus:
            st.page_link(lead.finding.page, label=f"查看「{'、'.join(lead.focus)}」的详情",
                         icon=":material/arrow_forward:", query_params={"unit": list(lead.focus)})
        st.page_link(lead.finding.page, label="查看全部详情" if lead.focus else "查看详情",
                     icon=":material/arrow_forward:")

with st.expander("指标说明"):
    st.markdown(
        "- **参评人次**：所选期间有等次的人次（不含不确定等次，即当季未定等次的人）。\n"
        "- **好等次占比**：评为好的人次 ÷ 参评人次；按常见做法，每个单位每季度好等次不超过 40%。\n"
        "- **一般及以下占比**：评为一般或较差的人次 ÷ 参评人次；长期为零说明可能存在等次“压缩”。\n"
        "- **需要关注的发现**：各分析页按各自方法标记出的单位、评价人和规则问题，是需要核实的线索，不是结论。"
    )

st.subheader("平时考核等次构成")
if ov.rated == 0:
    st.caption("所选期间没有平时考核等次。")
else:
    blocks.chart(grade_mix_figure(ov.grade_mix, "平时考核"),
                 "所选期间全部季度等次的构成；百分比是占参评人次的比例（不确定等次按占全部人次计）。", "ov-mix")
    blocks.table(ov.grade_mix, "平时考核等次构成", "ov-mix-table", formats={"占比": "pct"})

st.subheader("好等次占比走势")
if len(ov.trend) >= 1:
    blocks.chart(trend_figure(ov.trend),
                 "每个季度好等次（蓝）和一般及以下（橙）占参评人次的比例；虚线为 40% 的好等次上限，"
                 "长期贴近上限说明等次可能按名额而不是按实绩评定。", "ov-trend")
    blocks.table(ov.trend, "好等次占比走势", "ov-trend-table", formats={"好等次占比": "pct", "一般及以下占比": "pct"})

if not ov.annual_mix.empty:
    st.subheader("年度考核等次构成")
    blocks.chart(grade_mix_figure(ov.annual_mix, "年度考核"), "所选年度年度考核等次的构成（占有年度等次人次的比例）。", "ov-annual")
    blocks.table(ov.annual_mix, "年度考核等次构成", "ov-annual-table", formats={"占比": "pct"})
