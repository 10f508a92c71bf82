"""The ASGI application factory: config in, Starlette app out."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from vouch.server.api import Endpoint
from vouch.server.config import Config
from vouch.server.context import Context
from vouch.server.errors import VouchError
from vouch.server.headers import SecurityHeaders
from vouch.server.openapi import build_openapi
from vouch.server.routes import all_endpoints
from vouch.server.static import PrecompressedStaticFiles
from vouch.server.storage import Database, open_database

log = logging.getLogger("vouch.server")


def error_response(code: str, message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def _vouch_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, VouchError)
    log.info("%s %s -> %s %s", request.method, request.url.path, exc.status, exc.code)
    return error_response(exc.code, exc.message, exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if not request.url.path.startswith("/api/"):
        return Response(exc.detail, status_code=exc.status_code, headers=exc.headers)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(code, str(exc.detail), exc.status_code)


def create_app(config: Config, *, database: Database | None = None) -> Starlette:
    context = Context(config=config, database=database or open_database(config.database))
    endpoints = all_endpoints()
    openapi = build_openapi(endpoints)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(openapi)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        *(_route(endpoint) for endpoint in endpoints),
        Mount("/", PrecompressedStaticFiles(directory=config.web_root, html=True)),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders, config=config),
            Middleware(GZipMiddleware, minimum_size=1024),
        ],
        exception_handlers={VouchError: _vouch_error, HTTPException: _http_error},
    )
    app.state.context = context
    return app


def _route(endpoint: Endpoint) -> Route:
    return Route(endpoint.path, endpoint.handler, methods=[endpoint.method])
