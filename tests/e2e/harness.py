"""The pieces the browser tests and ``screenshots.py`` share: start the app on a free port, drive
Debian's Chromium with Playwright, wait for Streamlit to be idle, and read what is on screen.

No pytest in here, so ``screenshots.py`` can use it as a plain script.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit

try:  # the dev requirements pin playwright; without it the tests are skipped loudly, not crashed
    from playwright.sync_api import Browser, Locator, Page, Playwright, expect
except ImportError:  # pragma: no cover - reported by browser_problem()
    Browser = Locator = Page = Playwright = object  # type: ignore[misc,assignment]

    def expect(*args, **kwargs):  # type: ignore[no-redef]
        raise RuntimeError("playwright is not installed")

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("KAOHE_E2E_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 900}
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
NO_SKELETON = "() => !document.querySelector(\"[data-testid='stSkeleton']\")"
# The administrator account every test app has (the store asks for sign-in once it holds real data,
# e.g. after the import test's upload); tests of other roles add their own accounts.
ADMIN = ("e2e-admin", "e2e admin password")
SIGN_IN_TITLE = "考核分析看板"
FIRST_PAGE_TIMEOUT_S = 300  # the first page builds the demo data (about 25 s on two busy cores)
STEP_TIMEOUT_MS = 90_000  # one page run on a shared two-core machine


# --- the app process ---------------------------------------------------------------------------------


def free_port() -> int:
    """A port nobody listens on right now (Streamlit binds every interface, so check them all)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        return sock.getsockname()[1]


@dataclass
class App:
    """A running ``streamlit run app.py`` on its own store, with its log in a file."""

    proc: subprocess.Popen
    port: int
    workdir: Path
    log_path: Path
    _log: object = field(repr=False, default=None)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def samples(self) -> Path:
        """Where the app writes the sample export files on its first start (next to the store)."""
        return self.workdir / "samples"

    def url(self, path: str = "/", **params: str | list[str]) -> str:
        query = urlencode(params, doseq=True, quote_via=quote)
        return f"{self.base_url}{path}" + (f"?{query}" if query else "")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as resp:
            return resp.status == 200 and resp.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


def start_app(workdir: Path, timeout_s: float = 90, attempts: int = 3,
              accounts: dict[str, tuple[str, str, tuple[str, ...]]] | None = None,
              env_extra: dict[str, str] | None = None) -> App:
    """Start the app on a fresh store in ``workdir`` (demo data on first page load, unless the store
    is already there) and wait until its health endpoint answers. The accounts file holds ``ADMIN``
    and ``accounts`` (name -> (password, role, districts)). Raises RuntimeError with the log if it
    never answers."""
    if str(ROOT) not in sys.path:  # screenshots.py runs this as a plain script
        sys.path.insert(0, str(ROOT))
    from analytics import users

    workdir.mkdir(parents=True, exist_ok=True)
    users_file = workdir / "users.json"
    if not users_file.exists():
        users.add(users_file, ADMIN[0], ADMIN[1], "admin")
        for name, (password, role, districts) in (accounts or {}).items():
            users.add(users_file, name, password, role, districts=districts)
    env = {
        **os.environ,
        "KAOHE_DB": str(workdir / "e2e.duckdb"),
        "KAOHE_ID_KEY": "e2e",
        "KAOHE_DEMO_ON_EMPTY": "1",
        "KAOHE_USERS_FILE": str(users_file),
        "KAOHE_CONFIG": str(workdir / "absent.toml"),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        **(env_extra or {}),
    }
    problem = ""
    for attempt in range(attempts):
        port = free_port()
        log_path = workdir / f"app-{attempt}.log"
        log = log_path.open("w", encoding="utf-8")
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
             "--server.port", str(port), "--server.headless", "true"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        app = App(proc, port, workdir, log_path, log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and proc.poll() is None:
            if _healthy(port):
                return app
            time.sleep(0.25)
        app.stop()
        problem = app.log()[-3000:]
        if "is not available" not in problem:  # only a port taken in between is worth a retry
            break
    raise RuntimeError(f"the app did not start (no answer from /_stcore/health); its log:\n{problem}")


# --- the browser ---------------------------------------------------------------------------------------


def browser_problem() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"the Python package playwright is not installed ({exc}); pip install -r requirements-dev.txt"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium fonts-noto-cjk)"
    return None


