"""总览: the selected population in numbers, the grade mix, the 好 trend, and the top findings of
every analysis page."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import duckdb
import pandas as pd
import plotly.graph_objects as go

from analytics import memo, store
from analytics.figures import ANNUAL_GRADE_ORDER, GRADE_COLORS, QUARTER_GRADE_ORDER
from analytics.filters import Filters
from analytics.findings import Finding

# Analysis modules whose top findings the overview lists, in this order.
FINDING_MODULES = ("grade_spread", "distribution", "rules", "raters", "saturation", "patterns", "pilots")
MODULE_TITLES = {"grade_spread": "等次分布", "distribution": "分数分布", "rules": "规则检查", "raters": "评价人分析",
                 "saturation": "工作饱和度", "patterns": "好/一般 走势", "pilots": "联系点对比"}
GOOD_QUOTA = 0.40


@dataclass(frozen=True)
class Overview:
    units: int
    people: int
    rated: int  # person-quarters with a grade other than 不确定等次
    periods: tuple[str, ...]
    grade_mix: pd.DataFrame  # 等次, 人次, 占比 (share of rated; 不确定等次 share of all)
    annual_mix: pd.DataFrame  # 等次, 人次, 占比
    trend: pd.DataFrame  # 考核周期, 参评人次, 好, 好等次占比, 一般及以下占比

    @property
    def empty(self) -> bool:
        return self.people == 0


def overview(con: duckdb.DuckDBPyConnection, filters: Filters) -> Overview:
    pop_sql, pop_params = filters.population()
    period_sql, period_params = filters.period_clause("q.period")
    year_sql, year_params = filters.year_clause("a.year")
    counts = con.execute(
        f"""
        WITH pop AS ({pop_sql})
        SELECT count(DISTINCT unit), count(*) FROM pop
        """, pop_params).fetchall()[0]
    quarters = con.execute(
        f"""
        WITH pop AS ({pop_sql})
        SELECT q.period, q.grade, count(*) AS n
        FROM quarterly q JOIN pop USING (person_id)
        WHERE {period_sql} AND q.grade IS NOT NULL
        GROUP BY ALL
        """, pop_params + period_params).df()
    annual = con.execute(
        f"""
        WITH pop AS ({pop_sql})
        SELECT a.grade AS 等次, count(*) AS 人次
        FROM annual a JOIN pop USING (person_id) WHERE {year_sql}
        GROUP BY ALL
        """, pop_params + year_params).df()
    return Overview(
        units=int(counts[0]), people=int(counts[1]),
        rated=int(quarters.loc[quarters["grade"] != "不确定等次", "n"].sum()),
        periods=tuple(sorted(quarters["period"].unique())),
        grade_mix=_mix(quarters.groupby("grade")["n"].sum(), QUARTER_GRADE_ORDER, "不确定等次"),
        annual_mix=_mix(annual.set_index("等次")["人次"], ANNUAL_GRADE_ORDER, None),
        trend=_trend(quarters),
    )


def _mix(counts: pd.Series, order: tuple[str, ...], unrated: str | None) -> pd.DataFrame:
    """Counts per grade in the fixed order; shares of the rated (the unrated grade's share is of all)."""
    counts = counts.reindex([g for g in order if g in counts.index]).fillna(0).astype(int)
    rated = counts.drop(unrated, errors="ignore").sum() if unrated else counts.sum()
    total = counts.sum()
    shares = [(n / total if g == unrated else n / rated) if (total and rated) else float("nan")
              for g, n in counts.items()]
    return pd.DataFrame({"等次": counts.index, "人次": counts.values, "占比": shares})


def _trend(quarters: pd.DataFrame) -> pd.DataFrame:
    if quarters.empty:
        return pd.DataFrame(columns=["考核周期", "参评人次", "好", "好等次占比", "一般及以下占比"])
    wide = quarters.pivot_table(index="period", columns="grade", values="n", aggfunc="sum", fill_value=0)
    for grade in QUARTER_GRADE_ORDER:
        if grade not in wide.columns:
            wide[grade] = 0
    rated = wide[["好", "较好", "一般", "较差"]].sum(axis=1)
    out = pd.DataFrame({
        "考核周期": wide.index, "参评人次": rated.values, "好": wide["好"].values,
        "好等次占比": (wide["好"] / rated).values,
        "一般及以下占比": ((wide["一般"] + wide["较差"]) / rated).values,
    })
    return out.sort_values("考核周期").reset_index(drop=True)


MIX_LABEL_MIN_SHARE = 0.08  # a narrower segment has no room for its label (the legend and hover name it)


def grade_mix_figure(mix: pd.DataFrame, title: str) -> go.Figure:
    """One horizontal stacked bar: the share of each grade, in the fixed grade colours and order."""
    fig = go.Figure()
    for row in mix.itertuples():
        share = f"{row.占比 * 100:.1f}%" if row.占比 == row.占比 else "—"
        fig.add_trace(go.Bar(
            x=[row.人次], y=[title], orientation="h", name=row.等次,
            marker_color=GRADE_COLORS.get(row.等次, "#999999"),
            hovertemplate=f"{row.等次}：%{{x:,}} 人次（{share}）<extra></extra>",
            text=[f"{row.等次} {share}" if row.占比 >= MIX_LABEL_MIN_SHARE else ""],
            textposition="inside", insidetextanchor="middle", textangle=0,
        ))
    fig.update_layout(barmode="stack", height=150, xaxis_title="人次", yaxis={"visible": False},
                      legend={"traceorder": "normal"})
    return fig


def trend_figure(trend: pd.DataFrame) -> go.Figure:
    """好 share and 一般-or-worse share by quarter, with the 40% 好 quota line."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=trend["考核周期"], y=trend["好等次占比"], mode="lines+markers", name="好等次占比",
        line={"color": GRADE_COLORS["好"]}, hovertemplate="%{x}：%{y:.1%}<extra>好</extra>"))
    fig.add_trace(go.Scatter(
        x=trend["考核周期"], y=trend["一般及以下占比"], mode="lines+markers", name="一般及以下占比",
        line={"color": GRADE_COLORS["一般"]}, hovertemplate="%{x}：%{y:.1%}<extra>一般及以下</extra>"))
    fig.add_hline(y=GOOD_QUOTA, line_dash="dash", line_color="#666666",
                  annotation_text="好等次比例上限 40%", annotation_position="top left")
    fig.update_layout(yaxis={"tickformat": ".0%", "rangemode": "tozero", "title": "占参评人次"},
                      xaxis={"type": "category", "title": "考核周期"}, height=360)
    return fig


def findings_of(con: duckdb.DuckDBPyConnection, name: str, filters: Filters, min_group: int = 5
                ) -> list[Finding]:
    """The top findings of one analysis module (one of FINDING_MODULES)."""
    if name not in FINDING_MODULES:
        raise ValueError(f"unknown analysis module {name!r}")
    module = importlib.import_module(f"analytics.{name}")
    return list(module.top_findings(con, filters, min_group))


# --- the findings as the overview lists them ------------------------------------------------------

# Pages that judge each unit on its own numbers (quotas, a rater against the co-raters of the same
# people, a 处室's hours): narrowed to a flagged unit, they still show its flag. 等次分布 and 分数分布
# compare a unit with the other selected units, so narrowing to it would remove the benchmark.
UNIT_FOCUS_PAGES = ("pages/rules.py", "pages/raters.py", "pages/saturation.py")
# The 好 quota is checked twice: by 等次分布 (quota use) and by 规则检查 (the rule, with its evidence).
# The overview keeps the rule's finding.
QUOTA_TWIN = ("pages/grade_spread.py", "好等次超出")
QUOTA_RULE = ("pages/rules.py", "好等次超比例")
# Where a finding's list of names ends, for findings that may name fewer units than they count.
NAME_LISTS = {"pages/grade_spread.py": "的好等次比例高于"}


@dataclass(frozen=True)
class Lead:
    """A finding as 总览 shows it, with the units it names (for the link to them)."""

    finding: Finding
    units: tuple[str, ...] = ()  # the units named in the finding, in the order named

    @property
    def focus(self) -> tuple[str, ...]:
        """The units the link preselects: those named, where the page judges units on their own."""
        return self.units if self.finding.page in UNIT_FOCUS_PAGES else ()


def leads(findings: list[Finding], unit_names: list[str]) -> list[Lead]:
    """The findings of every page, each said once, with the units each names."""
    rule_quota = any(f.page == QUOTA_RULE[0] and f.title.endswith(QUOTA_RULE[1]) for f in findings)
    kept = [f for f in findings if not (rule_quota and f.page == QUOTA_TWIN[0] and QUOTA_TWIN[1] in f.title)]
    return [Lead(_say_etc(f), _named_units(f, unit_names)) for f in kept]


def _say_etc(finding: Finding) -> Finding:
    """「4 个单位…」followed by three names says 等 after them."""
    end = NAME_LISTS.get(finding.page)
    if not end or end not in finding.detail:
        return finding
    names, rest = finding.detail.split(end, 1)
    listed = names.count("、") + 1
    if finding.count <= listed or names.endswith("等"):
        return finding
    return replace(finding, detail=f"{names}等 {finding.count} 个单位{end}{rest}")


def _named_units(finding: Finding, unit_names: list[str]) -> tuple[str, ...]:
    """Units whose names occur in the finding, in order of first mention (a longer name first, so that
    「青崖市公安局刑事侦查大队」 names 青崖市公安局 once)."""
    text = f"{finding.title}\n{finding.detail}"
    found: dict[str, int] = {}
    taken: list[tuple[int, int]] = []
    for name in sorted(unit_names, key=len, reverse=True):
        start = text.find(name)
        while start >= 0:
            span = (start, start + len(name))
            if not any(a < span[1] and span[0] < b for a, b in taken):
                taken.append(span)
                found.setdefault(name, start)
            start = text.find(name, start + 1)
    return tuple(sorted(found, key=found.get))


@dataclass(frozen=True)
class Leads:
    """What 总览 lists under 需要关注的发现."""

    leads: tuple[Lead, ...]
    failed: tuple[tuple[str, str], ...]  # (page title, error) of analyses that could not be summed up


def all_leads(con: duckdb.DuckDBPyConnection, filters: Filters, min_group: int = 5) -> Leads:
    """The findings of every analysis page, each said once; an analysis that fails is reported, not
    raised, so that one failing analysis does not take the overview down."""
    found: list[Finding] = []
    failed: list[tuple[str, str]] = []
    for name in FINDING_MODULES:
        try:
            found += findings_of(con, name, filters, min_group)
        except Exception as exc:  # noqa: BLE001 - any failure of one page's analysis is reported the same way
            failed.append((MODULE_TITLES[name], str(exc)))
    units = [r[0] for r in con.execute("SELECT DISTINCT unit FROM units WHERE unit IS NOT NULL").fetchall()]
    return Leads(tuple(leads(found, units)), tuple(failed))


# --- remembered per state of the data ----------------------------------------------------------------

def remembered_leads(root: duckdb.DuckDBPyConnection, filters: Filters, min_group: int, grants: object,
                     compute: Callable[[], Leads]) -> Leads:
    """The findings ``compute()`` gives (``all_leads`` for ``filters`` and ``min_group`` on a cursor that
    sees what ``grants`` grants), remembered in the store (``analytics.memo``): computed only when the
    store holds none for this key, so a caller can open its (scoped) cursor inside ``compute``.

    ``root`` reads and writes the memo (the whole store). ``grants`` (``access.grants`` of the user) is
    part of the key, so one scope's findings are never served to another. A result with a failed
    analysis is not kept.
    """
    version = store.data_version(root)
    memo_key = memo.key("leads", version, filters, min_group, grants)
    text = memo.recall(root, memo_key)
    if text is not None:
        return leads_from_json(text)
    found = compute()
    if not found.failed:
        memo.keep(root, memo_key, "leads", version, leads_to_json(found))
    return found


def leads_to_json(found: Leads) -> str:
    return json.dumps({"leads": [{"finding": asdict(lead.finding), "units": list(lead.units)} for lead in found.leads],
                       "failed": [list(f) for f in found.failed]}, ensure_ascii=False)


def leads_from_json(text: str) -> Leads:
    data = json.loads(text)
    return Leads(tuple(Lead(Finding(**lead["finding"]), tuple(lead["units"])) for lead in data["leads"]),
                 tuple(tuple(f) for f in data["failed"]))
