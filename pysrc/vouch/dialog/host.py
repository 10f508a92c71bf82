"""Messages to the page that embedded the dialog, always to its exact origin."""

from __future__ import annotations

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

    def result(self, account: str, username: str, token: str) -> None:
        self._send("result", result={"account": account, "username": username, "token": token})

    def cancelled(self) -> None:
        self._send("error", reason="cancelled", message="The user closed the dialog.")

    def webauthn_blocked(self) -> None:
        """In a frame where the browser refuses WebAuthn: the SDK reopens us as a popup."""
        self._send("webauthn-blocked")
