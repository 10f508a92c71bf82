"""Approvals that arrive out of band: recorded for one recovery, merged at execute, used once.

The email guardian approves out of band (tests/server/test_email_guardian.py); a trusted
contact's assertion given in their own dialog comes in a later issue. These tests run a server
whose registry has one kind more, `Contact` below, injected through `create_app(...,
kinds=...)`: it stands in for those kinds, approving through a channel of its own that
records the approval with `recovery_approvals.record`, as theirs will.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pytest
from jsonschema import Draft202012Validator

from tests.server.conftest import AppServer, serve_app
from tests.server.helpers import (
    Api,
    Guardian,
    Recovery,
    User,
    confirm_change,
    guardian_id,
    passphrase_guardian,
    register,
    snapshot,
)
from tests.support.soft_authenticator import SoftAuthenticator
from vouch.core.kinds import Kind, Proof
from vouch.server import maintenance, recovery, recovery_approvals
from vouch.server.app import build_context
from vouch.server.config import Config
from vouch.server.context import Context
from vouch.server.decoys import Decoys
from vouch.server.errors import ApprovalInvalid, ChallengeError
from vouch.server.fastschema import compile_check
from vouch.server.guardians import public_descriptor
from vouch.server.kinds import DEFAULT_KINDS, Approved, GuardianSet, KindRegistry
from vouch.server.kinds import Guardian as StoredGuardian
from vouch.server.kinds.base import DecoyGuardian, DecoyMaker, ServerKind
from vouch.server.routes import all_endpoints
from vouch.server.schemas import JSONSchema
from vouch.server.storage import Database, Row, StorageConflict, Transaction, open_database
from vouch.server.storage.migrations import LATEST_VERSION

T = TypeVar("T")

CONTACT = Kind(
    name="test_contact",
    label="Trusted contact",
    config_fields=("contact",),
    public_fields=("contact",),
    proof=Proof.OUT_OF_BAND,
)


class Contact(ServerKind):
    """A trusted person who approves in a channel of their own: a stand-in for the contact
    and email kinds of later issues. Its one field (the contact's name) has no column of its
    own, so it lives in guardians.data; `confirm` is what its channel does once the person has
    approved a recovery."""

    kind = CONTACT
    config_schema: ClassVar[Mapping[str, JSONSchema]] = {
        "contact": {"type": "string", "minLength": 1, "maxLength": 64}
    }
    public_schema: ClassVar[Mapping[str, JSONSchema]] = config_schema
    refusal = "That contact has not approved this recovery."

    def parse(
        self, where: str, entry: Mapping[str, Any], guardian: StoredGuardian
    ) -> StoredGuardian:
        return dataclasses.replace(guardian, data={"contact": str(entry["contact"])})

    def entry_values(self, guardian: StoredGuardian) -> dict[str, Any]:
        return {"contact": guardian.data["contact"]}

    def public_values(self, row: Row) -> dict[str, Any]:
        return {"contact": json.loads(row["data"])["contact"]}

    def decoy_maker(self, key: bytes) -> DecoyMaker:
        return self._decoy

    def _decoy(self, guardian_id: str, material: bytes) -> DecoyGuardian:
        contact = f"friend-{material[:3].hex()}"
        return self.decoy_guardian(
            guardian_id, {"data": json.dumps({"contact": contact})}, data={"contact": contact}
        )

    def confirm(self, tx: Transaction, context: Context, recovery_id: str, guardian: str) -> bool:
        found = recovery.load(tx, recovery_id)
        known = recovery.guardians_of(tx, context, found).by_id(guardian)
        if known is None or known.kind != self.name:
            raise self.refuse(guardian)
        return recovery_approvals.record(tx, context, found, guardian, {"via": "test channel"})


CONTACT_KIND = Contact()
REGISTRY = KindRegistry(*DEFAULT_KINDS, CONTACT_KIND)
ENDPOINTS = {(e.method, e.path): e for e in all_endpoints(REGISTRY)}


# A client of the server running REGISTRY --------------------------------------------------


def call(
    api: Api,
    method: str,
    path: str,
    body: Any = None,
    *,
    session: str | None = None,
    status: int = 200,
) -> dict[str, Any]:
    """`Api.call`, checked against the schemas of the server's own registry."""
    response = api.request(method, path, body, session=session)
    assert response.status_code == status, f"{method} {path}: {response.text}"
    data: dict[str, Any] = response.json()
    endpoint = ENDPOINTS[(method, path)]
    schema = {"200": endpoint.response_schema, **endpoint.other_responses}[str(status)]
    Draft202012Validator(schema).validate(data)
    return data


@dataclass
class Account:
    user: User
    passphrase: Guardian
    contact: str  # the contact guardian's id


def set_up(api: Api) -> Account:
    """An account with a passphrase and a trusted contact, both needed (2 of 2)."""
    user = register(api)
    passphrase = passphrase_guardian(user)
    contact = {"id": guardian_id(), "kind": CONTACT.name, "label": "Sam", "contact": "sam"}
    config = {"threshold": 2, "guardians": [passphrase.entry, contact]}
    saved = call(
        api, "PUT", "/api/guardians", confirm_change(api, user, config), session=user.session
    )
    assert [g["kind"] for g in saved["guardians"]] == ["passphrase", CONTACT.name]
    return Account(user, passphrase, str(contact["id"]))


def begin(api: Api, username: str) -> Recovery:
    start = call(api, "POST", "/api/recovery/start", {"username": username})
    device = SoftAuthenticator(api.url)
    return Recovery(start, device, device.create(start["registration"]["options"]))


def execute(api: Api, rec: Recovery, approvals: list[dict[str, Any]], status: int = 200) -> Any:
    return call(api, "POST", "/api/recovery/execute", rec.execute_body(approvals), status=status)


def approvals_of(database: Path, recovery_id: str) -> list[tuple[str, bool]]:
    """(guardian id, used) of each approval recorded for a recovery."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        rows = connection.execute(
            "SELECT guardian_id, used_at IS NOT NULL FROM recovery_approvals"
            " WHERE recovery_id = ? ORDER BY guardian_id",
            (recovery_id,),
        ).fetchall()
    return [(guardian, bool(used)) for guardian, used in rows]


def everything(database: Path) -> dict[str, Any]:
    """Every row of the account tables and of recovery_approvals."""
    tables = ("accounts", "credentials", "sessions", "guardians", "backup_codes", "recoveries")
    return snapshot(database, (*tables, "recovery_approvals"))


@dataclass
class Channel:
    """The contact kind's own channel: the server's database opened a second time (as
    another worker process would), recording approvals the way the kind will."""

    database: Database
    context: Context

    def confirm(self, recovery_id: str, guardian: str) -> bool:
        return self.run(lambda tx: CONTACT_KIND.confirm(tx, self.context, recovery_id, guardian))

    def run(self, work: Callable[[Transaction], T]) -> T:
        return self.database.run_sync(work)


def open_channel(served: AppServer) -> Channel:
    database = open_database(str(served.database))
    return Channel(database, build_context(served.config, database, kinds=REGISTRY))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    with serve_app(tmp_path_factory.mktemp("out-of-band"), kinds=REGISTRY) as app:
        yield app


@pytest.fixture(scope="module")
def channel(served: AppServer) -> Iterator[Channel]:
    opened = open_channel(served)
    yield opened
    opened.database.close()


@pytest.fixture
def api(served: AppServer) -> Iterator[Api]:
    client = Api(served.url)
    yield client
    client.http.close()


# Through the API ---------------------------------------------------------------------------


def test_a_recorded_approval_counts_with_the_page_s_toward_the_threshold(
    api: Api, served: AppServer, channel: Channel
) -> None:
    account = set_up(api)
    rec = begin(api, account.user.username)
    shown = {g["id"]: g for g in rec.start["guardians"]}
    assert shown[account.contact] == {
        "id": account.contact,
        "kind": CONTACT.name,
        "label": "Sam",
        "contact": "sam",
    }
    assert channel.confirm(rec.id, account.contact) is True
    assert channel.confirm(rec.id, account.contact) is False  # kept once
    result = execute(api, rec, [rec.approve(account.passphrase)])
    assert result["status"] == "complete"
    assert result["account"] == account.user.account
    assert approvals_of(served.database, rec.reference) == [(account.contact, True)]
    events = call(api, "GET", "/api/audit", session=str(result["session"]))["events"]
    (completed,) = [event for event in events if event["kind"] == "recovery_complete"]
    assert completed["detail"]["guardians"] == [account.passphrase.id, account.contact]


def test_without_the_recorded_approval_there_are_not_enough_and_nothing_changes(
    api: Api, served: AppServer
) -> None:
    account = set_up(api)
    rec = begin(api, account.user.username)
    before = everything(served.database)
    error = api.refused(
        "POST",
        "/api/recovery/execute",
        rec.execute_body([rec.approve(account.passphrase)]),
        status=400,
        code="not_enough_approvals",
    )
    assert error["message"] == (
        "1 of the 2 approvals this account needs were sent, and 0 more were given out of band."
    )
    assert everything(served.database) == before


def test_a_recorded_approval_is_bound_to_its_recovery_and_used_once(
    api: Api, served: AppServer, channel: Channel
) -> None:
    account = set_up(api)
    first, second = begin(api, account.user.username), begin(api, account.user.username)
    assert channel.confirm(first.id, account.contact)
    # Another recovery of the same account does not count it.
    api.refused(
        "POST",
        "/api/recovery/execute",
        second.execute_body([second.approve(account.passphrase)]),
        status=400,
        code="not_enough_approvals",
    )
    assert execute(api, first, [first.approve(account.passphrase)])["status"] == "complete"
    assert approvals_of(served.database, second.reference) == []
    # The recovery it approved is finished: nothing more is recorded for it...
    with pytest.raises(ChallengeError, match="already used"):
        channel.confirm(first.id, account.contact)
    # ...and the approval it used cannot be used again, even by a transaction that tries.
    used = Approved(account.contact, CONTACT.name, recorded=True)
    with pytest.raises(ApprovalInvalid) as refused:
        channel.run(
            lambda tx: recovery_approvals.consume(
                tx, channel.context, recovery.load(tx, first.id), [used]
            )
        )
    assert refused.value.message == Contact.refusal
    assert refused.value.extra == {"guardian_id": account.contact}


def test_a_refused_recovery_keeps_the_recorded_approval_unused(
    api: Api, served: AppServer, channel: Channel
) -> None:
    account = set_up(api)
    rec = begin(api, account.user.username)
    assert channel.confirm(rec.id, account.contact)
    before = everything(served.database)
    wrong = rec.approve(account.passphrase, expires=rec.start["expires"] + 1)  # another message
    error = api.refused(
        "POST",
        "/api/recovery/execute",
        rec.execute_body([wrong]),
        status=400,
        code="approval_invalid",
    )
    assert error["message"] == "That passphrase is not right."
    assert everything(served.database) == before
    assert approvals_of(served.database, rec.reference) == [(account.contact, False)]
    assert execute(api, rec, [rec.approve(account.passphrase)])["status"] == "complete"


def test_the_page_cannot_send_an_out_of_band_guardian_s_approval(
    api: Api, served: AppServer, channel: Channel
) -> None:
    account = set_up(api)
    rec = begin(api, account.user.username)
    assert channel.confirm(rec.id, account.contact)
    before = everything(served.database)
    sentence = (
        'guardian "Sam" is a test_contact guardian, which approves out of band: its approval'
        " reaches the server on its own and is counted at execute; leave it out of the"
        " approvals sent."
    )
    signature = rec.approve(account.passphrase)["signature"]
    for sent in (
        {"guardian_id": account.contact},
        {"guardian_id": account.contact, "signature": signature},
    ):
        error = api.refused(
            "POST",
            "/api/recovery/execute",
            rec.execute_body([rec.approve(account.passphrase), sent]),
            status=400,
            code="out_of_band_approval",
        )
        assert error == {
            "code": "out_of_band_approval",
            "message": f"approvals[1]: {sentence}",
            "guardian_id": account.contact,
        }
        check = {
            "recovery_id": rec.id,
            "new_credential": rec.new_credential_json(),
            "approval": sent,
        }
        error = api.refused(
            "POST", "/api/recovery/check", check, status=400, code="out_of_band_approval"
        )
        assert error["message"] == f"approvals[0]: {sentence}"
    assert everything(served.database) == before


def test_a_held_recovery_uses_the_recorded_approval_when_executed(tmp_path: Path) -> None:
    with serve_app(tmp_path, kinds=REGISTRY, recovery_delay_seconds=1) as delayed:
        api = Api(delayed.url)
        held = open_channel(delayed)
        try:
            account = set_up(api)
            rec = begin(api, account.user.username)
            assert held.confirm(rec.id, account.contact)
            pending = execute(api, rec, [rec.approve(account.passphrase)], status=202)
            assert pending["status"] == "pending"
            assert approvals_of(delayed.database, rec.reference) == [(account.contact, True)]
            time.sleep(max(0.0, pending["effective_at"] - time.time() + 0.05))
            body = {"recovery_id": rec.id}
            done = call(api, "POST", "/api/recovery/complete", body)
            assert done["status"] == "complete"
            assert done["account"] == account.user.account
        finally:
            held.database.close()
            api.http.close()


def test_decoys_are_the_same_whatever_other_kinds_the_server_runs(
    api: Api, served: AppServer
) -> None:
    with sqlite3.connect(f"file:{served.database}?mode=ro", uri=True) as connection:
        (key,) = connection.execute(
            "SELECT value FROM server_secrets WHERE name = 'decoy_hmac_v1'"
        ).fetchone()
    plain, extended = Decoys(key), Decoys(key, REGISTRY)
    for n in range(200):
        assert extended.decoy(f"ghost-{n}") == plain.decoy(f"ghost-{n}")
    shown = call(api, "POST", "/api/recovery/start", {"username": "ghost-7"})
    assert shown["guardians"] == [public_descriptor(row) for row in plain.decoy("ghost-7").rows]
    assert shown["account"] == plain.decoy("ghost-7").account


# The table on its own, on each backend -----------------------------------------------------


class Refuse:
    """A transaction that refuses every statement: nothing may be asked of it."""

    def execute(self, sql: str, params: object = ()) -> int:
        raise AssertionError(f"unexpected statement: {sql}")

    def one(self, sql: str, params: object = ()) -> Row | None:
        raise AssertionError(f"unexpected query: {sql}")

    def all(self, sql: str, params: object = ()) -> list[Row]:
        raise AssertionError(f"unexpected query: {sql}")

    def after_commit(self, callback: object) -> None:
        raise AssertionError("unexpected after-commit callback")


def a_recovery(recovery_id: str = "rec", *, expires_at: int = 2000) -> recovery.Recovery:
    return recovery.Recovery(
        id=recovery_id,
        account_id="acct",
        username="name",
        challenge=b"c" * 32,
        registration_challenge=b"r" * 32,
        guardians_version=1,
        status=recovery.STARTED,
        expires_at=expires_at,
        effective_at=None,
        plan=None,
    )


def guardian_set(*kinds: str) -> GuardianSet:
    guardians = tuple(
        StoredGuardian(id=f"g{n}", kind=kind, label=kind) for n, kind in enumerate(kinds)
    )
    return GuardianSet(account="acct", threshold=1, guardians=guardians)


def test_a_recovery_without_out_of_band_guardians_never_reads_the_table() -> None:
    without = guardian_set("passphrase", "backup_codes", "passkey")
    assert recovery_approvals.load(Refuse(), REGISTRY, a_recovery(), without) == []


def add_recovery(tx: Transaction, recovery_id: str, *, expires_at: int) -> None:
    tx.execute(
        "INSERT INTO recoveries (id, account_id, username, challenge, registration_challenge,"
        " guardians_version, status, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (recovery_id, "acct", "name", b"c" * 32, b"r" * 32, 1, recovery.STARTED, 1, expires_at),
    )


def add_account(tx: Transaction) -> None:
    tx.execute(
        "INSERT INTO accounts (id, username, created_at, threshold, guardians_version)"
        " VALUES ('acct', 'name', 1, 1, 1)"
    )


def test_record_load_and_consume_on_each_backend(database: Database) -> None:
    now = [1000]
    context = build_context(Config(), database, kinds=REGISTRY, clock=lambda: now[0])
    contact = guardian_set("passphrase", CONTACT.name)
    database.run_sync(add_account)
    database.run_sync(lambda tx: add_recovery(tx, "rec", expires_at=2000))
    found = database.run_sync(lambda tx: recovery.load_reference(tx, "rec"))

    def record(tx: Transaction) -> bool:
        return recovery_approvals.record(tx, context, found, "g1", {"via": "mail"})

    assert database.run_sync(record) is True
    assert database.run_sync(record) is False
    rows = database.run_sync(lambda tx: recovery_approvals.load(tx, REGISTRY, found, contact))
    assert rows == [{"guardian_id": "g1", "detail": '{"via":"mail"}'}]
    approved = recovery_approvals.usable(REGISTRY, contact, rows, sent=["g0"])
    assert approved == [Approved("g1", CONTACT.name, {"via": "mail"}, recorded=True)]
    # Counted once: a guardian the page approved, or one of no out-of-band kind, is not.
    assert recovery_approvals.usable(REGISTRY, contact, rows, sent=["g1"]) == []
    assert (
        recovery_approvals.usable(REGISTRY, guardian_set("passphrase", "passkey"), rows, sent=[])
        == []
    )

    def consume(tx: Transaction) -> None:
        recovery_approvals.consume(tx, context, found, approved)

    database.run_sync(consume)
    with pytest.raises(ApprovalInvalid, match="That contact has not approved this recovery"):
        database.run_sync(consume)  # a replay, or the loser of a race
    assert database.run_sync(lambda tx: recovery_approvals.load(tx, REGISTRY, found, contact)) == []
    now[0] = 2000
    with pytest.raises(ChallengeError, match="expired"):
        database.run_sync(record)


def test_approvals_of_expired_recoveries_are_pruned_with_them(database: Database) -> None:
    context = build_context(Config(), database, kinds=REGISTRY, clock=lambda: 1000)
    database.run_sync(add_account)
    database.run_sync(lambda tx: add_recovery(tx, "old", expires_at=1500))
    database.run_sync(lambda tx: add_recovery(tx, "new", expires_at=99_999))
    for recovery_id in ("old", "new"):
        found = database.run_sync(
            functools.partial(recovery.load_reference, recovery_reference=recovery_id)
        )
        database.run_sync(
            functools.partial(
                recovery_approvals.record,
                context=context,
                recovery=found,
                guardian_id="g1",
                detail={},
            )
        )
    later = 1500 + maintenance.GRACE_SECONDS + 1
    assert database.run_sync(lambda tx: maintenance.prune(tx, later)) == 2
    rows = database.run_sync(lambda tx: tx.all("SELECT recovery_id FROM recovery_approvals"))
    assert rows == [{"recovery_id": "new"}]


def test_version_4_adds_recovery_approvals_to_an_older_database(
    target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database made by a server before version 4 keeps its rows and gains the table."""
    from vouch.server.storage import migrations

    with monkeypatch.context() as before:
        before.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:3])
        before.setattr(migrations, "LATEST_VERSION", 3)
        old = open_database(target)
    old.run_sync(add_account)
    old.run_sync(lambda tx: add_recovery(tx, "kept", expires_at=2000))
    old.close()
    database = open_database(target)
    try:
        version = database.run_sync(
            lambda tx: tx.one("SELECT MAX(version) AS v FROM schema_version")
        )
        assert version == {"v": LATEST_VERSION}
        context = build_context(Config(), database, kinds=REGISTRY, clock=lambda: 1000)
        found = database.run_sync(lambda tx: recovery.load(tx, "kept"))  # (hashed by v5)
        assert database.run_sync(
            lambda tx: recovery_approvals.record(tx, context, found, "g1", {"n": 1})
        )
        # Bound to a recovery that exists.
        with pytest.raises(StorageConflict):
            database.run_sync(
                lambda tx: recovery_approvals.record(tx, context, a_recovery("nope"), "g1", {})
            )
    finally:
        database.close()


