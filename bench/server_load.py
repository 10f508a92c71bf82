"""Part 5 of issue 6: recoveries and sign-ins per second on loopback, against the floor.

    .venv/bin/python -m bench.server_load [--concurrency 8 24 32] [--accounts 400]
                                          [--rounds 3] [--workers CORES]

A serve.py of its own (real SQLite file, every rate limit relaxed with --rate-limit, one
worker process per core as a deployment on this machine would run it) is set up, untimed,
with accounts made the way the server tests make them (tests/support/api_client.py,
with the dialog's own builders): a software passkey
(tests/support/soft_authenticator.py) and three guardians, recovery code + backup codes + a
second passkey, threshold 2. Then, per concurrency level N, N asyncio clients on a
connection each take the next account from one shared queue and recover it, until every
account has been recovered `rounds` times: POST /api/recovery/start, register the new
passkey, approve with one backup code (Ed25519) and the passkey guardian (a WebAuthn
assertion), POST /api/recovery/execute. Recoveries per second, and p50/p99 of the execute
request and of the whole recovery (start to executed, client work included), are reported;
then sign-ins (POST /api/signin/options + /verify with the account's current passkey). Key
generation is done before each timed level (the P-256 keys of the passkeys the recoveries
will register, the backup codes' Ed25519 keys from their seeds); every signature,
registration response and request is still made in the timed loop, which runs on uvloop in
a thread of its own. CPU milliseconds per operation (client and server) are reported next
to the rates: on a shared machine they move less from run to run than the rates do.

The client runs in this process and shares the machine's cores with the server's workers:
its CPU time and theirs are recorded next to each other, and the two together can reach no
more than the number of cores (if the client's CPU time is close to the wall time, the
client and not the server is the bottleneck: the table says which). Afterwards the database
is read: every account must hold exactly the passkey of its last recovery (every earlier
one revoked), its guardian passkey, one burnt backup code per recovery (used by that
recovery), one completed recovery row and one recovery_complete audit event per recovery,
and no recovery_failed event: nothing lost, nothing applied twice.

The floor is the signature work of one recovery in one process, in a tight loop: the
registration (py_webauthn verify_registration_response), one Ed25519 verification and one
WebAuthn assertion (verify_authentication_response); for a sign-in, the assertion only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import uvloop
import webauthn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tests.support.api_client import (
    Api,
    Guardian,
    Recovery,
    User,
    backup_codes_guardian,
    passkey_guardian,
    recovery_code_guardian,
    register,
    save_guardians,
)
from tests.support.soft_authenticator import (
    KeyPair,
    SoftAuthenticator,
    b64,
)

from bench import live
from bench.webroot import ROOT
from vouch.server.recovery import reference as recovery_reference

CONCURRENCY = (8, 24, 32)
ACCOUNTS = 400
WORKERS = os.cpu_count() or 1
ROUNDS = 3  # recoveries of each account per concurrency level (each burns one backup code)
SIGNINS_PER_ACCOUNT = 4
FLOOR_SECONDS = 1.0


@dataclass
class Account:
    user: User
    recovery_code: Guardian
    backup_codes: Guardian
    passkey: Guardian
    device: SoftAuthenticator  # the current sign-in passkey
    next_code: int = 0
    recoveries: list[str] = field(default_factory=list)
    new_credentials: list[str] = field(default_factory=list)
    # Made before the timed phase: the backup codes' Ed25519 keys (from their seeds) and the
    # P-256 keys of the passkeys the next recoveries register.
    code_keys: list[Ed25519PrivateKey] = field(default_factory=list)
    new_keys: list[KeyPair] = field(default_factory=list)


class PreparedDevice(SoftAuthenticator):
    """The soft authenticator, registering a passkey whose key was generated beforehand.

    `create` is SoftAuthenticator.create with the key pair made beforehand: only the key
    generation is taken out of the timed phase.
    """

    def __init__(self, origin: str, prepared: KeyPair):
        super().__init__(origin)
        self.prepared = prepared

    def create(self, options: dict[str, Any], **_: Any) -> dict[str, Any]:
        return super().create(options, key_pair=self.prepared)


def prepare_keys(accounts: list[Account], recoveries: int) -> None:
    """Key generation for the next `recoveries` recoveries of every account (untimed)."""
    for account in accounts:
        account.code_keys = [
            Ed25519PrivateKey.from_private_bytes(key.seed) for key in account.backup_codes.keys
        ]
        account.new_keys = [KeyPair.generate() for _ in range(recoveries)]


# Setup (untimed) ------------------------------------------------------------------------------


def set_up_accounts(url: str, count: int, threads: int = 8) -> list[Account]:
    def one(_: int) -> Account:
        api = Api(url)
        user = register(api)
        code, codes, passkey = (
            recovery_code_guardian(user),
            backup_codes_guardian(user),
            passkey_guardian(api, user),
        )
        save_guardians(api, user, 2, [code, codes, passkey])
        api.http.close()
        return Account(user, code, codes, passkey, device=user.device)

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(count)))


# The timed clients --------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads) and of its children (--workers), from
    /proc."""
    pids = [pid]
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        pids += [int(child) for child in children.read_text().split()]
    total = 0
    for each in pids:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection speaking just enough HTTP for JSON POSTs.

    httpx's async pool scans every pooled connection for every request (its cost grows with
    the clients; at 32 it, not the server, was the bottleneck), and asyncio's streams cost
    the client a sixth of its time: the timed loops use one of these per client, a protocol
    that hands each whole response to the request waiting for it. The client shares the
    cores with the server, so what it spends is taken from the server's figures.
    """

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "localhost", parts.port or 80
        self.head = f"Host: {parts.netloc}\r\nContent-Type: application/json\r\n".encode()
        self.transport: asyncio.Transport | None = None
        self.received = bytearray()
        self.waiting: asyncio.Future[tuple[int, bytes]] | None = None

    async def post(self, path: str, body: Any) -> tuple[int, Any]:
        loop = asyncio.get_running_loop()
        if self.transport is None:
            await loop.create_connection(lambda: self, self.host, self.port)
        assert self.transport is not None
        data = json.dumps(body, separators=(",", ":")).encode()
        self.waiting = loop.create_future()
        self.transport.write(
            b"POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s"
            % (path.encode(), self.head, len(data), data)
        )
        status, payload = await self.waiting
        return status, json.loads(payload)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.received += data
        end = self.received.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.received[:end]).lower()
        field = head.find(b"\r\ncontent-length:")
        if field < 0:
            self._fail(ValueError(f"a response without Content-Length: {head[:200]!r}"))
            return
        line_end = head.find(b"\r\n", field + 2)
        length = int(head[field + 17 : line_end if line_end >= 0 else None])
        if len(self.received) < end + 4 + length:
            return
        payload = bytes(self.received[end + 4 : end + 4 + length])
        del self.received[: end + 4 + length]
        if self.waiting is not None and not self.waiting.done():
            self.waiting.set_result((int(head.split(b" ", 2)[1]), payload))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._fail(exc or ConnectionResetError("the server closed the connection"))

    def _fail(self, exc: Exception) -> None:
        if self.waiting is not None and not self.waiting.done():
            self.waiting.set_exception(exc)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def recover(http: Connection, url: str, account: Account) -> tuple[float, float]:
    """One full recovery; returns (execute seconds, whole recovery seconds)."""
    began = time.perf_counter()
    status, start = await http.post("/api/recovery/start", {"username": account.user.username})
    if status != 200:
        raise RuntimeError(f"recovery start refused: {status} {start}")
    device = PreparedDevice(url, account.new_keys.pop())
    registration = device.create(start["registration"]["options"])
    recovery = Recovery(start, device, registration)
    code = account.next_code
    account.next_code += 1
    signature = account.code_keys[code].sign(recovery.message())  # = GuardianKey.sign
    approvals = [
        {"guardian_id": account.backup_codes.id, "signature": b64(signature)},
        recovery.approve(account.passkey),  # a WebAuthn assertion: no event loop needed
    ]
    sent = time.perf_counter()
    status, result = await http.post("/api/recovery/execute", recovery.execute_body(approvals))
    done = time.perf_counter()
    if status != 200 or result.get("status") != "complete":
        raise RuntimeError(f"recovery refused: {status} {result}")
    account.recoveries.append(recovery.id)
    account.new_credentials.append(registration["id"])
    account.device = device
    return done - sent, done - began


async def sign_in(http: Connection, url: str, account: Account) -> tuple[float, float]:
    """One sign-in; returns (verify seconds, options to verified seconds)."""
    began = time.perf_counter()
    status, options = await http.post("/api/signin/options", {})
    if status != 200:
        raise RuntimeError(f"sign-in options refused: {status} {options}")
    assertion = account.device.get(options["options"])
    sent = time.perf_counter()
    status, result = await http.post(
        "/api/signin/verify", {"challenge_id": options["challenge_id"], "credential": assertion}
    )
    done = time.perf_counter()
    if status != 200 or result.get("account") != account.user.account:
        raise RuntimeError(f"sign-in refused: {status} {result}")
    return done - sent, done - began


async def load(
    url: str, server_pid: int, accounts: list[Account], clients: int, rounds: int, what: str
) -> dict[str, Any]:
    """`clients` concurrent loops taking the next account from one shared queue, until every
    account has been done `rounds` times.

    A shared queue (as wrk-style load generators do) rather than a fixed share per client:
    with a fixed share, a client whose connection the server (or one of its --workers
    processes) serves more slowly is still working after the others are done, and the
    figure would measure that tail rather than the server. An account is never worked on by
    two clients at once: it goes back in the queue only when its turn is over.
    """
    queue: asyncio.Queue[Account] = asyncio.Queue()
    for account in accounts:
        queue.put_nowait(account)
    remaining = dict.fromkeys(map(id, accounts), rounds)
    step = recover if what == "recovery" else sign_in
    inner: list[float] = []
    whole: list[float] = []
    failures: list[str] = []

    async def client() -> None:
        http = Connection(url)
        try:
            while True:
                account = await queue.get()
                if not remaining[id(account)]:  # all done: woken to stop
                    return
                try:
                    timing = await step(http, url, account)
                except (RuntimeError, OSError, ValueError) as exc:
                    failures.append(str(exc)[:300])
                else:
                    inner.append(timing[0])
                    whole.append(timing[1])
                finally:
                    remaining[id(account)] -= 1
                    if remaining[id(account)]:
                        queue.put_nowait(account)
                    elif not any(remaining.values()):
                        for _ in range(clients):  # wake the clients waiting for an account
                            queue.put_nowait(account)
        finally:
            http.close()

    cpu_client, cpu_server = time.process_time(), process_cpu_seconds(server_pid)
    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - began
    cpu_client = time.process_time() - cpu_client
    cpu_server = process_cpu_seconds(server_pid) - cpu_server
    attempts = len(accounts) * rounds
    return {
        "clients": clients,
        "attempts": attempts,
        "completed": len(inner),
        "failures": len(failures),
        "first_failures": failures[:3],
        "seconds": round(elapsed, 3),
        "per_second": round(len(inner) / elapsed, 1),
        "request_p50_ms": round(1000 * percentile(inner, 0.5), 2),
        "request_p99_ms": round(1000 * percentile(inner, 0.99), 2),
        "whole_p50_ms": round(1000 * percentile(whole, 0.5), 2),
        "whole_p99_ms": round(1000 * percentile(whole, 0.99), 2),
        "client_cpu_share": round(cpu_client / elapsed, 2),
        "server_cpu_share": round(cpu_server / elapsed, 2),
        "client_cpu_ms_each": round(1000 * cpu_client / max(1, len(inner)), 3),
        "server_cpu_ms_each": round(1000 * cpu_server / max(1, len(inner)), 3),
    }


async def timed(
    url: str, server_pid: int, accounts: list[Account], clients: int, rounds: int, what: str
) -> dict[str, Any]:
    """`load` on an event loop of its own in a thread: uvloop, like the server's (asyncio's
    own loop cost the client a tenth more CPU), whatever loop the caller runs."""
    return await asyncio.to_thread(
        uvloop.run, load(url, server_pid, accounts, clients, rounds, what)
    )


# The database afterwards ----------------------------------------------------------------------


def check_database(database: Path, accounts: list[Account]) -> dict[str, Any]:
    """Every recovery applied exactly once, and nothing else: the problems found, if any."""
    problems: list[str] = []
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        connection.row_factory = sqlite3.Row

        def rows(sql: str, account: Account) -> list[sqlite3.Row]:
            return connection.execute(sql, (account.user.account,)).fetchall()

        for account in accounts:
            name = account.user.username
            n = len(account.recoveries)
            signin = rows(
                "SELECT id, revoked_at FROM credentials WHERE account_id = ? AND role = 'signin'",
                account,
            )
            active = [row["id"] for row in signin if row["revoked_at"] is None]
            expected = account.new_credentials[-1:] or [account.user.passkey]
            if active != expected:
                problems.append(f"{name}: active passkeys {active}, expected {expected}")
            if len(signin) != n + 1:
                problems.append(f"{name}: {len(signin)} sign-in passkeys for {n} recoveries")
            guardian = rows(
                "SELECT id FROM credentials WHERE account_id = ? AND role = 'guardian'"
                " AND revoked_at IS NULL",
                account,
            )
            if [row["id"] for row in guardian] != [account.passkey.entry["credential_id"]]:
                problems.append(f"{name}: guardian passkey rows {list(map(dict, guardian))}")
            used = rows(
                "SELECT idx, used_by FROM backup_codes WHERE account_id = ? AND used_at IS NOT NULL"
                " ORDER BY idx",
                account,
            )
            # A tree that keeps recovery ids hashed names each by its reference.
            burnt = [(r["idx"], r["used_by"]) for r in used]
            ids = list(enumerate(account.recoveries))
            hashed = [(n, recovery_reference(rid)) for n, rid in ids]
            if burnt not in (ids, hashed):
                problems.append(f"{name}: burnt backup codes {list(map(tuple, used))}")
            statuses = Counter(
                row["status"]
                for row in rows("SELECT status FROM recoveries WHERE account_id = ?", account)
            )
            if statuses != Counter({"complete": n} if n else {}):
                problems.append(f"{name}: recoveries {dict(statuses)}, expected {n} complete")
            events = Counter(
                row["kind"]
                for row in rows("SELECT kind FROM audit_events WHERE account_id = ?", account)
            )
            if events["recovery_complete"] != n or events["recovery_failed"]:
                problems.append(f"{name}: audit {dict(events)}")
    return {
        "accounts": len(accounts),
        "recoveries_applied": sum(len(a.recoveries) for a in accounts),
        "problems": len(problems),
        "first_problems": problems[:5],
    }


# The floor ------------------------------------------------------------------------------------


def floor(url: str, seconds: float = FLOOR_SECONDS) -> dict[str, Any]:
    """Signature verifications per second in this process, in a tight loop, by py_webauthn
    and cryptography as the server calls them (same RP ID, origin, challenge sizes)."""
    rp_id = "localhost"
    challenge = os.urandom(32)
    device = SoftAuthenticator(url)
    options = {
        "rp": {"id": rp_id, "name": "vouch"},
        "user": {"id": b64(os.urandom(16)), "name": "floor"},
        "challenge": b64(challenge),
    }
    registration = device.create(options)
    verified = webauthn.verify_registration_response(
        credential=registration,
        expected_challenge=challenge,
        expected_rp_id=rp_id,
        expected_origin=url,
        require_user_verification=True,
    )
    assertion = device.get({"challenge": b64(challenge), "rpId": rp_id})
    ed_key = Ed25519PrivateKey.generate()
    message = os.urandom(200)
    ed_signature, ed_public = ed_key.sign(message), ed_key.public_key()

    def verify_registration() -> None:
        webauthn.verify_registration_response(
            credential=registration,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=url,
            require_user_verification=True,
        )

    def verify_assertion() -> None:
        webauthn.verify_authentication_response(
            credential=assertion,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=url,
            credential_public_key=verified.credential_public_key,
            credential_current_sign_count=0,
            require_user_verification=True,
        )

    def verify_ed25519() -> None:
        ed_public.verify(ed_signature, message)

    def per_call(function: Any) -> float:
        count, began = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - began) < seconds / 3:
            for _ in range(20):
                function()
            count += 20
        return elapsed / count

    costs = {
        "registration_us": per_call(verify_registration) * 1e6,
        "assertion_us": per_call(verify_assertion) * 1e6,
        "ed25519_us": per_call(verify_ed25519) * 1e6,
    }
    recovery_us = costs["registration_us"] + costs["assertion_us"] + costs["ed25519_us"]
    return {
        **{name: round(value, 1) for name, value in costs.items()},
        "recoveries_per_second": round(1e6 / recovery_us, 1),
        "signins_per_second": round(1e6 / costs["assertion_us"], 1),
    }


# The part -------------------------------------------------------------------------------------


async def measure(
    directory: Path,
    tree: Path = ROOT,
    *,
    concurrency: tuple[int, ...] = CONCURRENCY,
    accounts: int = ACCOUNTS,
    rounds: int = ROUNDS,
    workers: int = WORKERS,
) -> dict[str, Any]:
    if rounds * len(concurrency) > 10:
        raise ValueError("each account has 10 backup codes: rounds x levels must be <= 10")
    os.makedirs(directory, exist_ok=True)
    extra = [*live.relaxed_limits(tree), *(["--workers", str(workers)] if workers > 1 else [])]
    server = live.start(directory, tree, extra)
    try:
        began = time.perf_counter()
        made = await asyncio.to_thread(set_up_accounts, server.url, accounts)
        setup_seconds = time.perf_counter() - began
        results: dict[str, Any] = {
            "command": "python -m bench.server_load",
            "server": f"serve.py, SQLite WAL file, {workers} worker process(es)",
            "accounts": accounts,
            "guardians": "recovery_code + backup_codes + passkey, threshold 2;"
            " approved with a backup code (Ed25519) and the passkey (WebAuthn)",
            "setup_seconds": round(setup_seconds, 1),
            "load_average_before": os.getloadavg(),
            "floor": floor(server.url),
            "recoveries": [],
            "signins": [],
        }
        for clients in concurrency:
            prepare_keys(made, rounds)
            results["recoveries"].append(
                await timed(server.url, server.process.pid, made, clients, rounds, "recovery")
            )
        for clients in concurrency:
            results["signins"].append(
                await timed(
                    server.url, server.process.pid, made, clients, SIGNINS_PER_ACCOUNT, "signin"
                )
            )
        results["load_average_after"] = os.getloadavg()
        results["database_check"] = check_database(directory / "bench.db", made)
    finally:
        server.stop()
    return results


def format_table(figures: dict[str, Any]) -> str:
    if "skipped" in figures:
        return f"server (part 5): skipped: {figures['skipped']}"
    floor_ = figures["floor"]
    lines = [
        f"server (part 5): {figures['server']}; {figures['guardians']}",
        f"{'':24}{'clients':>8}{'done/tried':>12}{'per s':>9}{'req p50':>9}{'req p99':>9}"
        f"{'all p50':>9}{'all p99':>9}{'cpu cli/srv':>13}{'ms cpu each cli/srv':>21}",
    ]
    for kind in ("recoveries", "signins"):
        for row in figures[kind]:
            lines.append(
                f"{kind:24}{row['clients']:>8}{row['completed']:>6}/{row['attempts']:<5}"
                f"{row['per_second']:>9.0f}{row['request_p50_ms']:>7.1f}ms"
                f"{row['request_p99_ms']:>7.1f}ms{row['whole_p50_ms']:>7.1f}ms"
                f"{row['whole_p99_ms']:>7.1f}ms{row['client_cpu_share']:>7.2f}/"
                f"{row['server_cpu_share']:.2f}{row['client_cpu_ms_each']:>11.2f}/"
                f"{row['server_cpu_ms_each']:.2f}"
            )
    lines.append(
        f"{'floor, one process':24}  recovery {floor_['recoveries_per_second']:.0f}/s"
        f" (registration {floor_['registration_us']:.0f} us + assertion"
        f" {floor_['assertion_us']:.0f} us + Ed25519 {floor_['ed25519_us']:.0f} us);"
        f" sign-in {floor_['signins_per_second']:.0f}/s"
    )
    check = figures["database_check"]
    verdict = "none lost, none applied twice" if not check["problems"] else "PROBLEMS"
    lines.append(
        f"{'database afterwards':24}{check['recoveries_applied']} recoveries on"
        f" {check['accounts']} accounts: {verdict}"
        + "".join(f"\n    {problem}" for problem in check["first_problems"])
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--concurrency", type=int, nargs="+", default=list(CONCURRENCY))
    parser.add_argument("--accounts", type=int, default=ACCOUNTS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument(
        "--workers", type=int, default=WORKERS, help=f"serve.py --workers ({WORKERS}: the cores)"
    )
    parser.add_argument("--tree", type=Path, default=ROOT)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vouch-load-") as directory:
        figures = asyncio.run(
            measure(
                Path(directory),
                args.tree.resolve(),
                concurrency=tuple(args.concurrency),
                accounts=args.accounts,
                rounds=args.rounds,
                workers=args.workers,
            )
        )
    figures["command"] = "python -m bench.server_load " + " ".join(argv or [])
    print(format_table(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
