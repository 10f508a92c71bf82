"""What a screen may ask of the dialog: the boundary between screens and the page.

Screens (the account and recovery screens, each guardian kind's setup and approval steps)
depend on these Protocols only, never on the concrete `Dialog` or on `js`: `app.Dialog`
and `jsbridge` implement them in the page, and the unit tests implement them with fakes on
CPython. Every value that crosses is Python (`str`, `bool`, `dict`); event handlers take
no arguments, and a screen reads what it needs (a field's value) through its `Screen`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from vouch.crypto.provider import Provider
from vouch.dialog.api import ApiClient
from vouch.dialog.embed import Launch
from vouch.dialog.site import Site

Handler = Callable[[], None]


@dataclass(frozen=True)
class Arrival:
    """How the user got in, which decides what the dialog offers next (`welcome`)."""

    how: Literal["signin", "signup", "recovery"] = "signin"
    # Guardians whose reusable secret this recovery used (a recovery code): replace them.
    used: tuple[str, ...] = ()


SIGNED_IN = Arrival()


class View(Protocol):
    """Part of the mounted screen: the whole of it, or one item appended from a template.

    A selector that matches the item's own root element finds it (an item that is a
    button answers to "button").
    """

    def set_text(self, selector: str, text: str) -> None: ...
    def set_hidden(self, selector: str, hidden: bool) -> None: ...
    def set_disabled(self, selector: str, disabled: bool) -> None: ...
    def set_attribute(self, selector: str, name: str, value: str) -> None: ...
    def on(self, selector: str, event: str, handler: Handler) -> None: ...


class Screen(View, Protocol):
    """The mounted screen: one template cloned into the dialog, with its listeners."""

    def on_submit(self, selector: str, handler: Handler) -> None:
        """`handler` runs when the form is submitted; the page itself never navigates."""
        ...

    def value(self, selector: str) -> str: ...
    def set_value(self, selector: str, value: str) -> None: ...
    def checked(self, selector: str) -> bool: ...
    def attribute(self, selector: str, name: str) -> str | None: ...
    def focus(self, selector: str) -> None:
        """Move focus there; nothing happens when the element is not on this screen."""
        ...

    def append_template(self, container: str, template_id: str) -> View:
        """Clone a template's first element into `container` and return it."""
        ...

    def append_text(self, container: str, tag: str, text: str) -> None:
        """Append a new `<tag>` element holding `text` to `container`."""
        ...

    def set_options(self, selector: str, options: Sequence[tuple[str, str]], selected: str) -> None:
        """Fill a `<select>` with (value, label) pairs, `selected` chosen."""
        ...


class Ceremony(Protocol):
    """A WebAuthn call begun synchronously inside a click (Safari drops later ones)."""

    async def credential(self) -> dict[str, Any]:
        """The credential's JSON; a refusal raises `errors.WebAuthnError`."""
        ...


class SignInWindow(Protocol):
    """An OpenID provider's sign-in page in a popup, opened synchronously inside a click."""

    async def result(self) -> dict[str, str]:
        """The parameters our callback page received (`id_token`, `state`), once the person
        has signed in; a refusal, a blocked or closed window raises `errors.SignInFailed`."""
        ...

    def close(self) -> None:
        """Close the window: `result` then raises `errors.SignInFailed`."""
        ...


class Page(Protocol):
    """What screens ask of the browser besides their own elements."""

    def start_create(self, options: dict[str, Any]) -> Ceremony: ...
    def start_get(self, options: dict[str, Any]) -> Ceremony: ...
    def open_sign_in(self, url: str, state: str) -> SignInWindow:
        """Open `url` (a provider's sign-in page) in a popup; its answer must carry `state`."""
        ...

    async def next_paint(self) -> None:
        """Return once a busy screen has been painted, before long work starts."""
        ...

    async def copy_text(self, text: str) -> bool: ...
    def download_text(self, filename: str, text: str) -> None: ...
    def print_page(self) -> None: ...


class Shell(Protocol):
    """The dialog as its screens see it: one screen at a time, actions, and the API."""

    @property
    def api(self) -> ApiClient: ...
    @property
    def page(self) -> Page: ...
    @property
    def provider(self) -> Provider: ...
    @property
    def launch(self) -> Launch: ...
    @property
    def audience(self) -> str | None:
        """The embedding site a host token is for, if any."""
        ...

    @property
    def server_config(self) -> dict[str, Any] | None:
        """GET /api/config once it has answered (the dialog starts without waiting for it)."""
        ...

    @property
    def site(self) -> Site:
        """The site the user is on, as a recovery kit names it (`vouch.dialog.site`)."""
        ...

    def show(self, template_id: str) -> Screen:
        """Replace the screen (and its listeners) with a fresh copy of a template."""
        ...

    def show_busy(self, text: str) -> None: ...
    def error(self, message: str) -> None:
        """Say what went wrong in the alert region (the next `show` clears it)."""
        ...

    def spawn(self, work: Awaitable[None]) -> None: ...
    def run(self, work: Callable[[], Awaitable[None]], *, on_error: Handler | None = None) -> None:
        """Run an action; on failure restore a screen (`on_error`) and say what went wrong."""
        ...

    def after_loading(self, show: Handler, *, on_error: Handler) -> Handler:
        """A handler that runs `show` once the modules fetched after start-up are in."""
        ...

    async def load_deferred(self) -> None:
        """Return once the modules fetched after start-up are in (at once, usually)."""
        ...

    def show_start(self) -> None: ...
    def signed_in(self, result: dict[str, Any], arrival: Arrival = SIGNED_IN) -> None:
        """Sign-in, sign-up and recovery all end here."""
        ...

    def sign_out(self) -> None: ...
    def finish_account(self, result: dict[str, Any]) -> None: ...
