"""The README screenshots: the top of 总览, 等次分布 and 数据导入 (with a sample file checked) at
1400×900, on a fresh demo store.

    /tmp/venv/bin/python tests/e2e/screenshots.py [OUT_DIR]     (default: docs/screenshots)

The browser tests call ``take()`` too (into test-artifacts/readme/), so this script keeps working.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import harness

OUT = harness.ROOT / "docs" / "screenshots"
IMPORT_SAMPLE = "平时考核结果_2026年第一季度_汇总表.xlsx"  # analytics.samples.F_QUARTERLY_XLSX


def _top(page, path: Path) -> Path:
    """The top of the page as a user first sees it: scrolled up, no hover effects."""
    page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTo(0, 0)")
    page.mouse.move(harness.VIEWPORT["width"] - 5, harness.VIEWPORT["height"] - 5)
    page.wait_for_timeout(400)  # let hover effects and chart transitions settle
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    return path


def take(page, app: harness.App, out_dir: Path) -> list[Path]:
    """Write overview.png, grade_spread.png and import.png into ``out_dir``; returns the paths."""
    page.set_viewport_size(harness.VIEWPORT)
    shots = []
    for name, url_path in (("overview", "/"), ("grade_spread", "/grade_spread")):
        harness.open_url(page, app.url(url_path))
        shots.append(_top(page, out_dir / f"{name}.png"))

    harness.open_url(page, app.url("/import_data"))
    with page.expect_file_chooser() as chooser:
        harness.main(page).locator("[data-testid='stFileUploaderDropzone'] button").click()
    chooser.value.set_files(str(app.samples / IMPORT_SAMPLE))
    harness.main(page).locator("[data-testid='stExpander'] summary").filter(has_text="可导入").wait_for()
    harness.wait_idle(page)
    shots.append(_top(page, out_dir / "import.png"))
    return shots


def main(argv: list[str]) -> int:
    problem = harness.browser_problem()
    if problem:
        print(f"cannot take screenshots: {problem}", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    out_dir = Path(argv[0]).resolve() if argv else OUT
    with tempfile.TemporaryDirectory(prefix="kaohe-shots-") as tmp, sync_playwright() as pw:
        app = harness.start_app(Path(tmp))
        try:
            browser = harness.launch(pw)
            page = browser.new_page(viewport=harness.VIEWPORT, locale="zh-CN")
            harness.open_url(page, app.url("/"), timeout_ms=harness.FIRST_PAGE_TIMEOUT_S * 1000)  # builds the demo
            for path in take(page, app, out_dir):
                print(f"{path}  {path.stat().st_size // 1024} KB")
            browser.close()
        finally:
            app.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
