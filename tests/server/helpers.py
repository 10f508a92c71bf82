"""Scripted clients for the live server: accounts, guardians and recoveries, done the way the
dialog does them (keys derived with NativeProvider, WebAuthn from the soft authenticator).

Every successful answer is checked against the response schema its endpoint declares, so
the OpenAPI document is exercised by every test that uses these helpers.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft202012Validator

from tests.support.soft_authenticator import SoftAuthenticator, b64, unb64
from vouch.core import codes, keys
from vouch.core.kdf import Argon2Params
from vouch.core.messages import (
    GuardiansChange,
    NewCredential,
    RecoveryRequest,
    guardians_message,
    recovery_message,
    webauthn_challenge_for,
)
from vouch.crypto.native import NativeProvider
from vouch.server.routes import all_endpoints

PROVIDER = NativeProvider()
# The cheapest parameters vouch's policy accepts: the tests are about the server.
CHEAP_KDF = Argon2Params(memory_kib=19 * 1024, iterations=2, lanes=1)
ACCOUNT_TABLES = (
    "accounts",
    "credentials",
    "sessions",
    "guardians",
    "backup_codes",
    "recoveries",
)
_SCHEMAS = {
    (endpoint.method, endpoint.path): {"200": endpoint.response_schema, **endpoint.other_responses}
    for endpoint in all_endpoints()
}


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
        self, url: str, *, base_url: str = "", transport: httpx.HTTPTransport | None = None
    ):
        """`url` is the origin the dialog runs at; `base_url` where requests go, if elsewhere."""
        self.url = url
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
        schema = _SCHEMAS[(method, path)].get(str(status))
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
    """A guardian as its owner holds it: the configuration entry and the secret behind it."""

    entry: dict[str, Any]
    keys: list[keys.GuardianKey] = field(default_factory=list)
    device: SoftAuthenticator | None = None

    @property
    def id(self) -> str:
        return str(self.entry["id"])

    @property
    def kind(self) -> str:
        return str(self.entry["kind"])


def guardian_id() -> str:
    return secrets.token_urlsafe(9)


def passphrase_guardian(user: User, passphrase: str = "correct horse battery staple") -> Guardian:
    salt = secrets.token_bytes(16)
    key = run(
        keys.derive_passphrase_key(
            PROVIDER, passphrase, salt=salt, account_id=user.account, params=CHEAP_KDF
        )
    )
    entry = {
        "id": guardian_id(),
        "kind": "passphrase",
        "label": "Passphrase",
        "public_key": b64(key.public_key),
        "salt": b64(salt),
        "kdf": CHEAP_KDF.to_dict(),
    }
    return Guardian(entry, [key])


def recovery_code_guardian(user: User) -> Guardian:
    salt = secrets.token_bytes(16)
    code = codes.parse_recovery_code(codes.new_recovery_code())
    key = run(keys.derive_recovery_code_key(PROVIDER, code, salt=salt, account_id=user.account))
    entry = {
        "id": guardian_id(),
        "kind": "recovery_code",
        "label": "Recovery code",
        "public_key": b64(key.public_key),
        "salt": b64(salt),
    }
    return Guardian(entry, [key])


def backup_codes_guardian(user: User) -> Guardian:
    salt = secrets.token_bytes(16)

    async def derive() -> list[keys.GuardianKey]:
        return [
            await keys.derive_backup_code_key(
                PROVIDER, codes.parse_backup_code(code), salt=salt, account_id=user.account
            )
            for code in codes.new_backup_codes()
        ]

    derived = run(derive())
    entry = {
        "id": guardian_id(),
        "kind": "backup_codes",
        "label": "Backup codes",
        "salt": b64(salt),
        "public_keys": [b64(key.public_key) for key in derived],
    }
    return Guardian(entry, derived)


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
    entry = {
        "id": guardian_id(),
        "kind": "passkey",
        "label": "Second passkey",
        "credential_id": result["credential_id"],
    }
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

    def new_credential(self) -> NewCredential:
        return NewCredential(
            id=unb64(self.registration["rawId"]),
            public_key_sha256=hashlib.sha256(
                unb64(self.registration["response"]["publicKey"])
            ).digest(),
        )

    def new_credential_json(self) -> dict[str, str]:
        credential = self.new_credential()
        return {"id": b64(credential.id), "public_key_sha256": b64(credential.public_key_sha256)}

    def message(self, **overrides: Any) -> bytes:
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
        message = self.message(**overrides)
        if guardian.kind == "passkey":
            assert guardian.device is not None
            (credential,) = guardian.device.credentials.values()
            options = {
                "challenge": b64(webauthn_challenge_for(message)),
                "rpId": self.start["rp_id"],
                "allowCredentials": [{"type": "public-key", "id": credential.id_b64}],
            }
            return {"guardian_id": guardian.id, "assertion": guardian.device.get(options)}
        signature = run(guardian.keys[code].sign(PROVIDER, message))
        return {"guardian_id": guardian.id, "signature": b64(signature)}

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


def snapshot(database: Path | str, tables: tuple[str, ...] = ACCOUNT_TABLES) -> dict[str, Any]:
    """Every row of the account tables (SQLite file or PostgreSQL URL), sorted."""
    if isinstance(database, str) and database.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(database) as connection:
            return {
                table: sorted(
                    (tuple(row) for row in connection.execute(f"SELECT * FROM {table}")),
                    key=repr,
                )
                for table in tables
            }
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return {
            table: sorted(connection.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in tables
        }
