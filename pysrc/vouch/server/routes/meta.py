"""What the page and host apps read about this server: its public settings and token keys."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from vouch.server import schemas
from vouch.server.api import Endpoint, JSONResponse
from vouch.server.context import context_of

JWKS_MAX_AGE = 300


async def public_config(request: Request) -> Response:
    """What the dialog needs before anything else: where it lives, which sites may embed it,
    the names people know those sites by (the recovery kit names the site), and the OpenID
    providers it can link and approve with (those unavailable now say so)."""
    context = context_of(request)
    config = context.config
    for provider in context.oidc:
        if provider.untried:  # the first request after a start waits for the first fetch
            await provider.available()
    return JSONResponse(
        {
            "origin": config.origin,
            "rp_id": config.effective_rp_id,
            "rp_name": config.rp_name,
            "allowed_origins": list(config.allowed_origins),
            "site_names": {origin: config.site_name(origin) for origin in config.allowed_origins},
            "recovery_delay": config.recovery_delay_seconds,
            "oidc_providers": [
                provider.describe(config.oidc_redirect_uri) for provider in context.oidc
            ],
        }
    )


OIDC_PROVIDER: schemas.JSONSchema = {
    "type": "object",
    "description": "Open authorization_endpoint in a popup with client_id, response_type,"
    " response_mode, scope, redirect_uri and nonce = base64url(SHA-256(message)): the"
    " guardians message to link, the recovery message to approve",
    "properties": {
        "name": {"type": "string"},
        "display_name": {"type": "string"},
        "icon": {
            "type": ["string", "null"],
            "description": "a path on the dialog's origin or a data: URI",
        },
        "issuer": {"type": "string"},
        "client_id": {"type": "string"},
        "authorization_endpoint": {"type": ["string", "null"]},
        "response_type": {"const": "id_token"},
        "response_mode": {"const": "fragment"},
        "scope": {"const": "openid"},
        "redirect_uri": {"type": "string"},
        "available": {"type": "boolean"},
        "message": {"type": ["string", "null"], "description": "why it is unavailable"},
    },
    "required": [
        "name",
        "display_name",
        "icon",
        "issuer",
        "client_id",
        "authorization_endpoint",
        "response_type",
        "response_mode",
        "scope",
        "redirect_uri",
        "available",
        "message",
    ],
}


async def jwks(request: Request) -> Response:
    """The token keys, readable by any page (CORS `*`: they are public, and a host page may
    verify a token in the browser). The keys a rotation retires leave this set, so a cache
    may keep it only briefly."""
    context = context_of(request)
    return JSONResponse(context.tokens.jwks(context.now()), headers=JWKS_HEADERS)


JWKS_HEADERS = {
    "Cache-Control": f"public, max-age={JWKS_MAX_AGE}",
    "Access-Control-Allow-Origin": "*",
    "Cross-Origin-Resource-Policy": "cross-origin",
}


ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/config",
        "The dialog's public settings: origin, RP ID and name, allowed embedding origins and"
        " their names, delay, and the OpenID providers guardians can sign in with",
        public_config,
        response_schema={
            "type": "object",
            "properties": {
                "origin": {"type": "string"},
                "rp_id": {"type": "string"},
                "rp_name": {"type": "string", "description": "the dialog's own site name"},
                "allowed_origins": {"type": "array", "items": {"type": "string"}},
                "site_names": {
                    "type": "object",
                    "description": "each allowed origin's name, as the recovery kit shows it"
                    " (its host name unless configured)",
                    "additionalProperties": {"type": "string"},
                },
                "recovery_delay": {"type": "integer", "description": "seconds"},
                "oidc_providers": {"type": "array", "items": OIDC_PROVIDER},
            },
            "required": [
                "origin",
                "rp_id",
                "rp_name",
                "allowed_origins",
                "site_names",
                "recovery_delay",
                "oidc_providers",
            ],
        },
        tag="meta",
    ),
    Endpoint(
        "GET",
        "/.well-known/jwks.json",
        "Public keys (Ed25519, OKP) that verify host-app tokens",
        jwks,
        response_schema={
            "type": "object",
            "properties": {
                "keys": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "kty": {"const": "OKP"},
                            "crv": {"const": "Ed25519"},
                            "x": schemas.b64url_bytes("public key", 32),
                            "kid": {"type": "string"},
                            "use": {"const": "sig"},
                            "alg": {"const": "EdDSA"},
                        },
                        "required": ["kty", "crv", "x", "kid"],
                    },
                }
            },
            "required": ["keys"],
        },
        tag="meta",
    ),
]
