"""规则检查: every rule of DOMAIN.md evaluated on the selected years and units.

Five rules, each a finding to check (not a verdict), listed with the numbers behind it:

* ``good_quota``: 好 in a unit in a quarter at most 40 % of the people actually rated
  (不确定等次 and missing grades excluded); quota = floor(0.40 × rated); breach when 好 > quota.
* ``excellent_quota``: 优秀 in a unit in a year at most 20 % (25 % for units with approval) of the
  people with an annual grade other than 不定等次/不确定档次; floor; breach when 优秀 > quota.
* ``excellent_with_general``: an annual 优秀 with any 一般 or 较差 quarter that year.
* ``excellent_low_average``: an annual 优秀 whose average quarterly score that year is below 85.
* ``excellent_without_good``: an annual 优秀 with fewer than N 好 quarters that year (N = 1, or
  half the rated quarters).

Every threshold is configuration (the ``[rules]`` table of the installation's TOML file, read
through :class:`RuleConfig`). Unit-level rules count the whole unit: the filters choose which
units are checked (units with anyone in the filtered population), but a person-level filter
(category, leaders/staff) does not shrink the head count a quota is computed on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import duckdb
import pandas as pd
import plotly.graph_objects as go

from analytics.config import ConfigError, load_settings
from analytics.figures import FLAG_COLOR, MUTED_COLOR, NEUTRAL_COLOR
from analytics.filters import Filters
from analytics.findings import Finding
from analytics.registry import ReportArgs, ReportError, report

PAGE = "pages/rules.py"

RULE_IDS = ("good_quota", "excellent_quota", "excellent_with_general", "excellent_low_average",
            "excellent_without_good")
RULE_LABELS = {
    "good_quota": "好等次超比例",
    "excellent_quota": "优秀超比例",
    "excellent_with_general": "有一般或较差季度却评为优秀",
    "excellent_low_average": "平时平均分偏低却评为优秀",
    "excellent_without_good": "好等次次数不足却评为优秀",
}
RULE_LEVEL = {"good_quota": "单位季度", "excellent_quota": "单位年度", "excellent_with_general": "个人年度",
              "excellent_low_average": "个人年度", "excellent_without_good": "个人年度"}

RATED_GRADES = ("好", "较好", "一般", "较差")
LOW_GRADES = ("一般", "较差")
UNDETERMINED_ANNUAL = ("不定等次", "不确定档次")
HALF = "half"
_EPS = 1e-9  # scores are stored to 0.1; an average within 1e-9 of the threshold is on it, not below

REPORT_COLUMNS = ["rule", "person_id", "unit", "period", "detail"]


# --- configuration ---------------------------------------------------------------------------

@dataclass(frozen=True)
class RuleConfig:
    """Thresholds of the rules, with the defaults of DOMAIN.md. Build from the TOML ``[rules]``
    table with :meth:`from_toml`, which validates every value with a Chinese message."""

    good_quota_enabled: bool = True
    good_quota_max_share: float = 0.40
    excellent_quota_enabled: bool = True
    excellent_quota_max_share: float = 0.20
    excellent_quota_approved_share: float = 0.25
    excellent_quota_approved_units: tuple[str, ...] = ()
    excellent_with_general_enabled: bool = True
    excellent_low_average_enabled: bool = True
    excellent_low_average_min_average: float = 85.0
    excellent_without_good_enabled: bool = True
    excellent_without_good_min_good: int | str = 1  # an integer, or "half" (half the rated quarters)

    def __post_init__(self) -> None:
        _validate(self)

    def enabled(self, rule: str) -> bool:
        return bool(getattr(self, f"{rule}_enabled"))

    def excellent_share_for(self, unit: str) -> float:
        if unit in self.excellent_quota_approved_units:
            return self.excellent_quota_approved_share
        return self.excellent_quota_max_share

    @classmethod
    def from_toml(cls, table: dict[str, Any] | None, where: str = "配置文件") -> RuleConfig:
        """From the ``[rules]`` table: ``[rules.good_quota] max_share = 0.4`` and so on."""
        table = table or {}
        if not isinstance(table, dict):
            raise ConfigError(f"{where}中的 [rules] 应是一个表（例如 [rules.good_quota]），而不是 {table!r}。")
        values: dict[str, Any] = {}
        for rule, options in table.items():
            if rule not in _KEYS:
                raise ConfigError(
                    f"{where}中的 [rules] 有未知的规则「{rule}」；可用的规则：{'、'.join(RULE_IDS)}。")
            if not isinstance(options, dict):
                raise ConfigError(f"{where}中的 rules.{rule} 应是一个表（[rules.{rule}]），而不是 {options!r}。")
            for key, value in options.items():
                if key not in _KEYS[rule]:
                    raise ConfigError(
                        f"{where}中的 [rules.{rule}] 有未知的设置「{key}」；可用的设置：{'、'.join(_KEYS[rule])}。")
                values[f"{rule}_{key}"] = _coerce(rule, key, value, where)
        try:
            return cls(**values)
        except ConfigError as exc:
            raise ConfigError(f"{where}中的规则设置有误：{exc}") from None

    @classmethod
    def from_settings_raw(cls, raw: dict[str, Any], where: str = "配置文件") -> RuleConfig:
        return cls.from_toml(raw.get("rules", {}), where)


_KEYS: dict[str, tuple[str, ...]] = {
    "good_quota": ("enabled", "max_share"),
    "excellent_quota": ("enabled", "max_share", "approved_share", "approved_units"),
    "excellent_with_general": ("enabled",),
    "excellent_low_average": ("enabled", "min_average"),
    "excellent_without_good": ("enabled", "min_good"),
}


def _coerce(rule: str, key: str, value: Any, where: str) -> Any:
    name = f"rules.{rule}.{key}"
    if key == "enabled":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}中的 {name} 应为 true 或 false，而不是 {value!r}。")
        return value
    if key in ("max_share", "approved_share", "min_average"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}中的 {name} 应为数字，而不是 {value!r}。")
        return float(value)
    if key == "approved_units":
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(f"{where}中的 {name} 应为单位名称的列表，例如 [\"某某局\"]，而不是 {value!r}。")
        return tuple(v.strip() for v in value)
    if key == "min_good":
        if value == HALF:
            return HALF
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(
                f"{where}中的 {name} 应为 0 到 4 的整数或 \"half\"（评定季度数的一半），而不是 {value!r}。")
        return value
    raise ConfigError(f"{where}中的 {name} 无法识别。")  # pragma: no cover - guarded by _KEYS


def _validate(cfg: RuleConfig) -> None:
    for key in ("good_quota_max_share", "excellent_quota_max_share", "excellent_quota_approved_share"):
        value = getattr(cfg, key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
            raise ConfigError(f"{_dotted(key)} 应是 0 到 1 之间的比例（例如 0.4 表示 40%），而不是 {value!r}。")
    if cfg.excellent_quota_approved_share < cfg.excellent_quota_max_share:
        raise ConfigError(
            f"rules.excellent_quota.approved_share（{cfg.excellent_quota_approved_share!r}）"
            f"不应小于 max_share（{cfg.excellent_quota_max_share!r}）：经批准的比例是放宽后的上限。")
    avg = cfg.excellent_low_average_min_average
    if isinstance(avg, bool) or not isinstance(avg, int | float) or not 0 <= avg <= 100:
        raise ConfigError(f"rules.excellent_low_average.min_average 应是 0 到 100 之间的分数，而不是 {avg!r}。")
    n = cfg.excellent_without_good_min_good
    if n != HALF and (isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 4):
        raise ConfigError(
            f"rules.excellent_without_good.min_good 应为 0 到 4 的整数或 \"half\"（评定季度数的一半），而不是 {n!r}。")
    for key in ("good_quota_enabled", "excellent_quota_enabled", "excellent_with_general_enabled",
                "excellent_low_average_enabled", "excellent_without_good_enabled"):
        if not isinstance(getattr(cfg, key), bool):
            raise ConfigError(f"{_dotted(key)} 应为 true 或 false，而不是 {getattr(cfg, key)!r}。")


def _dotted(field_name: str) -> str:
    rule = next(r for r in RULE_IDS if field_name.startswith(r + "_"))
    return f"rules.{rule}.{field_name[len(rule) + 1:]}"


def quota(share: float, n: int) -> int:
    """floor(share × n), exactly: 0.4 × 7 = 2.8 → 2; 0.4 × 5 = 2 (no binary rounding surprises)."""
    return math.floor(Fraction(repr(float(share))) * int(n))


def _share_text(share: float) -> str:
    text = f"{share * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def min_good_text(cfg: RuleConfig) -> str:
    n = cfg.excellent_without_good_min_good
    return "评定季度数的一半" if n == HALF else f"{n} 次"


def thresholds(cfg: RuleConfig, raw_rules: dict[str, Any] | None, source: str) -> pd.DataFrame:
    """The thresholds in force, in words, and where each comes from (the config file or the default)."""
    raw_rules = raw_rules or {}

    def origin(rule: str, *keys: str) -> str:
        options = raw_rules.get(rule, {}) if isinstance(raw_rules.get(rule, {}), dict) else {}
        return source if any(k in options for k in keys) else "默认值"

    approved = "、".join(cfg.excellent_quota_approved_units) or "无"
    rows = [
        ("good_quota", f"单位每季度好等次不超过参评人数的 {_share_text(cfg.good_quota_max_share)}（向下取整）",
         origin("good_quota", "enabled", "max_share")),
        ("excellent_quota",
         f"单位每年度优秀不超过定等次人数的 {_share_text(cfg.excellent_quota_max_share)}（向下取整）；"
         f"经批准的单位 {_share_text(cfg.excellent_quota_approved_share)}（经批准的单位：{approved}）",
         origin("excellent_quota", "enabled", "max_share", "approved_share", "approved_units")),
        ("excellent_with_general", "当年有一般或较差季度的，不得评为优秀", origin("excellent_with_general", "enabled")),
        ("excellent_low_average",
         f"当年平时考核平均分低于 {cfg.excellent_low_average_min_average:g} 分的，不得评为优秀",
         origin("excellent_low_average", "enabled", "min_average")),
        ("excellent_without_good", f"当年好等次少于 {min_good_text(cfg)} 的，不得评为优秀",
         origin("excellent_without_good", "enabled", "min_good")),
    ]
    return pd.DataFrame([
        {"规则": RULE_LABELS[r], "规则编号": r, "检查对象": RULE_LEVEL[r],
         "是否启用": "启用" if cfg.enabled(r) else "停用", "标准": text, "来源": src}
        for r, text, src in rows
    ])


# --- the checks --------------------------------------------------------------------------------

@dataclass(frozen=True)
class RuleResult:
    breaches: pd.DataFrame  # rule, 规则, person_id, 姓名, unit, period, detail (+ the numbers)
    summary: pd.DataFrame  # 规则, 规则编号, 检查对象, 检查数, 违反数, 未能检查
    good_quota: pd.DataFrame  # unit, period, rated, uncertain, good, quota, excess, share, breach
    excellent_quota: pd.DataFrame  # unit, year, graded, undetermined, excellent, share_limit, quota, excess
    config: RuleConfig
    method: str


BREACH_COLUMNS = ["rule", "规则", "person_id", "姓名", "unit", "period", "detail"]


def _selected_units_sql(filters: Filters) -> tuple[str, list]:
    pop_sql, params = filters.population()
    return f"SELECT DISTINCT unit FROM ({pop_sql}) WHERE unit IS NOT NULL", params


def good_quota_table(con: duckdb.DuckDBPyConnection, filters: Filters, cfg: RuleConfig,
                     min_group: int = 5) -> pd.DataFrame:
    """好 count against the quota for every unit and quarter of the selection."""
    units_sql, params = _selected_units_sql(filters)
    period_sql, period_params = filters.period_clause("q.period")
    frame = con.execute(f"""
        WITH sel AS ({units_sql})
        SELECT p.unit, q.period, min(q.year)::INTEGER AS year, min(q.quarter)::INTEGER AS quarter,
               count(*) FILTER (WHERE q.grade IN ('好', '较好', '一般', '较差'))::INTEGER AS rated,
               count(*) FILTER (WHERE q.grade = '不确定等次')::INTEGER AS uncertain,
               count(*) FILTER (WHERE q.grade = '好')::INTEGER AS good
        FROM quarterly q
        JOIN people p USING (person_id)
        JOIN sel USING (unit)
        WHERE {period_sql}
        GROUP BY p.unit, q.period
        ORDER BY q.period, p.unit
    """, params + period_params).df()
    share = cfg.good_quota_max_share
    rated = frame["rated"].tolist()
    by_size = {n: quota(share, n) for n in set(rated)}  # the exact arithmetic once per distinct size
    frame["quota"] = pd.Series([by_size[n] for n in rated], index=frame.index, dtype="int64")
    frame["excess"] = frame["good"] - frame["quota"]
    frame["breach"] = frame["excess"] > 0
    frame["small"] = frame["rated"] < min_group
    frame["share"] = [g / n if n else float("nan") for g, n in zip(frame["good"], frame["rated"], strict=True)]
    frame["detail"] = _good_quota_sentences(frame, share)
    return frame


def _good_quota_sentences(frame: pd.DataFrame, share: float) -> list[str]:
    """The evidence sentence of every unit-quarter, e.g. 2025Q1「甲局」参加评定 7 人，好等次 3 人，
    名额 2 人（40% × 7 = 2.8，向下取整），超出 1 人。 The quota arithmetic is written once per distinct size."""
    share_text = _share_text(share)
    exact = Fraction(repr(float(share)))
    arithmetic = {n: f"{share_text} × {n} = {float(exact * n):.1f}" for n in set(frame["rated"].tolist())}
    out = []
    for period, unit, rated, uncertain, good, q in zip(
            frame["period"].tolist(), frame["unit"].tolist(), frame["rated"].tolist(), frame["uncertain"].tolist(),
            frame["good"].tolist(), frame["quota"].tolist(), strict=True):
        unc = f"（另有不确定等次 {uncertain} 人不计入）" if uncertain else ""
        end = f"，超出 {good - q} 人。" if good > q else "，未超出。"
        out.append(f"{period}「{unit}」参加评定 {rated} 人{unc}，好等次 {good} 人，"
                   f"名额 {q} 人（{arithmetic[rated]}，向下取整）{end}")
    return out


def excellent_quota_table(con: duckdb.DuckDBPyConnection, filters: Filters, cfg: RuleConfig,
                          min_group: int = 5) -> pd.DataFrame:
    """优秀 count against the quota for every unit and year of the selection."""
    units_sql, params = _selected_units_sql(filters)
    year_sql, year_params = filters.year_clause("a.year")
    frame = con.execute(f"""
        WITH sel AS ({units_sql})
        SELECT p.unit, a.year::INTEGER AS year,
               count(*) FILTER (WHERE a.grade NOT IN ('不定等次', '不确定档次'))::INTEGER AS graded,
               count(*) FILTER (WHERE a.grade IN ('不定等次', '不确定档次'))::INTEGER AS undetermined,
               count(*) FILTER (WHERE a.grade = '优秀')::INTEGER AS excellent
        FROM annual a
        JOIN people p USING (person_id)
        JOIN sel USING (unit)
        WHERE {year_sql}
        GROUP BY p.unit, a.year
        ORDER BY a.year, p.unit
    """, params + year_params).df()
    frame["share_limit"] = [cfg.excellent_share_for(u) for u in frame["unit"]]
    frame["approved"] = [u in cfg.excellent_quota_approved_units for u in frame["unit"]]
    pairs = list(zip(frame["share_limit"].tolist(), frame["graded"].tolist(), strict=True))
    by_pair = {pair: quota(*pair) for pair in set(pairs)}  # the exact arithmetic once per (share, size)
    frame["quota"] = pd.Series([by_pair[pair] for pair in pairs], index=frame.index, dtype="int64")
    frame["excess"] = frame["excellent"] - frame["quota"]
    frame["breach"] = frame["excess"] > 0
    frame["small"] = frame["graded"] < min_group
    frame["share"] = [e / n if n else float("nan") for e, n in zip(frame["excellent"], frame["graded"], strict=True)]
    frame["detail"] = _excellent_quota_sentences(frame, pairs)
    return frame


def _excellent_quota_sentences(frame: pd.DataFrame, pairs: list[tuple[float, int]]) -> list[str]:
    """The evidence sentence of every unit-year; the quota arithmetic written once per (share, size)."""
    arithmetic = {(share, n): f"{_share_text(share)} × {n} = {float(Fraction(repr(float(share))) * n):.1f}"
                  for share, n in set(pairs)}
    out = []
    for year, unit, graded, undetermined, excellent, approved, q, pair in zip(
            frame["year"].tolist(), frame["unit"].tolist(), frame["graded"].tolist(),
            frame["undetermined"].tolist(), frame["excellent"].tolist(), frame["approved"].tolist(),
            frame["quota"].tolist(), pairs, strict=True):
        und = f"（另有不定等次 {undetermined} 人不计入）" if undetermined else ""
        end = f"，超出 {excellent - q} 人。" if excellent > q else "，未超出。"
        out.append(f"{year} 年度「{unit}」确定年度等次 {graded} 人{und}，优秀 {excellent} 人，"
                   f"{'经批准的' if approved else ''}名额 {q} 人（{arithmetic[pair]}，向下取整）{end}")
    return out


def excellent_people(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Every annual 优秀 of the selection with that year's quarterly record.

    All quarters of the year count, whatever quarter the filters pick: the annual grade is about
    the whole year.
    """
    pop_sql, params = filters.population()
    year_sql, year_params = filters.year_clause("a.year")
    return con.execute(f"""
        WITH pop AS ({pop_sql}),
        exc AS (
            SELECT a.person_id, a.year::INTEGER AS year, a.quarterly_avg, pop.name, pop.unit
            FROM annual a JOIN pop USING (person_id)
            WHERE a.grade = '优秀' AND {year_sql}
        ),
        py AS (
            SELECT q.person_id, q.year::INTEGER AS year,
                   count(*)::INTEGER AS rows,
                   count(*) FILTER (WHERE q.grade IN ('好', '较好', '一般', '较差'))::INTEGER AS rated,
                   count(*) FILTER (WHERE q.grade = '好')::INTEGER AS good,
                   count(*) FILTER (WHERE q.grade IN ('一般', '较差'))::INTEGER AS low,
                   string_agg(q.period || q.grade, '、' ORDER BY q.period)
                       FILTER (WHERE q.grade IN ('一般', '较差')) AS low_quarters,
                   avg(q.score) AS avg_score,
                   count(q.score)::INTEGER AS scored
            FROM quarterly q JOIN exc ON exc.person_id = q.person_id AND exc.year = q.year
            GROUP BY q.person_id, q.year
        )
        SELECT exc.person_id, exc.name, exc.unit, exc.year,
               coalesce(py.rows, 0) AS rows, coalesce(py.rated, 0) AS rated, coalesce(py.good, 0) AS good,
               coalesce(py.low, 0) AS low, py.low_quarters,
               coalesce(py.avg_score, exc.quarterly_avg) AS avg_score,
               CASE WHEN py.avg_score IS NOT NULL THEN '平时考核结果'
                    WHEN exc.quarterly_avg IS NOT NULL THEN '年度结果中的平时平均分' END AS avg_source,
               coalesce(py.scored, 0) AS scored
        FROM exc LEFT JOIN py USING (person_id, year)
        ORDER BY exc.year, exc.unit, exc.person_id
    """, params + year_params).df()


