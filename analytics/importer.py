"""Importing export files into the store: all or nothing per file, with undo.

The flow for one file: read its tables (``readers``), detect each table's kind (``kinds``), parse
every column over its distinct values (``normalize.map_distinct``), then, inside one transaction,
resolve people (once per distinct person key), check duplicates, day totals (for logs on integer
codes, with SQL saying where when something is wrong) and conflicts, and write. The parsed rows
stay in Arrow, registered on the cursor for the whole load: ``inc`` is a view over them. Any error anywhere in
the file rolls the whole file back; the caller gets every error with its spreadsheet row, the header
as written, the value and the reason.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePath

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analytics import normalize as nz
from analytics import store
from analytics.config import Settings
from analytics.kinds import (
    KINDS,
    KNOWN_HEADERS,
    LOAD_ORDER,
    WITHIN_FILE_KEY,
    Kind,
    Mapping,
    detect_kind,
    map_columns,
    missing_required,
)
from analytics.readers import RawTable, ReadError, read_file

# One writer at a time per process: DuckDB would otherwise fail one of two concurrent commits.
WRITE_LOCK = threading.Lock()
PREVIEW_ROWS = 20
PERSON_ROLES = ("person_no", "id_card", "unit", "name")
# An unexpected failure inside the file's transaction: rolled back, reported, logged for the admin.
INTERNAL_ERROR = "导入时程序内部出错，文件未导入，数据库未改动：请把文件和本条信息交给系统管理员"
log = logging.getLogger(__name__)
# A cell holding a formula (text starting with "=") where a number, date or grade is expected.
# Formulas are never evaluated; in a text column they are stored as the text they are.
FORMULA_REASON = ("单元格内容是公式，导入时不计算公式：请在 Excel 中复制该列，"
                  "用「选择性粘贴 → 数值」粘贴后再导入")


@dataclass
class Issue:
    """One problem in a file: spreadsheet row, header as written, value, reason (Chinese)."""

    row: int | None
    column: str | None
    value: str | None
    reason: str


@dataclass
class TableResult:
    file: str
    sheet: str | None
    kind: str | None
    status: str  # loaded | unchanged | refused | skipped
    rows: int = 0
    replaced: int = 0
    errors: list[Issue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    batch_id: int | None = None
    preview: pd.DataFrame | None = None

    def as_json(self) -> dict:
        return {
            "file": self.file,
            "sheet": self.sheet,
            "kind": self.kind,
            "status": self.status,
            "rows": self.rows,
            "replaced": self.replaced,
            "batch_id": self.batch_id,
            "errors": [asdict(e) for e in self.errors],
            "warnings": list(self.warnings),
        }


class UndoError(Exception):
    """An undo that cannot be done; the message is for the user."""


def errors_frame(results: Iterable[TableResult]) -> pd.DataFrame:
    """All errors of some results as one table with Chinese headings (for display and download)."""
    rows = [
        {"文件": r.file, "工作表": r.sheet or "", "行号": e.row, "列": e.column or "",
         "值": e.value or "", "原因": e.reason}
        for r in results for e in r.errors
    ]
    return pd.DataFrame(rows, columns=["文件", "工作表", "行号", "列", "值", "原因"])


# --- public entry points --------------------------------------------------------------------


def import_files(
    con: duckdb.DuckDBPyConnection,
    sources: Sequence[str | Path | tuple[str, bytes]],
    settings: Settings,
    *,
    kind: str | None = None,
    replace: bool = False,
    user: str | None = None,
    dry_run: bool = False,
    progress: Callable[[float, str], None] | None = None,
) -> list[TableResult]:
    """Import several files; each file is its own all-or-nothing unit.

    ``sources`` are paths or (file name, bytes) pairs (uploads). Files are taken in an order that
    loads rosters before results, whatever order they are given in.
    """
    limit = settings.limits.max_file_mb * 1024 * 1024
    loaded = [_load_source(s, limit) for s in sources]
    loaded.sort(key=lambda item: _file_rank(item[0]))
    results: list[TableResult] = []
    for i, (name, data) in enumerate(loaded):
        if progress:
            progress(i / max(len(loaded), 1), f"正在导入 {name}（{i + 1}/{len(loaded)}）")
        if isinstance(data, _Unread):
            results.append(_refused(name, None, kind, data.reason))
            continue
        results.extend(
            import_file(con, name, data, settings, kind=kind, replace=replace, user=user,
                        dry_run=dry_run)
        )
    if progress:
        progress(1.0, "完成")
    return results


@dataclass
class _Unread:
    reason: str  # why the file was not read (Chinese)


def _load_source(source: str | Path | tuple[str, bytes], limit: int) -> tuple[str, bytes | _Unread]:
    """A file's name and bytes; a file over the size limit is not read at all."""
    if isinstance(source, tuple):
        return source
    path = Path(source)
    try:
        size = path.stat().st_size
        if size > limit:
            return path.name, _Unread(_too_big(path.name, size, limit // (1024 * 1024)))
        return path.name, path.read_bytes()
    except OSError as exc:
        return path.name, _Unread(f"文件「{path.name}」无法读取（{exc.strerror or type(exc).__name__}）："
                                  "请检查文件是否存在、是否有读取权限")


def _too_big(name: str, size: int, limit_mb: int) -> str:
    return (f"文件「{name}」大小 {size / 1048576:,.1f} MB，超过上限 {limit_mb} MB，"
            "未读取、未导入（上限可在配置文件 [import] max_file_mb 中调整；也可把数据分成几个文件）")


def _file_rank(name: str) -> int:
    for rank, kind in enumerate(LOAD_ORDER):
        if any(h in name for h in KINDS[kind].name_hints[:1]):
            return rank
    return len(LOAD_ORDER)


def import_file(
    con: duckdb.DuckDBPyConnection,
    name: str,
    data: bytes,
    settings: Settings,
    *,
    kind: str | None = None,
    replace: bool = False,
    user: str | None = None,
    dry_run: bool = False,
) -> list[TableResult]:
    name = PurePath(name).name
    limit = settings.limits.max_file_mb * 1024 * 1024
    if len(data) > limit:
        return [_refused(name, None, kind, _too_big(name, len(data), settings.limits.max_file_mb))]
    if kind is not None and kind not in KINDS:
        return [_refused(name, None, None, f"未知的数据类型「{kind}」，可选：{'、'.join(KINDS)}")]
    digest = hashlib.sha256(data).hexdigest()
    cur = con.cursor()
    try:
        same = _same_file_batches(cur, digest)
        if same:
            return same
        try:
            tables = read_file(name, data, KNOWN_HEADERS)
        except ReadError as exc:
            return [_refused(name, None, kind, f"文件「{name}」：{exc}")]
        with WRITE_LOCK:
            try:
                return _import_tables(cur, name, digest, tables, settings, kind, replace,
                                      user or _default_user(), dry_run)
            except Exception as exc:  # a bug, not the file's fault: rolled back, said plainly
                log.exception("import of %s failed", name)
                return [_refused(name, None, kind, f"文件「{name}」：{INTERNAL_ERROR}（{type(exc).__name__}）")]
    finally:
        cur.close()


def _default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def _refused(name: str, sheet: str | None, kind: str | None, reason: str) -> TableResult:
    return TableResult(name, sheet, kind, "refused", errors=[Issue(None, None, None, reason)])


def _same_file_batches(cur: duckdb.DuckDBPyConnection, digest: str) -> list[TableResult]:
    rows = cur.execute(
        """
        SELECT file_name, sheet, kind, batch_id, imported_at
        FROM import_batch
        WHERE content_hash = ? AND undone_at IS NULL
        ORDER BY batch_id
        """,
        [digest],
    ).fetchall()
    return [
        TableResult(
            file, sheet, kind, "unchanged", batch_id=batch,
            warnings=[f"与批次 {batch}（{at:%Y-%m-%d %H:%M}）导入的文件完全相同，未做任何改动"],
        )
        for file, sheet, kind, batch, at in rows
    ]


# --- one file, one transaction --------------------------------------------------------------


@dataclass
class _Work:
    raw: RawTable
    kind: Kind | None
    result: TableResult


def _import_tables(
    cur: duckdb.DuckDBPyConnection,
    name: str,
    digest: str,
    tables: list[RawTable],
    settings: Settings,
    forced_kind: str | None,
    replace: bool,
    user: str,
    dry_run: bool,
) -> list[TableResult]:
    work = [_classify(raw, forced_kind) for raw in tables]
    usable = [w for w in work if w.kind is not None and w.result.status != "refused"]
    if not usable and not any(w.result.status == "refused" for w in work):
        for w in work:
            w.result.status = "refused"
            w.result.errors.append(Issue(None, None, None, _no_kind_reason(w)))
        return [w.result for w in work]
    empty = [w for w in usable if w.raw.data.num_rows == 0]
    if empty and len(empty) == len(usable):
        for w in empty:
            w.result.status = "refused"
            w.result.errors.append(Issue(w.raw.header_rows[-1] if w.raw.header_rows else None, None, None,
                                         f"「{w.raw.label}」没有数据行：只有表头（以及空行、合计或签字行），"
                                         "没有可导入的数据"))
        return [w.result for w in work]
    for w in empty:  # an empty sheet beside sheets with data: skipped, not an error
        w.result.status = "skipped"
        w.result.warnings.append("表中没有数据行，已跳过")
    usable = [w for w in usable if w.raw.data.num_rows > 0]
    usable.sort(key=lambda w: LOAD_ORDER.index(w.kind.name))
    cur.execute("BEGIN TRANSACTION")
    try:
        for w in usable:
            _load_table(cur, w, digest, settings, replace, user)
            w.result.errors.sort(key=lambda e: e.row or 0)
        failed = any(w.result.errors for w in work)
        if failed or dry_run:
            cur.execute("ROLLBACK")
        else:
            cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    if dry_run and not failed:
        for w in usable:
            w.result.batch_id = None
            w.result.warnings.append("试导入：检查通过，未写入")
    if failed:
        for w in work:
            if w.result.status == "skipped":
                continue
            w.result.status = "refused"
            w.result.rows = w.result.replaced = 0
            w.result.batch_id = None
            if not w.result.errors:
                w.result.warnings.append("同一文件中的其他表有错误，整个文件未导入，本表也未导入")
    return [w.result for w in work]


def _no_kind_reason(w: _Work) -> str:
    if not w.raw.headers:
        return "未找到表头：前 40 行中没有一行包含足够的已知列名（见导入说明）"
    _, near = detect_kind(w.raw)
    best = min(near, key=lambda n: len(n[1])) if near else None
    hint = f"；最接近「{best[0]}」，缺少列：{'、'.join(best[1])}" if best else ""
    return f"无法判断数据类型{hint}"


def _classify(raw: RawTable, forced_kind: str | None) -> _Work:
    result = TableResult(raw.file, raw.sheet, None, "skipped", warnings=list(raw.notices))
    if not raw.headers:
        result.warnings.append("未找到表头，已跳过（如封面、说明页）")
        return _Work(raw, None, result)
    if forced_kind:
        kind = KINDS[forced_kind]
        missing = missing_required(map_columns(kind, raw.headers))
        result.kind = kind.name
        result.status = "pending"
        if missing:
            result.status = "refused"
            result.errors.append(Issue(raw.header_rows[0], None, None,
                                       f"按「{kind.label}」导入时缺少必需的列：{'、'.join(missing)}"))
        return _Work(raw, kind, result)
    kind, _near = detect_kind(raw)
    if kind is None:
        result.warnings.append(f"{_no_kind_reason(_Work(raw, None, result))}，已跳过")
        return _Work(raw, None, result)
    result.kind = kind.name
    result.status = "pending"
    return _Work(raw, kind, result)


# --- parsing columns ------------------------------------------------------------------------


@dataclass
class _Parsed:
    table: pa.Table  # parsed field columns + _row
    raw_text: dict[str, pa.Array]  # field column -> raw text as written
    mapping: Mapping
    # Set by _resolve_people: per row, a code of its person_id (-1 where none), and the person_ids.
    person_codes: np.ndarray | None = None
    person_ids: pa.Array | None = None
    inc_rows: pa.Table | None = None  # the Arrow rows ``inc`` selects all of, when it is that view


def _parse(raw: RawTable, kind: Kind, settings: Settings, result: TableResult) -> _Parsed:
    mapping = map_columns(kind, raw.headers)
    if mapping.ignored:
        result.warnings.append(f"已忽略未识别的列：{'、'.join(mapping.ignored)}")
    if mapping.duplicates:
        result.warnings.append(f"以下列与已识别的列重复，已忽略：{'、'.join(mapping.duplicates)}")
    rows = raw.row_numbers
    columns: dict[str, pa.Array] = {}
    raw_text: dict[str, pa.Array] = {}
    for f in kind.fields:
        if f.column not in mapping.columns:
            continue
        header = raw.headers[mapping.columns[f.column]]
        text = raw.data.column(f"c{mapping.columns[f.column]}").combine_chunks()
        raw_text[f.column] = text
        if f.parse is nz.plain_text:
            columns[f.column] = nz.trimmed_text(text)
            continue
        values, bad, reasons = nz.map_distinct(text, f.parse, f.arrow_type)
        for i in np.flatnonzero(bad):
            value = text[i].as_py()
            reason = FORMULA_REASON if nz.nfkc(value or "").startswith("=") else reasons[i]
            result.errors.append(Issue(int(rows[i]), header, value, reason))
        columns[f.column] = values
        if f.required:
            _require(columns[f.column], bad, rows, header, text, result)
    if kind.name == "units" and "is_pilot" in columns:
        columns["is_pilot"] = pc.fill_null(columns["is_pilot"], False)
    table = pa.table({**columns, "_row": pa.array(rows, type=pa.int64())})
    _check_ranges(table, kind, mapping, raw, raw_text, settings, result)
    return _Parsed(table, raw_text, mapping)


def _require(values: pa.Array, bad: np.ndarray, rows: np.ndarray, header: str,
             text: pa.Array, result: TableResult) -> None:
    empty = pc.is_null(values).to_numpy(zero_copy_only=False) & ~bad
    for i in np.flatnonzero(empty):
        result.errors.append(Issue(int(rows[i]), header, text[i].as_py() or "", "必填项为空"))


_SCORE_COLUMNS = ("score", "score_de", "score_neng", "score_qin", "score_ji", "score_lian",
                  "bonus", "penalty", "quarterly_avg")


def _flag(table: pa.Table, mask: np.ndarray, column: str, raw: RawTable, mapping: Mapping,
          raw_text: dict[str, pa.Array], reason: str, result: TableResult) -> None:
    header = raw.headers[mapping.columns[column]]
    rows = table.column("_row").to_numpy()
    for i in np.flatnonzero(mask):
        result.errors.append(Issue(int(rows[i]), header, raw_text[column][i].as_py(), reason))


def _num(table: pa.Table, column: str) -> np.ndarray:
    return table.column(column).to_numpy(zero_copy_only=False).astype(float)


def _check_ranges(table: pa.Table, kind: Kind, mapping: Mapping, raw: RawTable,
                  raw_text: dict[str, pa.Array], settings: Settings, result: TableResult) -> None:
    top = settings.limits.score_max
    with np.errstate(invalid="ignore"):
        for column in _SCORE_COLUMNS:
            if column in table.column_names:
                v = _num(table, column)
                bad = (v < 0) | (v > top)
                _flag(table, bad, column, raw, mapping, raw_text,
                      f"分数应在 0 到 {top:g} 之间", result)
        if kind.name == "worklogs" and "hours" in table.column_names:
            v = _num(table, "hours")
            _flag(table, (v <= 0) | (v > 24), "hours", raw, mapping, raw_text,
                  "工时应大于 0 且不超过 24 小时", result)
        if kind.name == "monthly" and {"planned", "done"} <= set(table.column_names):
            planned, done = _num(table, "planned"), _num(table, "done")
            _flag(table, planned < 0, "planned", raw, mapping, raw_text, "计划事项数不能为负", result)
            _flag(table, done < 0, "done", raw, mapping, raw_text, "完成事项数不能为负", result)
            tol = settings.limits.completion_tolerance
            _flag(table, done > planned + tol, "done", raw, mapping, raw_text,
                  f"完成事项数超过计划事项数{f'（允许超出 {tol}）' if tol else ''}", result)
    if kind.name == "quarterly":
        score = table.column("score") if "score" in table.column_names else None
        grade = table.column("grade") if "grade" in table.column_names else None
        neither = np.ones(table.num_rows, dtype=bool)
        for col in (score, grade):
            if col is not None:
                neither &= pc.is_null(col).to_numpy(zero_copy_only=False)
        rows = table.column("_row").to_numpy()
        label = "得分/等次"
        for i in np.flatnonzero(neither):
            result.errors.append(Issue(int(rows[i]), label, "", "得分和等次不能都为空"))


def hash_id_cards(values: pa.Array, key: bytes) -> pa.Array:
    """Keyed hash (HMAC-SHA256) of 身份证号, computed over distinct values."""
    def one(text: str) -> str:
        return hmac.new(key, text.encode("ascii"), hashlib.sha256).hexdigest()

    hashed, _bad, _ = nz.map_distinct(values, one, pa.string())
    return hashed


# --- loading one table inside the file's transaction -------------------------------------------


def _load_table(cur: duckdb.DuckDBPyConnection, w: _Work, digest: str, settings: Settings,
                replace: bool, user: str) -> None:
    kind, result = w.kind, w.result
    parsed = _parse(w.raw, kind, settings, result)
    table = parsed.table
    if "id_card" in table.column_names:
        hashed = hash_id_cards(table.column("id_card"), settings.hash_key())
        table = table.drop_columns(["id_card"]).append_column("id_hash", hashed)
    if table.num_rows == 0:
        result.warnings.append("表中没有数据行")
    # The parsed rows stay in Arrow, registered for the whole load: ``inc`` is a view over them.
    cur.register("incoming_raw", table)
    try:
        _stage(cur, kind, table, parsed, w.raw, result)
        result.preview = _preview(cur, kind, parsed)
        if result.errors:
            return
        batch_id = store.scalar(cur, "SELECT COALESCE(max(batch_id), 0) + 1 FROM import_batch")
        stats = _write(cur, kind, batch_id, replace, result)
    finally:
        for name in ("incoming_raw", "incoming_people", "inc_keys"):
            # a failure may have left a result open: the cursor is closed with the file anyway
            with contextlib.suppress(duckdb.Error):
                cur.unregister(name)
    if result.errors:
        return
    result.batch_id = batch_id
    result.rows, result.replaced = stats
    result.status = "loaded" if result.rows or result.replaced else "unchanged"
    cur.execute(
        """
        INSERT INTO import_batch (batch_id, file_name, sheet, kind, content_hash, rows, replaced,
                                  warnings, imported_at, imported_by)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [batch_id, result.file, result.sheet, kind.name, digest, result.rows, result.replaced,
         json.dumps(result.warnings, ensure_ascii=False), dt.datetime.now(), user],
    )


def _stage(cur: duckdb.DuckDBPyConnection, kind: Kind, table: pa.Table, parsed: _Parsed,
           raw: RawTable, result: TableResult) -> None:
    """Build TEMP view ``inc``: the parsed rows with a resolved ``person_id``."""
    cols = set(table.column_names)

    def col(name: str, typ: str = "VARCHAR") -> str:
        return f"i.{name}" if name in cols else f"NULL::{typ}"

    if kind.name == "people":
        cur.execute(f"""
            CREATE OR REPLACE TEMP VIEW inc AS
            SELECT i.*, COALESCE({col('person_no')},
                                 'ID' || substr({col('id_hash')}, 1, 16),
                                 'UN' || substr(sha256(i.unit || '|' || i.name), 1, 16)) AS person_id
            FROM incoming_raw i
        """)
    elif kind.person_keyed:
        _resolve_people(cur, table, parsed, raw, result)
    else:
        cur.execute("CREATE OR REPLACE TEMP VIEW inc AS SELECT * FROM incoming_raw")
        parsed.inc_rows = table
    if kind.name == "worklogs" and parsed.person_codes is not None:
        days = _log_day_codes(table, parsed)
        if days is not None:  # the two log checks on integer codes
            _check_log_duplicates(cur, kind, parsed, raw, result, days)
            _check_day_totals(cur, parsed, raw, result, days)
            return
    _check_duplicates(cur, kind, parsed, raw, result)
    if kind.name == "worklogs":
        _check_day_totals(cur, parsed, raw, result)


def _person_key_codes(table: pa.Table, parsed: _Parsed, roles: list[str]) -> np.ndarray:
    """A code per row, equal for rows with the same person-key cells (rows with the same raw text
    get the same code; different texts that parse alike may get different codes)."""
    codes = np.zeros(table.num_rows, dtype=np.int64)
    size = 1
    for role in roles:
        text = parsed.raw_text["id_card" if role == "id_hash" else role]
        encoded = text if pa.types.is_dictionary(text.type) else pc.dictionary_encode(text, null_encoding="encode")
        part = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        if size * max(len(encoded.dictionary), 1) >= 1 << 62:  # keep the product within int64
            codes, uniques = pd.factorize(codes)
            size = len(uniques)
        codes = codes * len(encoded.dictionary) + part
        size *= max(len(encoded.dictionary), 1)
    if len(roles) > 1:
        codes = pd.factorize(codes)[0]
    return codes


def _resolve_people(cur: duckdb.DuckDBPyConnection, table: pa.Table, parsed: _Parsed,
                    raw: RawTable, result: TableResult) -> None:
    """``inc``: the rows with ``person_id``, ``name_matches`` and ``by_name``, worked out once per
    distinct combination of the person-key cells (a few thousand people, not a million rows)."""
    cols = set(table.column_names)
    roles = [c for c in ("person_no", "id_hash", "unit", "name") if c in cols]
    codes = _person_key_codes(table, parsed, roles)
    # A row of each combination (any: they are alike); a code no row has (a dictionary keeps the
    # text of dropped total rows) gets row 0, resolved and never used.
    first = np.zeros(int(codes.max()) + 1 if len(codes) else 0, dtype=np.int64)
    first[codes] = np.arange(len(codes))
    keys = table.select(roles).take(pa.array(first)).append_column("_code", pa.array(np.arange(len(first))))
    cur.register("person_keys", keys)
    try:
        people = _resolve_keys(cur, cols)
    finally:
        cur.unregister("person_keys")
    if people.num_rows != keys.num_rows:  # people.person_id is unique: one match at most
        raise RuntimeError("person keys matched more than one stored person")
    picked = pa.array(codes)
    for name in ("person_id", "name_matches", "by_name"):
        table = table.append_column(name, people.column(name).take(picked))
    cur.register("incoming_people", table)
    cur.execute("CREATE OR REPLACE TEMP VIEW inc AS SELECT * FROM incoming_people")
    parsed.inc_rows = table
    ids, id_of_key = np.unique(people.column("person_id").fill_null("").to_numpy(zero_copy_only=False),
                               return_inverse=True)
    id_of_key[pc.is_null(people.column("person_id")).to_numpy(zero_copy_only=False)] = -1
    parsed.person_codes = id_of_key.astype(np.int64)[codes]
    parsed.person_ids = pa.array(ids, type=pa.string())
    # The combinations some row has, with their number of rows: what the row-wise questions below
    # (and _create_missing_people) need, asked of a few thousand rows.
    counts = np.bincount(codes, minlength=len(first))
    used = counts > 0
    cur.register("inc_keys", people.select(["person_id", "by_name"]).filter(pa.array(used))
                 .append_column("rows", pa.array(counts[used], type=pa.int64())))
    _person_problems(cur, cols, parsed, raw, result)


def _resolve_keys(cur: duckdb.DuckDBPyConnection, cols: set[str]) -> pa.Table:
    """Each distinct person key of ``person_keys`` matched against the people stored."""
    def col(name: str) -> str:
        return f"i.{name}" if name in cols else "NULL::VARCHAR"

    # Once a roster is loaded (people not created as placeholders), every row must name someone on
    # it; before that, people are created from the file, with a warning.
    roster = bool(store.scalar(cur, "SELECT count(*) > 0 FROM people WHERE NOT auto"))
    # A join on a column the file does not have matches nothing: left out, its columns are NULL.
    joins = "\n".join([
        "LEFT JOIN known kn ON kn.person_id = i.person_no" if "person_no" in cols
        else "LEFT JOIN (SELECT NULL::VARCHAR AS person_id) kn ON false",
        "LEFT JOIN by_id bi ON bi.id_hash = i.id_hash" if "id_hash" in cols
        else "LEFT JOIN (SELECT NULL::VARCHAR AS pid) bi ON false",
        "LEFT JOIN by_name bn ON bn.unit = i.unit AND bn.name = i.name" if {"unit", "name"} <= cols
        else "LEFT JOIN (SELECT NULL::VARCHAR AS pid, NULL::BIGINT AS n) bn ON false",
    ])
    return cur.sql(f"""
        WITH by_id AS (
            SELECT id_hash, min(person_id) AS pid FROM people
            WHERE id_hash IS NOT NULL GROUP BY id_hash
        ), by_name AS (
            SELECT unit, name, min(person_id) AS pid, count(*) AS n FROM people GROUP BY unit, name
        ), known AS (SELECT person_id FROM people)
        SELECT i.*,
            CASE
                WHEN {col('person_no')} IS NOT NULL THEN
                    CASE WHEN kn.person_id IS NOT NULL OR NOT $roster THEN {col('person_no')} END
                WHEN {col('id_hash')} IS NOT NULL THEN COALESCE(bi.pid,
                    CASE WHEN NOT $roster AND {col('unit')} IS NOT NULL AND {col('name')} IS NOT NULL
                         THEN 'ID' || substr({col('id_hash')}, 1, 16) END)
                WHEN bn.n = 1 THEN bn.pid
                WHEN bn.n IS NULL AND NOT $roster
                     AND {col('unit')} IS NOT NULL AND {col('name')} IS NOT NULL
                    THEN 'UN' || substr(sha256({col('unit')} || '|' || {col('name')}), 1, 16)
            END AS person_id,
            bn.n AS name_matches,
            {col('person_no')} IS NULL AND {col('id_hash')} IS NULL AS by_name
        FROM person_keys i
        {joins}
        ORDER BY i._code
    """, params={"roster": roster}).to_arrow_table()


def _person_problems(cur: duckdb.DuckDBPyConnection, cols: set[str], parsed: _Parsed,
                     raw: RawTable, result: TableResult) -> None:
    def col(name: str) -> str:
        return f"i.{name}" if name in cols else "NULL::VARCHAR"

    unmatched = store.scalar(cur, "SELECT count(*) FROM inc_keys WHERE person_id IS NULL")
    problems = [] if not unmatched else cur.execute(
        f"""
        SELECT _row, {col('person_no')}, {col('unit')}, {col('name')}, name_matches,
               {col('id_hash')} IS NOT NULL
        FROM inc i WHERE person_id IS NULL ORDER BY _row
        """
    ).fetchall()
    headers = {c: raw.headers[i] for c, i in parsed.mapping.columns.items()}
    for row, number, unit, name, n, has_id in problems:
        if number is not None:
            result.errors.append(Issue(row, headers.get("person_no"), number,
                                       f"人员名册中没有人员编号「{number}」：请核对编号，或先导入包含此人的人员名册"))
        elif has_id:
            result.errors.append(Issue(row, headers.get("id_card"), None,
                                       "身份证号在人员名册中找不到：请核对，或先导入包含此人的人员名册"))
        elif unit is None or name is None:
            result.errors.append(Issue(row, headers.get("name") or headers.get("unit"), name or unit,
                                       "缺少人员编号、身份证号，也缺少单位和姓名，无法确定是哪一位人员"))
        elif n and n > 1:
            result.errors.append(Issue(row, headers.get("name"), name,
                                       f"「{unit}」有 {n} 名同名人员，请在文件中提供人员编号或身份证号"))
        else:
            result.errors.append(Issue(row, headers.get("name"), name,
                                       f"人员名册中没有「{unit}」的「{name}」，请先导入人员名册或核对姓名"))
    created = store.scalar(
        cur, "SELECT CAST(COALESCE(sum(rows), 0) AS BIGINT) FROM inc_keys WHERE person_id LIKE 'UN%' AND by_name")
    if created:
        result.warnings.append(f"尚未导入人员名册：已按单位和姓名为 {created} 行建立人员"
                               "（同一单位同名视为同一人）")


def _key_sql(alias_a: str, alias_b: str, key: Sequence[str]) -> str:
    return " AND ".join(f"{alias_a}.{k} IS NOT DISTINCT FROM {alias_b}.{k}" for k in key)


def _check_duplicates(cur: duckdb.DuckDBPyConnection, kind: Kind, parsed: _Parsed,
                      raw: RawTable, result: TableResult) -> None:
    # A key column the file does not have (工作内容 is optional) is empty on every row.
    present = {r[0] for r in cur.execute("SELECT column_name FROM (DESCRIBE inc)").fetchall()}
    key = [k for k in WITHIN_FILE_KEY[kind.name] if k in present]
    complete = " AND ".join(f"{k} IS NOT NULL" for k in key if k != "content")
    # The repeated keys first (a count per key), then the row lists of those keys only: a list per
    # key for every row of a large file would cost more than the check itself.
    group = ", ".join(key)
    complete_i = " AND ".join(f"i.{k} IS NOT NULL" for k in key if k != "content")
    # Equal keys have equal hashes: a hash per row, looked at in pandas (a hash table of integers),
    # and only when some repeat, the exact check on the rows of the repeated hashes.
    hashes = cur.sql(f"SELECT hash({group}) AS h FROM inc WHERE {complete}").fetchnumpy()["h"]
    if not pd.Series(hashes, copy=False).duplicated().any():
        return
    cur.execute(f"""
        CREATE OR REPLACE TEMP TABLE repeated_hashes AS
        SELECT hash({group}) AS h FROM inc WHERE {complete} GROUP BY h HAVING count(*) > 1
    """)
    if not store.scalar(cur, "SELECT count(*) FROM repeated_hashes"):
        return
    dups = cur.execute(f"""
        WITH candidates AS (
            SELECT * FROM inc WHERE {complete} AND hash({group}) IN (SELECT h FROM repeated_hashes)
        ), repeated AS (SELECT {group} FROM candidates GROUP BY {group} HAVING count(*) > 1)
        SELECT list(i._row ORDER BY i._row) FROM candidates i SEMI JOIN repeated d ON {_key_sql('i', 'd', key)}
        WHERE {complete_i}
        GROUP BY {', '.join(f'i.{k}' for k in key)} ORDER BY 1
    """).fetchall()
    what = {
        "units": "同一单位", "people": "同一人员",
        "quarterly": "同一人员、同一考核周期", "ratings": "同一评价人、被评价人和考核周期",
        "worklogs": "同一人员、同一日期、同一工作内容", "monthly": "同一人员、同一月份",
        "annual": "同一人员、同一年度",
    }[kind.name]
    header = _key_header(kind, parsed, raw)
    for (rows,) in dups:
        for row in rows[1:]:
            result.errors.append(Issue(row, header, None, f"与第 {rows[0]} 行重复（{what}）"))


def _key_header(kind: Kind, parsed: _Parsed, raw: RawTable) -> str | None:
    for column in ("person_no", "id_card", "name", "unit"):
        if column in parsed.mapping.columns:
            return raw.headers[parsed.mapping.columns[column]]
    return None


@dataclass
class _LogDays:
    """Each log row's person-day as one integer (-1 without a person or a date), from the codes of
    its person_id and its date."""

    day_key: np.ndarray
    span: int  # days from the first date to the last, plus one
    first_day: int


def _log_day_codes(table: pa.Table, parsed: _Parsed) -> _LogDays | None:
    dates = table.column("work_date").combine_chunks()
    known = ~pc.is_null(dates).to_numpy(zero_copy_only=False) & (parsed.person_codes >= 0)
    day = dates.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    first_day = int(day[known].min()) if known.any() else 0
    span = int(day[known].max()) - first_day + 1 if known.any() else 1
    if len(parsed.person_ids) * span >= 1 << 40:
        return None
    key = np.where(known, parsed.person_codes * span + (day - first_day), -1)
    return _LogDays(key, span, first_day)


def _check_log_duplicates(cur: duckdb.DuckDBPyConnection, kind: Kind, parsed: _Parsed,
                          raw: RawTable, result: TableResult, days: _LogDays) -> None:
    """_check_duplicates for logs: same person_id, date and content (empty content alike), on
    integer codes; the SQL check runs only if some key repeats (and then says where)."""
    if "content" in parsed.table.column_names:
        content = parsed.raw_text["content"]
        if pa.types.is_dictionary(content.type):  # codes of the trimmed distinct texts
            trimmed = nz.trimmed_text(content.dictionary).to_numpy(zero_copy_only=False)
            code_of_text = pd.factorize(trimmed)[0]
            codes = code_of_text[content.indices.to_numpy(zero_copy_only=False)]
        else:
            codes = pd.factorize(parsed.table.column("content").to_numpy(zero_copy_only=False))[0]
        count = int(codes.max()) + 2 if len(codes) else 1
    else:
        codes, count = np.zeros(len(days.day_key), dtype=np.int64), 1
    keyed = days.day_key >= 0
    if (int(days.day_key.max()) + 1 if len(days.day_key) else 0) * count >= 1 << 62:
        return _check_duplicates(cur, kind, parsed, raw, result)
    key = days.day_key[keyed] * count + (codes[keyed] + 1)  # factorize gives -1 to null
    if len(key) and _small_space(int(key.max()) + 1, len(key)):
        repeated = np.bincount(key).max() > 1
    else:
        repeated = pd.Series(key, copy=False).duplicated().any()
    if repeated:
        _check_duplicates(cur, kind, parsed, raw, result)


def _small_space(space: int, rows: int) -> bool:
    """Counting integer keys in an array as long as their range (np.bincount) beats hashing them."""
    return space <= max(4 * rows, 1 << 20)


def _check_day_totals(cur: duckdb.DuckDBPyConnection, parsed: _Parsed, raw: RawTable,
                      result: TableResult, days: _LogDays | None = None) -> None:
    header = raw.headers[parsed.mapping.columns["hours"]]
    if days is not None:
        _log_day_totals(cur, parsed, days)
    else:
        _sql_day_totals(cur)
    if not store.scalar(cur, "SELECT count(*) FROM inc_days WHERE hours > 24"):
        return
    _report_day_totals(cur, header, result)


def _log_day_totals(cur: duckdb.DuckDBPyConnection, parsed: _Parsed, days: _LogDays) -> None:
    """``inc_days`` as _sql_day_totals makes it, from the integer person-day codes: the hours of
    each day added up in row order."""
    hours = parsed.table.column("hours").to_numpy(zero_copy_only=False).astype(float)
    with np.errstate(invalid="ignore"):
        counted = (days.day_key >= 0) & (hours > 0) & (hours <= 24)
    day_key = days.day_key[counted]
    if len(day_key) and _small_space(int(day_key.max()) + 1, len(day_key)):
        by_key = np.bincount(day_key)
        keys = np.flatnonzero(by_key)
        totals = np.bincount(day_key, weights=hours[counted])[keys]
        entries = by_key[keys].astype(np.int64)
    else:
        day_codes, keys = pd.factorize(day_key)
        totals = np.bincount(day_codes, weights=hours[counted], minlength=len(keys))
        entries = np.bincount(day_codes, minlength=len(keys)).astype(np.int64)
    person = keys // days.span
    day = (keys % days.span + days.first_day).astype(np.int32)
    frame = pa.table({
        "person_id": parsed.person_ids.take(pa.array(person)),
        "work_date": pa.array(day, type=pa.int32()).cast(pa.date32()),
        "hours": pa.array(totals, type=pa.float64()),
        "entries": pa.array(entries, type=pa.int64()),
    })
    cur.register("log_days", frame)
    try:
        cur.execute("CREATE OR REPLACE TEMP TABLE inc_days AS SELECT * FROM log_days")
    finally:
        cur.unregister("log_days")


def _sql_day_totals(cur: duckdb.DuckDBPyConnection) -> None:
    # The days over 24 hours first, then the row lists of those days only (see _check_duplicates).
    # The day totals are kept: a file without errors has every row counted, and its new person-days
    # go into worklog_daily as they are (_add_worklog_days).
    cur.execute("""
        CREATE OR REPLACE TEMP TABLE inc_days AS
        SELECT person_id, work_date, sum(hours) AS hours, count(*) AS entries FROM inc
        WHERE person_id IS NOT NULL AND hours > 0 AND hours <= 24 AND work_date IS NOT NULL
        GROUP BY ALL
    """)


def _report_day_totals(cur: duckdb.DuckDBPyConnection, header: str, result: TableResult) -> None:
    over = cur.execute("""
        WITH counted AS (
            SELECT _row, person_id, work_date, hours FROM inc
            WHERE person_id IS NOT NULL AND hours > 0 AND hours <= 24 AND work_date IS NOT NULL
        ), over AS (
            SELECT person_id, work_date FROM counted GROUP BY person_id, work_date HAVING sum(hours) > 24
        )
        SELECT list(c._row ORDER BY c._row), sum(c.hours), any_value(c.work_date)
        FROM counted c SEMI JOIN over o ON c.person_id = o.person_id AND c.work_date = o.work_date
        GROUP BY c.person_id, c.work_date
        ORDER BY 1
    """).fetchall()
    for rows, total, day in over:
        result.errors.append(Issue(rows[0], header, f"{total:g}",
                                   f"同一人员 {day} 的工时合计 {total:g} 小时，超过 24 小时"
                                   f"（第 {'、'.join(map(str, rows))} 行）"))


def _preview(cur: duckdb.DuckDBPyConnection, kind: Kind, parsed: _Parsed) -> pd.DataFrame:
    cols = [f.column for f in kind.fields if f.column not in ("id_card",)]
    present = {r[0] for r in cur.execute("SELECT column_name FROM (DESCRIBE inc)").fetchall()}
    shown = [c for c in ("person_id", *cols) if c in present and not (
        c == "person_id" and kind.name == "units")]
    labels = {f.column: f.label for f in kind.fields}
    labels["person_id"] = "人员编号（匹配后）"
    source = parsed.inc_rows
    if source is not None and bool((np.diff(source.column("_row").to_numpy()) > 0).all()):
        # Rows in file order (as read): the first ones are the preview, asked of DuckDB as inc is.
        cur.register("inc_head", source.slice(0, PREVIEW_ROWS))
        try:
            frame = cur.execute(
                f"SELECT {', '.join(shown)} FROM inc_head ORDER BY _row LIMIT {PREVIEW_ROWS}").df()
        finally:
            cur.unregister("inc_head")
        return frame.rename(columns=labels)
    # The first rows by row number, without sorting them all: rows up to the PREVIEW_ROWS-th
    # smallest row number (the rows come in file order, so usually the first ones).
    bound = store.scalar(cur, f"SELECT max(_row) FROM (SELECT _row FROM inc LIMIT {PREVIEW_ROWS})")
    where = "WHERE _row <= ?" if bound is not None else ""
    frame = cur.execute(
        f"SELECT {', '.join(shown)} FROM inc {where} ORDER BY _row LIMIT {PREVIEW_ROWS}",
        [bound] if bound is not None else [],
    ).df()
    return frame.rename(columns=labels)


# --- writing -------------------------------------------------------------------------------


_TABLE_COLUMNS: dict[str, tuple[str, ...]] = {}


def table_columns(cur: duckdb.DuckDBPyConnection, table: str) -> tuple[str, ...]:
    if table not in _TABLE_COLUMNS:
        rows = cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position", [table]
        ).fetchall()
        _TABLE_COLUMNS[table] = tuple(r[0] for r in rows)
    return _TABLE_COLUMNS[table]


def _select_for(cur: duckdb.DuckDBPyConnection, kind: Kind, batch_id: int) -> str:
    """Expressions turning ``inc`` rows into rows of the kind's table."""
    present = {r[0] for r in cur.execute("SELECT column_name FROM (DESCRIBE inc)").fetchall()}
    exprs = []
    for column in table_columns(cur, kind.name):
        if column == "batch_id":
            exprs.append(f"{int(batch_id)} AS batch_id")
        elif column == "auto":
            exprs.append("false AS auto")
        elif column in ("year", "quarter") and kind.name in ("quarterly", "ratings"):
            part, typ = ("1, 4", "SMALLINT") if column == "year" else ("6, 1", "TINYINT")
            exprs.append(f"CAST(substr(period, {part}) AS {typ}) AS {column}")
        elif column == "is_pilot" and "is_pilot" not in present and "pilot_since" in present:
            exprs.append("pilot_since IS NOT NULL AS is_pilot")
        elif column in present:
            exprs.append(column)
        else:
            exprs.append(f"NULL AS {column}")
    return ", ".join(exprs)


def _write(cur: duckdb.DuckDBPyConnection, kind: Kind, batch_id: int, replace: bool,
           result: TableResult) -> tuple[int, int]:
    table = kind.name
    select = _select_for(cur, kind, batch_id)
    cur.execute(f"CREATE OR REPLACE TEMP VIEW new_rows AS SELECT {select}, _row FROM inc")
    key = kind.key
    on = _key_sql("s", "n", key)
    values = [c for c in table_columns(cur, table) if c not in ("batch_id", "auto", *key)]
    fingerprint = f"bit_xor(hash({', '.join(values)}))" if values else "0"
    # Per key: identical (skip), auto-created placeholder (replace silently), or conflict.
    cur.execute("DROP TABLE IF EXISTS key_state")
    cur.execute(f"""
        CREATE TEMP TABLE key_state AS
        WITH s AS (
            SELECT {', '.join(key)}, count(*) AS cnt, {fingerprint} AS fp,
                   bool_and({'auto' if table in ('units', 'people') else 'false'}) AS auto,
                   min(batch_id) AS batch_id
            FROM {table} GROUP BY {', '.join(key)}
        ), n AS (  -- only keys already stored: the others have no state to compare
            SELECT {', '.join(key)}, count(*) AS cnt, {fingerprint} AS fp, min(_row) AS first_row
            FROM new_rows n WHERE EXISTS (SELECT 1 FROM s WHERE {on}) GROUP BY ALL
        )
        SELECT n.*, s.cnt = n.cnt AND s.fp = n.fp AS same, s.auto AS stored_auto,
               s.batch_id AS stored_batch
        FROM n JOIN s ON {on}
    """)
    conflicts = cur.execute("""
        SELECT k.first_row, k.stored_batch, b.file_name
        FROM key_state k LEFT JOIN import_batch b ON b.batch_id = k.stored_batch
        WHERE NOT k.same AND NOT k.stored_auto ORDER BY k.first_row
    """).fetchall()
    if conflicts and not replace:
        for row, batch, file in conflicts:
            result.errors.append(Issue(
                row, None, None,
                f"与已导入的数据冲突（批次 {batch}「{file}」中已有同一{_conflict_word(kind)}的不同数据）："
                "如需以本文件为准，请选择「替换冲突数据」后重新导入"))
        return 0, 0
    same_rows = store.scalar(cur, "SELECT COALESCE(sum(cnt), 0) FROM key_state WHERE same")
    if same_rows:
        result.warnings.append(f"{int(same_rows)} 行与已导入的数据完全相同，已跳过")
    replaced = _move_replaced(cur, table, key, batch_id)
    cols = ", ".join(table_columns(cur, table))
    skip_same = f"WHERE NOT EXISTS (SELECT 1 FROM key_state k WHERE k.same AND {_key_sql('k', 'n', key)})"
    inserted = store.scalar(cur, f"""
        INSERT INTO {table} ({cols})
        SELECT {cols} FROM new_rows n {skip_same if same_rows else ''}
    """)  # an INSERT's result is the number of rows it inserted
    created = _create_missing_people(cur, batch_id, result) if kind.person_keyed else 0
    if table in ("people", "quarterly") or created:
        store.refresh_grade_counts(cur)
    if table != "units":
        _create_missing_units(cur, batch_id, result)
    if table == "worklogs":
        if store.scalar(cur, "SELECT count(*) FROM key_state"):
            refresh_worklog_daily(cur, "SELECT DISTINCT person_id, work_date FROM new_rows")
        else:  # every person-day is new: its stored rows are the file's rows
            _add_worklog_days(cur)
    if table == "ratings":  # replaced rows share their person-quarters with new rows
        store.refresh_rating_gaps(cur, "SELECT person_id, period FROM new_rows")
    return int(inserted), int(replaced)


def _conflict_word(kind: Kind) -> str:
    return {"units": "单位", "people": "人员", "quarterly": "人员和考核周期",
            "ratings": "评价人、被评价人和考核周期", "worklogs": "人员和日期",
            "monthly": "人员和月份", "annual": "人员和年度"}[kind.name]


def _move_replaced(cur: duckdb.DuckDBPyConnection, table: str, key: Sequence[str],
                   batch_id: int) -> int:
    """Move stored rows whose key the new file replaces (conflicts and auto placeholders) to the
    shadow table, tagged with the replacing batch."""
    match = " AND ".join(f"t.{k} IS NOT DISTINCT FROM k.{k}" for k in key)
    where = f"EXISTS (SELECT 1 FROM key_state k WHERE NOT k.same AND {match})"
    moved = store.scalar(cur, f"SELECT count(*) FROM {table} t WHERE {where}")
    if moved:
        if table == "worklogs":
            refresh_keys = f"SELECT DISTINCT t.person_id, t.work_date FROM {table} t WHERE {where}"
            cur.execute("DROP TABLE IF EXISTS replaced_days")
            cur.execute(f"CREATE TEMP TABLE replaced_days AS {refresh_keys}")
        cur.execute(f"INSERT INTO {table}__replaced SELECT t.*, {int(batch_id)} FROM {table} t WHERE {where}")
        cur.execute(f"DELETE FROM {table} t WHERE {where}")
        if table == "worklogs":
            refresh_worklog_daily(cur, "SELECT * FROM replaced_days")
    auto = store.scalar(cur, """
        SELECT count(*) FROM key_state WHERE NOT same AND stored_auto
    """) if table in ("units", "people") else 0
    return int(moved) - int(auto or 0)


def _create_missing_people(cur: duckdb.DuckDBPyConnection, batch_id: int,
                           result: TableResult) -> int:
    """Create the people a file names who are not in the store; returns how many."""
    present = {r[0] for r in cur.execute("SELECT column_name FROM (DESCRIBE inc)").fetchall()}
    unit = "any_value(unit)" if "unit" in present else "NULL"
    name = "any_value(name)" if "name" in present else "NULL"
    id_hash = "any_value(id_hash)" if "id_hash" in present else "NULL"
    created = store.scalar(cur, """
        SELECT count(DISTINCT person_id) FROM inc_keys i
        WHERE NOT EXISTS (SELECT 1 FROM people p WHERE p.person_id = i.person_id)
    """)  # inc_keys: the person of every row (see _resolve_people)
    if not created:
        return 0
    cur.execute(f"""
        INSERT INTO people (person_id, name, unit, id_hash, auto, batch_id)
        SELECT person_id, {name}, {unit}, {id_hash}, true, {int(batch_id)}
        FROM inc i
        WHERE NOT EXISTS (SELECT 1 FROM people p WHERE p.person_id = i.person_id)
        GROUP BY person_id
    """)
    result.warnings.append(f"{created} 名人员不在人员名册中，已按文件中的信息建立（导入人员名册后自动补全）")
    return int(created)


def _create_missing_units(cur: duckdb.DuckDBPyConnection, batch_id: int,
                          result: TableResult) -> None:
    created = store.scalar(cur, """
        SELECT count(DISTINCT unit) FROM people p
        WHERE unit IS NOT NULL AND NOT EXISTS (SELECT 1 FROM units u WHERE u.unit = p.unit)
    """)
    if not created:
        return
    cur.execute(f"""
        INSERT INTO units (unit, auto, batch_id)
        SELECT DISTINCT unit, true, {int(batch_id)} FROM people p
        WHERE unit IS NOT NULL AND NOT EXISTS (SELECT 1 FROM units u WHERE u.unit = p.unit)
    """)
    result.warnings.append(f"{created} 个单位不在单位名册中，已按名称建立（导入单位名册后自动补全）")


def _add_worklog_days(cur: duckdb.DuckDBPyConnection) -> None:
    """The daily and monthly pre-aggregates for an import none of whose person-days were stored
    before: the days are the day totals of the 24-hour check (``inc_days``), and when none of their
    person-months has a stored day either, the months are aggregated from them as well, without
    reading the stored logs back."""
    counted, rows = cur.execute(
        "SELECT (SELECT sum(entries) FROM inc_days), (SELECT count(*) FROM new_rows)").fetchall()[0]
    if counted != rows:  # inc_days counts the valid rows: every row, since the file had no error
        cur.execute("""
            CREATE OR REPLACE TEMP TABLE inc_days AS
            SELECT person_id, work_date, sum(hours) AS hours, count(*) AS entries FROM new_rows GROUP BY ALL
        """)
    cur.execute("""
        CREATE OR REPLACE TEMP TABLE new_months AS
        SELECT d.person_id, date_trunc('month', d.work_date)::DATE AS month, sum(d.hours) AS hours,
               count(*) AS logged_days, count(*) FILTER (WHERE c.is_workday) AS logged_workdays,
               sum(d.entries) AS entries
        FROM inc_days d LEFT JOIN workday_calendar c ON c.day = d.work_date
        GROUP BY ALL
    """)
    stored = store.scalar(cur, """
        SELECT count(*) FROM worklog_daily d
        SEMI JOIN new_months k ON d.person_id = k.person_id AND date_trunc('month', d.work_date)::DATE = k.month
    """)
    if stored:  # other days of these months are stored: the months are recomputed from all days
        cur.execute("""
            DELETE FROM worklog_daily d USING inc_days k
            WHERE d.person_id = k.person_id AND d.work_date = k.work_date
        """)
        cur.execute("INSERT INTO worklog_daily SELECT person_id, work_date, hours, entries FROM inc_days")
        store.refresh_worklog_monthly(cur, "SELECT person_id, month FROM new_months")
        return
    cur.execute("INSERT INTO worklog_daily SELECT person_id, work_date, hours, entries FROM inc_days")
    cur.execute("""
        DELETE FROM worklog_monthly m USING new_months k
        WHERE m.person_id = k.person_id AND m.month = k.month
    """)
    cur.execute("INSERT INTO worklog_monthly SELECT * FROM new_months ORDER BY month, person_id")


def refresh_worklog_daily(cur: duckdb.DuckDBPyConnection, keys_sql: str) -> None:
    """Recompute the daily and monthly log pre-aggregates for the (person_id, work_date) pairs of a
    query."""
    cur.execute("DROP TABLE IF EXISTS refresh_keys")
    cur.execute(f"CREATE TEMP TABLE refresh_keys AS {keys_sql}")
    cur.execute("""
        DELETE FROM worklog_daily d USING refresh_keys k
        WHERE d.person_id = k.person_id AND d.work_date = k.work_date
    """)
    cur.execute("""
        INSERT INTO worklog_daily
        SELECT w.person_id, w.work_date, sum(w.hours), count(*)
        FROM worklogs w SEMI JOIN refresh_keys k
            ON w.person_id = k.person_id AND w.work_date = k.work_date
        GROUP BY ALL
    """)
    store.refresh_worklog_monthly(
        cur, "SELECT DISTINCT person_id, date_trunc('month', work_date)::DATE AS month FROM refresh_keys")


# --- history and undo -----------------------------------------------------------------------


def history(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    cur = con.cursor()
    try:
        return cur.execute("""
            SELECT batch_id, imported_at, file_name, sheet, kind, rows, replaced, imported_by,
                   is_demo, undone_at, undone_by
            FROM import_batch ORDER BY batch_id DESC
        """).df()
    finally:
        cur.close()


def undo(con: duckdb.DuckDBPyConnection, batch_id: int, user: str | None = None) -> str:
    """Undo one import batch: delete its rows and restore the rows it replaced."""
    cur = con.cursor()
    try:
        with WRITE_LOCK:
            return _undo(cur, int(batch_id), user or _default_user())
    finally:
        cur.close()


def _undo(cur: duckdb.DuckDBPyConnection, batch_id: int, user: str) -> str:
    found = cur.execute(
        "SELECT file_name, kind, undone_at FROM import_batch WHERE batch_id = ?", [batch_id]
    ).fetchall()
    if not found:
        raise UndoError(f"没有批次 {batch_id}")
    file_name, kind, undone_at = found[0]
    if undone_at is not None:
        raise UndoError(f"批次 {batch_id} 已于 {undone_at:%Y-%m-%d %H:%M} 撤销过")
    _check_undo_allowed(cur, batch_id)
    with store.transaction(cur):
        cur.execute("DROP TABLE IF EXISTS undo_days")
        cur.execute("""
            CREATE TEMP TABLE undo_days AS
            SELECT DISTINCT person_id, work_date FROM worklogs WHERE batch_id = ?
            UNION SELECT DISTINCT person_id, work_date FROM worklogs__replaced WHERE replaced_by = ?
        """, [batch_id, batch_id])
        cur.execute("DROP TABLE IF EXISTS undo_rating_keys")
        cur.execute("""
            CREATE TEMP TABLE undo_rating_keys AS
            SELECT DISTINCT person_id, period FROM ratings WHERE batch_id = ?
            UNION SELECT DISTINCT person_id, period FROM ratings__replaced WHERE replaced_by = ?
        """, [batch_id, batch_id])
        removed = restored = 0
        graded = False  # whether people or quarterly results change (grade_counts is rebuilt)
        for table in store.KIND_TABLES.values():
            cols = ", ".join(table_columns(cur, table))
            gone = store.scalar(cur, f"SELECT count(*) FROM {table} WHERE batch_id = ?", [batch_id])
            cur.execute(f"DELETE FROM {table} WHERE batch_id = ?", [batch_id])
            back = store.scalar(cur, f"SELECT count(*) FROM {table}__replaced WHERE replaced_by = ?", [batch_id])
            removed, restored = removed + gone, restored + back
            graded = graded or (table in ("people", "quarterly") and bool(gone or back))
            cur.execute(f"INSERT INTO {table} SELECT {cols} FROM {table}__replaced WHERE replaced_by = ?",
                        [batch_id])
            cur.execute(f"DELETE FROM {table}__replaced WHERE replaced_by = ? OR batch_id = ?",
                        [batch_id, batch_id])
        refresh_worklog_daily(cur, "SELECT * FROM undo_days")
        store.refresh_rating_gaps(cur, "SELECT * FROM undo_rating_keys")
        if graded:
            store.refresh_grade_counts(cur)
        cur.execute("UPDATE import_batch SET undone_at = ?, undone_by = ? WHERE batch_id = ?",
                    [dt.datetime.now(), user, batch_id])
    tail = f"，恢复了被它替换的 {restored} 行" if restored else ""
    return f"已撤销批次 {batch_id}（{file_name}）：删除 {removed} 行{tail}"


def _check_undo_allowed(cur: duckdb.DuckDBPyConnection, batch_id: int) -> None:
    for table in store.KIND_TABLES.values():
        later = cur.execute(f"""
            SELECT DISTINCT r.replaced_by FROM {table}__replaced r
            JOIN import_batch b ON b.batch_id = r.replaced_by AND b.undone_at IS NULL
            WHERE r.batch_id = ? ORDER BY 1
        """, [batch_id]).fetchall()
        if later:
            ids = "、".join(str(r[0]) for r in later)
            raise UndoError(f"批次 {batch_id} 的部分数据已被批次 {ids} 替换，请先撤销批次 {ids}")
    users = []
    for table in ("quarterly", "ratings", "worklogs", "monthly", "annual"):
        users += cur.execute(f"""
            SELECT DISTINCT t.batch_id FROM {table} t
            JOIN people p ON p.person_id = t.person_id AND p.batch_id = ?
            WHERE t.batch_id <> ?
              AND NOT EXISTS (SELECT 1 FROM people__replaced r
                              WHERE r.replaced_by = ? AND r.person_id = p.person_id)
        """, [batch_id, batch_id, batch_id]).fetchall()
    users += cur.execute("""
        SELECT DISTINCT p.batch_id FROM people p
        JOIN units u ON u.unit = p.unit AND u.batch_id = ?
        WHERE p.batch_id <> ?
          AND NOT EXISTS (SELECT 1 FROM units__replaced r WHERE r.replaced_by = ? AND r.unit = u.unit)
    """, [batch_id, batch_id, batch_id]).fetchall()
    if users:
        ids = "、".join(sorted({str(r[0]) for r in users}, key=int))
        raise UndoError(f"批次 {batch_id} 建立的人员或单位仍被批次 {ids} 的数据使用，请先撤销批次 {ids}")


def clear_demo(con: duckdb.DuckDBPyConnection, user: str | None = None) -> list[str]:
    """Undo every active demo batch, facts before rosters, so real data can start clean."""
    rows = con.execute("""
        SELECT batch_id, kind FROM import_batch WHERE is_demo AND undone_at IS NULL
    """).fetchall()
    rows.sort(key=lambda r: (-LOAD_ORDER.index(r[1]), -r[0]))
    messages = [undo(con, batch, user) for batch, _ in rows]
    store.set_meta(con, "auto_demo", "off")
    return messages
