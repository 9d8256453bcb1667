"""等次分布: the share of 好 between units, which differences are beyond chance, and quota use."""

import streamlit as st

from analytics import grade_spread as gs
from analytics.figures import pct
from ui import blocks, common, router, sidebar

router.enter()

f = sidebar.current()
settings = common.settings()
min_group = settings.min_group_size
quota = gs.configured_quota(settings.raw)

st.title("等次分布")
result = common.compute(gs.grade_spread, f, min_group, quota)

if result.empty:
    blocks.empty()
    st.stop()

st.markdown(f"**{gs.headline(result)}**")
st.caption(f"筛选条件：{f.describe()}。{result.note}")
common.method(result.note)
units_in_period = int(result.periods["units"].min())
if units_in_period < 5:
    st.warning(f"所选范围内某些季度只有 {units_in_period} 个单位：总体比例主要由这几个单位自己决定，"
               "漏斗图和收缩比例的参考意义有限，建议放宽单位筛选。", icon="⚠️")
if f.categories or f.role:
    st.caption("注意：选了「人员类别」或「领导/工作人员」时，人数、总体比例和名额都只按所选人员计算。")

# --- funnel plot ---------------------------------------------------------------------------------
st.subheader("好等次比例漏斗图")
periods = list(result.periods["period"])
left, right = st.columns([1, 2])
if st.session_state.get("gs-period") not in periods:
    st.session_state["gs-period"] = periods[-1]  # the latest quarter, also when the filters change
period = left.selectbox("考核周期", periods, key="gs-period")
limits = right.radio("控制线", ["精确二项（默认）", "过度离散调整（Spiegelhalter 2005）"], horizontal=True,
                     key="gs-limits",
                     help="精确二项控制线假定各单位真实比例相同；若单位之间本来就差异较大（过度离散），"
                          "可改用调整后的控制线，只有差异特别大的单位才会被标出。")
adjusted = limits.startswith("过度离散")
row = result.periods[result.periods["period"] == period].iloc[0]
if not adjusted:
    shown_as = "当前显示：精确二项控制线"
elif row["phi"] > 1:
    shown_as = f"当前显示：过度离散调整后的控制线（φ = {row['phi']:.2f}，已按 √φ 放宽）"
else:
    shown_as = "当前显示：过度离散调整选项，但 φ 不大于1（或无法估计），控制线不放宽，按正态近似画出"
picked = blocks.chart(
    gs.funnel_figure(result, period, adjusted),
    f"每个点是一个单位：横轴是定等人数，纵轴是好等次比例；中间横线是同期总体比例 {pct(row['p0'])}，"
    f"虚线和实线是95%和99.8%控制线（人越少，随机波动越大，漏斗越宽），红点高于99.8%控制线，"
    f"点线是{pct(quota, 0)}名额。{shown_as}。点一个点可在下方查看该单位的趋势。",
    "gs-funnel", selectable=True,
)
blocks.table(gs.funnel_table(result, period, adjusted), f"漏斗图_{period}", "gs-funnel-table",
             caption="按P值从小到大排列；P值是总体比例下随机出现这么多（或更多）好等次的概率，小于0.001标为偏高。")

# --- one unit's trend (picked on the funnel plot or below) ---------------------------------------
st.subheader("单位好等次比例趋势")
units = sorted(result.units["unit"])
big = result.units[result.units["min_people"] >= min_group]
flagged = (big if len(big) else result.units).sort_values(["flagged_quarters", "good_share"], ascending=False)["unit"]
clicked = None
if picked:
    data = picked[0].get("customdata")
    clicked = str(data[0]) if data else None
if clicked in units and clicked != st.session_state.get("gs-last-click"):
    st.session_state["gs-unit"] = clicked  # a new click on the funnel plot picks that unit
st.session_state["gs-last-click"] = clicked
if st.session_state.get("gs-unit") not in units:
    st.session_state["gs-unit"] = flagged.iloc[0]
unit = st.selectbox("单位", units, key="gs-unit", help="也可以在上面的漏斗图中点一个单位。")
blocks.chart(
    gs.trend_figure(result, unit),
    "实线是该单位各季度的好等次比例（红点表示高于该季度99.8%控制线），细线是同期总体比例，"
    "虚线是按该单位人数算出的99.8%上控制线，点线是名额；点状线是收缩后的比例。",
    "gs-trend",
)
blocks.table(gs.trend_table(result, unit), f"好等次趋势_{unit}", "gs-trend-table")
blocks.unit_link(unit)

# --- shrunk ranking ------------------------------------------------------------------------------
st.subheader(f"{period} 好等次收缩比例排名")
fit = result.periods[result.periods["period"] == period].iloc[0]
blocks.chart(
    gs.shrunk_figure(result, period),
    "按收缩比例从高到低排列：点是收缩比例，横线是95%区间，叉是原始比例；人少的单位被拉向总体比例更多，"
    "所以排名不会被几个人的小单位占据。",
    "gs-shrunk",
)
st.caption(f"收缩参数：a = {fit['a']:.2f}，b = {fit['b']:.2f}（{fit['fit_note']}），"
           f"相当于给每个单位先加上 {fit['a'] + fit['b']:.1f} 个按总体比例评定的“虚拟人”。")
