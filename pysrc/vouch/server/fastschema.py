"""A quick yes/no check of a request body against its JSON Schema, before jsonschema.

jsonschema walks a schema keyword by keyword and builds an error object for every
mismatch; on the recovery and sign-in paths that was about a tenth of the server's time.
`compile_check` turns the small subset of JSON Schema the request schemas use into nested
closures that only answer "valid?". A body they accept is one jsonschema accepts; anything
else (a body they refuse, or a schema with a keyword they do not know) goes to jsonschema,
which still decides and words every error (`api.read_body`). So the fast check may only
ever be stricter than jsonschema, never looser: tests/server/test_fastschema.py compares
the two on generated bodies.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

# Keywords that never change whether an instance is valid (format is an annotation unless
# a format checker is given, and read_body gives none).
_ANNOTATIONS = frozenset({"description", "title", "examples", "default", "$comment", "format"})
_TYPES: dict[str, Check] = {
    "object": lambda value: type(value) is dict,
    "array": lambda value: type(value) is list,
    "string": lambda value: type(value) is str,
    # Only exact ints here: 1.0 is an integer to JSON Schema, so floats go to jsonschema.
    "integer": lambda value: type(value) is int,
    "boolean": lambda value: type(value) is bool,
    "null": lambda value: value is None,
}
_KNOWN = _ANNOTATIONS | {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "pattern",
    "const",
    "enum",
    "minimum",
    "maximum",
}


class Unsupported(Exception):
    """The schema uses something the fast check does not implement."""


def compile_check(schema: Any) -> Check | None:
    """A function that is True only for instances `schema` accepts, or None if the schema
    is beyond the subset (then every body goes to jsonschema)."""
    try:
        return _compile(schema)
    except Unsupported:
        return None


def _compile(schema: Any) -> Check:
    if schema is True or schema == {}:
        return lambda value: True
    if type(schema) is not dict or not set(schema) <= _KNOWN:
        raise Unsupported
    checks: list[Check] = []
    kind = schema.get("type")
    if kind is not None:
        if type(kind) is not str or kind not in _TYPES:
            raise Unsupported
        checks.append(_TYPES[kind])
    if "const" in schema:
        checks.append(_equals_one_of([schema["const"]]))
    if "enum" in schema:
        checks.append(_equals_one_of(schema["enum"]))
    checks += _string_checks(schema)
    checks += _number_checks(schema)
    checks += _array_checks(schema)
    checks += _object_checks(schema)
    if not checks:
        return lambda value: True
    if len(checks) == 1:
        return checks[0]
    first, *rest = checks
    return lambda value: first(value) and all(check(value) for check in rest)


def _equals_one_of(options: Any) -> Check:
    # JSON Schema equality tells 1 from true and 1 from 1.0 in places Python does not:
    # only string options are checked here.
    if type(options) is not list or not all(type(item) is str for item in options):
        raise Unsupported
    allowed = frozenset(options)
    return lambda value: type(value) is str and value in allowed


def _length_checks(
    schema: dict[str, Any], kind: type[str] | type[list[Any]], low_key: str, high_key: str
) -> list[Check]:
    """minLength/maxLength or minItems/maxItems: values of other types pass (not theirs)."""
    low, high = schema.get(low_key), schema.get(high_key)
    if low is None and high is None:
        return []
    low, high = _bound(low, 0), _bound(high, None)
    return [
        lambda value: (
            type(value) is not kind or (low <= len(value) and (high is None or len(value) <= high))
        )
    ]


def _string_checks(schema: dict[str, Any]) -> list[Check]:
    checks = _length_checks(schema, str, "minLength", "maxLength")
    if "pattern" in schema:
        if type(schema["pattern"]) is not str:
            raise Unsupported
        search = re.compile(schema["pattern"]).search
        checks.append(lambda value: type(value) is not str or search(value) is not None)
    return checks


def _number_checks(schema: dict[str, Any]) -> list[Check]:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is None and high is None:
        return []
    low, high = _bound(low, None), _bound(high, None)

    def check(value: Any) -> bool:
        if type(value) is int:
            return (low is None or value >= low) and (high is None or value <= high)
        # A float goes to jsonschema; anything else is not a number, and is not bounded.
        return type(value) is not float

    return [check]


def _array_checks(schema: dict[str, Any]) -> list[Check]:
    checks = _length_checks(schema, list, "minItems", "maxItems")
    if "items" in schema:
        item = _compile(schema["items"])
        checks.append(lambda value: type(value) is not list or all(item(each) for each in value))
    return checks


def _object_checks(schema: dict[str, Any]) -> list[Check]:
    checks: list[Check] = []
    properties = schema.get("properties", {})
    if type(properties) is not dict:
        raise Unsupported
    compiled = {name: _compile(sub) for name, sub in properties.items()}
    required = schema.get("required", [])
    if type(required) is not list or not all(type(name) is str for name in required):
        raise Unsupported
    closed = schema.get("additionalProperties", True)
    if closed not in (True, False):
        raise Unsupported
    known = frozenset(properties)
    needed = tuple(required)
    if not (compiled or needed or closed is False):
        return checks

    def check(value: Any) -> bool:
        if type(value) is not dict:
            return True
        for name in needed:
            if name not in value:
                return False
        if closed is False and not known.issuperset(value):
            return False
        for name, each in value.items():
            sub = compiled.get(name)
            if sub is not None and not sub(each):
                return False
        return True

    checks.append(check)
    return checks


def _bound(value: Any, default: int | None) -> Any:
    if value is None:
        return default
    if type(value) is not int:
        raise Unsupported
    return value
