"""Run vouch: the dialog's static site and its API, on uvicorn.

python serve.py --port 8000 --db vouch.db
VOUCH_DATABASE_URL=postgresql://user@host/db python serve.py
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent / "pysrc"))

import uvicorn
from starlette.applications import Starlette
from uvicorn._subprocess import get_subprocess
from uvicorn.supervisors.multiprocess import Multiprocess

from vouch.server import keyring
from vouch.server.app import create_app
from vouch.server.config import DEFAULT_RATE_LIMITS, DEFAULT_WEB_ROOT, Config, RateLimit
from vouch.server.oidc import settings as oidc_settings
from vouch.server.outbox.settings import (
    SMTP_PASSWORD_VARIABLE,
    WEBHOOK_SECRET_VARIABLE,
    OutboxSettings,
    SettingError,
    parse_address,
    parse_smtp_url,
    parse_webhook_secret,
    parse_webhook_url,
)
from vouch.server.protocol import ClientLimits, http_protocol
from vouch.server.storage import is_postgres_url


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Serve the vouch dialog (static files in web/) and its API."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port to listen on (8000)")
    parser.add_argument(
        "--db",
        default=os.environ.get("VOUCH_DATABASE_URL") or "vouch.db",
        help="SQLite database file, created if missing, or a postgresql:// URL"
        " (default: $VOUCH_DATABASE_URL, else vouch.db)",
    )
    parser.add_argument(
        "--origin",
        help="the dialog's public origin, which WebAuthn responses must come from "
        "(default: http://localhost:PORT)",
    )
    parser.add_argument(
        "--rp-id", help="WebAuthn relying party ID (default: the host name of --origin)"
    )
    parser.add_argument(
        "--rp-name",
        default="vouch",
        help="the dialog's own site name, shown by authenticators and on recovery kits made"
        " on the dialog's own page (vouch)",
    )
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        type=_allowed_site,
        metavar="ORIGIN[=NAME]",
        help="a host site allowed to embed the dialog (repeatable), with the name its users"
        ' know it by, which recovery kits show: --allow-origin "https://app.example.com=Example'
        ' App" (default: its host name)',
    )
    parser.add_argument(
        "--recovery-delay",
        type=int,
        default=0,
        metavar="SECONDS",
        help="hold a completed recovery this long so the owner can cancel it (0: apply at once)",
    )
    parser.add_argument(
        "--contact-cooldown",
        type=int,
        default=7 * 86400,
        metavar="SECONDS",
        help="a trusted contact whose own account was recovered this recently cannot approve"
        " recoveries of others (7 days)",
    )
    parser.add_argument(
        "--challenge-ttl",
        type=int,
        default=300,
        metavar="SECONDS",
        help="how long a sign-in or guardian-change challenge stays valid (300)",
    )
    parser.add_argument(
        "--recovery-ttl",
        type=int,
        default=900,
        metavar="SECONDS",
        help="how long a started recovery can be approved and executed (900)",
    )
    parser.add_argument(
        "--token-ttl",
        type=int,
        default=300,
        metavar="SECONDS",
        help="lifetime of the host-app tokens (EdDSA JWTs) (300)",
    )
    parser.add_argument(
        "--rate-limit",
        action="append",
        default=[],
        type=_rate_limit,
        metavar="NAME=COUNT/SECONDS",
        help="override one rate limit (repeatable), e.g. recovery_start_address=20/60; names: "
        + ", ".join(DEFAULT_RATE_LIMITS),
    )
    parser.add_argument(
        "--web-root", type=Path, default=DEFAULT_WEB_ROOT, help="static site directory (web/)"
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="server processes sharing the port and the database (1); each runs one event loop,"
        " so one per core lets the API use them all (on SQLite each process re-reads the pages"
        " the others wrote: about a tenth more CPU per request)",
    )
    limits = ClientLimits()
    parser.add_argument(
        "--header-timeout",
        type=float,
        default=limits.header_timeout,
        metavar="SECONDS",
        help="close a connection whose request line and headers are not all in within this"
        f" time from its start or its request's first byte ({limits.header_timeout:g})",
    )
    parser.add_argument(
        "--body-timeout",
        type=float,
        default=limits.body_timeout,
        metavar="SECONDS",
        help="answer 408 and close when a request body stops arriving for this long"
        f" ({limits.body_timeout:g})",
    )
    parser.add_argument(
        "--max-header-bytes",
        type=int,
        default=limits.max_header_bytes,
        metavar="BYTES",
        help="answer 431 and close when a request line and headers pass this size"
        f" ({limits.max_header_bytes})",
    )
    parser.add_argument(
        "--signing-key-file",
        action="append",
        default=[],
        type=Path,
        metavar="PATH",
        help="token-signing keys (repeatable), instead of the database's: one base64url"
        " Ed25519 seed per line, each optionally followed by the time it starts signing;"
        f" also ${keyring.SIGNING_KEY_VARIABLE} (README, Keys)",
    )
    parser.add_argument(
        "--decoy-key-file",
        type=Path,
        metavar="PATH",
        help="the decoy HMAC key (base64url, 32 bytes) instead of the database's;"
        f" also ${keyring.DECOY_KEY_VARIABLE}. Never change it once in use (README, Keys)",
    )
    parser.add_argument(
        "--hsts",
        type=int,
        nargs="?",
        const=HSTS_SECONDS,
        default=0,
        metavar="SECONDS",
        help="send Strict-Transport-Security with this max-age (default when given:"
        f" {HSTS_SECONDS}, two years); needs an https --origin",
    )
    parser.add_argument(
        "--oidc-provider",
        action="append",
        default=[],
        metavar="NAME=ISSUER_URL,CLIENT_ID",
        help="an OpenID provider whose users can be guardians (repeatable), e.g."
        " google=https://accounts.google.com,1234.apps.googleusercontent.com; also"
        f" ${oidc_settings.ENV_VARIABLE}, ;-separated (README, OpenID Connect guardians)",
    )
    parser.add_argument(
        "--oidc-provider-name",
        action="append",
        default=[],
        metavar="NAME=TEXT",
        help="the name the dialog shows for a provider (default: NAME capitalised)",
    )
    parser.add_argument(
        "--oidc-provider-icon",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="a provider's icon: a path on the dialog's origin (/icons/google.svg) or a"
        " data:image/ URI",
    )
    _add_outbox_options(parser)
    args = parser.parse_args(argv)
    _check_security_options(parser, args)
    try:
        args.outbox = outbox_settings_from(args, os.environ)
    except SettingError as exc:
        parser.error(str(exc))
    try:
        providers = oidc_settings.parse_providers(
            args.oidc_provider, os.environ.get(oidc_settings.ENV_VARIABLE)
        )
        args.oidc_providers = tuple(
            oidc_settings.with_display(providers, args.oidc_provider_name, args.oidc_provider_icon)
        )
    except oidc_settings.ProviderSettingError as exc:
        parser.error(str(exc))
    return args


HSTS_SECONDS = 2 * 365 * 24 * 3600


def _add_outbox_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "mail and webhooks (README, Mail, notifications and webhooks)"
    )
    group.add_argument(
        "--smtp",
        metavar="smtp[s]://[USER@]HOST[:PORT]",
        help="send mail through this relay (smtp: STARTTLS when offered, port 587; smtps:"
        " TLS, port 465); the password from --smtp-password-file or"
        f" ${SMTP_PASSWORD_VARIABLE}. Default: write .eml files into --mail-dir",
    )
    group.add_argument(
        "--smtp-password-file", type=Path, metavar="PATH", help="the SMTP password (one line)"
    )
    group.add_argument(
        "--mail-dir",
        type=Path,
        metavar="DIR",
        help="without --smtp, each mail is written here as an .eml file (default: mail/"
        " next to the SQLite database, or in the working directory for PostgreSQL)",
    )
    group.add_argument(
        "--mail-from",
        default="vouch <vouch@localhost>",
        metavar="ADDRESS",
        help='the From of every mail ("vouch <vouch@localhost>"; give your domain\'s)',
    )
    group.add_argument(
        "--webhook",
        action="append",
        default=[],
        metavar="URL",
        help="POST signed events (Standard Webhooks) to this URL (repeatable); needs"
        f" --webhook-secret-file or ${WEBHOOK_SECRET_VARIABLE}",
    )
    group.add_argument(
        "--webhook-secret-file",
        type=Path,
        metavar="PATH",
        help="the webhooks' signing secret, whsec_ and base64 of 24-64 random bytes",
    )
    group.add_argument(
        "--no-outbox-worker",
        dest="outbox_worker",
        action="store_false",
        help="queue mail and webhooks but send none from this process (another sends them)",
    )
    group.add_argument(
        "--outbox-poll",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="how often the worker looks for what another process queued or is due again (2)",
    )
    group.add_argument(
        "--outbox-lease",
        type=int,
        default=120,
        metavar="SECONDS",
        help="how long a worker holds what it is sending; what a killed process held is"
        " sent by another after this (120)",
    )
    group.add_argument(
        "--outbox-retry",
        type=int,
        default=10,
        metavar="SECONDS",
        help="wait after a failed send, doubled on each failure up to an hour (10)",
    )


def _read_secret(
    path: Path | None, variable: str, environ: Mapping[str, str]
) -> tuple[str, str] | None:
    """(value, where it came from) of a file option or an environment variable."""
    if path is not None:
        try:
            return path.read_text().strip(), str(path)
        except OSError as exc:
            raise SettingError(f"cannot read {path}: {exc.strerror}") from None
    value = environ.get(variable)
    return (value.strip(), f"${variable}") if value else None


def outbox_settings_from(args: argparse.Namespace, environ: Mapping[str, str]) -> OutboxSettings:
    password = _read_secret(args.smtp_password_file, SMTP_PASSWORD_VARIABLE, environ)
    smtp = parse_smtp_url(args.smtp, password[0] if password else None) if args.smtp else None
    secret = _read_secret(args.webhook_secret_file, WEBHOOK_SECRET_VARIABLE, environ)
    mail_dir = args.mail_dir
    if smtp is None and mail_dir is None:
        database = str(args.db)
        base = Path.cwd() if is_postgres_url(database) else Path(database).resolve().parent
        mail_dir = base / "mail"
    return OutboxSettings(
        smtp=smtp,
        mail_dir=None if smtp is not None else mail_dir,
        mail_from=parse_address(args.mail_from, what="--mail-from"),
        webhooks=tuple(parse_webhook_url(url) for url in args.webhook),
        webhook_secret=parse_webhook_secret(secret[0], source=secret[1]) if secret else None,
        worker=args.outbox_worker,
        poll_seconds=args.outbox_poll,
        lease_seconds=args.outbox_lease,
        retry_base_seconds=args.outbox_retry,
    )


def _check_security_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--hsts needs an https origin; key files and variables must hold well-formed keys, read
    here so that a bad one stops the start with a message instead of a traceback."""
    if args.hsts < 0:
        parser.error(f"--hsts is {args.hsts}, expected a positive number of seconds")
    if args.hsts and urlsplit(args.origin or "").scheme != "https":
        parser.error("--hsts needs an https --origin (browsers ignore HSTS sent over http)")
    try:
        args.signing_keys, args.decoy_key = keyring.external_keys(
            args.signing_key_file, args.decoy_key_file, os.environ
        )
    except keyring.KeyFileError as exc:
        parser.error(str(exc))