def _person_breaches(people: pd.DataFrame, cfg: RuleConfig) -> tuple[list[dict], dict[str, tuple[int, int]]]:
    """Breaches of the three person-level rules, and per rule (checked, not checkable)."""
    out: list[dict] = []
    tally: dict[str, tuple[int, int]] = {}
    threshold = cfg.excellent_low_average_min_average
    min_good = cfg.excellent_without_good_min_good

    def add(rule: str, r, detail: str) -> None:
        out.append({"rule": rule, "person_id": r.person_id, "姓名": r.name, "unit": r.unit,
                    "period": str(r.year), "detail": detail})

    with_quarters = people[people["rows"] > 0]
    missing = len(people) - len(with_quarters)
    if cfg.excellent_with_general_enabled:
        tally["excellent_with_general"] = (len(with_quarters), missing)
        for r in with_quarters[with_quarters["low"] > 0].itertuples(index=False):
            if r.low > 0:
                add("excellent_with_general", r,
                    f"{r.person_id} {r.year} 年度评为优秀，但当年平时考核有 {r.low} 个季度为一般或较差"
                    f"（{r.low_quarters}）；规则：当年有一般或较差季度的不得评为优秀。")
    if cfg.excellent_low_average_enabled:
        has_avg = people[people["avg_score"].notna()]
        tally["excellent_low_average"] = (len(has_avg), len(people) - len(has_avg))
        for r in has_avg[has_avg["avg_score"] < threshold - _EPS].itertuples(index=False):
            if r.avg_score < threshold - _EPS:
                basis = (f"{r.scored} 个季度得分的平均" if r.avg_source == "平时考核结果"
                         else "年度结果中填报的平时平均分")
                add("excellent_low_average", r,
                    f"{r.person_id} {r.year} 年度评为优秀，但当年平时考核平均分为 {r.avg_score:.2f} 分（{basis}），"
                    f"低于 {threshold:g} 分的门槛。")
    if cfg.excellent_without_good_enabled:
        checkable = with_quarters[with_quarters["rated"] > 0]
        tally["excellent_without_good"] = (len(checkable), len(people) - len(checkable))
        short = checkable["good"] < (checkable["rated"] / 2 if min_good == HALF else min_good)
        for r in checkable[short].itertuples(index=False):
            needed = r.rated / 2 if min_good == HALF else min_good
            if r.good < needed:
                need_text = (f"评定季度数的一半（{r.rated} 个季度的一半，即 {needed:g} 次）"
                             if min_good == HALF else f" {needed} 次")
                add("excellent_without_good", r,
                    f"{r.person_id} {r.year} 年度评为优秀，但当年 {r.rated} 个评定季度中好等次 {r.good} 次，"
                    f"少于要求的{need_text}。")
    return out, tally


