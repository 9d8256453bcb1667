"""Import benchmark: a 1,000,000-row daily-log CSV in GB18030 through the full importer, against
DuckDB's own ``read_csv`` of the UTF-8 copy of the same file, in the same process.

    python bench/import_bench.py [--rows N] [--runs K]

Prints the median of K runs (after one warm-up) for each, run in turns, the ratio, and the load
average (on a shared machine, above the number of cores, times are inflated). Each importer run
starts from a copy of the same store (roster loaded), since importing the same file twice changes
nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb  # noqa: E402

from analytics import importer, store  # noqa: E402
from analytics.config import Settings  # noqa: E402

PEOPLE = 2000


def make_files(work: Path, rows: int) -> tuple[Path, Path, Path]:
    roster = work / "人员名册.csv"
    utf8 = work / "工作日志_utf8.csv"
    gb = work / "工作日志_gb18030.csv"
    con = duckdb.connect()
    con.execute(f"""
        COPY (SELECT printf('P%05d', i) AS 人员编号, '员工' || i AS 姓名, '单位' || (i % 40) AS 单位
              FROM range({PEOPLE}) t(i))
        TO '{roster}' (HEADER, DELIMITER ',')
    """)
    # Each person logs up to three items a day on consecutive days: unique (person, date, content).
    con.execute(f"""
        COPY (
            SELECT printf('P%05d', (i // 3) % {PEOPLE}) AS 人员编号,
                   strftime(DATE '2023-01-02' + CAST(i // (3 * {PEOPLE}) AS INTEGER), '%Y/%-m/%-d') AS 日期,
                   ((i % 5) + 4) / 2.0 || '小时' AS 工时,
                   ['起草文件', '接待群众来访', '参加会议'][i % 3 + 1] || '（第' || i % 3 || '项）' AS 工作内容
            FROM range({rows}) t(i)
        ) TO '{utf8}' (HEADER, DELIMITER ',')
    """)
    con.close()
    gb.write_bytes(("2023年起工作日志导出\n" + utf8.read_text(encoding="utf-8")).encode("gb18030"))
    return roster, utf8, gb


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def base_store_with_roster(work: Path, roster: Path) -> Path:
    """A store holding the roster only: every importer run starts from a copy of it."""
    base_store = work / "base.duckdb"
    con = store.connect(base_store)
    loaded = importer.import_files(con, [roster], Settings(db_path=base_store, id_hash_key=b"bench"))[0]
    assert loaded.status == "loaded", loaded.errors[:3]
    con.close()
    return base_store


def read_csv_once(utf8: Path, rows: int) -> None:
    """The baseline: DuckDB's bare ``read_csv`` of the UTF-8 copy into a table (in memory)."""
    c = duckdb.connect()
    c.execute("CREATE TABLE logs AS SELECT * FROM read_csv(?)", [str(utf8)])
    assert c.execute("SELECT count(*) FROM logs").fetchall()[0][0] == rows
    c.close()


def import_once(base_store: Path, gb: Path, rows: int) -> None:
    """The importer: the GB18030 file, all checks, into a fresh copy of ``base_store``."""
    target = base_store.with_name("run.duckdb")
    target.unlink(missing_ok=True)
    shutil.copy(base_store, target)
    c = store.connect(target)
    result = importer.import_files(c, [gb], Settings(db_path=target, id_hash_key=b"bench"))[0]
    assert result.status == "loaded" and result.rows == rows, (result.status, result.errors[:3])
    c.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kaohe-bench-"))
    try:
        roster, utf8, gb = make_files(work, args.rows)
        base_store = base_store_with_roster(work, roster)

        def baseline() -> None:
            read_csv_once(utf8, args.rows)

        def ours() -> None:
            import_once(base_store, gb, args.rows)

        baseline()
        ours()
        # In turns (one of each per round), so that a busy spell on a shared machine slows both.
        base_times, our_times = [], []
        for _ in range(args.runs):
            base_times.append(timed(baseline))
            our_times.append(timed(ours))
        b, o = statistics.median(base_times), statistics.median(our_times)
        size = gb.stat().st_size / 1e6
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}, duckdb {duckdb.__version__}")
        print(f"file: {args.rows:,} rows, {size:.1f} MB GB18030 (title line, '7.5小时' hours, 2023/1/2 dates)")
        print(f"duckdb read_csv (UTF-8 copy), median of {args.runs}: {b:.2f} s  "
              f"[{', '.join(f'{t:.2f}' for t in base_times)}]")
        print(f"importer (GB18030, full checks), median of {args.runs}: {o:.2f} s  "
              f"[{', '.join(f'{t:.2f}' for t in our_times)}]")
        print(f"ratio importer / read_csv: {o / b:.1f}x (median of the per-round ratios: "
              f"{statistics.median(t / u for t, u in zip(our_times, base_times, strict=True)):.1f}x)")
        print(f"load average (1, 5, 15 min) at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
