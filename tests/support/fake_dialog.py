"""The dialog's boundary faked on CPython: a `Shell`, its `Screen` and `Page`, and the API.

Screens run against these exactly as against the page, with no browser. The fake screen is
the real one's template: `web/dialog.html` is parsed (stdlib html.parser) and each `show`
clones the template's elements, so a selector a screen uses must match the page's markup,
or the test fails as the page would (LookupError). Only the selectors the dialog uses are
understood (tag, #id, [attr=value], and compounds of those); anything else is refused.

Handlers are run by the test: `click`, `fill`, `submit`, `select`, `check`; work the
screens start (`run`, `spawn`) waits in the shell until `settle()` runs it.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from vouch.crypto.native import NativeProvider
from vouch.crypto.provider import Provider
from vouch.dialog.api import ApiClient, ApiError
from vouch.dialog.embed import Launch
from vouch.dialog.errors import NetworkError, UserFacingError, WebAuthnError
from vouch.dialog.recovery_screens import RecoveryScreens
from vouch.dialog.shell import SIGNED_IN, Arrival, Handler
from vouch.dialog.site import Site
from vouch.dialog.ui import describe

DIALOG_HTML = Path(__file__).resolve().parents[2] / "web" / "dialog.html"
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
_SELECTOR = re.compile(r"(?P<tag>[a-z][a-z0-9]*)?(?P<id>#[\w-]+)?(?P<attrs>(?:\[[\w-]+=[\w-]+\])*)")
_ATTR = re.compile(r"\[([\w-]+)=([\w-]+)\]")


# A small DOM -------------------------------------------------------------------------------


@dataclass
class Element:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Element] = field(default_factory=list)
    text: str = ""
    listeners: dict[str, list[Handler]] = field(default_factory=dict)
    value: str = ""
    checked: bool = False
    selected: bool = False

    @property
    def text_content(self) -> str:
        return (self.text + "".join(child.text_content for child in self.children)).strip()

    @property
    def hidden(self) -> bool:
        return "hidden" in self.attrs

    @property
    def disabled(self) -> bool:
        return "disabled" in self.attrs

    def set_flag(self, name: str, on: bool) -> None:
        if on:
            self.attrs[name] = ""
        else:
            self.attrs.pop(name, None)

    def matches(self, selector: str) -> bool:
        match = _SELECTOR.fullmatch(selector)
        if match is None or not selector:
            raise ValueError(f"the fake DOM does not understand the selector {selector!r}")
        if match["tag"] and match["tag"] != self.tag:
            return False
        if match["id"] and self.attrs.get("id") != match["id"][1:]:
            return False
        return all(self.attrs.get(name) == value for name, value in _ATTR.findall(match["attrs"]))

    def descendants(self) -> Iterator[Element]:
        for child in self.children:
            yield child
            yield from child.descendants()

    def find_all(self, selector: str) -> list[Element]:
        return [element for element in self.descendants() if element.matches(selector)]

    def clone(self) -> Element:
        return Element(
            self.tag,
            dict(self.attrs),
            [child.clone() for child in self.children],
            self.text,
            value=self.attrs.get("value", ""),
            checked="checked" in self.attrs,
        )


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("document")
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(element)
        if tag not in _VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        while self.stack[-1].tag != tag:
            self.stack.pop()
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.stack[-1].text += " ".join(data.split())


def templates(path: Path = DIALOG_HTML) -> dict[str, Element]:
    """The page's templates by id."""
    parser = _Parser()
    parser.feed(path.read_text(encoding="utf-8"))
    return {
        element.attrs["id"]: element
        for element in parser.root.descendants()
        if element.tag == "template"
    }


# Screen and items --------------------------------------------------------------------------


