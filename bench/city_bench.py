"""City-scale benchmark (issue 4): page analytics, full page renders, the 1M-row import, memory, and
our analyses against pandas; results to docs/benchmarks.md with the machine's description.

    python bench/city_bench.py --db PATH [--runs 5] [--scale city] [--out docs/benchmarks.md]

PATH is a city-scale store. When the file does not exist it is built first with
``demo.build_demo(con, scale="city")`` (or ``--scale small``, to try the harness in a minute).

Order of the phases (each figure is a median of ``runs`` after one warm-up, against its own
baseline in the same process where there is one):

1. the app as a user meets it: ``streamlit run app.py`` on a free port, every page opened once in
   headless Chromium (default filters, then one district), the app process's peak memory (VmHWM);
2. each page's analytics (``analytics.page_analytics``) with default filters and one district;
3. a profile of the slowest pages: time per query (with DuckDB's own operator timings) and the
   Python functions that take longest;
4. each page's full render through Streamlit's AppTest, with the data cache warm and cleared;
5. grade spread, saturation and rater leniency, ours against pandas (``bench/pandas_baselines.py``);
6. the 1,000,000-row GB18030 daily-log import against DuckDB's bare ``read_csv``
   (``bench/import_bench.py``).

The peak resident memory of this process is read after each phase (it only grows).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import cProfile
import datetime as dt
import gc
import io
import json
import logging
import os
import platform
import pstats
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlencode

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
APP = ROOT / "app.py"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import duckdb  # noqa: E402
import import_bench  # noqa: E402
import pandas as pd  # noqa: E402
import pandas_baselines  # noqa: E402

from analytics import demo, store  # noqa: E402
from analytics.filters import Filters  # noqa: E402
from analytics.page_analytics import PAGES, remembered_overview_page  # noqa: E402

TARGET_ANALYTICS_S = 0.300
TARGET_RENDER_S = 1.5
TARGET_IMPORT_RATIO = 3.0
TARGET_MEMORY_MB = 2048
TARGET_PANDAS_RATIO = 10.0
MIN_GROUP = 5
CHROMIUM = Path(os.environ.get("KAOHE_E2E_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
               "--disable-component-update", "--no-first-run"]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
NO_SKELETON = "() => !document.querySelector(\"[data-testid='stSkeleton']\")"
SERVING = "the page analytics, profiles and AppTest renders"
NOTES_BEGIN, NOTES_END = "<!-- notes:begin -->", "<!-- notes:end -->"


def log(text: str) -> None:
    print(text, flush=True)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def load_average() -> str:
    return ", ".join(f"{v:.1f}" for v in os.getloadavg())


@dataclass
class Timing:
    """One figure: a warm-up (or first) run and the timed runs after it."""

    first: float | None
    times: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def low(self) -> float:
        return min(self.times)

    @property
    def high(self) -> float:
        return max(self.times)


def repeat(fn: Callable[[], object], runs: int) -> Timing:
    first = timed(fn)
    return Timing(first, [timed(fn) for _ in range(runs)])


# --- the machine and the store -------------------------------------------------------------------

def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "?"
    with contextlib.suppress(OSError, StopIteration, ValueError):
        kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
        ram = f"{kb / 1024 / 1024:.1f} GB"
    import numpy
    import plotly
    import streamlit

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    code = "?"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "app.py", "analytics", "ui", "pages"],
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout.split("\n")
        changed = [line[3:] for line in dirty if line.strip()]
        code = f"commit {head}" + (f", with uncommitted changes in {', '.join(changed)}" if changed else "")
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return {
        "CPU": cpu, "cores": f"{os.cpu_count()} ({usable} usable by this process)", "RAM": ram,
        "OS": platform.platform(), "Python": platform.python_version(), "duckdb": duckdb.__version__,
        "streamlit": streamlit.__version__, "pandas": pd.__version__, "numpy": numpy.__version__,
        "plotly": plotly.__version__, "code": code, "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "load average at start (1, 5, 15 min)": load,
    }


@dataclass
class StoreInfo:
    path: Path
    origin: str
    build_seconds: float | None = None
    build_peak_mb: float | None = None
    rows: dict[str, int] = field(default_factory=dict)
    size_mb: float = 0.0


_BUILD = """
import sys, time
sys.path.insert(0, sys.argv[1])
from analytics import demo, store
con = store.connect(sys.argv[2])
start = time.perf_counter()
demo.build_demo(con, scale=sys.argv[3])
store.set_meta(con, "bench_origin", f"built with `demo.build_demo(con, scale={sys.argv[3]!r})`")
con.execute("CHECKPOINT")
con.close()
print(time.perf_counter() - start)
"""


def ensure_store(path: Path, scale: str) -> StoreInfo:
    built = peak = None
    if not path.exists():
        if scale not in demo.SCALES:
            raise SystemExit(f"unknown scale {scale!r}; the demo knows {', '.join(demo.SCALES)}")
        log(f"building {path} with demo.build_demo(scale={scale!r}) in a child process ...")
        # In a child, so that the build's memory does not count in this process's peak.
        done = subprocess.run([sys.executable, "-c", _BUILD, str(ROOT), str(path), scale], cwd=ROOT,
                              capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"building the store failed:\n{done.stderr[-3000:]}")
        built = float(done.stdout.strip().splitlines()[-1])
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        log(f"  built in {built:.1f} s, peak memory {peak:,.0f} MB")
    con = store.connect(path)
    try:
        origin = store.get_meta(con, "bench_origin") or "an existing store (built before this run)"
        rows = {t: store.scalar(con, f"SELECT count(*) FROM {t}") for t in (
            "units", "people", "quarterly", "ratings", "worklogs", "worklog_daily", "monthly", "annual")}
        for table in ("worklog_monthly", "rating_gaps", "grade_counts"):  # pre-aggregates of later schema versions
            if store.scalar(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]):
                rows[table] = store.scalar(con, f"SELECT count(*) FROM {table}")
    finally:
        con.close()
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.suffix in ("", ".wal", ".duckdb"))
    return StoreInfo(path, origin, built, peak, rows, size / 1e6)


def largest_district(con: duckdb.DuckDBPyConnection) -> str:
    """The district (not 市直) with the most people: the heaviest one-district view."""
    return store.scalar(con, """
        SELECT u.district FROM people p JOIN units u USING (unit)
        WHERE u.district IS NOT NULL AND u.district <> '市直'
        GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""")


def first_person(con: duckdb.DuckDBPyConnection) -> str:
    return store.scalar(con, "SELECT person_id FROM people ORDER BY unit, person_id LIMIT 1")


def page_paths() -> list[str]:
    """The analysis and detail pages, in app.py's order."""
    module = ast.parse(APP.read_text(encoding="utf-8"))
    found = []
    for node in module.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.List) and \
                isinstance(node.targets[0], ast.Name) and node.targets[0].id in ("analysis", "detail"):
            found += [c.args[0].value for c in node.value.elts if isinstance(c, ast.Call) and c.args]
    return [p for p in found if p in PAGES] + [p for p in PAGES if p not in found]


