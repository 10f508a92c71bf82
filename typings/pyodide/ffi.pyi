"""What vouch uses of ``pyodide.ffi`` (Pyodide 314), so mypy checks the code that calls it.

Only vouch.crypto.ffi imports it; everything else goes through that module.
"""

from collections.abc import Callable
from typing import Any, Literal

class JsProxy:
    """A JS value seen from Python; the classes in js.pyi say what each one has."""

    def to_py(self, *, depth: int = -1) -> Any: ...

class JsNull(JsProxy):
    """JS ``null`` (Pyodide turns it into this falsy value, not into None)."""

    def __bool__(self) -> Literal[False]: ...

jsnull: JsNull

class JsException(JsProxy, Exception):
    """A JS exception raised into Python (a rejected promise, a thrown DOMException)."""

    @property
    def name(self) -> str: ...
    @property
    def message(self) -> str: ...

class JsDoubleProxy(JsProxy):
    """A Python callable handed to JS; it lives until ``destroy``."""

    def destroy(self) -> None: ...

class JsOnceCallable(JsProxy):
    """A Python callable handed to JS that frees itself after its one call."""

    def destroy(self) -> None: ...

def create_proxy(
    obj: Callable[..., Any], /, *, capture_this: bool = False, roundtrip: bool = True
) -> JsDoubleProxy: ...
def create_once_callable(obj: Callable[..., Any], /) -> JsOnceCallable: ...
