"""Reading export files into raw tables: encoding, header row, two-row headers, footers.

A ``RawTable`` holds every data cell as text exactly as written (Excel numbers and dates turned
into text), the header as written, and the spreadsheet row number of every data row. Nothing here
knows what the columns mean beyond recognising header words (``known_headers``).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePath

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from analytics.normalize import header_key, nfkc

TEXT_EXTENSIONS = {".csv", ".tsv", ".txt"}
EXCEL_EXTENSIONS = {".xlsx", ".xlsm", ".xls"}
SUPPORTED_EXTENSIONS = TEXT_EXTENSIONS | EXCEL_EXTENSIONS
HEADER_SCAN_ROWS = 40

# Limits against hostile or broken files (docs/import-hardening.md). The file size itself is
# ``[import] max_file_mb`` of the configuration, checked by the importer before reading.
MAX_COLUMNS = 16_384  # Excel's own widest sheet (column XFD)
MAX_CELLS = 30_000_000  # rows x columns of one sheet: calamine holds a sheet as a dense grid
MAX_LINE_BYTES = 4 * 1024 * 1024  # one line of a text file
MAX_ZIP_ENTRIES = 10_000  # parts inside one .xlsx
MAX_UNCOMPRESSED = 2 * 1024 ** 3  # all parts of one .xlsx, unpacked
MAX_RATIO = 100  # unpacked : packed, for any part over RATIO_FLOOR unpacked (as Apache POI)
RATIO_FLOOR = 1024 * 1024
# Read .xlsx in the child process as well: a native crash in calamine ends only the child. Costs
# about 0.8 s per 150,000 rows x 6 columns (rows are sent back pickled).
ISOLATE_XLSX = True

# First non-empty cell of a row that is not data: totals, signatures, notes.
_FOOTER = re.compile(
    r"^(合\s*[计計]|[总總]\s*[计計]|小\s*[计計]|平\s*均|[制製]\s*表|[审審]\s*核|[填][报報表]|"
    r"[备備]\s*[注註]|负责人|負責人|[说說]\s*明|注\s*[:：]|签字|簽字|盖章|蓋章)"
)


class ReadError(Exception):
    """A file that cannot be read at all; the message is for the user (Chinese)."""


@dataclass
class RawTable:
    file: str
    sheet: str | None
    headers: list[str]  # as written (two-row headers combined)
    data: pa.Table  # one text column per header, named c0..cN (string, or dictionary of strings
    # when read from a text file); "" or null for empty
    row_numbers: np.ndarray  # spreadsheet row number of each data row
    header_rows: tuple[int, ...]  # spreadsheet row numbers holding the header
    notices: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.file}｜{self.sheet}" if self.sheet else self.file


# --- encodings ------------------------------------------------------------------------------


_TRUNCATED = (
    "文件末尾不完整：最后一个字符只有一半（文件可能在导出、下载或复制时被截断）。"
    "请重新导出或重新复制完整的文件后再上传"
)


def decode(data: bytes) -> tuple[str, str]:
    """Decode a text export: BOM first, then strict UTF-8, then strict GB18030.

    A file that is valid except for an incomplete last character was cut short: it is refused
    as truncated rather than decoded with a guess.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "UTF-8（带 BOM）"
        except UnicodeDecodeError as exc:
            raise ReadError(_TRUNCATED if _cut_at_end(exc, len(data) - 3) else
                            "文件以 UTF-8 标记开头，但内容不是有效的 UTF-8 文本：文件可能已损坏") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as exc:
            raise ReadError(_TRUNCATED if _cut_at_end(exc, len(data)) else
                            "文件以 UTF-16 标记开头，但内容不是有效的 UTF-16 文本：文件可能已损坏") from None
    _refuse_binary(data)
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError as exc:
        if _cut_at_end(exc, len(data)):
            raise ReadError(_TRUNCATED) from None
        utf8_error = exc.start
    try:
        return data.decode("gb18030"), "GB18030/GBK"
    except UnicodeDecodeError as exc:
        if _cut_at_end(exc, len(data)):
            raise ReadError(_TRUNCATED) from None
        at = max(utf8_error, exc.start)  # where the likelier of the two encodings broke down
    line = data.count(b"\n", 0, at) + 1
    raise ReadError(f"无法识别文件编码（第 {line} 行起有既不是 UTF-8 也不是 GBK 的内容）：请另存为 UTF-8 或 "
                    "GBK 编码的 CSV，或直接上传 Excel 文件；若文件本来就是这样保存的，它可能已损坏")


def _cut_at_end(exc: UnicodeDecodeError, size: int) -> bool:
    """The only decoding problem is an incomplete character at the very end."""
    return exc.end >= size and size - exc.start <= 3 and (
        "unexpected end" in exc.reason or "truncated" in exc.reason or "incomplete" in exc.reason)


_CONTROL = bytes(c for c in range(32) if c not in (9, 10, 12, 13))


