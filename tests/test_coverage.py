"""数据概况: what the store holds, in words."""

from __future__ import annotations

from filemaker import write_text

from analytics import importer
from analytics.coverage import coverage


def ranges(con) -> dict[str, str]:
    kinds = coverage(con).kinds
    return dict(zip(kinds["数据类型"], kinds["覆盖范围"], strict=True))


def test_the_demo_store_in_words(demo_con):
    assert ranges(demo_con) == {
        "单位名册": "62 个", "人员名册": "62 个单位", "平时考核结果": "2023Q1 至 2025Q4",
        "评价明细": "2023Q1 至 2025Q4", "工作日志": "2023-01-03 至 2025-12-31", "月度对账": "2023-01 至 2025-12",
        "年度考核结果": "2023 至 2025 年度"}


def test_units_known_only_by_name_are_counted_apart(con, settings, tmp_path):
    roster = write_text(tmp_path / "人员名册.csv", [["姓名", "单位"], ["张三", "甲局"], ["李四", "乙局"]])
    importer.import_files(con, [roster], settings)
    assert ranges(con)["单位名册"] == "0 个（另有 2 个仅有名称）"
    assert ranges(con)["平时考核结果"] == "—"
