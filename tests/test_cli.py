"""``python -m analytics`` as scripts and IT staff use it: JSON contract, exit codes, locking."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from filemaker import write_text, write_xlsx

ROOT = Path(__file__).resolve().parent.parent
KINDS = {"units", "people", "quarterly", "ratings", "worklogs", "monthly", "annual"}


def cli(db: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "KAOHE_ID_KEY": "test-key", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "analytics", "--db", str(db), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def test_import_json_contract_exit_codes_counts_history_and_undo(tmp_path):
    db = tmp_path / "cli.duckdb"
    book = write_xlsx(tmp_path / "名册.xlsx", {
        "说明": [["本表为人员名册"]],
        "人员": [["人员编号", "姓名", "单位"], ["P1", "张三", "甲局"], ["P2", "李四", "甲局"]],
    })
    bad = write_text(tmp_path / "bad.csv", [["人员编号", "季度", "得分"], ["P1", "2025Q1", "120"]])
    good = write_text(tmp_path / "good.csv", [["人员编号", "季度", "得分"], ["P1", "2025Q1", "90"]])

    done = cli(db, "import", str(book), str(bad), str(good), "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert [(r["file"], r["sheet"], r["kind"], r["status"], r["rows"]) for r in report] == [
        ("名册.xlsx", "说明", None, "skipped", 0),
        ("名册.xlsx", "人员", "people", "loaded", 2),
        ("bad.csv", None, "quarterly", "refused", 0),
        ("good.csv", None, "quarterly", "loaded", 1),
    ]
    for r in report:
        assert {"file", "sheet", "kind", "status", "rows", "errors", "warnings"} <= set(r)
    assert report[2]["errors"] == [
        {"row": 2, "column": "得分", "value": "120", "reason": "分数应在 0 到 100 之间"}]

    again = cli(db, "import", str(good), "--json")
    assert again.returncode == 0
    assert [r["status"] for r in json.loads(again.stdout)] == ["unchanged"]

    counts = json.loads(cli(db, "counts", "--json").stdout)
    assert set(counts) == KINDS
    assert (counts["people"], counts["quarterly"], counts["units"]) == (2, 1, 1)

    history = json.loads(cli(db, "imports", "--json").stdout)
    assert [(h["batch_id"], h["kind"], h["rows"]) for h in history] == [(2, "quarterly", 1), (1, "people", 2)]
    assert "批次 2" in cli(db, "imports").stdout

    undo = cli(db, "undo", "2")
    assert undo.returncode == 0 and "已撤销批次 2" in undo.stdout
    assert json.loads(cli(db, "counts", "--json").stdout)["quarterly"] == 0
    blocked = cli(db, "undo", "2")
    assert blocked.returncode == 1 and "撤销过" in blocked.stderr


def test_plain_output_lists_errors_in_chinese_and_writes_error_csv(tmp_path):
    bad = write_text(tmp_path / "bad.csv", [["人员编号", "季度", "等次"], ["P1", "2025Q9", "好"],
                                            ["P2", "=HYPERLINK(\"x\")", "好"]])
    out = tmp_path / "errors.csv"
    done = cli(tmp_path / "x.duckdb", "import", str(bad), "--errors-csv", str(out))
    assert done.returncode == 1
    assert "[已拒绝] bad.csv：平时考核结果" in done.stdout
    assert "第 2 行「季度」列的值「2025Q9」：无法识别的季度" in done.stdout
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert "2025Q9" in out.read_text(encoding="utf-8-sig")
    # A formula-like value from the file is written so that a spreadsheet shows it, not runs it.
    values = [v for r in csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))) for v in r]
    assert "'=HYPERLINK(\"x\")" in values and "=HYPERLINK(\"x\")" not in values


def test_kind_option_and_missing_file(tmp_path):
    path = write_text(tmp_path / "x.csv", [["人员编号", "年度", "等次"], ["P1", "2025", "优秀"]])
    done = cli(tmp_path / "x.duckdb", "import", str(path), str(tmp_path / "nope.csv"), "--kind", "annual", "--json")
    report = json.loads(done.stdout)
    assert [(r["kind"], r["status"]) for r in report] == [("annual", "loaded"), ("annual", "refused")]
    assert done.returncode == 1


def test_import_while_another_process_holds_the_store_says_why(tmp_path):
    db = tmp_path / "locked.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; sys.path.insert(0, sys.argv[2]); from analytics import store; "
         "c = store.connect(sys.argv[1]); print('ready', flush=True); time.sleep(60)", str(db), str(ROOT)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        path = write_text(tmp_path / "x.csv", [["人员编号", "年度", "等次"], ["P1", "2025", "优秀"]])
        started = time.monotonic()
        done = cli(db, "import", str(path), "--json")
        assert done.returncode == 1
        assert f"进程号 {holder.pid}" in done.stderr and "正被另一个程序" in done.stderr
        assert json.loads(done.stdout)[0]["status"] == "refused"
        assert time.monotonic() - started < 60
    finally:
        holder.kill()
        holder.wait()
    # Once the other process is gone, the same command works and the store is intact.
    assert cli(db, "import", str(path)).returncode == 0
    assert json.loads(cli(db, "counts", "--json").stdout)["annual"] == 1
