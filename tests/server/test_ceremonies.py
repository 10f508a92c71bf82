"""What the server builds itself instead of asking py_webauthn and PyJWT each time gives the
same bytes they do: creation options, the SubjectPublicKeyInfo hash, host-app tokens."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import random
import re
import secrets
from collections.abc import Callable
from typing import Any

import cbor2
import jwt
import pytest
import webauthn
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from tests.support.soft_authenticator import KeyPair, SoftAuthenticator, b64, unb64
from vouch.server import ceremonies
from vouch.server.config import Config
from vouch.server.errors import VerificationFailed
from vouch.server.tokens import TokenIssuer


@pytest.mark.parametrize("exclude", [[], [b"\x01" * 32, b"\x02" * 5]])
@pytest.mark.parametrize("rp_id", [None, "example.com"])
def test_registration_options_are_py_webauthns(exclude: list[bytes], rp_id: str | None) -> None:
    config = Config(origin="https://dialog.example.com", rp_id=rp_id)
    user_id, challenge = secrets.token_bytes(16), secrets.token_bytes(32)
    ours = ceremonies.registration_options(
        config, user_id=user_id, username="alice.b", challenge=challenge, exclude=exclude
    )
    resident = ResidentKeyRequirement.REQUIRED  # sign-in passkeys and guardian keys alike
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


# What a ceremony in a frame, or a malformed authenticator, sends: every refusal is a
# VerificationFailed (a 400), never another exception (a 500).

DIALOG = "https://dialog.example"
HOST_PAGE = "https://shop.example"
FRAMED = Config(origin=DIALOG, allowed_origins=(HOST_PAGE,))


class FramedAuthenticator(SoftAuthenticator):
    """An authenticator whose page is the dialog in a frame: clientDataJSON says so."""

    def __init__(self, origin: str, framing: dict[str, object]):
        super().__init__(origin)
        self.framing = framing

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        data = json.loads(super()._client_data(kind, challenge, origin))
        data.update(self.framing)
        return json.dumps(data, separators=(",", ":")).encode()


def _registration(device: SoftAuthenticator, config: Config = FRAMED, **create: Any) -> Any:
    challenge = secrets.token_bytes(32)
    options = ceremonies.registration_options(
        config, user_id=secrets.token_bytes(16), username="alice", challenge=challenge, exclude=[]
    )
    return device.create(options, **create), challenge


def _sign_in(
    config: Config, device: SoftAuthenticator, registered: ceremonies.RegisteredCredential
) -> int:
    challenge = secrets.token_bytes(32)
    assertion = device.get(ceremonies.authentication_options(config, challenge=challenge))
    return ceremonies.verify_authentication(
        config, assertion, challenge=challenge, public_key=registered.public_key, sign_count=0
    )


def test_a_ceremony_in_a_frame_of_an_allowed_host_page_verifies() -> None:
    device = FramedAuthenticator(DIALOG, {"crossOrigin": True, "topOrigin": HOST_PAGE})
    credential, challenge = _registration(device)
    registered = ceremonies.verify_registration(FRAMED, credential, challenge=challenge)
    assert _sign_in(FRAMED, device, registered) == 1


@pytest.mark.parametrize(
    ("framing", "words"),
    [
        ({"crossOrigin": True, "topOrigin": "https://evil.example"}, '"https://evil.example"'),
        ({"crossOrigin": True}, "missing"),
        ({"crossOrigin": "true", "topOrigin": HOST_PAGE}, 'crossOrigin is "true", expected'),
        ({"crossOrigin": 1, "topOrigin": HOST_PAGE}, "crossOrigin is 1, expected"),
    ],
)
def test_a_ceremony_in_a_frame_of_another_page_is_refused(
    framing: dict[str, object], words: str
) -> None:
    device = FramedAuthenticator(DIALOG, framing)
    credential, challenge = _registration(device)
    with pytest.raises(VerificationFailed, match=re.escape(words)):
        ceremonies.verify_registration(FRAMED, credential, challenge=challenge)

    plain = SoftAuthenticator(DIALOG)
    credential, challenge = _registration(plain)
    registered = ceremonies.verify_registration(FRAMED, credential, challenge=challenge)
    device.credentials = plain.credentials  # the same passkey, now used in the bad frame
    with pytest.raises(VerificationFailed, match=re.escape(words)) as refused:
        _sign_in(FRAMED, device, registered)
    assert "may not embed" in refused.value.message or "expected true or false" in (
        refused.value.message
    )


def test_a_frame_is_refused_when_no_host_page_may_embed_the_dialog() -> None:
    alone = Config(origin=DIALOG)
    device = FramedAuthenticator(DIALOG, {"crossOrigin": True, "topOrigin": DIALOG})
    credential, challenge = _registration(device, alone)
    with pytest.raises(VerificationFailed, match="allowed: none"):
        ceremonies.verify_registration(alone, credential, challenge=challenge)


def _with_auth_data(credential: dict[str, Any], change: Callable[[bytes], bytes]) -> None:
    """Rewrite a "none" attestation's authenticator data (nothing signs it)."""
    attestation = cbor2.loads(unb64(credential["response"]["attestationObject"]))
    attestation["authData"] = change(attestation["authData"])
    credential["response"]["attestationObject"] = b64(cbor2.dumps(attestation))
    credential["response"]["authenticatorData"] = b64(attestation["authData"])


