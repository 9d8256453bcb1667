"""The kinds of export in EXPORTS.md: their columns, header aliases, parsers, and keys.

Aliases are written as in EXPORTS.md; they are compared after ``header_key`` normalisation, so
Traditional forms, full-width letters, spaces and bracketed units in headers all match.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from analytics import normalize as nz
from analytics.normalize import header_key
from analytics.readers import RawTable


@dataclass(frozen=True)
class Field:
    column: str  # column in the store (or a person-key role)
    aliases: tuple[str, ...]
    parse: Callable[[str], Any]
    arrow_type: pa.DataType
    required: bool = False

    @property
    def label(self) -> str:
        return self.aliases[0]


def _f(column: str, aliases: str, parse: Callable[[str], Any], typ: pa.DataType,
       required: bool = False) -> Field:
    return Field(column, tuple(aliases.split("|")), parse, typ, required)


STR, F64, I64, BOOL, DATE = pa.string(), pa.float64(), pa.int64(), pa.bool_(), pa.date32()

# Person key roles shared by the fact kinds.
PERSON_NO = _f("person_no", "人员编号|工号", nz.code_text, STR)
ID_CARD = _f("id_card", "身份证号|证件号码|身份证号码", nz.id_card, STR)
UNIT = _f("unit", "单位|单位名称|所在单位|工作单位", nz.name_text, STR)
NAME = _f("name", "姓名", nz.name_text, STR)
PERSON_KEY = (PERSON_NO, ID_CARD, UNIT, NAME)


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]  # conflict key: one stored "fact" per key
    person_keyed: bool
    name_hints: tuple[str, ...]

    def field(self, column: str) -> Field:
        return next(f for f in self.fields if f.column == column)

    @property
    def value_columns(self) -> tuple[str, ...]:
        roles = {"person_no", "id_card", "unit", "name"} if self.person_keyed else set()
        return tuple(f.column for f in self.fields if f.column not in roles)


KINDS: dict[str, Kind] = {
    "units": Kind(
        "units", "单位名册",
        (
            _f("unit", "单位名称|单位|机关名称", nz.name_text, STR, True),
            _f("district", "上级单位|所属地区|旗县区", nz.name_text, STR),
            _f("level", "单位层级|层级", nz.name_text, STR),
            _f("sector", "系统|领域|行业", nz.name_text, STR),
            _f("is_pilot", "是否联系点|联系点", nz.yes_no, BOOL),
            _f("pilot_since", "联系点起始|纳入联系点时间", nz.pilot_since, STR),
        ),
        key=("unit",), person_keyed=False, name_hints=("单位名册", "单位", "机关"),
    ),
    "people": Kind(
        "people", "人员名册",
        (
            _f("name", "姓名", nz.name_text, STR, True),
            _f("unit", "单位|单位名称|所在单位|工作单位", nz.name_text, STR, True),
            _f("person_no", "人员编号|工号", nz.code_text, STR),
            ID_CARD,
            _f("dept", "处室|科室|部门", nz.name_text, STR),
            _f("category", "人员类别|类别", nz.name_text, STR),
            _f("position", "职务|职级", nz.name_text, STR),
            _f("is_leader", "是否领导|岗位类型", nz.leader_flag, BOOL),
        ),
        key=("person_id",), person_keyed=False, name_hints=("人员名册", "名册", "花名册", "人员"),
    ),
    "quarterly": Kind(
        "quarterly", "平时考核结果",
        (
            *PERSON_KEY,
            _f("period", "考核周期|季度|考核季度", nz.quarter, STR, True),
            _f("score", "得分|总分|考核得分", nz.number, F64),
            _f("grade", "等次|考核等次|平时考核等次", nz.quarter_grade, STR),
            _f("score_de", "德", nz.number, F64),
            _f("score_neng", "能", nz.number, F64),
            _f("score_qin", "勤", nz.number, F64),
            _f("score_ji", "绩", nz.number, F64),
            _f("score_lian", "廉", nz.number, F64),
            _f("bonus", "加分", nz.number, F64),
            _f("penalty", "减分", nz.number, F64),
            _f("assessor", "评鉴人|考核人", nz.name_text, STR),
        ),
        key=("person_id", "period"), person_keyed=True, name_hints=("平时考核", "季度", "平时"),
    ),
    "ratings": Kind(
        "ratings", "评价明细",
        (
            _f("person_no", "人员编号|被评价人编号", nz.code_text, STR),
            ID_CARD,
            UNIT,
            _f("name", "被评价人|姓名", nz.name_text, STR),
            _f("rater", "评价人|评价人编号", nz.code_text, STR, True),
            _f("rater_type", "评价类型|评价方式|评价主体", nz.rater_type, STR, True),
            _f("period", "考核周期", nz.quarter, STR, True),
            _f("score", "分数|评分", nz.number, F64, True),
        ),
        key=("person_id", "rater", "period"), person_keyed=True,
        name_hints=("评价明细", "评价", "测评", "打分"),
    ),
    "worklogs": Kind(
        "worklogs", "工作日志",
        (
            *PERSON_KEY,
            _f("work_date", "日期|工作日期", nz.date, DATE, True),
            _f("hours", "工时|用时|时长", nz.number, F64, True),
            _f("content", "工作内容|事项", nz.plain_text, STR),
            _f("place", "地点", nz.plain_text, STR),
            _f("progress", "进度", nz.plain_text, STR),
            _f("outcome", "成效", nz.plain_text, STR),
        ),
        key=("person_id", "work_date"), person_keyed=True,
        name_hints=("日志", "记实", "日记实", "工作日志"),
    ),
    "monthly": Kind(
        "monthly", "月度对账",
        (
            *PERSON_KEY,
            _f("month", "月份", nz.month, DATE, True),
            _f("planned", "计划事项数|计划数", nz.whole_number, I64, True),
            _f("done", "完成事项数|完成数", nz.whole_number, I64, True),
            _f("saturation_rating", "饱和度评价", nz.saturation_rating, STR),
            _f("comment", "评语", nz.plain_text, STR),
        ),
        key=("person_id", "month"), person_keyed=True, name_hints=("对账", "月度"),
    ),
    "annual": Kind(
        "annual", "年度考核结果",
        (
            *PERSON_KEY,
            _f("year", "年度", nz.year, I64, True),
            _f("grade", "年度等次|等次", nz.annual_grade, STR, True),
            _f("score", "年度得分", nz.number, F64),
            _f("quarterly_avg", "平时考核平均分", nz.number, F64),
        ),
        key=("person_id", "year"), person_keyed=True, name_hints=("年度考核", "年度"),
    ),
}

# Rows of logs are unique by person, date and content; the conflict key is the person-day.
WITHIN_FILE_KEY = {**{k: v.key for k, v in KINDS.items()}, "worklogs": ("person_id", "work_date", "content")}
# Kinds in the order they must load (rosters first, so facts can match people).
LOAD_ORDER = ("units", "people", "quarterly", "ratings", "worklogs", "monthly", "annual")

KNOWN_HEADERS: frozenset[str] = frozenset(
    header_key(a) for kind in KINDS.values() for f in kind.fields for a in f.aliases
)


@dataclass
class Mapping:
    """Which column of a raw table feeds which field."""

    kind: Kind
    columns: dict[str, int]  # field column -> index in the raw table
    ignored: list[str]  # headers as written that no field uses
    duplicates: list[str]  # headers that matched a field already taken

    def has(self, column: str) -> bool:
        return column in self.columns


def map_columns(kind: Kind, headers: list[str]) -> Mapping:
    alias_to_field: dict[str, str] = {}
    for f in kind.fields:
        for alias in f.aliases:
            alias_to_field.setdefault(header_key(alias), f.column)
    columns: dict[str, int] = {}
    ignored: list[str] = []
    duplicates: list[str] = []
    # Exact canonical names win over looser aliases: 单位 is unit even if 单位名称 is also there.
    for rank in range(max(len(f.aliases) for f in kind.fields)):
        for i, header in enumerate(headers):
            key = header_key(header)
            for f in kind.fields:
                if (rank < len(f.aliases) and header_key(f.aliases[rank]) == key
                        and f.column not in columns and i not in columns.values()):
                    columns[f.column] = i
    for i, header in enumerate(headers):
        if i in columns.values() or not header.strip():
            continue
        if header_key(header) in alias_to_field:
            duplicates.append(header)
        else:
            ignored.append(header)
    return Mapping(kind, columns, ignored, duplicates)


def missing_required(mapping: Mapping) -> list[str]:
    """Labels of required columns absent from the header (with kind-specific alternatives)."""
    kind = mapping.kind
    missing = [f.label for f in kind.fields if f.required and not mapping.has(f.column)]
    if kind.person_keyed:
        keyed = mapping.has("person_no") or mapping.has("id_card") or (
            mapping.has("unit") and mapping.has("name")
        )
        if not keyed:
            missing.append("人员编号（或 身份证号，或 单位+姓名）")
    if kind.name == "quarterly" and not (mapping.has("score") or mapping.has("grade")):
        missing.append("得分 或 等次")
    return missing


def detect_kind(table: RawTable) -> tuple[Kind | None, list[tuple[str, list[str]]]]:
    """Best kind for a table by its columns (file and sheet names break ties).

    Returns the kind (None if no kind has all its required columns) and, for the message when
    none fits, each kind's missing columns.
    """
    candidates = []
    near: list[tuple[str, list[str]]] = []
    hint_text = f"{table.file}{table.sheet or ''}"
    for kind in KINDS.values():
        mapping = map_columns(kind, table.headers)
        missing = missing_required(mapping)
        if missing:
            near.append((kind.label, missing))
            continue
        hinted = any(h in hint_text for h in kind.name_hints)
        candidates.append((len(mapping.columns), hinted, kind))
    if not candidates:
        return None, near
    candidates.sort(key=lambda c: (c[0], c[1]), reverse=True)
    return candidates[0][2], near
