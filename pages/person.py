"""人员档案: one person's full history: quarters, ratings received, workload, annual grades."""

import streamlit as st

from analytics.people import find_people, grade_timeline, person_history
from ui import blocks, common, router, sidebar

router.enter()

SCORES = {c: "score" for c in ("得分", "德", "能", "勤", "绩", "廉", "加分", "减分", "分数", "年度得分", "平时考核平均分",
                                "上级", "互评", "自评", "群众")}

f = sidebar.current()
st.title("人员档案")
with common.cursor() as cur:
    choices = find_people(cur, f)
if choices.empty:
    blocks.empty()
    st.stop()
labels = {r.person_id: f"{r.name}（{r.unit}，{r.person_id}）" for r in choices.itertuples()}
wanted = st.query_params.get("person")
ids = list(labels)
index = ids.index(wanted) if wanted in labels else None
person_id = st.selectbox("人员", ids, index=index, format_func=labels.get, placeholder="输入姓名或编号查找",
                         key="person-pick")
if person_id is None:
    st.markdown("选择一个人，查看其各季度得分和等次、收到的评价、工作日志饱和度和年度等次。")
    st.stop()
st.query_params["person"] = person_id
with common.cursor() as cur:
    history = person_history(cur, person_id, f)
if history is None:
    blocks.empty("此人不在当前筛选范围内。")
    st.stop()

p = history.profile
role = "领导" if p["is_leader"] else "工作人员"
st.subheader(f"{p['name']} · {p['unit']}")
st.caption(f"人员编号 {person_id} ｜ {p['dept'] or '处室未填'} ｜ {p['category'] or '类别未填'} ｜ {p['position'] or ''} ｜ {role}")
q = history.quarters
rated = q[q["等次"] != "不确定等次"]
summary = [f"共 {len(q)} 个季度的平时考核记录"]
if not rated.empty:
    summary.append(f"好 {int((rated['等次'] == '好').sum())} 次、一般或较差 {int(rated['等次'].isin(['一般', '较差']).sum())} 次")
    summary.append(f"平均得分 {rated['得分'].mean():.1f} 分")
if not history.years.empty:
    last = history.years.iloc[-1]
    summary.append(f"{int(last['年度'])} 年度等次：{last['年度等次']}")
st.markdown("，".join(summary) + "。")

with st.expander("指标说明"):
    st.markdown(
        "- **平时考核**：每季度的得分和等次（好、较好、一般、较差；不确定等次表示该季度未定等次）。\n"
        "- **收到的评价**：自评、同事互评、上级评价、群众评价的每一条分数。\n"
        "- **饱和度**：当月日志工时 ÷（当月工作日数 × 8 小时）；工作日按国家法定节假日和调休安排计算。\n"
        "- **记实覆盖率**：当月有日志的工作日 ÷ 工作日数。"
    )

st.subheader("平时考核")
if q.empty:
    st.caption("没有平时考核记录。")
else:
    blocks.chart(grade_timeline(q), "每个点是一个季度的得分，颜色表示等次；不确定等次没有得分，不画点。", "person-timeline")
    blocks.table(q, f"{person_id}_平时考核", "person-q", formats=SCORES)

st.subheader("收到的评价")
if history.ratings.empty:
    st.caption("没有评价明细。")
else:
    means = history.ratings.pivot_table(index="考核周期", columns="评价类型", values="分数", aggfunc="mean").round(1)
    blocks.table(means.reset_index(), f"{person_id}_各类评价平均分", "person-r-mean", formats=SCORES,
                 caption="各季度按评价类型的平均分。")
    with st.expander("每一条评价"):
        blocks.table(history.ratings, f"{person_id}_评价明细", "person-r", formats=SCORES)

st.subheader("工作日志与月度对账")
m = history.months
if m.empty:
    st.caption("没有工作日志或月度对账记录。")
else:
    blocks.table(m, f"{person_id}_工作饱和度", "person-m", formats={"工时": "hours", "饱和度": "pct", "记实覆盖率": "pct"})

st.subheader("年度考核")
if history.years.empty:
    st.caption("没有年度考核记录。")
else:
    blocks.table(history.years, f"{person_id}_年度考核", "person-a", formats=SCORES)
