"""工作饱和度: logged hours against standard hours, by person, 处室 and unit, for one month or a period."""

import streamlit as st

from analytics import saturation as sat
from analytics.figures import pct
from ui import blocks, common, router, sidebar

router.enter()

HOURS = {"日志工时": "hours", "其中非工作日工时": "hours"}  # 1,234.5 小时

f = sidebar.current()
min_group = common.settings().min_group_size
st.title("工作饱和度")
headline = st.container()  # the finding goes directly under the title, once the month is known

with common.cursor() as cur:
    months, latest = sat.available_months(cur, f)
if not months:
    blocks.empty("所选范围内没有工作日志或月度对账记录。请放宽左侧的筛选条件（年度、地区、单位等）。")
    st.stop()

month_options = [m.strftime("%Y-%m") for m in months]
left, right = st.columns([1, 2])
mode = left.radio("查看", ["单月", "所选期间"], horizontal=True, key="sat_mode",
                  help="单月：选一个月；所选期间：左侧筛选的年度或季度内各月合计")
month = None
if mode == "单月":
    if st.session_state.get("sat_month") not in month_options:  # first visit, or the filters moved on
        st.session_state["sat_month"] = latest.strftime("%Y-%m")
    month = right.selectbox("月份", month_options, format_func=lambda m: sat.month_label(sat.parse_month(m)),
                            key="sat_month", help="默认是筛选范围内最近一个有日志的月份")

result = common.compute(sat.page, f, month, min_group)
view, link, agree, trend, band_months = (result.view, result.grades, result.agreement, result.trend,
                                         result.band_months)

if not view.overall["people"]:
    blocks.empty()
    st.stop()

headline.markdown(f"**{sat.headline(view, min_group)}**")
headline.caption(f"{f.describe()}。{view.method}")

# --- working days of the months shown -----------------------------------------------------------
if len(view.calendar) == 1:
    row = view.calendar.iloc[0]
    words = f"{row['月份']}共 {row['工作日天数']} 个工作日"
    if row["放假"] != "—":
        words += f"；放假：{row['放假']}"
    if row["调休上班"] != "—":
        words += f"；调休上班：{row['调休上班']}"
    st.markdown(f"工作日：{words}。")
else:
    with st.expander(f"所选期间 {len(view.calendar)} 个月的工作日、放假和调休安排"):
        blocks.table(view.calendar, "工作日安排", "sat-calendar")
if view.calendar_note:
    st.warning(view.calendar_note, icon="⚠️")

o = view.overall
cols = st.columns(6)
cols[0].metric("人数", f"{o['people']:,}")
cols[1].metric("平均饱和度", pct(o["saturation"]))
cols[2].metric("日志覆盖率", pct(o["coverage"]))
cols[3].metric("圆满度", pct(o["completion"]))
cols[4].metric("超负荷人数", f"{o['bands']['超负荷']:,}")
cols[5].metric("不饱和人数", f"{o['bands']['不饱和']:,}")
if view.absent:
    st.caption(f"另有 {view.absent:,} 人在{view.scope}既无日志也无月度对账记录，未计入（可能尚未入职、已调离、长期请假，"
               "或所在单位未使用日志）。")

with st.expander("指标说明"):
    st.markdown(f"""
- **饱和度**：日志里记录的工时 ÷（工作日天数 × 8 小时）。工作日按国家法定节假日和调休安排计算：节假日不算，调休上班的周末算。
  周末、节假日记的工时也算进工时（加班也是工作量），但分母只算工作日。
- **饱和度档次**：低于 60% 为不饱和，60%（含）到 90% 为较饱和，90%（含）到 110%（含）为饱和，高于 110% 为超负荷。
- **处室和单位的饱和度**：全体人员工时合计 ÷ 标准工时合计；不足 {min_group} 人的处室或单位显示“{sat.SMALL}”，以免从图上读出个人的情况。
- **日志覆盖率**：有日志的工作日天数 ÷ 工作日天数。覆盖率低时，饱和度低可能只是没记日志，不一定是活少。
- **分配合理度（基尼系数）**：处室内各人饱和度的基尼系数，0 表示人人一样忙，越大越不均衡；只对不少于 {min_group} 人的处室计算。
  一半人 60%、一半人 120% 时约为 0.17，一半人 70%、一半人 110% 时约为 0.11；达到 {sat.GINI_UNEVEN} 标为“分配不均”。
- **圆满度**：月度对账中完成事项数 ÷ 计划事项数（合计后相除）。
- **领导饱和度评价与日志的一致性**：领导每月给出的饱和度评价（不饱满、一般、较饱满、饱满）与当月日志饱和度对照；
  斯皮尔曼等级相关系数越接近 1 越一致；评“饱满”而日志低于 60%，或评“不饱满”而日志达到 90%，算明显不一致。
- **饱和度与考核等次**：每人每季度的饱和度与当季等次对照，只说明两者是否相关，不说明忙就该评好。
- **计入哪些人和月份**：某人某月有日志或月度对账记录才计入；只有月度对账、没有日志的，工时和覆盖率都按 0 计（不会漏掉）。
  月中入职或调离的人当月按整月工作日计算，饱和度会偏低。
""")

