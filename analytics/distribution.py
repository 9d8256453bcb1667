"""分数分布: how quarterly scores spread, by unit and by other groupings, and flattened scoring.

Per unit and quarter (people with a score only; 不确定等次 rows have no score and are left out):
people, mean, median, SD (sample, n − 1), IQR (linear interpolation), share at or above 95 and the
number of distinct scores. *Flattened scoring* (平均化打分, DOMAIN.md): a unit-quarter with at least
``min_group`` people whose score SD is below half the median SD of all unit-quarters of the same
period (every unit with an SD, i.e. at least 2 scores, whatever the unit-level filters), or whose
scores take at most 2 distinct values.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.figures import (
    FLAG_COLOR,
    GRADE_COLORS,
    MUTED_COLOR,
    NEUTRAL_COLOR,
    QUARTER_GRADE_ORDER,
    pct,
)
from analytics.filters import Filters
from analytics.findings import Finding
from analytics.registry import ReportArgs, ReportError, report

PAGE = "pages/distribution.py"
SMALL = "样本过少"
TOP_SCORE = 95.0
FLAT_SD_RATIO = 0.5
FLAT_MAX_DISTINCT = 2

# grouping key -> (label, SQL expression over the ``scored`` rows); fixed identifiers only
GROUPINGS: dict[str, tuple[str, str]] = {
    "unit": ("单位", "unit"),
    "sector": ("系统", "COALESCE(sector, '（未填系统）')"),
    "level": ("单位层级", "COALESCE(level, '（未填层级）')"),
    "district": ("地区", "COALESCE(district, '（未填地区）')"),
    "category": ("人员类别", "COALESCE(category, '（未填类别）')"),
    "role": ("领导/工作人员", "CASE WHEN is_leader THEN '领导' ELSE '工作人员' END"),
}

METHOD_NOTE = (
    "只统计有分数的人（不确定等次不计）；标准差为样本标准差，四分位距为第75与第25百分位数之差；"
    "某单位某季度至少5人，且分数标准差低于同季度全部单位标准差中位数的一半，或分数只有1至2种，即标为平均化打分。"
)


@dataclass(frozen=True)
class Distribution:
    """Everything the 分数分布 page shows."""

    quarters: pd.DataFrame  # one row per unit and period (REPORT_COLUMNS)
    units: pd.DataFrame  # one row per unit, summarised over the selected quarters
    groups: pd.DataFrame  # box statistics per group of the chosen grouping (pooled over quarters)
    histogram: pd.DataFrame  # group, bin_start, grade, count
    grouping: str
    bin_width: float
    min_group: int
    note: str

    @property
    def empty(self) -> bool:
        return self.quarters.empty

    @property
    def flattened(self) -> pd.DataFrame:
        return self.quarters[self.quarters["flattened_flag"]]


# --- SQL -----------------------------------------------------------------------------------------

def _scored(filters: Filters) -> tuple[str, list]:
    """Person-quarter rows with a score, for the selected people and periods."""
    pop_sql, params = filters.population()
    period_sql, period_params = filters.period_clause("q.period")
    sql = f"""
        WITH pop AS ({pop_sql}),
        scored AS (
            SELECT pop.*, q.period, q.score, q.grade
            FROM quarterly q JOIN pop USING (person_id)
            WHERE q.score IS NOT NULL AND {period_sql}
        )
    """
    return sql, params + period_params


def benchmark_filters(filters: Filters) -> Filters:
    """The filters the flattened-scoring benchmark is computed on: the same periods and the same
    kind of people (人员类别, 领导/工作人员), but every unit. Unit-level filters (地区, 单位层级, 系统,
    单位, 联系点) select whole units, so a unit's statistics are the same either way, and its flag
    does not depend on which other units are on screen."""
    return filters.with_(districts=(), levels=(), sectors=(), units=(), pilot=None)


def unit_quarter_spread(con: duckdb.DuckDBPyConnection, filters: Filters, min_group: int = 5) -> pd.DataFrame:
    """Spread statistics per unit and quarter with the flattened-scoring flag.

    Columns: unit, period, people, mean_score, median_score, sd_score, iqr_score, share_95,
    distinct_scores, period_median_sd, flattened_flag. People without a unit are left out. The
    benchmark (median SD of the period) is taken over all units (``benchmark_filters``).
    """
    cte, params = _scored(benchmark_filters(filters))
    selected_sql, selected_params = filters.population()
    sql = cte + f""",
        uq AS (
            SELECT unit, period, count(*) AS people, avg(score) AS mean_score,
                   median(score) AS median_score, stddev_samp(score) AS sd_score,
                   quantile_cont(score, 0.75) - quantile_cont(score, 0.25) AS iqr_score,
                   avg(CASE WHEN score >= {TOP_SCORE} THEN 1.0 ELSE 0.0 END) AS share_95,
                   count(DISTINCT score) AS distinct_scores
            FROM scored WHERE unit IS NOT NULL
            GROUP BY unit, period
        ),
        bench AS (
            SELECT period, median(sd_score) AS period_median_sd
            FROM uq WHERE sd_score IS NOT NULL GROUP BY period
        ),
        selected AS (SELECT DISTINCT unit FROM ({selected_sql}) WHERE unit IS NOT NULL)
        SELECT uq.*, bench.period_median_sd,
               uq.people >= ? AND (
                   COALESCE(uq.sd_score < {FLAT_SD_RATIO} * bench.period_median_sd, false)
                   OR uq.distinct_scores <= {FLAT_MAX_DISTINCT}
               ) AS flattened_flag
        FROM uq LEFT JOIN bench USING (period)
        WHERE uq.unit IN (SELECT unit FROM selected)
        ORDER BY unit, period
    """
    frame = con.execute(sql, params + selected_params + [min_group]).df()
    frame["people"] = frame["people"].astype(int)
    frame["distinct_scores"] = frame["distinct_scores"].astype(int)
    frame["flattened_flag"] = frame["flattened_flag"].astype(bool)
    return frame


def group_stats(con: duckdb.DuckDBPyConnection, filters: Filters, grouping: str) -> pd.DataFrame:
    """Box statistics per group, pooled over the selected quarters.

    Columns: group, people (distinct persons), scores (person-quarters), mean, median, sd, q1, q3,
    iqr, low, high (whiskers: the furthest scores within 1.5 IQR of the box), min, max, share_95,
    distinct_scores.
    """
    _, expr = _grouping(grouping)
    cte, params = _scored(filters)
    sql = cte + f""",
        g AS (SELECT {expr} AS grp, person_id, score FROM scored),
        box AS (
            SELECT grp, count(DISTINCT person_id) AS people, count(*) AS scores, avg(score) AS mean,
                   median(score) AS median, stddev_samp(score) AS sd,
                   quantile_cont(score, 0.25) AS q1, quantile_cont(score, 0.75) AS q3,
                   min(score) AS min, max(score) AS max,
                   avg(CASE WHEN score >= {TOP_SCORE} THEN 1.0 ELSE 0.0 END) AS share_95,
                   count(DISTINCT score) AS distinct_scores
            FROM g WHERE grp IS NOT NULL GROUP BY grp
        )
        SELECT box.grp AS "group", box.people, box.scores, box.mean, box.median, box.sd, box.q1, box.q3,
               box.q3 - box.q1 AS iqr,
               min(g.score) FILTER (WHERE g.score >= box.q1 - 1.5 * (box.q3 - box.q1)) AS low,
               max(g.score) FILTER (WHERE g.score <= box.q3 + 1.5 * (box.q3 - box.q1)) AS high,
               box.min, box.max, box.share_95, box.distinct_scores
        FROM box JOIN g USING (grp)
        GROUP BY ALL
        ORDER BY box.median DESC, "group"
    """
    return con.execute(sql, params).df()


def score_histogram(con: duckdb.DuckDBPyConnection, filters: Filters, grouping: str,
                    bin_width: float = 1.0) -> pd.DataFrame:
    """Score counts per group, bin (``floor(score / w) * w``) and grade; group '全部' is everyone."""
    _, expr = _grouping(grouping)
    cte, params = _scored(filters)
    sql = cte + f""",
        g AS (SELECT {expr} AS grp, floor(score / ?) * ? AS bin_start, COALESCE(grade, '（未填等次）') AS grade
              FROM scored)
        SELECT CASE WHEN GROUPING(grp) = 1 THEN '全部' ELSE grp END AS "group", bin_start, grade, count(*) AS count
        FROM g
        GROUP BY GROUPING SETS ((grp, bin_start, grade), (bin_start, grade))
        HAVING grp IS NOT NULL OR GROUPING(grp) = 1
        ORDER BY 1, 2, 3
    """
    frame = con.execute(sql, params + [bin_width, bin_width]).df()
    frame["count"] = frame["count"].astype(int)
    return frame


def _grouping(grouping: str) -> tuple[str, str]:
    if grouping not in GROUPINGS:
        raise ValueError(f"grouping must be one of {list(GROUPINGS)}")
    return GROUPINGS[grouping]


# --- summaries -----------------------------------------------------------------------------------

def unit_summary(quarters: pd.DataFrame) -> pd.DataFrame:
    """One row per unit over the selected quarters.

    Columns: unit, quarters, mean_people, mean_score (weighted by people), mean_sd (mean of the
    within-quarter SDs), mean_iqr, share_95 (weighted), mean_distinct, flattened_quarters,
    min_people (the smallest quarter, for the small-group rule).
    """
    if quarters.empty:
        return pd.DataFrame(columns=["unit", "quarters", "mean_people", "min_people", "mean_score", "mean_sd",
                                     "mean_iqr", "share_95", "mean_distinct", "flattened_quarters"])
    q = quarters.assign(score_sum=quarters["mean_score"] * quarters["people"],
                        top_sum=quarters["share_95"] * quarters["people"])
    out = q.groupby("unit", sort=True).agg(
        quarters=("period", "count"), mean_people=("people", "mean"), min_people=("people", "min"),
        people_sum=("people", "sum"), score_sum=("score_sum", "sum"), top_sum=("top_sum", "sum"),
        mean_sd=("sd_score", "mean"), mean_iqr=("iqr_score", "mean"), mean_distinct=("distinct_scores", "mean"),
        flattened_quarters=("flattened_flag", "sum"),
    ).reset_index()
    out["mean_score"] = out["score_sum"] / out["people_sum"]
    out["share_95"] = out["top_sum"] / out["people_sum"]
    out["flattened_quarters"] = out["flattened_quarters"].astype(int)
    return out[["unit", "quarters", "mean_people", "min_people", "mean_score", "mean_sd", "mean_iqr",
                "share_95", "mean_distinct", "flattened_quarters"]]


def score_distribution(con: duckdb.DuckDBPyConnection, filters: Filters, grouping: str = "unit",
                       min_group: int = 5, bin_width: float = 1.0) -> Distribution:
    """The 分数分布 page in one call."""
    quarters = unit_quarter_spread(con, filters, min_group)
    return Distribution(
        quarters=quarters,
        units=unit_summary(quarters),
        groups=group_stats(con, filters, grouping),
        histogram=score_histogram(con, filters, grouping, bin_width),
        grouping=grouping,
        bin_width=bin_width,
        min_group=min_group,
        note=METHOD_NOTE,
    )


# --- tables for the page (Chinese column names, 样本过少 for small groups) --------------------------

def _score_text(value: float | None) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.1f}"


def _pct_text(value: float | None) -> str:
    return pct(None if value is None or pd.isna(value) else float(value))


def quarters_table(quarters: pd.DataFrame, min_group: int = 5) -> pd.DataFrame:
    rows = []
    for r in quarters.itertuples(index=False):
        small = r.people < min_group
        rows.append({
            "单位": r.unit, "考核周期": r.period, "人数": int(r.people),
            "平均分": SMALL if small else _score_text(r.mean_score),
            "中位数": SMALL if small else _score_text(r.median_score),
            "标准差": SMALL if small else _score_text(r.sd_score),
            "四分位距": SMALL if small else _score_text(r.iqr_score),
            "95分及以上占比": SMALL if small else _pct_text(r.share_95),
            "不同分值数": SMALL if small else str(int(r.distinct_scores)),
            "同期标准差中位数": _score_text(r.period_median_sd),
            "平均化打分": "是" if r.flattened_flag else ("样本过少" if small else "否"),
        })
    return pd.DataFrame(rows, columns=["单位", "考核周期", "人数", "平均分", "中位数", "标准差", "四分位距",
                                       "95分及以上占比", "不同分值数", "同期标准差中位数", "平均化打分"])


def units_table(units: pd.DataFrame, min_group: int = 5) -> pd.DataFrame:
    rows = []
    big = units[units["min_people"] >= min_group].sort_values(["flattened_quarters", "mean_sd"],
                                                             ascending=[False, True])
    ordered = pd.concat([big, units[units["min_people"] < min_group].sort_values("unit")])  # small units last
    for r in ordered.itertuples(index=False):
        small = r.min_people < min_group
        rows.append({
            "单位": r.unit, "季度数": int(r.quarters), "平均人数": f"{r.mean_people:.1f}",
            "平均分": SMALL if small else _score_text(r.mean_score),
            "季内标准差（平均）": SMALL if small else _score_text(r.mean_sd),
            "季内四分位距（平均）": SMALL if small else _score_text(r.mean_iqr),
            "95分及以上占比": SMALL if small else _pct_text(r.share_95),
            "不同分值数（平均）": SMALL if small else f"{r.mean_distinct:.1f}",
            "平均化打分季度数": int(r.flattened_quarters),
        })
    return pd.DataFrame(rows, columns=["单位", "季度数", "平均人数", "平均分", "季内标准差（平均）",
                                       "季内四分位距（平均）", "95分及以上占比", "不同分值数（平均）",
                                       "平均化打分季度数"])


def groups_table(groups: pd.DataFrame, grouping: str, min_group: int = 5) -> pd.DataFrame:
    label, _ = _grouping(grouping)
    rows = []
    # groups under min_group go last, in name order: their place in a ranking would tell too much
    ordered = pd.concat([groups[groups["people"] >= min_group],
                         groups[groups["people"] < min_group].sort_values("group")])
    for r in ordered.itertuples(index=False):
        small = r.people < min_group
        rows.append({
            label: r.group, "人数": int(r.people), "人次": int(r.scores),
            "平均分": SMALL if small else _score_text(r.mean),
            "中位数": SMALL if small else _score_text(r.median),
            "标准差": SMALL if small else _score_text(r.sd),
            "四分位距": SMALL if small else _score_text(r.iqr),
            "95分及以上占比": SMALL if small else _pct_text(r.share_95),
            "不同分值数": SMALL if small else str(int(r.distinct_scores)),
        })
    return pd.DataFrame(rows, columns=[label, "人数", "人次", "平均分", "中位数", "标准差", "四分位距",
                                       "95分及以上占比", "不同分值数"])


def histogram_table(histogram: pd.DataFrame, group: str, bin_width: float) -> pd.DataFrame:
    part = histogram[histogram["group"] == group]
    if part.empty:
        return pd.DataFrame(columns=["分数段", *QUARTER_GRADE_ORDER[:4], "合计"])
    wide = part.pivot_table(index="bin_start", columns="grade", values="count", aggfunc="sum", fill_value=0)
    grades = [g for g in QUARTER_GRADE_ORDER if g in wide.columns] + [g for g in wide.columns
                                                                      if g not in QUARTER_GRADE_ORDER]
    wide = wide[grades]
    wide["合计"] = wide.sum(axis=1)
    wide.index = [_bin_label(b, bin_width) for b in wide.index]
    return wide.rename_axis("分数段").reset_index()


def _bin_label(start: float, width: float) -> str:
    return f"{start:g}–{start + width:g}" if width != 1 else f"{start:g}分段"


# --- figures -------------------------------------------------------------------------------------

def chart_title(text: str) -> dict:
    """A figure title at the top of the container that makes room for itself, so it never sits on
    the legend (``figures.style`` puts the legend just above the plot)."""
    return {"text": text, "automargin": True, "yref": "container", "y": 1, "yanchor": "top",
            "pad": {"t": 4, "b": 24}, "x": 0, "xanchor": "left", "font": {"size": 15}}


def histogram_figure(histogram: pd.DataFrame, group: str, bin_width: float) -> go.Figure:
    """Stacked bars of score counts per bin, one colour per grade."""
    part = histogram[histogram["group"] == group]
    fig = go.Figure()
    grades = [g for g in QUARTER_GRADE_ORDER if g in set(part["grade"])] + sorted(
        set(part["grade"]) - set(QUARTER_GRADE_ORDER))
    for grade in grades:
        g = part[part["grade"] == grade]
        fig.add_bar(x=g["bin_start"] + bin_width / 2, y=g["count"], width=bin_width * 0.95, name=grade,
                    marker_color=GRADE_COLORS.get(grade, MUTED_COLOR),
                    hovertemplate=f"{grade}<br>分数段 %{{customdata}}<br>%{{y}} 人次<extra></extra>",
                    customdata=[_bin_label(b, bin_width) for b in g["bin_start"]])
    fig.add_vline(x=TOP_SCORE, line_dash="dot", line_color=MUTED_COLOR,
                  annotation_text="95分", annotation_position="top")
    fig.update_layout(barmode="stack", xaxis_title="季度考核得分", yaxis_title="人次", legend_traceorder="normal",
                      title=chart_title(f"分数直方图：{group}"))
    return fig


BOX_MAX_GROUPS = 60  # more boxes than this are unreadable (and slow to draw): the rest is in the table
SCATTER_GL_POINTS = 2_000  # above this many points a scatter is drawn with WebGL (SVG slows the browser)


def box_groups(groups: pd.DataFrame, min_group: int = 5, limit: int = BOX_MAX_GROUPS) -> tuple[pd.DataFrame, int]:
    """The groups the box chart draws and how many big-enough groups it leaves out.

    Groups below ``min_group`` are never drawn. Up to ``limit`` groups: all of them. With more (a city's
    units), the ``limit`` // 2 groups with the narrowest interquartile range (where scores are flattened)
    and the rest of ``limit`` with the widest, in the table's order; every group stays in the table."""
    shown = groups[groups["people"] >= min_group]
    if len(shown) <= limit:
        return shown, 0
    iqr = (shown["q3"] - shown["q1"]).to_numpy(float)
    order = np.lexsort((shown["group"].astype(str).to_numpy(), iqr))  # narrowest first, ties by name
    narrow = limit // 2
    keep = np.zeros(len(shown), dtype=bool)
    keep[order[:narrow]] = True
    keep[order[len(order) - (limit - narrow):]] = True
    return shown[keep], len(shown) - int(keep.sum())


