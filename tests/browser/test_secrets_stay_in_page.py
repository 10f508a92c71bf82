"""Passphrases, codes and derived private keys never leave the page.

The test sets up guardians and recovers through the real dialog, records every request
(URL and body), every console line, localStorage, sessionStorage and IndexedDB, and searches
all of it for each secret in every encoding it could plausibly travel in.
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import open_dialog
from tests.support.browser import PageWatch, VirtualAuthenticator
from tests.support.dialog_driver import SLOW, DialogDriver
from tests.support.live_server import LiveServer
from tests.support.native import run_native
from vouch.core import codes, keys
from vouch.core.b64url import b64url_decode
from vouch.core.kdf import Argon2Params
from vouch.core.passphrase import normalize_passphrase
from vouch.crypto.native import NativeProvider

PASSPHRASE = "saffron Harbor glacier 1947 pencil drift"


def encodings(secret: bytes) -> set[str]:
    return {
        secret.hex(),
        base64.b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode().rstrip("="),
    }


def text_forms(secret: str) -> set[str]:
    compact = secret.replace("-", "").replace(" ", "")
    return {secret, secret.lower(), compact, compact.lower(), json.dumps(secret)[1:-1]}


def derived_seeds(config: dict[str, Any], account: str, recovery_code: str) -> list[bytes]:
    """Recompute the guardians' private keys natively from the public config."""
    provider = NativeProvider()

    async def derive() -> list[bytes]:
        seeds = []
        for guardian in config["guardians"]:
            salt = b64url_decode(guardian["salt"])
            if guardian["kind"] == "passphrase":
                key = await keys.derive_passphrase_key(
                    provider,
                    PASSPHRASE,
                    salt=salt,
                    account_id=account,
                    params=Argon2Params.from_dict(guardian["kdf"]),
                )
            else:
                key = await keys.derive_recovery_code_key(
                    provider,
                    codes.parse_recovery_code(recovery_code),
                    salt=salt,
                    account_id=account,
                )
            assert b64url_decode(guardian["public_key"]) == key.public_key, (
                "the page derived a different key than CPython"
            )
            seeds.append(key.seed)
        return seeds

    return run_native(derive())


def page_storage(page: Page) -> str:
    return str(
        page.evaluate(
            """async () => {
                const dump = {local: {...localStorage}, session: {...sessionStorage}, idb: []};
                for (const info of await indexedDB.databases()) {
                    dump.idb.push(info.name);
                    const db = await new Promise((ok, err) => {
                        const open = indexedDB.open(info.name);
                        open.onsuccess = () => ok(open.result);
                        open.onerror = () => err(open.error);
                    });
                    for (const store of db.objectStoreNames) {
                        const all = await new Promise((ok) => {
                            const req = db.transaction(store).objectStore(store).getAll();
                            req.onsuccess = () => ok(req.result);
                        });
                        dump.idb.push(JSON.stringify(all, (k, v) =>
                            v instanceof Uint8Array || v instanceof ArrayBuffer
                                ? Array.from(new Uint8Array(v)) : v));
                    }
                    db.close();
                }
                dump.caches = [];
                for (const name of await caches.keys()) {
                    const cache = await caches.open(name);
                    for (const request of await cache.keys()) dump.caches.push(request.url);
                }
                return JSON.stringify(dump);
            }"""
        )
    )


def test_secrets_never_leave_the_page(
    page: Page,
    authenticator: VirtualAuthenticator,
    live_server: LiveServer,
    watch: PageWatch,
    output_dir: Path,
) -> None:
    username = f"sec-{secrets.token_hex(3)}"
    dialog = DialogDriver(page, check_a11y=False)
    open_dialog(page, live_server)
    dialog.create_account(username)
    dialog.add_passphrase(PASSPHRASE)
    [recovery_code] = dialog.add_codes("recovery code")
    with page.expect_request("**/api/guardians") as saved:
        dialog.set_threshold(2, 2)
    config = json.loads(saved.value.post_data or "{}")["config"]
    account = json.loads(
        page.evaluate("() => fetch('/api/recovery/start', {method: 'POST', headers: "
                      "{'Content-Type': 'application/json'}, body: JSON.stringify({username: "
                      f"'{username}'}})}}).then(r => r.text())")
    )["account"]  # fmt: skip

    authenticator.remove()
    VirtualAuthenticator(authenticator.cdp).add()
    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    dialog.start_recovery(username)
    dialog.approve_with_secret("Use passphrase", "Passphrase", PASSPHRASE)
    expect(page.get_by_text("1 more approval needed.")).to_be_visible(timeout=SLOW)
    dialog.approve_with_secret("Use recovery code", "Recovery code", recovery_code)
    dialog.button("Not now").click()  # the offer of a new recovery code
    dialog.expect_signed_in(username)

    seeds = derived_seeds(config, account, recovery_code)
    needles = {
        *text_forms(PASSPHRASE),
        *text_forms(normalize_passphrase(PASSPHRASE)),
        *text_forms(recovery_code),
        *encodings(codes.parse_recovery_code(recovery_code)),
        *(form for seed in seeds for form in encodings(seed)),
    }
    sent = [
        f"{request.method} {request.url}\n{request.post_data or ''}" for request in watch.requests
    ]
    haystacks = {"requests": "\n".join(sent), "console": "\n".join(watch.console),
                 "storage": page_storage(page)}  # fmt: skip

    # CacheStorage holds only the build's immutable assets (the Python memory snapshot,
    # made at build time before any user was involved), never anything from this session.
    cached = json.loads(haystacks["storage"])["caches"]
    assert all(f"{live_server.url}/v/" in url for url in cached), cached

    # The capture works: what is meant to travel does show up in it.
    assert username in haystacks["requests"]
    assert config["guardians"][0]["public_key"] in haystacks["requests"]
    for where, haystack in haystacks.items():
        leaked = sorted(needle for needle in needles if needle in haystack)
        assert leaked == [], f"secrets found in {where}: {leaked}"
