"""The importer under attack: hostile, broken and mislabelled files, each refused with a Chinese
message naming the file, and the store left exactly as it was (docs/import-hardening.md)."""

from __future__ import annotations

import io
import random
import struct
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest
from filemaker import rows, snapshot, write_text, write_xls, write_xlsx

from analytics import importer, readers
from analytics.config import ImportLimits, Settings

ROSTER = [
    ["人员编号", "姓名", "单位"],
    ["P001", "张三", "东湖区公安局"],
    ["P002", "李四", "东湖区公安局"],
    ["P003", "王五", "西岭区法院"],
]
RESULTS = [["人员编号", "考核季度", "得分", "等次"], ["P001", "2025Q1", "95", "好"],
           ["P002", "2025Q1", "88", "较好"]]


@pytest.fixture
def base(con, settings, tmp_path):
    """A store holding a roster and one quarter, so that "unchanged" means something."""
    for path in (write_text(tmp_path / "人员名册.csv", ROSTER),
                 write_text(tmp_path / "平时考核_2025Q1.csv", RESULTS)):
        assert [r.status for r in importer.import_files(con, [path], settings)] == ["loaded"]
    return snapshot(con)


def refused(con, settings, path_or_upload, **kw):
    """Import one file; it must be refused as a whole with exactly one file-level error."""
    results = importer.import_files(con, [path_or_upload], settings, **kw)
    assert len(results) == 1, results
    result = results[0]
    assert (result.status, result.rows, result.batch_id) == ("refused", 0, None)
    return result


def reason(con, settings, path_or_upload) -> str:
    result = refused(con, settings, path_or_upload)
    assert len(result.errors) == 1 and result.errors[0].row is None, result.errors
    return result.errors[0].reason


def reason_and_peak(con, settings, path_or_upload) -> tuple[str, int]:
    """The refusal's reason and the peak of Python memory allocated while refusing (deterministic,
    unlike wall-clock time, which these tests do not assert on a shared machine)."""
    tracemalloc.start()
    try:
        message = reason(con, settings, path_or_upload)
        return message, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def roster_xlsx(path: Path) -> Path:
    return write_xlsx(path, {"人员名册": ROSTER})


# --- size -------------------------------------------------------------------------------------


def test_a_file_far_over_the_size_limit_is_refused_without_being_read(con, settings, base, tmp_path):
    big = tmp_path / "人员名册_巨大.csv"
    with big.open("wb") as fh:  # 600 MB on the file system, no disk used (sparse)
        fh.truncate(600 * 1024 * 1024)
    message, peak = reason_and_peak(con, settings, big)
    assert message == ("文件「人员名册_巨大.csv」大小 600.0 MB，超过上限 500 MB，未读取、未导入"
                       "（上限可在配置文件 [import] max_file_mb 中调整；也可把数据分成几个文件）")
    assert peak < 5 * 1024 * 1024  # the 600 MB were never read into memory
    assert snapshot(con) == base


def test_an_upload_over_a_configured_limit_says_its_size_and_the_limit(con, tmp_path, base, settings):
    small = Settings(db_path=settings.db_path, id_hash_key=b"test-key", limits=ImportLimits(max_file_mb=1))
    data = ("人员编号,姓名,单位\r\n" + "P009,某某,东湖区公安局\r\n" * 65_000).encode()
    assert reason(con, small, ("名册.csv", data)) == (
        f"文件「名册.csv」大小 {len(data) / 1048576:.1f} MB，超过上限 1 MB，未读取、未导入"
        "（上限可在配置文件 [import] max_file_mb 中调整；也可把数据分成几个文件）")
    assert f"{len(data) / 1048576:.1f}" == "2.0"
    assert snapshot(con) == base


# --- zip bombs and damaged workbooks ------------------------------------------------------------


def _zip_by_hand(path: Path, entries: list[tuple[str, bytes, int, int]]) -> Path:
    """A zip written field by field: (name, deflated bytes, crc, declared unpacked size). Lets a
    test store a deflate stream it built itself, as an attacker would."""
    out, central = io.BytesIO(), io.BytesIO()
    for name, packed, crc, size in entries:
        offset = out.tell()
        raw = name.encode()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(packed), size, len(raw), 0))
        out.write(raw + packed)
        central.write(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, len(packed), size,
                                  len(raw), 0, 0, 0, 0, 0, offset))
        central.write(raw)
    start = out.tell()
    out.write(central.getvalue())
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central.getvalue()),
                          start, 0))
    path.write_bytes(out.getvalue())
    return path


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def _workbook_parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as book:
        return {n: book.read(n) for n in book.namelist()}


