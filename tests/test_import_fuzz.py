"""Fuzzing the importer with mutated sample exports (analytics/samples.py).

Each case takes one real sample file, mutates it (byte flips, truncation, insertions, deletions,
header mangling; inside an .xlsx also the unpacked sheet and shared-string XML) and imports it.
Whatever the bytes, the importer must either refuse the file — returning ``refused`` results, never
raising — and leave every stored table exactly as it was, or load it, in which case the tables only
gained rows of the new batches and undoing those batches restores the store exactly.

The default run tries ``KAOHE_FUZZ_EXAMPLES`` cases (160: 27 s on a quiet two-core machine, about
a minute when others load it); the count, the outcomes and the time are printed and written to
``fuzz-import.json`` in the session's pytest temporary directory.
"""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from filemaker import snapshot, write_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import importer, samples, store
from analytics.config import ImportLimits, Settings

settings.register_profile(
    "import-fuzz",
    max_examples=int(os.environ.get("KAOHE_FUZZ_EXAMPLES", "160")),
    deadline=None,
    database=None,  # nothing written into the checkout
    derandomize=os.environ.get("KAOHE_FUZZ_RANDOM") is None,  # the same cases every run unless asked
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

UNITS = [f"测试{'甲乙丙丁戊己'[i]}局" for i in range(6)]


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory):
    """A store with a roster of six units of 13 people, and the sample files written from it."""
    folder = tmp_path_factory.mktemp("fuzz")
    config = Settings(db_path=folder / "fuzz.duckdb", id_hash_key=b"test-key", limits=ImportLimits())
    con = store.connect(config.db_path)
    roster = [["人员编号", "姓名", "单位", "处室", "是否领导"]] + [
        [f"P{u * 100 + i:05d}", f"人员{u}{i:02d}", unit, "办公室", "领导" if i == 0 else "工作人员"]
        for u, unit in enumerate(UNITS) for i in range(13)]
    loaded = importer.import_files(con, [write_text(folder / "人员名册.csv", roster)], config)
    assert [r.status for r in loaded] == ["loaded"]
    files = samples.write_samples(con, folder / "samples")
    yield con, config, {f.name: f.read_bytes() for f in files}, folder
    con.close()


# --- mutations ----------------------------------------------------------------------------------

TOKENS = [b"\n", b"\r\n", b",", b"\t", b'"', b"\x00", b"\xef\xbb\xbf", b"\xff\xfe", "合计".encode(),
          b"=SUM(A1:A3)", b"=cmd|' /C calc'!A0", "９５分".encode(), "２０２５Ｑ１".encode(),
          "姓名".encode(), "得分".encode(), "人员编号".encode(), b"-1", b"1e308", b"NaN", b"9" * 40,
          "較好".encode("gb18030"), b"\x80", b"\xe4\xb8", b"<", b"</c>", b"&amp;", b"<f>A1</f>"]
HEADER_WORDS = ["", "得分", "姓名", "单位", "人员编号", "考核周期", "等次", "工时", "日期", "序号", "=1+1",
                "得分（分）", "考核要素得分", "x" * 300]


@st.composite
def byte_edit(draw, size: int):
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "token", "delete", "duplicate"]))
    at = draw(st.integers(0, max(size - 1, 0)))
    if kind == "flip":
        return ("flip", at, draw(st.integers(1, 255)))
    if kind == "truncate":
        return ("truncate", at)
    if kind == "insert":
        return ("insert", at, draw(st.binary(min_size=1, max_size=16)))
    if kind == "token":
        return ("insert", at, draw(st.sampled_from(TOKENS)))
    if kind == "delete":
        return ("delete", at, draw(st.integers(1, 64)))
    return ("duplicate", at, draw(st.integers(1, 200)))


def apply_edit(data: bytes, edit: tuple) -> bytes:
    op, at = edit[0], min(edit[1], len(data))
    if op == "flip" and at < len(data):
        return data[:at] + bytes([data[at] ^ edit[2]]) + data[at + 1:]
    if op == "truncate":
        return data[:at]
    if op == "insert":
        return data[:at] + edit[2] + data[at:]
    if op == "delete":
        return data[:at] + data[at + edit[2]:]
    if op == "duplicate":
        return data[:at] + data[at:at + edit[2]] * 2 + data[at + edit[2]:]
    return data


