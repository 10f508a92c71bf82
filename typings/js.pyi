"""The browser globals vouch uses, for mypy (Pyodide's ``js`` module is the page's globalThis).

Only what vouch.crypto.ffi, vouch.crypto.browser and vouch.dialog.jsbridge touch is
declared; a new use has to be added here, which is the point: mypy then checks the names
and the Python values that cross the edge. One ``Element`` class stands for the element
types used (HTMLElement, input, select, option, template, a, script).
"""

from collections.abc import Generator, Iterator
from typing import Any, Generic, TypeVar

from pyodide.ffi import JsDoubleProxy, JsNull, JsOnceCallable, JsProxy

_T = TypeVar("_T")
_Listener = JsDoubleProxy | JsOnceCallable

class Promise(JsProxy, Generic[_T]):
    def __await__(self) -> Generator[Any, Any, _T]: ...

class JsObject(JsProxy):
    """A plain JS object whose properties are set and read by name."""

    def __getattr__(self, name: str) -> Any: ...
    def __setattr__(self, name: str, value: Any) -> None: ...

class JsBuffer(JsProxy):
    """An ArrayBuffer or typed array."""

    def to_bytes(self) -> bytes: ...

class Uint8Array(JsBuffer):
    @staticmethod
    def new(length: int, /) -> Uint8Array: ...
    def assign(self, data: bytes, /) -> None: ...

class Array(JsProxy):
    @staticmethod
    def new() -> Array: ...
    def push(self, item: Any, /) -> int: ...

class Object(JsProxy):
    @staticmethod
    def new() -> JsObject: ...

class JSON:
    @staticmethod
    def parse(text: str, /) -> Any: ...
    @staticmethod
    def stringify(value: Any, /) -> str: ...

def Boolean(value: Any, /) -> bool: ...

# The DOM ---------------------------------------------------------------------------------

class Event(JsProxy):
    key: str
    shiftKey: bool
    data: Any
    def preventDefault(self) -> None: ...

class MessageEvent(Event):
    origin: str
    source: Any

class DOMStringMap(JsProxy):
    def __getattr__(self, name: str) -> str: ...
    def __setattr__(self, name: str, value: str) -> None: ...

class NodeList(JsProxy):
    length: int
    def __iter__(self) -> Iterator[Element]: ...

class DocumentFragment(JsProxy):
    firstElementChild: Element | JsNull
    def cloneNode(self, deep: bool, /) -> DocumentFragment: ...

class Element(JsProxy):
    textContent: str
    hidden: bool
    disabled: bool
    value: str
    checked: bool
    selected: bool
    href: str
    download: str
    src: str
    dataset: DOMStringMap
    offsetParent: Element | JsNull
    content: DocumentFragment  # <template>
    def getAttribute(self, name: str, /) -> str | JsNull: ...
    def setAttribute(self, name: str, value: str, /) -> None: ...
    def matches(self, selectors: str, /) -> bool: ...
    def querySelector(self, selectors: str, /) -> Element | JsNull: ...
    def querySelectorAll(self, selectors: str, /) -> NodeList: ...
    def appendChild(self, node: Element | DocumentFragment, /) -> Any: ...
    def replaceChildren(self, *nodes: Element | DocumentFragment) -> None: ...
    def contains(self, other: Element | JsNull, /) -> bool: ...
    def isSameNode(self, other: Element, /) -> bool: ...
    def addEventListener(self, event: str, listener: _Listener, /) -> None: ...
    def removeEventListener(self, event: str, listener: _Listener, /) -> None: ...
    def focus(self) -> None: ...
    def click(self) -> None: ...
    def remove(self) -> None: ...

class Document(JsProxy):
    documentElement: Element
    body: Element
    head: Element
    activeElement: Element | JsNull
    def getElementById(self, id: str, /) -> Element | JsNull: ...
    def createElement(self, tag: str, /) -> Element: ...
    def addEventListener(self, event: str, listener: _Listener, /) -> None: ...

document: Document

