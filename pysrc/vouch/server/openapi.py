"""OpenAPI 3.1 document built from the endpoint declarations, so it cannot drift from them."""

from __future__ import annotations

from typing import Any

from vouch import __version__
from vouch.server.api import Endpoint

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "Stable machine-readable reason."},
                "message": {"type": "string", "description": "A sentence for people."},
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}

_ERROR_STATUS = {
    "bad_request": "400",
    "unauthorized": "401",
    "not_found": "404",
    "conflict": "409",
    "payload_too_large": "413",
    "unsupported_media_type": "415",
    "rate_limited": "429",
}


def build_openapi(endpoints: list[Endpoint]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        operation: dict[str, Any] = {
            "summary": endpoint.summary,
            "tags": [endpoint.tag],
            "responses": {
                "200": {
                    "description": "Success",
                    "content": {"application/json": {"schema": endpoint.response_schema}},
                }
            },
        }
        if endpoint.request_schema is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": endpoint.request_schema}},
            }
        if endpoint.authenticated:
            operation["security"] = [{"session": []}]
        statuses = {"400", *(_ERROR_STATUS.get(code, "400") for code in endpoint.errors)}
        if endpoint.request_schema is not None:
            statuses |= {"413", "415"}
        for status in sorted(statuses):
            operation["responses"][status] = {
                "description": ", ".join(
                    code for code in endpoint.errors if _ERROR_STATUS.get(code, "400") == status
                )
                or "Malformed request",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
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