def launch(pw: Playwright) -> Browser:
    return pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)


def wait_idle(page: Page, timeout_ms: float = STEP_TIMEOUT_MS) -> None:
    """Streamlit has finished the current run and drawn everything."""
    page.wait_for_selector(IDLE, state="attached", timeout=timeout_ms)
    page.wait_for_function(NO_SKELETON, timeout=timeout_ms)


def open_url(page: Page, url: str, timeout_ms: float = STEP_TIMEOUT_MS,
             as_user: tuple[str, str] | None = ADMIN) -> None:
    """Open ``url`` in ``page`` (a new Streamlit session). If the app asks for sign-in, sign in as
    ``as_user`` (unless None), as someone opening a bookmark would."""
    page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
    page.locator("h1").first.wait_for(timeout=timeout_ms)
    wait_idle(page, timeout_ms)
    if as_user is not None and signing_in(page):
        sign_in(page, *as_user, timeout_ms=timeout_ms)


def signing_in(page: Page) -> bool:
    """The sign-in form is on screen."""
    return h1(page) == [SIGN_IN_TITLE] and main(page).get_by_role("button", name="登录").count() > 0


def sign_in(page: Page, username: str, password: str, timeout_ms: float = STEP_TIMEOUT_MS) -> None:
    form = main(page).locator("[data-testid='stForm']")
    form.get_by_label("账号").fill(username)
    form.get_by_label("密码").fill(password)
    # Wait for the run the click starts (not a message left from an earlier attempt): an observer
    # notes when Streamlit's script state turns to running.
    page.evaluate("""() => {
        window.__kaoheRan = false;
        const app = document.querySelector("[data-testid='stApp']");
        new MutationObserver(() => {
            if (app.getAttribute('data-test-script-state') === 'running') window.__kaoheRan = true;
        }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
    }""")
    form.get_by_role("button", name="登录").click()
    page.wait_for_function("() => window.__kaoheRan", timeout=timeout_ms)
    # Then until the form has gone (signed in: the run reruns into the page) or says why not. After an
    # earlier failed attempt its message may still show: callers then wait for what they expect.
    page.wait_for_function(
        "() => document.querySelector(\"[data-testid='stAlertContentError']\")"
        " || !Array.from(document.querySelectorAll('h1')).some(h => h.innerText.trim() === '考核分析看板')",
        timeout=timeout_ms)
    wait_idle(page, timeout_ms)


def query(page: Page) -> dict[str, list[str]]:
    """The page URL's query parameters, decoded."""
    return parse_qs(urlsplit(page.url).query)


def url_path(page: Page) -> str:
    return urlsplit(page.url).path


# --- what is on screen -------------------------------------------------------------------------------


def main(page: Page) -> Locator:
    return page.locator("[data-testid='stMain']")


def sidebar(page: Page) -> Locator:
    return page.locator("[data-testid='stSidebar']")


def page_nav_labels(page: Page) -> list[str]:
    """The page names the sidebar navigation offers (app.py keeps it expanded: no "View N more")."""
    links = page.locator("[data-testid='stSidebarNav'] a[data-testid='stSidebarNavLink']")
    links.first.wait_for()
    return [t.split("\n")[-1].strip() for t in links.all_inner_texts()]


def h1(page: Page) -> list[str]:
    return [t.strip() for t in main(page).locator("h1").all_inner_texts()]


DEMO_BANNER = "当前是演示数据"


