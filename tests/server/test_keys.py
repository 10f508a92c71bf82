"""Token-signing and decoy keys given in a file or the environment, and signing key rotation:
a new key is published with the old one, signs from its start time, and the old one leaves
the JWKS once the last token it signed has expired."""

from __future__ import annotations

import base64
import secrets
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.server.conftest import start
from tests.server.helpers import Api, register, unique_name
from tests.support.live_server import ROOT, LiveServer
from vouch.server import keyring
from vouch.server.keyring import KeyFileError, parse_decoy_key, parse_signing_keys
from vouch.server.tokens import SigningKey, TokenIssuer, thumbprint

ISSUER = "https://dialog.example"
AUDIENCE = "https://shop.example"
TTL = 300
SERVE = [sys.executable, str(ROOT / "serve.py")]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def kid_of(seed: bytes) -> str:
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return thumbprint(
        public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def verified(token: str, jwks: dict[str, object], now: int) -> dict[str, object]:
    """What a host does with the JWKS it fetched at `now`: pick the key by kid and verify."""
    keys = {key.key_id: key for key in jwt.PyJWKSet.from_dict(jwks).keys}
    kid = jwt.get_unverified_header(token)["kid"]
    if kid not in keys:
        raise LookupError(f"kid {kid} is not in the JWKS")
    claims: dict[str, object] = jwt.decode(
        token,
        keys[kid].key,
        algorithms=["EdDSA"],
        audience=AUDIENCE,
        issuer=ISSUER,
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert isinstance(claims["exp"], int)
    assert now < claims["exp"], "expired"
    return claims


def kids(jwks: dict[str, list[dict[str, str]]]) -> list[str]:
    return [key["kid"] for key in jwks["keys"]]


def test_a_rotation_publishes_both_keys_signs_with_the_new_and_retires_the_old() -> None:
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    switch = 1_000_000
    issuer = TokenIssuer(
        [SigningKey(new, switch), SigningKey(old, 0)], issuer=ISSUER, ttl_seconds=TTL
    )

    def token(now: int) -> str:
        return issuer.issue(account_id="a", username="u", audience=AUDIENCE, now=now)

    before = switch - 60
    assert kids(issuer.jwks(before)) == [kid_of(old), kid_of(new)]  # the new one in advance
    last_old = token(switch - 1)
    assert jwt.get_unverified_header(last_old)["kid"] == kid_of(old)
    first_new = token(switch)
    assert jwt.get_unverified_header(first_new)["kid"] == kid_of(new)
    assert issuer.signing_kid(switch) == kid_of(new)

    for now in (switch, switch + TTL - 2):
        assert kids(issuer.jwks(now)) == [kid_of(old), kid_of(new)]
        assert verified(last_old, issuer.jwks(now), now)["sub"] == "a"
        assert verified(first_new, issuer.jwks(now), now)["sub"] == "a"
    retired = switch + TTL
    assert kids(issuer.jwks(retired)) == [kid_of(new)]
    assert verified(token(retired), issuer.jwks(retired), retired)["sub"] == "a"
    with pytest.raises(LookupError):
        verified(last_old, issuer.jwks(retired), retired)
    assert kids(issuer.jwks(before)) == [kid_of(old), kid_of(new)]  # a clock set back


def test_three_keys_each_retire_a_token_lifetime_after_their_successor() -> None:
    seeds = [secrets.token_bytes(32) for _ in range(3)]
    issuer = TokenIssuer(
        [SigningKey(seeds[0]), SigningKey(seeds[1], 1000), SigningKey(seeds[2], 5000)],
        issuer=ISSUER,
        ttl_seconds=TTL,
    )
    expected = {
        0: [0, 1, 2],
        1000: [0, 1, 2],
        1000 + TTL: [1, 2],
        4999: [1, 2],
        5000: [1, 2],
        5000 + TTL: [2],
        10**9: [2],
    }
    for now, published in expected.items():
        assert kids(issuer.jwks(now)) == [kid_of(seeds[i]) for i in published], now
    assert [issuer.signing_kid(now) for now in (999, 1000, 4999, 5000)] == [
        kid_of(seeds[i]) for i in (0, 1, 1, 2)
    ]


def test_key_text_takes_lines_commas_comments_and_start_times() -> None:
    a, b, c = (secrets.token_bytes(32) for _ in range(3))
    text = f"# old key\n{b64(a)}\n{b64(b)} 2025-06-01T00:00:00Z, {b64(c)}  1800000000  # next\n"
    keys = parse_signing_keys(text, source="keys.txt")
    assert keys == (SigningKey(a, 0), SigningKey(b, 1748736000), SigningKey(c, 1800000000))
    assert parse_decoy_key(f"\n{b64(a)}\n", source="decoy.txt") == a


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "keys.txt holds no signing key"),
        ("# nothing\n", "keys.txt holds no signing key"),
        ("abc$def", "keys.txt line 1: the signing key is not unpadded base64url (7 characters)"),
        (b64(bytes(31)), "keys.txt line 1: the signing key is 31 bytes, expected 32"),
        (f"{b64(bytes(32))} soon", 'line 1: the start time is "soon", expected a Unix time'),
        (f"{b64(bytes(32))} 2025-06-01T00:00:00", "an ISO 8601 time with its zone"),
        (f"{b64(bytes(32))} 1 2", "line 1: 3 fields, expected a key and an optional start"),
        (f"{b64(bytes(32))}\n{b64(bytes(32))} 5", "line 2: this signing key is given twice"),
    ],
)
def test_a_malformed_signing_key_is_refused_without_echoing_it(text: str, words: str) -> None:
    with pytest.raises(KeyFileError) as refused:
        parse_signing_keys(text, source="keys.txt")
    assert words in str(refused.value)
    if text.strip():
        assert text.split()[0] not in str(refused.value)


