"""One OpenID provider at run time: its discovery document and JWKS, and its ID tokens checked.

Both documents are fetched with httpx and kept as long as their Cache-Control max-age says
(between `MIN_CACHE_SECONDS` and `MAX_CACHE_SECONDS`); when a refetch fails the copy in hand
is used on, and the failure logged. A token naming a key id the JWKS does not hold makes
one refetch (providers rotate keys and publish the new one shortly before using it), at
most one per `REFETCH_SECONDS`, so tokens with made-up key ids cannot make the server hammer
the provider. A provider that cannot be reached never stops the server: it is tried again
on demand (at most once per `RETRY_SECONDS`), and until then its guardians are refused with
`ProviderUnavailable`, which says so and suggests another guardian.

`verify` does no cryptography of its own: PyJWT checks the signature, with a key from the
JWKS and only an algorithm the discovery document lists that is asymmetric (never `none`,
never an HMAC algorithm, whose "key" would be the public JWK), and the standard claims.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from vouch.server.errors import IdTokenRefused, ProviderUnavailable
from vouch.server.oidc.settings import ProviderSettings

log = logging.getLogger("vouch.server.oidc")

# Signature algorithms an ID token may use here: public-key ones PyJWT implements.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
MIN_CACHE_SECONDS = 60
MAX_CACHE_SECONDS = 24 * 3600
DEFAULT_CACHE_SECONDS = 600  # no Cache-Control (or no max-age)
REFETCH_SECONDS = 60  # at most one JWKS refetch for unknown key ids per this long
RETRY_SECONDS = 30  # a provider that could not be reached is tried again after this long
FETCH_TIMEOUT_SECONDS = 5
MAX_DOCUMENT_BYTES = 256 * 1024
# An ID token is a few hundred bytes to 2 KB; past this it is refused before it is parsed.
MAX_TOKEN_CHARS = 8192
# How far clocks may disagree, and how old an ID token may be: it is fetched in a popup just
# before it is sent, so minutes are plenty, and a token kept longer is refused.
LEEWAY_SECONDS = 30
MAX_AGE_SECONDS = 300
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.IGNORECASE)


def cache_seconds(cache_control: str | None) -> int:
    """How long to keep a document served with this Cache-Control, within the floor and
    ceiling (no-store and no-cache mean the floor: the documents are needed on every token)."""
    if not cache_control:
        return DEFAULT_CACHE_SECONDS
    lowered = cache_control.lower()
    if "no-store" in lowered or "no-cache" in lowered:
        return MIN_CACHE_SECONDS
    match = _MAX_AGE.search(cache_control)
    if match is None:
        return DEFAULT_CACHE_SECONDS
    return max(MIN_CACHE_SECONDS, min(MAX_CACHE_SECONDS, int(match.group(1))))


@dataclass(frozen=True)
class Metadata:
    """What vouch uses of a provider's discovery document."""

    authorization_endpoint: str
    jwks_uri: str
    algorithms: frozenset[str]  # id_token_signing_alg_values_supported, asymmetric only
    expires: float


@dataclass(frozen=True)
class Key:
    """A JWKS key, and the algorithm it is published for (None: any its type allows)."""

    jwk: jwt.PyJWK
    algorithm: str | None


@dataclass(frozen=True)
class KeySet:
    keys: Mapping[str | None, Key]
    expires: float


