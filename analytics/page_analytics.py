"""What each analysis page asks of the store, without Streamlit: one function per page.

Every entry of ``PAGES`` performs exactly the analytics calls its page in ``pages/`` makes on a
first visit with the default widget choices (the month picker on its latest month, the first
rater in the list, the first person the filters offer…), and returns the results by name. The
benchmark (``bench/city_bench.py``) times these functions; a test runs them on the demo store.

Only calls that read the store are reproduced, not the figures and tables the page then builds
from the results (those are in the full render that the benchmark times through AppTest).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import duckdb
import pandas as pd

from analytics import distribution, grade_spread, patterns, pilots, raters, rules, saturation
from analytics.config import load_settings
from analytics.filters import Filters
from analytics.overview import FINDING_MODULES, all_leads, findings_of, overview, remembered_leads
from analytics.people import find_people, person_history, unit_people

Parts = dict[str, object]


@lru_cache(maxsize=1)
def _raw_settings() -> dict:
    """The configuration file's tables, as the pages read them (quota, rule thresholds)."""
    return load_settings().raw


def overview_page(con: duckdb.DuckDBPyConnection, f: Filters, min_group: int = 5) -> Parts:
    ov = overview(con, f)
    if ov.empty:
        return {"overview": ov}
    findings = []
    for name in FINDING_MODULES:
        findings += findings_of(con, name, f, min_group)
    return {"overview": ov, "findings": findings}


def remembered_overview_page(con: duckdb.DuckDBPyConnection, f: Filters, min_group: int = 5) -> Parts:
    """总览 as the app serves it once its findings are remembered in the store (``analytics.memo``): every
    visit after the first with the same data, filters and access. ``overview_page`` is the first visit."""
    ov = overview(con, f)
    if ov.empty:
        return {"overview": ov}
    found = remembered_leads(con, f, min_group, None, lambda: all_leads(con, f, min_group))
    return {"overview": ov, "findings": found.leads}


def distribution_page(con: duckdb.DuckDBPyConnection, f: Filters, min_group: int = 5) -> Parts:
    # The grouping selector defaults to 单位.
    return {"distribution": distribution.score_distribution(con, f, "unit", min_group)}


def grade_spread_page(con: duckdb.DuckDBPyConnection, f: Filters, min_group: int = 5) -> Parts:
    quota = grade_spread.configured_quota(_raw_settings())
    return {"grade_spread": grade_spread.grade_spread(con, f, min_group, quota)}


def saturation_page(con: duckdb.DuckDBPyConnection, f: Filters, min_group: int = 5) -> Parts:
    months, latest = saturation.available_months(con, f)
    if not months:
        return {"months": months}
    # 单月 view on the latest month with logs, passed as the picker's "YYYY-MM" text.
    page = saturation.page(con, f, latest.strftime("%Y-%m"), min_group)
    return {"months": months, "people": page.view.people, "units": page.view.units,
            "grades": page.grades.by_grade, "agreement": page.agreement.crosstab}


def patterns_page(con: duckdb.DuckDBPyConnection, f: Filters, min_group: int = 5) -> Parts:
    result = patterns.grade_patterns(con, f, min_group)
    return {"sequences": result.sequences, "person_years": result.person_years, "rotation": result.rotation}


def pilots_page(con: duckdb.DuckDBPyConnection, f: Filters, min_group: int = 5) -> Parts:
    result = pilots.analyse(con, f, min_group=min_group)
    return {"unit_quarters": result.unit_quarters, "series": result.series}


def raters_page(con: duckdb.DuckDBPyConnection, f: Filters, min_group: int = 5) -> Parts:
    result = raters.analyse(con, f, min_group=min_group)
    parts: Parts = {"raters": result.raters, "types": result.types}
    if result.empty or not result.has_comparable:
        return parts
    # The rater picker starts on the most flagged rater (else the first rater).
    flagged = list(result.flagged["rater"])
    chosen = (flagged + [r for r in result.raters["rater"] if r not in set(flagged)])[0]
    parts["rater_ratings"] = raters.rater_ratings(con, f, chosen)
    return parts


def rules_page(con: duckdb.DuckDBPyConnection, f: Filters, min_group: int = 5) -> Parts:
    cfg = rules.RuleConfig.from_settings_raw(_raw_settings())
    result = rules.check_rules(con, f, cfg, min_group)
    return {"summary": result.summary, "good_quota": result.good_quota}


def unit_page(con: duckdb.DuckDBPyConnection, f: Filters, min_group: int = 5) -> Parts:
    # Without a unit chosen the page lists every person of the filters.
    return {"people": unit_people(con, f)}


def person_page(con: duckdb.DuckDBPyConnection, f: Filters, min_group: int = 5) -> Parts:
    # The page asks for a person (reached with ?person=…); the first one offered stands in.
    choices = find_people(con, f)
    if choices.empty:
        return {"choices": choices}
    history = person_history(con, str(choices["person_id"].iloc[0]), f)
    return {"choices": choices, "quarters": history.quarters if history else pd.DataFrame(),
            "months": history.months if history else pd.DataFrame()}


@dataclass(frozen=True)
class PageAnalytics:
    page: str  # the page file, as app.py names it
    title: str  # the page's title in the navigation
    run: Callable[[duckdb.DuckDBPyConnection, Filters, int], Parts]


PAGES: dict[str, PageAnalytics] = {p.page: p for p in (
    PageAnalytics("pages/overview.py", "总览", overview_page),
    PageAnalytics("pages/distribution.py", "分数分布", distribution_page),
    PageAnalytics("pages/grade_spread.py", "等次分布", grade_spread_page),
    PageAnalytics("pages/saturation.py", "工作饱和度", saturation_page),
    PageAnalytics("pages/patterns.py", "好/一般 走势", patterns_page),
    PageAnalytics("pages/pilots.py", "联系点对比", pilots_page),
    PageAnalytics("pages/raters.py", "评价人分析", raters_page),
    PageAnalytics("pages/rules.py", "规则检查", rules_page),
    PageAnalytics("pages/unit.py", "单位人员", unit_page),
    PageAnalytics("pages/person.py", "人员档案", person_page),
)}


def is_empty(value: object) -> bool:
    """Whether one part of a page's results holds nothing to show."""
    if value is None:
        return True
    if isinstance(value, pd.DataFrame | list | tuple | dict):
        return len(value) == 0
    empty = getattr(value, "empty", None)
    return bool(empty) if empty is not None else False
