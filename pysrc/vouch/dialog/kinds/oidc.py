"""Linked accounts: an identity at an OpenID provider (Google, or any configured one).

The owner links one by signing in at the provider in a popup opened from their click; the
provider sends back an ID token whose nonce is base64url(SHA-256(guardians message)) of the
very change that adds the guardian, and the passkey confirmation then stores both. A
recovery signs in again: the nonce is base64url(SHA-256(recovery message)), so that token
approves this account, this challenge and this new passkey only.

The popup is the implicit flow (`response_type=id_token`, fragment): the page has no
secret to exchange a code with, and the server verifies the token against the provider's
published keys. The provider's address comes from the server's /api/config, never from
the page's URL, and the popup's answer reaches the dialog by postMessage from our own
callback page, checked for our exact origin and that very window (`jsbridge`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from vouch.core import kinds
from vouch.core.b64url import b64url_decode, b64url_encode
from vouch.core.messages import GuardiansChange, guardians_message, oidc_nonce_for
from vouch.dialog.errors import UserFacingError
from vouch.dialog.kinds.base import (
    AccountModel,
    AddButton,
    Approval,
    ApprovalStep,
    Change,
    DialogKind,
    Guardian,
    SetupStep,
    approval_of,
    new_entry,
)
from vouch.dialog.shell import Shell, SignInWindow

KIND = kinds.OIDC
SALT_BYTES = 16
LABEL_MAX = 100  # the server's limit on a label

ProviderInfo = Mapping[str, Any]  # one of /api/config's oidc_providers

# Pure builders -------------------------------------------------------------------------


def providers(config: Mapping[str, Any] | None) -> list[ProviderInfo]:
    """The OpenID providers the server runs (none before /api/config has answered)."""
    return list((config or {}).get("oidc_providers") or [])


def provider_named(config: Mapping[str, Any] | None, name: str) -> ProviderInfo:
    """A provider by name, or a sentence saying it cannot be used now."""
    for provider in providers(config):
        if provider.get("name") == name:
            if not provider.get("available") or not provider.get("authorization_endpoint"):
                raise UserFacingError(
                    str(provider.get("message") or "This provider cannot be reached right now.")
                )
            return provider
    if config is None:
        raise UserFacingError("Still loading the sign-in settings: try again in a moment.")
    raise UserFacingError("This server no longer offers that sign-in: use another guardian.")


def display_name(config: Mapping[str, Any] | None, name: str) -> str:
    for provider in providers(config):
        if provider.get("name") == name:
            return str(provider.get("display_name") or name)
    return name


def build_entry(provider: str, *, label: str, salt: bytes | None = None) -> Guardian:
    """A linked account's entry: the provider's name and a fresh salt for the server's
    commitment of the identity (it keeps HMAC(salt, sub), so two accounts' links differ)."""
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    return new_entry(KIND, label=label, provider=provider, salt=b64url_encode(salt))


def authorization_url(provider: ProviderInfo, *, nonce: str, state: str) -> str:
    """The provider's sign-in page, asking for an ID token carrying `nonce`."""
    query = urlencode(
        {
            "client_id": provider["client_id"],
            "response_type": provider.get("response_type", "id_token"),
            "response_mode": provider.get("response_mode", "fragment"),
            "scope": provider.get("scope", "openid"),
            "redirect_uri": provider["redirect_uri"],
            "nonce": nonce,
            "state": state,
        }
    )
    endpoint = str(provider["authorization_endpoint"])
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def link_nonce(account: str, challenge: str, config: Mapping[str, Any]) -> str:
    """The nonce that binds an ID token to one guardians change (its prefetched challenge)."""
    message = guardians_message(
        GuardiansChange(
            account=account,
            challenge=b64url_decode(challenge, what="challenge"),
            config=dict(config),
        )
    )
    return oidc_nonce_for(message)


def shown_identity(id_token: str) -> str | None:
    """Who the provider says signed in (its `email` claim), read, not verified, from the
    token, only so the owner sees which account they are linking. The server checks the
    token and keeps none of it but the commitment."""
    try:
        payload = id_token.split(".")[1]
        claims = json.loads(b64url_decode(payload, what="ID token"))
    except (IndexError, ValueError):
        return None
    email = claims.get("email") if isinstance(claims, dict) else None
    return email if isinstance(email, str) and email else None


def approval(guardian: Guardian, id_token: str) -> Approval:
    return approval_of(KIND, guardian, id_token)


def choice_text(guardian: Guardian, config: Mapping[str, Any] | None) -> str:
    """ "Sign in with Google", and the label when it says more than the kind's."""
    display = display_name(config, str(guardian.get("provider", "")))
    label = str(guardian["label"])
    text = f"Sign in with {display}"
    return text if label == KIND.label else f"{text} ({label})"


def title(guardian: Guardian, config: Mapping[str, Any] | None) -> str:
    """ "Google account", on the account screen."""
    return f"{display_name(config, str(guardian.get('provider', '')))} account"


def add_buttons(config: Mapping[str, Any] | None, _model: AccountModel) -> list[AddButton]:
    """One button per provider the server runs ("Link Google account")."""
    return [
        AddButton(
            text=f"Link {provider.get('display_name') or provider['name']} account",
            action=f"link-{provider['name']}",
            choice=str(provider["name"]),
        )
        for provider in providers(config)
    ]


# Screens -------------------------------------------------------------------------------


def _sign_in(shell: Shell, provider: ProviderInfo, nonce: str) -> SignInWindow:
    """Open the provider's page, inside the click (a popup opened later is blocked)."""
    state = secrets.token_urlsafe(16)
    return shell.page.open_sign_in(authorization_url(provider, nonce=nonce, state=state), state)


def _wait(shell: Shell, window: SignInWindow, display: str) -> None:
    screen = shell.show("tpl-oidc-wait")
    screen.set_text("h2", f"Sign in with {display}")
    screen.set_text(
        "[data-slot=text]",
        f"Continue in the {display} window. If you cannot see it, it may be behind this one.",
    )
    screen.on("[data-action=cancel]", "click", window.close)


def setup(shell: Shell, step: SetupStep) -> None:
    """Say what linking keeps, take an optional label, then sign in at the provider."""
    config = shell.server_config
    try:
        provider = provider_named(config, step.choice or "")
    except UserFacingError as exc:
        step.back()
        shell.error(str(exc))
        return
    display = str(provider.get("display_name") or provider["name"])
    screen = shell.show("tpl-oidc-link")
    screen.set_text("h2", f"Link your {display} account")
    screen.set_text(
        "[data-slot=lede]",
        f"If you lose your passkey, signing in with {display} gets you back in. You will "
        f"sign in with {display} in a new window now.",
    )
    screen.set_text("[data-action=continue]", f"Continue with {display}")
    screen.on("[data-action=back]", "click", step.back)

    def begin() -> None:
        # Without a name of the owner's, the kind's own label: what a decoy's shows too.
        typed = screen.value("#oidc-label").strip()[:LABEL_MAX]
        label = typed or step.model.default_label(KIND.name)
        prefetched = step.take_confirmation()
        if prefetched is None:
            shell.error("Still preparing: try again in a moment.")
            shell.spawn(step.refetch())
            return
        entry = build_entry(str(provider["name"]), label=label)
        change_config = step.model.adding([entry])
        nonce = link_nonce(step.model.account, prefetched["challenge"], change_config)
        window = _sign_in(shell, provider, nonce)

        async def link() -> None:
            _wait(shell, window, display)
            id_token = (await window.result())["id_token"]
            who = shown_identity(id_token)
            signed_in = f"You signed in with {display}" + (f" as {who}." if who else ".")
            step.confirm(
                Change(
                    config=change_config,
                    heading=f"Link {display} account",
                    summary=f"{signed_in} It becomes a guardian once you confirm with the "
                    "passkey you sign in with.",
                    saved=f"{display} account linked.",
                    links=({"guardian_id": entry["id"], KIND.proof_field: id_token},),
                    confirmation=prefetched,
                )
            )

        def failed() -> None:
            step.back()
            shell.spawn(step.refetch())

        shell.run(link, on_error=failed)

    screen.on_submit("[data-form=oidc-link]", begin)
    screen.focus("#oidc-label")


def approve(shell: Shell, step: ApprovalStep) -> None:
    """Sign in at the guardian's provider; its ID token approves this recovery."""
    config = shell.server_config
    name = str(step.guardian.get("provider", ""))
    try:
        provider = provider_named(config, name)
    except UserFacingError as exc:
        step.back()
        shell.error(str(exc))
        return
    display = display_name(config, name)
    window = _sign_in(shell, provider, oidc_nonce_for(step.flow.message()))

    async def work() -> None:
        _wait(shell, window, display)
        id_token = (await window.result())["id_token"]
        shell.show_busy("Checking…")
        await step.check(approval(step.guardian, id_token))

    shell.run(work, on_error=step.back)


DIALOG = DialogKind(
    kind=KIND,
    add_text="Link account",
    use_text="Sign in with linked account",
    ask_for="Sign in with your linked account",
    setup=setup,
    approve=approve,
    add_buttons=add_buttons,
    choice=choice_text,
    title=title,
)
