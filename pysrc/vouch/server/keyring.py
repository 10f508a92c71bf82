"""Server-side secrets: the HMAC key that derives decoy recoveries and the Ed25519 keys that
sign host-app tokens.

By default both live in the database so every server process shares them: two 32-byte
values, each created by whichever process starts first (INSERT ... ON CONFLICT DO NOTHING,
then read back, so racing processes agree).

Either can come from outside instead (serve.py `--signing-key-file`, `VOUCH_SIGNING_KEY`,
`--decoy-key-file`, `VOUCH_DECOY_KEY`), for a deployment that keeps secrets out of its
database backups or rotates its token keys. The text forms:

* signing keys: one key per line (or comma-separated), each an unpadded base64url 32-byte
  Ed25519 seed, optionally followed by the time it starts signing, a Unix time or an ISO
  8601 time with its zone (`2025-06-01T00:00:00Z`); `#` starts a comment. Several keys are
  a rotation (see tokens.py): the newest active one signs, and every one a host may still
  need is published.
* the decoy key: one unpadded base64url 32-byte value. It must never change (a changed key
  changes every decoy, which tells unknown names from real accounts to whoever watched
  before and after), so moving it out of the database means copying the database's value.

A malformed key is refused with a KeyFileError that says where, never echoing the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from vouch.core.b64url import b64url_decode
from vouch.core.errors import MalformedInput
from vouch.server.storage import Database, Transaction
from vouch.server.tokens import SigningKey

DECOY_KEY = "decoy_hmac_v1"
SIGNING_KEY = "token_ed25519_v1"
SECRET_BYTES = 32
SIGNING_KEY_VARIABLE = "VOUCH_SIGNING_KEY"
DECOY_KEY_VARIABLE = "VOUCH_DECOY_KEY"


class KeyFileError(ValueError):
    """A key given in a file or the environment is malformed or missing."""


@dataclass(frozen=True)
class ServerSecrets:
    decoy_key: bytes = field(repr=False)
    signing_keys: tuple[SigningKey, ...]

    def derive(self, purpose: str) -> bytes:
        """A key of its own for `purpose` (cancel links, email codes), from the decoy key
        by HMAC-SHA256 as a PRF: no other secret to keep or copy, and no use's key tells
        anything of another's, or of the decoy key."""
        return hmac.new(
            self.decoy_key, b"vouch/v1/derive/" + purpose.encode(), hashlib.sha256
        ).digest()

    @property
    def signing_seed(self) -> bytes:
        """The newest signing key's seed."""
        return max(self.signing_keys, key=lambda key: key.active_from).seed


def load_or_create(
    database: Database,
    now: int,
    *,
    signing_keys: Sequence[SigningKey] = (),
    decoy_key: bytes | None = None,
) -> ServerSecrets:
    """The secrets: those given, the others from the database (made there if missing)."""
    names = [
        name for name, given in ((DECOY_KEY, decoy_key), (SIGNING_KEY, signing_keys)) if not given
    ]

    def work(tx: Transaction) -> dict[str, bytes]:
        values = {}
        for name in names:
            tx.execute(
                "INSERT INTO server_secrets (name, value, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING",
                (name, secrets.token_bytes(SECRET_BYTES), now),
            )
            row = tx.one("SELECT value FROM server_secrets WHERE name = ?", (name,))
            assert row is not None
            values[name] = bytes(row["value"])
        return values

    values = database.run_sync(work) if names else {}
    return ServerSecrets(
        decoy_key=decoy_key or values[DECOY_KEY],
        signing_keys=tuple(signing_keys) or (SigningKey(values[SIGNING_KEY]),),
    )


def _secret(text: str, *, where: str, what: str) -> bytes:
    try:
        value = b64url_decode(text)
    except MalformedInput:
        # Not the text itself: a near miss of a secret is nearly the secret.
        raise KeyFileError(
            f"{where}: the {what} is not unpadded base64url ({len(text)} characters)"
        ) from None
    if len(value) != SECRET_BYTES:
        raise KeyFileError(f"{where}: the {what} is {len(value)} bytes, expected {SECRET_BYTES}")
    return value


def _time(text: str, *, where: str) -> int:
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise KeyFileError(
            f'{where}: the start time is "{text}", expected a Unix time or an ISO 8601 time'
            " with its zone (2025-06-01T00:00:00Z)"
        )
    return int(moment.timestamp())


def _entries(text: str, source: str) -> list[tuple[str, list[str]]]:
    """(where, fields) of every entry: lines and comma-separated parts, comments dropped."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for part in line.partition("#")[0].split(","):
            if part.strip():
                found.append((f"{source} line {number}", part.split()))
    return found


def parse_signing_keys(text: str, *, source: str) -> tuple[SigningKey, ...]:
    """The keys in `text` (a key file's or VOUCH_SIGNING_KEY's), oldest first."""
    keys: list[SigningKey] = []
    for where, fields in _entries(text, source):
        if len(fields) > 2:
            raise KeyFileError(
                f"{where}: {len(fields)} fields, expected a key and an optional start time"
            )
        seed = _secret(fields[0], where=where, what="signing key")
        if any(key.seed == seed for key in keys):
            raise KeyFileError(f"{where}: this signing key is given twice")
        start = _time(fields[1], where=where) if len(fields) == 2 else 0
        keys.append(SigningKey(seed, start))
    if not keys:
        raise KeyFileError(f"{source} holds no signing key")
    return tuple(sorted(keys, key=lambda key: key.active_from))


def parse_decoy_key(text: str, *, source: str) -> bytes:
    entries = _entries(text, source)
    if len(entries) != 1 or len(entries[0][1]) != 1:
        raise KeyFileError(f"{source} must hold exactly one decoy key, found {len(entries)}")
    where, (value,) = entries[0]
    return _secret(value, where=where, what="decoy key")


def _read(path: Path, option: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{option} {path}: cannot be read ({exc})") from None


def external_keys(
    signing_key_files: Sequence[Path],
    decoy_key_file: Path | None,
    environ: Mapping[str, str],
) -> tuple[tuple[SigningKey, ...], bytes | None]:
    """The signing keys and decoy key given outside the database (none: use the database's).

    Signing keys from every file and VOUCH_SIGNING_KEY are one rotation; the decoy key may be
    given once, by file or by VOUCH_DECOY_KEY.
    """
    signing: list[SigningKey] = []
    for path in signing_key_files:
        option = f"--signing-key-file {path}"
        signing += parse_signing_keys(_read(path, option), source=option)
    if environ.get(SIGNING_KEY_VARIABLE):
        text = environ[SIGNING_KEY_VARIABLE]
        signing += parse_signing_keys(text, source=SIGNING_KEY_VARIABLE)
    if len({key.seed for key in signing}) != len(signing):
        raise KeyFileError("a signing key is given twice (in two files or the environment)")
    decoy = None
    if decoy_key_file is not None and environ.get(DECOY_KEY_VARIABLE):
        raise KeyFileError(f"give the decoy key once: --decoy-key-file or {DECOY_KEY_VARIABLE}")
    if decoy_key_file is not None:
        option = f"--decoy-key-file {decoy_key_file}"
        decoy = parse_decoy_key(_read(decoy_key_file, option), source=option)
    elif environ.get(DECOY_KEY_VARIABLE):
        decoy = parse_decoy_key(environ[DECOY_KEY_VARIABLE], source=DECOY_KEY_VARIABLE)
    return tuple(sorted(signing, key=lambda key: key.active_from)), decoy
