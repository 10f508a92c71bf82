"""Messages to the page that embedded the dialog, always to its exact origin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vouch.dialog import jsbridge
from vouch.dialog.embed import Launch


class HostChannel:
    """Messages to the host page; a no-op when the dialog was opened directly."""

    def __init__(self, launch: Launch):
        self.launch = launch

    def _send(self, kind: str, **fields: Any) -> None:
        if self.launch.host_origin is None:
            return
        message = {"type": f"vouch:{kind}", "nonce": self.launch.nonce, **fields}
        jsbridge.post_to_host(message, self.launch.host_origin)

    def ready(self) -> None:
        self._send("ready")

    def result(self, account: str, username: str, token: str, session: str) -> None:
        """The token for the site, and the dialog session for the SDK alone: it keeps it in
        memory (never storage, never in what `Vouch.open` resolves) and hands it back to the
        dialog it opens next from this page, so "Manage account" asks for no passkey again."""
        self._send(
            "result",
            result={"account": account, "username": username, "token": token, "session": session},
        )

    def signed_out(self) -> None:
        """The SDK forgets the session it holds for this dialog."""
        self._send("signed-out")

    def on_resume(self, handler: Callable[[str], None]) -> None:
        """`handler` gets the session the SDK posts back (`vouch:resume`, with our nonce)."""
        if self.launch.host_origin is None:
            return

        def received(data: dict[str, Any]) -> None:
            session = data.get("session")
            ours = data.get("type") == "vouch:resume" and data.get("nonce") == self.launch.nonce
            if ours and isinstance(session, str) and session:
                handler(session)

        jsbridge.on_host_message(self.launch.host_origin, received)

    def cancelled(self) -> None:
        self._send("error", reason="cancelled", message="The user closed the dialog.")

    def webauthn_blocked(self) -> None:
        """In a frame where the browser refuses WebAuthn: the SDK reopens us as a popup."""
        self._send("webauthn-blocked")