def box_figure(groups: pd.DataFrame, grouping: str, min_group: int = 5, limit: int = BOX_MAX_GROUPS) -> go.Figure:
    """One box per group from the statistics computed in SQL (groups below ``min_group`` left out; at most
    ``limit`` boxes, see ``box_groups``)."""
    label, _ = _grouping(grouping)
    shown, left_out = box_groups(groups, min_group, limit)
    fig = go.Figure()
    fig.add_trace(go.Box(
        y=shown["group"], q1=shown["q1"], median=shown["median"], q3=shown["q3"], mean=shown["mean"],
        lowerfence=shown["low"], upperfence=shown["high"], orientation="h", marker_color=NEUTRAL_COLOR,
        name="分数", boxmean=True, showlegend=False,
    ))
    fig.add_vline(x=TOP_SCORE, line_dash="dot", line_color=MUTED_COLOR)
    title = (f"各{label}分数箱线图：四分位距最小的 {limit // 2} 个和最大的 {limit - limit // 2} 个"
             f"（另有 {left_out} 个见下表）" if left_out else f"各{label}分数箱线图")
    fig.update_layout(xaxis_title="季度考核得分", yaxis_title=label, title=chart_title(title),
                      height=max(320, 26 * len(shown) + 120), yaxis={"autorange": "reversed"})
    return fig


