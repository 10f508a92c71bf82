"""Drive the dialog like a person: by visible labels and button names, never by internals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

AXE_SCRIPT = "/vendor/axe-core/axe.min.js"
SLOW = 60_000  # passphrase derivation (Argon2id, 64 MiB) runs in the page


class DialogDriver:
    def __init__(self, page: Page, output_dir: Path | None = None, *, check_a11y: bool = True):
        self.page = page
        self.output_dir = output_dir
        self.check_a11y = check_a11y
        self.screens: list[str] = []

    # Observation --------------------------------------------------------------------------

    def screen(self, name: str) -> None:
        """Screenshot the current screen (light and dark) and run axe-core on it."""
        self.screens.append(name)
        if self.output_dir is not None:
            self.page.screenshot(
                path=self.output_dir / f"{len(self.screens):02d}-{name}.png", full_page=True
            )
        if self.check_a11y:
            violations = axe_violations(self.page)
            assert violations == [], f"axe-core violations on {name}: {violations}"

    def alert(self) -> Any:
        return self.page.get_by_role("alert")

    def button(self, name: str) -> Any:
        return self.page.get_by_role("button", name=name, exact=True)

    # Start --------------------------------------------------------------------------------

    def create_account(
        self, username: str, *, stays_open: bool = True, set_up: bool = False
    ) -> None:
        """Create an account and answer the recovery offer that follows: "Later", or with
        `set_up` leave it on screen. An embedded popup closes itself once the host has the
        token."""
        self.page.get_by_label("Account name").fill(username)
        self.button("Create account").click()
        expect(self.page.get_by_role("heading", name="Protect your account")).to_be_visible(
            timeout=SLOW
        )
        if set_up:
            return
        self.button("Later").click()
        if stays_open:
            expect(self.page.get_by_text(f"Signed in as {username}")).to_be_visible(timeout=SLOW)

    def set_up_now(self, frame: Any = None) -> None:
        """Accept the recovery offer. Its change is prepared while the offer is read, so
        the click starts the passkey prompt; clicked before that (a slow machine), it shows
        the confirmation screen instead, whose button starts it."""
        where = frame or self.page
        where.get_by_role("button", name="Set up now", exact=True).click()
        kit = where.get_by_role("heading", name="Save your recovery code")
        confirm = where.get_by_role("button", name="Confirm with passkey", exact=True)
        expect(kit.or_(confirm)).to_be_visible(timeout=SLOW)
        if confirm.is_visible():
            confirm.click()

    def sign_in(self) -> None:
        self.button("Sign in with passkey").click()

    # Account screen -----------------------------------------------------------------------

    def confirm_change(self, name: str | None = None) -> None:
        """The confirmation screen of a change: its passkey prompt starts in the click."""
        expect(self.button("Confirm with passkey")).to_be_visible(timeout=SLOW)
        if name is not None:
            self.screen(name)
        self.button("Confirm with passkey").click()

    def add_passphrase(self, passphrase: str) -> None:
        self.button("Add passphrase").click()
        self.page.get_by_label("Passphrase", exact=True).fill(passphrase)
        expect(self.page.locator("[data-slot=strength]")).to_contain_text("Good")
        self.screen("add-passphrase")
        self.page.get_by_role("button", name="Add passphrase").click()
        self.confirm_change()
        expect(self.page.get_by_text("Passphrase saved.")).to_be_visible(timeout=SLOW)

    def read_kit(self, kind: str, name: str | None = None) -> list[str]:
        """The codes of the kit on screen, once its guardian is saved; then leave it."""
        expect(self.page.get_by_role("heading", name=f"Save your {kind}")).to_be_visible(
            timeout=SLOW
        )
        codes = [
            text.strip() for text in self.page.locator("[data-slot=codes] li").all_inner_texts()
        ]
        self.screen(name or f"kit-{kind.replace(' ', '-')}")
        done = self.page.locator("[data-action=confirm]")
        expect(done).to_be_disabled()
        self.page.get_by_label("I have saved this somewhere safe").check()
        done.click()
        return codes

    def add_codes(self, kind: str, *, button: str | None = None) -> list[str]:
        """Add a recovery code ("recovery code") or ten backup codes ("backup codes"); with
        `button` "Get new backup codes", renew the set."""
        self.button(button or f"Add {kind}").click()
        self.confirm_change()
        codes = self.read_kit(kind)
        saved = f"New {kind} saved." if button else f"{kind.capitalize()} saved."
        expect(self.page.get_by_text(saved)).to_be_visible(timeout=SLOW)
        return codes

    def set_threshold(self, needed: int, total: int) -> None:
        self.button("Change approvals needed").click()
        self.page.get_by_label("Approvals needed", exact=True).select_option(f"{needed} of {total}")
        self.screen("threshold")
        self.button("Confirm with passkey").click()
        expect(self.page.get_by_text(f"Recovery now needs {needed} of {total}")).to_be_visible(
            timeout=SLOW
        )

    # Recovery -----------------------------------------------------------------------------

    def start_recovery(self, username: str) -> None:
        self.button("Recover account").click()
        self.page.get_by_label("Account name").fill(username)
        self.screen("recover-name")
        self.button("Continue").click()
        expect(self.button("Create new passkey")).to_be_visible(timeout=SLOW)
        self.screen("recover-new-passkey")
        self.button("Create new passkey").click()
        expect(self.page.get_by_role("heading", name="Confirm it is you")).to_be_visible(
            timeout=SLOW
        )

    def approve_with_secret(self, use_button: str, field: str, secret: str) -> None:
        self.page.get_by_role("button", name=use_button).click()
        self.page.get_by_label(field, exact=True).fill(secret)
        self.button("Approve").click()

    def expect_signed_in(self, username: str) -> None:
        expect(self.page.get_by_text(f"Signed in as {username}")).to_be_visible(timeout=SLOW)


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core (served by our own server) on the current document; [] when clean."""
    if not page.evaluate("() => Boolean(window.axe)"):
        page.add_script_tag(url=AXE_SCRIPT)
    result = page.evaluate(
        """async () => {
            const results = await axe.run(document, {resultTypes: ["violations"]});
            return JSON.stringify(results.violations.map(v => ({
                id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(" "))
            })));
        }"""
    )
    violations: list[dict[str, Any]] = json.loads(result)
    return violations
