"""Security headers on every response, as a plain ASGI middleware (no per-request objects).

The header lists are built once per app. API answers (`/api/...`) also get
`Cache-Control: no-store`: they carry sessions, tokens and account data, and even an error
should not be kept by a shared cache. Static files keep the caching `static.py` gives them.
A response leaves with at most one `Vary` header, its values merged (static files name
Accept-Encoding and so does the gzip middleware).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vouch.server.config import Config

API_PREFIX = "/api/"
NO_STORE = (b"cache-control", b"no-store")


def content_security_policy(config: Config) -> str:
    """Nothing remote: scripts, wasm, workers and fetches all come from this origin.

    'unsafe-eval' is there because PyScript builds its hook functions with `Function()`;
    inline scripts stay forbidden, which is what stops injected markup from running.
    """
    ancestors = " ".join(["'self'", *config.allowed_origins])
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' 'wasm-unsafe-eval' 'unsafe-eval'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {ancestors}",
        ]
    )


def permissions_policy(config: Config) -> str:
    """Let the allowed embedders' frames run WebAuthn ceremonies for the dialog."""
    allowed = " ".join(["self", *(f'"{origin}"' for origin in config.allowed_origins)])
    return (
        f"publickey-credentials-get=({allowed}), publickey-credentials-create=({allowed}), "
        "camera=(), microphone=(), geolocation=()"
    )


def strict_transport_security(config: Config) -> str | None:
    """`--hsts`: browsers then reach this origin over https only. Sent only when the origin
    is https (over http a browser ignores it, and it would promise what the server is not).
    No includeSubDomains: the dialog's host says nothing about its neighbours."""
    if config.hsts_max_age <= 0 or urlsplit(config.origin).scheme != "https":
        return None
    return f"max-age={config.hsts_max_age}"


def security_headers(config: Config) -> list[tuple[bytes, bytes]]:
    """The headers every response gets (unless it set one of them itself)."""
    headers = [
        (b"content-security-policy", content_security_policy(config).encode()),
        (b"permissions-policy", permissions_policy(config).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-resource-policy", b"same-origin"),
    ]
    hsts = strict_transport_security(config)
    if hsts is not None:
        headers.append((b"strict-transport-security", hsts.encode()))
    return headers


def api_headers(config: Config) -> list[tuple[bytes, bytes]]:
    """What an API answer gets: the security headers and no-store."""
    return [*security_headers(config), NO_STORE]


def headers_for(path: str, config: Config) -> list[tuple[bytes, bytes]]:
    return api_headers(config) if path.startswith(API_PREFIX) else security_headers(config)


def one_vary(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`headers` with every Vary merged into the first, each value once."""
    values: list[bytes] = []
    seen: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"vary":
            for item in value.split(b","):
                item = item.strip()
                if item and item.lower() not in seen:
                    seen.add(item.lower())
                    values.append(item)
    merged: list[tuple[bytes, bytes]] = []
    for name, value in headers:
        if name.lower() != b"vary":
            merged.append((name, value))
        elif values:
            merged.append((b"vary", b", ".join(values)))
            values = []
    return merged


class SecurityHeaders:
    """Adds the headers each response gets to what went through Starlette's stack (static
    files, /healthz, the 404 and 405 answers), for the API the no-store ones."""

    def __init__(self, app: ASGIApp, config: Config):
        self.app = app
        self.headers = security_headers(config)
        self.api_headers = api_headers(config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = self.api_headers if scope["path"].startswith(API_PREFIX) else self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                existing = {name.lower() for name, _ in headers}
                headers += [header for header in added if header[0] not in existing]
                message["headers"] = one_vary(headers) if b"vary" in existing else headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