def test_an_xlsx_zip_bomb_is_refused_before_calamine_unpacks_it(con, settings, base, tmp_path):
    # A real workbook whose sheet XML is replaced by a 2.5 GB stream: 1 MB of rows deflated once
    # with a full flush (which makes the block independent of what came before), repeated 2,500
    # times. The packed part is about 2.5 MB; its CRC is left unset because the importer refuses the
    # file on the declared size before unpacking a byte.
    parts = _workbook_parts(roster_xlsx(tmp_path / "real.xlsx"))
    unit = (b'<row><c t="inlineStr"><is><t>' + b"A" * 40 + b"</t></is></c></row>") * 20_000
    unit = unit[: 1 << 20]
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = c.compress(unit) + c.flush(zlib.Z_FULL_FLUSH)
    repeats = 2_500
    bomb = segment * repeats + zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    entries = [(n, _deflate(b), zlib.crc32(b), len(b)) for n, b in parts.items() if n != "xl/worksheets/sheet1.xml"]
    entries.append(("xl/worksheets/sheet1.xml", bomb, 0, repeats << 20))
    path = _zip_by_hand(tmp_path / "人员名册.xlsx", entries)
    assert path.stat().st_size < 16 * 1024 * 1024
    with zipfile.ZipFile(path) as book:  # it is a genuine bomb: the stream unpacks as declared
        assert book.getinfo("xl/worksheets/sheet1.xml").file_size == 2_621_440_000
        with book.open("xl/worksheets/sheet1.xml") as stream:
            assert stream.read(3 << 20) == (unit * 3)
    message, peak = reason_and_peak(con, settings, path)
    assert message == ("文件「人员名册.xlsx」：Excel 文件解压后约 2,500 MB，超过上限 2048 MB"
                       "（可能是「压缩炸弹」或已损坏的文件）")
    assert peak < 64 * 1024 * 1024
    assert snapshot(con) == base


def test_an_xlsx_part_packed_far_beyond_a_normal_ratio_is_refused(con, settings, base, tmp_path):
    # Honest sizes and CRC this time: 40 MB of one repeated row packed about 1,000 times.
    parts = _workbook_parts(roster_xlsx(tmp_path / "real.xlsx"))
    sheet = parts["xl/worksheets/sheet1.xml"]
    rows_xml = b'<row r="5"><c r="A5" t="inlineStr"><is><t>P001</t></is></c></row>' * 600_000
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(b"</sheetData>", rows_xml + b"</sheetData>")
    path = tmp_path / "人员名册.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        for name, data in parts.items():
            book.writestr(name, data)
    info = zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml")
    ratio = info.file_size / info.compress_size
    assert ratio > 100
    assert reason(con, settings, path) == (
        f"文件「人员名册.xlsx」：Excel 文件中的「xl/worksheets/sheet1.xml」压缩了 {ratio:,.0f} 倍"
        f"（{info.compress_size:,} 字节解压后为 {info.file_size / 1024 ** 2:,.0f} MB），超过上限 100 倍"
        "（可能是「压缩炸弹」或已损坏的文件）")
    assert snapshot(con) == base


def test_a_sparse_sheet_reaching_the_last_cell_is_refused_instead_of_crashing(con, settings, base, tmp_path):
    # Two cells, A1 and XFD1048576, make a 6 KB file that calamine would expand to a dense grid of
    # 17 billion cells: the allocation fails and aborts the whole process (the app) from Rust.
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "人员名册"
    for row in ROSTER:
        sheet.append(row)
    sheet.cell(1_048_576, 16_384, "x")
    path = tmp_path / "人员名册.xlsx"
    book.save(path)
    assert path.stat().st_size < 10_000
    assert reason(con, settings, path) == (
        "文件「人员名册.xlsx」：工作表「人员名册」的单元格范围达 1,048,576 行 × 16,384 列，"
        "超过上限 30,000,000 个单元格：请删除多余的行列（或分成几个文件）后再上传")
    assert snapshot(con) == base


