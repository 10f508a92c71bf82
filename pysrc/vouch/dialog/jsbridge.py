"""The dialog's adapter to the browser: DOM, fetch and WebAuthn, converted at the edge.

Only this module (through `vouch.crypto.ffi`, where `js` is imported) touches the page.
It implements `shell.Screen`, `shell.View`, `shell.Page` and `shell.Ceremony`: screens get
and give `str`, `bool` and `dict`, their handlers take no JS event, and DOMExceptions come
out as `errors.WebAuthnError` or `errors.NetworkError`. Event-handler proxies are kept per
screen and destroyed when the screen is replaced, so they do not leak.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import Callable, Sequence
from typing import Any, cast
from urllib.parse import parse_qsl

from vouch.crypto import ffi
from vouch.crypto.ffi import js
from vouch.dialog import deferred
from vouch.dialog.errors import NetworkError, SignInFailed, WebAuthnError

Handler = Callable[[], None]  # as in vouch.dialog.shell, which builds on this module


def _by_id(element_id: str) -> js.Element:
    element = js.document.getElementById(element_id)
    if not element:
        raise LookupError(f"the page has no element #{element_id}")
    return element


def _clone(template_id: str) -> js.DocumentFragment:
    return _by_id(template_id).content.cloneNode(True)


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
        with ffi.converted():
            response = await js.fetch(path, ffi.to_js_json(init))
            text = await response.text()
    except ffi.JsError as exc:
        raise NetworkError(str(exc)) from None
    try:
        return int(response.status), json.loads(text) if text else None
    except ValueError:
        return int(response.status), None


# WebAuthn -------------------------------------------------------------------------------


class Ceremony:
    """navigator.credentials.create/get, begun inside the click; `credential` awaits it."""

    def __init__(self, promise: js.Promise[js.PublicKeyCredential | ffi.JsNull]):
        self._promise = promise

    async def credential(self) -> dict[str, Any]:
        try:
            credential = await ffi.wait(self._promise)
        except ffi.JsError as exc:
            raise WebAuthnError(exc.name, exc.message) from None
        if not credential:  # JS null arrives as pyodide.ffi.jsnull, which is falsy
            raise WebAuthnError("NotAllowedError", "No credential was returned.")
        result: dict[str, Any] = ffi.from_js_json(credential.toJSON())
        return result


def _public_key_request(public_key: ffi.JsProxy) -> js.JsObject:
    return ffi.js_object(publicKey=public_key)


def webauthn_available() -> bool:
    return bool(getattr(js.window, "PublicKeyCredential", None))


# OpenID sign-in popups ------------------------------------------------------------------

SIGN_IN_FEATURES = "popup,width=480,height=640"
SIGN_IN_POLL_SECONDS = 0.4  # how soon a closed window is noticed


class SignInWindow:
    """`shell.SignInWindow`: a provider's page in a popup, answered by our callback page.

    The answer counts only from our own origin, from that very window, with the `state`
    this sign-in was opened with: another window or site posting the same shape is ignored.
    """

    def __init__(self, url: str, state: str):
        self._state = state
        self._answer: asyncio.Future[dict[str, str]] = asyncio.get_event_loop().create_future()
        opened = js.window.open(url, "vouch-sign-in", SIGN_IN_FEATURES)
        self._window = cast("js.Window", opened) if js.Boolean(opened) else None
        self._listener = ffi.create_proxy(self._on_message)
        js.window.addEventListener("message", self._listener)
        if self._window is None:
            self._fail(
                "Your browser blocked the sign-in window: allow pop-ups for this site, then"
                " try again."
            )

    def _fail(self, message: str) -> None:
        if not self._answer.done():
            self._answer.set_exception(SignInFailed(message))

    def _on_message(self, event: js.MessageEvent) -> None:
        if event.origin != own_origin() or self._window is None:
            return
        if not _same(event.source, self._window):
            return
        try:
            data = ffi.from_js_json(event.data)
        except (ValueError, TypeError, ffi.JsError):
            return
        if not isinstance(data, dict) or data.get("type") != "vouch-oidc":
            return
        if data.get("state") != self._state or self._answer.done():
            return
        if data.get("error"):
            said = str(data.get("error_description") or data["error"]).rstrip(".")
            self._fail(f"The sign-in did not finish ({said}). Try again, or use another guardian.")
        elif isinstance(data.get("id_token"), str) and data["id_token"]:
            self._answer.set_result({"id_token": data["id_token"], "state": self._state})
        else:
            self._fail("The provider sent no ID token back: try again.")

    async def result(self) -> dict[str, str]:
        try:
            while not self._answer.done():
                if self._window is None or self._window.closed:
                    self._fail("The sign-in window was closed before you finished: try again.")
                    break
                await asyncio.wait([self._answer], timeout=SIGN_IN_POLL_SECONDS)
            return self._answer.result()
        finally:
            js.window.removeEventListener("message", self._listener)
            self._listener.destroy()
            self.close()

    def close(self) -> None:
        if self._window is not None and not self._window.closed:
            self._window.close()


class Page:
    """`shell.Page` in the browser: ceremonies, painting, clipboard, files and printing."""

    def start_create(self, options: dict[str, Any]) -> Ceremony:
        """Begin navigator.credentials.create synchronously, inside the user's click."""
        public_key = js.PublicKeyCredential.parseCreationOptionsFromJSON(ffi.to_js_json(options))
        return Ceremony(js.navigator.credentials.create(_public_key_request(public_key)))

    def start_get(self, options: dict[str, Any]) -> Ceremony:
        """Begin navigator.credentials.get synchronously, inside the user's click."""
        public_key = js.PublicKeyCredential.parseRequestOptionsFromJSON(ffi.to_js_json(options))
        return Ceremony(js.navigator.credentials.get(_public_key_request(public_key)))

    def open_sign_in(self, url: str, state: str) -> SignInWindow:
        """Open a provider's sign-in page in a popup, synchronously inside the user's click."""
        return SignInWindow(url, state)

    async def next_paint(self) -> None:
        """Return after the browser has painted, so a progress screen shows before long work."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def resolve() -> None:
            if not future.done():
                future.set_result(None)

        def after_frame(_time: float) -> None:
            js.setTimeout(ffi.create_once_callable(resolve), 0)

        js.requestAnimationFrame(ffi.create_once_callable(after_frame))
        await future

    async def copy_text(self, text: str) -> bool:
        try:
            await ffi.wait(js.navigator.clipboard.writeText(text))
        except (ffi.JsError, AttributeError):
            return False
        return True

    def download_text(self, filename: str, text: str) -> None:
        parts = ffi.to_js_json([text])
        blob = js.Blob.new(parts, ffi.to_js_json({"type": "text/plain;charset=utf-8"}))
        url = js.URL.createObjectURL(blob)
        link = js.document.createElement("a")
        link.href = url
        link.download = filename
        js.document.body.appendChild(link)
        link.click()
        link.remove()
        js.URL.revokeObjectURL(url)

    def print_page(self) -> None:
        js.window.print()


# Screens --------------------------------------------------------------------------------


class _Part:
    """Elements found by selector inside one root; listeners kept in the screen's list."""

    def __init__(self, root: js.Element, proxies: list[ffi.JsDoubleProxy], where: str):
        self._root = root
        self._proxies = proxies
        self._where = where

    def _find(self, selector: str) -> js.Element:
        if self._root.matches(selector):
            return self._root
        element = self._root.querySelector(selector)
        if not element:
            raise LookupError(f"{self._where} has no element {selector}")
        return element

    def _listen(self, element: js.Element, event: str, handler: Callable[[js.Event], None]) -> None:
        proxy = ffi.create_proxy(handler)
        self._proxies.append(proxy)
        element.addEventListener(event, proxy)

    def on(self, selector: str, event: str, handler: Handler) -> None:
        self._listen(self._find(selector), event, lambda _event: handler())

    def set_text(self, selector: str, text: str) -> None:
        self._find(selector).textContent = text

    def set_hidden(self, selector: str, hidden: bool) -> None:
        self._find(selector).hidden = hidden

    def set_disabled(self, selector: str, disabled: bool) -> None:
        self._find(selector).disabled = disabled

    def set_attribute(self, selector: str, name: str, value: str) -> None:
        self._find(selector).setAttribute(name, value)


