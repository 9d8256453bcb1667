"""The importer against real files of every format and quirk, checking exact stored values."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pytest
from filemaker import rows, snapshot, write_text, write_xls, write_xlsx

from analytics import importer

ROSTER = [
    ["青崖市人员名册"],
    ["序号", "姓名", "单位", "人员编号", "身份证号", "处室", "人员类别", "职务", "是否领导"],
    [1, "张三", "东湖区公安局", "P001", "110101199003071234", "办公室", "综合管理类", "科长", "领导"],
    [2, "李 四", "東湖區公安局", "P002", "11010119900307123x", "办公室", "行政执法类", "科员", "工作人员"],
    [3, "王五", "西岭区法院", "P003", "", "立案庭", "专业技术类", "", ""],
    [4, "赵六", "西岭区法院", "p004", "", "立案庭", "", "", "负责人"],
    ["合计", "4人"],
    ["制表人：某某  审核人：某某"],
]


def load(con, settings, path, **kw):
    return importer.import_files(con, [path], settings, **kw)


def only(results):
    assert len(results) == 1, results
    return results[0]


def hashed(text: str) -> str:
    return hmac.new(b"test-key", text.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def roster(con, settings, tmp_path):
    path = write_text(tmp_path / "人员名册.csv", ROSTER, encoding="gb18030")
    result = only(load(con, settings, path))
    assert result.status == "loaded", result.errors
    return result


# --- formats and quirks ----------------------------------------------------------------------


def test_gb18030_roster_with_title_footer_traditional_and_spaces(con, roster):
    assert roster.kind == "people" and roster.rows == 4
    assert rows(con, "SELECT person_id, name, unit, id_hash, dept, category, position, is_leader, auto "
                     "FROM people ORDER BY person_id") == [
        ("P001", "张三", "东湖区公安局", hashed("110101199003071234"), "办公室", "综合管理类", "科长", True, False),
        ("P002", "李四", "东湖区公安局", hashed("11010119900307123X"), "办公室", "行政执法类", "科员", False, False),
        ("P003", "王五", "西岭区法院", None, "立案庭", "专业技术类", None, None, False),
        ("P004", "赵六", "西岭区法院", None, "立案庭", None, None, True, False),
    ]
    # Units named by people but absent from a unit roster are created as placeholders.
    assert rows(con, "SELECT unit, auto FROM units ORDER BY unit") == [
        ("东湖区公安局", True), ("西岭区法院", True)]
    assert any("合计" in w or "跳过 2 行" in w for w in roster.warnings)
    assert "已忽略未识别的列：序号" in roster.warnings


def test_id_card_is_never_stored_as_written(con, roster, settings):
    stored = str(rows(con, "SELECT * FROM people")) + str(rows(con, "SELECT * FROM import_batch"))
    assert "110101199003071234" not in stored and "11010119900307123" not in stored


def quarterly_workbook(path):
    sheet = [
        ["2025年第一季度平时考核结果汇总表"],
        ["填报单位：（盖章）  填报日期：2025年4月3日"],
        ["序号", "人员编号", "姓名", "考核季度", "得分", "考核等次", "考核要素得分", None, None, None, None, "备注"],
        [None, None, None, None, None, None, "德", "能", "勤", "绩", "廉", None],
        [1, "P001", "张三", "２０２５Ｑ１", "９５分", "好等次", 14, 24, 14, 33, 10, ""],
        [2, "P002", "李四", "2025年第一季度", 88.5, "較好", 13, 22, 13, 31, 9.5, "借调"],
        [3, "P003", "王五", "2025-Q1", None, "C", None, None, None, None, None, None],
        [4, " P004 ", "赵六", "2025年1季度", " 90 ", "不确定等次", None, None, None, None, None, None],
        [None],
        ["合计", None, None, None, 273.5],
        ["制表人：某某  审核人：某某"],
    ]
    merges = ["G3:K3"] + [f"{c}3:{c}4" for c in "ABCDEFL"]
    return write_xlsx(path, {"一季度": sheet}, {"一季度": merges})


def test_xlsx_with_title_two_row_merged_header_fullwidth_units_and_footers(con, settings, roster, tmp_path):
    result = only(load(con, settings, quarterly_workbook(tmp_path / "2025年一季度.xlsx")))
    assert (result.status, result.kind, result.sheet, result.rows) == ("loaded", "quarterly", "一季度", 4)
    assert rows(con, "SELECT person_id, period, year, quarter, score, grade, score_de, score_neng, "
                     "score_qin, score_ji, score_lian FROM quarterly ORDER BY person_id") == [
        ("P001", "2025Q1", 2025, 1, 95.0, "好", 14.0, 24.0, 14.0, 33.0, 10.0),
        ("P002", "2025Q1", 2025, 1, 88.5, "较好", 13.0, 22.0, 13.0, 31.0, 9.5),
        ("P003", "2025Q1", 2025, 1, None, "一般", None, None, None, None, None),
        ("P004", "2025Q1", 2025, 1, 90.0, "不确定等次", None, None, None, None, None),
    ]
    assert any("第 9、10、11 行" in w for w in result.warnings), result.warnings


def test_old_excel_xls_with_title_row(con, settings, roster, tmp_path):
    path = write_xls(tmp_path / "年度考核.xls", {"Sheet1": [
        ["2025年度考核结果"],
        ["人员编号", "姓名", "年度", "年度等次", "年度得分", "平时考核平均分"],
        ["P001", "张三", "2025年度", "優秀等次", 96, 93.5],
        ["P002", "李四", 2025, "稱職", "90分", None],
        ["P003", "王五", "2025年", "基本稱職", None, None],
        ["P004", "赵六", "2025", "不定等次", None, None],
    ]})
    result = only(load(con, settings, path))
    assert (result.status, result.kind, result.rows) == ("loaded", "annual", 4), result.errors
    assert rows(con, "SELECT person_id, year, grade, score, quarterly_avg FROM annual ORDER BY 1") == [
        ("P001", 2025, "优秀", 96.0, 93.5), ("P002", 2025, "称职", 90.0, None),
        ("P003", 2025, "基本称职", None, None), ("P004", 2025, "不定等次", None, None),
    ]


def test_utf16_unicode_text_logs_with_units_mixed_dates_and_serials(con, settings, roster, tmp_path):
    path = write_text(tmp_path / "工作日志.txt", [
        ["工作日志导出"],
        ["人员编号", "工作日期", "用时", "工作内容", "地点", "进度", "成效"],
        ["P001", "2025/3/5", "7.5小时", "起草材料", "办公室", "完成", "良好"],
        ["P001", "2025年3月6日", "7.5h", "起草材料", "", "", ""],
        ["P002", "2025.3.5", "３", "接待群众", "大厅", "", ""],
        ["P002", "45721", "4", "整理卷宗", "", "", ""],
    ], encoding="utf-16", sep="\t")
    assert path.read_bytes()[:2] == b"\xff\xfe"
    result = only(load(con, settings, path))
    assert (result.status, result.kind, result.rows) == ("loaded", "worklogs", 4), result.errors
    assert rows(con, "SELECT person_id, work_date, hours, content, place, progress, outcome "
                     "FROM worklogs ORDER BY ALL") == [
        ("P001", dt.date(2025, 3, 5), 7.5, "起草材料", "办公室", "完成", "良好"),
        ("P001", dt.date(2025, 3, 6), 7.5, "起草材料", None, None, None),
        ("P002", dt.date(2025, 3, 5), 3.0, "接待群众", "大厅", None, None),
        ("P002", dt.date(2025, 3, 5), 4.0, "整理卷宗", None, None, None),
    ]
    assert rows(con, "SELECT * FROM worklog_daily ORDER BY ALL") == [
        ("P001", dt.date(2025, 3, 5), 7.5, 1), ("P001", dt.date(2025, 3, 6), 7.5, 1),
        ("P002", dt.date(2025, 3, 5), 7.0, 2),
    ]
    # 2025-03-05 and 03-06 are a Wednesday and a Thursday: working days.
    assert rows(con, "SELECT * FROM worklog_monthly ORDER BY ALL") == [
        ("P001", dt.date(2025, 3, 1), 15.0, 2, 2, 2), ("P002", dt.date(2025, 3, 1), 7.0, 1, 1, 2),
    ]


def test_utf8_bom_monthly_reconciliation(con, settings, roster, tmp_path):
    path = tmp_path / "月度对账.csv"
    write_text(path, [
        ["人员编号", "月份", "计划事项数", "完成事项数", "饱和度评价", "评语"],
        ["P001", "2025-03", "10", "9", "飽滿", "按期完成"],
        ["P002", "2025年3月", "８", "８", "较饱满", ""],
        ["P003", "2025/3", "5", "3", "不饱满", ""],
    ], encoding="utf-8-sig")
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    result = only(load(con, settings, path))
    assert (result.status, result.kind, result.rows) == ("loaded", "monthly", 3), result.errors
    assert rows(con, "SELECT person_id, month, planned, done, saturation_rating, comment "
                     "FROM monthly ORDER BY 1") == [
        ("P001", dt.date(2025, 3, 1), 10, 9, "饱满", "按期完成"),
        ("P002", dt.date(2025, 3, 1), 8, 8, "较饱满", None),
        ("P003", dt.date(2025, 3, 1), 5, 3, "不饱满", None),
    ]


def test_ratings_with_traditional_headers_matched_by_unit_and_name(con, settings, roster, tmp_path):
    path = write_xlsx(tmp_path / "评价明细.xlsx", {"明細": [
        ["單位", "被評價人", "評價人", "評價類型", "考核週期", "評分"],
        ["东湖区公安局", "张三", "P001", "自評", "2025Q1", 95],
        ["東湖區公安局", "张三", "P002", "同事互評", "2025Q1", 90],
        ["东湖区公安局", "李四", "P001", "領導評價", "2025Q1", 85],
        ["西岭区法院", "王五", "群众甲", "服務對象評價", "2025年第一季度", "80分"],
    ]})
    result = only(load(con, settings, path))
    assert (result.status, result.kind, result.rows) == ("loaded", "ratings", 4), result.errors
    assert rows(con, "SELECT person_id, rater, rater_type, period, year, quarter, score "
                     "FROM ratings ORDER BY ALL") == [
        ("P001", "P001", "自评", "2025Q1", 2025, 1, 95.0),
        ("P001", "P002", "互评", "2025Q1", 2025, 1, 90.0),
        ("P002", "P001", "上级", "2025Q1", 2025, 1, 85.0),
        ("P003", "群众甲", "群众", "2025Q1", 2025, 1, 80.0),
    ]


def test_workbook_with_cover_sheet_units_and_people(con, settings, tmp_path):
    path = write_xlsx(tmp_path / "名册.xlsx", {
        "填表说明": [["请按以下格式填写"], ["本表由各单位于每季度末报送"]],
        "人员": [["姓名", "單位", "证件号码"], ["钱七", "北原县司法局", "110101198001011239"]],
        "单位": [
            ["单位名称", "所属地区", "层级", "系统", "是否联系点", "纳入联系点时间"],
            ["北原县司法局", "北原县", "旗县区", "司法", "√", "2024年第三季度"],
            ["南川县法院", "南川县", "旗县区", "法院", "", ""],
            ["市财政局", "市直", "市直", "财政", "否", None],
        ],
    })
    results = load(con, settings, path)
    by_sheet = {r.sheet: r for r in results}
    assert by_sheet["填表说明"].status == "skipped"
    assert (by_sheet["单位"].status, by_sheet["单位"].kind, by_sheet["单位"].rows) == ("loaded", "units", 3)
    assert (by_sheet["人员"].status, by_sheet["人员"].kind) == ("loaded", "people")
    assert rows(con, "SELECT unit, district, level, sector, is_pilot, pilot_since, auto FROM units "
                     "ORDER BY unit") == [
        ("北原县司法局", "北原县", "旗县区", "司法", True, "2024Q3", False),
        ("南川县法院", "南川县", "旗县区", "法院", False, None, False),
        ("市财政局", "市直", "市直", "财政", False, None, False),
    ]
    pid = "ID" + hashed("110101198001011239")[:16]
    assert rows(con, "SELECT person_id, name, unit FROM people") == [(pid, "钱七", "北原县司法局")]


def test_person_matched_by_id_card_across_files(con, settings, roster, tmp_path):
    path = write_text(tmp_path / "年度.csv", [
        ["身份证号", "年度", "等次"],
        ["11010119900307123X", "2024", "称职"],
        ["110101199003071234", "2024", "优秀"],
    ])
    result = only(load(con, settings, path))
    assert result.status == "loaded", result.errors
    assert rows(con, "SELECT person_id, grade FROM annual ORDER BY 1") == [("P001", "优秀"), ("P002", "称职")]


def test_without_roster_one_person_per_unit_and_name_with_warning(con, settings, tmp_path):
    path = write_text(tmp_path / "季度.csv", [
        ["单位", "姓名", "季度", "等次"],
        ["甲局", "张三", "2025Q1", "好"], ["甲局", "张三", "2025Q2", "较好"], ["乙局", "张三", "2025Q1", "一般"],
    ])
    result = only(load(con, settings, path))
    assert result.status == "loaded", result.errors
    assert any("尚未导入人员名册" in w for w in result.warnings)
    assert rows(con, "SELECT count(DISTINCT person_id) FROM quarterly") == [(2,)]
    assert rows(con, "SELECT unit, name FROM people ORDER BY 1") == [("乙局", "张三"), ("甲局", "张三")]


def test_name_matching_against_roster_refuses_unknown_and_ambiguous(con, settings, roster, tmp_path):
    write_text(tmp_path / "extra.csv", [["姓名", "单位", "人员编号"], ["张三", "东湖区公安局", "P009"]])
    assert only(load(con, settings, tmp_path / "extra.csv")).status == "loaded"
    path = write_text(tmp_path / "季度.csv", [
        ["单位", "姓名", "季度", "等次"],
        ["东湖区公安局", "张三", "2025Q1", "好"],
        ["东湖区公安局", "周八", "2025Q1", "好"],
        ["东湖区公安局", "李四", "2025Q1", "好"],
    ])
    before = snapshot(con)
    result = only(load(con, settings, path))
    assert result.status == "refused"
    assert [(e.row, e.column, e.value) for e in result.errors] == [(2, "姓名", "张三"), (3, "姓名", "周八")]
    assert "2 名同名人员" in result.errors[0].reason
    assert "人员名册中没有" in result.errors[1].reason
    assert snapshot(con) == before


def test_unknown_person_number_or_id_card_is_refused_once_a_roster_is_loaded(con, settings, roster, tmp_path):
    path = write_text(tmp_path / "年度.csv", [
        ["人员编号", "身份证号", "姓名", "单位", "年度", "等次"],
        ["P001", "", "张三", "东湖区公安局", "2024", "称职"],
        ["P999", "", "新人", "东湖区公安局", "2024", "称职"],
        ["", "110101200001011236", "新人", "东湖区公安局", "2024", "称职"],
    ])
    before = snapshot(con)
    result = only(load(con, settings, path))
    assert [(e.row, e.column, e.value) for e in result.errors] == [(3, "人员编号", "P999"), (4, "身份证号", None)]
    assert "人员名册中没有人员编号「P999」" in result.errors[0].reason
    assert snapshot(con) == before


def test_without_roster_unknown_numbers_create_people_with_a_warning(con, settings, tmp_path):
    path = write_text(tmp_path / "年度.csv", [["人员编号", "姓名", "单位", "年度", "等次"], ["P7", "张三", "甲局", "2024", "称职"]])
    result = only(load(con, settings, path))
    assert result.status == "loaded"
    assert any("不在人员名册中" in w for w in result.warnings)
    assert rows(con, "SELECT person_id, name, unit, auto FROM people") == [("P7", "张三", "甲局", True)]


# --- refusal, idempotence, conflicts, undo -------------------------------------------------------


def bad_quarterly(path):
    return write_text(path, [
        ["2025年第二季度平时考核结果"],
        ["人员编号", "姓名", "季度", "得分", "等次"],
        ["P001", "张三", "2025Q2", "105", "好"],
        ["P002", "李四", "2025Q2", "88", "優良"],
        ["P003", "王五", "2025年春季", "80", "一般"],
        ["P001", "张三", "2025Q2", "90", "好"],
        ["P004", "赵六", "2025Q2", "", ""],
    ], encoding="gb18030")


def test_file_with_errors_is_refused_whole_and_every_error_listed(con, settings, roster, tmp_path):
    before = snapshot(con)
    result = only(load(con, settings, bad_quarterly(tmp_path / "季度.csv")))
    assert result.status == "refused" and result.rows == 0
    found = sorted((e.row, e.column, e.value, e.reason) for e in result.errors)
    assert found == sorted([
        (3, "得分", "105", "分数应在 0 到 100 之间"),
        (4, "等次", "優良", found[1][3]),
        (5, "季度", "2025年春季", found[2][3]),
        (6, "人员编号", None, "与第 3 行重复（同一人员、同一考核周期）"),
        (7, "得分/等次", "", "得分和等次不能都为空"),
    ]), found
    assert "平时考核等次" in found[1][3] and "无法识别的季度" in found[2][3]
    assert snapshot(con) == before


def test_score_upper_bound_is_configurable(con, roster, tmp_path):
    from analytics.config import ImportLimits, Settings

    generous = Settings(db_path=tmp_path / "x.duckdb", id_hash_key=b"test-key",
                        limits=ImportLimits(score_max=110))
    path = write_text(tmp_path / "q.csv", [["人员编号", "季度", "得分"], ["P001", "2025Q1", "105"]])
    assert only(importer.import_files(con, [path], generous)).status == "loaded"


def test_reimporting_the_same_file_changes_nothing(con, settings, roster, tmp_path):
    path = quarterly_workbook(tmp_path / "q.xlsx")
    assert only(load(con, settings, path)).status == "loaded"
    before = snapshot(con)
    again = only(load(con, settings, path))
    assert again.status == "unchanged" and again.rows == 0
    assert "完全相同" in again.warnings[0]
    assert snapshot(con) == before


def test_conflict_refused_then_replace_replaces_exactly_the_conflicting_rows(con, settings, roster, tmp_path):
    first = write_text(tmp_path / "q1.csv", [
        ["人员编号", "季度", "得分", "等次"],
        ["P001", "2025Q1", "95", "好"], ["P002", "2025Q1", "85", "较好"], ["P003", "2025Q1", "80", "一般"],
    ])
    assert only(load(con, settings, first)).status == "loaded"
    before_second = snapshot(con)
    second = write_text(tmp_path / "q1-fixed.csv", [
        ["人员编号", "季度", "得分", "等次"],
        ["P001", "2025Q1", "95", "好"],      # identical: kept as is
        ["P002", "2025Q1", "91", "好"],      # conflict
        ["P004", "2025Q1", "70", "一般"],    # new
    ])
    refused = only(load(con, settings, second))
    assert refused.status == "refused"
    assert [(e.row, "冲突" in e.reason) for e in refused.errors] == [(3, True)]
    assert snapshot(con) == before_second

    replaced = only(load(con, settings, second, replace=True))
    assert (replaced.status, replaced.rows, replaced.replaced) == ("loaded", 2, 1)
    assert rows(con, "SELECT person_id, score, grade, batch_id FROM quarterly ORDER BY 1") == [
        ("P001", 95.0, "好", 2), ("P002", 91.0, "好", 3), ("P003", 80.0, "一般", 2), ("P004", 70.0, "一般", 3),
    ]
    message = importer.undo(con, replaced.batch_id)
    assert "恢复了被它替换的 1 行" in message
    after_undo = snapshot(con)
    assert {t: v for t, v in after_undo.items() if t != "import_batch"} == {
        t: v for t, v in before_second.items() if t != "import_batch"}


def test_undo_restores_previous_state_and_is_recorded(con, settings, roster, tmp_path):
    before = snapshot(con)
    result = only(load(con, settings, quarterly_workbook(tmp_path / "q.xlsx")))
    importer.undo(con, result.batch_id, user="审核员")
    after = snapshot(con)
    assert {t: v for t, v in after.items() if t != "import_batch"} == {
        t: v for t, v in before.items() if t != "import_batch"}
    assert rows(con, "SELECT undone_by FROM import_batch WHERE batch_id = ?", [result.batch_id]) == [("审核员",)]
    with pytest.raises(importer.UndoError, match="已于"):
        importer.undo(con, result.batch_id)
    # Once undone, the same file can be imported again.
    assert only(load(con, settings, quarterly_workbook(tmp_path / "q.xlsx"))).status == "loaded"


def test_undo_refused_while_a_later_batch_replaced_its_rows_or_uses_its_people(con, settings, roster, tmp_path):
    a = write_text(tmp_path / "a.csv", [["人员编号", "季度", "得分"], ["P001", "2025Q1", "95"]])
    b = write_text(tmp_path / "b.csv", [["人员编号", "季度", "得分"], ["P001", "2025Q1", "90"]])
    batch_a = only(load(con, settings, a)).batch_id
    batch_b = only(load(con, settings, b, replace=True)).batch_id
    with pytest.raises(importer.UndoError, match=f"请先撤销批次 {batch_b}"):
        importer.undo(con, batch_a)
    with pytest.raises(importer.UndoError, match="仍被批次"):
        importer.undo(con, roster.batch_id)
    importer.undo(con, batch_b)
    importer.undo(con, batch_a)
    assert rows(con, "SELECT count(*) FROM quarterly") == [(0,)]


def test_logs_day_total_over_24_hours_is_refused(con, settings, roster, tmp_path):
    path = write_text(tmp_path / "日志.csv", [
        ["人员编号", "日期", "工时", "工作内容"],
        ["P001", "2025-03-05", "12", "甲"], ["P001", "2025-03-05", "13", "乙"], ["P002", "2025-03-05", "8", "甲"],
    ])
    result = only(load(con, settings, path))
    assert result.status == "refused"
    assert [(e.row, e.value) for e in result.errors] == [(2, "25")]
    assert "超过 24 小时" in result.errors[0].reason


def test_completion_above_plan_is_refused_unless_tolerated(con, settings, roster, tmp_path):
    from analytics.config import ImportLimits, Settings

    path = write_text(tmp_path / "对账.csv", [["人员编号", "月份", "计划数", "完成数"], ["P001", "2025-03", "5", "6"]])
    result = only(load(con, settings, path))
    assert [(e.row, e.column, e.value) for e in result.errors] == [(2, "完成数", "6")]
    tolerant = Settings(db_path=settings.db_path, id_hash_key=b"test-key",
                        limits=ImportLimits(completion_tolerance=1))
    assert only(importer.import_files(con, [path], tolerant)).status == "loaded"


def test_one_bad_sheet_refuses_the_whole_workbook(con, settings, roster, tmp_path):
    path = write_xlsx(tmp_path / "两表.xlsx", {
        "年度": [["人员编号", "年度", "年度等次"], ["P001", "2025", "优秀"]],
        "季度": [["人员编号", "季度", "得分"], ["P001", "2025Q1", "abc"]],
    })
    before = snapshot(con)
    results = load(con, settings, path)
    assert {r.sheet: r.status for r in results} == {"年度": "refused", "季度": "refused"}
    assert snapshot(con) == before


def test_unreadable_and_unsupported_files_are_refused_with_a_message(con, settings, tmp_path):
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"\x00\x01 not a workbook")
    assert "无法打开 Excel 文件" in only(load(con, settings, junk)).errors[0].reason
    doc = tmp_path / "notes.docx"
    doc.write_bytes(b"PK\x03\x04")
    assert "不支持的文件类型" in only(load(con, settings, doc)).errors[0].reason
    nothing = write_text(tmp_path / "x.csv", [["a", "b"], ["1", "2"]])
    assert "未找到表头" in only(load(con, settings, nothing)).errors[0].reason


def test_kind_override(con, settings, roster, tmp_path):
    path = write_text(tmp_path / "data.csv", [["人员编号", "姓名", "单位"], ["P001", "张三", "东湖区公安局"]])
    result = only(load(con, settings, path, kind="annual"))
    assert result.status == "refused"
    assert "缺少必需的列：年度、年度等次" in result.errors[0].reason


def test_big_log_file_keeps_exact_row_numbers_around_skipped_footer_lines(con, settings, roster, tmp_path):
    n = 60_000
    start = dt.date(1950, 1, 1)
    body = [["P001" if i % 2 else "P002", (start + dt.timedelta(days=i // 2)).isoformat(), "0.5", f"事项{i}"]
            for i in range(n)]
    body[40_000][2] = "abc"
    lines = [["2024年工作日志"], ["人员编号", "日期", "工时", "工作内容"], *body, ["合计"], ["制表人：某某"]]
    path = write_text(tmp_path / "日志.csv", lines, encoding="gb18030")
    result = only(load(con, settings, path))
    assert [(e.row, e.value) for e in result.errors] == [(40_000 + 3, "abc")]
    body[40_000][2] = "1"
    lines = [["2024年工作日志"], ["人员编号", "日期", "工时", "工作内容"], *body, ["合计"], ["制表人：某某"]]
    result = only(load(con, settings, write_text(tmp_path / "日志2.csv", lines, encoding="gb18030")))
    assert (result.status, result.rows) == ("loaded", n)
    assert rows(con, "SELECT sum(hours), count(*) FROM worklogs") == [(0.5 * (n - 1) + 1, n)]
    assert rows(con, "SELECT sum(hours), sum(entries) FROM worklog_daily") == [(0.5 * (n - 1) + 1, n)]
    assert rows(con, "SELECT sum(hours), sum(entries), sum(logged_days) FROM worklog_monthly") == [
        (0.5 * (n - 1) + 1, n, n)]


def test_dry_run_checks_without_writing(con, settings, roster, tmp_path):
    before = snapshot(con)
    result = only(load(con, settings, quarterly_workbook(tmp_path / "q.xlsx"), dry_run=True))
    assert result.status == "loaded" and result.rows == 4 and result.batch_id is None
    assert list(result.preview.columns[:3]) == ["人员编号（匹配后）", "人员编号", "身份证号"] or \
        "人员编号（匹配后）" in result.preview.columns
    assert len(result.preview) == 4
    assert snapshot(con) == before


def test_log_duplicates_and_day_totals_compare_parsed_values_not_spellings(con, settings, roster, tmp_path):
    # The log checks run on integer codes of person_id, date and trimmed content: spellings that
    # parse alike are the same key.
    path = write_text(tmp_path / "日志.csv", [
        ["人员编号", "日期", "工时", "工作内容"],
        ["P001", "2025-03-05", "2", "甲"],
        ["p001", "2025/3/5", "2小时", " 甲 "],
        ["P002", "2025-03-05", "1", ""],
        ["Ｐ002", "2025.3.5", "1", "  "],
        ["P003", "2025-03-06", "20", "乙"],
        ["p003", "2025年3月6日", "5", "丙"],
        ["P003", "2025-03-07", "24", "丁"],
    ], encoding="gb18030")
    result = only(load(con, settings, path))
    assert result.status == "refused"
    assert [(e.row, e.column, e.value, e.reason) for e in result.errors] == [
        (3, "人员编号", None, "与第 2 行重复（同一人员、同一日期、同一工作内容）"),
        (5, "人员编号", None, "与第 4 行重复（同一人员、同一日期、同一工作内容）"),
        (6, "工时", "25", "同一人员 2025-03-06 的工时合计 25 小时，超过 24 小时（第 6、7 行）"),
    ]


def test_log_pre_aggregates_of_new_days_in_stored_and_new_months(con, settings, roster, tmp_path):
    first = write_text(tmp_path / "日志1.csv", [
        ["人员编号", "日期", "工时", "工作内容"], ["P001", "2025-03-05", "2", "甲"], ["P001", "2025-03-05", "1.5", "乙"]])
    assert only(load(con, settings, first)).status == "loaded"
    # New days, one in a month with a stored day (recomputed from every day) and one in a new month.
    second = write_text(tmp_path / "日志2.csv", [
        ["人员编号", "日期", "工时", "工作内容"], ["P001", "2025-03-06", "3", "甲"], ["P001", "2025-04-01", "4", "乙"],
        ["P002", "2025-04-01", "0.5", ""]])
    assert only(load(con, settings, second)).status == "loaded"
    assert rows(con, "SELECT person_id, work_date, hours, entries FROM worklog_daily ORDER BY ALL") == [
        ("P001", dt.date(2025, 3, 5), 3.5, 2), ("P001", dt.date(2025, 3, 6), 3.0, 1),
        ("P001", dt.date(2025, 4, 1), 4.0, 1), ("P002", dt.date(2025, 4, 1), 0.5, 1)]
    assert rows(con, "SELECT person_id, month, hours, logged_days, entries FROM worklog_monthly ORDER BY ALL") == [
        ("P001", dt.date(2025, 3, 1), 6.5, 2, 3), ("P001", dt.date(2025, 4, 1), 4.0, 1, 1),
        ("P002", dt.date(2025, 4, 1), 0.5, 1, 1)]


# --- text read from the bytes -----------------------------------------------------------------
# readers.read_text parses the bytes and decodes only each column's distinct values; whenever that
# is not certain to give the decoded reader's result, it falls back to it. Both must agree.


def _log_lines(n: int, content=lambda i: f"事项{i}（第{i % 7}类）") -> list[list[str]]:
    return [["2024年工作日志导出"], ["人员编号", "日期", "工时", "工作内容"]] + [
        [f"P{i % 50:03d}", f"2024/{i % 12 + 1}/{i % 28 + 1}", f"{i % 8 + 1}小时", content(i)] for i in range(n)]


def _text(lines: list[list[str]], encoding: str, sep: str = ",") -> bytes:
    return "".join(sep.join(r) + "\r\n" for r in lines).encode(encoding)


def _text_cases() -> dict[str, tuple[str, bytes, bool]]:
    big = 40_000  # over a megabyte: the head is decoded on its own
    gb = _text(_log_lines(big), "gb18030")
    quoted = ('人员编号,日期,工时,工作内容\r\nP001,2024-01-02,1,"含,逗号"\r\nP002,2024-01-02,2,"多\r\n行"\r\n'
              'P003,2024-01-02,3,"引""号"\r\nP004,2024-01-03,4,　全角空格　\r\n\r\n合计,,,\r\n')
    cut_gb = gb + "尾".encode("gb18030")[:1]
    bad_middle = gb[: len(gb) - 1000] + b"\xff\xfe" + gb[len(gb) - 998 :]
    ascii_head = _text(_log_lines(big, lambda i: f"item {i}"), "utf-8") + "P001,2024/1/1,1,中文内容\r\n".encode("gb18030")
    nul_late = gb + b"P001,2024/1/1,1,a\x00b\r\n"
    return {
        "gb18030, title, many distinct contents": ("日志.csv", gb, True),
        "utf-8, many distinct contents": ("日志.csv", _text(_log_lines(big), "utf-8"), True),
        "utf-8 with BOM": ("日志.csv", _text(_log_lines(big), "utf-8-sig"), True),
        "gb18030, few distinct contents": ("日志.csv", _text(_log_lines(big, lambda i: "起草文件"), "gb18030"), True),
        "small gb18030 with quotes, blank and total rows": ("日志.csv", quoted.encode("gb18030"), True),
        "small utf-8 tab-separated": ("日志.txt", _text(_log_lines(30), "utf-8", "\t"), True),
        "NUL inside a cell after the first megabyte": ("日志.csv", nul_late, True),
        "last character cut in half": ("日志.csv", cut_gb, False),
        "invalid bytes deep in the file": ("日志.csv", bad_middle, False),
        "utf-8 head, gb18030 further down": ("日志.csv", ascii_head, False),
        "total row with fewer cells": ("日志.csv", gb + "合计\r\n".encode("gb18030"), False),
        "header only": ("日志.csv", _text(_log_lines(0), "gb18030") + b"\r\n\r\n", False),
        "utf-16": ("日志.txt", _text(_log_lines(30), "utf-16", "\t"), False),
    }


def _read_outcome(read, name: str, data: bytes):
    from analytics.kinds import KNOWN_HEADERS
    from analytics.readers import ReadError

    try:
        tables = read(name, data, set(KNOWN_HEADERS))
    except ReadError as exc:
        return ("refused", str(exc))
    if tables is None:
        return None
    return [(t.headers, t.header_rows, t.notices, t.row_numbers.tolist(),
             {n: (c.combine_chunks().dictionary_decode() if str(c.type).startswith("dictionary")
                  else c.combine_chunks()).to_pylist() for n, c in zip(t.data.column_names, t.data.columns, strict=True)})
            for t in tables]


@pytest.mark.parametrize("case", list(_text_cases()))
def test_text_read_from_the_bytes_is_the_decoded_read(case):
    from analytics import readers

    name, data, fast = _text_cases()[case]
    decoded = _read_outcome(readers._read_text_decoded, name, data)
    assert (_read_outcome(readers._read_text_fast, name, data) is not None) == fast
    assert _read_outcome(readers.read_text, name, data) == decoded


@pytest.mark.parametrize("codec", ["utf-8", "gb18030"])
def test_transcode_decodes_every_value_strictly(codec):
    import pyarrow as pa

    from analytics import readers

    few = ["", "abc", "中文", "　全角　", "𠀀扩展", "a,b"]
    many = few + [f"值{i}" for i in range(100)]
    for values in (few, many, many + ["含\x00空字符"], [f"v{i}" for i in range(100)]):
        binary = pa.array([v.encode(codec) for v in ["前缀"] + values], type=pa.binary()).slice(1)
        assert readers._transcode(binary, codec).to_pylist() == values
    with pytest.raises(UnicodeDecodeError):
        readers._transcode(pa.array([f"值{i}".encode(codec) for i in range(100)] + [b"\xff"]), codec)
    with pytest.raises(UnicodeDecodeError):
        readers._transcode(pa.array([b"ok", "中".encode(codec)[:1]]), codec)
