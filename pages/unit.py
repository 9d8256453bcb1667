"""单位人员: the people of the selected units (reached from any flagged unit)."""

import streamlit as st

from analytics.people import unit_people
from ui import blocks, common, router, sidebar

router.enter()

f = sidebar.current()
st.title("单位人员")
if not f.units:
    st.markdown("在左侧「单位」中选择一个或几个单位，或从其他页面被标记的单位点进来，即可看到该单位每个人的等次和得分。")
with common.cursor() as cur:
    people = unit_people(cur, f)
if people.empty:
    blocks.empty()
    st.stop()

units = people["单位"].nunique()
follow = int((people["一般及以下次数"] > 0).sum())
st.markdown(
    f"**{units} 个单位、{len(people):,} 人**（{f.describe()}）。"
    f"所选期间有 {follow} 人至少一次评为一般或较差。"
)
with st.expander("指标说明"):
    st.markdown(
        "- **参评季度数**：所选期间有等次的季度数（不含不确定等次）。\n"
        "- **好等次次数 / 一般及以下次数**：所选期间评为好、评为一般或较差的季度数。\n"
        "- **平均得分**：所选期间各季度得分的平均。\n"
        "- **年度等次**：所选年度中最近一年的年度考核等次。\n"
        "点表格中的一行，可查看这个人的完整记录。"
    )
event = blocks.show(people, {"平均得分": "score"}, on_select="rerun", selection_mode="single-row",
                    key="unit-people")
st.caption("每行一人。点选一行查看其各季度等次、评价明细、工作日志饱和度和年度等次。")
common.downloads(people, "单位人员", "unit-people-dl")
rows = event.selection.rows if event and event.selection else []
if rows:
    chosen = people.iloc[rows[0]]
    st.switch_page("pages/person.py", query_params={"person": chosen["人员编号"]})