def _backed_up_without_eligibility(auth_data: bytes) -> bytes:
    return auth_data[:32] + bytes([auth_data[32] | FLAG_BS]) + auth_data[33:]


FLAG_BS = 0x10  # backup state; backup eligibility (0x08) left unset


def test_a_registration_backed_up_but_not_eligible_is_refused() -> None:
    credential, challenge = _registration(SoftAuthenticator(DIALOG))
    _with_auth_data(credential, _backed_up_without_eligibility)
    with pytest.raises(VerificationFailed, match="Single-device credential"):
        ceremonies.verify_registration(FRAMED, credential, challenge=challenge)


def test_an_assertion_backed_up_but_not_eligible_is_refused() -> None:
    device = SoftAuthenticator(DIALOG)
    credential, challenge = _registration(device)
    registered = ceremonies.verify_registration(FRAMED, credential, challenge=challenge)
    (stored,) = device.credentials.values()
    challenge = secrets.token_bytes(32)
    assertion = device.get(ceremonies.authentication_options(FRAMED, challenge=challenge))
    auth_data = _backed_up_without_eligibility(unb64(assertion["response"]["authenticatorData"]))
    client_data = unb64(assertion["response"]["clientDataJSON"])
    signature = stored.key.sign(
        auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
    )
    assertion["response"]["authenticatorData"] = b64(auth_data)
    assertion["response"]["signature"] = b64(signature)
    with pytest.raises(VerificationFailed, match="Single-device credential"):
        ceremonies.verify_authentication(
            FRAMED, assertion, challenge=challenge, public_key=registered.public_key, sign_count=0
        )


def _cose_key(pair: KeyPair, members: dict[int, int]) -> KeyPair:
    """`pair` with some of its COSE key's members replaced (3: alg, -1: crv)."""
    return KeyPair(pair.key, cbor2.dumps({**cbor2.loads(pair.cose), **members}), pair.spki)


def test_a_key_marked_with_an_algorithm_it_cannot_sign_with_is_refused() -> None:
    """An EC2 key marked EdDSA would be registered, and then fail every sign-in with a 500."""
    pair = _cose_key(KeyPair.generate(), {3: -8})
    credential, challenge = _registration(SoftAuthenticator(DIALOG), key_pair=pair)
    with pytest.raises(VerificationFailed, match="EC2 key is marked with algorithm -8"):
        ceremonies.verify_registration(FRAMED, credential, challenge=challenge)


def test_a_key_on_an_unknown_curve_is_refused() -> None:
    pair = _cose_key(KeyPair.generate(), {-1: 99})
    credential, challenge = _registration(SoftAuthenticator(DIALOG), key_pair=pair)
    with pytest.raises(VerificationFailed, match="Unrecognized EC2 curve 99"):
        ceremonies.verify_registration(FRAMED, credential, challenge=challenge)


def test_a_stored_key_py_webauthn_cannot_use_is_a_refusal_not_a_crash() -> None:
    device = SoftAuthenticator(DIALOG)
    credential, challenge = _registration(device)
    registered = ceremonies.verify_registration(FRAMED, credential, challenge=challenge)
    odd = dataclasses.replace(
        registered, public_key=cbor2.dumps({**cbor2.loads(registered.public_key), 3: -8})
    )
    with pytest.raises(VerificationFailed, match="Unrecognized EC2 signature alg"):
        _sign_in(FRAMED, device, odd)


def test_random_damage_to_a_response_is_always_a_verification_failure() -> None:
    rng = random.Random(12)
    device = SoftAuthenticator(DIALOG)
    good, challenge = _registration(device)
    for _ in range(300):
        credential = json.loads(json.dumps(good))
        field = rng.choice(["clientDataJSON", "attestationObject", "publicKey"])
        raw = bytearray(unb64(credential["response"][field]))
        for _ in range(rng.randint(1, 3)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        credential["response"][field] = b64(bytes(raw))
        with contextlib.suppress(VerificationFailed):
            ceremonies.verify_registration(FRAMED, credential, challenge=challenge)