class FakeView:
    """`shell.View` over one element of the fake DOM."""

    def __init__(self, root: Element, where: str):
        self.root = root
        self.where = where

    def find(self, selector: str) -> Element:
        if self.root.matches(selector):
            return self.root
        found = self.root.find_all(selector)
        if not found:
            raise LookupError(f"{self.where} has no element {selector}")
        return found[0]

    def set_text(self, selector: str, text: str) -> None:
        element = self.find(selector)
        element.text, element.children = text, []

    def set_hidden(self, selector: str, hidden: bool) -> None:
        self.find(selector).set_flag("hidden", hidden)

    def set_disabled(self, selector: str, disabled: bool) -> None:
        self.find(selector).set_flag("disabled", disabled)

    def set_attribute(self, selector: str, name: str, value: str) -> None:
        self.find(selector).attrs[name] = value

    def on(self, selector: str, event: str, handler: Handler) -> None:
        self.find(selector).listeners.setdefault(event, []).append(handler)

    # What a person does and sees ----------------------------------------------------------

    def dispatch(self, selector: str, event: str) -> None:
        element = self.find(selector)
        handlers = element.listeners.get(event, [])
        assert handlers, f"nothing listens to {event} on {selector} in {self.where}"
        for handler in list(handlers):
            handler()

    def click(self, selector: str = "button") -> None:
        assert not self.find(selector).disabled, f"{selector} is disabled in {self.where}"
        self.dispatch(selector, "click")

    def text(self, selector: str) -> str:
        return self.find(selector).text_content


class FakeScreen(FakeView):
    """`shell.Screen`: a fresh copy of one of the page's templates."""

    def __init__(self, template_id: str, page_templates: dict[str, Element]):
        if template_id not in page_templates:
            raise LookupError(f"the page has no element #{template_id}")
        self.templates = page_templates
        self.template_id = template_id
        root = Element("section", {"id": "screen"})
        root.children = [child.clone() for child in page_templates[template_id].children]
        super().__init__(root, f"screen {template_id}")
        self.focused: str | None = None
        self.items: dict[str, list[FakeView]] = {}

    def on_submit(self, selector: str, handler: Handler) -> None:
        self.on(selector, "submit", handler)

    def value(self, selector: str) -> str:
        return self.find(selector).value

    def set_value(self, selector: str, value: str) -> None:
        self.find(selector).value = value

    def checked(self, selector: str) -> bool:
        return self.find(selector).checked

    def attribute(self, selector: str, name: str) -> str | None:
        return self.find(selector).attrs.get(name)

    def focus(self, selector: str) -> None:
        if self.root.find_all(selector):
            self.focused = selector

    def append_template(self, container: str, template_id: str) -> FakeView:
        element = self.templates[template_id].children[0].clone()
        self.find(container).children.append(element)
        item = FakeView(element, f"an item of {template_id}")
        self.items.setdefault(container, []).append(item)
        return item

    def append_text(self, container: str, tag: str, text: str) -> None:
        self.find(container).children.append(Element(tag, text=text))

    def set_options(self, selector: str, options: Sequence[tuple[str, str]], selected: str) -> None:
        select = self.find(selector)
        for value, label in options:
            option = Element("option", {"value": value}, text=label, value=value)
            option.selected = value == selected
            select.children.append(option)
        if any(value == selected for value, _ in options):
            select.value = selected

    # What a person does and sees ----------------------------------------------------------

    def fill(self, selector: str, value: str) -> None:
        self.find(selector).value = value
        if self.find(selector).listeners.get("input"):
            self.dispatch(selector, "input")

    def submit(self, selector: str) -> None:
        self.dispatch(selector, "submit")

    def select(self, selector: str, value: str) -> None:
        self.find(selector).value = value
        self.dispatch(selector, "change")

    def check(self, selector: str, checked: bool = True) -> None:
        self.find(selector).checked = checked
        self.dispatch(selector, "change")

    def buttons(self, container: str) -> list[str]:
        """The texts of the buttons in `container`, in order."""
        found = self.find(container)
        return [b.text_content for b in [found, *found.descendants()] if b.tag == "button"]

    def options(self, selector: str) -> list[tuple[str, bool]]:
        return [(option.text_content, option.selected) for option in self.find(selector).children]


