"""Browser fixtures: one Chromium per session, a fresh context, page and authenticator per test.

Every test fails if its page asked another origin for anything or logged an uncaught error.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.support.browser import (
    CHROMIUM_ARGS,
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


@pytest.fixture(scope="session")
def built_web() -> Path:
    web = ROOT / "web"
    if not (web / "pyodide" / "pyodide-lock.json").exists():
        pytest.fail("web/ assets are not built: run scripts/setup (or scripts/build_web.py)")
    return web


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def browser(playwright: Playwright, built_web: Path) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=chromium_executable(), args=CHROMIUM_ARGS, headless=True
    )
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context()
    yield context
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
    page.wait_for_selector("html[data-ready=true]", timeout=60_000)
    return page
