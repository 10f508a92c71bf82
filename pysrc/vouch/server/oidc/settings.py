"""How a deployment names its OpenID providers: `NAME=ISSUER_URL,CLIENT_ID[,CLIENT_SECRET_FILE]`.

One provider per `--oidc-provider` (repeatable), or several in `VOUCH_OIDC_PROVIDERS`
separated by `;`. NAME (lowercase letters, digits, `-`, `_`) is what guardians store and
what the dialog is told; it never changes once guardians use it. The issuer is the exact
`iss` the provider's tokens carry (https, or http on a loopback host for tests); the client
ID is the one registered for the dialog's origin. The dialog shows a display name
(`--oidc-provider-name NAME=TEXT`, default NAME capitalised) and an icon
(`--oidc-provider-icon NAME=URL`: a path on the dialog's own origin or a `data:image/` URI,
never another site's URL: the page loads nothing from elsewhere).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

ENV_VARIABLE = "VOUCH_OIDC_PROVIDERS"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
MAX_DISPLAY_NAME = 40


class ProviderSettingError(ValueError):
    """A provider setting is malformed; the message says which and how."""


@dataclass(frozen=True)
class ProviderSettings:
    name: str
    issuer: str
    client_id: str
    display_name: str
    icon: str | None = None

    @property
    def loopback(self) -> bool:
        return urlsplit(self.issuer).hostname in _LOOPBACK


def parse_provider(text: str) -> ProviderSettings:
    """`NAME=ISSUER_URL,CLIENT_ID[,CLIENT_SECRET_FILE]`, checked."""
    name, sep, rest = text.strip().partition("=")
    if not sep:
        raise ProviderSettingError(
            f'OpenID provider "{text}" is not NAME=ISSUER_URL,CLIENT_ID[,CLIENT_SECRET_FILE]'
        )
    name = name.strip()
    if not _NAME.match(name):
        raise ProviderSettingError(
            f'OpenID provider name "{name}" must be 1-32 lowercase letters, digits, - or _'
        )
    parts = [part.strip() for part in rest.split(",")]
    if len(parts) not in (2, 3) or not all(parts):
        raise ProviderSettingError(
            f'OpenID provider "{name}" is "{rest}", expected ISSUER_URL,CLIENT_ID'
            "[,CLIENT_SECRET_FILE]"
        )
    issuer, client_id = parts[0], parts[1]
    if len(parts) == 3:
        # The authorization-code flow (the secret exchanged by the server) is not built:
        # the dialog uses the implicit flow, which needs no secret (README, OpenID Connect
        # guardians). Refused rather than ignored, so no one believes a secret is in use.
        raise ProviderSettingError(
            f'OpenID provider "{name}" names a client secret file: this server runs the'
            " implicit flow (response_type=id_token), which needs none; leave it out"
        )
    check_issuer(name, issuer)
    return ProviderSettings(name, issuer, client_id, display_name=name.capitalize())


def check_issuer(name: str, issuer: str) -> None:
    parts = urlsplit(issuer)
    loopback = parts.hostname in _LOOPBACK
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ProviderSettingError(
            f'OpenID provider "{name}" has issuer "{issuer}": it must be an https URL'
            " (http only on a loopback host, for tests)"
        )
    if parts.query or parts.fragment or not parts.hostname:
        raise ProviderSettingError(
            f'OpenID provider "{name}" has issuer "{issuer}", expected a URL with no query'
            " or fragment"
        )


def parse_providers(texts: list[str], environment: str | None = None) -> list[ProviderSettings]:
    """The options' providers, then the variable's (`;`-separated); each name once."""
    specs = list(texts)
    if environment:
        specs += [spec for spec in environment.split(";") if spec.strip()]
    providers = [parse_provider(spec) for spec in specs]
    names = [provider.name for provider in providers]
    for name in names:
        if names.count(name) > 1:
            raise ProviderSettingError(f'OpenID provider "{name}" is configured twice')
    return providers


def _named(option: str, text: str, providers: list[ProviderSettings]) -> tuple[int, str]:
    name, sep, value = text.partition("=")
    known = [provider.name for provider in providers]
    if not sep or not value.strip():
        raise ProviderSettingError(f'{option} "{text}" is not NAME=VALUE')
    if name.strip() not in known:
        raise ProviderSettingError(
            f'{option} names "{name}", not a configured OpenID provider'
            f" ({', '.join(known) or 'none'})"
        )
    return known.index(name.strip()), value.strip()


def with_display(
    providers: list[ProviderSettings], names: list[str], icons: list[str]
) -> list[ProviderSettings]:
    """Apply `--oidc-provider-name NAME=TEXT` and `--oidc-provider-icon NAME=URL`."""
    result = list(providers)
    for text in names:
        index, value = _named("--oidc-provider-name", text, result)
        if len(value) > MAX_DISPLAY_NAME:
            raise ProviderSettingError(
                f'--oidc-provider-name "{value}" is longer than {MAX_DISPLAY_NAME} characters'
            )
        result[index] = replace(result[index], display_name=value)
    for text in icons:
        index, value = _named("--oidc-provider-icon", text, result)
        if not (value.startswith("/") and not value.startswith("//")) and not value.startswith(
            "data:image/"
        ):
            raise ProviderSettingError(
                f'--oidc-provider-icon "{value[:60]}" must be a path on the dialog\'s origin'
                ' ("/icons/google.svg") or a data:image/ URI: the dialog loads nothing from'
                " other sites"
            )
        result[index] = replace(result[index], icon=value)
    return result
