"""What the dialog leaves out of its first bytes, and the screens that wait for it.

The rest of the standard library and our packages' zip (zxcvbn, segno) are fetched once
the dialog is interactive; the passphrase and recovery-kit screens wait for them.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Route, expect

from tests.support.browser import PageWatch, VirtualAuthenticator
from tests.support.dialog_driver import DialogDriver
from tests.support.live_server import LiveServer

DEFERRED = re.compile(r"/(python_stdlib|vouch-site)\.[0-9a-f]{16}\.zip$")

# When <html data-ready> turns "true", on the page's own clock.
READY_AT = """
new MutationObserver((_, observer) => {
  if (document.documentElement?.dataset.ready === "true") {
    window.__readyAt = performance.now();
    observer.disconnect();
  }
}).observe(document, { attributes: true, attributeFilter: ["data-ready"], subtree: true });
"""


def resource_starts(page: Page) -> dict[str, float]:
    entries: list[dict[str, Any]] = page.evaluate(
        "() => performance.getEntriesByType('resource')"
        ".map((e) => ({ name: e.name, start: e.startTime }))"
    )
    return {entry["name"]: entry["start"] for entry in entries}


def test_deferred_files_are_fetched_after_the_dialog_is_ready(
    page: Page, live_server: LiveServer
) -> None:
    page.add_init_script(READY_AT)
    page.goto(f"{live_server.url}/dialog.html")
    page.wait_for_selector("html[data-ready=true]", timeout=60_000)
    page.wait_for_function(
        "() => performance.getEntriesByType('resource')"
        ".filter((e) => /(python_stdlib|vouch-site)\\.[0-9a-f]+\\.zip$/.test(e.name)"
        " && e.responseEnd > 0).length === 2"
    )
    ready_at = page.evaluate("() => window.__readyAt")
    starts = resource_starts(page)
    deferred = {url: start for url, start in starts.items() if DEFERRED.search(url)}
    assert len(deferred) == 2, starts
    assert all(start >= ready_at for start in deferred.values()), (ready_at, deferred)
    # Everything else the dialog asked for came first: nothing but the two zips is late.
    assert any(url.endswith(".snapshot") and start < ready_at for url, start in starts.items())


def test_passphrase_screen_waits_for_the_deferred_files(
    page: Page,
    watch: PageWatch,
    authenticator: VirtualAuthenticator,
    live_server: LiveServer,
    output_dir: Path,
) -> None:
    held: list[Route] = []
    aborted: list[str] = []
    failing = True

    def hold_or_fail(route: Route) -> None:
        if failing:
            aborted.append(route.request.url)
            route.abort()
        else:
            held.append(route)

    page.route(DEFERRED, hold_or_fail)
    dialog = DialogDriver(page, output_dir)
    page.goto(f"{live_server.url}/dialog.html")
    page.wait_for_selector("html[data-ready=true]", timeout=60_000)
    dialog.create_account(f"late-{secrets.token_hex(3)}")

    # The download failed (here, on purpose): the click says so and changes nothing.
    dialog.button("Add passphrase").click()
    expect(dialog.alert()).to_have_text(
        "The server could not be reached. Check your connection and try again."
    )
    expect(dialog.button("Add passphrase")).to_be_visible()
    dialog.screen("deferred-download-failed")

    # Chromium logs each aborted load, some after the dialog has already said so: wait for
    # one log line per abort, then expect nothing else.
    def logged() -> list[str]:
        return [error for error in watch.errors if "ERR_FAILED" in error]

    for _ in range(100):
        if len(logged()) >= len(aborted):
            break
        page.wait_for_timeout(50)
    assert aborted
    assert len(logged()) == len(aborted) == len(watch.errors), (aborted, watch.errors)
    watch.errors.clear()

    # Still on its way: the click shows a busy screen until the files are in.
    failing = False
    dialog.button("Add passphrase").click()
    expect(page.get_by_text("Loading…")).to_be_visible()
    dialog.screen("waiting-for-deferred-files")
    page.wait_for_timeout(300)
    expect(page.get_by_label("Passphrase", exact=True)).to_have_count(0)
    for route in held:
        route.continue_()
    page.unroute(DEFERRED)
    passphrase = page.get_by_label("Passphrase", exact=True)
    expect(passphrase).to_be_visible()
    passphrase.fill("correct horse battery staple orbit")
    expect(page.locator("[data-slot=strength]")).to_contain_text("Good")
    dialog.screen("passphrase-after-deferred-files")