def check_rules(con: duckdb.DuckDBPyConnection, filters: Filters, config: RuleConfig | None = None,
                min_group: int = 5) -> RuleResult:
    """Every enabled rule on the selection; each breach with its evidence in one Chinese sentence."""
    cfg = config or RuleConfig()
    gq = good_quota_table(con, filters, cfg, min_group)
    eq = excellent_quota_table(con, filters, cfg, min_group)
    people = excellent_people(con, filters)
    rows: list[dict] = []
    tally: dict[str, tuple[int, int]] = {}
    if cfg.good_quota_enabled:
        tally["good_quota"] = (int((gq["rated"] > 0).sum()), 0)
        rows += [{"rule": "good_quota", "person_id": None, "姓名": None, "unit": r.unit, "period": r.period,
                  "detail": r.detail} for r in gq[gq["breach"]].itertuples(index=False)]
    if cfg.excellent_quota_enabled:
        tally["excellent_quota"] = (int((eq["graded"] > 0).sum()), 0)
        rows += [{"rule": "excellent_quota", "person_id": None, "姓名": None, "unit": r.unit, "period": str(r.year),
                  "detail": r.detail} for r in eq[eq["breach"]].itertuples(index=False)]
    person_rows, person_tally = _person_breaches(people, cfg)
    rows += person_rows
    tally.update(person_tally)
    breaches = pd.DataFrame(rows, columns=[c for c in BREACH_COLUMNS if c != "规则"])
    order = {r: i for i, r in enumerate(RULE_IDS)}
    if not breaches.empty:
        breaches = breaches.assign(_o=breaches["rule"].map(order)).sort_values(
            ["_o", "period", "unit", "person_id"], na_position="first", kind="stable").drop(columns="_o")
    breaches.insert(1, "规则", breaches["rule"].map(RULE_LABELS))
    for column in ("person_id", "姓名"):  # None (JSON null) for unit-level rules, not NaN
        breaches[column] = breaches[column].astype(object).where(breaches[column].notna(), None)
    breaches = breaches.reset_index(drop=True)
    counts = breaches["rule"].value_counts().to_dict()
    summary = pd.DataFrame([
        {"规则": RULE_LABELS[r], "规则编号": r, "检查对象": RULE_LEVEL[r],
         "检查数": tally[r][0] if r in tally else None, "违反数": int(counts.get(r, 0)) if r in tally else None,
         "未能检查": tally[r][1] if r in tally else None, "状态": "启用" if cfg.enabled(r) else "停用"}
        for r in RULE_IDS
    ])
    method = ("名额按实际参加评定的人数计算（不确定等次、不定等次不计入）并向下取整；"
              "个人规则核对年度优秀人员当年全部季度的平时考核结果；规则提示是需要核实的线索，不是结论。")
    return RuleResult(breaches=breaches, summary=summary, good_quota=gq, excellent_quota=eq, config=cfg,
                      method=method)