def problems(page: Page) -> list[str]:
    """Everything on the page that means something went wrong, in words (empty when fine)."""
    found = []
    exceptions = page.locator("[data-testid='stException']")
    if exceptions.count():
        found.append("exception box: " + " | ".join(exceptions.all_inner_texts())[:500])
    errors = page.locator("[data-testid='stAlertContentError']")
    if errors.count():
        found.append("error alert: " + " | ".join(errors.all_inner_texts())[:500])
    text = page.locator("body").inner_text()
    for marker in ("Traceback", "This app has encountered an error", "Page not found",
                   "暂时无法汇总", "发生意外错误"):
        if marker in text:
            found.append(f"text on the page: {marker!r}")
    dialogs = page.locator("[role='dialog']")
    if dialogs.count():
        found.append("dialog: " + " | ".join(dialogs.all_inner_texts())[:300])
    return found


def selectbox(page: Page, label: str) -> Locator:
    """The input of an ``st.selectbox`` in the main area; its value is the option shown."""
    return main(page).locator(f"[data-testid='stSelectbox'] input[aria-label='{label}']")


def chips(page: Page, label: str) -> list[str]:
    """The values chosen in one of the sidebar multiselects."""
    box = sidebar(page).locator("[data-testid='stMultiSelect']").filter(
        has=page.locator("label", has_text=label))
    return [t.strip() for t in box.locator("[data-tag] [title]").all_inner_texts()]


def sidebar_options(page: Page, label: str) -> list[str]:
    """The options of a sidebar multiselect (opens its list and closes it again)."""
    box = sidebar(page).locator(f"input[aria-label='{label}']")
    box.click()
    box.press("ArrowDown")
    options = page.get_by_role("option")
    options.first.wait_for()
    texts = [t.strip() for t in options.all_inner_texts()]
    page.keyboard.press("Escape")
    return texts


