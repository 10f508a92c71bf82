"""The ASGI application factory: config in, Starlette app out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from vouch.server import cancel_links, keyring, maintenance
from vouch.server.api import Endpoint, Handler, JSONResponse, loggable
from vouch.server.config import Config
from vouch.server.context import Context
from vouch.server.decoys import Decoys
from vouch.server.errors import RateLimited, VouchError
from vouch.server.headers import SecurityHeaders, headers_for, strict_transport_security
from vouch.server.kinds import DEFAULT_KINDS, KindRegistry, kinds_for
from vouch.server.oidc.provider import Providers
from vouch.server.openapi import build_openapi
from vouch.server.outbox import messages
from vouch.server.outbox.service import Outbox
from vouch.server.outbox.worker import Worker
from vouch.server.routes import all_endpoints, cancel_link
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
    headers: Mapping[str, str] | None = None,
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
    """Starlette's 404 and 405, as JSON errors under /api/; a 405 keeps its Allow header."""
    assert isinstance(exc, HTTPException)
    if not request.url.path.startswith("/api/"):
        return Response(exc.detail, status_code=exc.status_code, headers=exc.headers)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(code, str(exc.detail), exc.status_code, headers=exc.headers)


def build_context(
    config: Config,
    database: Database,
    *,
    clock: Callable[[], float] = time.time,
    kinds: KindRegistry = DEFAULT_KINDS,
    oidc: Providers | None = None,
) -> Context:
    """Everything the handlers share, including the secrets (given in `config`, or kept in
    the database)."""
    secrets = keyring.load_or_create(
        database, int(clock()), signing_keys=config.signing_keys, decoy_key=config.decoy_key
    )
    cancel_key = secrets.derive(cancel_links.PURPOSE)
    site = messages.Site(
        name=config.rp_name,
        origin=config.origin,
        domain=config.effective_rp_id,
    )
    outbox = Outbox(
        config.outbox,
        site=site,
        cancel_url=lambda reference: cancel_links.url(config.origin, cancel_key, reference),
    )
    return Context(
        config=config,
        database=database,
        secrets=secrets,
        tokens=TokenIssuer(
            secrets.signing_keys, issuer=config.origin, ttl_seconds=config.token_ttl_seconds
        ),
        decoys=Decoys(secrets.decoy_key, kinds),
        kinds=kinds,
        outbox=outbox,
        oidc=oidc if oidc is not None else Providers([]),
        clock=clock,
    )


def create_app(
    config: Config, *, database: Database | None = None, kinds: KindRegistry | None = None
) -> Starlette:
    """The app for `config`; `kinds` are the guardian kinds it runs (all of vouch's by
    default, with OpenID guardians when `config` names providers): the request schemas and
    the OpenAPI document are built from them, once."""
    oidc = Providers.from_settings(config.oidc_providers)
    kinds = kinds or kinds_for(oidc)
    if config.hsts_max_age > 0 and strict_transport_security(config) is None:
        log.warning("HSTS is not sent: the origin %s is not https", config.origin)
    context = build_context(
        config, database or open_database(config.database), kinds=kinds, oidc=oidc
    )
    endpoints = all_endpoints(kinds)
    openapi = build_openapi(endpoints)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(openapi)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(
            maintenance.run_forever(context.database, context.clock, config.outbox)
        )
        # In the background: a provider that is slow or down must not hold up the start
        # (its guardians are refused until it answers; vouch.server.oidc.provider).
        loading = asyncio.create_task(context.oidc.load_all())
        # Sends what is due, this process's and any other's (a restart sends what a killed
        # process left); --no-outbox-worker leaves it to the other processes.
        sending = None
        if config.outbox.worker:
            worker = Worker(context.outbox, context.database, context.clock)
            sending = asyncio.create_task(worker.run_forever())
        try:
            yield
        finally:
            if sending is not None:
                sending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sending
            await context.outbox.close()
            loading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loading
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            context.database.close()

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        *cancel_link.PAGE_ROUTES,
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
        config,
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

    def __init__(self, endpoints: list[Endpoint], config: Config, **options: Any):
        super().__init__(**options)
        self.endpoints = endpoints
        self.config = config

    def build_middleware_stack(self) -> ASGIApp:
        return ApiFastPath(super().build_middleware_stack(), self.endpoints, self.config)