class Location(JsProxy):
    search: str
    pathname: str
    origin: str
    hash: str

location: Location

class History(JsProxy):
    def replaceState(self, state: Any, unused: str, url: str, /) -> None: ...

history: History

class Window(JsProxy):
    parent: Window
    opener: Window | JsNull
    closed: bool
    def postMessage(self, message: Any, target_origin: str, /) -> None: ...
    def addEventListener(self, event: str, listener: _Listener, /) -> None: ...
    def removeEventListener(self, event: str, listener: _Listener, /) -> None: ...
    def open(self, url: str, target: str, features: str, /) -> Window | JsNull: ...
    def close(self) -> None: ...
    def focus(self) -> None: ...
    def print(self) -> None: ...

window: Window

class Console(JsProxy):
    def warn(self, *data: Any) -> None: ...

console: Console

def requestAnimationFrame(callback: _Listener, /) -> int: ...
def setTimeout(callback: _Listener, delay: int, /) -> int: ...

# Network, files, clipboard ---------------------------------------------------------------

class Response(JsProxy):
    status: int
    def text(self) -> Promise[str]: ...

def fetch(resource: str, init: Any, /) -> Promise[Response]: ...

class Blob(JsProxy):
    @staticmethod
    def new(parts: Any, options: Any, /) -> Blob: ...

class URL(JsProxy):
    @staticmethod
    def createObjectURL(blob: Blob, /) -> str: ...
    @staticmethod
    def revokeObjectURL(url: str, /) -> None: ...

class Clipboard(JsProxy):
    def writeText(self, text: str, /) -> Promise[None]: ...

# WebAuthn --------------------------------------------------------------------------------

class PublicKeyCredential(JsProxy):
    @staticmethod
    def parseCreationOptionsFromJSON(options: Any, /) -> JsProxy: ...
    @staticmethod
    def parseRequestOptionsFromJSON(options: Any, /) -> JsProxy: ...
    def toJSON(self) -> JsProxy: ...

class CredentialsContainer(JsProxy):
    def create(self, options: JsObject, /) -> Promise[PublicKeyCredential | JsNull]: ...
    def get(self, options: JsObject, /) -> Promise[PublicKeyCredential | JsNull]: ...

class Navigator(JsProxy):
    credentials: CredentialsContainer
    clipboard: Clipboard

navigator: Navigator

# WebCrypto, workers ----------------------------------------------------------------------

class CryptoKey(JsProxy): ...

class JsonWebKey(JsProxy):
    x: str

class SubtleCrypto(JsProxy):
    def importKey(
        self, format: str, key_data: Uint8Array, algorithm: str, extractable: bool, usages: Array, /
    ) -> Promise[CryptoKey]: ...
    def exportKey(self, format: str, key: CryptoKey, /) -> Promise[JsonWebKey]: ...
    def deriveBits(
        self, algorithm: JsObject, key: CryptoKey, length: int, /
    ) -> Promise[JsBuffer]: ...
    def sign(self, algorithm: str, key: CryptoKey, data: Uint8Array, /) -> Promise[JsBuffer]: ...
    def verify(
        self, algorithm: str, key: CryptoKey, signature: Uint8Array, data: Uint8Array, /
    ) -> Promise[bool]: ...
    def digest(self, algorithm: str, data: Uint8Array, /) -> Promise[JsBuffer]: ...

class Crypto(JsProxy):
    subtle: SubtleCrypto
    def getRandomValues(self, array: Uint8Array, /) -> Uint8Array: ...

crypto: Crypto

class Worker(JsProxy):
    onmessage: _Listener
    onerror: _Listener
    @staticmethod
    def new(url: str, options: JsObject, /) -> Worker: ...
    def postMessage(self, message: Any, /) -> None: ...

def importScripts(*urls: str) -> None: ...

# hash-wasm's UMD global (vouch.crypto.browser loads it when first needed).
class HashWasm(JsProxy):
    def argon2id(self, options: JsObject, /) -> Promise[JsBuffer]: ...

hashwasm: HashWasm
