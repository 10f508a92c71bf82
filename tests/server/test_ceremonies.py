"""What the server builds itself instead of asking py_webauthn and PyJWT each time gives the
same bytes they do: creation options, the SubjectPublicKeyInfo hash, host-app tokens."""

from __future__ import annotations

import hashlib
import json
import secrets

import cbor2
import jwt
import pytest
import webauthn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from vouch.server import ceremonies
from vouch.server.config import Config
from vouch.server.tokens import TokenIssuer


@pytest.mark.parametrize("discoverable", [True, False])
@pytest.mark.parametrize("exclude", [[], [b"\x01" * 32, b"\x02" * 5]])
@pytest.mark.parametrize("rp_id", [None, "example.com"])
def test_registration_options_are_py_webauthns(
    discoverable: bool, exclude: list[bytes], rp_id: str | None
) -> None:
    config = Config(origin="https://dialog.example.com", rp_id=rp_id)
    user_id, challenge = secrets.token_bytes(16), secrets.token_bytes(32)
    ours = ceremonies.registration_options(
        config,
        user_id=user_id,
        username="alice.b",
        challenge=challenge,
        exclude=exclude,
        discoverable=discoverable,
    )
    resident = (
        ResidentKeyRequirement.REQUIRED if discoverable else ResidentKeyRequirement.DISCOURAGED
    )
    theirs = webauthn.generate_registration_options(
        rp_id=config.effective_rp_id,
        rp_name=config.rp_name,
        user_id=user_id,
        user_name="alice.b",
        challenge=challenge,
        timeout=ceremonies.TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=resident, user_verification=UserVerificationRequirement.REQUIRED
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=item) for item in exclude],
    )
    assert ours == json.loads(webauthn.options_to_json(theirs))
    assert list(ours) == list(json.loads(webauthn.options_to_json(theirs)))


def _cose(key: ec.EllipticCurvePublicKey) -> bytes:
    numbers = key.public_numbers()
    return cbor2.dumps(
        {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
    )


def test_spki_sha256_of_p256_is_the_der_encoders() -> None:
    for _ in range(20):
        key = ec.generate_private_key(ec.SECP256R1()).public_key()
        der = key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert ceremonies.spki_sha256(_cose(key)) == hashlib.sha256(der).digest()


def test_spki_sha256_refuses_a_point_off_the_curve() -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    numbers = key.public_numbers()
    off = cbor2.dumps(
        {
            1: 2,
            3: -7,
            -1: 1,
            -2: numbers.x.to_bytes(32, "big"),
            -3: ((numbers.y + 1) % 2**256).to_bytes(32, "big"),
        }
    )
    with pytest.raises(ValueError, match="Invalid EC key"):
        ceremonies.spki_sha256(off)


def test_spki_sha256_of_ed25519_still_goes_through_the_der_encoder() -> None:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    cose = cbor2.dumps({1: 1, 3: -8, -1: 6, -2: raw})
    assert ceremonies.spki_sha256(cose) == hashlib.sha256(der).digest()


def test_tokens_are_what_pyjwt_encodes() -> None:
    seed = secrets.token_bytes(32)
    issuer = TokenIssuer(seed, issuer="https://dialog.example", ttl_seconds=300)
    token = issuer.issue(
        account_id="abc", username="zoë", audience="https://shop.example", now=1_700_000_000
    )
    claims = jwt.decode(
        token,
        ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key(),
        algorithms=["EdDSA"],
        audience="https://shop.example",
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    again = jwt.encode(
        claims,
        ed25519.Ed25519PrivateKey.from_private_bytes(seed),
        algorithm="EdDSA",
        headers={"kid": issuer.kid},
    )
    assert token == again
    assert jwt.get_unverified_header(token) == {"alg": "EdDSA", "kid": issuer.kid, "typ": "JWT"}
