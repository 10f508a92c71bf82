"""A scripted client of a live vouch server: accounts, guardians and recoveries, made with
the dialog's own pure code (the builders and approvals of `vouch.dialog.kinds`, the
message of `vouch.dialog.recovery_flow`), keys derived with NativeProvider and WebAuthn from
the soft authenticator. So the server tests and bench test the client that ships.

Every successful answer is checked against the response schema its endpoint declares, so
the OpenAPI document is exercised by every test that uses this client.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx
from jsonschema import Draft202012Validator

from tests.support.soft_authenticator import SoftAuthenticator, b64, unb64
from vouch.core import codes
from vouch.core.kdf import Argon2Params
from vouch.core.keys import GuardianKey
from vouch.core.kinds import KINDS
from vouch.core.messages import (
    GuardiansChange,
    NewCredential,
    RecoveryRequest,
    guardians_message,
    recovery_message,
    webauthn_challenge_for,
)
from vouch.crypto.native import NativeProvider
from vouch.dialog import kinds as dialog_kinds
from vouch.dialog.guardian_setup import new_guardian_id
from vouch.dialog.kinds.base import signed_approval
from vouch.dialog.recovery_flow import RecoveryFlow
from vouch.server.kinds import KindRegistry
from vouch.server.recovery import reference as recovery_reference
from vouch.server.routes import all_endpoints

PROVIDER = NativeProvider()
# The cheapest parameters vouch's policy accepts: the tests are about the server.
CHEAP_KDF = Argon2Params(memory_kib=19 * 1024, iterations=2, lanes=1)


@functools.cache
def _schemas(kinds: KindRegistry | None) -> dict[tuple[str, str], dict[str, Any]]:
    """The response schemas of a server running `kinds` (None: the default ones)."""
    endpoints = all_endpoints() if kinds is None else all_endpoints(kinds)
    return {(e.method, e.path): {"200": e.response_schema, **e.other_responses} for e in endpoints}


def unique_name(prefix: str = "user") -> str:
    return f"{prefix}-{secrets.token_hex(5)}"


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


_CLIENTS: list[httpx.Client] = []


def close_clients() -> None:
    """Close every client an Api made."""
    while _CLIENTS:
        _CLIENTS.pop().close()


class ApiError(AssertionError):
    pass


class Api:
    """httpx against one live server; `call` checks the status and the response schema."""

    def __init__(
        self,
        url: str,
        *,
        base_url: str = "",
        transport: httpx.HTTPTransport | None = None,
        kinds: KindRegistry | None = None,
    ):
        """`url` is the origin the dialog runs at; `base_url` where requests go, if elsewhere;
        `kinds` the guardian kinds the server runs, if not the default ones (its schemas)."""
        self.url = url
        self.schemas = _schemas(kinds)
        self.http = httpx.Client(base_url=base_url or url, timeout=30, transport=transport)
        # Kept until close_clients() (end of the session), so no keep-alive socket is left
        # to the garbage collector, which would warn about it in whatever test runs then.
        _CLIENTS.append(self.http)

    def request(
        self, method: str, path: str, body: Any = None, *, session: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {session}"} if session else {}
        if body is None and method == "GET":
            return self.http.request(method, path, headers=headers)
        return self.http.request(method, path, json=body, headers=headers)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        session: str | None = None,
        status: int = 200,
    ) -> dict[str, Any]:
        response = self.request(method, path, body, session=session)
        if response.status_code != status:
            raise ApiError(f"{method} {path}: {response.status_code} {response.text}")
        data: dict[str, Any] = response.json()
        schema = self.schemas[(method, path)].get(str(status))
        if schema is not None:
            Draft202012Validator(schema).validate(data)
        return data

    def refused(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        status: int,
        code: str,
        session: str | None = None,
    ) -> dict[str, Any]:
        """The error object of a refusal with exactly this status and code."""
        response = self.request(method, path, body, session=session)
        assert response.status_code == status, f"{response.status_code} {response.text}"
        error: dict[str, Any] = response.json()["error"]
        assert error["code"] == code, error
        return error


# Accounts ----------------------------------------------------------------------------------


@dataclass
class User:
    username: str
    account: str
    session: str
    device: SoftAuthenticator
    token: str = ""

    @property
    def passkey(self) -> str:
        (credential,) = self.device.credentials.values()
        return credential.id_b64


def register(api: Api, username: str | None = None) -> User:
    username = username or unique_name()
    device = SoftAuthenticator(api.url)
    options = api.call("POST", "/api/register/options", {})
    credential = device.create({**options["options"], "user": {**options["options"]["user"]}})
    body = {"challenge_id": options["challenge_id"], "username": username, "credential": credential}
    result = api.call("POST", "/api/register/verify", body)
    return User(username, result["account"], result["session"], device, result["token"])


def sign_in(api: Api, device: SoftAuthenticator, **kwargs: Any) -> httpx.Response:
    options = api.call("POST", "/api/signin/options", {})
    assertion = device.get(options["options"], **kwargs)
    return api.request(
        "POST",
        "/api/signin/verify",
        {"challenge_id": options["challenge_id"], "credential": assertion},
    )


# Guardians ---------------------------------------------------------------------------------


@dataclass
class Guardian:
    """A guardian as its owner holds it: the configuration entry and what is behind it
    (the keys its secrets derive to, by the dialog's `derive_key`; or the other passkey)."""

    entry: dict[str, Any]
    keys: list[GuardianKey] = field(default_factory=list)
    device: SoftAuthenticator | None = None

    @property
    def id(self) -> str:
        return str(self.entry["id"])

    @property
    def kind(self) -> str:
        return str(self.entry["kind"])


def guardian_id() -> str:
    return new_guardian_id()


def passphrase_guardian(user: User, passphrase: str = "correct horse battery staple") -> Guardian:
    async def make() -> Guardian:
        entry = await dialog_kinds.passphrase.build_entry(
            PROVIDER, passphrase, account=user.account, label="Passphrase", params=CHEAP_KDF
        )
        key = await dialog_kinds.passphrase.derive_key(
            PROVIDER, entry, passphrase, account=user.account
        )
        return Guardian(entry, [key])

    guardian: Guardian = run(make())
    return guardian


def recovery_code_guardian(user: User) -> Guardian:
    code = codes.new_recovery_code()

    async def make() -> Guardian:
        entry = await dialog_kinds.recovery_code.build_entry(
            PROVIDER, code, account=user.account, label="Recovery code"
        )
        key = await dialog_kinds.recovery_code.derive_key(
            PROVIDER, entry, code, account=user.account
        )
        return Guardian(entry, [key])

    guardian: Guardian = run(make())
    return guardian


def backup_codes_guardian(user: User) -> Guardian:
    made = codes.new_backup_codes()

    async def make() -> Guardian:
        entry = await dialog_kinds.backup_codes.build_entry(
            PROVIDER, made, account=user.account, label="Backup codes"
        )
        keys = [
            await dialog_kinds.backup_codes.derive_key(PROVIDER, entry, code, account=user.account)
            for code in made
        ]
        return Guardian(entry, keys)

    guardian: Guardian = run(make())
    return guardian


def passkey_guardian(api: Api, user: User) -> Guardian:
    """A security key registered through the API (pending until a configuration names it)."""
    device = SoftAuthenticator(api.url)
    options = api.call("POST", "/api/guardians/passkey/options", {}, session=user.session)
    credential = device.create(options["options"])
    result = api.call(
        "POST",
        "/api/guardians/passkey",
        {"challenge_id": options["challenge_id"], "credential": credential},
        session=user.session,
    )
    entry = dialog_kinds.passkey.build_entry(result["credential_id"], label="Second passkey")
    return Guardian(entry, device=device)


def confirm_change(api: Api, user: User, config: dict[str, Any]) -> dict[str, Any]:
    """The PUT /api/guardians body, confirmed with the user's sign-in passkey."""
    options = api.call("POST", "/api/guardians/options", {}, session=user.session)
    message = guardians_message(GuardiansChange(user.account, unb64(options["challenge"]), config))
    request_options = {**options["options"], "challenge": b64(webauthn_challenge_for(message))}
    assertion = user.device.get(request_options)
    return {"challenge_id": options["challenge_id"], "config": config, "assertion": assertion}


def save_guardians(
    api: Api, user: User, threshold: int, guardians: list[Guardian]
) -> dict[str, Any]:
    config = {"threshold": threshold, "guardians": [g.entry for g in guardians]}
    return api.call(
        "PUT", "/api/guardians", confirm_change(api, user, config), session=user.session
    )


# Recovery ----------------------------------------------------------------------------------


@dataclass
class Recovery:
    """One recovery in progress on a new device, as the dialog drives it."""

    start: dict[str, Any]
    device: SoftAuthenticator
    registration: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.start["recovery_id"])

    @property
    def reference(self) -> str:
        """What the server keeps and shows of this recovery: its id is a bearer secret."""
        return recovery_reference(self.id)

    @property
    def flow(self) -> RecoveryFlow:
        """The dialog's own model of this recovery."""
        return RecoveryFlow(start=self.start, credential=self.registration)

    def new_credential(self) -> NewCredential:
        return self.flow.new_credential()

    def new_credential_json(self) -> dict[str, str]:
        return self.flow.new_credential_json()

    def message(self, **overrides: Any) -> bytes:
        """The recovery message; `overrides` change its fields, to make a wrong one."""
        if not overrides:
            return self.flow.message()
        fields = {
            "account": self.start["account"],
            "challenge": unb64(self.start["challenge"]),
            "expires": self.start["expires"],
            "rp_id": self.start["rp_id"],
            "new_credential": self.new_credential(),
            **overrides,
        }
        return recovery_message(RecoveryRequest(**fields))

    def approve(self, guardian: Guardian, *, code: int = 0, **overrides: Any) -> dict[str, Any]:
        """The guardian's approval, made as the dialog makes it (backup code `code`)."""
        message = self.message(**overrides)
        if guardian.device is not None:
            options = dialog_kinds.passkey.request_options(
                guardian.entry, message, rp_id=self.flow.rp_id
            )
            return dialog_kinds.passkey.approval(guardian.entry, guardian.device.get(options))
        kind = KINDS[guardian.kind]
        key = guardian.keys[code]
        approval: dict[str, Any] = run(
            signed_approval(PROVIDER, kind, guardian.entry, key, message)
        )
        return approval

    def execute_body(self, approvals: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return {
            "recovery_id": self.id,
            "credential": self.registration,
            "approvals": approvals,
            **extra,
        }


def start_recovery(api: Api, username: str, **create_kwargs: Any) -> Recovery:
    start = api.call("POST", "/api/recovery/start", {"username": username})
    device = SoftAuthenticator(api.url)
    registration = device.create(start["registration"]["options"], **create_kwargs)
    return Recovery(start, device, registration)


def execute(
    api: Api, recovery: Recovery, approvals: list[dict[str, Any]], *, status: int = 200
) -> dict[str, Any]:
    return api.call(
        "POST", "/api/recovery/execute", recovery.execute_body(approvals), status=status
    )