# --- bands --------------------------------------------------------------------------------------
st.subheader("饱和度档次")
blocks.chart(sat.fig_bands(o), "每个档次的人数和占比：不饱和（低于 60%）和超负荷（高于 110%）两头的人值得关注。", "sat-bands")
blocks.table(sat.band_table(o), "饱和度档次人数", "sat-bands-table")

if trend is not None and len(trend) > 1:
    st.markdown("**各月平均饱和度和日志覆盖率**")
    blocks.chart(sat.fig_trend(trend), "每月的平均饱和度（蓝线）和日志覆盖率（灰线）；虚线是 60%、90%、110% 三条档次界线。两条线一起下降，多半是日志没记全。",
                 "sat-trend")
    st.markdown("**各月饱和度档次构成**")
    blocks.chart(sat.fig_trend_bands(trend), "每月各档次人数占比，合计 100%；看超负荷、不饱和的人是否集中在某几个月。",
                 "sat-trend-bands")
    blocks.table(sat.trend_table(trend), "各月饱和度", "sat-trend-table")

# --- units and 处室, with drill-down ------------------------------------------------------------
st.subheader("单位和处室")
unit_points = blocks.chart(
    sat.fig_units(view.units),
    "每个单位的饱和度，颜色是档次，虚线是 60%、90%、110% 三条界线；灰色为人数过少不显示（单位多时只画最高和最低各 20 个，全部见下表）。点击某个单位的条形，下面显示它的处室和人员。",
    "sat-units", selectable=True)
blocks.table(sat.group_table(view.units), "各单位饱和度", "sat-units-table")


def clicked(points, n: int) -> tuple | None:
    if not points:
        return None
    data = points[0].get("customdata")
    if data is not None and len(data) >= n:
        return tuple(data[:n])
    label = str(points[0].get("y", ""))
    return tuple(label.split(" · ")) if n == 2 and " · " in label else (label,)


unit_pick = clicked(unit_points, 1)
depts = view.depts
if unit_pick:
    st.markdown(f"#### {unit_pick[0]}")
    blocks.unit_link(unit_pick[0])
    depts = view.depts[view.depts["unit"] == unit_pick[0]]
dept_points = blocks.chart(
    sat.fig_depts(depts),
    "每个处室的饱和度（处室多时只画最高和最低各 20 个，全部见下表）。点击某个处室的条形，下面列出它的人员。",
    "sat-depts", selectable=True)
blocks.table(sat.group_table(depts), "各处室饱和度", "sat-depts-table")
dept_pick = clicked(dept_points, 2)
if dept_pick and len(dept_pick) == 2:
    members = view.people[(view.people["unit"] == dept_pick[0]) & (view.people["dept"] == dept_pick[1])]
    st.markdown(f"#### {dept_pick[0]} · {dept_pick[1]}（{len(members)} 人）")
    if not unit_pick:
        blocks.unit_link(dept_pick[0])
    blocks.table(sat.people_table(members), "处室人员饱和度", "sat-dept-people", formats=HOURS)
    for pid in members["person_id"].head(30):
        blocks.person_link(pid)
elif unit_pick:
    members = view.people[view.people["unit"] == unit_pick[0]]
    blocks.table(sat.people_table(members), "单位人员饱和度", "sat-unit-people", formats=HOURS,
                 caption=f"{unit_pick[0]}的人员（{len(members)} 人）")

if band_months is not None:
    blocks.table(sat.band_months_table(band_months), "处室各档次月数", "sat-band-months",
                 caption="所选期间每个处室有几个月处在各档次（样本过少的月份单列）：连续多月超负荷或不饱和比偶尔一个月更值得关注。")

# --- who is over- or under-loaded -----------------------------------------------------------------
st.subheader("超负荷和不饱和的人员")
over = view.people[view.people["band"] == "超负荷"]
under = view.people[view.people["band"] == "不饱和"].sort_values("saturation")
a, b = st.columns(2)
with a:
    st.markdown(f"**超负荷（高于 110%）：{len(over):,} 人**")
    blocks.table(sat.people_table(over), "超负荷人员", "sat-over", formats=HOURS)
