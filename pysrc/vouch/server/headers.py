"""Security headers on every response, as a plain ASGI middleware (no per-request objects)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vouch.server.config import Config


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


def security_headers(config: Config) -> list[tuple[bytes, bytes]]:
    """The headers every response gets (unless it set one of them itself)."""
    return [
        (b"content-security-policy", content_security_policy(config).encode()),
        (b"permissions-policy", permissions_policy(config).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-resource-policy", b"same-origin"),
    ]


class SecurityHeaders:
    def __init__(self, app: ASGIApp, config: Config):
        self.app = app
        self.headers = security_headers(config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                existing = {name.lower() for name, _ in message["headers"]}
                message["headers"] = list(message["headers"]) + [
                    header for header in self.headers if header[0] not in existing
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)