def sd_figure(quarters: pd.DataFrame, min_group: int = 5) -> go.Figure:
    """SD of each unit-quarter against half the period's median SD; flattened points in the flag colour."""
    shown = quarters[quarters["people"] >= min_group].copy()
    fig = go.Figure()
    scatter = go.Scattergl if len(shown) > SCATTER_GL_POINTS else go.Scatter
    for flagged, colour, name in ((False, NEUTRAL_COLOR, "其他单位季度"), (True, FLAG_COLOR, "平均化打分")):
        part = shown[shown["flattened_flag"] == flagged]
        fig.add_trace(scatter(
            x=part["period"], y=part["sd_score"], mode="markers", name=name,
            marker={"color": colour, "size": 8 if flagged else 6, "opacity": 0.9 if flagged else 0.5},
            customdata=np.stack([part["unit"], part["people"], part["distinct_scores"]], axis=-1)
            if len(part) else None,
            hovertemplate="%{customdata[0]}<br>%{x}<br>标准差 %{y:.1f}分，%{customdata[1]}人，"
                          "%{customdata[2]}种分值<extra></extra>",
        ))
    bench = quarters.drop_duplicates("period").sort_values("period")
    fig.add_scatter(x=bench["period"], y=bench["period_median_sd"] * FLAT_SD_RATIO, mode="lines+markers",
                    name="同期标准差中位数的一半（判定线）", line={"color": MUTED_COLOR, "dash": "dash"},
                    hovertemplate="%{x}<br>判定线 %{y:.2f}分<extra></extra>")
    fig.update_layout(xaxis_title="考核周期", yaxis_title="单位季度内分数标准差（分）",
                      title=chart_title("各单位季度内分数标准差"),
                      xaxis={"type": "category", "categoryorder": "category ascending"})
    return fig