def test_version_5_keeps_recoveries_by_the_hash_of_their_id(
    target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A version 4 database's recovery ids (bearer secrets) become their references
    everywhere they were kept, and each recovery still opens with its id."""
    from vouch.server.storage import migrations

    with monkeypatch.context() as before:
        before.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:4])
        before.setattr(migrations, "LATEST_VERSION", 4)
        old = open_database(target)

    def fill(tx: Transaction) -> None:
        add_account(tx)
        add_recovery(tx, "bearer-secret-1", expires_at=2000)
        add_recovery(tx, "bearer-secret-2", expires_at=2000)
        tx.execute(
            "INSERT INTO recovery_approvals (recovery_id, guardian_id, detail, created_at,"
            " expires_at) VALUES ('bearer-secret-1', 'g1', '{}', 1, 2000)"
        )
        tx.execute(
            "INSERT INTO guardians (account_id, id, ordinal, kind, label, created_at)"
            " VALUES ('acct', 'codes', 0, 'backup_codes', 'Codes', 1)"
        )
        tx.execute(
            "INSERT INTO backup_codes (account_id, guardian_id, idx, public_key, used_at,"
            " used_by) VALUES ('acct', 'codes', 0, ?, 5, 'bearer-secret-2')",
            (b"k" * 32,),
        )
        for kind, detail in [
            ("recovery_complete", '{"recovery_id":"bearer-secret-2","guardians":["codes"]}'),
            ("signin", '{"passkey":"p"}'),
        ]:
            tx.execute(
                "INSERT INTO audit_events (account_id, at, kind, detail) VALUES ('acct', 1, ?, ?)",
                (kind, detail),
            )

    old.run_sync(fill)
    old.close()
    database = open_database(target)
    try:
        ref1, ref2 = recovery.reference("bearer-secret-1"), recovery.reference("bearer-secret-2")
        tables = database.run_sync(
            lambda tx: {
                "recoveries": tx.all("SELECT id FROM recoveries ORDER BY id"),
                "approvals": tx.all("SELECT recovery_id, guardian_id FROM recovery_approvals"),
                "codes": tx.all("SELECT used_by FROM backup_codes"),
                "audit": tx.all("SELECT detail FROM audit_events ORDER BY id"),
            }
        )
        assert {row["id"] for row in tables["recoveries"]} == {ref1, ref2}
        assert tables["approvals"] == [{"recovery_id": ref1, "guardian_id": "g1"}]
        assert tables["codes"] == [{"used_by": ref2}]
        assert [json.loads(row["detail"]) for row in tables["audit"]] == [
            {"recovery_id": ref2, "guardians": ["codes"]},
            {"passkey": "p"},
        ]
        assert "bearer-secret" not in json.dumps(tables)
        assert database.run_sync(lambda tx: recovery.load(tx, "bearer-secret-1")).id == ref1
    finally:
        database.close()


def test_the_registry_s_request_schemas_keep_their_quick_check() -> None:
    bodies = [e for e in ENDPOINTS.values() if e.request_schema is not None]
    assert bodies
    for endpoint in bodies:
        assert compile_check(endpoint.request_schema) is not None, endpoint.path
    entry = REGISTRY.entry_schema
    assert entry["properties"]["kind"] == {"enum": [*DEFAULT_KINDS.names(), CONTACT.name]}
    assert "test_contact: " in entry["description"]
    assert REGISTRY.approval_schema["description"].endswith(
        "; none for email, contact, test_contact (approved out of band, not sent)"
    )