def _refuse_binary(data: bytes) -> None:
    """Text exports have no NUL bytes (UTF-16 carries a BOM) and hardly any control characters."""
    head = data[: 1024 * 1024]
    even, odd = head[0::2], head[1::2]
    if len(head) >= 8 and (odd.count(0) > len(odd) * 0.4 or even.count(0) > len(even) * 0.4):
        raise ReadError("文件像是不带 BOM 标记的 UTF-16 文本：请在 Excel 中另存为「Unicode 文本」"
                        "或「CSV UTF-8（逗号分隔）」后再上传")
    controls = len(head) - len(head.translate(None, _CONTROL))
    if b"\x00" in head or controls > max(8, len(head) // 100):
        raise ReadError("文件内容不是文本（含有二进制数据），不是 CSV/文本表格：请上传 Excel 文件，"
                        "或在 Excel 中另存为「CSV UTF-8（逗号分隔）」后再上传")


# --- header detection ----------------------------------------------------------------------


def _matches(row: list[str], known: set[str]) -> list[bool]:
    return [bool(cell) and header_key(cell) in known for cell in row]


def find_header(
    rows: list[list[str]], known: set[str]
) -> tuple[int, list[str], int] | None:
    """Locate the header among the first rows.

    Returns (index of the first header row, combined header, number of header rows), or None when
    no row has enough known header words. A second row is merged in when it holds known words under
    a group label or an empty (vertically merged) cell, the shape of ``考核要素得分`` over 德能勤绩廉.
    """
    scores = [sum(_matches(r, known)) for r in rows[:HEADER_SCAN_ROWS]]
    if not scores or max(scores) == 0:
        return None
    needed = min(2, max(scores))
    top = next(i for i, s in enumerate(scores) if s >= needed)
    header = [str(c) for c in rows[top]]
    if top + 1 < len(rows):
        below = [str(c) for c in rows[top + 1]]
        hit_top, hit_below = _matches(header, known), _matches(below, known)
        fills = [
            b and not t
            for t, b in zip(hit_top, hit_below, strict=False)
        ]
        clashes = [
            t and bool(c.strip())
            for t, c in zip(hit_top, below, strict=False)
        ]
        if any(fills) and not any(clashes):
            width = max(len(header), len(below))
            header += [""] * (width - len(header))
            below += [""] * (width - len(below))
            combined = [b if b.strip() else t for t, b in zip(header, below, strict=True)]
            return top, combined, 2
    return top, header, 1


# --- cell text ------------------------------------------------------------------------------


def cell_text(value: object) -> str:
    """An Excel cell as the text a clerk sees."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value.total_seconds() / 3600)
    return str(value)


def _footer_mask(table: pa.Table) -> np.ndarray:
    """Rows that are not data: all cells empty, or first non-empty cell a total/signature/note.

    Resolved column by column on the shrinking set of rows still blank so far, so a big table with
    its first column filled costs one pass over that column.
    """
    n = table.num_rows
    drop = np.zeros(n, dtype=bool)
    if table.num_columns == 0 or n == 0:
        return drop
    pending = np.arange(n)
    for column in table.columns:
        if pa.types.is_dictionary(column.type):  # read from text: flags per distinct value
            column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
            cells = pc.utf8_trim_whitespace(column.dictionary)
            blank_by_value = pc.equal(cells, "").to_numpy(zero_copy_only=False)
            footer_by_value = pc.match_substring_regex(cells, _FOOTER.pattern).to_numpy(
                zero_copy_only=False) & ~blank_by_value
            codes = column.indices.to_numpy()
            if len(pending) < n:
                codes = codes[pending]
            blank = blank_by_value[codes]
            drop[pending[footer_by_value[codes]]] = True
            pending = pending[blank]
            if len(pending) == 0:
                break
            continue
        cells = pc.utf8_trim_whitespace(column.take(pa.array(pending)) if len(pending) < n else column)
        blank = pc.equal(cells, "").to_numpy(zero_copy_only=False)
        filled = ~blank
        if filled.any():
            first = pc.filter(cells, pa.array(filled))
            footer = pc.match_substring_regex(first, _FOOTER.pattern).to_numpy(zero_copy_only=False)
            drop[pending[filled][footer]] = True
        pending = pending[blank]
        if len(pending) == 0:
            break
    drop[pending] = True  # blank in every column
    return drop


def _finish(
    file: str,
    sheet: str | None,
    headers: list[str],
    columns: list[pa.Array],
    row_numbers: np.ndarray,
    header_rows: tuple[int, ...],
) -> RawTable:
    names = [f"c{i}" for i in range(len(headers))]
    data = pa.table(columns, names=names) if columns else pa.table({})
    notices: list[str] = []
    drop = _footer_mask(data)
    if drop.any():
        dropped = row_numbers[drop]
        keep = ~drop
        data = data.filter(pa.array(keep))
        row_numbers = row_numbers[keep]
        shown = "、".join(str(r) for r in dropped[:8]) + ("…" if len(dropped) > 8 else "")
        notices.append(f"已跳过 {len(dropped)} 行空行或合计、签字、备注行（第 {shown} 行）")
    return RawTable(file, sheet, headers, data, row_numbers, header_rows, notices)


# --- text files -----------------------------------------------------------------------------


def _sniff_delimiter(line: str, suffix: str) -> str:
    if suffix == ".tsv":
        return "\t"
    return "\t" if line.count("\t") > line.count(",") else ","


def _first_records(text: str, delimiter: str, limit: int) -> list[list[str]]:
    # newline="" lets the csv module see a lone CR as a line end instead of failing on it
    reader = csv.reader(io.StringIO(text[: 256 * 1024], newline=""), delimiter=delimiter)
    records = []
    try:
        for record in reader:
            records.append(record)
            if len(records) >= limit:
                break
    except csv.Error as exc:
        raise ReadError(f"文件内容无法按表格读取（第 {reader.line_num} 行）：{exc}") from None
    return records


def _line_starts(text: str, count: int) -> list[int]:
    """Offsets where each of the first ``count`` lines starts (plus the end of the last one)."""
    starts = [0]
    while len(starts) <= count:
        nl = text.find("\n", starts[-1])
        if nl < 0:
            starts.append(len(text))
            break
        starts.append(nl + 1)
    return starts


def _line_of(text: str, snippet: str, start: int) -> tuple[int, int]:
    pos = text.find(snippet, start)
    if pos < 0:
        return -1, start
    return text.count("\n", 0, pos) + 1, pos + max(len(snippet), 1)


def _check_line_lengths(data: bytes) -> None:
    """Refuse a line longer than ``MAX_LINE_BYTES`` before decoding, in 64 MB blocks (a file
    without line breaks would otherwise be one record held several times over in memory)."""
    if len(data) <= MAX_LINE_BYTES:
        return
    # A line longer than MAX_LINE_BYTES covers a whole aligned block of half that size: when every
    # such block holds a line break (a memchr each), no line is too long.
    half = MAX_LINE_BYTES // 2
    if all(data.find(b"\n", i, i + half) >= 0 or data.find(b"\r", i, i + half) >= 0
           for i in range(0, len(data) - half + 1, half)):
        return
    view = np.frombuffer(data, dtype=np.uint8)
    block = 64 * 1024 * 1024
    last_break = -1  # offset of the last CR or LF seen
    for start in range(0, len(view), block):
        part = view[start : start + block]
        breaks = np.flatnonzero((part == 10) | (part == 13)) + start
        edges = np.concatenate(([last_break], breaks))
        lengths = np.diff(edges) - 1
        if len(lengths) and lengths.max() > MAX_LINE_BYTES:
            i = int(np.argmax(lengths))
            _too_long(data, int(edges[i]) + 1, int(lengths[i]))
        if len(breaks):
            last_break = int(breaks[-1])
        if start + len(part) - last_break - 1 > MAX_LINE_BYTES:
            _too_long(data, last_break + 1, start + len(part) - last_break - 1)


def _too_long(data: bytes, start: int, size: int) -> None:
    line = data.count(b"\n", 0, start) or data.count(b"\r", 0, start)
    raise ReadError(f"第 {line + 1} 行长达 {size / 1048576:,.1f} MB 以上，"
                    f"超过每行 {MAX_LINE_BYTES // 1048576} MB 的上限：文件可能不是表格文件，或者换行符丢失")


def _too_wide(line: int, columns: int) -> ReadError:
    return ReadError(f"第 {line} 行有 {columns:,} 列，超过上限 {MAX_COLUMNS:,} 列（Excel 的最大列数）："
                     "文件可能不是表格文件，或分隔符不对")


def read_text(name: str, data: bytes, known: set[str]) -> list[RawTable]:
    _check_line_lengths(data)
    fast = _read_text_fast(name, data, known)
    if fast is not None:
        return fast
    return _read_text_decoded(name, data, known)


# Enough bytes for the 256K characters the header search reads (a character takes at most 4).
_HEAD_BYTES = 4 * 256 * 1024 + 8
_PRINTABLE_ASCII = re.compile(rb"[!-~]")


def _head_lines_bytes(raw: bytes, count: int) -> list[int]:
    """``_line_starts`` on the bytes: LF is never part of a UTF-8 or GB18030 multibyte character,
    so the n-th line starts at the same place in the bytes as in the decoded text."""
    starts = [0]
    while len(starts) <= count:
        nl = raw.find(b"\n", starts[-1])
        if nl < 0:
            starts.append(len(raw))
            break
        starts.append(nl + 1)
    return starts


def _read_text_fast(name: str, data: bytes, known: set[str]) -> list[RawTable] | None:
    """``read_text`` without decoding the whole file: the rows are parsed on the bytes, and only
    each column's distinct values are decoded.

    UTF-8 and GB18030 never use the bytes of a delimiter, quote or line break inside a multibyte
    character, so the cells parsed from the bytes are the cells of the decoded text; decoding every
    cell and the lines above the data without error is decoding the whole file without error.
    Returns the same tables as the decoded path, or None whenever that is not certain (UTF-16, a
    cell or the head that does not decode, rows of another width, a file with no data below the
    header...): the caller then takes the decoded path, which gives the exact result or message.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    bom = data.startswith(b"\xef\xbb\xbf")
    if not bom:
        _refuse_binary(data)  # what decode() refuses first
    raw = data[3:] if bom else data
    starts_b = _head_lines_bytes(raw, HEADER_SCAN_ROWS + 2)
    head_size = max(starts_b[-1], _HEAD_BYTES)
    if head_size >= len(raw):  # a small file: decoded whole, exactly as the decoded path does
        text, encoding = decode(data)
        codec = "utf-8" if encoding.startswith("UTF-8") else "gb18030"
        validated = True
    else:
        text = None
        for codec in ("utf-8", "gb18030"):
            try:
                text = codecs.getincrementaldecoder(codec)().decode(raw[:head_size], final=False)
                break
            except UnicodeDecodeError:
                if bom:
                    return None
        if text is None:
            return None
        encoding = ("UTF-8（带 BOM）" if bom else "UTF-8") if codec == "utf-8" else "GB18030/GBK"
        validated = False
    suffix = PurePath(name).suffix.lower()
    starts, head_lines, delimiter = _head(text, suffix)
    for number, line in enumerate(head_lines, start=1):
        if line.count(delimiter) >= MAX_COLUMNS:
            if not validated:
                return None  # the decoded path may refuse the encoding first
            raise _too_wide(number, line.count(delimiter) + 1)
    sample = _first_records(text, delimiter, HEADER_SCAN_ROWS) if validated else _try_first_records(
        text, delimiter)
    if sample is None:
        return None
    found = find_header(sample, known)
    if found is None:
        return [] if validated else None
    top, headers, depth = found
    width = len(headers)
    first_data_line = top + depth + 1
    body = memoryview(raw)[starts_b[top + depth]:] if top + depth < len(starts_b) else memoryview(b"")
    if not _PRINTABLE_ASCII.search(body):
        return None  # nothing, or only blanks, below the header: the decoded path says so
    column_type = pa.dictionary(pa.int32(), pa.binary())
    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(body)),  # no copy of the bytes
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=1 << 22),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": column_type for i in range(width)},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:  # rows of another width (footers), a row longer than a block, quotes
        return None
    if table.num_columns != width:
        return None
    table = table.unify_dictionaries()
    columns = []
    try:
        for column in table.columns:
            if column.num_chunks == 0:
                columns.append(pa.array([], type=pa.string()))
                continue
            values = _transcode(column.chunk(0).dictionary, codec)
            columns.append(pa.chunked_array(
                [pa.DictionaryArray.from_arrays(chunk.indices, values) for chunk in column.chunks],
                type=pa.dictionary(pa.int32(), pa.string())))
    except UnicodeDecodeError:
        return None
    lines = np.arange(first_data_line, first_data_line + table.num_rows)
    raw_table = _finish(name, None, headers, columns, lines, tuple(range(top + 1, top + depth + 1)))
    raw_table.notices.insert(0, f"文件编码：{encoding}；分隔符：{'制表符' if delimiter == chr(9) else '逗号'}")
    return [raw_table]


