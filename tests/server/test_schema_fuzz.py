"""Schemathesis against the live server's /openapi.json: every operation, a few thousand
requests, schema-valid and schema-invalid. No answer may be a 5xx, and every answer must be
one the document declares: its status, its content type, its headers and its body schema.

Authenticated operations get a real session on about half of their requests (drawn with
the case), so the signed-in answers are checked as well as the 401s. A second test spoils a
copy of the document and checks that the same harness reports each spoilt part, so a green
run means the checks ran, not that they were never reached.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.server.conftest import start
from tests.server.helpers import Api, register
from tests.support.live_server import LiveServer
from vouch.server.routes import all_endpoints

# Examples per operation and generation mode: 15 operations with inputs x 2 modes x 60,
# about 1,800 requests, plus the few distinct requests the input-less ones allow. About a
# minute on a loaded two-core machine; PUT /api/guardians (its big schema) is the slowest.
EXAMPLES = 60


@schemathesis.check
def rejects_negative_data(ctx: Any, response: Any, case: Case[Any]) -> bool | None:
    """negative_data_rejection, with 413 counted as the rejection it is: a generated body
    past --max-body-bytes is refused for its size before its shape is read."""
    if response.status_code == 413:
        return None
    return negative_data_rejection(ctx, response, case)  # type: ignore[no-any-return]


CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    # A schema-invalid request must get a 4xx: the door and the document agree on shapes.
    rejects_negative_data,
]
# Not checked: positive_data_acceptance. A schema-valid body still names a challenge or a
# recovery that does not exist, which the server rightly refuses with a 400.
AUTHENTICATED = {(e.method, e.path) for e in all_endpoints() if e.authenticated}
HAS_INPUT = {
    (e.method, e.path) for e in all_endpoints() if e.request_schema is not None or e.authenticated
}
# Generating bodies for PUT /api/guardians and the recovery routes (deep, wide schemas) is
# slow, more so on a loaded machine: not a fault of the server, so too_slow is off. No
# example database: every operation runs through the same inner function, so one saved
# failure would be replayed against other operations (a failure prints its curl command).
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
Operation = APIOperation[Any, Any, Any, Any]


@dataclass
class Outcome:
    """What a run of the harness saw: requests per operation and mode, and the failures."""

    requests: dict[tuple[str, str], int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.requests.values())


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    """A server of its own (the fuzzer fills its database with junk) and a live session."""
    live = start(tmp_path_factory.mktemp("fuzz"))
    try:
        user = register(Api(live.url))
        yield live, user.session
    finally:
        live.stop()


def modes_for(operation: Operation) -> list[GenerationMode]:
    """Both modes, except for an operation with no input at all: nothing to make invalid."""
    if (operation.method.upper(), operation.path) in HAS_INPUT:
        return [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    return [GenerationMode.POSITIVE]


def explore(
    schema: BaseSchema, *, base_url: str, session: str, examples: int = EXAMPLES
) -> Outcome:
    outcome = Outcome()
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            outcome.failures.append(f"an operation of the document does not load: {result.err()}")
            continue
        operation = result.ok()
        for mode in modes_for(operation):
            count, failure = explore_one(
                operation, mode, base_url=base_url, session=session, examples=examples
            )
            outcome.requests[(operation.label, mode.value)] = count
            if failure is not None:
                outcome.failures.append(f"{operation.label} ({mode.value}):\n{failure}")
    return outcome


def explore_one(
    operation: Operation, mode: GenerationMode, *, base_url: str, session: str, examples: int
) -> tuple[int, str | None]:
    """Requests sent to `operation` in `mode`, and the report of what failed, if anything."""
    authenticated = (operation.method.upper(), operation.path) in AUTHENTICATED
    sent = 0

    @settings(SETTINGS, max_examples=examples)
    @given(
        case=operation.as_strategy(generation_mode=mode),
        signed_in=st.booleans() if authenticated else st.just(False),
    )
    def send(case: Case[Any], signed_in: bool) -> None:
        nonlocal sent
        sent += 1
        headers = {"Authorization": f"Bearer {session}"} if signed_in else None
        case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)

    try:
        send()
    except FailureGroup as failure:
        return sent, str(failure)
    return sent, None


def test_every_operation_answers_as_its_document_says(fuzzed: tuple[LiveServer, str]) -> None:
    live, session = fuzzed
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    outcome = explore(schema, base_url=live.url, session=session)
    assert not outcome.failures, "\n\n".join(outcome.failures) + _log_tail(live.log_path)
    operations = {label for label, _ in outcome.requests}
    assert operations == {f"{e.method} {e.path}" for e in all_endpoints()}
    assert all(count > 0 for count in outcome.requests.values()), outcome.requests
    assert outcome.total > 1500, outcome.requests
    print(f"{outcome.total} requests over {len(operations)} operations")  # shown with -s


def test_the_harness_reports_a_document_that_is_wrong(fuzzed: tuple[LiveServer, str]) -> None:
    """The same checks, on a copy of the document with a wrong response body, a missing
    status and a wrong content type: each is reported (and the session is really used, or
    the body schema of GET /api/session would never be reached)."""
    live, session = fuzzed
    document: dict[str, Any] = httpx.get(f"{live.url}/openapi.json").json()
    spoilt = copy.deepcopy(document)
    paths = spoilt["paths"]
    paths = {
        "/api/session": paths["/api/session"],
        "/api/recovery/start": paths["/api/recovery/start"],
        "/api/config": paths["/api/config"],
    }
    spoilt["paths"] = paths
    session_body = paths["/api/session"]["get"]["responses"]["200"]["content"]
    session_body["application/json"]["schema"]["required"].append("not_a_field")
    del paths["/api/recovery/start"]["post"]["responses"]["400"]
    config = paths["/api/config"]["get"]["responses"]["200"]["content"]
    config["text/plain"] = config.pop("application/json")
    schema = schemathesis.openapi.from_dict(spoilt)
    outcome = explore(schema, base_url=live.url, session=session, examples=10)
    report = "\n".join(outcome.failures)
    failed = {failure.split(" (")[0] for failure in outcome.failures}
    assert failed == {"GET /api/session", "POST /api/recovery/start", "GET /api/config"}, report
    assert "GET /api/session (positive)" in report
    assert "not_a_field" in report
    assert "Undocumented status code" in report
    assert "Undocumented Content-Type" in report


def _log_tail(path: Path) -> str:
    return "\n\nserver log (tail):\n" + path.read_text(errors="replace")[-4000:]