blocks.table(gs.shrunk_table(result, period), f"收缩比例排名_{period}", "gs-shrunk-table")

# --- grade mix -----------------------------------------------------------------------------------
st.subheader("各单位等次构成")
_, left_out = gs.heatmap_rows(result)
blocks.chart(
    gs.heatmap_figure(result),
    "每行一个单位（所选季度合计），格中数字是各等次所占比例，颜色是与第一行“全部单位”相比多（红）或少（蓝）多少个百分点。"
    + (f"单位太多，图中只画等次构成与总体差别最大的 {gs.HEATMAP_MAX_UNITS} 个单位（各等次比例与总体之差的绝对值之和最大），"
       f"其余 {left_out} 个单位和人数过少的单位见下表。" if left_out else ""),
    "gs-heatmap",
)
blocks.table(gs.mix_table(result), "等次构成", "gs-mix-table")

# --- 一般 or worse, quota ------------------------------------------------------------------------
st.subheader("一般及以下等次与名额使用")
blocks.chart(
    gs.low_share_figure(result),
    "每条横条是一个单位所选季度评为一般或较差的比例，比例最低的在上；红色菱形表示从未评过一般，且按总体比例这种情况"
    "出现的概率低于千分之一（等次可能被压缩），灰色菱形表示也没有一般，但人次少，可能只是碰巧。",
    "gs-low",
)
blocks.chart(
    gs.quota_figure(result),
    f"每条横条是一个单位的季度数：红色是好等次超出{pct(quota, 0)}名额的季度，深蓝是恰好用满名额的季度，"
    "浅蓝是未用满的季度；每个季度都恰好用满，说明等次可能是按名额分的，而不是按实绩。",
    "gs-quota",
)
blocks.table(gs.units_table(result), "单位等次汇总", "gs-units",
             caption="每个单位一行（所选季度合计）：好等次偏高的季度数、一般及以下比例、名额使用情况。")
with st.expander("全部单位季度明细"):
    blocks.table(gs.quarters_table(result), "单位季度等次明细", "gs-quarters",
                 caption=f"每个单位每个季度一行；不足{min_group}人的单位季度不显示比例。")
breaches = gs.quota_breaches(result)
st.markdown(f"**好等次超出名额的单位季度（{len(breaches)} 个）**")
if breaches.empty:
    st.caption("没有单位季度的好等次超出名额。")
else:
    blocks.table(breaches, "好等次超出名额", "gs-breaches",
                 caption=f"名额 = 定等人数 × {pct(quota, 0)}，向下取整；不确定等次不计入定等人数。")

with st.expander("指标说明"):
    st.markdown(f"""
- **定等人数**：该单位该季度评了好、较好、一般或较差的人数；不确定等次（未定等）不计入。
- **好等次比例**：评为好的人数 ÷ 定等人数。
- **同期总体比例**：同一季度所选全部单位的好等次人数 ÷ 定等人数，作为比较的基准。
- **漏斗图控制线**：如果一个单位和总体一样，好等次人数会因为随机波动而上下浮动；控制线按精确二项分布算出，
  95%控制线内是常见波动，高于99.8%控制线（随机出现的概率小于千分之一）才标为**好等次偏高**。
  人少的单位波动大，控制线宽，因此小单位不会因为一两个人就被标出。按这个标准，一个并无问题的单位季度被误标的机会约为千分之一。
- **精确二项P值**：在总体比例下，随机出现这么多或更多好等次的概率。
- **过度离散调整**（Spiegelhalter 2005）：先用各单位的标准化偏差估计离散系数 φ（两端各10%缩尾），φ 大于1时把控制线按 √φ 放宽，
  只标出超出“单位之间正常差异”的单位；φ 不大于1时不放宽。
- **收缩比例**：把每个单位的比例向总体比例拉近（人越少拉得越多），用于排名；区间是95%可信区间。
  方法是贝塔-二项经验贝叶斯：(好等次人数 + a) ÷ (定等人数 + a + b)，a、b 由同季度各单位的比例用矩估计求得。
- **一般及以下比例**：评为一般或较差的人数 ÷ 定等人数。**从未评一般**（压缩信号）：所选季度一次一般或较差也没有，
  且按各季度总体比例这种情况出现的概率低于千分之一。
- **好等次名额**：定等人数 × {pct(quota, 0)}，向下取整。**超出名额**：好等次人数多于名额；**每季度用满名额**：
  至少{min_group}人的单位，所选每个季度好等次都恰好等于名额，说明等次可能是按名额分的。
- **样本过少**：不足{min_group}人的单位不显示比例，以免推算出个人等次。
以上标记都是需要核实的线索，不是结论。详细定义见项目文档 docs/metrics/grade_spread.md。
""")