def _try_first_records(text: str, delimiter: str) -> list[list[str]] | None:
    try:
        return _first_records(text, delimiter, HEADER_SCAN_ROWS)
    except ReadError:
        return None  # the decoded path refuses the encoding or says where the parser failed


def _transcode(values: pa.Array, codec: str) -> pa.Array:
    """Distinct cell values (binary, no nulls) decoded from ``codec`` into a string array, strictly:
    ``UnicodeDecodeError`` if any value is not valid text in it."""
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[values.offset : values.offset + len(values) + 1]
    data_buffer = values.buffers()[2]
    blob = data_buffer.to_pybytes()[offsets[0] : offsets[-1]] if data_buffer is not None else b""
    if blob.isascii():  # the same text in UTF-8 and GB18030
        return values.cast(pa.string())
    if b"\x00" in blob or len(values) < 64:
        return pa.array([v.decode(codec) for v in values.to_pylist()], type=pa.string())
    # All values at once: joined with NUL (not in any value, never part of a multibyte character),
    # decoded, encoded as UTF-8, and split again at the NULs.
    n = len(values)
    ends = offsets[1:].astype(np.int64) - offsets[0]
    joined = np.empty(len(blob) + n, dtype=np.uint8)
    separators = ends + np.arange(n)
    keep = np.ones(len(joined), dtype=bool)
    keep[separators] = False
    joined[keep] = np.frombuffer(blob, dtype=np.uint8)
    joined[separators] = 0
    utf8 = np.frombuffer(joined.tobytes().decode(codec).encode("utf-8"), dtype=np.uint8)
    nuls = np.flatnonzero(utf8 == 0)
    new_offsets = np.concatenate(([0], nuls - np.arange(n))).astype(np.int32)
    text = utf8[utf8 != 0]
    return pa.StringArray.from_buffers(n, pa.py_buffer(new_offsets), pa.py_buffer(text))


