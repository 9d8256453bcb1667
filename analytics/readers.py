"""Reading export files into raw tables: encoding, header row, two-row headers, footers.

A ``RawTable`` holds every data cell as text exactly as written (Excel numbers and dates turned
into text), the header as written, and the spreadsheet row number of every data row. Nothing here
knows what the columns mean beyond recognising header words (``known_headers``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
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
    data: pa.Table  # one string column per header, named c0..cN; "" or null for empty
    row_numbers: np.ndarray  # spreadsheet row number of each data row
    header_rows: tuple[int, ...]  # spreadsheet row numbers holding the header
    notices: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.file}｜{self.sheet}" if self.sheet else self.file


# --- encodings ------------------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str]:
    """Decode a text export: BOM first, then strict UTF-8, then strict GB18030."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "UTF-8（带 BOM）"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "UTF-16"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "GB18030/GBK"
    except UnicodeDecodeError:
        pass
    raise ReadError("无法识别文件编码：请另存为 UTF-8 或 GBK 编码的 CSV，或直接上传 Excel 文件")


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
    reader = csv.reader(io.StringIO(text[: 256 * 1024]), delimiter=delimiter)
    records = []
    for record in reader:
        records.append(record)
        if len(records) >= limit:
            break
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


def read_text(name: str, data: bytes, known: set[str]) -> list[RawTable]:
    text, encoding = decode(data)
    suffix = PurePath(name).suffix.lower()
    starts = _line_starts(text, HEADER_SCAN_ROWS + 2)
    head_lines = [text[a:b] for a, b in zip(starts, starts[1:], strict=False)] or [text]
    # Title lines have one field; pick the delimiter from the busiest of the first lines.
    delimiter = _sniff_delimiter(max(head_lines, key=len), suffix)
    sample = _first_records(text, delimiter, HEADER_SCAN_ROWS)
    found = find_header(sample, known)
    if found is None:
        return []
    top, headers, depth = found
    width = len(headers)
    first_data_line = top + depth + 1  # 1-based line number of the first data row
    body = text[starts[top + depth] :] if top + depth < len(starts) else ""
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
        raise ReadError(f"文件内容无法按表格读取：{exc}") from exc
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
    records = list(csv.reader(io.StringIO(body), delimiter=delimiter))
    extra = max((len(r) for r in records), default=width) - width
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


def read_workbook(name: str, data: bytes, known: set[str]) -> list[RawTable]:
    import python_calamine

    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises several unrelated types for damaged files
        raise ReadError(f"无法打开 Excel 文件（文件可能已损坏、加密或不是 Excel 格式）：{exc}") from exc
    tables = []
    for sheet_name in book.sheet_names:
        try:
            rows = book.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
        except Exception as exc:
            raise ReadError(f"无法读取工作表「{sheet_name}」：{exc}") from exc
        table = _sheet_table(name, sheet_name, rows, known)
        if table is not None:
            tables.append(table)
        else:
            tables.append(RawTable(name, sheet_name, [], pa.table({}), np.array([], dtype=np.int64), ()))
    return tables


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


def read_file(name: str, data: bytes, known: Iterable[str]) -> list[RawTable]:
    """Every table in one export. A sheet without a recognisable header comes back with no
    headers, so the caller can say it was skipped."""
    known = set(known)
    suffix = PurePath(name).suffix.lower()
    if suffix in EXCEL_EXTENSIONS:
        return read_workbook(name, data, known)
    if suffix in TEXT_EXTENSIONS:
        tables = read_text(name, data, known)
        return tables or [RawTable(name, None, [], pa.table({}), np.array([], dtype=np.int64), ())]
    raise ReadError(
        f"不支持的文件类型「{suffix or '无扩展名'}」：请上传 .xlsx、.xls、.csv、.tsv 或 .txt 文件"
    )