_HANDLERS: tuple[tuple[type[Exception], Callable[[Request, Exception], Awaitable[Response]]], ...]
_HANDLERS = (
    (VouchError, _vouch_error),
    (StorageConflict, _storage_conflict),
    (StorageBusy, _storage_busy),
    (HTTPException, _http_error),
)


_Headers = list[tuple[bytes, bytes]]


class ApiFastPath:
    """The API endpoints without Starlette's middleware stack: what that stack does for them,
    done in one frame, ahead of it.

    A request for an endpoint's path and method is answered here: its handler, the same
    exception handlers (`_HANDLERS`, as registered with Starlette), the headers SecurityHeaders
    would add (no-store too under /api/; listed once per endpoint), and for anything else
    the bare 500 Starlette's ServerErrorMiddleware sends (and the
    exception raised on to uvicorn, which logs it). Every other request (static files, a
    wrong method, /healthz) goes through the Starlette stack as before.
    """

    def __init__(self, stack: ASGIApp, endpoints: list[Endpoint], config: Config):
        self.stack = stack
        self.routes: dict[tuple[str, str], tuple[Handler, _Headers, frozenset[bytes]]] = {}
        for endpoint in endpoints:
            added = headers_for(endpoint.path, config)
            names = frozenset(name for name, _ in added)
            self.routes[(endpoint.method, endpoint.path)] = (endpoint.handler, added, names)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            route = self.routes.get((scope["method"], scope["path"]))
            if route is not None:
                await self.handle(*route, scope, receive, send)
                return
        await self.stack(scope, receive, send)

    async def handle(
        self,
        handler: Handler,
        added: _Headers,
        added_names: frozenset[bytes],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
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
        if added_names.isdisjoint(names):
            headers = headers + added
        else:  # the response set one itself: keep it (as SecurityHeaders does)
            headers = headers + [header for header in added if header[0] not in names]
        await send(
            {"type": "http.response.start", "status": response.status_code, "headers": headers}
        )
        await send({"type": "http.response.body", "body": response.body})
        if response.background is not None:  # as Starlette runs it: once the answer is out
            await response.background()


class FixedPathRouter(Router):
    """Starlette's router, finding a route of a fixed path (all of ours but the static
    files) by one dict lookup instead of matching each route's regex in turn.

    Only routes ahead of the first that is not a fixed-path Route are looked up this way,
    so the route found is the one the in-order scan would find. A fixed path asked for with
    another method is that route's 405, with its Allow (the scan would hand it to the static
    files behind, whose 404 or "Allow: GET, HEAD" is not this path's answer); anything else
    (a static file, no match) goes to that scan.
    """

    def __init__(self, routes: list[BaseRoute], **options: Any):
        super().__init__(routes, **options)
        self.fixed: dict[tuple[str, str], Route] = {}
        allowed: dict[str, set[str]] = {}
        for route in self.routes:
            if not isinstance(route, Route) or route.param_convertors:
                break
            for method in route.methods or ():
                self.fixed.setdefault((route.path, method), route)
            allowed.setdefault(route.path, set()).update(route.methods or ())
        self.allow = {path: ", ".join(sorted(methods)) for path, methods in allowed.items()}

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            route = self.fixed.get((scope["path"], scope["method"]))
            if route is None and scope["path"] in self.allow:
                allow = self.allow[scope["path"]]
                raise HTTPException(
                    405,
                    f"{loggable(scope['method'])} is not allowed here; allowed: {allow}",
                    headers={"Allow": allow},
                )
            if route is not None:
                scope.setdefault("router", self)
                scope["route"] = route
                scope["endpoint"] = route.endpoint
                scope["path_params"] = dict(scope.get("path_params", {}))
                await route.handle(scope, receive, send)
                return
        await super().app(scope, receive, send)


def _route(endpoint: Endpoint) -> Route:
    return Route(endpoint.path, endpoint.handler, methods=[endpoint.method])
