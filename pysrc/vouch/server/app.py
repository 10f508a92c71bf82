"""The ASGI application factory: config in, Starlette app out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from vouch.server import keyring, maintenance
from vouch.server.api import Endpoint, Handler, JSONResponse, loggable
from vouch.server.config import Config
from vouch.server.context import Context
from vouch.server.decoys import Decoys
from vouch.server.errors import RateLimited, VouchError
from vouch.server.headers import SecurityHeaders, security_headers
from vouch.server.kinds import DEFAULT_KINDS, KindRegistry
from vouch.server.openapi import build_openapi
from vouch.server.routes import all_endpoints
from vouch.server.static import PrecompressedStaticFiles
from vouch.server.storage import Database, StorageBusy, StorageConflict, open_database
from vouch.server.tokens import TokenIssuer

log = logging.getLogger("vouch.server")

BUSY_RETRY_SECONDS = 1


def error_response(
    code: str,
    message: str,
    status: int,
    *,
    extra: dict[str, object] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, **(extra or {})}},
        status_code=status,
        headers=headers,
    )


async def _vouch_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, VouchError)
    log.info("%s %s -> %s %s", request.method, loggable(request.url.path), exc.status, exc.code)
    headers = None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    elif "retry_after" in exc.extra:
        headers = {"Retry-After": str(exc.extra["retry_after"])}
    return error_response(exc.code, exc.message, exc.status, extra=exc.extra, headers=headers)


async def _storage_conflict(request: Request, exc: Exception) -> Response:
    log.info("%s %s -> 409 storage conflict: %s", request.method, loggable(request.url.path), exc)
    return error_response(
        "conflict",
        "This request conflicts with another one made at the same time: nothing was changed,"
        " try again.",
        409,
    )


async def _storage_busy(request: Request, exc: Exception) -> Response:
    log.warning("%s %s -> 503 database busy: %s", request.method, loggable(request.url.path), exc)
    return error_response(
        "busy",
        "The server is busy: nothing was changed, try again in a moment.",
        503,
        headers={"Retry-After": str(BUSY_RETRY_SECONDS)},
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if not request.url.path.startswith("/api/"):
        return Response(exc.detail, status_code=exc.status_code, headers=exc.headers)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(code, str(exc.detail), exc.status_code)


def build_context(
    config: Config,
    database: Database,
    *,
    clock: Callable[[], float] = time.time,
    kinds: KindRegistry = DEFAULT_KINDS,
) -> Context:
    """Everything the handlers share, including the secrets kept in the database."""
    secrets = keyring.load_or_create(database, int(clock()))
    return Context(
        config=config,
        database=database,
        secrets=secrets,
        tokens=TokenIssuer(
            secrets.signing_seed, issuer=config.origin, ttl_seconds=config.token_ttl_seconds
        ),
        decoys=Decoys(secrets.decoy_key, kinds),
        kinds=kinds,
        clock=clock,
    )


def create_app(
    config: Config, *, database: Database | None = None, kinds: KindRegistry | None = None
) -> Starlette:
    """The app for `config`; `kinds` are the guardian kinds it runs (all of vouch's by
    default): the request schemas and the OpenAPI document are built from them, once."""
    kinds = kinds or DEFAULT_KINDS
    context = build_context(config, database or open_database(config.database), kinds=kinds)
    endpoints = all_endpoints(kinds)
    openapi = build_openapi(endpoints)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(openapi)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(maintenance.run_forever(context.database, context.clock))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            context.database.close()

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        *(_route(endpoint) for endpoint in endpoints),
        # Only static files are compressed. API answers are small, and compressing them
        # would make their timing depend on their size (a decoy would be told apart) and put
        # session tokens next to attacker-chosen text in one compressed stream (BREACH).
        Mount(
            "/",
            GZipMiddleware(
                PrecompressedStaticFiles(directory=config.web_root, html=True), minimum_size=1024
            ),
        ),
    ]
    app = VouchApp(
        endpoints,
        security_headers(config),
        routes=routes,
        middleware=[Middleware(SecurityHeaders, config=config)],
        exception_handlers={
            VouchError: _vouch_error,
            StorageConflict: _storage_conflict,
            StorageBusy: _storage_busy,
            HTTPException: _http_error,
        },
        lifespan=lifespan,
    )
    app.router = FixedPathRouter(routes, lifespan=lifespan)
    app.state.context = context
    return app


class VouchApp(Starlette):
    """Starlette, with the API endpoints answered ahead of its middleware (ApiFastPath)."""

    def __init__(
        self, endpoints: list[Endpoint], headers: list[tuple[bytes, bytes]], **options: Any
    ):
        super().__init__(**options)
        self.endpoints = endpoints
        self.headers = headers

    def build_middleware_stack(self) -> ASGIApp:
        return ApiFastPath(super().build_middleware_stack(), self.endpoints, self.headers)


_HANDLERS: tuple[tuple[type[Exception], Callable[[Request, Exception], Awaitable[Response]]], ...]
_HANDLERS = (
    (VouchError, _vouch_error),
    (StorageConflict, _storage_conflict),
    (StorageBusy, _storage_busy),
    (HTTPException, _http_error),
)


class ApiFastPath:
    """The API endpoints without Starlette's middleware stack: what that stack does for them,
    done in one frame, ahead of it.

    A request for an endpoint's path and method is answered here: its handler, the same
    exception handlers (`_HANDLERS`, as registered with Starlette), the security headers,
    and for anything else the bare 500 Starlette's ServerErrorMiddleware sends (and the
    exception raised on to uvicorn, which logs it). Every other request (static files, a
    wrong method, /healthz) goes through the Starlette stack as before.
    """

    def __init__(
        self, stack: ASGIApp, endpoints: list[Endpoint], headers: list[tuple[bytes, bytes]]
    ):
        self.stack = stack
        self.routes = {(endpoint.method, endpoint.path): endpoint.handler for endpoint in endpoints}
        self.headers = headers
        self.header_names = {name for name, _ in self.headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            handler = self.routes.get((scope["method"], scope["path"]))
            if handler is not None:
                await self.handle(handler, scope, receive, send)
                return
        await self.stack(scope, receive, send)

    async def handle(self, handler: Handler, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("path_params", {})
        request = Request(scope, receive, send)
        try:
            try:
                response = await handler(request)
            except Exception as exc:
                for kind, on_error in _HANDLERS:
                    if isinstance(exc, kind):
                        response = await on_error(request, exc)
                        break
                else:
                    raise
        except Exception:
            await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send)
            raise
        headers = response.raw_headers
        names = {name for name, _ in headers}
        if names.isdisjoint(self.header_names):
            headers = headers + self.headers
        else:  # the response set one itself: keep it (as SecurityHeaders does)
            headers = headers + [header for header in self.headers if header[0] not in names]
        await send(
            {"type": "http.response.start", "status": response.status_code, "headers": headers}
        )
        await send({"type": "http.response.body", "body": response.body})


class FixedPathRouter(Router):
    """Starlette's router, finding a route of a fixed path (all of ours but the static
    files) by one dict lookup instead of matching each route's regex in turn.

    Only routes ahead of the first that is not a fixed-path Route are looked up this way,
    so the route found is the one the in-order scan would find; anything else (another
    method, a static file, no match) goes to that scan.
    """

    def __init__(self, routes: list[BaseRoute], **options: Any):
        super().__init__(routes, **options)
        self.fixed: dict[str, Route] = {}
        for route in self.routes:
            if not isinstance(route, Route) or route.param_convertors:
                break
            self.fixed.setdefault(route.path, route)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            route = self.fixed.get(scope["path"])
            if route is not None and route.methods and scope["method"] in route.methods:
                scope.setdefault("router", self)
                scope["route"] = route
                scope["endpoint"] = route.endpoint
                scope["path_params"] = dict(scope.get("path_params", {}))
                await route.handle(scope, receive, send)
                return
        await super().app(scope, receive, send)


def _route(endpoint: Endpoint) -> Route:
    return Route(endpoint.path, endpoint.handler, methods=[endpoint.method])
