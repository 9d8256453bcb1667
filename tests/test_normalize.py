"""Value parsers, table-driven: what clerks type, and what the store keeps."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from analytics import normalize as nz


def parse(fn, text):
    return fn(nz.nfkc(text))


@pytest.mark.parametrize("text, expected", [
    ("2025Q1", "2025Q1"), ("2025-Q1", "2025Q1"), ("2025q3", "2025Q3"), ("２０２５Ｑ１", "2025Q1"),
    ("2025年第一季度", "2025Q1"), ("2025年第1季度", "2025Q1"), ("2025年一季度", "2025Q1"),
    ("2025年1季度", "2025Q1"), ("2025年第四季度", "2025Q4"), (" 2025 年 第二 季度 ", "2025Q2"),
])
def test_quarter(text, expected):
    assert parse(nz.quarter, text) == expected


@pytest.mark.parametrize("text", ["2025Q5", "2025年第五季度", "25Q1", "第一季度", "2025"])
def test_quarter_refused(text):
    with pytest.raises(nz.BadValue):
        parse(nz.quarter, text)


@pytest.mark.parametrize("text, expected", [
    ("2025-03-05", dt.date(2025, 3, 5)), ("2025/3/5", dt.date(2025, 3, 5)),
    ("2025.3.5", dt.date(2025, 3, 5)), ("2025年3月5日", dt.date(2025, 3, 5)),
    ("2025-03-05 00:00:00", dt.date(2025, 3, 5)), ("45721", dt.date(2025, 3, 5)),
    ("４５７２１", dt.date(2025, 3, 5)),
])
def test_date(text, expected):
    assert parse(nz.date, text) == expected


@pytest.mark.parametrize("text", ["2025-02-30", "3/5", "昨天", "12"])
def test_date_refused(text):
    with pytest.raises(nz.BadValue):
        parse(nz.date, text)


@pytest.mark.parametrize("text, expected", [
    ("2025-03", dt.date(2025, 3, 1)), ("2025/3", dt.date(2025, 3, 1)),
    ("2025年3月", dt.date(2025, 3, 1)), ("2025年12月份", dt.date(2025, 12, 1)),
    ("2025-03-01", dt.date(2025, 3, 1)),
])
def test_month(text, expected):
    assert parse(nz.month, text) == expected


@pytest.mark.parametrize("text, expected", [
    ("2025", 2025), ("2025年", 2025), ("2025年度", 2025), ("２０２５年度", 2025), ("2025.0", 2025),
])
def test_year(text, expected):
    assert parse(nz.year, text) == expected


@pytest.mark.parametrize("text, expected", [
    ("95", 95.0), ("９５", 95.0), ("95分", 95.0), ("７.５小时", 7.5), ("7.5h", 7.5), ("7.5H", 7.5),
    ("88.25", 88.25), (" 90 ", 90.0), ("-3", -3.0), ("1,000", 1000.0),
])
def test_number(text, expected):
    assert parse(nz.number, text) == expected


@pytest.mark.parametrize("text", ["九十五", "95分数", "abc", "7.5天"])
def test_number_refused(text):
    with pytest.raises(nz.BadValue):
        parse(nz.number, text)


@pytest.mark.parametrize("text, expected", [
    ("好", "好"), ("较好", "较好"), ("較好", "较好"), ("較差", "较差"), ("一般", "一般"),
    ("好等次", "好"), ("较好等次", "较好"), ("不确定等次", "不确定等次"), ("A", "好"), ("b", "较好"),
    ("C", "一般"), ("D", "较差"), ("E", "不确定等次"), ("Ａ", "好"),
])
def test_quarter_grade(text, expected):
    assert parse(nz.quarter_grade, text) == expected


@pytest.mark.parametrize("text", ["优秀", "優良", "F", "良"])
def test_quarter_grade_refused(text):
    with pytest.raises(nz.BadValue):
        parse(nz.quarter_grade, text)


@pytest.mark.parametrize("text, expected", [
    ("优秀", "优秀"), ("優秀", "优秀"), ("優秀等次", "优秀"), ("稱職", "称职"), ("基本稱職", "基本称职"),
    ("不稱職", "不称职"), ("不定等次", "不定等次"), ("合格", "合格"), ("不确定档次", "不确定档次"),
])
def test_annual_grade(text, expected):
    assert parse(nz.annual_grade, text) == expected


@pytest.mark.parametrize("text, expected", [
    ("自评", "自评"), ("互评", "互评"), ("同事互评", "互评"), ("上级", "上级"), ("领导评价", "上级"),
    ("領導評價", "上级"), ("群众", "群众"), ("服务对象评价", "群众"),
])
def test_rater_type(text, expected):
    assert parse(nz.rater_type, text) == expected


@pytest.mark.parametrize("text, expected", [
    ("是", True), ("否", False), ("Y", True), ("n", False), ("1", True), ("0", False), ("√", True),
])
def test_yes_no(text, expected):
    assert parse(nz.yes_no, text) is expected


@pytest.mark.parametrize("text, expected", [
    ("單位", "单位"), (" 姓 名 ", "姓名"), ("得分（分）", "得分"), ("工时(小时)", "工时"), ("評價人", "评价人"),
    ("考核週期", "考核周期"), ("人员编号*", "人员编号"),
])
def test_header_key(text, expected):
    assert nz.header_key(text) == expected


def test_names_are_matched_in_one_form():
    assert parse(nz.name_text, "東湖區 公安局") == "东湖区公安局"
    assert parse(nz.name_text, "张 三") == "张三"


def test_map_distinct_parses_each_value_once_and_flags_bad_rows():
    calls = []

    def counting(text):
        calls.append(text)
        return nz.number(text)

    arr = pa.array(["95", "95", None, "x", "95", "80"])
    values, bad, reasons = nz.map_distinct(arr, counting, pa.float64())
    assert values.to_pylist() == [95.0, 95.0, None, None, 95.0, 80.0]
    assert bad.tolist() == [False, False, False, True, False, False]
    assert reasons[3] == "不是数字"
    assert sorted(calls) == ["80", "95", "x"]
