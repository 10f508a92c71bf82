"""OpenID guardians against a real provider (tests/support/oidc_provider.mjs): linking one at a
guardian change and approving a recovery with it, as the dialog will (its pure builders
come with the dialog step; until then the entry and approval are built here)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tests.server.conftest import start
from tests.server.helpers import Api, Guardian, Recovery, User, guardian_id
from tests.support import oidc_provider
from tests.support.live_server import LiveServer
from tests.support.oidc_provider import CLIENT_ID, OpenIDProvider
from tests.support.soft_authenticator import b64, unb64
from vouch.core.messages import (
    GuardiansChange,
    guardians_message,
    oidc_nonce_for,
    webauthn_challenge_for,
)
from vouch.server.kinds import KindRegistry, kinds_for
from vouch.server.oidc.provider import Providers
from vouch.server.oidc.settings import ProviderSettings

PROVIDER = "test"


def registry(issuer: str = "http://localhost:1") -> KindRegistry:
    """The kinds of a server with one provider (its schemas do not depend on the issuer)."""
    return kinds_for(
        Providers.from_settings((ProviderSettings(PROVIDER, issuer, CLIENT_ID, "Test"),))
    )


def provider_fixture(directory: Path) -> Iterator[OpenIDProvider]:
    oidc_provider.require_node()
    with oidc_provider.running_provider(directory) as provider:
        yield provider


def start_vouch(directory: Path, issuer: str, *args: str) -> LiveServer:
    return start(directory, "--oidc-provider", f"{PROVIDER}={issuer},{CLIENT_ID}", *args)


def oidc_guardian(label: str = "Linked account") -> Guardian:
    entry = {
        "id": guardian_id(),
        "kind": "oidc",
        "label": label,
        "provider": PROVIDER,
        "salt": b64(secrets.token_bytes(16)),
    }
    return Guardian(entry)


Linker = Callable[[bytes], dict[str, str]]  # guardians message -> {guardian id: ID token}


def change_body(
    api: Api, user: User, threshold: int, guardians: list[Guardian], tokens: Linker
) -> dict[str, Any]:
    """The PUT /api/guardians body: the new OpenID guardians linked by tokens for this
    change's message (`tokens` gets the message, as the dialog's popup gets its nonce)."""
    config: dict[str, Any] = {"threshold": threshold, "guardians": [g.entry for g in guardians]}
    options = api.call("POST", "/api/guardians/options", {}, session=user.session)
    message = guardians_message(GuardiansChange(user.account, unb64(options["challenge"]), config))
    request_options = {**options["options"], "challenge": b64(webauthn_challenge_for(message))}
    assertion = user.device.get(request_options)
    links = [{"guardian_id": gid, "id_token": token} for gid, token in tokens(message).items()]
    body = {"challenge_id": options["challenge_id"], "config": config, "assertion": assertion}
    if links:
        body["links"] = links
    return body


def link(
    api: Api,
    op: OpenIDProvider,
    user: User,
    threshold: int,
    guardians: list[Guardian],
    subs: dict[str, str],
) -> dict[str, Any]:
    """Save the configuration, linking guardian id -> sub with real tokens for this change."""

    def tokens(message: bytes) -> dict[str, str]:
        return {gid: op.id_token(oidc_nonce_for(message), sub=sub) for gid, sub in subs.items()}

    body = change_body(api, user, threshold, guardians, tokens)
    return api.call("PUT", "/api/guardians", body, session=user.session)


def approval(guardian_id: str, token: str) -> dict[str, str]:
    return {"guardian_id": guardian_id, "id_token": token}


def approve(op: OpenIDProvider, recovery: Recovery, guardian: Guardian, sub: str) -> dict[str, str]:
    return approval(guardian.id, op.id_token(oidc_nonce_for(recovery.message()), sub=sub))


def check_body(recovery: Recovery, approval_: dict[str, str]) -> dict[str, Any]:
    return {
        "recovery_id": recovery.id,
        "new_credential": recovery.new_credential_json(),
        "approval": approval_,
    }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], claims: dict[str, Any], key: bytes = b"") -> str:
    """A token an attacker makes: HS256 over `key` (a public key's bytes), or no signature."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if header.get("alg") == "HS256":
        signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}"
    return f"{signing_input}."