# The page and the API ----------------------------------------------------------------------


class FakeCeremony:
    def __init__(self, answer: dict[str, Any] | Exception):
        self.answer = answer

    async def credential(self) -> dict[str, Any]:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class FakeSignInWindow:
    """`shell.SignInWindow`: the provider's answer is whatever the test sets in `answers`."""

    def __init__(self, page: FakePage, url: str, state: str):
        self.page = page
        self.url = url
        self.state = state
        self.closed = False

    async def result(self) -> dict[str, str]:
        answer = self.page.sign_in_answer
        if isinstance(answer, Exception):
            raise answer
        return {**answer, "state": self.state}

    def close(self) -> None:
        self.closed = True


class FakePage:
    """`shell.Page`: ceremonies answer with `credential` (or raise it), in the click; a
    sign-in popup answers with `sign_in_answer` (or raises it)."""

    def __init__(self) -> None:
        self.credential: dict[str, Any] | Exception = {"id": "cred", "rawId": "cred"}
        self.sign_in_answer: dict[str, str] | Exception = {"id_token": "header.e30.signature"}
        self.sign_ins: list[FakeSignInWindow] = []
        self.created: list[dict[str, Any]] = []
        self.got: list[dict[str, Any]] = []
        self.copied: list[str] = []
        self.downloaded: list[tuple[str, str]] = []
        self.printed = 0

    def start_create(self, options: dict[str, Any]) -> FakeCeremony:
        self.created.append(options)
        return FakeCeremony(self.credential)

    def start_get(self, options: dict[str, Any]) -> FakeCeremony:
        self.got.append(options)
        return FakeCeremony(self.credential)

    def open_sign_in(self, url: str, state: str) -> FakeSignInWindow:
        window = FakeSignInWindow(self, url, state)
        self.sign_ins.append(window)
        return window

    async def next_paint(self) -> None:
        return None

    async def copy_text(self, text: str) -> bool:
        self.copied.append(text)
        return True

    def download_text(self, filename: str, text: str) -> None:
        self.downloaded.append((filename, text))

    def print_page(self) -> None:
        self.printed += 1


Answer = dict[str, Any] | Exception | Callable[[Any], dict[str, Any]]


class FakeApi(ApiClient):
    """The dialog's real API client with the network replaced by `answers`."""

    def __init__(self, answers: dict[tuple[str, str], Answer] | None = None):
        super().__init__()
        self.answers: dict[tuple[str, str], Answer] = dict(answers or {})
        self.requests: list[tuple[str, str, Any]] = []

    async def call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        self.requests.append((method, path, body))
        answer = self.answers.get((method, path))
        if answer is None:
            raise AssertionError(f"the test gave no answer for {method} {path}")
        if isinstance(answer, Exception):
            raise answer
        return answer(body) if callable(answer) else answer

    def sent(self, path: str) -> list[Any]:
        return [body for _, sent_path, body in self.requests if sent_path == path]


# The shell ---------------------------------------------------------------------------------

# Failures the dialog turns into a sentence; anything else fails the test.
EXPECTED_FAILURES = (UserFacingError, WebAuthnError, ApiError, NetworkError, ValueError)