def choose(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in the sidebar multiselect ``label`` the way a user does: type, click."""
    box = sidebar(page).locator(f"input[aria-label='{label}']")
    box.click()
    box.press_sequentially(option)
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")


def dataframe_header(frame: Locator) -> list[str]:
    """Column headers of an ``st.dataframe`` (from the grid's accessible table)."""
    frame.scroll_into_view_if_needed()
    heads = frame.locator("th[role='columnheader']")
    heads.first.wait_for(state="attached")
    return [t.strip() for t in heads.all_inner_texts()]


def dataframe_rows(frame: Locator) -> list[list[str]]:
    """The rows the grid has rendered (all of them for short tables), from its accessible table: the
    values themselves (1487, 33.49…), not the column formats drawn on the canvas (1,487, 33.5%)."""
    frame.scroll_into_view_if_needed()
    frame.locator("th[role='columnheader']").first.wait_for(state="attached")
    return frame.evaluate(
        "f => Array.from(f.querySelectorAll('tbody tr')).map(tr =>"
        " Array.from(tr.querySelectorAll('td')).map(td => td.innerText.trim()))")


def dataframe_row_count(frame: Locator) -> int:
    """Data rows of the whole table, rendered or not (aria-rowcount counts the header row)."""
    frame.locator("th[role='columnheader']").first.wait_for(state="attached")
    return int(frame.locator("table[role='grid']").get_attribute("aria-rowcount")) - 1


def dataframe_with(page: Page, column: str) -> Locator:
    """The first ``st.dataframe`` in the main area that has a column headed ``column``."""
    return main(page).locator("[data-testid='stDataFrame']").filter(
        has=page.locator("th[role='columnheader']", has_text=column)).first


def download_button(frame: Locator, label: str) -> Locator:
    """The「下载 CSV」/「下载 Excel」button under a table (blocks.table puts them right after it)."""
    return frame.locator(
        f"xpath=following::*[@data-testid='stDownloadButton'][.//*[normalize-space(text())='{label}']][1]//button")


# --- plotly charts ---------------------------------------------------------------------------------------

_POINTS_JS = """(chart) => {
  const out = [];
  chart.querySelectorAll('.scatterlayer .trace, .barlayer .trace').forEach((tr, t) => {
    const cd = tr.__data__; const trace = cd && cd[0] && cd[0].trace;
    tr.querySelectorAll('.point').forEach((pt, k) => {
      const d = pt.__data__; const r = pt.getBoundingClientRect();
      out.push({trace: t, k: k, name: trace ? trace.name : null, type: trace ? trace.type : null,
                custom: trace && trace.customdata && d ? trace.customdata[d.i] : null,
                width: r.width, height: r.height});
    });
  });
  return out;
}"""

_POINT_BOX_JS = """(chart, where) => {
  const tr = chart.querySelectorAll('.scatterlayer .trace, .barlayer .trace')[where.trace];
  const pt = tr.querySelectorAll('.point')[where.k];
  if (where.scroll) pt.scrollIntoView({block: 'center', inline: 'center'});
  const r = pt.getBoundingClientRect();
  return {x: r.x + Math.min(r.width / 2, 30), y: r.y + r.height / 2};
}"""


def chart_titles(page: Page) -> list[str]:
    return main(page).locator("[data-testid='stPlotlyChart']").evaluate_all(
        "cs => cs.map(c => { const g = c.querySelector('.js-plotly-plot');"
        " return g && g.layout && g.layout.title ? String(g.layout.title.text || '') : ''; })")


def chart(page: Page, title_part: str) -> Locator:
    """The plotly chart in the main area whose title contains ``title_part``."""
    titles = chart_titles(page)
    for i, title in enumerate(titles):
        if title_part in title:
            return main(page).locator("[data-testid='stPlotlyChart']").nth(i)
    raise AssertionError(f"no chart titled …{title_part}… on {page.url}; titles: {titles}")


def chart_under(page: Page, heading: str) -> Locator:
    """The first plotly chart after the heading (st.subheader) that contains ``heading``."""
    return main(page).locator(
        f"xpath=.//*[self::h2 or self::h3][contains(normalize-space(.), '{heading}')]"
        "/following::*[@data-testid='stPlotlyChart'][1]")


def chart_traces(frame: Locator) -> list[dict]:
    """Each trace's type, name and data as plotly holds them (for before/after comparisons)."""
    return frame.evaluate(
        "c => c.querySelector('.js-plotly-plot').data.map(t => ({type: t.type, name: t.name || null,"
        " x: Array.from(t.x || []), y: Array.from(t.y || [])}))")


def chart_points(frame: Locator) -> list[dict]:
    """Every SVG point or bar of a plotly chart, with its trace name and customdata."""
    frame.locator(".js-plotly-plot").wait_for()
    if frame.locator("canvas.gl-canvas, .gl-container canvas").count():
        raise AssertionError("this chart draws with WebGL (scattergl): its points are not SVG elements "
                             "and cannot be clicked reliably in headless Chromium")
    return frame.evaluate(_POINTS_JS)


def click_point(page: Page, frame: Locator, point: dict) -> None:
    """Click one plotly point at its place on screen (plotly reacts to the mouse, not the element)."""
    frame.evaluate(_POINT_BOX_JS, {**point, "scroll": True})
    page.wait_for_timeout(200)  # let the scroll settle before measuring again
    box = frame.evaluate(_POINT_BOX_JS, {**point, "scroll": False})
    page.mouse.move(box["x"] - 5, box["y"])
    page.mouse.move(box["x"], box["y"])
    page.wait_for_timeout(150)  # plotly finds the hovered point on mousemove
    page.mouse.click(box["x"], box["y"])


# --- screenshots -----------------------------------------------------------------------------------------


def full_screenshot(page: Page, path: Path, max_height: int = 20_000) -> None:
    """The whole page: Streamlit scrolls inside stMain, so grow the viewport to the content first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height = page.evaluate(
        "() => Math.max(document.querySelector('[data-testid=stMain]').scrollHeight,"
        " document.querySelector('[data-testid=stSidebarContent]')?.scrollHeight || 0)")
    size = page.viewport_size or VIEWPORT
    page.set_viewport_size({"width": size["width"], "height": min(max(height, size["height"]), max_height)})
    try:
        page.wait_for_timeout(300)
        page.screenshot(path=str(path))
    finally:
        page.set_viewport_size(size)
