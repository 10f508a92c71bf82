"""The only module that touches the browser: DOM, fetch and WebAuthn, converted at the edge.

Python code elsewhere in the dialog sees `dict`, `str` and Python exceptions; JS values and
DOMExceptions never leave this module. Event-handler proxies are kept per screen and
destroyed when the screen is replaced, so they do not leak.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import js
from pyodide.ffi import JsException, create_proxy


class WebAuthnError(Exception):
    """A WebAuthn ceremony failed; `name` is the DOMException name (NotAllowedError, ...)."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name


class NetworkError(Exception):
    """The request never got an HTTP answer."""


def to_js_json(data: Any) -> Any:
    """Python JSON-able data to a plain JS object (no proxies to release)."""
    return js.JSON.parse(json.dumps(data))


def from_js_json(value: Any) -> Any:
    return json.loads(js.JSON.stringify(value))


async def fetch_json(
    method: str, path: str, body: Any = None, *, token: str | None = None
) -> tuple[int, Any]:
    """One JSON request to our own origin; returns (status, decoded body)."""
    headers = {"Accept": "application/json"}
    init: dict[str, Any] = {"method": method, "headers": headers, "credentials": "omit"}
    if body is not None:
        headers["Content-Type"] = "application/json"
        init["body"] = json.dumps(body)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = await js.fetch(path, to_js_json(init))
        text = await response.text()
    except JsException as exc:
        raise NetworkError(str(exc)) from None
    try:
        return int(response.status), json.loads(text) if text else None
    except ValueError:
        return int(response.status), None


def start_create(options: dict[str, Any]) -> Any:
    """Begin navigator.credentials.create synchronously, inside the user's click."""
    public_key = js.PublicKeyCredential.parseCreationOptionsFromJSON(to_js_json(options))
    return js.navigator.credentials.create(_public_key_request(public_key))


def start_get(options: dict[str, Any]) -> Any:
    """Begin navigator.credentials.get synchronously, inside the user's click."""
    public_key = js.PublicKeyCredential.parseRequestOptionsFromJSON(to_js_json(options))
    return js.navigator.credentials.get(_public_key_request(public_key))


def _public_key_request(public_key: Any) -> Any:
    request = js.Object.new()
    request.publicKey = public_key
    return request


async def finish_ceremony(promise: Any) -> dict[str, Any]:
    """Await a ceremony started by start_create/start_get; return the credential's JSON."""
    try:
        credential = await promise
    except JsException as exc:
        raise WebAuthnError(str(getattr(exc, "name", "Error")), str(exc)) from None
    if credential is None:
        raise WebAuthnError("NotAllowedError", "No credential was returned.")
    result: dict[str, Any] = from_js_json(credential.toJSON())
    return result


def webauthn_available() -> bool:
    return bool(getattr(js.window, "PublicKeyCredential", None))


class Screen:
    """The mounted screen: a template cloned into #screen, with its event listeners."""

    def __init__(self, template_id: str):
        self._proxies: list[Any] = []
        host = js.document.getElementById("screen")
        fragment = js.document.getElementById(template_id).content.cloneNode(True)
        host.replaceChildren(fragment)
        host.setAttribute("aria-busy", "false")
        self.root = host

    def element(self, selector: str) -> Any:
        return self.root.querySelector(selector)

    def on(self, selector: str, event: str, handler: Callable[[Any], None]) -> None:
        proxy = create_proxy(handler)
        self._proxies.append(proxy)
        self.element(selector).addEventListener(event, proxy)

    def set_text(self, selector: str, text: str) -> None:
        self.element(selector).textContent = text

    def value(self, selector: str) -> str:
        return str(self.element(selector).value)

    def focus(self, selector: str) -> None:
        element = self.element(selector)
        if element is not None:
            element.focus()

    def release(self) -> None:
        for proxy in self._proxies:
            proxy.destroy()
        self._proxies.clear()


def show_error(message: str | None) -> None:
    element = js.document.getElementById("error")
    element.textContent = message or ""
    element.hidden = not message


def prevent_default(event: Any) -> None:
    event.preventDefault()


def set_ready() -> None:
    """Tell tests and the embed SDK that the dialog is interactive."""
    js.document.documentElement.dataset.ready = "true"
