"""The only module that touches the browser: DOM, fetch and WebAuthn, converted at the edge.

Python code elsewhere in the dialog sees `dict`, `str` and Python exceptions; JS values and
DOMExceptions never leave this module. Event-handler proxies are kept per screen and
destroyed when the screen is replaced, so they do not leak.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import js
from pyodide.ffi import JsException, create_once_callable, create_proxy

from vouch.dialog import deferred


class WebAuthnError(Exception):
    """A WebAuthn ceremony failed; `name` is the DOMException name (NotAllowedError, ...)."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name

    @property
    def blocked_in_frame(self) -> bool:
        """The browser refuses WebAuthn in this frame (Permissions Policy, not the user)."""
        text = str(self)
        return "feature is not enabled" in text or "Permissions Policy" in text


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
    if not credential:  # JS null arrives as pyodide.ffi.jsnull, which is falsy
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
        self.listen(self.element(selector), event, handler)

    def listen(self, element: Any, event: str, handler: Callable[[Any], None]) -> None:
        proxy = create_proxy(handler)
        self._proxies.append(proxy)
        element.addEventListener(event, proxy)

    def append_template(self, container_selector: str, template_id: str) -> Any:
        """Clone a template into a container; return the clone's first element."""
        fragment = js.document.getElementById(template_id).content.cloneNode(True)
        element = fragment.firstElementChild
        self.element(container_selector).appendChild(fragment)
        return element

    def set_disabled(self, selector: str, disabled: bool) -> None:
        self.element(selector).disabled = disabled

    def set_hidden(self, selector: str, hidden: bool) -> None:
        self.element(selector).hidden = hidden

    def set_attribute(self, selector: str, name: str, value: str) -> None:
        self.element(selector).setAttribute(name, value)

    def set_value(self, selector: str, value: str) -> None:
        self.element(selector).value = value

    def checked(self, selector: str) -> bool:
        return bool(self.element(selector).checked)

    def set_text(self, selector: str, text: str) -> None:
        self.element(selector).textContent = text

    def value(self, selector: str) -> str:
        return str(self.element(selector).value)

    def focus(self, selector: str) -> None:
        element = self.element(selector)
        if element:
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


def _boot_module() -> Any | None:
    """The snapshot page's boot module (scripts/build_web.py); None on a plain Pyodide page."""
    try:
        return importlib.import_module("vouch_boot")
    except ImportError:
        return None


def guard_deferred() -> None:
    """Make early imports of deferred modules fail clearly (see `vouch.dialog.deferred`)."""
    boot = _boot_module()
    if boot is not None:
        deferred.install([str(path) for path in boot.deferredPaths])


def deferred_loaded() -> bool:
    boot = _boot_module()
    return boot is None or bool(boot.deferredLoaded())


async def load_deferred() -> None:
    """Fetch and write the modules the first screens do without; at once once they are in."""
    boot = _boot_module()
    if boot is None:
        return
    try:
        await boot.loadDeferred()
    except JsException as exc:
        raise NetworkError(str(exc)) from None
    importlib.invalidate_caches()


# Page-level helpers used by the account, kit and embed code -----------------------------


def _same(a: Any, b: Any) -> bool:
    """JS identity (===); JsProxy equality is not reliable for that."""
    return bool(getattr(js.Object, "is")(a, b))


def query_params() -> dict[str, str]:
    return dict(parse_qsl(str(js.location.search).lstrip("?")))


def own_origin() -> str:
    return str(js.location.origin)


def framed_by() -> str | None:
    """The embedding page's origin when we are in a frame ("" if the browser will not say)."""
    if _same(js.window.parent, js.window):
        return None
    ancestors = getattr(js.location, "ancestorOrigins", None)
    if ancestors and ancestors.length > 0:
        return str(ancestors.item(0))
    return ""


def post_to_host(message: dict[str, Any], target_origin: str) -> None:
    """postMessage to the opener (popup) or parent (iframe), only to the exact host origin."""
    # JS truthiness, not Python's: a cross-origin opener is a WindowProxy whose properties
    # cannot be read, which Python-side truth testing would trip over.
    opener = js.window.opener
    target = opener if js.Boolean(opener) else js.window.parent
    if js.Boolean(target) and not _same(target, js.window):
        target.postMessage(to_js_json(message), target_origin)


async def copy_text(text: str) -> bool:
    try:
        await js.navigator.clipboard.writeText(text)
    except (JsException, AttributeError):
        return False
    return True


def download_text(filename: str, text: str) -> None:
    blob = js.Blob.new(to_js_json([text]), to_js_json({"type": "text/plain;charset=utf-8"}))
    url = js.URL.createObjectURL(blob)
    link = js.document.createElement("a")
    link.href = url
    link.download = filename
    js.document.body.appendChild(link)
    link.click()
    link.remove()
    js.URL.revokeObjectURL(url)


def print_page() -> None:
    js.window.print()


def create_element(tag: str, text: str = "", **attributes: str) -> Any:
    element = js.document.createElement(tag)
    if text:
        element.textContent = text
    for name, value in attributes.items():
        element.setAttribute(name.replace("_", "-"), value)
    return element


def console_warn(text: str) -> None:
    js.console.warn(text)


async def next_paint() -> None:
    """Return after the browser has painted, so a progress screen shows before long work."""
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def resolve() -> None:
        if not future.done():
            future.set_result(None)

    js.requestAnimationFrame(
        create_once_callable(lambda _time: js.setTimeout(create_once_callable(resolve), 0))
    )
    await future


def show_refusal(message: str) -> None:
    """Replace the whole dialog with a refusal: nothing else may run on this page."""
    host = js.document.getElementById("screen")
    heading = create_element("h2", "This dialog cannot open here")
    host.replaceChildren(heading, create_element("p", message, **{"class": "lede"}))
    host.setAttribute("aria-busy", "false")


_FOCUSABLE = (
    "a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), "
    "textarea:not([disabled]), [tabindex]:not([tabindex='-1'])"
)
_page_proxies: list[Any] = []


def keep_focus_inside(container_id: str) -> None:
    """Tab and Shift+Tab cycle through the dialog's controls instead of leaving it."""

    def on_keydown(event: Any) -> None:
        if event.key != "Tab":
            return
        container = js.document.getElementById(container_id)
        items = [item for item in container.querySelectorAll(_FOCUSABLE) if item.offsetParent]
        if not items:
            return
        first, last = items[0], items[-1]
        active = js.document.activeElement
        outside = not container.contains(active)
        if event.shiftKey and (outside or active.isSameNode(first)):
            event.preventDefault()
            last.focus()
        elif not event.shiftKey and (outside or active.isSameNode(last)):
            event.preventDefault()
            first.focus()

    proxy = create_proxy(on_keydown)
    _page_proxies.append(proxy)  # lives as long as the page
    js.document.addEventListener("keydown", proxy)