def _head(text: str, suffix: str) -> tuple[list[int], list[str], str]:
    """Where the first lines of a text file start, the lines, and the file's delimiter. Title lines
    have one field, so the delimiter is picked from the busiest of the first lines."""
    starts = _line_starts(text, HEADER_SCAN_ROWS + 2)
    head_lines = [text[a:b] for a, b in zip(starts, starts[1:], strict=False)] or [text]
    return starts, head_lines, _sniff_delimiter(max(head_lines, key=len), suffix)


def _read_text_decoded(name: str, data: bytes, known: set[str]) -> list[RawTable]:
    text, encoding = decode(data)
    suffix = PurePath(name).suffix.lower()
    starts, head_lines, delimiter = _head(text, suffix)
    for number, line in enumerate(head_lines, start=1):
        if line.count(delimiter) >= MAX_COLUMNS:
            raise _too_wide(number, line.count(delimiter) + 1)
    sample = _first_records(text, delimiter, HEADER_SCAN_ROWS)
    found = find_header(sample, known)
    if found is None:
        return []
    top, headers, depth = found
    width = len(headers)
    first_data_line = top + depth + 1  # 1-based line number of the first data row
    body = text[starts[top + depth] :] if top + depth < len(starts) else ""
    if not body.strip():  # a header and nothing below it
        empty = [pa.array([], type=pa.string()) for _ in headers]
        raw = _finish(name, None, headers, empty, np.array([], dtype=np.int64),
                      tuple(range(top + 1, top + depth + 1)))
        raw.notices.insert(0, f"文件编码：{encoding}")
        return [raw]
    invalid: list[str] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        invalid.append(row.text)
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(body.encode("utf-8")),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, invalid_row_handler=on_invalid, ignore_empty_lines=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(width)},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise ReadError(f"文件内容无法按表格读取（可能有未配对的引号，或文件已损坏）：{exc}") from exc
    if table.num_columns != width:
        # The header is shorter or longer than the data rows: read exactly, row by row.
        return [_read_text_exact(name, body, delimiter, headers, top, depth, encoding)]
    odd = [t for t in invalid if not _is_footer_text(t, delimiter)]
    if odd:
        return [_read_text_exact(name, body, delimiter, headers, top, depth, encoding)]
    n_lines = table.num_rows + len(invalid)
    lines = np.arange(first_data_line, first_data_line + n_lines)
    if invalid:
        skipped, start = [], 0
        for snippet in invalid:
            line, start = _line_of(body, snippet, start)
            if line > 0:
                skipped.append(first_data_line + line - 1)
        lines = lines[~np.isin(lines, skipped)][: table.num_rows]
    raw = _finish(
        name, None, headers, list(table.columns), lines, tuple(range(top + 1, top + depth + 1))
    )
    if invalid:
        raw.notices.append(f"已跳过 {len(invalid)} 行表尾说明行")
    raw.notices.insert(0, f"文件编码：{encoding}；分隔符：{'制表符' if delimiter == chr(9) else '逗号'}")
    return [raw]


