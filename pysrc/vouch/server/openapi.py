"""OpenAPI 3.1 document built from the endpoint declarations, so it cannot drift from them."""

from __future__ import annotations

from typing import Any

from vouch import __version__
from vouch.server.api import Endpoint
from vouch.server.errors import STATUS_OF

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "Stable machine-readable reason."},
                "message": {"type": "string", "description": "A sentence for people."},
                "guardian_id": {
                    "type": "string",
                    "description": "The guardian whose approval was refused, when one was.",
                },
                "retry_after": {
                    "type": "integer",
                    "description": "Seconds to wait (also in the Retry-After header).",
                },
                "effective_at": {
                    "type": "integer",
                    "description": "When a pending recovery takes effect (Unix time).",
                },
                "attempts_left": {
                    "type": "integer",
                    "description": "Tries a mailed code has left after a wrong one.",
                },
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}
# What any endpoint with a body can answer, whatever it declares.
BODY_ERRORS = ("invalid_json", "invalid_body", "payload_too_large", "unsupported_media_type")
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}


def _error_responses(endpoint: Endpoint) -> dict[str, Any]:
    codes = list(endpoint.errors)
    if endpoint.request_schema is not None:
        codes += [code for code in BODY_ERRORS if code not in codes]
    codes.append("busy")
    by_status: dict[str, list[str]] = {}
    for code in codes:
        by_status.setdefault(str(STATUS_OF.get(code, 400)), []).append(code)
    responses: dict[str, Any] = {}
    for status, status_codes in sorted(by_status.items()):
        response: dict[str, Any] = {
            "description": "Error codes: " + ", ".join(status_codes),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        if status in ("429", "503"):
            response["headers"] = RETRY_AFTER
        responses[status] = response
    return responses


def build_openapi(endpoints: list[Endpoint]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        successes = {"200": endpoint.response_schema, **endpoint.other_responses}
        operation: dict[str, Any] = {
            "summary": endpoint.summary,
            "tags": [endpoint.tag],
            "responses": {
                status: {
                    "description": "Success",
                    "content": {"application/json": {"schema": schema}},
                }
                for status, schema in successes.items()
            },
        }
        if endpoint.request_schema is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": endpoint.request_schema}},
            }
        if endpoint.authenticated:
            operation["security"] = [{"session": []}]
        operation["responses"].update(_error_responses(endpoint))
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "vouch", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {"session": {"type": "http", "scheme": "bearer"}},
        },
    }
