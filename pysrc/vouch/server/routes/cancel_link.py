"""The cancel link of a held recovery's mail, as a page and as an API call.

`GET /recovery/cancel?token=...` shows what the link would cancel and a button; pressing it
POSTs the token back and cancels. The GET changes nothing on purpose: mail scanners and link
previews open every link in a mail, and one that cancelled on GET would cancel the owner's
own recoveries unseen. `POST /api/recovery/cancel-link` does the same for a page of the
dialog. Both cancel only the recovery the token was made for, once (vouch.server.cancel_links).
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from vouch.server import cancel_links, recovery
from vouch.server.api import Endpoint, JSONResponse, body_schema, read_body
from vouch.server.context import Context, context_of
from vouch.server.errors import BadRequest, Conflict, VouchError
from vouch.server.outbox.messages import when
from vouch.server.storage import Transaction

TOKEN: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": cancel_links.MAX_TOKEN_CHARS,
    "description": "The token of the link mailed for a held recovery",
}
CANCEL_LINK = body_schema({"token": TOKEN})
MAX_FORM_BYTES = 1024


def _reference(context: Context, token: str) -> str:
    key = context.secrets.derive(cancel_links.PURPOSE)
    reference = cancel_links.reference_of(key, token)
    if reference is None:
        raise BadRequest(
            "This cancel link is not one this server sent: copy the whole link from the mail.",
            code="invalid_cancel_link",
        )
    return reference


async def _cancel(context: Context, token: str, user_agent: str | None) -> recovery.Recovery:
    reference = _reference(context, token)
    return await context.database.run(
        lambda tx: recovery.cancel_by_link(tx, context, reference, user_agent=user_agent)
    )


async def cancel_link(request: Request) -> Response:
    context = context_of(request)
    body = await read_body(request, CANCEL_LINK, context.config.max_body_bytes)
    await _cancel(context, body["token"], request.headers.get("user-agent"))
    return JSONResponse({"status": "cancelled"})


ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/recovery/cancel-link",
        "Cancel the held recovery a mailed cancel link names (the link's token)",
        cancel_link,
        request_schema=CANCEL_LINK,
        response_schema={
            "type": "object",
            "properties": {"status": {"const": "cancelled"}},
            "required": ["status"],
        },
        errors=("invalid_cancel_link", "unknown_recovery", "recovery_not_pending"),
        tag="recovery",
    ),
]


# The page ----------------------------------------------------------------------------------


def _page(context: Context, title: str, paragraphs: list[str], status: int) -> HTMLResponse:
    """A page in the dialog's own look (its stylesheet, from this origin), with no script."""
    body = "\n".join(paragraphs)
    name = html.escape(context.config.rp_name)
    return HTMLResponse(
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        f"<title>{html.escape(title)} - {name}</title>"
        '<link rel="icon" href="data:,">'  # nothing else to fetch: no /favicon.ico 404
        '<link rel="stylesheet" href="/dialog.css"></head>\n'
        '<body><main class="dialog" aria-labelledby="page-title">'
        '<header class="dialog-header"><span class="brand" aria-hidden="true">\u25c8</span>'
        f"<p><strong>{name}</strong></p></header>"
        f'<section class="screen"><h1 id="page-title">{html.escape(title)}</h1>\n{body}\n'
        "</section></main></body></html>\n",
        status_code=status,
    )


def _refused(context: Context, exc: VouchError) -> HTMLResponse:
    if exc.code == "recovery_not_pending":
        state = exc.extra.get("status")
        text = {
            "cancelled": "This recovery was already cancelled: nothing more to do.",
            "complete": "This recovery has already taken effect, so it cannot be cancelled."
            " If it was not you, recover the account with the guardians you still have.",
        }.get(str(state), "This recovery is not waiting any more: there is nothing to cancel.")
        return _page(context, "Nothing to cancel", [f"<p>{html.escape(text)}</p>"], exc.status)
    return _page(context, "Link not valid", [f"<p>{html.escape(exc.message)}</p>"], exc.status)


async def cancel_page(request: Request) -> Response:
    """What the link would cancel, and the button that does it (a GET changes nothing)."""
    context = context_of(request)
    token = request.query_params.get("token", "")
    try:
        reference = _reference(context, token)

        def read(tx: Transaction) -> recovery.Recovery:
            found = recovery.load_reference(tx, reference)
            if found.status != recovery.PENDING:
                raise_not_pending(found.status)
            return found

        found = await context.database.run(read)
    except VouchError as exc:
        return _refused(context, exc)
    effective = when(found.effective_at) if found.effective_at else "soon"
    return _page(
        context,
        "Cancel this recovery?",
        [
            f"<p>A recovery of the account <b>{html.escape(found.username)}</b> is waiting"
            f" to take effect at {html.escape(effective)}. Cancel it if you did not start it:"
            " nothing of the account will change.</p>",
            f'<form method=post action="{cancel_links.PATH}">'
            f'<input type=hidden name=token value="{html.escape(token)}">'
            "<button type=submit class=danger>Cancel this recovery</button></form>",
        ],
        200,
    )


def raise_not_pending(status: str) -> None:
    raise Conflict(
        f"This recovery is {status}, not pending: there is nothing to cancel.",
        code="recovery_not_pending",
        extra={"status": status},
    )


async def cancel_form(request: Request) -> Response:
    context = context_of(request)
    raw = b""
    try:
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_FORM_BYTES:
                return _page(context, "Link not valid", ["<p>That form is too large.</p>"], 413)
        fields = parse_qs(raw.decode("utf-8", "replace"), max_num_fields=4)
    except ClientDisconnect:
        return Response(status_code=499)
    except ValueError:
        fields = {}
    token = (fields.get("token") or [""])[0]
    try:
        found = await _cancel(context, token, request.headers.get("user-agent"))
    except VouchError as exc:
        return _refused(context, exc)
    return _page(
        context,
        "Recovery cancelled",
        [
            f"<p>The recovery of <b>{html.escape(found.username)}</b> was cancelled; nothing"
            " of the account changed.</p>",
            "<p>Someone used your guardians to start it: sign in and replace the guardians"
            " that approved it.</p>",
        ],
        200,
    )


PAGE_ROUTES = [
    Route(cancel_links.PATH, cancel_page, methods=["GET"]),
    Route(cancel_links.PATH, cancel_form, methods=["POST"]),
]