def _is_footer_text(text: str, delimiter: str) -> bool:
    first = next((c.strip() for c in text.split(delimiter) if c.strip()), "")
    return not first or bool(_FOOTER.match(nfkc(first)))


def _read_text_exact(
    name: str, body: str, delimiter: str, headers: list[str], top: int, depth: int, encoding: str
) -> RawTable:
    """Slow exact path for ragged files (rows shorter or longer than the header)."""
    width = len(headers)
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter)
    try:
        records = list(reader)
    except csv.Error as exc:
        raise ReadError(f"文件内容无法按表格读取（表头后第 {reader.line_num} 行）：{exc}") from None
    widest = max((len(r) for r in records), default=width)
    if widest > MAX_COLUMNS:
        at = next(i for i, r in enumerate(records) if len(r) == widest)
        raise _too_wide(top + depth + 1 + at, widest)
    extra = widest - width
    if extra > 0:
        headers = headers + [""] * extra
        width += extra
    padded = [r + [""] * (width - len(r)) for r in records]
    columns = [pa.array(list(col), type=pa.string()) for col in zip(*padded, strict=True)] if padded else [
        pa.array([], type=pa.string()) for _ in range(width)
    ]
    first = top + depth + 1
    lines = np.arange(first, first + len(records))
    raw = _finish(name, None, headers, columns, lines, tuple(range(top + 1, top + depth + 1)))
    raw.notices.insert(0, f"文件编码：{encoding}；各行列数不一，已逐行读取")
    return raw


# --- workbooks ------------------------------------------------------------------------------


_REF_LETTERS = re.compile(rb' r="([A-Z]+)[0-9]')
_REF_ROWS = re.compile(rb' r="[A-Z]+([0-9]+)"')
_ROW_REF = re.compile(rb'<(?:\w+:)?row\s[^>]*?\br="([0-9]{1,10})"')
_ANY_CELL = re.compile(rb"<(?:\w+:)?c[\s>/]")
_ROW_OR_CELL = re.compile(rb"<(?:\w+:)?(row|c)[\s>/]")
# A cell holding a formula and no stored result (a file written by a program, never opened in
# Excel): calamine would read it as empty. Its formula text is kept instead, never evaluated.
_UNCACHED_FORMULA = re.compile(
    rb'<(?:\w+:)?c\s[^>]*?\br="([A-Z]{1,7})([0-9]{1,10})"[^>]*>'
    rb"(?:<(?:\w+:)?f\b[^>]*/>|<(?:\w+:)?f\b[^>]*>([^<]*)</(?:\w+:)?f>)"
    rb"(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?</(?:\w+:)?c>"
)
_BOMB = "（可能是「压缩炸弹」或已损坏的文件）"


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


@dataclass
class _SheetScan:
    rows: int = 0  # highest row number (1-based) of any cell
    columns: int = 0  # highest column number (1-based) of any cell
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, column), 0-based


def _unpacked(chunk: bytes, budget: list[int]) -> bytes:
    budget[0] -= len(chunk)
    if budget[0] < 0:
        raise ReadError(f"Excel 文件解压后超过 {MAX_UNCOMPRESSED // 1024 ** 2} MB 的上限{_BOMB}")
    return chunk