# --- findings and report ------------------------------------------------------------------------

def flattened_sentence(result: Distribution) -> str:
    """The page's headline in words."""
    flat = result.flattened
    if result.empty:
        return "当前筛选条件下没有分数数据。"
    n_uq = int((result.quarters["people"] >= result.min_group).sum())
    if flat.empty:
        return f"在 {n_uq} 个单位季度中，没有发现平均化打分（标准差低于同期中位数一半或分数只有1至2种）。"
    by_unit = flat.groupby("unit").agg(n=("period", "count"), sd=("sd_score", "mean")).sort_values(
        ["n", "sd"], ascending=[False, True])
    names = "、".join(f"{u}（{int(r.n)}个季度，平均标准差{r.sd:.1f}分）" for u, r in by_unit.head(3).iterrows())
    more = f"等 {len(by_unit)} 个单位" if len(by_unit) > 3 else ""
    median_sd = float(result.quarters.drop_duplicates("period")["period_median_sd"].median())
    return (f"{len(by_unit)} 个单位存在平均化打分，共 {len(flat)} 个单位季度：{names}{more}；"
            f"同期各单位标准差的中位数约 {median_sd:.1f} 分。")


def top_findings(con: duckdb.DuckDBPyConnection, filters: Filters, min_group: int = 5) -> list[Finding]:
    quarters = unit_quarter_spread(con, filters, min_group)
    flat = quarters[quarters["flattened_flag"]]
    if flat.empty:
        return []
    by_unit = flat.groupby("unit").agg(n=("period", "count"), sd=("sd_score", "mean"),
                                       d=("distinct_scores", "mean")).sort_values("n", ascending=False)
    median_sd = float(quarters.drop_duplicates("period")["period_median_sd"].median())
    names = "、".join(f"{u}（{int(r.n)}个季度）" for u, r in by_unit.head(3).iterrows())
    return [Finding(
        page=PAGE,
        title=f"{len(by_unit)} 个单位存在平均化打分",
        detail=(f"{names}等单位季度内分数标准差低于同期各单位中位数（约{median_sd:.1f}分）的一半，"
                f"或分数只有1至2种，共 {len(flat)} 个单位季度；只统计有分数且至少{min_group}人的单位季度。"),
        count=len(by_unit),
    )]


