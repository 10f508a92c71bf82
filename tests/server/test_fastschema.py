"""The quick schema check (vouch/server/fastschema.py) never accepts what jsonschema refuses.

Bodies are generated from each endpoint's request schema, valid ones and near misses
(a field missing or extra, a wrong type, lengths and counts at and past their bounds,
characters outside a pattern, a trailing newline, floats and booleans for numbers), and the
two validators must agree on every one (on floats the quick check may refuse what
jsonschema accepts: read_body then asks jsonschema).
"""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from vouch.server.fastschema import compile_check
from vouch.server.routes import all_endpoints

SCHEMAS = {
    f"{e.method} {e.path}": e.request_schema
    for e in all_endpoints()
    if e.request_schema is not None
}
ODD_VALUES = st.sampled_from(
    [None, True, False, 0, 1, -1, 1.0, 1.5, "", "x", "\n", [], {}, [1], {"a": 1}]
)
B64_CHARS = string.ascii_letters + string.digits + "-_"


def near(schema: Any) -> st.SearchStrategy[Any]:
    """Instances of `schema`, and instances that just miss it."""
    if not isinstance(schema, dict) or not schema:
        return ODD_VALUES
    options: list[st.SearchStrategy[Any]] = [ODD_VALUES]
    kind = schema.get("type")
    if "const" in schema:
        options.append(st.just(schema["const"]))
    if "enum" in schema:
        options.append(st.sampled_from(schema["enum"]))
    if kind == "string" or "pattern" in schema or "minLength" in schema:
        low, high = schema.get("minLength", 0), schema.get("maxLength", 40)
        sizes = st.sampled_from(sorted({0, max(0, low - 1), low, high, high + 1, 43, 44}))
        alphabet = st.sampled_from([B64_CHARS, B64_CHARS + "=+/ \n", "public-key\n"])
        options.append(
            st.tuples(sizes, alphabet).flatmap(
                lambda pair: st.text(alphabet=pair[1], min_size=pair[0], max_size=pair[0])
            )
        )
        options.append(st.text(alphabet=B64_CHARS, max_size=8).map(lambda text: text + "\n"))
    if kind == "integer" or "minimum" in schema:
        options.append(st.integers(-5, 5) | st.sampled_from([1.0, 2.0, -1.0, 0.5, True]))
    if kind == "array" or "items" in schema:
        high = schema.get("maxItems", 4)
        options.append(st.lists(near(schema.get("items", {})), max_size=min(high + 1, 18)))
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        fields = {name: near(sub) for name, sub in properties.items()}
        options.append(
            st.fixed_dictionaries(
                {},
                optional={**fields, "extra": ODD_VALUES},
            )
        )
        required = schema.get("required", [])
        if fields:
            options.append(
                st.fixed_dictionaries(
                    {name: fields[name] for name in required if name in fields},
                    optional={n: s for n, s in fields.items() if n not in required},
                )
            )
    return st.one_of(options)


def has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, list):
        return any(has_float(item) for item in value)
    if isinstance(value, dict):
        return any(has_float(item) for item in value.values())
    return False


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_request_schema_has_a_quick_check(name: str) -> None:
    assert compile_check(SCHEMAS[name]) is not None


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_the_quick_check_agrees_with_jsonschema(name: str) -> None:
    schema = SCHEMAS[name]
    quick = compile_check(schema)
    assert quick is not None
    validator = Draft202012Validator(schema)
    seen = {True: 0, False: 0}

    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
    @given(near(schema))
    def agree(body: Any) -> None:
        valid = validator.is_valid(body)
        seen[valid] += 1
        if quick(body):
            assert valid, body
        elif not has_float(body):
            assert not valid, body

    agree()
    assert seen[False] > 0


def test_the_quick_check_knows_its_limits() -> None:
    assert compile_check({"type": "object", "oneOf": [{}]}) is None
    assert compile_check({"type": ["string", "null"]}) is None
    assert compile_check({"const": 1}) is None  # JSON Schema equality: 1 is not true
    check = compile_check({"type": "integer", "minimum": 1})
    assert check is not None
    assert check(1)
    assert not check(0)
    assert not check(True)
    assert not check(1.0)
    pattern = compile_check({"type": "string", "pattern": "^[a-z]{2}$"})
    assert pattern is not None
    # Both follow Python's re.search, where $ also matches before a final newline.
    assert pattern("ab")
    assert pattern("ab\n") == Draft202012Validator({"pattern": "^[a-z]{2}$"}).is_valid("ab\n")