class FakeShell:
    """`shell.Shell` on CPython: the page's templates, a fake page and a fake API."""

    def __init__(
        self,
        api: FakeApi | None = None,
        *,
        launch: Launch | None = None,
        provider: Provider | None = None,
    ):
        self.api = api or FakeApi()
        self.page = FakePage()
        self.provider = provider or NativeProvider()
        self.launch = launch or Launch(mode="signin", host_origin=None, display=None, nonce="")
        self.site = Site("vouch", "http://localhost:8000", "http://localhost:8000/dialog.html")
        self.server_config: dict[str, Any] | None = None  # GET /api/config, once it answered
        self.templates = templates()
        self.screen: FakeScreen | None = None
        self.alert: str | None = None
        self.busy: list[str] = []
        self.calls: list[tuple[str, Any]] = []  # show_start, signed_in, sign_out, ...
        self.arrivals: list[Arrival] = []
        self._pending: list[Awaitable[None]] = []

    @property
    def audience(self) -> str | None:
        return self.launch.host_origin

    def show(self, template_id: str) -> FakeScreen:
        self.alert = None  # as the page's Ui.show clears the alert region
        self.screen = FakeScreen(template_id, self.templates)
        self.screen.focus("h2")
        return self.screen

    def show_busy(self, text: str) -> None:
        self.busy.append(text)
        self.show("tpl-busy").set_text("[data-slot=text]", text)

    def error(self, message: str) -> None:
        self.alert = message

    def spawn(self, work: Awaitable[None]) -> None:
        self._pending.append(work)

    def run(self, work: Callable[[], Awaitable[None]], *, on_error: Handler | None = None) -> None:
        async def guarded() -> None:
            try:
                await work()
            except EXPECTED_FAILURES as exc:
                if on_error is not None:
                    on_error()
                self.error(describe(exc))

        self.spawn(guarded())

    def after_loading(self, show: Handler, *, on_error: Handler) -> Handler:
        """On CPython every module is there from the start: the click shows at once."""

        def handler() -> None:
            async def work() -> None:
                show()

            self.run(work, on_error=on_error)

        return handler

    async def load_deferred(self) -> None:
        self.calls.append(("load_deferred", None))

    def settle(self) -> None:
        """Run every piece of work the screens started, and what that work starts."""

        async def drain() -> None:
            while self._pending:
                await self._pending.pop(0)

        asyncio.run(drain())

    def current(self) -> FakeScreen:
        assert self.screen is not None, "no screen is shown"
        return self.screen

    def show_start(self) -> None:
        self.calls.append(("show_start", None))

    def signed_in(self, result: dict[str, Any], arrival: Arrival = SIGNED_IN) -> None:
        self.calls.append(("signed_in", result))
        self.arrivals.append(arrival)

    def sign_out(self) -> None:
        self.calls.append(("sign_out", None))

    def finish_account(self, result: dict[str, Any]) -> None:
        self.calls.append(("finish_account", result))


# A recovery, past its first two screens --------------------------------------------------

NEW_CREDENTIAL = {
    "id": "bmV3",
    "rawId": "bmV3",
    "response": {"publicKey": "c3BraQ"},
}


def recovery_start(guardians: list[dict[str, Any]], *, threshold: int = 1) -> dict[str, Any]:
    """A recovery start's answer for account acct-1 ("alice") with `guardians`."""
    return {
        "recovery_id": "r1",
        "account": "acct-1",
        "username": "alice",
        "challenge": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
        "expires": int(time.time()) + 300,
        "rp_id": "localhost",
        "threshold": threshold,
        "guardians": guardians,
        "registration": {"challenge_id": "reg-1", "options": {"challenge": "Y2g"}},
    }


def recovering(
    guardians: list[dict[str, Any]],
    *,
    threshold: int = 1,
    answers: dict[tuple[str, str], Answer] | None = None,
    config: dict[str, Any] | None = None,
) -> tuple[FakeShell, RecoveryScreens]:
    """The guardians' screen of a recovery of "alice": name typed, new passkey made."""
    api = FakeApi({("POST", "/api/recovery/start"): recovery_start(guardians, threshold=threshold)})
    api.answers.update(answers or {})
    shell = FakeShell(api)
    shell.server_config = config
    shell.page.credential = NEW_CREDENTIAL
    screens = RecoveryScreens(shell)
    screens.show_name()
    shell.current().set_value("#recover-username", "alice")
    shell.current().submit("[data-form=recover-name]")
    shell.settle()
    shell.current().click("[data-action=create-passkey]")
    shell.settle()
    assert shell.current().template_id == "tpl-recover-guardians"
    return shell, screens
