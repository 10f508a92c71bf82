"""The dialog's client for the vouch API: JSON in, JSON out, errors as ApiError."""

from __future__ import annotations

from typing import Any

from vouch.dialog import jsbridge


class ApiError(Exception):
    """The server refused a request; `message` is its sentence for people."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


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
            )
        if not isinstance(data, dict):
            raise ApiError(status, "bad_response", "The server sent an unexpected answer.")
        return data

    async def register_options(self) -> dict[str, Any]:
        return await self.call("POST", "/api/register/options", {})

    async def register_verify(
        self, challenge_id: str, username: str, credential: dict[str, Any]
    ) -> dict[str, Any]:
        body = {"challenge_id": challenge_id, "username": username, "credential": credential}
        return await self.call("POST", "/api/register/verify", body)

    async def signin_options(self) -> dict[str, Any]:
        return await self.call("POST", "/api/signin/options", {})

    async def signin_verify(self, challenge_id: str, credential: dict[str, Any]) -> dict[str, Any]:
        body = {"challenge_id": challenge_id, "credential": credential}
        return await self.call("POST", "/api/signin/verify", body)
