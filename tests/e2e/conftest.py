"""Browser tests: one app process on a fresh demo store, one Chromium, one reused page.

When the browser cannot run here the tests are skipped with a loud message (and a banner in the
terminal summary); on CI (env CI set) they fail instead. They never pass quietly.
"""

from __future__ import annotations

import os
import re

import harness
import pytest

_NOT_RUN: list[str] = []  # why the browser tests did not run, for the terminal summary


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _cannot_run(reason: str) -> None:
    message = f"浏览器测试未运行 / BROWSER TESTS DID NOT RUN: {reason}"
    if message not in _NOT_RUN:
        _NOT_RUN.append(message)
    if _on_ci():
        pytest.fail(message + " (CI is set, so this is a failure)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser():
    problem = harness.browser_problem()
    if problem:
        _cannot_run(problem)
    from playwright.sync_api import Error, expect, sync_playwright

    expect.set_options(timeout=harness.STEP_TIMEOUT_MS)  # a page run can take a while on two busy cores
    pw = sync_playwright().start()
    try:
        chromium = harness.launch(pw)
    except Error as exc:
        pw.stop()
        _cannot_run(f"Chromium at {harness.CHROMIUM} did not start: {str(exc).splitlines()[0]}")
    yield chromium
    chromium.close()
    pw.stop()


@pytest.fixture(scope="session")
def context(browser):
    ctx = browser.new_context(viewport=harness.VIEWPORT, accept_downloads=True, locale="zh-CN")
    ctx.set_default_timeout(harness.STEP_TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture(scope="session")
def shared_page(context):
    page = context.new_page()
    page.js_errors = []  # uncaught errors in the page's JavaScript
    page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))
    yield page
    page.close()


@pytest.fixture(scope="session")
def app(tmp_path_factory, shared_page):
    """The app on a fresh store, after its first page has built the demo data and samples."""
    workdir = tmp_path_factory.mktemp("e2e")
    try:
        running = harness.start_app(workdir)
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        harness.open_url(shared_page, running.url("/"), timeout_ms=harness.FIRST_PAGE_TIMEOUT_S * 1000)
        assert harness.h1(shared_page) == ["总览"], harness.h1(shared_page)
        assert (running.samples / "含错误示例_季度结果.csv").exists(), "the demo start wrote no sample files"
    except Exception:
        print(running.log()[-5000:])
        running.stop()
        raise
    yield running
    running.stop()


@pytest.fixture
def page(app, shared_page):
    """The reused browser page, clean for each test (normal size, no JS errors recorded)."""
    shared_page.set_viewport_size(harness.VIEWPORT)
    shared_page.js_errors.clear()
    return shared_page


@pytest.fixture(autouse=True)
def no_server_errors(request):
    """Fail a test whose run made the app log a Python traceback (the user sees none: the app
    hides error details, so the log is where an exception shows)."""
    if "app" not in request.fixturenames:
        yield
        return
    running = request.getfixturevalue("app")
    start = running.log_size()
    yield
    new = running.log_since(start)
    if re.search(r"Traceback|Uncaught app exception|Exception in", new):
        pytest.fail(f"the app logged an error during this test:\n{new[-4000:]}", pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, keep a screenshot of the browser page in test-artifacts/failures/."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed or "shared_page" not in item.fixturenames:
        return
    page = item.funcargs.get("page") or item.funcargs.get("shared_page")
    if page is None:
        return
    path = harness.ARTIFACTS / "failures" / f"{item.name}.png"
    try:
        harness.full_screenshot(page, path)
        report.sections.append(("browser", f"screenshot: {path}\nurl: {page.url}"))
    except Exception as exc:  # a failure screenshot must never hide the failure itself
        report.sections.append(("browser", f"no screenshot ({exc})"))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _NOT_RUN:
        return
    terminalreporter.write_sep("!", red=True, bold=True)
    for message in _NOT_RUN:
        terminalreporter.write_line(message, red=True, bold=True)
    terminalreporter.write_line(
        "The end-to-end tests in tests/e2e did not run (skipped here; on CI they fail). To run them: "
        "apt-get install -y chromium fonts-noto-cjk, and pip install -r requirements-dev.txt.",
        red=True, bold=True)
    terminalreporter.write_sep("!", red=True, bold=True)