def _allowed_site(text: str) -> tuple[str, str | None]:
    """ORIGIN or ORIGIN=NAME: a bare origin (an embedding page's `location.origin`, which is
    what the browser reports and what frame-ancestors and the token audience compare)."""
    origin, equals, name = text.partition("=")
    origin = origin.strip().rstrip("/")
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
        raise argparse.ArgumentTypeError(
            f'"{origin}" is not an origin, expected scheme://host[:port] such as'
            " https://app.example.com"
        )
    if equals and not name.strip():
        raise argparse.ArgumentTypeError(f'"{text}" has an empty name after "="')
    return f"{parts.scheme}://{parts.netloc.lower()}", name.strip() or None


def _rate_limit(text: str) -> tuple[str, RateLimit]:
    name, _, value = text.partition("=")
    if name not in DEFAULT_RATE_LIMITS:
        raise argparse.ArgumentTypeError(
            f'unknown rate limit "{name}", expected one of {", ".join(DEFAULT_RATE_LIMITS)}'
        )
    try:
        return name, RateLimit.parse(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


ARGV_VARIABLE = "VOUCH_SERVE_ARGV"


def config_from(args: argparse.Namespace) -> Config:
    sites: list[tuple[str, str | None]] = args.allow_origin
    return Config(
        origin=dialog_origin(args),
        rp_id=args.rp_id,
        rp_name=args.rp_name,
        database=args.db,
        web_root=args.web_root,
        allowed_origins=tuple(dict.fromkeys(origin for origin, _ in sites)),
        site_names={origin: name for origin, name in sites if name},
        recovery_delay_seconds=args.recovery_delay,
        contact_cooldown_seconds=args.contact_cooldown,
        challenge_ttl_seconds=args.challenge_ttl,
        recovery_ttl_seconds=args.recovery_ttl,
        token_ttl_seconds=args.token_ttl,
        rate_limits={**DEFAULT_RATE_LIMITS, **dict(args.rate_limit)},
        signing_keys=args.signing_keys,
        decoy_key=args.decoy_key,
        hsts_max_age=args.hsts,
        oidc_providers=args.oidc_providers,
        outbox=args.outbox,
    )


def dialog_origin(args: argparse.Namespace) -> str:
    return str(args.origin or f"http://localhost:{args.port}")


def announce(args: argparse.Namespace) -> None:
    """Say where the dialog is: passkeys work only at this origin, not at another name for
    the same server (http://127.0.0.1:8000 is not http://localhost:8000 to a browser)."""
    print(f"vouch dialog: {dialog_origin(args)}/dialog.html", flush=True)
    settings: OutboxSettings = args.outbox
    if settings.smtp is not None:
        print(f"vouch mail: through {settings.smtp.url}", flush=True)
    elif settings.mail_dir is not None:
        print(f"vouch mail: written as .eml files into {settings.mail_dir}", flush=True)
    for url in settings.webhooks:
        print(f"vouch webhook: {url}", flush=True)


def limits_from(args: argparse.Namespace) -> ClientLimits:
    return ClientLimits(
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        max_header_bytes=args.max_header_bytes,
    )


def app_from_environment() -> Starlette:
    """The app factory each --workers process calls, from the arguments main() was given."""
    args = parse_args(json.loads(os.environ[ARGV_VARIABLE]))
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s %(message)s")
    return create_app(config_from(args))


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s %(message)s")
    app = create_app(config_from(args))  # migrates and makes the server secrets once
    options = {
        "host": args.host,
        "port": args.port,
        "log_level": args.log_level,
        # A response's head and body in one send, and the slow-client limits (see
        # vouch/server/protocol.py).
        "http": http_protocol(limits_from(args)),
        # Rate limits count the peer address: uvicorn would otherwise take X-Forwarded-For
        # from any client connecting from 127.0.0.1 (a fresh limit per made-up address).
        "proxy_headers": False,
    }
    announce(args)
    if args.workers <= 1:
        uvicorn.run(app, **options, access_log=False)
        return
    app.state.context.database.close()
    os.environ[ARGV_VARIABLE] = json.dumps(argv)
    run_workers(args.workers, args.host, args.port, options)


def run_workers(count: int, host: str, port: int, options: dict[str, Any]) -> None:
    """`count` worker processes, each accepting on a listening socket of its own.

    The sockets share the port with SO_REUSEPORT, so the kernel hands each new connection
    to one of them by a hash of its addresses. uvicorn's own --workers shares one socket:
    the first worker to wake accepts every connection then pending, and under the load
    test one worker held 29 of 32 keep-alive connections while the other idled. Where
    SO_REUSEPORT does not balance (not Linux), uvicorn's supervisor and its shared socket
    are used instead.
    A worker that dies stops the whole server (with its exit code), for the service
    manager to restart, rather than running on with fewer workers than asked for.
    """
    config = uvicorn.Config(
        f"{Path(__file__).stem}:app_from_environment",
        factory=True,
        access_log=False,
        **options,
    )
    if not sys.platform.startswith("linux"):
        config.workers = count
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    sockets = [_reuse_port_socket(host, port) for _ in range(count)]
    workers = [get_subprocess(config, uvicorn.Server(config).run, [sock]) for sock in sockets]
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    for worker in workers:
        worker.start()
    status = 0
    while not stopping.wait(0.5):
        ended = [worker.exitcode for worker in workers if not worker.is_alive()]
        if ended:
            status = next((code for code in ended if code), 1)
            logging.getLogger("uvicorn.error").error("a worker exited (%s): stopping", ended)
            break
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.join()
    sys.exit(status)


def _reuse_port_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


if __name__ == "__main__":
    main()