def _scan_sheet(stream, part: str, budget: list[int]) -> _SheetScan:
    """One pass over a worksheet's XML, in chunks: how far its cells reach, and formulas without a
    stored result. ``budget`` holds the bytes still allowed to unpack (shared by all parts)."""
    scan = _SheetScan()
    tail = b""
    rows_without_ref = 0
    widest_unplaced = in_row = 0  # cells without a position: the reader puts them side by side
    prefixed = None  # elements written with a namespace prefix (<x:c>): rare, slower counting
    while chunk := _unpacked(stream.read(1 << 22), budget):
        if prefixed is None:
            prefixed = re.search(rb"<\w+:worksheet[\s>]", chunk[:4096]) is not None
        data = tail + chunk if tail else chunk
        cut = data.rfind(b">") + 1
        data, tail = data[:cut], data[cut:]
        if len(tail) > 1 << 20:
            raise ReadError(f"工作表数据「{part}」不是有效的 XML{_BOMB}")
        # Cell references only (`` r="F12"``; a row's ``r`` has no letters): one pass for the
        # columns, one for the rows, no Python loop per cell.
        letters = _REF_LETTERS.findall(data)
        if letters:
            widest = max(set(letters), key=lambda c: (len(c), c))
            scan.columns = max(scan.columns, _column_number(widest))
            scan.rows = max(scan.rows, max(map(int, _REF_ROWS.findall(data))))
        cells = len(_ANY_CELL.findall(data)) if prefixed else data.count(b"<c ") + data.count(b"<c>")
        if cells > len(letters):  # rare: cells without a position, counted per row exactly
            row_refs = _ROW_REF.findall(data)
            for row in row_refs:
                scan.rows = max(scan.rows, int(row))
            row_tags = (len(_ROW_OR_CELL.findall(data)) - cells if prefixed
                        else data.count(b"<row ") + data.count(b"<row>"))
            rows_without_ref += max(row_tags - len(row_refs), 0)
            for match in _ROW_OR_CELL.finditer(data):
                in_row = 0 if match.group(1) == b"row" else in_row + 1
                widest_unplaced = max(widest_unplaced, in_row)
        if (b":f" in data) if prefixed else (b"<f" in data):
            for column, row, formula in _UNCACHED_FORMULA.findall(data):
                if len(scan.formulas) < 100_000:
                    text = formula.decode("utf-8", "replace").strip()
                    key = (int(row) - 1, _column_number(column) - 1)
                    scan.formulas[key] = "=" + _xml_unescape(text) if text else "=（共享公式）"
    scan.rows += rows_without_ref
    scan.columns += widest_unplaced
    return scan


def _xml_unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