REPORT_COLUMNS = ["unit", "period", "people", "mean_score", "median_score", "sd_score", "iqr_score", "share_95",
                  "distinct_scores", "period_median_sd", "flattened_flag"]


def report_filters(filters: Filters, args: ReportArgs) -> Filters:
    """--period P narrows to one quarter, --year Y to its quarters; neither keeps the filters."""
    if args.period:
        if len(args.period) != 6 or args.period[4] != "Q" or args.period[5] not in "1234" \
                or not args.period[:4].isdigit():
            raise ReportError(f"考核周期「{args.period}」格式不对，应为如 2025Q1 的形式。")
        return filters.with_(periods=(args.period,))
    if args.year:
        return filters.with_(years=(int(args.year),), periods=())
    return filters


@report("distribution", "分数分布：每个单位每个季度的人数、平均分、中位数、标准差、四分位距、95分及以上占比、"
        "不同分值数、同期标准差中位数和平均化打分标记（可用 --period 或 --year 限定季度）")
def distribution_report(con: duckdb.DuckDBPyConnection, filters: Filters, args: ReportArgs) -> pd.DataFrame:
    """Keys: unit, period, people, mean_score, median_score, sd_score, iqr_score, share_95,
    distinct_scores, period_median_sd, flattened_flag. Statistics are null for unit-quarters with
    fewer than ``args.min_group`` people (样本过少)."""
    min_group = args.min_group
    frame = unit_quarter_spread(con, report_filters(filters, args), min_group)
    stats = ["mean_score", "median_score", "sd_score", "iqr_score", "share_95"]
    frame = frame.astype({c: object for c in [*stats, "distinct_scores"]})
    small = frame["people"] < min_group
    frame.loc[small, [*stats, "distinct_scores"]] = None
    frame = frame.astype({"flattened_flag": object})
    frame["flattened_flag"] = [bool(v) for v in frame["flattened_flag"]]
    frame = frame.where(frame.notna(), None)
    return frame[REPORT_COLUMNS].reset_index(drop=True)