class Screen(_Part):
    """The mounted screen: a template cloned into #screen, with its event listeners."""

    def __init__(self, template_id: str):
        host = _by_id("screen")
        host.replaceChildren(_clone(template_id))
        host.setAttribute("aria-busy", "false")
        super().__init__(host, [], f"screen {template_id}")

    def on_submit(self, selector: str, handler: Handler) -> None:
        def submit(event: js.Event) -> None:
            event.preventDefault()
            handler()

        self._listen(self._find(selector), "submit", submit)

    def value(self, selector: str) -> str:
        return str(self._find(selector).value)

    def set_value(self, selector: str, value: str) -> None:
        self._find(selector).value = value

    def checked(self, selector: str) -> bool:
        return bool(self._find(selector).checked)

    def attribute(self, selector: str, name: str) -> str | None:
        value = self._find(selector).getAttribute(name)
        return value if isinstance(value, str) else None

    def focus(self, selector: str) -> None:
        element = self._root.querySelector(selector)
        if element:
            element.focus()

    def append_template(self, container: str, template_id: str) -> _Part:
        fragment = _clone(template_id)
        element = fragment.firstElementChild
        if not element:
            raise LookupError(f"template #{template_id} has no element")
        self._find(container).appendChild(fragment)
        return _Part(element, self._proxies, f"an item of {template_id}")

    def append_text(self, container: str, tag: str, text: str) -> None:
        self._find(container).appendChild(create_element(tag, text))

    def set_options(self, selector: str, options: Sequence[tuple[str, str]], selected: str) -> None:
        select = self._find(selector)
        for value, label in options:
            option = create_element("option", label, value=value)
            if value == selected:
                option.selected = True
            select.appendChild(option)

    def release(self) -> None:
        for proxy in self._proxies:
            proxy.destroy()
        self._proxies.clear()


