"""The dialog's client for the vouch API: JSON in, JSON out, errors as ApiError."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vouch.dialog import jsbridge


class ApiError(Exception):
    """The server refused a request; `message` is its sentence for people, `details` the
    rest of its error object (such as `attempts_left`)."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}


class ApiClient:
    def __init__(self) -> None:
        self.session: str | None = None

    async def call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        status, data = await jsbridge.fetch_json(method, path, body, token=self.session)
        if status >= 400:
            error = (data or {}).get("error", {}) if isinstance(data, dict) else {}
            raise ApiError(
                status,
                str(error.get("code", "http_error")),
                str(error.get("message", f"The server answered {status}.")),
                {k: v for k, v in error.items() if k not in ("code", "message")},
            )
        if not isinstance(data, dict):
            raise ApiError(status, "bad_response", "The server sent an unexpected answer.")
        return data

    async def register_options(self) -> dict[str, Any]:
        return await self.call("POST", "/api/register/options", {})

    async def register_verify(
        self, challenge_id: str, username: str, credential: dict[str, Any], audience: str | None
    ) -> dict[str, Any]:
        body = {"challenge_id": challenge_id, "username": username, "credential": credential}
        return await self.call("POST", "/api/register/verify", _with_audience(body, audience))

    async def signin_options(self) -> dict[str, Any]:
        return await self.call("POST", "/api/signin/options", {})

    async def signin_verify(
        self, challenge_id: str, credential: dict[str, Any], audience: str | None
    ) -> dict[str, Any]:
        body = {"challenge_id": challenge_id, "credential": credential}
        return await self.call("POST", "/api/signin/verify", _with_audience(body, audience))

    # Signed in: the account and its guardians ------------------------------------------

    async def account(self) -> dict[str, Any]:
        return await self.call("GET", "/api/account")

    async def activity(self) -> dict[str, Any]:
        """The account's audit log, newest first."""
        return await self.call("GET", "/api/audit")

    async def resume_session(self, audience: str | None) -> dict[str, Any]:
        """A fresh host token for `session`, which stays the same."""
        return await self.call("POST", "/api/session/resume", _with_audience({}, audience))

    async def guardians_options(self) -> dict[str, Any]:
        return await self.call("POST", "/api/guardians/options", {})

    async def guardian_passkey_options(self) -> dict[str, Any]:
        return await self.call("POST", "/api/guardians/passkey/options", {})

    async def add_guardian_passkey(
        self, challenge_id: str, credential: dict[str, Any]
    ) -> dict[str, Any]:
        body = {"challenge_id": challenge_id, "credential": credential}
        return await self.call("POST", "/api/guardians/passkey", body)

    async def save_guardians(
        self,
        challenge_id: str,
        config: dict[str, Any],
        assertion: dict[str, Any],
        *,
        links: Sequence[dict[str, Any]] = (),
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "challenge_id": challenge_id,
            "config": config,
            "assertion": assertion,
        }
        if links:
            body["links"] = list(links)
        return await self.call("PUT", "/api/guardians", body)

    async def add_email(self, address: str) -> dict[str, Any]:
        """Mail a code to `address`; it becomes the account's once verified with it."""
        return await self.call("POST", "/api/account/email", {"address": address})

    async def verify_email(self, verification_id: str, code: str) -> dict[str, Any]:
        body = {"verification_id": verification_id, "code": code}
        return await self.call("POST", "/api/account/email/verify", body)

    async def cancel_recovery(self, recovery_id: str) -> dict[str, Any]:
        return await self.call("POST", "/api/recovery/cancel", {"recovery_id": recovery_id})

    # Trusted contacts: people who vouch for each other ----------------------------------

    async def contacts(self) -> dict[str, Any]:
        """Whom this account invited, who invited it, and the help requests it was sent."""
        return await self.call("GET", "/api/contacts")

    async def contact_invite(self, username: str) -> dict[str, Any]:
        return await self.call("POST", "/api/contacts/invite", {"username": username})

    async def contact_withdraw(self, account: str) -> dict[str, Any]:
        return await self.call("POST", "/api/contacts/withdraw", {"account": account})

    async def contact_options(self) -> dict[str, Any]:
        """Options for the passkey assertion that answers an invitation (single use)."""
        return await self.call("POST", "/api/contacts/options", {})

    async def contact_answer(
        self, challenge_id: str, owner: str, answer: str, assertion: dict[str, Any]
    ) -> dict[str, Any]:
        body = {
            "challenge_id": challenge_id,
            "owner": owner,
            "answer": answer,
            "assertion": assertion,
        }
        return await self.call("POST", "/api/contacts/answer", body)

    async def help_open(self, request_id: str) -> dict[str, Any]:
        """A help request sent to this account, shown to the contact (the requester sees it
        was opened)."""
        return await self.call("POST", "/api/contact-requests/open", {"request_id": request_id})

    async def help_approve(
        self, request_id: str, code: str, assertion: dict[str, Any]
    ) -> dict[str, Any]:
        """The contact's approval: the code the requester read to them, and their passkey."""
        body = {"request_id": request_id, "code": code, "assertion": assertion}
        return await self.call("POST", "/api/contact-requests/approve", body)

    async def help_decline(self, request_id: str) -> dict[str, Any]:
        body = {"request_id": request_id}
        return await self.call("POST", "/api/contact-requests/decline", body)

    # Recovery ---------------------------------------------------------------------------

    async def recovery_start(self, username: str) -> dict[str, Any]:
        return await self.call("POST", "/api/recovery/start", {"username": username})

    async def recovery_check(
        self, recovery_id: str, new_credential: dict[str, str], approval: dict[str, Any]
    ) -> dict[str, Any]:
        body = {"recovery_id": recovery_id, "new_credential": new_credential, "approval": approval}
        return await self.call("POST", "/api/recovery/check", body)

    async def recovery_email_send(self, recovery_id: str, guardian_id: str) -> dict[str, Any]:
        body = {"recovery_id": recovery_id, "guardian_id": guardian_id}
        return await self.call("POST", "/api/recovery/email/send", body)

    async def recovery_email_verify(
        self, recovery_id: str, guardian_id: str, code: str
    ) -> dict[str, Any]:
        body = {"recovery_id": recovery_id, "guardian_id": guardian_id, "code": code}
        return await self.call("POST", "/api/recovery/email/verify", body)

    async def recovery_contact_request(
        self,
        recovery_id: str,
        guardian_id: str,
        new_credential: dict[str, str],
        authenticator: str | None,
    ) -> dict[str, Any]:
        """A help request to the guardian's trusted contact: its link (never its code). The
        kind of authenticator is left out when the browser did not say."""
        body: dict[str, Any] = {
            "recovery_id": recovery_id,
            "guardian_id": guardian_id,
            "new_credential": new_credential,
        }
        if authenticator is not None:
            body["authenticator"] = authenticator
        return await self.call("POST", "/api/recovery/contact/request", body)

    async def recovery_contact_status(self, recovery_id: str, guardian_id: str) -> dict[str, Any]:
        body = {"recovery_id": recovery_id, "guardian_id": guardian_id}
        return await self.call("POST", "/api/recovery/contact/status", body)

    async def recovery_execute(
        self,
        recovery_id: str,
        credential: dict[str, Any],
        approvals: list[dict[str, Any]],
        audience: str | None,
    ) -> dict[str, Any]:
        body = {"recovery_id": recovery_id, "credential": credential, "approvals": approvals}
        return await self.call("POST", "/api/recovery/execute", _with_audience(body, audience))

    async def recovery_complete(self, recovery_id: str, audience: str | None) -> dict[str, Any]:
        body = {"recovery_id": recovery_id}
        return await self.call("POST", "/api/recovery/complete", _with_audience(body, audience))

    async def config(self) -> dict[str, Any]:
        return await self.call("GET", "/api/config")


def _with_audience(body: dict[str, Any], audience: str | None) -> dict[str, Any]:
    """Name the embedding site the host token is for; without one it is the dialog's own."""
    return {**body, "audience": audience} if audience else body