# --- figures --------------------------------------------------------------------------------

def breaches_by_rule_figure(result: RuleResult) -> go.Figure:
    """One bar per rule: how many breaches, with how many were checked in the hover."""
    s = result.summary[result.summary["状态"] == "启用"]
    fig = go.Figure(go.Bar(
        x=s["违反数"], y=s["规则"], orientation="h", marker_color=FLAG_COLOR,
        customdata=s[["规则编号", "检查数", "检查对象"]].to_numpy(),
        text=s["违反数"], textposition="outside",
        hovertemplate="%{y}<br>违反 %{x} 条（共检查 %{customdata[1]} 个%{customdata[2]}）<extra></extra>",
    ))
    fig.update_layout(title="各规则的违反条数", xaxis_title="违反条数", yaxis={"autorange": "reversed"},
                      showlegend=False, height=120 + 50 * max(1, len(s)))
    return fig


def good_quota_figure(result: RuleResult) -> go.Figure:
    """Units with at least one 好-quota breach × quarters: 好 count over the quota (red = above)."""
    gq = result.good_quota
    units = sorted(gq.loc[gq["breach"], "unit"].unique())
    sub = gq[gq["unit"].isin(units)]
    periods = sorted(sub["period"].unique())
    cells = sub.set_index(["unit", "period"])
    z, text = [], []
    for unit in units:
        z_row, text_row = [], []
        for period in periods:
            if (unit, period) in cells.index:
                r = cells.loc[(unit, period)]
                z_row.append(max(0, int(r["excess"])))
                text_row.append(f"{int(r['good'])}/{int(r['quota'])}")
            else:
                z_row.append(None)
                text_row.append("")
        z.append(z_row)
        text.append(text_row)
    fig = go.Figure(go.Heatmap(
        z=z, x=periods, y=units, text=text, texttemplate="%{text}", colorscale=[[0, "#FFFFFF"], [1, FLAG_COLOR]],
        zmin=0, xgap=2, ygap=2, colorbar={"title": {"text": "超出人数"}},
        hovertemplate="%{y} %{x}<br>好等次/名额：%{text}，超出 %{z} 人<extra></extra>",
    ))
    fig.update_layout(xaxis={"type": "category"}, yaxis={"type": "category", "autorange": "reversed"},
                      height=160 + 36 * max(1, len(units)), plot_bgcolor="white")
    return fig