def _sheet_parts(book: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part name -> sheet name, from the workbook and its relationships."""
    def root(part: str):
        return ET.fromstring(book.read(part)) if part in book.NameToInfo else None

    workbook, rels = root("xl/workbook.xml"), root("xl/_rels/workbook.xml.rels")
    if workbook is None or rels is None:
        return {}
    targets = {}
    for rel in rels:
        target = rel.get("Target") or ""
        target = target.lstrip("/") if target.startswith("/") else "xl/" + target
        targets[rel.get("Id")] = target
    parts = {}
    for element in workbook.iter():
        if element.tag.endswith("}sheet") or element.tag == "sheet":
            rid = next((v for k, v in element.attrib.items() if k.endswith("}id")), None)
            if rid in targets:
                parts[targets[rid]] = element.get("name") or ""
    return parts


_SST_TAG = re.compile(rb"<(?:\w+:)?sst\b[^>]*>")
_UNIQUE_COUNT = re.compile(rb'\buniqueCount="([0-9]+)"')


def _check_shared_strings(head: bytes, size: int) -> None:
    """calamine reserves room for the number of distinct strings the shared-string table declares
    (``uniqueCount``): a 1 KB file declaring four billion makes it ask for 96 GB and abort the
    process. Each string takes at least ``<si></si>`` (9 bytes), so more than size / 9 is a lie.
    (``count``, the number of cells using them, may be far larger and is not used that way.)"""
    tag = _SST_TAG.search(head[:4096])
    declared = _UNIQUE_COUNT.search(tag.group(0)) if tag else None
    if declared and int(declared.group(1)) > max(size // 9, 1000):
        raise ReadError(f"Excel 文件的共享字符串表声称有 {int(declared.group(1)):,} 个不同的字符串，"
                        f"但只有 {size:,} 字节：文件已损坏或被篡改。请重新导出，或用 Excel 打开后另存为 .xlsx 再上传")


def inspect_xlsx(data: bytes) -> dict[str, _SheetScan]:
    """Check an .xlsx (a zip) before calamine unpacks it, and scan its sheets.

    Refuses (``ReadError``) a damaged or truncated zip, too many parts, parts that unpack to more
    than ``MAX_UNCOMPRESSED`` in all or more than ``MAX_RATIO`` times their packed size (zip
    bombs), and sheets whose cells span more than ``MAX_COLUMNS`` columns or ``MAX_CELLS`` cells
    (calamine would allocate the whole grid). Unpacking goes through ``zipfile``, which stops at
    each part's declared size and checks its CRC, so a part that lies about its size fails here.
    Returns, per sheet name, its extent and the formulas that have no stored result.
    """
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise ReadError("Excel 文件不完整或已损坏：.xlsx 文件是一个压缩包，这个压缩包的目录缺失或被截断"
                        "（常见于导出、下载或复制中断）。请重新导出或重新复制完整的文件后再上传") from exc
    with book:
        infos = book.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise ReadError(f"Excel 文件内含 {len(infos)} 个部件，超过上限 {MAX_ZIP_ENTRIES} 个{_BOMB}")
        declared = sum(i.file_size for i in infos)
        if declared > MAX_UNCOMPRESSED:
            raise ReadError(f"Excel 文件解压后约 {declared / 1024 ** 2:,.0f} MB，超过上限 "
                            f"{MAX_UNCOMPRESSED // 1024 ** 2} MB{_BOMB}")
        for info in infos:
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise ReadError(
                    f"Excel 文件中的「{info.filename}」压缩了 {info.file_size / max(info.compress_size, 1):,.0f} 倍"
                    f"（{info.compress_size:,} 字节解压后为 {info.file_size / 1024 ** 2:,.0f} MB），"
                    f"超过上限 {MAX_RATIO} 倍{_BOMB}")
        try:
            parts = _sheet_parts(book)
            budget = [MAX_UNCOMPRESSED]
            scans = {}
            for info in infos:
                if info.filename in parts or (info.filename.startswith("xl/worksheets/")
                                              and info.filename.endswith(".xml")):
                    with book.open(info) as stream:
                        scan = _scan_sheet(stream, info.filename, budget)
                    sheet = parts.get(info.filename, info.filename)
                    scans[sheet] = scan
                    if scan.columns > MAX_COLUMNS:
                        raise ReadError(f"工作表「{sheet}」有 {scan.columns:,} 列，超过上限 {MAX_COLUMNS:,} 列"
                                        "（Excel 的最大列数）：文件可能已损坏或被篡改")
                    if scan.rows * scan.columns > MAX_CELLS:
                        raise ReadError(
                            f"工作表「{sheet}」的单元格范围达 {scan.rows:,} 行 × {scan.columns:,} 列，"
                            f"超过上限 {MAX_CELLS:,} 个单元格：请删除多余的行列（或分成几个文件）后再上传")
                else:
                    with book.open(info) as stream:  # unpack (CRC and size checked), discard
                        first = _unpacked(stream.read(1 << 22), budget)
                        _check_shared_strings(first, info.file_size)  # whatever the part's name
                        while _unpacked(stream.read(1 << 22), budget):
                            pass
        except ReadError:
            raise
        except ET.ParseError as exc:  # also entity bombs: expat refuses amplified input
            raise ReadError("Excel 文件的内部结构（XML）有误，无法读取：文件可能已损坏或被篡改。"
                            "请重新导出，或用 Excel 打开后另存为 .xlsx 再上传") from exc
        except Exception as exc:  # zipfile: bad CRC, truncated part, unsupported compression
            raise ReadError(f"Excel 文件已损坏，无法解压（{type(exc).__name__}）："
                            "请重新导出或重新复制完整的文件后再上传") from exc
    return scans


def read_workbook(name: str, data: bytes, known: set[str]) -> list[RawTable]:
    kind = sniff(data)
    scans = inspect_xlsx(data) if kind == "xlsx" else {}
    # calamine runs in a child process with a memory cap (analytics/excel_child.py): .xls always,
    # .xlsx too unless ISOLATE_XLSX is turned off (the checks above catch every crash found so far).
    sheets = _read_isolated(data) if kind == "ole" or ISOLATE_XLSX else _read_in_process(data)
    tables = []
    for sheet_name, rows in sheets:
        scan = scans.get(sheet_name)
        if scan and scan.formulas:
            _put_formulas(rows, scan.formulas)
        table = _sheet_table(name, sheet_name, rows, known)
        if table is not None:
            tables.append(table)
        else:
            tables.append(RawTable(name, sheet_name, [], pa.table({}), np.array([], dtype=np.int64), ()))
    return tables


_CANNOT_OPEN = "无法打开 Excel 文件（文件可能已损坏、加密或不是 Excel 格式）"


def _too_many_cells(sheet: str, height: int, width: int) -> ReadError:
    return ReadError(f"工作表「{sheet}」的单元格范围达 {height:,} 行 × {width:,} 列，"
                     f"超过上限 {MAX_CELLS:,} 个单元格或 {MAX_COLUMNS:,} 列")


def _read_isolated(data: bytes) -> list[tuple[str, list[list[object]]]]:
    from analytics.excel_child import ChildFailed, read_isolated

    try:
        status, detail = read_isolated(data, MAX_CELLS, MAX_COLUMNS)
    except ChildFailed as exc:
        raise ReadError(f"{_CANNOT_OPEN}：{exc.args[0]}") from None
    if status == "open":
        raise ReadError(f"{_CANNOT_OPEN}：{detail}")
    if status == "size":
        raise _too_many_cells(*detail)
    if status == "sheet":
        raise ReadError(f"无法读取工作表「{detail[0]}」：{detail[1]}")
    return detail


def _read_in_process(data: bytes) -> list[tuple[str, list[list[object]]]]:
    import python_calamine

    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises several unrelated types for damaged files
        raise ReadError(f"{_CANNOT_OPEN}：{exc}") from exc
    sheets = []
    for sheet_name in book.sheet_names:
        try:
            sheet = book.get_sheet_by_name(sheet_name)
            if sheet.total_width > MAX_COLUMNS or sheet.total_width * sheet.total_height > MAX_CELLS:
                raise _too_many_cells(sheet_name, sheet.total_height, sheet.total_width)
            sheets.append((sheet_name, sheet.to_python(skip_empty_area=False)))
        except ReadError:
            raise
        except Exception as exc:
            raise ReadError(f"无法读取工作表「{sheet_name}」：{exc}") from exc
    return sheets


def _put_formulas(rows: list[list[object]], formulas: dict[tuple[int, int], str]) -> None:
    """Cells whose formula has no stored result read as the formula text (never evaluated): a text
    column keeps it as text, a number or grade column refuses it with the cell's row and column."""
    for (r, c), text in formulas.items():
        if r < len(rows):
            row = rows[r]
            if c >= len(row):
                row.extend([""] * (c + 1 - len(row)))
            if row[c] in ("", None):
                row[c] = text


def _sheet_table(
    name: str, sheet: str, rows: list[list[object]], known: set[str]
) -> RawTable | None:
    head = [[cell_text(c) for c in r] for r in rows[:HEADER_SCAN_ROWS]]
    found = find_header(head, known)
    if found is None:
        return None
    top, headers, depth = found
    width = len(headers)
    body = rows[top + depth :]
    columns = []
    for i in range(width):
        columns.append(pa.array([cell_text(r[i]) if i < len(r) else "" for r in body], type=pa.string()))
    lines = np.arange(top + depth + 1, top + depth + 1 + len(body))
    return _finish(name, sheet, headers, columns, lines, tuple(range(top + 1, top + depth + 1)))


# --- what the bytes are ---------------------------------------------------------------------

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "xlsx"), (b"PK\x05\x06", "xlsx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),
    (b"%PDF", "PDF 文档"), (b"\x89PNG\r\n\x1a\n", "PNG 图片"), (b"\xff\xd8\xff", "JPEG 图片"),
    (b"GIF87a", "GIF 图片"), (b"GIF89a", "GIF 图片"),
    (b"Rar!", "RAR 压缩包"), (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"), (b"\x1f\x8b", "gzip 压缩包"),
    (b"\x7fELF", "Linux 程序"),
)  # two-letter signatures (BM, MZ) are left to the binary check: a CSV may start with those letters
_HTML = re.compile(rb"^\s*<(!doctype\s+html|html|table|\?xml[^>]*>\s*<\?mso-application)", re.I)


def sniff(data: bytes) -> str:
    """What the first bytes say the file is: ``xlsx`` (a zip), ``ole`` (old Excel .xls, or an
    encrypted workbook), ``html``, ``text``, or the Chinese name of another format."""
    head = data[:8]
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if _HTML.match(data[:512].lstrip(b"\xef\xbb\xbf")):
        return "html"
    return "text"


def _check_content(name: str, suffix: str, data: bytes) -> None:
    """Refuse a file whose content does not match its extension, before any parser sees it."""
    if not data:
        raise ReadError("文件是空的（0 字节）")
    kind = sniff(data)
    if kind == "html":
        raise ReadError("内容是网页（HTML/XML）格式，不是真正的 Excel 或 CSV 文件（有些系统导出的 .xls 就是这样）："
                        "请用 Excel 打开后「另存为」.xlsx 再上传")
    if suffix in TEXT_EXTENSIONS:
        if kind == "xlsx":
            raise ReadError(f"扩展名是 {suffix}，但内容是 Excel 工作簿（.xlsx）：请把扩展名改为 .xlsx 后重新上传")
        if kind == "ole":
            raise ReadError(f"扩展名是 {suffix}，但内容是旧版 Excel 文件（.xls）或加密的 Excel 文件："
                            "请把扩展名改为 .xls，或在 Excel 中取消密码后另存为 .xlsx 再上传")
        if kind != "text":
            raise ReadError(f"扩展名是 {suffix}，但内容是{kind}，不是表格文件：请上传 Excel 或 CSV 文件")
    else:
        if kind == "text":
            if not _looks_like_text(data[:65536]):
                raise ReadError("无法打开 Excel 文件：内容不是 Excel 格式（文件可能已损坏，或不是 Excel 文件）")
            raise ReadError(f"扩展名是 {suffix}，但内容是文本（CSV 等）：请把扩展名改为 .csv 后重新上传")
        if kind not in ("xlsx", "ole"):
            raise ReadError(f"扩展名是 {suffix}，但内容是{kind}，不是 Excel 文件：请上传 Excel 或 CSV 文件")


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return True
    try:
        _refuse_binary(head)
    except ReadError:
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            head.decode(encoding)
            return True
        except UnicodeDecodeError as exc:
            if exc.start >= len(head) - 4:  # the head may end inside a character
                return True
    return False


def read_file(name: str, data: bytes, known: Iterable[str]) -> list[RawTable]:
    """Every table in one export. A sheet without a recognisable header comes back with no
    headers, so the caller can say it was skipped."""
    known = set(known)
    suffix = PurePath(name).suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        raise ReadError(
            f"不支持的文件类型「{suffix or '无扩展名'}」：请上传 .xlsx、.xls、.csv、.tsv 或 .txt 文件"
        )
    _check_content(name, suffix, data)
    if suffix in EXCEL_EXTENSIONS:
        return read_workbook(name, data, known)
    tables = read_text(name, data, known)
    return tables or [RawTable(name, None, [], pa.table({}), np.array([], dtype=np.int64), ())]
