"""The one place vouch imports ``js`` and ``pyodide.ffi``, and the conversions at that edge.

Pyodide's own split (``_pyodide`` pure, ``pyodide`` touching JS), done for vouch: the
browser provider (``vouch.crypto.browser``) and the dialog's adapter
(``vouch.dialog.jsbridge``) reach the page only through this module. It imports on
CPython too, where the tests run and ``js`` does not exist: there ``AVAILABLE`` is False
and whatever needs the page raises ``NotInPyodide``. Callers hand in and get back
``bytes``, ``str``, JSON-able data and Python exceptions (``JsError``).

It lives in ``vouch.crypto`` because the dialog may import crypto but not the reverse.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

__all__ = [
    "AVAILABLE",
    "JsDoubleProxy",
    "JsError",
    "JsNull",
    "JsProxy",
    "NotInPyodide",
    "converted",
    "create_once_callable",
    "create_proxy",
    "from_js_json",
    "js",
    "js_array",
    "js_object",
    "require",
    "to_bytes",
    "to_js_json",
    "to_uint8array",
    "wait",
]

T = TypeVar("T")


class NotInPyodide(RuntimeError):
    """Something that needs the page was called outside Pyodide (on CPython)."""


if TYPE_CHECKING:
    import js
    from pyodide.ffi import (
        JsDoubleProxy,
        JsException,
        JsNull,
        JsProxy,
        create_once_callable,
        create_proxy,
    )

    AVAILABLE = True
else:
    try:
        import js
        from pyodide.ffi import (
            JsDoubleProxy,
            JsException,
            JsProxy,
            create_once_callable,
            create_proxy,
        )
    except ImportError:
        AVAILABLE = False

        class _Absent:
            """Stands in for the ``js`` module on CPython: every use says why it fails."""

            def __getattr__(self, name: str) -> Any:
                raise NotInPyodide(f"js.{name} needs Pyodide: the js module is missing")

        def _absent(*_args: Any, **_kwargs: Any) -> Any:
            raise NotInPyodide("pyodide.ffi needs Pyodide: the pyodide module is missing")

        class JsException(Exception):  # never raised outside Pyodide
            pass

        class JsProxy:
            pass

        JsDoubleProxy = JsNull = JsProxy
        js = _Absent()
        create_proxy = create_once_callable = _absent
    else:
        AVAILABLE = True


def require(who: str) -> None:
    """Raise a clear error when ``who`` is used outside Pyodide, before touching ``js``."""
    if not AVAILABLE:
        raise NotInPyodide(f"{who} needs Pyodide: the js and pyodide modules are missing")


class JsError(Exception):
    """A JS exception or rejected promise, as Python sees it: its error name and message."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


@contextmanager
def converted() -> Iterator[None]:
    """A JS exception raised inside the block leaves it as a ``JsError``."""
    try:
        yield
    except JsException as exc:
        name = str(getattr(exc, "name", "Error"))
        raise JsError(name, str(getattr(exc, "message", exc))) from exc


async def wait(promise: Awaitable[T]) -> T:
    """Await a JS promise; a rejection becomes a ``JsError``."""
    with converted():
        return await promise


def to_js_json(data: Any) -> Any:
    """Python JSON-able data to a plain JS object (no proxies to release)."""
    return js.JSON.parse(json.dumps(data))


def from_js_json(value: Any) -> Any:
    """A JS value to Python through JSON: dicts, lists, str, numbers, None."""
    return json.loads(js.JSON.stringify(value))


def to_uint8array(data: bytes) -> js.Uint8Array:
    """Copy Python bytes into a new JS Uint8Array."""
    array = js.Uint8Array.new(len(data))
    if data:
        array.assign(data)
    return array


def to_bytes(value: js.JsBuffer) -> bytes:
    """Copy a JS ArrayBuffer or typed array into Python bytes."""
    return bytes(value.to_bytes())


def js_object(**fields: Any) -> js.JsObject:
    """A plain JS object (not a Map) with the given properties."""
    obj = js.Object.new()
    for key, value in fields.items():
        setattr(obj, key, value)
    return obj


def js_array(*items: str) -> js.Array:
    """A JS array of strings (WebCrypto's key usages)."""
    array = js.Array.new()
    for item in items:
        array.push(item)
    return array
