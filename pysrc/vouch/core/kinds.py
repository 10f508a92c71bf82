"""The guardian kinds, described once for the page and the server.

A kind's entry says what every layer must agree on: its name (as stored and as signed),
the label the dialog gives a new guardian of the kind, the fields of its entry in the
guardian configuration the owner signs, the fields a recovering user is shown (never a
public key: see `vouch.server.kinds`), and the form its proof takes in a recovery.

What a kind *does* lives in one module per side: `vouch.server.kinds.<name>` (parse,
store, describe, decoy, verify, apply) and `vouch.dialog.kinds.<name>` (setup screen,
approval step, pure builders). This module is the only place outside those two packages
(and the schema migrations) where a kind is named by its string; a test checks that.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType


class Proof(Enum):
    """How a guardian of a kind approves one recovery."""

    SIGNATURE = "signature"  # Ed25519 over the recovery message, made in the page
    ASSERTION = "assertion"  # WebAuthn assertion, challenge = SHA-256(recovery message)
    OUT_OF_BAND = "out_of_band"  # recorded by the server (recovery_approvals), not sent
    # An OpenID Connect ID token, nonce = base64url(SHA-256(recovery message)), obtained in
    # the page from the guardian's provider; the server verifies it against the provider's
    # published keys.
    ID_TOKEN = "id_token"  # noqa: S105 (a proof field's name, not a secret)


# The fields every configuration entry and every public descriptor has.
COMMON_FIELDS = ("id", "kind", "label")


@dataclass(frozen=True)
class Kind:
    """One guardian kind as both sides see it."""

    name: str
    label: str
    config_fields: tuple[str, ...]
    public_fields: tuple[str, ...]
    proof: Proof
    # Whether its secret becomes an Ed25519 key through `vouch.core.keys` (the HKDF info
    # string names the kind, so a key of one kind can never stand in for another).
    derives_key: bool = False

    @property
    def entry_fields(self) -> tuple[str, ...]:
        """Every field of its configuration entry, in the order the dialog builds them."""
        return COMMON_FIELDS + self.config_fields

    @property
    def proof_field(self) -> str:
        """The field an approval of this kind carries besides `guardian_id`."""
        return self.proof.value


PASSPHRASE = Kind(
    name="passphrase",
    label="Passphrase",
    config_fields=("public_key", "salt", "kdf"),
    public_fields=("salt", "kdf"),
    proof=Proof.SIGNATURE,
    derives_key=True,
)
RECOVERY_CODE = Kind(
    name="recovery_code",
    label="Recovery code",
    config_fields=("public_key", "salt"),
    public_fields=("salt",),
    proof=Proof.SIGNATURE,
    derives_key=True,
)
BACKUP_CODES = Kind(
    name="backup_codes",
    label="Backup codes",
    config_fields=("salt", "public_keys"),
    public_fields=("salt",),  # how many are left is the owner's to know
    proof=Proof.SIGNATURE,
    derives_key=True,
)
PASSKEY = Kind(
    name="passkey",
    label="Second passkey",
    config_fields=("credential_id",),
    # Nothing: a guardian key is discoverable, so an anonymous start names no credential.
    public_fields=(),
    proof=Proof.ASSERTION,
)

# An identity at an OpenID provider (any: Google is configuration). The entry the owner
# signs names the provider and a salt the page chose; the server adds, from the ID token
# that links it, the issuer, the audience and HMAC-SHA256(salt, sub), never the token or an
# address. A recovering user is shown which provider to sign in with, nothing more.
OIDC = Kind(
    name="oidc",
    label="Linked account",
    config_fields=("provider", "salt"),
    public_fields=("provider",),
    proof=Proof.ID_TOKEN,
)

# A mailbox: the account's verified address when the owner added the guardian (kept as
# signed, even if the owner verifies another address later). During a recovery the server
# mails a one-time code there, and records the approval when the code comes back: nothing
# is signed in the page. A recovering user is shown no address (it would tell anyone who
# types an account name where its owner gets mail).
EMAIL = Kind(
    name="email",
    label="Email",
    config_fields=("address",),
    public_fields=(),
    proof=Proof.OUT_OF_BAND,
)

# A trusted person with a vouch account of their own, who accepted the owner's invitation
# (vouch.core.contacts). The entry the owner signs names the contact's account id. During a
# recovery the requester sends the contact a link; the contact approves in their own dialog
# with an assertion of their own passkey over the recovery message, which the server records:
# nothing is signed in the requester's page. A recovering user is shown only the label.
CONTACT = Kind(
    name="contact",
    label="Trusted contact",
    config_fields=("account",),
    public_fields=(),
    proof=Proof.OUT_OF_BAND,
)


class KindTable(Mapping[str, Kind]):
    """The kinds by name, in the order the dialog offers them."""

    def __init__(self, *kinds: Kind) -> None:
        self._kinds: Mapping[str, Kind] = MappingProxyType({kind.name: kind for kind in kinds})

    def __getitem__(self, name: str) -> Kind:
        return self._kinds[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._kinds)

    def __len__(self) -> int:
        return len(self._kinds)

    def names(self) -> tuple[str, ...]:
        return tuple(self._kinds)

    def expected(self) -> str:
        """The names as an error message lists them: "a, b, c or d"."""
        names = self.names()
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


# Every kind, in the order the dialog offers them. A server runs `oidc` only when it is
# configured with a provider (`serve.py --oidc-provider`): see `vouch.server.kinds`.
KINDS = KindTable(PASSPHRASE, RECOVERY_CODE, BACKUP_CODES, PASSKEY, OIDC, EMAIL, CONTACT)
