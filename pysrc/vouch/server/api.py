"""Endpoint declarations: one place that knows each route's schemas, for parsing and OpenAPI.

A handler declares its request and response JSON Schemas next to it; `read_body` enforces
the request schema (size, media type, JSON, shape) before the handler sees any data, so a
malformed body always becomes a specific 4xx and never reaches storage.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse as StarletteJSONResponse
from starlette.responses import Response

from vouch.core.b64url import b64url_decode
from vouch.core.errors import MalformedInput
from vouch.server.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType, VouchError
from vouch.server.fastschema import Check, compile_check

Handler = Callable[[Request], Awaitable[Response]]

# Starlette's JSONResponse calls json.dumps with non-default options, which builds a new
# JSONEncoder for every response; this one encoder gives the same bytes.
_encode = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
).encode


class JSONResponse(StarletteJSONResponse):
    """Starlette's JSONResponse, rendered by an encoder made once."""

    def render(self, content: Any) -> bytes:
        return _encode(content).encode("utf-8")


JSONSchema = dict[str, Any]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    summary: str
    handler: Handler
    request_schema: JSONSchema | None = None
    response_schema: JSONSchema = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    authenticated: bool = False
    tag: str = "api"
    # Other success statuses than 200, e.g. {"202": schema} for a recovery held by a delay.
    other_responses: dict[str, JSONSchema] = field(default_factory=dict)


def body_schema(
    required: dict[str, JSONSchema], optional: dict[str, JSONSchema] | None = None
) -> JSONSchema:
    """A closed JSON object schema: unknown fields are refused so typos are caught early."""
    return {
        "type": "object",
        "properties": {**required, **(optional or {})},
        "required": sorted(required),
        "additionalProperties": False,
    }


def client_address(request: Request) -> str:
    """The peer address rate limits count against (no proxy headers are trusted).

    An IPv6 client counts as its /64: one host is routinely given a whole /64, and would
    otherwise get a fresh budget from each of its 2**64 addresses."""
    host = request.client.host if request.client else "unknown"
    if ":" not in host:
        return host
    try:
        address = ipaddress.IPv6Address(host.partition("%")[0])
    except ValueError:
        return host
    if address.ipv4_mapped is not None:  # a dual-stack socket's IPv4 client
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((address, 64), strict=False))


def decode_b64(text: str, *, what: str) -> bytes:
    """Strict unpadded base64url from a request field, or a 400 naming the field."""
    try:
        return b64url_decode(text, what=what)
    except MalformedInput as exc:
        raise BadRequest(str(exc), code="invalid_body") from exc


class ClientGone(VouchError):
    """The client closed its connection before its whole body arrived.

    Raised instead of Starlette's ClientDisconnect, which no handler takes (a 500 and a
    traceback in the log for what is the client's business): as a VouchError it is the
    exception handler's one log line, with nginx's status for it. The answer goes nowhere
    (uvicorn drops what is sent on a closed connection), so no client sees the code.
    """

    status = 499
    code = "client_closed_request"


async def read_body(request: Request, schema: JSONSchema, max_bytes: int) -> dict[str, Any]:
    """Read, size-limit, decode and validate a JSON request body."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType(
            f'Unexpected content type "{media_type or "(none)"}", expected "application/json"'
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"Request body is {declared} bytes, the limit is {max_bytes}")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(f"Request body is over the limit of {max_bytes} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise ClientGone(
            f"The client closed its connection after {size} bytes of the body"
        ) from None
    data = parse_json_body(b"".join(chunks))
    if _quick_check(schema)(data):
        assert isinstance(data, dict)
        return data
    errors = sorted(_validator(schema).iter_errors(data), key=lambda error: list(error.path))
    if errors:
        first = errors[0]
        where = "".join(
            f"[{part!r}]" if isinstance(part, int) else f".{part}" for part in first.path
        )
        raise BadRequest(f"Invalid request body at ${where}: {first.message}", code="invalid_body")
    assert isinstance(data, dict)
    return data


MAX_DEPTH = 32
MAX_NUMBER_DIGITS = 20


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _BodyRefused(
            f"Request body has a number of {len(digits.lstrip('-'))} digits;"
            f" numbers here have at most {MAX_NUMBER_DIGITS}"
        )
    return int(digits)


def _no_constant(name: str) -> float:
    raise _BodyRefused(f"Request body has {name}, which is not a JSON number")


class _BodyRefused(ValueError):
    """Raised from inside json.loads by the hooks above; its text is the refusal."""


# Made once: json.loads with hooks would build a decoder per call (a third of the cost).
_DECODER = json.JSONDecoder(parse_int=_bounded_int, parse_constant=_no_constant)


def parse_json_body(raw: bytes) -> Any:
    """JSON that every later step can handle, or a 400 that says what is wrong with it.

    Refused here: text that is not JSON; numbers longer than any field takes (Python's
    int conversion would otherwise fail past 4,300 digits, deep inside a handler); NaN and
    Infinity; nesting deeper than any request has; strings with a lone surrogate, which are
    not Unicode text and cannot be encoded again (in a log line, an error, a database row).
    """
    try:
        data = _DECODER.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))
    except _BodyRefused as exc:
        raise BadRequest(str(exc), code="invalid_json") from exc
    except RecursionError as exc:
        raise BadRequest(
            f"Request body is nested too deeply; the limit is {MAX_DEPTH} levels",
            code="invalid_json",
        ) from exc
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise BadRequest(f"Request body is not valid JSON: {exc}", code="invalid_json") from exc
    # The walk costs more than the parse, so it runs only where it can find something: depth
    # needs more brackets than the limit, and a surrogate needs a \u escape or an 0xED byte
    # (json.loads decodes bytes with "surrogatepass").
    nested = raw.count(b"[") + raw.count(b"{") > MAX_DEPTH
    if nested or b"\\u" in raw or b"\xed" in raw:
        _check_tree(data)
    return data


def _check_tree(data: Any) -> None:
    """Walk the parsed body once, without recursion: its depth and its strings."""
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            _check_text(value)
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise BadRequest(
                f"Request body is nested more than {MAX_DEPTH} levels deep", code="invalid_json"
            )
        if isinstance(value, dict):
            for key, item in value.items():
                _check_text(key)
                pending.append((item, depth + 1))
        else:
            pending.extend((item, depth + 1) for item in value)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequest(
            f"Request body has a string with a lone surrogate ({loggable(text[exc.start])}):"
            " strings must be Unicode text",
            code="invalid_json",
        ) from None


def loggable(text: object) -> str:
    """`text` safe to echo in a log line or a message: control characters, newlines and
    lone surrogates escaped, so input can neither forge a line nor fail to encode."""
    return json.dumps(str(text))[1:-1]


_validators: dict[int, Draft202012Validator] = {}
_quick_checks: dict[int, Check] = {}


def _refer(data: Any) -> bool:
    return False


def _quick_check(schema: JSONSchema) -> Check:
    """The fast yes/no check of a schema (fastschema.py), compiled once; where the schema is
    beyond it, a check that sends every body to jsonschema."""
    key = id(schema)
    check = _quick_checks.get(key)
    if check is None:
        check = _quick_checks[key] = compile_check(schema) or _refer
    return check


def _validator(schema: JSONSchema) -> Draft202012Validator:
    """Compile each schema once; schemas are module constants, so their id is stable."""
    key = id(schema)
    if key not in _validators:
        _validators[key] = Draft202012Validator(schema)
    return _validators[key]