def excellent_quota_figure(result: RuleResult) -> go.Figure:
    """Every unit-year: 优秀 count against the quota (breaches in the flag colour)."""
    eq = result.excellent_quota
    eq = eq[eq["graded"] > 0]
    fig = go.Figure(go.Scatter(
        x=eq["quota"], y=eq["excellent"], mode="markers",
        marker={"size": 9, "color": [FLAG_COLOR if b else NEUTRAL_COLOR for b in eq["breach"]], "opacity": 0.75},
        text=[f"{u} {y}" for u, y in zip(eq["unit"], eq["year"], strict=True)],
        customdata=eq[["unit", "graded"]].to_numpy(),
        hovertemplate="%{text}<br>优秀 %{y} 人，名额 %{x} 人，定等次 %{customdata[1]} 人<extra></extra>",
    ))
    top = max(1, int(eq["quota"].max()) if len(eq) else 1, int(eq["excellent"].max()) if len(eq) else 1)
    fig.add_trace(go.Scatter(x=[0, top], y=[0, top], mode="lines", line={"color": MUTED_COLOR, "dash": "dash"},
                             name="优秀人数 = 名额", hoverinfo="skip"))
    fig.update_layout(title="各单位年度优秀人数与名额", xaxis_title="名额（人）", yaxis_title="优秀人数（人）",
                      showlegend=False)
    return fig