def _encoding_of(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith(b"\xff\xfe"):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def mangle_text_header(data: bytes, line: int, cell: int, word: str, how: str) -> bytes:
    """Rewrite a cell of one of the first lines of a text export: replace, drop or repeat it."""
    encoding = _encoding_of(data)
    text = data.decode(encoding)
    lines = text.split("\n")
    line = line % min(len(lines), 4)
    sep = "\t" if lines[line].count("\t") > lines[line].count(",") else ","
    cells = lines[line].rstrip("\r").split(sep)
    cell = cell % len(cells)
    if how == "replace":
        cells[cell] = word
    elif how == "drop":
        del cells[cell]
    else:
        cells.insert(cell, cells[cell])
    lines[line] = sep.join(cells) + ("\r" if lines[line].endswith("\r") else "")
    return "\n".join(lines).encode(encoding)


TEXT_TOKENS = ["", " ", "合计", "=SUM(A1:A3)", "=cmd|' /C calc'!A0", "９５分", "２０２５Ｑ１", "較好", "好等次",
               "-1", "1e308", "NaN", "99999999999999999999", "2025年第五季度", "2026-02-30", "25小时", "\u3000",
               "\"", ",", "\t", "\r\n", "制表人：某某", "🙂", "\u202e"]


@st.composite
def text_edit(draw):
    kind = draw(st.sampled_from(["token", "delete_line", "duplicate_line", "swap_lines", "blank_cell"]))
    return (kind, draw(st.integers(0, 10_000)), draw(st.integers(0, 10_000)), draw(st.sampled_from(TEXT_TOKENS)))


def apply_text_edit(text: str, edit: tuple) -> str:
    """Edits that keep the encoding valid: a token at a cell boundary, whole lines moved, a cell emptied."""
    kind, a, b, token = edit
    lines = text.split("\n")
    i, j = a % len(lines), b % len(lines)
    if kind == "delete_line":
        del lines[i]
    elif kind == "duplicate_line":
        lines.insert(i, lines[i])
    elif kind == "swap_lines":
        lines[i], lines[j] = lines[j], lines[i]
    else:
        sep = "\t" if lines[i].count("\t") > lines[i].count(",") else ","
        cells = lines[i].split(sep)
        k = b % len(cells)
        cells[k] = "" if kind == "blank_cell" else (token + cells[k] if a % 2 else cells[k] + token)
        lines[i] = sep.join(cells)
    return "\n".join(lines)


def mutate_zip_part(data: bytes, part_pick: int, edits: list[tuple], tokens: list[str]) -> bytes:
    """Edit the unpacked XML of a sheet or the shared strings and pack again: byte edits, and text
    put into text nodes (right after a ``>``), which keeps the XML well formed."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        parts = {n: book.read(n) for n in book.namelist()}
    targets = sorted(n for n in parts if n.startswith("xl/worksheets/") or n == "xl/sharedStrings.xml")
    target = targets[part_pick % len(targets)]
    body = parts[target]
    for edit, token in zip(edits, tokens, strict=False):
        if token is None:
            body = apply_edit(body, edit)
        else:
            at = body.find(b">", min(edit[1], len(body) - 1)) + 1
            if at > 0 and body[at:at + 1] != b"<":
                escaped = token.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode()
                body = body[:at] + escaped + body[at:]
    parts[target] = body
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for name, part in parts.items():
            book.writestr(name, part)
    return out.getvalue()


@st.composite
def mutated_file(draw, files: dict[str, bytes]):
    """One sample file, mutated. Gentle edits (valid encoding, well-formed XML) come often enough
    that many cases load, so the success path and undo are exercised too."""
    name = draw(st.sampled_from(sorted(files)))
    data = files[name]
    steps: list = []
    mode = draw(st.sampled_from(["gentle", "gentle", "bytes", "header"]))
    if name.endswith(".xlsx") and mode != "bytes":
        pick = draw(st.integers(0, 10))
        edits = draw(st.lists(byte_edit(20_000), min_size=1, max_size=4))
        tokens = [None if mode == "header" else draw(st.sampled_from(TEXT_TOKENS)) for _ in edits]
        data = mutate_zip_part(data, pick, edits, tokens)
        steps.append(("xml", pick, edits, tokens))
    elif name.endswith((".csv", ".txt")) and mode == "gentle":
        encoding = _encoding_of(data)
        text = data.decode(encoding)
        for edit in draw(st.lists(text_edit(), min_size=1, max_size=3)):
            text = apply_text_edit(text, edit)
            steps.append(edit)
        try:
            data = text.encode(encoding)
        except UnicodeEncodeError:  # 🙂 has no GBK form: a clerk could not have saved it either
            data = text.encode("utf-8")
    elif name.endswith((".csv", ".txt")) and mode == "header":
        line, cell = draw(st.integers(0, 3)), draw(st.integers(0, 20))
        word, how = draw(st.sampled_from(HEADER_WORDS)), draw(st.sampled_from(["replace", "drop", "repeat"]))
        data = mangle_text_header(data, line, cell, word, how)
        steps.append(("header", line, cell, word, how))
    if mode == "bytes" or not steps:
        for edit in draw(st.lists(byte_edit(len(data)), min_size=1, max_size=4)):
            data = apply_edit(data, edit)
            steps.append(edit)
    rename = draw(st.sampled_from([None] * 15 + [".csv", ".xlsx", ".txt", ".xls"]))
    if rename:
        name = Path(name).stem + rename
    return name, data, steps


# --- the property -------------------------------------------------------------------------------


def _rows_kept(before: dict[str, list], after: dict[str, list]) -> None:
    """Every row stored before is still there (the import only added rows)."""
    for table, old in before.items():
        new = Counter(after[table])
        missing = Counter(old) - new
        assert not missing, (table, list(missing)[:3])


def test_mutated_sample_files_are_refused_whole_or_loaded_and_undone_exactly(fuzz_store, tmp_path_factory,
                                                                            capsys):
    con, config, files, _ = fuzz_store
    tally: Counter[str] = Counter()
    started = time.perf_counter()

    @settings(settings.get_profile("import-fuzz"))
    @given(st.data())
    def case(data):
        name, body, steps = data.draw(mutated_file(files), label="file")
        tally["cases"] += 1
        before = snapshot(con)
        results = importer.import_files(con, [(name, body)], config, user="fuzz")  # must not raise
        if os.environ.get("KAOHE_FUZZ_VERBOSE"):
            print(name, steps[:2], [(r.status, [e.reason[:160] for e in r.errors[:1]]) for r in results])
        reasons = [e.reason for r in results for e in r.errors]
        assert not any(importer.INTERNAL_ERROR in text for text in reasons), reasons  # a bug, not the file
        statuses = {r.status for r in results}
        assert results and statuses <= {"loaded", "unchanged", "refused", "skipped"}, statuses
        if "refused" in statuses:
            tally["refused"] += 1
            assert statuses <= {"refused", "skipped"}, statuses  # all or nothing
            assert all(r.batch_id is None and r.rows == 0 for r in results)
            assert all(r.errors for r in results if r.status == "refused" and not r.warnings)
            assert snapshot(con) == before
            return
        batches = sorted({r.batch_id for r in results if r.batch_id is not None})
        if not batches:
            tally["nothing to load"] += 1
            assert snapshot(con) == before
            return
        tally["loaded"] += 1
        after = snapshot(con)
        _rows_kept(before, after)
        for table in store.KIND_TABLES.values():
            new_rows = store.scalar(con, f"SELECT count(*) FROM {table} WHERE batch_id = ANY(?)", [batches])
            gained = len(after[table]) - len(before[table])
            assert gained == new_rows, (table, gained, new_rows)
        for batch in reversed(batches):
            importer.undo(con, batch, user="fuzz")
        undone = snapshot(con)
        assert {t: v for t, v in undone.items() if t != "import_batch"} == {
            t: v for t, v in before.items() if t != "import_batch"}
        assert [r for r in undone["import_batch"] if r[0] not in batches] == before["import_batch"]

    case()
    elapsed = time.perf_counter() - started
    report = {"cases": tally["cases"], "refused": tally["refused"], "loaded_then_undone": tally["loaded"],
              "nothing_to_load": tally["nothing to load"], "seconds": round(elapsed, 1)}
    out = tmp_path_factory.getbasetemp() / "fuzz-import.json"
    out.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    with capsys.disabled():  # shown even when pytest captures output
        print(f"\nimport fuzz: {report} (written to {out})")
    assert tally["cases"] >= min(settings.get_profile("import-fuzz").max_examples, 50)
    assert tally["refused"] and tally["loaded"]  # both ways were exercised
