"""Browser fixtures: one Chromium per session, a fresh context, page and authenticator per test.

Every test fails if its page asked another origin for anything, logged an uncaught error or
crashed. Each test's context is closed when it ends, so its renderer (Pyodide, Argon2id's
memory) is gone before the next test starts.

Sync Playwright's event loop is attached to the main thread only while a test of this
directory runs (see PlaywrightLoop), so tests elsewhere may use asyncio.run() in any order.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from tests.support.browser import (
    ACTION_TIMEOUT_MS,
    CHROMIUM_ARGS,
    EXPECT_TIMEOUT_MS,
    NAVIGATION_TIMEOUT_MS,
    PLAYWRIGHT_LOOP,
    PageWatch,
    VirtualAuthenticator,
    attach_authenticator,
    chromium_executable,
)
from tests.support.live_server import LiveServer

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


# These hooks run for the tests of this directory only (a conftest's runtest hooks apply to
# the items below it): each phase gets Playwright's loop attached, and detached after.
@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    with PLAYWRIGHT_LOOP.attached():
        yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    with PLAYWRIGHT_LOOP.attached():
        yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    with PLAYWRIGHT_LOOP.attached():
        yield


@pytest.fixture(scope="session")
def built_web() -> Path:
    web = ROOT / "web"
    if not (web / "pyodide" / "pyodide-lock.json").exists():
        pytest.fail("web/ assets are not built: run scripts/setup (or scripts/build_web.py)")
    return web


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    instance = sync_playwright().start()
    PLAYWRIGHT_LOOP.adopt()
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    try:
        yield instance
    finally:
        # The session may end with a test of another directory, whose teardown runs this.
        with PLAYWRIGHT_LOOP.attached():
            instance.stop()
        PLAYWRIGHT_LOOP.forget()


@pytest.fixture(scope="session")
def browser(playwright: Playwright, built_web: Path) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=chromium_executable(), args=CHROMIUM_ARGS, headless=True
    )
    try:
        yield browser
    finally:
        with PLAYWRIGHT_LOOP.attached():
            browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context()
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def watch(live_server: LiveServer) -> PageWatch:
    return PageWatch(origin=live_server.url)


@pytest.fixture
def page(context: BrowserContext, watch: PageWatch) -> Iterator[Page]:
    page = context.new_page()
    watch.attach(page)
    yield page
    watch.assert_clean()


@pytest.fixture
def authenticator(context: BrowserContext, page: Page) -> VirtualAuthenticator:
    return attach_authenticator(context, page)


def open_dialog(page: Page, server: LiveServer) -> Page:
    page.goto(f"{server.url}/dialog.html")
    page.wait_for_selector("html[data-ready=true]", timeout=NAVIGATION_TIMEOUT_MS)
    return page
