"""/openapi.json describes every endpoint: request body, success and error schemas."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from tests.server.helpers import Api
from vouch.server.errors import STATUS_OF
from vouch.server.routes import all_endpoints


def schemas_in(value: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(value, dict):
        if "schema" in value and isinstance(value["schema"], dict):
            found.append(value["schema"])
        for item in value.values():
            found.extend(schemas_in(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(schemas_in(item))
    return found


def test_every_endpoint_is_described(api: Api) -> None:
    document = api.http.get("/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    described = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    endpoints = all_endpoints()
    assert described == {(e.method, e.path) for e in endpoints}
    for endpoint in endpoints:
        operation = document["paths"][endpoint.path][endpoint.method.lower()]
        responses = operation["responses"]
        assert "200" in responses, endpoint.path
        assert responses["503"]["headers"]["Retry-After"]
        if endpoint.method in ("POST", "PUT"):
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            assert body["type"] == "object"
            for status in ("400", "413", "415"):
                error = responses[status]["content"]["application/json"]["schema"]
                assert error == {"$ref": "#/components/schemas/Error"}
        for code in endpoint.errors:
            assert code in STATUS_OF, f"{endpoint.path} declares unknown error {code}"
            assert code in responses[str(STATUS_OF[code])]["description"]
        if "rate_limited" in endpoint.errors:
            assert responses["429"]["headers"]["Retry-After"]
        assert ("security" in operation) == endpoint.authenticated
    execute = document["paths"]["/api/recovery/execute"]["post"]["responses"]
    assert execute["202"]["content"]["application/json"]["schema"]["required"] == [
        "status",
        "recovery_id",
        "effective_at",
    ]


def test_every_schema_is_valid_json_schema(api: Api) -> None:
    document = api.http.get("/openapi.json").json()
    schemas = schemas_in(document["paths"]) + list(document["components"]["schemas"].values())
    assert len(schemas) > 50
    for schema in schemas:
        if "$ref" not in schema:
            Draft202012Validator.check_schema(schema)