def show_error(message: str | None) -> None:
    element = _by_id("error")
    element.textContent = message or ""
    element.hidden = not message


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
        await ffi.wait(boot.loadDeferred())
    except ffi.JsError as exc:
        raise NetworkError(str(exc)) from None
    importlib.invalidate_caches()


# Page-level helpers used by the app and the embed code ----------------------------------


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


def _host_window() -> js.Window | None:
    """The opener (popup) or parent (iframe), or None when the dialog was opened directly."""
    # JS truthiness, not Python's: a cross-origin opener is a WindowProxy whose properties
    # cannot be read, which Python-side truth testing would trip over.
    opener = js.window.opener
    target = cast("js.Window", opener) if js.Boolean(opener) else js.window.parent
    if js.Boolean(target) and not _same(target, js.window):
        return target
    return None


def post_to_host(message: dict[str, Any], target_origin: str) -> None:
    """postMessage to the opener (popup) or parent (iframe), only to the exact host origin."""
    target = _host_window()
    if target is not None:
        target.postMessage(ffi.to_js_json(message), target_origin)


def on_host_message(origin: str, handler: Callable[[dict[str, Any]], None]) -> None:
    """Call `handler` with each JSON object the host window posts from exactly `origin`;
    anything from another window or origin is ignored."""

    def on_message(event: js.MessageEvent) -> None:
        target = _host_window()
        if event.origin != origin or target is None or not _same(event.source, target):
            return
        try:
            data = ffi.from_js_json(event.data)
        except (ValueError, TypeError, ffi.JsError):
            return
        if isinstance(data, dict):
            handler(data)

    proxy = ffi.create_proxy(on_message)
    _page_proxies.append(proxy)  # lives as long as the page
    js.window.addEventListener("message", proxy)


def create_element(tag: str, text: str = "", **attributes: str) -> js.Element:
    element = js.document.createElement(tag)
    if text:
        element.textContent = text
    for name, value in attributes.items():
        element.setAttribute(name.replace("_", "-"), value)
    return element


def console_warn(text: str) -> None:
    js.console.warn(text)


def path_and_query() -> str:
    return str(js.location.pathname) + str(js.location.search)


def take_fragment() -> dict[str, str]:
    """The address's #fragment parameters, then the address without them, in this history
    entry too: a help link's token lets whoever holds it see the request, so it must not
    stay in the address bar, the history, or a screenshot of either."""
    fragment = str(js.location.hash).removeprefix("#")
    if not fragment:
        return {}
    js.history.replaceState(None, "", path_and_query())
    return dict(parse_qsl(fragment))


def on_fragment(handler: Callable[[dict[str, str]], None]) -> None:
    """`handler` gets the parameters of a #fragment typed or pasted into the address of the
    open page (a help link opened where the dialog already is), taken off the address too."""

    def on_hashchange(event: js.Event) -> None:
        fragment = take_fragment()
        if fragment:
            handler(fragment)

    proxy = ffi.create_proxy(on_hashchange)
    _page_proxies.append(proxy)  # lives as long as the page
    js.window.addEventListener("hashchange", proxy)


def show_refusal(message: str, *, link: str | None = None) -> None:
    """Replace the whole dialog with a refusal: nothing else may run on this page. `link` is
    the address to open instead, if there is one."""
    host = _by_id("screen")
    heading = create_element("h2", "This dialog cannot open here", tabindex="-1")
    parts = [heading, create_element("p", message, **{"class": "lede"})]
    if link is not None:
        paragraph = create_element("p")
        paragraph.appendChild(create_element("a", f"Open {link}", href=link))
        parts.append(paragraph)
    host.replaceChildren(*parts)
    host.setAttribute("aria-busy", "false")
    show_error(None)
    heading.focus()


_FOCUSABLE = (
    "a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), "
    "textarea:not([disabled]), [tabindex]:not([tabindex='-1'])"
)
_page_proxies: list[ffi.JsDoubleProxy] = []


def keep_focus_inside(container_id: str) -> None:
    """Tab and Shift+Tab cycle through the dialog's controls instead of leaving it."""

    def on_keydown(event: js.Event) -> None:
        if event.key != "Tab":
            return
        container = _by_id(container_id)
        items = [item for item in container.querySelectorAll(_FOCUSABLE) if item.offsetParent]
        if not items:
            return
        first, last = items[0], items[-1]
        active = js.document.activeElement
        outside = not active or not container.contains(active)
        if event.shiftKey and (outside or (active and active.isSameNode(first))):
            event.preventDefault()
            last.focus()
        elif not event.shiftKey and (outside or (active and active.isSameNode(last))):
            event.preventDefault()
            first.focus()

    proxy = ffi.create_proxy(on_keydown)
    _page_proxies.append(proxy)  # lives as long as the page
    js.document.addEventListener("keydown", proxy)