def test_the_decoy_key_is_one_32_byte_value_given_once(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="exactly one decoy key, found 2"):
        parse_decoy_key(f"{b64(bytes(32))}\n{b64(bytes(32))}", source="decoy.txt")
    with pytest.raises(KeyFileError, match="decoy key is 16 bytes"):
        parse_decoy_key(b64(bytes(16)), source="decoy.txt")
    path = tmp_path / "decoy.txt"
    path.write_text(b64(bytes(32)))
    with pytest.raises(KeyFileError, match="give the decoy key once"):
        keyring.external_keys([], path, {keyring.DECOY_KEY_VARIABLE: b64(bytes(32))})
    with pytest.raises(KeyFileError, match="cannot be read"):
        keyring.external_keys([tmp_path / "missing.txt"], None, {})
    assert keyring.external_keys([], None, {}) == ((), None)


# serve.py with keys from outside -------------------------------------------------------


@pytest.fixture(scope="module")
def seeds() -> dict[str, bytes]:
    return {name: secrets.token_bytes(32) for name in ("old", "new", "next", "decoy")}


@pytest.fixture(scope="module")
def rotating(
    tmp_path_factory: pytest.TempPathFactory, seeds: dict[str, bytes]
) -> Iterator[LiveServer]:
    """Signing keys: old (from the start), new (signing since a minute ago, from the
    environment), next (published ahead of its start in an hour); decoy key from a file."""
    directory = tmp_path_factory.mktemp("rotating")
    now = int(time.time())
    (directory / "keys.txt").write_text(
        f"# rotation\n{b64(seeds['old'])}\n{b64(seeds['next'])} {now + 3600}\n"
    )
    (directory / "decoy.txt").write_text(b64(seeds["decoy"]) + "\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(keyring.SIGNING_KEY_VARIABLE, f"{b64(seeds['new'])} {now - 60}")
        live = start(
            directory,
            "--signing-key-file",
            str(directory / "keys.txt"),
            "--decoy-key-file",
            str(directory / "decoy.txt"),
            "--token-ttl",
            "120",
        )
    yield live
    live.stop()


def test_serve_signs_with_the_active_key_and_publishes_the_others(
    rotating: LiveServer, seeds: dict[str, bytes]
) -> None:
    api = Api(rotating.url)
    jwks = api.http.get("/.well-known/jwks.json").json()
    assert kids(jwks) == [kid_of(seeds[name]) for name in ("old", "new", "next")]
    user = register(api)
    assert jwt.get_unverified_header(user.token)["kid"] == kid_of(seeds["new"])
    public = Ed25519PrivateKey.from_private_bytes(seeds["new"]).public_key()
    claims = jwt.decode(user.token, public, algorithms=["EdDSA"], audience=rotating.url)
    assert claims["sub"] == user.account
    old = Ed25519PrivateKey.from_private_bytes(seeds["old"]).public_key()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(user.token, old, algorithms=["EdDSA"], audience=rotating.url)


def test_keys_given_outside_are_not_made_in_the_database(rotating: LiveServer) -> None:
    with sqlite3.connect(rotating.database) as database:
        names = {row[0] for row in database.execute("SELECT name FROM server_secrets")}
    assert names.isdisjoint({keyring.SIGNING_KEY, keyring.DECOY_KEY})


def test_the_decoy_key_given_decides_the_decoys(
    rotating: LiveServer, seeds: dict[str, bytes], tmp_path: Path
) -> None:
    """Two servers with the same decoy key and different databases give an unknown name the
    same decoy; that is what lets several deployments (or a restore) keep decoys stable."""
    name = unique_name()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(keyring.DECOY_KEY_VARIABLE, b64(seeds["decoy"]))
        other = start(tmp_path)
    try:
        answers = [
            Api(live.url).call("POST", "/api/recovery/start", {"username": name})
            for live in (rotating, other)
        ]
    finally:
        other.stop()
    assert answers[0]["guardians"] == answers[1]["guardians"]
    assert answers[0]["threshold"] == answers[1]["threshold"]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("not base64!", "line 1: the signing key is not unpadded base64url"),
        (b64(bytes(20)), "line 1: the signing key is 20 bytes, expected 32"),
        ("", "holds no signing key"),
    ],
)
def test_serve_refuses_a_malformed_key_file_with_a_message(
    tmp_path: Path, content: str, words: str
) -> None:
    path = tmp_path / "keys.txt"
    path.write_text(content)
    result = subprocess.run(
        [*SERVE, "--db", str(tmp_path / "x.db"), "--signing-key-file", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"serve.py: error: --signing-key-file {path}" in result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.db").exists()


def test_serve_refuses_a_malformed_key_in_the_environment(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", keyring.DECOY_KEY_VARIABLE: "c2hvcnQ"}
    result = subprocess.run(
        [*SERVE, "--db", str(tmp_path / "x.db")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env=env,
    )
    assert result.returncode == 2
    assert "VOUCH_DECOY_KEY line 1: the decoy key is 5 bytes, expected 32" in result.stderr
    assert "c2hvcnQ" not in result.stderr


def test_the_database_keys_stay_the_default(api: Api) -> None:
    jwks = api.http.get("/.well-known/jwks.json").json()
    assert len(jwks["keys"]) == 1  # the database's key, as before any rotation