# --- 1. the app process in a browser ---------------------------------------------------------------

@dataclass
class BrowserResult:
    how: str
    first_visit: dict[tuple[str, str], float] = field(default_factory=dict)  # (page, filters label) -> s
    problems: dict[tuple[str, str], str] = field(default_factory=dict)
    vm_hwm_mb: float | None = None
    vm_rss_mb: float | None = None
    skipped: str | None = None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        return sock.getsockname()[1]


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _proc_status(pid: int) -> dict[str, float]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = int(value.split()[0]) / 1024
    return out


def browse(db: Path, pages: list[str], district: str, person: str, workdir: Path) -> BrowserResult:
    """Start the app on the store, open every page in Chromium (default filters, then the
    district), and read the app process's peak resident memory."""
    how = ("`streamlit run app.py` in its own process on the store, driven by headless Chromium (Playwright): "
           "总览 opened by URL, then every page by a click in the sidebar's navigation as a user would "
           "(人员档案 by URL with `?person=`), first with default filters, then again from a URL with the "
           "district; time from the click (or navigation) until the page's title is shown and Streamlit is idle "
           "with nothing left to draw")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        return BrowserResult(how, skipped=f"playwright is not installed ({exc})")
    if not CHROMIUM.exists():
        return BrowserResult(how, skipped=f"no Chromium at {CHROMIUM}")
    port = _free_port()
    env = {**os.environ, "KAOHE_DB": str(db), "KAOHE_DEMO_ON_EMPTY": "0", "KAOHE_ID_KEY": "bench",
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    log_path = workdir / "app.log"
    with log_path.open("w", encoding="utf-8") as app_log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
             "--server.headless", "true"], cwd=ROOT, env=env, stdout=app_log, stderr=subprocess.STDOUT)
        result = BrowserResult(how)
        try:
            deadline = time.monotonic() + 120
            while not _healthy(port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the app did not start:\n" + log_path.read_text()[-2000:])
                time.sleep(0.25)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
                tab = browser.new_page(viewport={"width": 1400, "height": 900})
                for label, extra in (("default", {}), ("district", {"district": district})):
                    for page in pages:
                        start = time.perf_counter()
                        if page in (pages[0], "pages/person.py"):
                            # a fresh load: the first page of a pass (filters from the URL), and the
                            # person page, which needs ?person= to show a history
                            params = {**extra, **({"person": person} if page == "pages/person.py" else {})}
                            query = urlencode(params, doseq=True, quote_via=quote)
                            path = "" if page == pages[0] else Path(page).stem
                            tab.goto(f"http://127.0.0.1:{port}/{path}" + (f"?{query}" if query else ""),
                                     wait_until="domcontentloaded", timeout=600_000)
                        else:  # as a user moves on: a click in the sidebar's navigation
                            tab.locator(f"[data-testid='stSidebarNav'] a[href$='/{Path(page).stem}']").click()
                        tab.locator("h1", has_text=PAGES[page].title).first.wait_for(timeout=600_000)
                        tab.wait_for_selector(IDLE, state="attached", timeout=600_000)
                        tab.wait_for_function(NO_SKELETON, timeout=600_000)
                        result.first_visit[(page, label)] = time.perf_counter() - start
                        errors = tab.locator("[data-testid='stException']")
                        if errors.count():
                            result.problems[(page, label)] = " | ".join(errors.all_inner_texts())[:300]
                        if label == "district" and district not in unquote(tab.url):
                            result.problems[(page, label)] = f"the district filter was lost: {tab.url}"
                        log(f"  browser {label:8s} {page:24s} {result.first_visit[(page, label)]:6.2f} s  {tab.url}")
                browser.close()
            status = _proc_status(proc.pid)
            result.vm_hwm_mb, result.vm_rss_mb = status.get("VmHWM"), status.get("VmRSS")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
    return result


# --- 2. page analytics ----------------------------------------------------------------------------------

def time_page_analytics(con: duckdb.DuckDBPyConnection, pages: list[str], filter_sets: dict[str, Filters],
                        runs: int) -> dict[tuple[str, str], Timing]:
    out = {}
    for page in pages:
        entry = PAGES[page]
        for label, f in filter_sets.items():
            def once(entry=entry, f=f) -> None:
                cur = con.cursor()  # the page takes a cursor per unit of work
                try:
                    entry.run(cur, f, MIN_GROUP)
                finally:
                    cur.close()
            out[(page, label)] = t = repeat(once, runs)
            log(f"  analytics {label:8s} {page:24s} median {t.median * 1000:7.0f} ms "
                f"(min {t.low * 1000:.0f}, max {t.high * 1000:.0f}, first {t.first * 1000:.0f})")
    return out


OVERVIEW = "pages/overview.py"


def time_remembered_overview(con: duckdb.DuckDBPyConnection, filter_sets: dict[str, Filters],
                             runs: int) -> dict[str, Timing]:
    """总览 once its findings are in the store's memo: the warm-up computes and keeps them, the timed runs
    recall them (each on a fresh cursor, as a later visit or another session would)."""
    clear_memo(con)
    out = {}
    for label, f in filter_sets.items():
        def once(f=f) -> None:
            cur = con.cursor()
            try:
                remembered_overview_page(cur, f, MIN_GROUP)
            finally:
                cur.close()
        out[label] = t = repeat(once, runs)
        log(f"  analytics {label:8s} 总览 remembered          median {t.median * 1000:7.0f} ms "
            f"(first, computing and keeping: {t.first * 1000:.0f} ms)")
    clear_memo(con)
    return out


def clear_memo(con: duckdb.DuckDBPyConnection) -> None:
    """Forget every remembered result, so that a timing includes computing it."""
    con.execute("DELETE FROM memo")


# --- 3. where the time goes -----------------------------------------------------------------------------

@dataclass
class Query:
    function: str
    sql: str
    seconds: float = 0.0
    operators: list[tuple[str, float]] = field(default_factory=list)  # (operator, share of operator time)


class RecordingCursor:
    """A cursor that times each query (execute and fetch) and keeps DuckDB's operator timings."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, profile_file: Path | None = None) -> None:
        self._cur = cur
        self._file = profile_file
        self.queries: list[Query] = []
        self._pending: Query | None = None
        if profile_file is not None:
            cur.execute("SET enable_profiling = 'json'")
            cur.execute(f"SET profiling_output = '{profile_file}'")

    def _collect(self) -> None:
        q, self._pending = self._pending, None
        if q is None or self._file is None or not self._file.exists():
            return
        with contextlib.suppress(ValueError, OSError):
            tree = json.loads(self._file.read_text(encoding="utf-8"))
            totals: dict[str, float] = {}

            def walk(node: dict) -> None:
                name = node.get("type") or node.get("operator_type") or "?"
                extra = node.get("extra_info")
                table = extra.get("Table") if isinstance(extra, dict) else None
                if table:
                    name += f" {str(table).split('.')[-1]}"
                totals[name] = totals.get(name, 0.0) + float(node.get("timing") or node.get("operator_timing") or 0)
                for child in node.get("children", []):
                    walk(child)

            for root in tree.get("operator", tree.get("children", [])):
                walk(root)
            whole = sum(totals.values()) or 1.0
            q.operators = sorted(((k, v / whole) for k, v in totals.items()), key=lambda kv: -kv[1])[:3]
        self._file.unlink(missing_ok=True)

    @staticmethod
    def _caller() -> str:
        """The analytics function that ran the query (store.frame/store.arrow stand for their caller)."""
        frame = sys._getframe(2)
        while frame is not None:
            path = Path(frame.f_code.co_filename)
            if path.parent.name == "analytics" and path.name != "page_analytics.py" and not (
                    path.name == "store.py" and frame.f_code.co_name in ("frame", "arrow")):
                return f"{path.stem}.{frame.f_code.co_name}"
            frame = frame.f_back
        return "?"

    def sql(self, sql: str, params: object = None) -> _TimedRelation:
        """A relation (``store.arrow`` fetches large results this way): recorded like ``execute``,
        timed when it is fetched."""
        self._collect()
        query = Query(self._caller(), " ".join(sql.split()))
        start = time.perf_counter()
        relation = self._cur.sql(sql, params=params) if params is not None else self._cur.sql(sql)
        query.seconds = time.perf_counter() - start
        self.queries.append(query)
        self._pending = query
        return _TimedRelation(relation, query)

    def execute(self, sql: str, params: object = None) -> RecordingCursor:
        self._collect()
        caller = self._caller()
        query = Query(caller, " ".join(sql.split()))
        start = time.perf_counter()
        self._cur.execute(sql, params) if params is not None else self._cur.execute(sql)
        query.seconds = time.perf_counter() - start
        self.queries.append(query)
        self._pending = query
        return self

    def _fetch(self, name: str, *args: object) -> object:
        start = time.perf_counter()
        value = getattr(self._cur, name)(*args)
        if self.queries:
            self.queries[-1].seconds += time.perf_counter() - start
        return value

    def df(self) -> pd.DataFrame:
        return self._fetch("df")

    def fetchall(self) -> list:
        return self._fetch("fetchall")

    def fetchone(self) -> object:
        return self._fetch("fetchone")

    def fetchnumpy(self) -> dict:
        return self._fetch("fetchnumpy")

    def __getattr__(self, name: str) -> object:
        return getattr(self._cur, name)

    def finish(self) -> None:
        self._collect()
        if self._file is not None:
            self._cur.execute("SET enable_profiling = 'no_output'")
            self._cur.execute("RESET profiling_output")


class _TimedRelation:
    """A DuckDB relation whose fetch adds to its query's time."""

    def __init__(self, relation: duckdb.DuckDBPyRelation, query: Query) -> None:
        self._relation = relation
        self._query = query

    def _fetch(self, name: str, *args: object) -> object:
        start = time.perf_counter()
        value = getattr(self._relation, name)(*args)
        self._query.seconds += time.perf_counter() - start
        return value

    def to_arrow_table(self) -> object:
        return self._fetch("to_arrow_table")

    def df(self) -> pd.DataFrame:
        return self._fetch("df")

    def fetchall(self) -> list:
        return self._fetch("fetchall")

    def __getattr__(self, name: str) -> object:
        return getattr(self._relation, name)


@dataclass
class Profile:
    page: str
    filters: str
    seconds: float
    queries: list[Query]
    python: list[tuple[str, int, float]]  # (function, calls, own seconds), the top ones
    cumulative: list[tuple[str, int, float]]  # analytics functions: (function, calls, cumulative seconds)
    profiled_seconds: float  # the cProfile run (slower than the others: profiling overhead)

    @property
    def sql_seconds(self) -> float:
        return sum(q.seconds for q in self.queries)

    def by_function(self) -> list[tuple[str, int, float, list[tuple[str, float]]]]:
        """Query time grouped by the analytics function that ran it, largest first."""
        groups: dict[str, list[Query]] = {}
        for q in self.queries:
            groups.setdefault(q.function, []).append(q)
        rows = []
        for fn, qs in groups.items():
            slowest = max(qs, key=lambda q: q.seconds)
            rows.append((fn, len(qs), sum(q.seconds for q in qs), slowest.operators))
        return sorted(rows, key=lambda r: -r[2])


def _analytics_cumulative(stats: pstats.Stats, top: int = 6) -> list[tuple[str, int, float]]:
    """Analytics functions by cumulative time (their queries and the pandas/numpy they call included)."""
    rows = []
    for (filename, _line, name), (_, calls, _own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        path = Path(filename)
        if path.parent == ROOT / "analytics" and path.name != "page_analytics.py" and not name.startswith("<"):
            rows.append((f"{path.stem}.{name}", int(calls), float(cumulative)))
    return sorted(rows, key=lambda r: -r[2])[:top]


def _python_hotspots(stats: pstats.Stats, top: int = 5) -> list[tuple[str, int, float]]:
    rows = []
    for (filename, _line, name), (_, calls, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        path = Path(filename)
        if (filename == "~" and "duckdb" in name.lower()) or path.name in ("city_bench.py", "cProfile.py"):
            continue  # the queries themselves (counted as SQL) and the recorder
        try:
            where = str(path.relative_to(ROOT))
        except ValueError:
            parts = path.parts
            lib = next((p for p in ("pandas", "numpy", "plotly", "pyarrow", "streamlit") if p in parts), None)
            where = lib or path.name
        rows.append((f"{where}:{name}" if filename != "~" else name, int(calls), float(own)))
    return sorted(rows, key=lambda r: -r[2])[:top]


def profile_page(con: duckdb.DuckDBPyConnection, page: str, label: str, f: Filters, workdir: Path) -> Profile:
    entry = PAGES[page]
    cur = con.cursor()
    recorder = RecordingCursor(cur, workdir / "profile.json")
    try:
        start = time.perf_counter()
        entry.run(recorder, f, MIN_GROUP)  # type: ignore[arg-type]
        seconds = time.perf_counter() - start
        recorder.finish()
    finally:
        cur.close()
    cur = con.cursor()
    plain = RecordingCursor(cur)  # DuckDB's C++ methods are invisible to cProfile: this keeps their
    profiler = cProfile.Profile()  # time in RecordingCursor, out of the analytics functions' own time
    try:
        start = time.perf_counter()
        profiler.enable()
        entry.run(plain, f, MIN_GROUP)  # type: ignore[arg-type]
        profiler.disable()
        profiled = time.perf_counter() - start
    finally:
        cur.close()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    return Profile(page, label, seconds, recorder.queries, _python_hotspots(stats), _analytics_cumulative(stats),
                   profiled)


# --- 4. full renders through AppTest ---------------------------------------------------------------------

class Sampler:
    """Where a render spends its time: AppTest runs the script on its own thread, out of cProfile's
    sight, so this samples that thread's stack every few milliseconds and counts, per sample, the
    page statement being run, the innermost function of the project, and the library at the top."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.samples = 0
        self.page_lines: dict[str, int] = {}
        self.functions: dict[str, int] = {}
        self.libraries: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = threading.get_ident()
        while not self._stop.wait(self.interval):
            for ident, frame in sys._current_frames().items():
                if ident != me:
                    self._sample(frame)

    def _sample(self, frame: object) -> None:
        stack = []
        while frame is not None:
            stack.append(frame)
            frame = frame.f_back  # type: ignore[attr-defined]
        paths = [Path(f.f_code.co_filename) for f in stack]
        if APP not in paths:
            return  # not the script thread
        self.samples += 1
        page = next((f for f, p in zip(stack, paths, strict=True) if p.parent.name == "pages"), None)
        if page is not None:
            key = f"pages/{Path(page.f_code.co_filename).name}:{page.f_lineno}"
            self.page_lines[key] = self.page_lines.get(key, 0) + 1
        own = next((f for f, p in zip(stack, paths, strict=True)
                    if p.is_relative_to(ROOT) and p.parent.name in ("analytics", "ui", "pages")), None)
        if own is not None:
            path = Path(own.f_code.co_filename).relative_to(ROOT)
            key = f"{path.with_suffix('')}.{own.f_code.co_name}".replace("/", ".")
            self.functions[key] = self.functions.get(key, 0) + 1
        top = paths[0]
        lib = next((part for part in ("duckdb", "pandas", "numpy", "plotly", "pyarrow", "streamlit", "narwhals",
                                      "openpyxl", "json", "google") if part in top.parts), None)
        if lib is None:
            lib = "project" if top.is_relative_to(ROOT) else "other (" + top.name + ")"
        self.libraries[lib] = self.libraries.get(lib, 0) + 1

    def top(self, counts: dict[str, int], n: int = 5) -> list[tuple[str, float]]:
        total = self.samples or 1
        return [(k, v / total) for k, v in sorted(counts.items(), key=lambda kv: -kv[1])[:n]]


def source_line(key: str) -> str:
    """'pages/x.py:12' -> the statement on that line, shortened."""
    path, _, line = key.rpartition(":")
    with contextlib.suppress(OSError, ValueError, IndexError):
        text = (ROOT / path).read_text(encoding="utf-8").splitlines()[int(line) - 1].strip()
        return text if len(text) <= 90 else text[:87] + "..."
    return ""


@dataclass
class RenderProfile:
    page: str
    seconds: float
    page_lines: list[tuple[str, float]]
    functions: list[tuple[str, float]]
    libraries: list[tuple[str, float]]


@dataclass
class RenderResult:
    first: float
    warm: Timing
    cleared: Timing
    error: str | None = None
    profile: RenderProfile | None = None
    remembered: Timing | None = None  # 总览: cache cleared, its findings still remembered in the store


def time_renders(db: Path, pages: list[str], runs: int, person: str) -> dict[str, RenderResult]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    def quiet() -> None:  # AppTest runs without a server: silence its "no runtime" warnings
        for name in list(logging.Logger.manager.loggerDict):
            if name.startswith("streamlit"):
                logging.getLogger(name).setLevel(logging.ERROR)

    os.environ.update({"KAOHE_DB": str(db), "KAOHE_DEMO_ON_EMPTY": "0", "KAOHE_ID_KEY": "bench"})
    memo_con = store.connect(db)  # the same database instance as the app's (same process, same config)
    quiet()
    st.cache_resource.clear()
    st.cache_data.clear()
    out = {}
    for page in pages:
        quiet()
        at = AppTest.from_file(str(APP), default_timeout=900)
        if page == "pages/person.py":
            at.query_params["person"] = person
        at.run()  # the default page (总览); the first page of the process also opens the store
        quiet()
        at.switch_page(page)
        st.cache_data.clear()  # so that the first run on the page computes its analytics
        clear_memo(memo_con)
        first = timed(at.run)
        error = "; ".join(str(e.value)[:200] for e in at.exception) or None
        warm = Timing(first, [timed(at.run) for _ in range(runs)])

        def cleared_run(at=at) -> None:
            at.run()

        cleared = []
        for _ in range(runs):
            st.cache_data.clear()  # every cached analytics result (and the sidebar's options)
            clear_memo(memo_con)  # and 总览's remembered findings: a new filter combination
            cleared.append(timed(cleared_run))
        error = error or ("; ".join(str(e.value)[:200] for e in at.exception) or None)
        out[page] = RenderResult(first, warm, Timing(None, cleared), error)
        if page == OVERVIEW:  # a later visit: memory caches cleared, the findings still in the store
            remembered = []
            for _ in range(runs):
                st.cache_data.clear()
                remembered.append(timed(cleared_run))
            out[page].remembered = Timing(None, remembered)
        if statistics.median(cleared) > TARGET_RENDER_S:  # one more, sampled, to see where it goes
            st.cache_data.clear()
            clear_memo(memo_con)
            with Sampler() as sampler:
                seconds = timed(cleared_run)
            out[page].profile = RenderProfile(page, seconds, sampler.top(sampler.page_lines),
                                              sampler.top(sampler.functions), sampler.top(sampler.libraries))
        log(f"  render {page:24s} first {first:6.2f} s, warm median {warm.median:6.2f} s, "
            f"cache cleared median {out[page].cleared.median:6.2f} s" + (f"  ERROR {error}" if error else ""))
    st.cache_resource.clear()
    st.cache_data.clear()
    memo_con.close()
    return out


# --- 6. the import ---------------------------------------------------------------------------------------

@dataclass
class ImportResult:
    rows: int
    size_mb: float
    read_csv: Timing
    importer: Timing
    cumulative: list[tuple[str, int, float]] = field(default_factory=list)
    python: list[tuple[str, int, float]] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.importer.median / self.read_csv.median


def time_import(rows: int, runs: int, workdir: Path) -> ImportResult:
    """``import_bench``'s files and its two contenders, run in turns."""
    work = workdir / "import"
    work.mkdir()
    roster, utf8, gb = import_bench.make_files(work, rows)
    base_store = import_bench.base_store_with_roster(work, roster)

    def read_csv() -> None:
        import_bench.read_csv_once(utf8, rows)

    def ours() -> None:
        import_bench.import_once(base_store, gb, rows)

    first_base, first_ours = import_bench.timed(read_csv), import_bench.timed(ours)
    base_times, our_times = [], []
    for _ in range(runs):
        base_times.append(import_bench.timed(read_csv))
        our_times.append(import_bench.timed(ours))
    profiler = cProfile.Profile()  # one more importer run, to see where its time goes
    profiler.enable()
    ours()
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    return ImportResult(rows, gb.stat().st_size / 1e6, Timing(first_base, base_times), Timing(first_ours, our_times),
                        _analytics_cumulative(stats, top=8), _python_hotspots(stats, top=8))


# --- the report --------------------------------------------------------------------------------------------

def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def verdict(value: float, target: float, higher_is_better: bool = False) -> str:
    met = value >= target if higher_is_better else value <= target
    if met:
        return "met"
    if higher_is_better:
        return f"**missed** (a factor of {target / value:.1f} short)"
    factor = value / target
    return f"**missed** ({factor:.2f}× the target)" if factor < 1.1 else f"**missed** ({factor:.1f}× the target)"


@dataclass
class Results:
    machine: dict[str, str]
    store: StoreInfo
    runs: int
    district: str
    person: str
    pages: list[str]
    browser: BrowserResult | None = None
    analytics: dict[tuple[str, str], Timing] = field(default_factory=dict)
    remembered: dict[str, Timing] = field(default_factory=dict)  # 总览 with its findings in the store
    profiles: list[Profile] = field(default_factory=list)
    renders: dict[str, RenderResult] = field(default_factory=dict)
    pandas: list[pandas_baselines.Comparison] = field(default_factory=list)
    pandas_load_seconds: float | None = None
    imports: ImportResult | None = None
    rss: list[tuple[str, float]] = field(default_factory=list)
    load: list[tuple[str, str]] = field(default_factory=list)  # (phase, load average at its end)
    command: str = ""


def _title(page: str) -> str:
    return f"{PAGES[page].title} (`{page}`)"


def summary_rows(r: Results) -> list[tuple[str, str, str, str]]:
    rows = []
    if r.analytics:
        worst_page, worst = max(((k, t.median) for k, t in r.analytics.items()), key=lambda kv: kv[1])
        misses = sum(t.median > TARGET_ANALYTICS_S for t in r.analytics.values())
        rows.append(("each page's analytics, median", "≤ 300 ms",
                     f"slowest {ms(worst)} ms ({PAGES[worst_page[0]].title}, {worst_page[1]}); "
                     f"{misses} of {len(r.analytics)} over", verdict(worst, TARGET_ANALYTICS_S)))
    if r.renders:
        worst_page, worst = max(((p, x.cleared.median) for p, x in r.renders.items()), key=lambda kv: kv[1])
        misses = sum(x.cleared.median > TARGET_RENDER_S for x in r.renders.values())
        rows.append(("each page's full render (AppTest, data cache cleared), median", "≤ 1.5 s",
                     f"slowest {worst:.2f} s ({PAGES[worst_page].title}); {misses} of {len(r.renders)} over",
                     verdict(worst, TARGET_RENDER_S)))
    if r.imports:
        rows.append((f"{r.imports.rows:,}-row GB18030 import ÷ DuckDB read_csv of the UTF-8 copy", "≤ 3×",
                     f"{r.imports.ratio:.1f}× ({r.imports.importer.median:.2f} s ÷ {r.imports.read_csv.median:.2f} s)",
                     verdict(r.imports.ratio, TARGET_IMPORT_RATIO)))
    if r.browser and r.browser.vm_hwm_mb:
        rows.append(("peak memory of the app process (VmHWM) after serving every page", "≤ 2 GB",
                     f"{r.browser.vm_hwm_mb:,.0f} MB", verdict(r.browser.vm_hwm_mb, TARGET_MEMORY_MB)))
    serving = next((v for k, v in r.rss if k == SERVING), None)
    if serving:
        rows.append(("peak memory of this process after analytics and renders (ru_maxrss)", "≤ 2 GB",
                     f"{serving:,.0f} MB", verdict(serving, TARGET_MEMORY_MB)))
    for c in r.pandas:
        rows.append((f"{c.baseline.label}: pandas ÷ ours", "≥ 10×",
                     f"{c.ratio:.1f}× ({ms(statistics.median(c.pandas))} ms ÷ {ms(statistics.median(c.ours))} ms)",
                     verdict(c.ratio, TARGET_PANDAS_RATIO, higher_is_better=True)))
    return rows


def render_markdown(r: Results, notes: str) -> str:
    out: list[str] = []
    w = out.append
    w("# Benchmarks at city scale\n")
    w(f"Generated by `bench/city_bench.py` on {r.machine['date']} (`{r.command}`); every figure is the median "
      f"of {r.runs} runs after one warm-up unless it says otherwise, and every ratio is taken against its "
      "baseline in the same process. Only the *Notes* section at the end is written by hand; the rest is "
      "rewritten by each run.\n")
    w("## How to run\n")
    w("```bash\nmake bench                 # = the line below; make bench DB=PATH for another store\n"
      ".venv/bin/python bench/city_bench.py --db data/city.duckdb [--runs 5]\n```\n")
    w("The store is built first when the file does not exist (`demo.build_demo(con, scale=\"city\")`, the same as "
      "`python -m analytics --db data/city.duckdb demo --scale city`, about two minutes). `--skip-browser`, "
      "`--skip-render`, `--skip-pandas`, `--skip-import` leave a phase out; `--out` writes the report elsewhere. "
      "`bench/pandas_baselines.py --db PATH` runs the pandas comparison alone and `bench/import_bench.py` the "
      "import alone. A full run on the city store takes about half an hour on two cores, and needs Chromium "
      "(`/usr/bin/chromium`) and Playwright for the browser phase (skipped, and said so, without them).\n")

    w("## Machine\n")
    w("| | |\n|---|---|")
    for k, v in r.machine.items():
        w(f"| {k} | {v} |")
    w("\nThe machine's two cores are shared with other work; the load average above says how busy it was.\n")

    w("## Store\n")
    s = r.store
    w(f"`{s.path}`: {s.size_mb:,.0f} MB on disk; {s.origin}."
      + (f" Built by this run in {s.build_seconds:.0f} s (in a child process; its peak memory "
         f"{s.build_peak_mb:,.0f} MB)." if s.build_seconds else "") + "\n")
    w("| table | rows |\n|---|---:|")
    for k, v in s.rows.items():
        w(f"| {k} | {v:,} |")
    w(f"\nOne district = **{r.district}**, the district with the most people (市直 aside).\n")

    w("## Results against the targets\n")
    w("| what | target | result | |\n|---|---|---|---|")
    for what, target, result, v in summary_rows(r):
        w(f"| {what} | {target} | {result} | {v} |")
    w("")

    if r.analytics:
        w("## Page analytics\n")
        w("`analytics.page_analytics`: exactly the store calls each page makes on a first visit with its default "
          "widget choices, each run on a fresh cursor, no Streamlit. Milliseconds; target 300 ms.\n")
        w("| page | filters | median | min | max | first call | target |\n|---|---|---:|---:|---:|---:|---|")
        for page in r.pages:
            for label in ("default", "district"):
                t = r.analytics.get((page, label))
                if t is None:
                    continue
                shown = "default filters" if label == "default" else f"地区 = {r.district}"
                w(f"| {_title(page)} | {shown} | {ms(t.median)} | {ms(t.low)} | {ms(t.high)} | {ms(t.first)} | "
                  f"{verdict(t.median, TARGET_ANALYTICS_S)} |")
        w("")
    if r.remembered:
        w("**总览 once its findings are remembered.** 总览 gathers the findings of seven pages; the app keeps "
          "them in the store (`analytics.memo`) per data version, program version, filters and access grants, so "
          "the figures above are its first visit after an import (or with new filters), and every later visit, "
          "in any session or after a restart, costs what this table says "
          "(`page_analytics.remembered_overview_page`; the first call computes and keeps).\n")
        w("| filters | median | min | max | first call (computes, keeps) | target |\n|---|---:|---:|---:|---:|---|")
        for label, t in r.remembered.items():
            shown = "default filters" if label == "default" else f"地区 = {r.district}"
            w(f"| {shown} | {ms(t.median)} | {ms(t.low)} | {ms(t.high)} | {ms(t.first)} | "
              f"{verdict(t.median, TARGET_ANALYTICS_S)} |")
        w("")

    if r.renders:
        w("## Full render of each page (AppTest)\n")
        w("`AppTest.from_file(app.py)` with `KAOHE_DB` on the store and `KAOHE_DEMO_ON_EMPTY=0`; after a first "
          "run (the default page), `switch_page` to the page; then `at.run()` timed: the first run on the page, "
          f"then {r.runs} reruns with every cache warm (`cache_resource` holds the connection, `cache_data` the "
          f"analytics results once the page caches them), then {r.runs} runs each after `st.cache_data.clear()` "
          "(what a new filter combination costs). The target applies to the cleared-cache column. AppTest runs "
          "the whole script (app.py, sidebar, page, figures, tables) but no browser; see the browser section "
          "for that. Seconds.\n")
        w("| page | first run | warm: median (min–max) | cache cleared: median (min–max) | target |")
        w("|---|---:|---:|---:|---|")
        for page in r.pages:
            x = r.renders.get(page)
            if x is None:
                continue
            err = f" — error: {x.error}" if x.error else ""
            w(f"| {_title(page)}{err} | {x.first:.2f} | {x.warm.median:.2f} ({x.warm.low:.2f}–{x.warm.high:.2f}) | "
              f"{x.cleared.median:.2f} ({x.cleared.low:.2f}–{x.cleared.high:.2f}) | "
              f"{verdict(x.cleared.median, TARGET_RENDER_S)} |")
        w("")
        x = r.renders.get(OVERVIEW)
        if x is not None and x.remembered is not None:
            w(f"For 总览 the cleared-cache runs also empty the store's memo, so they compute its findings; with the "
              f"findings remembered (a later visit, memory caches cleared) it renders in "
              f"**{x.remembered.median:.2f} s** ({x.remembered.low:.2f}–{x.remembered.high:.2f}).\n")

    sampled = [x.profile for x in r.renders.values() if x.profile]
    if sampled:
        w("### Where a render's time goes\n")
        w("Each page over the target rendered once more (cache cleared) while its script thread's stack was sampled "
          "every 5 ms: the share of samples on each statement of the page, in each function of the project "
          "(the innermost one on the stack) and in each library at the top of the stack.\n")
        for p in sampled:
            w(f"**{_title(p.page)}**, {p.seconds:.2f} s sampled.\n")
            w("| page statement | share |\n|---|---:|")
            for key, share in p.page_lines:
                w(f"| `{key}` `{source_line(key).replace('|', '∣')}` | {share:.0%} |")
            w("\n| innermost project function | share |\n|---|---:|")
            for key, share in p.functions:
                w(f"| `{key}` | {share:.0%} |")
            w("\n| library at the top of the stack | share |\n|---|---:|")
            for key, share in p.libraries:
                w(f"| {key} | {share:.0%} |")
            w("")

    if r.browser:
        b = r.browser
        w("## The app process in a browser\n")
        if b.skipped:
            w(f"Not measured: {b.skipped}.\n")
        else:
            w(f"{b.how}. One visit each, so these are single figures, not medians: the first visit to a page "
              "computes its analytics (nothing cached yet for that filter), and the very first also opens the "
              "store. Seconds.\n")
            w(f"| page | default filters | 地区 = {r.district} |\n|---|---:|---:|")
            for page in r.pages:
                a, d = b.first_visit.get((page, "default")), b.first_visit.get((page, "district"))
                problem = b.problems.get((page, "default")) or b.problems.get((page, "district"))
                w(f"| {_title(page)}{' — error: ' + problem if problem else ''} | "
                  f"{'' if a is None else f'{a:.2f}'} | {'' if d is None else f'{d:.2f}'} |")
            w(f"\nPeak resident memory of the app process after all {len(b.first_visit)} visits: "
              f"**{b.vm_hwm_mb:,.0f} MB** (VmHWM; {b.vm_rss_mb:,.0f} MB still resident at the end); "
              f"target 2 GB: {verdict(b.vm_hwm_mb, TARGET_MEMORY_MB)}.\n")

    if r.imports:
        i = r.imports
        w(f"## Import of a {i.rows:,}-row daily log\n")
        w(f"`bench/import_bench.py`'s file ({i.rows:,} rows, {i.size_mb:.1f} MB GB18030 with a title line, "
          "'7.5小时' hours, 2023/1/2 dates) through the full importer (decode, detect, normalise, check, store, "
          "pre-aggregate) into a copy of a store holding the roster, against DuckDB's bare `read_csv` of the UTF-8 "
          "copy into a table, in turns.\n")
        w("| | median | min | max | first |\n|---|---:|---:|---:|---:|")
        w(f"| DuckDB `read_csv` (UTF-8) | {i.read_csv.median:.2f} s | {i.read_csv.low:.2f} | {i.read_csv.high:.2f} | "
          f"{i.read_csv.first:.2f} |")
        w(f"| importer (GB18030) | {i.importer.median:.2f} s | {i.importer.low:.2f} | {i.importer.high:.2f} | "
          f"{i.importer.first:.2f} |")
        w(f"\nRatio {i.ratio:.1f}×; target 3×: {verdict(i.ratio, TARGET_IMPORT_RATIO)}.\n")
        if i.cumulative:
            w("One more importer run under cProfile (with its overhead): the project's functions by cumulative time, "
              "and the functions that take the most time themselves (DuckDB's own work appears as the "
              "project function that called it).\n")
            w("| project function, cumulative | calls | ms |\n|---|---:|---:|")
            for fn, calls, cumulative in i.cumulative:
                w(f"| `{fn}` | {calls:,} | {ms(cumulative)} |")
            w("\n| own time | calls | ms |\n|---|---:|---:|")
            for fn, calls, own in i.python:
                w(f"| `{fn}` | {calls:,} | {ms(own)} |")
            w("")

    if r.pandas:
        w("## Ours against pandas\n")
        w("`bench/pandas_baselines.py`: the three analyses the way a capable analyst would write them in a notebook "
          "(groupby/transform, vectorised exact binomial tails), on DataFrames of the raw tables read from the store "
          f"once, outside the timing ({r.pandas_load_seconds:.0f} s to read; the logs' three needed columns only). "
          "Ours is the analytics function on the store, which computes more than the pandas version (see the "
          "module docstring). Before timing, both results are compared on every row.\n")
        w("| analysis | ours | pandas | pandas ÷ ours | same numbers | target ≥ 10× |\n|---|---|---:|---:|---|---|")
        for c in r.pandas:
            w(f"| {c.baseline.label} | `{c.baseline.ours_label}` {ms(statistics.median(c.ours))} ms | "
              f"{ms(statistics.median(c.pandas))} ms | {c.ratio:.1f}× | {c.rows:,} rows, largest difference "
              f"{c.max_diff:.1e} | {verdict(c.ratio, TARGET_PANDAS_RATIO, higher_is_better=True)} |")
        w("")

    if r.rss:
        w("## Peak memory of the benchmark process\n")
        w("`resource.getrusage(RUSAGE_SELF).ru_maxrss` after each phase (it only grows). The page analytics and "
          "the AppTest renders are what an app process does; the pandas phase holds the raw tables in memory "
          "and the import phase decodes a 50 MB file, so their peaks are the baselines', not the app's.\n")
        w("| after | peak RSS |\n|---|---:|")
        for k, v in r.rss:
            w(f"| {k} | {v:,.0f} MB |")
        w("")
    if r.load:
        w("## How busy the machine was\n")
        w("Load average (1, 5, 15 min) at the end of each phase; above 2 the two cores were shared with other "
          "work and the times of that phase are inflated accordingly.\n")
        w("| phase | load average |\n|---|---|")
        for k, v in r.load:
            w(f"| {k} | {v} |")
        w("")

    if r.profiles:
        w("## Where the time goes\n")
        w("Each page below (the slowest, and every one over its target) run once more with every query timed "
          "(execute and fetch, grouped by the analytics function that ran it, with the slowest query's top "
          "DuckDB operators from its JSON profile), and once under cProfile for the Python side.\n")
        for p in r.profiles:
            share = p.sql_seconds / p.seconds if p.seconds else 0
            w(f"### {_title(p.page)}, {p.filters}: {ms(p.seconds)} ms\n")
            w(f"{len(p.queries)} queries take {ms(p.sql_seconds)} ms ({share:.0%}); the rest, "
              f"{ms(max(p.seconds - p.sql_seconds, 0))} ms, is Python.\n")
            w("| function | queries | ms | share | slowest query's top operators |\n|---|---:|---:|---:|---|")
            for fn, n, secs, ops in p.by_function()[:5]:
                opstr = ", ".join(f"{name} {frac:.0%}" for name, frac in ops)
                w(f"| `{fn}` | {n} | {ms(secs)} | {secs / p.seconds:.0%} | {opstr} |")
            w(f"\nUnder cProfile ({ms(p.profiled_seconds)} ms with its overhead): the analytics functions by "
              "cumulative time (their queries included), and the functions that take the most time themselves "
              "(queries excluded).\n")
            w("| analytics function, cumulative | calls | ms |\n|---|---:|---:|")
            for fn, calls, cumulative in p.cumulative:
                w(f"| `{fn}` | {calls:,} | {ms(cumulative)} |")
            w("\n| own time | calls | ms |\n|---|---:|---:|")
            for fn, calls, own in p.python:
                w(f"| `{fn}` | {calls:,} | {ms(own)} |")
            w("")

    w("## Notes\n")
    w(NOTES_BEGIN)
    w(notes.strip("\n") if notes.strip() else "(Reading of the results, written by hand.)")
    w(NOTES_END + "\n")
    return "\n".join(out)


def kept_notes(path: Path) -> str:
    if not path.exists():
        return ""
    text = path.read_text(encoding="utf-8")
    match = re.search(re.escape(NOTES_BEGIN) + r"\n?(.*?)" + re.escape(NOTES_END), text, re.S)
    return match.group(1) if match else ""


def print_summary(r: Results) -> None:
    log("\nresults against the targets")
    for what, target, result, v in summary_rows(r):
        log(f"  {what}: {result} (target {target}) -> {v.replace('**', '')}")


# --- main ------------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, type=Path, help="the city-scale store (built when missing)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scale", default="city", help="demo scale to build when --db does not exist")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--import-rows", type=int, default=1_000_000)
    parser.add_argument("--profile", type=int, default=3, help="profile this many of the slowest pages (and "
                        "every page over its target)")
    for phase in ("browser", "render", "pandas", "import"):
        parser.add_argument(f"--skip-{phase}", action="store_true")
    args = parser.parse_args()
    db = args.db.resolve()
    workdir = Path(tempfile.mkdtemp(prefix="kaohe-city-bench-"))
    try:
        info = ensure_store(db, args.scale)
        con = store.connect(db)
        district, person = largest_district(con), first_person(con)
        con.close()
        pages = page_paths()
        r = Results(machine(), info, args.runs, district, person, pages,
                    command="python bench/city_bench.py " + " ".join(sys.argv[1:]))
        log(f"store {db}: {info.rows.get('people', 0):,} people, {info.rows.get('worklogs', 0):,} log rows, "
            f"{info.size_mb:,.0f} MB; one district = {district}")

        if not args.skip_browser:
            log("1. the app in a browser")
            r.browser = browse(db, pages, district, person, workdir)
            r.load.append(("browser", load_average()))
            if r.browser.skipped:
                log(f"  skipped: {r.browser.skipped}")
        con = store.connect(db)
        filter_sets = {"default": Filters(), "district": Filters(districts=(district,))}
        log("2. page analytics")
        r.analytics = time_page_analytics(con, pages, filter_sets, args.runs)
        r.remembered = time_remembered_overview(con, filter_sets, args.runs)
        r.load.append(("page analytics", load_average()))
        r.rss.append(("the page analytics", peak_rss_mb()))
        log("3. profiles")
        slow = sorted(r.analytics.items(), key=lambda kv: -kv[1].median)
        chosen, seen = [], set()
        for (page, label), t in slow:
            if page in seen:
                continue
            if t.median > TARGET_ANALYTICS_S or len(chosen) < args.profile:
                chosen.append((page, label))
                seen.add(page)
        for page, label in chosen:
            r.profiles.append(profile_page(con, page, "default filters" if label == "default" else f"地区 = {district}",
                                           filter_sets[label], workdir))
            log(f"  profiled {page} ({label})")
        con.close()
        gc.collect()

        if not args.skip_render:
            log("4. full renders (AppTest)")
            r.renders = time_renders(db, pages, args.runs, person)
            r.load.append(("AppTest renders", load_average()))
            gc.collect()
        r.rss.append((SERVING, peak_rss_mb()))

        if not args.skip_pandas:
            log("5. ours against pandas")
            con = store.connect(db)
            start = time.perf_counter()
            frames = pandas_baselines.load_frames(con)
            r.pandas_load_seconds = time.perf_counter() - start
            log(f"  read the raw tables in {r.pandas_load_seconds:.1f} s")
            r.pandas = pandas_baselines.run(con, frames, args.runs, log=log)
            r.load.append(("ours against pandas", load_average()))
            del frames
            con.close()
            gc.collect()
            r.rss.append(("the pandas comparison (raw tables in DataFrames)", peak_rss_mb()))

        if not args.skip_import:
            log(f"6. the {args.import_rows:,}-row import")
            r.imports = time_import(args.import_rows, args.runs, workdir)
            r.load.append(("import", load_average()))
            log(f"  read_csv {r.imports.read_csv.median:.2f} s, importer {r.imports.importer.median:.2f} s, "
                f"{r.imports.ratio:.1f}x")
            r.rss.append(("the import", peak_rss_mb()))

        notes = kept_notes(args.out)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(render_markdown(r, notes), encoding="utf-8")
        print_summary(r)
        log(f"\nwritten to {args.out}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
