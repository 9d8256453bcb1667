"""Turning what clerks type into canonical values.

Each parser takes one raw cell text (already NFKC-normalised and trimmed, never empty) and returns
the canonical value or raises ``BadValue`` with a Chinese reason. The importer applies parsers to
the *distinct* values of a column (``map_distinct``), so a million-row file with a few hundred
distinct dates costs a few hundred calls, not a million.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


class BadValue(ValueError):
    """A cell value that cannot be read; ``args[0]`` is the reason in Chinese."""


@lru_cache(maxsize=1)
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def simplify(text: str) -> str:
    """Traditional to Simplified (for headers and fixed vocabularies)."""
    return _t2s().convert(text)


_BRACKETED = re.compile(r"[(\[（【][^)\]）】]*[)\]）】]$")
_SPACES = re.compile(r"\s+")


def header_key(text: Any) -> str:
    """Normalised form of a column header: NFKC, no spaces, Simplified, lower case, and a
    trailing unit in brackets dropped (``得分（分）`` -> ``得分``)."""
    if text is None:
        return ""
    key = _SPACES.sub("", nfkc(str(text)))
    key = key.rstrip("*：:")
    key = _BRACKETED.sub("", key) or key
    return simplify(key).lower()


def vocab_key(text: str) -> str:
    return simplify(_SPACES.sub("", text)).lower()


# --- fixed vocabularies -------------------------------------------------------------------

QUARTER_GRADES = ("好", "较好", "一般", "较差", "不确定等次")
_QUARTER_LETTERS = dict(zip("abcde", QUARTER_GRADES, strict=True))
_QUARTER_ALIASES = {"不定等次": "不确定等次", "未定等次": "不确定等次"}

ANNUAL_GRADES = (
    "优秀", "称职", "基本称职", "不称职", "不定等次",
    "合格", "基本合格", "不合格", "不确定档次",
)
_ANNUAL_ALIASES = {"不确定等次": "不定等次", "未定等次": "不定等次"}

RATER_TYPES = ("自评", "互评", "上级", "群众")
_RATER_ALIASES = {
    "自评": "自评", "自我评价": "自评",
    "互评": "互评", "同事互评": "互评", "同级互评": "互评",
    "上级": "上级", "领导评价": "上级", "上级评价": "上级", "领导": "上级",
    "群众": "群众", "服务对象评价": "群众", "群众评价": "群众", "服务对象": "群众",
}
SATURATION_RATINGS = ("饱满", "较饱满", "一般", "不饱满")


def _strip_grade_suffix(key: str, allowed: tuple[str, ...]) -> str:
    if key in allowed:
        return key
    for suffix in ("等次", "档次", "等级"):
        if key.endswith(suffix) and key[: -len(suffix)]:
            return key[: -len(suffix)]
    return key


def quarter_grade(text: str) -> str:
    key = vocab_key(text)
    key = _QUARTER_ALIASES.get(key, key)
    key = _QUARTER_LETTERS.get(key, key)
    key = _strip_grade_suffix(key, QUARTER_GRADES)
    if key in QUARTER_GRADES:
        return key
    raise BadValue("等次不在平时考核等次范围内（好、较好、一般、较差、不确定等次，或 A–E）")


def annual_grade(text: str) -> str:
    key = vocab_key(text)
    key = _ANNUAL_ALIASES.get(key, key)
    key = _strip_grade_suffix(key, ANNUAL_GRADES)
    if key in ANNUAL_GRADES:
        return key
    raise BadValue("等次不在年度考核等次范围内（优秀、称职、基本称职、不称职、不定等次；"
                   "事业单位：优秀、合格、基本合格、不合格、不确定档次）")


def rater_type(text: str) -> str:
    key = vocab_key(text)
    if key in _RATER_ALIASES:
        return _RATER_ALIASES[key]
    raise BadValue("评价类型应为 自评、互评、上级 或 群众（及其常见写法）")


def saturation_rating(text: str) -> str:
    key = vocab_key(text)
    if key in SATURATION_RATINGS:
        return key
    raise BadValue("饱和度评价应为 饱满、较饱满、一般 或 不饱满")


_TRUE = {"是", "y", "yes", "1", "√", "✓", "✔", "true", "t", "对", "有"}
_FALSE = {"否", "n", "no", "0", "×", "✗", "false", "f", "不是", "无"}


def yes_no(text: str) -> bool:
    key = vocab_key(text)
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise BadValue("应为 是/否（也可写 Y/N、1/0、√/空）")


_LEADER = {"领导", "负责人", "领导干部", "领导职务", "是", "y", "1", "√"}
_STAFF = {"工作人员", "非领导", "一般工作人员", "否", "n", "0"}


def leader_flag(text: str) -> bool:
    key = vocab_key(text)
    if key in _LEADER:
        return True
    if key in _STAFF:
        return False
    raise BadValue("岗位类型应为 领导/负责人 或 工作人员")


# --- numbers -------------------------------------------------------------------------------

_NUMBER = re.compile(
    r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*(分|小时|个小时|时|h|hr|hrs|hour|hours|个|项|件|次|条)?$"
)


def number(text: str) -> float:
    match = _NUMBER.match(text.replace(",", "").lower())
    if not match:
        raise BadValue("不是数字")
    return float(match.group(1))


def whole_number(text: str) -> int:
    value = number(text)
    if value != int(value):
        raise BadValue("应为整数")
    return int(value)


# --- periods and dates ----------------------------------------------------------------------

_CN_DIGIT = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_QUARTER_PATTERNS = (
    re.compile(r"^(\d{4})[-/_]?q([1-4])$"),
    re.compile(r"^(\d{4})年?第?([一二三四1-4])季度?$"),
)
_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?(?:份)?$")
_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ t]\d{1,2}:\d{2}(?::\d{2})?)?$"
)
_YEAR = re.compile(r"^(\d{4})(?:年度?|年)?$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def _excel_serial(text: str) -> dt.date | None:
    try:
        value = float(text)
    except ValueError:
        return None
    if 20000 <= value <= 80000:  # 1954 .. 2119: a plausible date stored as a serial number
        return _EXCEL_EPOCH + dt.timedelta(days=int(value))
    return None


def quarter(text: str) -> str:
    key = vocab_key(text)
    for pattern in _QUARTER_PATTERNS:
        match = pattern.match(key)
        if match:
            return f"{match.group(1)}Q{_CN_DIGIT[match.group(2)]}"
    raise BadValue("无法识别的季度（可写 2025Q1、2025-Q1、2025年第一季度、2025年1季度）")


def date(text: str) -> dt.date:
    key = text.strip().lower()
    match = _DATE.match(key)
    if match:
        try:
            return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError as exc:
            raise BadValue("日期不存在") from exc
    serial = _excel_serial(key)
    if serial:
        return serial
    raise BadValue("无法识别的日期（可写 2025-03-05、2025/3/5、2025.3.5、2025年3月5日）")


def month(text: str) -> dt.date:
    key = text.strip().lower()
    match = _MONTH.match(key)
    if match and 1 <= int(match.group(2)) <= 12:
        return dt.date(int(match.group(1)), int(match.group(2)), 1)
    try:
        return date(key).replace(day=1)
    except BadValue:
        pass
    raise BadValue("无法识别的月份（可写 2025-03、2025/3、2025年3月）")


def year(text: str) -> int:
    key = text.strip()
    match = _YEAR.match(key)
    if match:
        return int(match.group(1))
    try:
        value = float(key)
    except ValueError:
        value = 0
    if value == int(value) and 1990 <= value <= 2100:
        return int(value)
    raise BadValue("无法识别的年度（可写 2025、2025年、2025年度）")


def pilot_since(text: str) -> str:
    """A year or a quarter; a year means its first quarter."""
    try:
        return quarter(text)
    except BadValue:
        pass
    try:
        return f"{year(text)}Q1"
    except BadValue:
        raise BadValue("联系点起始时间应为年度或季度（如 2024、2024Q3、2024年第三季度）") from None


def name_text(text: str) -> str:
    """Person and unit names, as EXPORTS.md asks: NFKC, no spaces (``张 三`` is ``张三``),
    Traditional to Simplified, Latin letters in lower case."""
    return simplify(_SPACES.sub("", text)).lower()


def plain_text(text: str) -> str:
    return text


def id_card(text: str) -> str:
    key = _SPACES.sub("", text).upper()
    if not re.fullmatch(r"\d{15}|\d{17}[\dX]", key):
        raise BadValue("身份证号应为 18 位（末位可为 X）或 15 位数字")
    return key


def code_text(text: str) -> str:
    """人员编号 and other codes: NFKC (already), no spaces, upper-case Latin letters."""
    key = _SPACES.sub("", text)
    if key.endswith(".0") and key[:-2].isdigit():  # a number cell read back as float text
        key = key[:-2]
    return key.upper()


# --- column-wise application ----------------------------------------------------------------


def trimmed_text(arr: pa.Array) -> pa.Array:
    """Free text as written: trimmed, empty -> null (no NFKC: it would rewrite full-width
    punctuation inside the text)."""
    if pa.types.is_dictionary(arr.type):  # each distinct value once, then one take
        return trimmed_text(arr.dictionary).take(arr.indices)
    arr = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def map_distinct(
    arr: pa.Array, parse: Callable[[str], Any], out_type: pa.DataType
) -> tuple[pa.Array, np.ndarray, list[str | None]]:
    """NFKC-normalise and trim each distinct value of ``arr``, then ``parse`` it; blank is null.

    Returns the parsed column (null where the input is blank or bad), a boolean mask of rows whose
    value could not be read, and the reason for each row (only when some row is bad).
    """
    # Text read from a CSV file is dictionary-encoded already (its dictionary may hold values no
    # row uses any more, such as a dropped total row: parsed, never reported).
    encoded = arr if pa.types.is_dictionary(arr.type) else pc.dictionary_encode(arr)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    uniques = encoded.dictionary.to_pylist()
    parsed: list[Any] = []
    reasons: list[str | None] = []
    for value in uniques:
        text = nfkc(value) if value is not None else ""
        if not text:
            parsed.append(None)
            reasons.append(None)
            continue
        try:
            parsed.append(parse(text))
            reasons.append(None)
        except BadValue as exc:
            parsed.append(None)
            reasons.append(str(exc.args[0]))
    indices = encoded.indices
    values = pa.array(parsed, type=out_type).take(indices)
    bad_by_unique = pa.array([r is not None for r in reasons], type=pa.bool_())
    bad = bad_by_unique.take(indices).fill_null(False).to_numpy(zero_copy_only=False)
    reason_per_row = pa.array(reasons, type=pa.string()).take(indices)
    return values, bad, reason_per_row.to_pylist() if bad.any() else []