def test_a_truncated_xlsx_is_refused_as_incomplete(con, settings, base, tmp_path):
    whole = roster_xlsx(tmp_path / "whole.xlsx").read_bytes()
    expected = ("Excel 文件不完整或已损坏：.xlsx 文件是一个压缩包，这个压缩包的目录缺失或被截断"
                "（常见于导出、下载或复制中断）。请重新导出或重新复制完整的文件后再上传")
    for cut in (len(whole) // 2, len(whole) - 10, 100):
        name = f"人员名册_{cut}.xlsx"
        assert reason(con, settings, (name, whole[:cut])) == f"文件「{name}」：{expected}"
    assert snapshot(con) == base


def test_a_damaged_part_inside_an_xlsx_is_refused(con, settings, base, tmp_path):
    data = bytearray(roster_xlsx(tmp_path / "whole.xlsx").read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as book:
        info = book.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for i in range(start + 5, start + 25):  # flip packed bytes of the sheet
        data[i] ^= 0xFF
    message = reason(con, settings, ("人员名册.xlsx", bytes(data)))
    assert message.startswith("文件「人员名册.xlsx」：Excel 文件已损坏，无法解压（")
    assert message.endswith("）：请重新导出或重新复制完整的文件后再上传")
    assert snapshot(con) == base


def test_a_crafted_xls_that_would_abort_calamine_is_refused_and_the_process_survives(
        con, settings, base, tmp_path):
    # An old-format workbook whose directory's sector chain points at itself: calamine follows it
    # until it asks for 4 GB and the failed allocation aborts the process (tried: exit status 134).
    # The importer reads .xls in a child process with a memory cap, so only the child ends.
    path = write_xls(tmp_path / "年度考核.xls", {"年度": [["人员编号", "年度", "年度等次"], ["P001", "2025", "优秀"]]})
    data = bytearray(path.read_bytes())
    sector = 1 << struct.unpack_from("<H", data, 0x1E)[0]
    directory = struct.unpack_from("<I", data, 0x30)[0]
    first_fat = struct.unpack_from("<I", data, 0x4C)[0]
    struct.pack_into("<I", data, 512 + first_fat * sector + 4 * directory, directory)
    message = reason(con, settings, ("年度考核.xls", bytes(data)))
    assert message == ("文件「年度考核.xls」：无法打开 Excel 文件（文件可能已损坏、加密或不是 Excel 格式）："
                       "读取程序异常退出（退出码 -6）")
    assert snapshot(con) == base
    # The same workbook undamaged still loads through the child process.
    result = importer.import_files(con, [path], settings)[0]
    assert (result.status, result.rows) == ("loaded", 1), result.errors
    assert rows(con, "SELECT person_id, year, grade FROM annual") == [("P001", 2025, "优秀")]


# --- wrong extensions and junk --------------------------------------------------------------------


def _png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"")


PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")


def test_wrong_extensions_say_what_the_file_really_is(con, settings, base, tmp_path):
    other = [*ROSTER, ["P009", "某某", "东湖区公安局"]]  # not byte-identical to the stored roster
    csv_bytes = write_text(tmp_path / "a.csv", other).read_bytes()
    xlsx_bytes = write_xlsx(tmp_path / "a.xlsx", {"人员名册": other}).read_bytes()
    cases = {
        ("名册.xlsx", csv_bytes): "扩展名是 .xlsx，但内容是文本（CSV 等）：请把扩展名改为 .csv 后重新上传",
        ("名册.csv", xlsx_bytes): "扩展名是 .csv，但内容是 Excel 工作簿（.xlsx）：请把扩展名改为 .xlsx 后重新上传",
        ("名册.txt", PDF): "扩展名是 .txt，但内容是PDF 文档，不是表格文件：请上传 Excel 或 CSV 文件",
        ("名册.csv", _png()): "扩展名是 .csv，但内容是PNG 图片，不是表格文件：请上传 Excel 或 CSV 文件",
        ("名册.xlsx", PDF): "扩展名是 .xlsx，但内容是PDF 文档，不是 Excel 文件：请上传 Excel 或 CSV 文件",
        ("名册.xls", "<html><body><table><tr><td>人员编号</td></tr></table></body></html>".encode()):
            "内容是网页（HTML/XML）格式，不是真正的 Excel 或 CSV 文件（有些系统导出的 .xls 就是这样）："
            "请用 Excel 打开后「另存为」.xlsx 再上传",
        ("名册.csv", b""): "文件是空的（0 字节）",
    }
    for (name, data), expected in cases.items():
        assert reason(con, settings, (name, data)) == f"文件「{name}」：{expected}", name
    assert snapshot(con) == base


def test_binary_junk_is_refused_as_not_text_or_not_excel(con, settings, base):
    junk = random.Random(7).randbytes(64 * 1024)
    assert reason(con, settings, ("名册.csv", junk)) == (
        "文件「名册.csv」：文件内容不是文本（含有二进制数据），不是 CSV/文本表格：请上传 Excel 文件，"
        "或在 Excel 中另存为「CSV UTF-8（逗号分隔）」后再上传")
    assert reason(con, settings, ("名册.xlsx", junk)) == (
        "文件「名册.xlsx」：无法打开 Excel 文件：内容不是 Excel 格式（文件可能已损坏，或不是 Excel 文件）")
    assert snapshot(con) == base


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_a_text_file_cut_inside_a_multibyte_character_is_refused_as_truncated(con, settings, base, encoding):
    text = "人员编号,姓名,单位\r\nP009,赵钱孙,东湖区公安局"
    whole = text.encode(encoding)
    cut = whole[:-1]
    with pytest.raises(UnicodeDecodeError):
        cut.decode(encoding)
    assert reason(con, settings, ("人员名册.csv", cut)) == (
        "文件「人员名册.csv」：文件末尾不完整：最后一个字符只有一半（文件可能在导出、下载或复制时被截断）。"
        "请重新导出或重新复制完整的文件后再上传")
    assert snapshot(con) == base


def test_a_text_file_broken_in_the_middle_names_the_line(con, settings, base):
    data = "人员编号,姓名,单位\r\nP009,赵钱孙,东湖区公安局\r\nP010,周吴郑,东湖区公安局\r\n".encode("gb18030")
    at = data.index("周".encode("gb18030"))
    broken = data[:at] + b"\n" + data[at + 1:]  # a line break where the first byte of 周 was
    assert reason(con, settings, ("人员名册.csv", broken)) == (
        "文件「人员名册.csv」：无法识别文件编码（第 4 行起有既不是 UTF-8 也不是 GBK 的内容）：请另存为 UTF-8 或 "
        "GBK 编码的 CSV，或直接上传 Excel 文件；若文件本来就是这样保存的，它可能已损坏")
    assert snapshot(con) == base


# --- shape: columns, lines, no data ---------------------------------------------------------------


def test_a_hundred_thousand_columns_are_refused_quickly(con, settings, base, tmp_path):
    header = ["人员编号", "姓名", "单位"] + [f"列{i}" for i in range(99_997)]
    path = write_text(tmp_path / "人员名册.csv", [header, ["P009", "某某", "东湖区公安局"] + ["1"] * 99_997])
    message, peak = reason_and_peak(con, settings, path)
    assert message == ("文件「人员名册.csv」：第 1 行有 100,000 列，超过上限 16,384 列（Excel 的最大列数）："
                       "文件可能不是表格文件，或分隔符不对")
    assert peak < 64 * 1024 * 1024
    assert snapshot(con) == base


def test_a_short_header_over_a_row_of_a_hundred_thousand_cells_is_refused(con, settings, base, tmp_path):
    path = write_text(tmp_path / "人员名册.csv", [*ROSTER, ["P009", "某某", "东湖区公安局"] + ["1"] * 99_997])
    message, peak = reason_and_peak(con, settings, path)
    assert message == (
        "文件「人员名册.csv」：第 5 行有 100,000 列，超过上限 16,384 列（Excel 的最大列数）："
        "文件可能不是表格文件，或分隔符不对")
    assert peak < 64 * 1024 * 1024
    assert snapshot(con) == base


def test_one_enormous_line_is_refused_without_decoding_it(con, settings, base, tmp_path):
    path = tmp_path / "人员名册.csv"
    path.write_bytes("人员编号,姓名,单位\r\nP009,某某,".encode() + "东".encode() * (3 * 1024 * 1024) + b"\r\n")
    message, peak = reason_and_peak(con, settings, path)
    assert message == ("文件「人员名册.csv」：第 2 行长达 9.0 MB 以上，超过每行 4 MB 的上限："
                       "文件可能不是表格文件，或者换行符丢失")
    assert peak < 40 * 1024 * 1024  # the 9 MB file itself and a mask over it, never a decoded copy
    no_breaks = tmp_path / "一行.csv"
    no_breaks.write_bytes(b"a," * (3 * 1024 * 1024))
    assert reason(con, settings, no_breaks) == (
        "文件「一行.csv」：第 1 行长达 6.0 MB 以上，超过每行 4 MB 的上限：文件可能不是表格文件，或者换行符丢失")
    assert snapshot(con) == base


def test_a_header_only_file_is_refused_with_no_data_rows(con, settings, base, tmp_path):
    csv_path = write_text(tmp_path / "人员名册.csv", [["人员名册"], ROSTER[0], ["合计", "0人"]])
    result = refused(con, settings, csv_path)
    assert [(e.row, e.column, e.value, e.reason) for e in result.errors] == [
        (2, None, None, "「人员名册.csv」没有数据行：只有表头（以及空行、合计或签字行），没有可导入的数据")]
    bare = write_text(tmp_path / "年度考核.csv", [["人员编号", "年度", "年度等次"]])
    result = refused(con, settings, bare)
    assert [(e.row, e.reason) for e in result.errors] == [
        (1, "「年度考核.csv」没有数据行：只有表头（以及空行、合计或签字行），没有可导入的数据")]
    xlsx_path = write_xlsx(tmp_path / "年度考核.xlsx", {"年度": [["人员编号", "年度", "年度等次"]]})
    result = refused(con, settings, xlsx_path)
    assert [(e.row, e.reason) for e in result.errors] == [
        (1, "「年度考核.xlsx｜年度」没有数据行：只有表头（以及空行、合计或签字行），没有可导入的数据")]
    assert snapshot(con) == base


def test_an_empty_sheet_beside_a_full_one_is_skipped_and_the_full_one_loads(con, settings, base, tmp_path):
    path = write_xlsx(tmp_path / "年度考核.xlsx", {
        "空表": [["人员编号", "年度", "年度等次"]],
        "2025": [["人员编号", "年度", "年度等次"], ["P001", "2025", "优秀"]]})
    results = importer.import_files(con, [path], settings)
    assert [(r.sheet, r.status, r.rows) for r in results] == [("空表", "skipped", 0), ("2025", "loaded", 1)]
    assert "表中没有数据行，已跳过" in results[0].warnings
    assert rows(con, "SELECT person_id, year, grade FROM annual") == [("P001", 2025, "优秀")]


# --- formulas: never evaluated ------------------------------------------------------------------

CMD = "=cmd|' /C calc'!A0"


def test_formula_text_in_a_csv_is_stored_as_text_in_text_fields_and_refused_in_number_fields(
        con, settings, base, tmp_path):
    logs = write_text(tmp_path / "工作日志.csv", [
        ["人员编号", "日期", "工时", "工作内容"],
        ["P001", "2025-03-03", "2", CMD],
        ["P002", "2025-03-03", "1.5", "=HYPERLINK(\"http://example.invalid\",\"点此\")"],
        ["P003", "2025-03-03", "+1", "-整理档案"],
    ])
    result = importer.import_files(con, [logs], settings)[0]
    assert (result.status, result.rows) == ("loaded", 3), result.errors
    assert rows(con, "SELECT person_id, hours, content FROM worklogs ORDER BY person_id") == [
        ("P001", 2.0, CMD), ("P002", 1.5, "=HYPERLINK(\"http://example.invalid\",\"点此\")"),
        ("P003", 1.0, "-整理档案")]
    before = snapshot(con)
    scores = write_text(tmp_path / "平时考核_2025Q2.csv", [
        ["人员编号", "考核季度", "得分", "等次"],
        ["P001", "2025Q2", CMD, "好"],
        ["P002", "2025Q2", "90", "=IF(1,\"好\")"],
    ])
    result = refused(con, settings, scores)
    assert [(e.row, e.column, e.value, e.reason) for e in result.errors] == [
        (2, "得分", CMD, importer.FORMULA_REASON), (3, "等次", "=IF(1,\"好\")", importer.FORMULA_REASON)]
    assert importer.FORMULA_REASON == ("单元格内容是公式，导入时不计算公式：请在 Excel 中复制该列，"
                                       "用「选择性粘贴 → 数值」粘贴后再导入")
    assert snapshot(con) == before


def _with_cached_value(path: Path, formula: bytes, value: bytes) -> Path:
    """Give one formula cell the stored result Excel would have saved with it."""
    parts = _workbook_parts(path)
    sheet = parts["xl/worksheets/sheet1.xml"]
    assert sheet.count(b"<f>" + formula + b"</f><v></v>") == 1 or sheet.count(b"<f>" + formula + b"</f><v />") == 1
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(b"<f>" + formula + b"</f><v></v>",
                                                      b"<f>" + formula + b"</f><v>" + value + b"</v>").replace(
        b"<f>" + formula + b"</f><v />", b"<f>" + formula + b"</f><v>" + value + b"</v>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)
    return path


def test_xlsx_formulas_are_never_evaluated(con, settings, base, tmp_path):
    sheet = [["人员编号", "考核季度", "得分", "等次", "评鉴人"],
             ["P001", "2025Q2", "=SUM(A1:A3)", "好", "=cmd|' /C calc'!A0"],
             ["P002", "2025Q2", 90, "较好", "王处长"]]
    path = write_xlsx(tmp_path / "平时考核_2025Q2.xlsx", {"2025Q2": sheet})
    result = refused(con, settings, path)
    # No stored result: the formula's text is the value; a number column refuses it, row and column named.
    assert [(e.row, e.column, e.value, e.reason) for e in result.errors] == [
        (2, "得分", "=SUM(A1:A3)", importer.FORMULA_REASON)]
    assert snapshot(con) == base
    # Excel saves each formula's result with it: that result, as the clerk saw it, is what loads.
    # The text-field "formula" (a cmd call) is stored as text, exactly.
    sheet[1][4] = "李科长"
    path = write_xlsx(tmp_path / "平时考核_2025Q2_已计算.xlsx", {"2025Q2": sheet})
    path = _with_cached_value(path, b"SUM(A1:A3)", b"93")
    result = importer.import_files(con, [path], settings)[0]
    assert (result.status, result.rows) == ("loaded", 2), result.errors
    assert rows(con, "SELECT person_id, score, grade, assessor FROM quarterly WHERE period = '2025Q2' "
                     "ORDER BY person_id") == [("P001", 93.0, "好", "李科长"), ("P002", 90.0, "较好", "王处长")]


def test_a_formula_in_a_text_column_of_an_xlsx_is_stored_as_its_text(con, settings, base, tmp_path):
    path = write_xlsx(tmp_path / "工作日志.xlsx", {"日志": [
        ["人员编号", "日期", "工时", "工作内容"], ["P001", "2025-03-04", 2, CMD]]})
    result = importer.import_files(con, [path], settings)[0]
    assert (result.status, result.rows) == ("loaded", 1), result.errors
    assert rows(con, "SELECT content FROM worklogs") == [(CMD,)]


def test_limits_are_what_the_documentation_says():
    assert (readers.MAX_COLUMNS, readers.MAX_CELLS, readers.MAX_LINE_BYTES, readers.MAX_ZIP_ENTRIES,
            readers.MAX_UNCOMPRESSED, readers.MAX_RATIO) == (
        16_384, 30_000_000, 4 * 1024 * 1024, 10_000, 2 * 1024 ** 3, 100)


def test_a_lone_carriage_return_is_a_line_end_not_a_crash(con, settings, base):
    # Found by the fuzz test: Python's csv module raised "new-line character seen in unquoted field".
    data = "人员编号,年度,年度等次\r \nP001,2025,优秀\rP002,2025,称职\r\n".encode()
    result = importer.import_files(con, [("年度考核.csv", data)], settings)[0]
    assert (result.status, result.rows) == ("loaded", 2), result.errors
    assert rows(con, "SELECT person_id, year, grade FROM annual ORDER BY ALL") == [
        ("P001", 2025, "优秀"), ("P002", 2025, "称职")]


def _sheet_without_references(path: Path, rows_xml: bytes) -> Path:
    """Replace the sheet's data by rows and cells written without ``r`` positions (allowed by the
    format: a reader places them one after another)."""
    parts = _workbook_parts(path)
    sheet = parts["xl/worksheets/sheet1.xml"]
    start, end = sheet.index(b"<sheetData>"), sheet.index(b"</sheetData>")
    parts["xl/worksheets/sheet1.xml"] = sheet[:start] + b"<sheetData>" + rows_xml + sheet[end:]
    parts.pop("xl/sharedStrings.xml", None)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)
    return path


def _inline_row(values: list[str], r: int | None = None) -> bytes:
    cells = b"".join(b'<c t="inlineStr"><is><t>' + v.encode() + b"</t></is></c>" for v in values)
    return (b'<row r="%d">' % r if r else b"<row>") + cells + b"</row>"


def test_cells_without_positions_are_placed_in_order_and_counted_for_the_limit(con, settings, base, tmp_path):
    plain = b"".join(_inline_row(r) for r in [["人员编号", "年度", "年度等次"], ["P001", "2025", "优秀"],
                                               ["P002", "2025", "称职"]])
    path = _sheet_without_references(write_xlsx(tmp_path / "年度考核.xlsx", {"年度": [["x"]]}), plain)
    result = importer.import_files(con, [path], settings)[0]
    assert (result.status, result.rows) == ("loaded", 2), result.errors
    assert rows(con, "SELECT person_id, grade FROM annual ORDER BY ALL") == [("P001", "优秀"), ("P002", "称职")]
    # Forty unpositioned cells in one row and a row at the bottom of the sheet: 1,048,576 x 40 cells.
    wide = plain + _inline_row(["1"] * 40) + _inline_row(["P003", "2025", "优秀"], r=1_048_576)
    path = _sheet_without_references(write_xlsx(tmp_path / "年度考核_2.xlsx", {"年度": [["x"]]}), wide)
    before = snapshot(con)
    # Rows without a position are counted on top of the highest position (an upper bound).
    assert reason(con, settings, path) == (
        "文件「年度考核_2.xlsx」：工作表「年度」的单元格范围达 1,048,580 行 × 40 列，"
        "超过上限 30,000,000 个单元格：请删除多余的行列（或分成几个文件）后再上传")
    assert snapshot(con) == before


def test_a_path_that_cannot_be_read_is_refused_with_a_message(con, settings, base, tmp_path):
    folder = tmp_path / "名册目录.csv"
    folder.mkdir()  # a directory where a file was expected: reading it fails
    assert reason(con, settings, folder) == (
        "文件「名册目录.csv」无法读取（Is a directory）：请检查文件是否存在、是否有读取权限")
    assert snapshot(con) == base


def test_a_log_file_without_the_optional_content_column_loads(con, settings, base, tmp_path):
    # Found by the fuzz test: the duplicate check grouped by 工作内容 even when the file had no such
    # column, DuckDB failed inside the transaction and the error reached the caller.
    path = write_text(tmp_path / "工作日志.csv", [["人员编号", "日期", "工时"], ["P001", "2025-03-03", "2"],
                                                  ["P001", "2025-03-04", "7.5"]])
    result = importer.import_files(con, [path], settings)[0]
    assert (result.status, result.rows) == ("loaded", 2), result.errors
    assert rows(con, "SELECT person_id, work_date::VARCHAR, hours, content FROM worklogs ORDER BY ALL") == [
        ("P001", "2025-03-03", 2.0, None), ("P001", "2025-03-04", 7.5, None)]
    # Without 工作内容, two rows for one person and day are the same entry, as with an empty 工作内容.
    again = write_text(tmp_path / "工作日志_2.csv", [["人员编号", "日期", "工时"], ["P002", "2025-03-05", "2"],
                                                    ["P002", "2025-03-05", "3"]])
    before = snapshot(con)
    result = refused(con, settings, again)
    assert [(e.row, e.column, e.reason) for e in result.errors] == [
        (3, "人员编号", "与第 2 行重复（同一人员、同一日期、同一工作内容）")]
    assert snapshot(con) == before


def test_an_unexpected_failure_inside_the_transaction_is_rolled_back_and_reported(
        con, settings, base, tmp_path, monkeypatch):
    # The only stand-in in this file: a failure after the rows were written, to show that even a
    # bug cannot leave half a file behind or show a traceback.
    real_write = importer._write

    def write_then_fail(cur, kind, *args):
        real_write(cur, kind, *args)
        assert store_count(cur, kind.name) > 0  # the rows are in, inside the transaction
        raise RuntimeError("boom")

    def store_count(cur, table):
        return cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    monkeypatch.setattr(importer, "_write", write_then_fail)
    path = write_text(tmp_path / "年度考核.csv", [["人员编号", "年度", "年度等次"], ["P001", "2025", "优秀"]])
    assert reason(con, settings, path) == (
        "文件「年度考核.csv」：导入时程序内部出错，文件未导入，数据库未改动：请把文件和本条信息交给系统管理员"
        "（RuntimeError）")
    assert snapshot(con) == base


def test_utf16_without_a_byte_order_mark_is_named_as_such(con, settings, base):
    data = "人员编号\t姓名\t单位\r\nP009\t某某\t东湖区公安局\r\n".encode("utf-16-le")
    assert reason(con, settings, ("人员名册.txt", data)) == (
        "文件「人员名册.txt」：文件像是不带 BOM 标记的 UTF-16 文本：请在 Excel 中另存为「Unicode 文本」"
        "或「CSV UTF-8（逗号分隔）」后再上传")
    assert snapshot(con) == base


def test_an_entity_bomb_in_the_workbook_xml_is_refused_quickly(con, settings, base, tmp_path):
    parts = _workbook_parts(roster_xlsx(tmp_path / "real.xlsx"))
    entities = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    parts["xl/workbook.xml"] = (f'<?xml version="1.0"?><!DOCTYPE w [{entities}]>'
                                f"<workbook><sheets>&e9;</sheets></workbook>").encode()
    path = tmp_path / "人员名册.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)
    message, peak = reason_and_peak(con, settings, path)
    assert message == (
        "文件「人员名册.xlsx」：Excel 文件的内部结构（XML）有误，无法读取：文件可能已损坏或被篡改。"
        "请重新导出，或用 Excel 打开后另存为 .xlsx 再上传")
    assert peak < 256 * 1024 * 1024  # a billion "lol"s (3 GB) were never expanded
    assert snapshot(con) == base


def test_a_shared_string_table_declaring_billions_of_strings_is_refused_instead_of_crashing(
        con, settings, base, tmp_path):
    # calamine reserves room for uniqueCount strings up front: four billion make it ask for 96 GB,
    # and the failed allocation aborts the process (tried: "memory allocation of 96000000000 bytes
    # failed").
    parts = _workbook_parts(roster_xlsx(tmp_path / "real.xlsx"))
    parts["xl/sharedStrings.xml"] = (b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/'
                               b'spreadsheetml/2006/main" count="1" uniqueCount="4000000000"><si><t>x</t></si></sst>')
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/'
        b'2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    path = tmp_path / "人员名册.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)
    size = len(parts["xl/sharedStrings.xml"])
    assert reason(con, settings, path) == (
        f"文件「人员名册.xlsx」：Excel 文件的共享字符串表声称有 4,000,000,000 个不同的字符串，但只有 {size:,} 字节："
        "文件已损坏或被篡改。请重新导出，或用 Excel 打开后另存为 .xlsx 再上传")
    assert snapshot(con) == base
    # A real table whose cells use few strings many times (count far above uniqueCount) loads.
    many = write_xlsx(tmp_path / "年度考核.xlsx", {"年度": [["人员编号", "年度", "年度等次"]] + [
        [pid, "2025", "优秀"] for pid in ("P001", "P002", "P003")]})
    result = importer.import_files(con, [many], settings)[0]
    assert (result.status, result.rows) == ("loaded", 3), result.errors


@pytest.mark.parametrize(("ref", "expected"), [
    ("A4000000000", "工作表「人员名册」的单元格范围达 4,000,000,000 行 × 3 列，超过上限 30,000,000 个单元格："
                    "请删除多余的行列（或分成几个文件）后再上传"),
    ("A99999999999999", "工作表「人员名册」的单元格范围达 99,999,999,999,999 行 × 3 列，超过上限 30,000,000 个单元格："
                        "请删除多余的行列（或分成几个文件）后再上传"),
    ("ZZZZZZ1", "工作表「人员名册」有 321,272,406 列，超过上限 16,384 列（Excel 的最大列数）：文件可能已损坏或被篡改"),
])
def test_a_cell_reference_beyond_excel_is_refused_before_calamine(con, settings, base, tmp_path, ref, expected):
    # Each of these one-cell edits made calamine ask for 20 to 384 GB and abort the process.
    parts = _workbook_parts(roster_xlsx(tmp_path / "real.xlsx"))
    cell = b'<c r="' + ref.encode() + b'" t="inlineStr"><is><t>x</t></is></c>'
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(b'<c r="A1"', cell + b'<c r="A1"', 1)
    path = tmp_path / "人员名册.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)
    assert reason(con, settings, path) == f"文件「人员名册.xlsx」：{expected}"
    assert snapshot(con) == base


def test_with_the_checks_bypassed_a_calamine_abort_still_ends_only_the_child(
        con, settings, base, tmp_path, monkeypatch):
    # Defence in depth: should a file get past the checks before calamine (here they are switched
    # off), calamine's abort ends the reading child, not this process.
    monkeypatch.setattr(readers, "inspect_xlsx", lambda data: {})
    parts = _workbook_parts(roster_xlsx(tmp_path / "real.xlsx"))
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(
        b'<c r="A1"', b'<c r="A4000000000" t="inlineStr"><is><t>x</t></is></c><c r="A1"', 1)
    path = tmp_path / "人员名册.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for name, data in parts.items():
            book.writestr(name, data)
    assert reason(con, settings, path) == (
        "文件「人员名册.xlsx」：无法打开 Excel 文件（文件可能已损坏、加密或不是 Excel 格式）：读取程序异常退出（退出码 -6）")
    assert snapshot(con) == base


def test_a_csv_starting_with_letters_of_a_file_signature_is_still_text(con, settings, base, tmp_path):
    path = write_text(tmp_path / "年度考核.csv", [["BMZ 导出"], ["人员编号", "年度", "年度等次"], ["P001", "2025", "优秀"]])
    assert path.read_bytes().startswith(b"BM")
    result = importer.import_files(con, [path], settings)[0]
    assert (result.status, result.rows) == ("loaded", 1), result.errors