# --- findings and report --------------------------------------------------------------------

def top_findings(con: duckdb.DuckDBPyConnection, filters: Filters, min_group: int = 5,
                 config: RuleConfig | None = None) -> list[Finding]:
    cfg = config or _config_from_file()
    result = check_rules(con, filters, cfg, min_group)
    b = result.breaches
    findings: list[Finding] = []
    person_rules = [r for r in RULE_IDS if r.startswith("excellent_") and r != "excellent_quota"]
    persons = b[b["rule"].isin(person_rules)]
    if len(persons):
        parts = "、".join(f"{RULE_LABELS[r]} {n} 人次" for r, n in persons["rule"].value_counts().items())
        findings.append(Finding(PAGE, f"{len(persons)} 人次年度优秀与平时考核不衔接",
                                f"{parts}；依据当年各季度的平时考核结果逐人核对，需核实。", len(persons)))
    for rule in ("excellent_quota", "good_quota"):
        sub = b[b["rule"] == rule]
        if len(sub):
            what = "单位年度" if rule == "excellent_quota" else "单位季度"
            findings.append(Finding(
                PAGE, f"{len(sub)} 个{what}{RULE_LABELS[rule]}",
                f"涉及 {sub['unit'].nunique()} 个单位，例如 {sub.iloc[0]['detail']}", len(sub)))
    return findings[:3]


def _config_from_file() -> RuleConfig:
    settings = load_settings()
    where = f"配置文件 {settings.config_path}" if settings.config_path else "配置文件"
    return RuleConfig.from_settings_raw(settings.raw, where)


@report("rules", "规则检查：逐条列出违反规则的单位和人员及其依据（需 --year）")
def rules_report(con: duckdb.DuckDBPyConnection, filters: Filters, args: ReportArgs,
                 config: RuleConfig | None = None) -> pd.DataFrame:
    """One row per breach: rule, person_id (None for unit-level rules), unit, period, detail."""
    if args.year is None:
        raise ReportError("规则检查报告需要指定年度，例如 --year 2024。")
    cfg = config or _config_from_file()
    year = int(args.year)
    f = filters.with_(years=(year,), periods=tuple(p for p in filters.periods if p.startswith(str(year))))
    b = check_rules(con, f, cfg, args.min_group).breaches
    return b[REPORT_COLUMNS].reset_index(drop=True)


__all__ = ["RULE_IDS", "RULE_LABELS", "RuleConfig", "RuleResult", "check_rules", "quota", "rules_report",
           "thresholds", "top_findings"]