class Provider:
    """One configured provider: its settings and what has been fetched from it."""

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        self.settings = settings
        self._clock = clock
        self._transport = transport
        self._metadata: Metadata | None = None
        self._keys: KeySet | None = None
        self._failed_at: float | None = None
        self._refetched_at: float | None = None
        self.problem: str | None = "not contacted yet"
        self._lock: asyncio.Lock | None = None

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def metadata(self) -> Metadata | None:
        """The discovery document in hand (stale or not), None if never fetched."""
        return self._metadata

    @property
    def untried(self) -> bool:
        """Never fetched nor failed: the start-up fetch has not finished."""
        return self._metadata is None and self._failed_at is None

    @property
    def usable(self) -> bool:
        """Whether documents are in hand (perhaps stale): what /api/config tells the page."""
        return self._metadata is not None and self._keys is not None

    def describe(self, redirect_uri: str) -> dict[str, Any]:
        """What the dialog needs to open this provider's sign-in popup (GET /api/config)."""
        settings = self.settings
        metadata = self._metadata
        return {
            "name": settings.name,
            "display_name": settings.display_name,
            "icon": settings.icon,
            "issuer": settings.issuer,
            "client_id": settings.client_id,
            "authorization_endpoint": None if metadata is None else metadata.authorization_endpoint,
            "response_type": "id_token",
            "response_mode": "fragment",
            "scope": "openid",
            "redirect_uri": redirect_uri,
            "available": self.usable,
            "message": None if self.usable else self.unavailable().message,
        }

    def unavailable(self) -> ProviderUnavailable:
        return ProviderUnavailable(
            f"{self.settings.display_name} cannot be reached right now: use another guardian,"
            " or try again in a few minutes."
        )

    # Fetching -----------------------------------------------------------------------------

    async def _get(self, url: str) -> tuple[dict[str, Any], int]:
        async with httpx.AsyncClient(
            timeout=FETCH_TIMEOUT_SECONDS, transport=self._transport, follow_redirects=False
        ) as client:
            response = await client.get(url, headers={"Accept": "application/json"})
        if response.status_code != 200:
            raise ValueError(f"{url} answered {response.status_code}")
        if len(response.content) > MAX_DOCUMENT_BYTES:
            raise ValueError(f"{url} sent {len(response.content)} bytes")
        document = json.loads(response.content)
        if not isinstance(document, dict):
            raise ValueError(f"{url} sent {type(document).__name__}, expected a JSON object")
        return document, cache_seconds(response.headers.get("cache-control"))

    async def _fetch_metadata(self) -> Metadata:
        issuer = self.settings.issuer
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        document, seconds = await self._get(url)
        # OpenID Connect Discovery 4.3: the document's issuer is exactly the one asked for.
        if document.get("issuer") != issuer:
            raise ValueError(f"{url} names issuer {document.get('issuer')!r}, expected {issuer!r}")
        endpoints = {}
        for field in ("authorization_endpoint", "jwks_uri"):
            value = document.get(field)
            if not isinstance(value, str) or not self._acceptable_url(value):
                raise ValueError(f"{url} has {field} {value!r}, expected an https URL")
            endpoints[field] = value
        listed = document.get("id_token_signing_alg_values_supported")
        if not isinstance(listed, list):
            raise ValueError(f"{url} lists no id_token_signing_alg_values_supported")
        algorithms = frozenset(a for a in listed if isinstance(a, str)) & ASYMMETRIC_ALGORITHMS
        if not algorithms:
            raise ValueError(f"{url} lists no asymmetric ID token algorithm ({listed!r})")
        return Metadata(
            endpoints["authorization_endpoint"],
            endpoints["jwks_uri"],
            algorithms,
            self._clock() + seconds,
        )

    def _acceptable_url(self, url: str) -> bool:
        return url.startswith("https://") or (self.settings.loopback and url.startswith("http://"))

    async def _fetch_keys(self, metadata: Metadata) -> KeySet:
        document, seconds = await self._get(metadata.jwks_uri)
        keys: dict[str | None, Key] = {}
        for data in document.get("keys") or []:
            if not isinstance(data, dict) or data.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK(data)
            except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
                log.info("%s: JWKS key %r skipped: %s", self.name, data.get("kid"), exc)
                continue
            kid = data.get("kid") if isinstance(data.get("kid"), str) else None
            alg = data.get("alg") if isinstance(data.get("alg"), str) else None
            keys[kid] = Key(key, alg)
        if not keys:
            raise ValueError(f"{metadata.jwks_uri} holds no usable signing key")
        return KeySet(keys, self._clock() + seconds)

    async def refresh(self, *, keys_only: bool = False) -> None:
        """Fetch what has expired (or the JWKS again); keep what is in hand if that fails."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            now = self._clock()
            try:
                if not keys_only and (self._metadata is None or self._metadata.expires <= now):
                    self._metadata = await self._fetch_metadata()
                assert self._metadata is not None
                if keys_only or self._keys is None or self._keys.expires <= now:
                    self._keys = await self._fetch_keys(self._metadata)
            except (httpx.HTTPError, ValueError, AssertionError) as exc:
                self._failed_at = now
                self.problem = str(exc) or type(exc).__name__
                level = logging.WARNING if self._keys is None else logging.INFO
                log.log(
                    level,
                    "OpenID provider %s (%s) cannot be used%s: %s",
                    self.name,
                    self.settings.issuer,
                    "" if self._keys is None else " to refresh (keeping its keys in hand)",
                    self.problem,
                )
                return
            self._failed_at = None
            self.problem = None

    async def _ready(self) -> tuple[Metadata, KeySet]:
        now = self._clock()
        stale = (
            self._metadata is None
            or self._keys is None
            or self._metadata.expires <= now
            or self._keys.expires <= now
        )
        recently_failed = self._failed_at is not None and now - self._failed_at < RETRY_SECONDS
        if stale and not recently_failed:
            await self.refresh()
        if self._metadata is None or self._keys is None:
            raise self.unavailable()
        return self._metadata, self._keys

    async def available(self) -> bool:
        try:
            await self._ready()
        except ProviderUnavailable:
            return False
        return True

    async def _key(self, kid: str | None) -> Key:
        _, keys = await self._ready()
        found = _lookup(keys, kid)
        now = self._clock()
        if found is None and (
            self._refetched_at is None or now - self._refetched_at >= REFETCH_SECONDS
        ):
            self._refetched_at = now
            await self.refresh(keys_only=True)
            assert self._keys is not None
            found = _lookup(self._keys, kid)
        if found is None:
            raise IdTokenRefused(
                f"This ID token is signed with key {kid!r}, which"
                f" {self.settings.display_name} does not publish.",
                code="id_token_unknown_key",
            )
        return found

    # Verifying ----------------------------------------------------------------------------

    async def verify(self, token: str, *, nonce: str) -> dict[str, Any]:
        """The claims of an ID token this provider issued to our client for `nonce`, signed,
        current and fresh; or an IdTokenRefused whose code says what is wrong."""
        metadata, _ = await self._ready()
        display = self.settings.display_name
        if len(token) > MAX_TOKEN_CHARS:
            raise _malformed(f"is {len(token)} characters long, more than {MAX_TOKEN_CHARS}")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise _malformed(f"cannot be read ({exc})") from exc
        algorithm = header.get("alg")
        if algorithm not in metadata.algorithms:
            raise IdTokenRefused(
                f"This ID token is signed with {algorithm!r}; {display} signs with"
                f" {', '.join(sorted(metadata.algorithms))}.",
                code="id_token_algorithm",
            )
        key = await self._key(header.get("kid"))
        # A key published without "alg" may sign with any algorithm of its type (PyJWT
        # refuses a key of the wrong type for the header's algorithm).
        if key.algorithm is not None and key.algorithm != algorithm:
            raise IdTokenRefused(
                f"This ID token is signed with {algorithm!r}, but its key is for"
                f" {key.algorithm!r}.",
                code="id_token_algorithm",
            )
        client_id = self.settings.client_id
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.jwk.key,
                algorithms=[algorithm],
                audience=client_id,
                issuer=self.settings.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "sub", "aud", "exp", "iat", "nonce"]},
            )
        except jwt.InvalidSignatureError as exc:
            raise IdTokenRefused(
                f"This ID token's signature does not verify with {display}'s key.",
                code="id_token_signature",
            ) from exc
        except jwt.ExpiredSignatureError as exc:
            raise IdTokenRefused(
                f"This ID token has expired: sign in with {display} again.",
                code="id_token_expired",
            ) from exc
        except jwt.ImmatureSignatureError as exc:
            raise IdTokenRefused(
                "This ID token is dated in the future: check this device's clock.",
                code="id_token_not_yet_valid",
            ) from exc
        except jwt.InvalidIssuerError as exc:
            raise IdTokenRefused(
                f"This ID token was issued by someone else, not {display}"
                f" ({self.settings.issuer}).",
                code="id_token_issuer",
            ) from exc
        except jwt.InvalidAudienceError as exc:
            raise IdTokenRefused(
                f"This ID token was issued to another application, not to {client_id!r}.",
                code="id_token_audience",
            ) from exc
        except jwt.MissingRequiredClaimError as exc:
            raise IdTokenRefused(
                f'This ID token has no "{exc.claim}" claim.', code="id_token_claims"
            ) from exc
        except (jwt.InvalidTokenError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
            raise _malformed(f"cannot be read ({exc})") from exc
        self._check_claims(claims, nonce=nonce)
        return claims

    def _check_claims(self, claims: Mapping[str, Any], *, nonce: str) -> None:
        display = self.settings.display_name
        client_id = self.settings.client_id
        audience = claims["aud"]
        several = isinstance(audience, list) and len(audience) > 1
        azp = claims.get("azp")
        # OpenID Connect Core 3.1.3.7: with several audiences, azp names the one it is for.
        if (azp is not None or several) and azp != client_id:
            raise IdTokenRefused(
                f"This ID token was issued for another application (azp {azp!r}), not for"
                f" {client_id!r}.",
                code="id_token_audience",
            )
        issued = claims["iat"]
        if not isinstance(issued, int | float) or isinstance(issued, bool):
            raise IdTokenRefused('This ID token\'s "iat" is not a time.', code="id_token_claims")
        if self._clock() - issued > MAX_AGE_SECONDS + LEEWAY_SECONDS:
            raise IdTokenRefused(
                f"This ID token was issued more than {MAX_AGE_SECONDS // 60} minutes ago:"
                f" sign in with {display} again.",
                code="id_token_too_old",
            )
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise IdTokenRefused('This ID token\'s "sub" is not a string.', code="id_token_claims")
        given = claims["nonce"]
        if not isinstance(given, str) or not hmac.compare_digest(
            given.encode("utf-8", "replace"), nonce.encode()
        ):
            raise IdTokenRefused(
                f"This ID token was obtained for something else (its nonce is not this"
                f" request's): sign in with {display} again from this screen.",
                code="id_token_nonce",
            )


def _lookup(keys: KeySet, kid: str | None) -> Key | None:
    if kid is None:
        # No key id: usable only when the provider publishes one key.
        return next(iter(keys.keys.values())) if len(keys.keys) == 1 else None
    return keys.keys.get(kid) if isinstance(kid, str) else None


def _malformed(what: str) -> IdTokenRefused:
    return IdTokenRefused(f"This ID token {what}.", code="id_token_malformed")


class Providers:
    """The configured providers by name, in configured order."""

    def __init__(self, providers: list[Provider]):
        self._providers = {provider.name: provider for provider in providers}

    @classmethod
    def from_settings(
        cls, settings: tuple[ProviderSettings, ...], *, clock: Callable[[], float] = time.time
    ) -> Providers:
        return cls([Provider(item, clock=clock) for item in settings])

    def __bool__(self) -> bool:
        return bool(self._providers)

    def __iter__(self) -> Any:
        return iter(self._providers.values())

    def get(self, name: str) -> Provider | None:
        return self._providers.get(name)

    def names(self) -> tuple[str, ...]:
        return tuple(self._providers)

    async def load_all(self) -> None:
        """Fetch every provider's documents (at start-up); failures are logged, not raised."""
        await asyncio.gather(*(provider.refresh() for provider in self._providers.values()))
        for provider in self._providers.values():
            if provider.problem is None:
                log.info("OpenID provider %s ready (%s)", provider.name, provider.settings.issuer)