with b:
    st.markdown(f"**不饱和（低于 60%）：{len(under):,} 人**")
    blocks.table(sat.people_table(under), "不饱和人员", "sat-under", formats=HOURS)
listed = {r.person_id: f"{r.name or r.person_id}（{r.unit}，{pct(r.saturation)}，{r.band}）"
          for r in [*over.itertuples(), *under.itertuples()]}
if listed:
    pick = st.selectbox("查看某人的完整记录", list(listed), index=None, format_func=listed.get,
                        placeholder="从上面两张表中选一人", key="sat-person")
    if pick:
        blocks.person_link(pick)

# --- imbalance inside 处室 -------------------------------------------------------------------------
st.subheader("分配合理度")
rated = view.depts[view.depts["gini"].notna()]
if rated.empty:
    st.caption(f"没有不少于 {min_group} 人的处室，不计算分配合理度。")
else:
    st.markdown("**处室饱和度与分配合理度（基尼系数）**")
    blocks.chart(sat.fig_gini(view.depts),
                 f"每个点是一个处室，颜色是档次：横轴是处室饱和度，纵轴是处室内各人饱和度的基尼系数（越高越忙闲不均，≥{sat.GINI_UNEVEN} 为分配不均）；"
                 "右上角的处室既忙又不均。", "sat-gini")
    blocks.table(sat.gini_table(view.depts), "处室分配合理度", "sat-gini-table")

# --- log coverage ------------------------------------------------------------------------------------
st.subheader("日志覆盖率")
blocks.chart(sat.fig_coverage(view.units),
             "每个点是一个单位：横轴是日志覆盖率，纵轴是饱和度。左下角的单位饱和度低，可能只是日志记得少；右下角才是真正活少。",
             "sat-coverage")
low = view.people.sort_values("coverage").head(50)
blocks.table(sat.people_table(low), "日志覆盖率最低的人员", "sat-coverage-people", formats=HOURS,
             caption="日志覆盖率最低的 50 人（0% 表示有月度对账但没记日志）。")

# --- saturation and grade -----------------------------------------------------------------------------
st.subheader("饱和度与考核等次")
if link.by_grade.empty:
    st.caption("所选范围内没有可以对照的季度等次。")
else:
    blocks.chart(sat.fig_grade_box(link),
                 f"{link.scope}每个等次的人的季度饱和度：箱体是中间一半人，中线是中位数，须线到 5% 和 95% 分位。各箱高低相近，说明等次与工作量关系不大。",
                 "sat-grade")
    blocks.table(sat.grade_table(link), "各等次饱和度", "sat-grade-table")
    blocks.chart(sat.fig_good_by_band(link), "每个饱和度档次中评为好的比例和 95% 置信区间（Wilson）；区间互相重叠时，档次之间的差别可能只是偶然。即使越忙的档次好等次越多，也只说明两者相关。",
                 "sat-good-band")
    blocks.table(sat.good_band_table(link), "各档次好等次比例", "sat-good-band-table")
    st.caption(f"注意：{link.method}")

# --- plan completion and the leader's 饱和度评价 -----------------------------------------------
st.subheader("圆满度与领导饱和度评价")
if agree.pairs == 0:
    st.caption("所选范围内没有月度对账中的饱和度评价。")
else:
    rho = "—" if agree.spearman is None else f"{agree.spearman:.2f}"
    st.markdown(f"{agree.pairs:,} 条月度对账中，领导评价与日志饱和度的等级相关系数为 **{rho}**；"
                f"明显不一致 **{len(agree.disagree):,}** 条。整体圆满度（完成事项 ÷ 计划事项）为 **{pct(o['completion'])}**。")
    blocks.chart(sat.fig_agreement(agree),
                 "每行是一种领导评价，格子是这些人当月日志饱和度落在各档次的比例；颜色集中在从左下到右上的对角线上，说明评价与日志一致。",
                 "sat-agreement")
    blocks.table(sat.rating_table(agree), "领导评价与日志饱和度", "sat-agreement-table")
    if len(agree.disagree):
        blocks.table(sat.disagree_table(agree), "评价与日志明显不一致", "sat-disagree",
                     caption="领导评价与日志明显不一致的人月（评“饱满”而日志低于 60%，或评“不饱满”而日志达到 90%）")

# --- everyone -----------------------------------------------------------------------------------------
st.subheader("全部人员")
table = sat.people_table(view.people)
if month is None:
    table = table.drop(columns="领导饱和度评价")
blocks.table(table, f"工作饱和度_{view.scope}", "sat-people", formats=HOURS)
