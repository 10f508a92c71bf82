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
    and the names people know those sites by (the recovery kit names the site)."""
    config = context_of(request).config
    return JSONResponse(
        {
            "origin": config.origin,
            "rp_id": config.effective_rp_id,
            "rp_name": config.rp_name,
            "allowed_origins": list(config.allowed_origins),
            "site_names": {origin: config.site_name(origin) for origin in config.allowed_origins},
            "recovery_delay": config.recovery_delay_seconds,
        }
    )


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
        " their names, delay",
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
            },
            "required": [
                "origin",
                "rp_id",
                "rp_name",
                "allowed_origins",
                "site_names",
                "recovery_delay",
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
