"""Property-based API testing with schemathesis (issue #21, finding 12): for each role's token, generated requests
to every operation get no server error, only documented status codes and content types, and bodies that match
the OpenAPI schema. Against the live app on a real database (one per module, so earlier calls' rows are there
for later ones to find)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis.internal.conjecture import providers
from psycopg_pool import ConnectionPool
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.deps import AppState
from forewarn.db import open_pool

from .conftest import RESIDENT, bearer, role_tokens

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# 21 operations x 4 roles x this many examples: under a minute of CPU (12 examples took 45 s of CPU, 3 min of wall
# time on a loaded 2-core machine); enough to reach every documented constraint's edges (hypothesis tries them first).
MAX_EXAMPLES = 10


@pytest.fixture(scope="module")
def fuzz_target(pg_server) -> Iterator[tuple[FastAPI, dict[str, str]]]:
    name = pg_server.create_from("estate")
    url = pg_server.url_for(name)
    pool = open_pool(url, size=4)
    try:
        yield create_app(AppState(pool=pool, broker_check=lambda: True)), role_tokens(url)
    finally:
        pool.close()
        pg_server.drop(name)


# The schema comes from the app itself (no database needed to describe it); the calls go to `fuzz_target`'s app.
# The live notice stream stays open for up to max_seconds by design; it has its own tests.
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(AppState(pool=ConnectionPool("", open=False)))
).exclude(path="/api/v1/notices/stream")

fuzz = settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def _call(case: schemathesis.Case, target: tuple[FastAPI, dict[str, str]], role: str) -> None:
    case.call_and_validate(app=target[0], headers=bearer(target[1][role]), checks=CHECKS)


@schema.parametrize()
@fuzz
def test_as_a_resident(case: schemathesis.Case, fuzz_target: tuple[FastAPI, dict[str, str]]) -> None:
    _call(case, fuzz_target, "resident")


@schema.parametrize()
@fuzz
def test_as_an_agent(case: schemathesis.Case, fuzz_target: tuple[FastAPI, dict[str, str]]) -> None:
    _call(case, fuzz_target, "agent")


@schema.parametrize()
@fuzz
def test_as_an_engineer(case: schemathesis.Case, fuzz_target: tuple[FastAPI, dict[str, str]]) -> None:
    _call(case, fuzz_target, "engineer")


@schema.parametrize()
@fuzz
def test_as_a_manager(case: schemathesis.Case, fuzz_target: tuple[FastAPI, dict[str, str]]) -> None:
    _call(case, fuzz_target, "manager")


# Stateful: schemathesis links the operations by itself (a created complaint's id feeds the routes that read, rate,
# escalate or close it; a ticket's id the ticket routes), and runs sequences of calls, each checked as above.
# The mediation routes are left out of the engineer's and manager's machine (the stateless runs above and the
# desk's machine below still call them; tests/tickets/test_mediation.py checks what they do): their rules shifted
# the derandomized manager sequences onto a replay of GET /review/causes, whose rows persist between examples, and
# hypothesis stopped with FlakyStrategyDefinition. That is this machine's fragility (rows outlive an example), not
# the routes'; any new route can expose it.
StatefulBase = schema.exclude(path_regex=r"/mediation").as_state_machine()
# A resident's and an agent's sequences leave out the review routes: each answers them 403 (the stateless runs above
# check that), and their dozen rules crowded the chains that reach the seeded complaints out of 25 sequences. Linking
# a caller to a resident (POST /complaints/{id}/link) is left out for the same reason: its rule took the chains that
# read a complaint; the stateless runs call it and tests/tickets/test_api.py checks what it does.
DeskBase = schema.exclude(path_regex=r"^/api/v1/review|/link$").as_state_machine()
# Derandomized: the same sequences on every run, so that whether they reach the seeded rows does not vary by luck.
# 50 examples: with the pool of local constants pinned empty (below), 25 did not reach an id route as a resident.
STATEFUL = settings(max_examples=50, stateful_step_count=6, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck), database=None)


@pytest.fixture(scope="module")
def seeded_target(fuzz_target: tuple[FastAPI, dict[str, str]]) -> tuple[FastAPI, dict[str, str]]:
    """Rows for the sequences to start from: a resident's complaint about a lift (a ticket and a work order for
    engineering) and one an agent files for them by phone."""
    app, tokens = fuzz_target
    client = TestClient(app)
    for role, extra in (("resident", {}), ("agent", {"resident_id": RESIDENT, "channel": "phone"})):
        body = {"unit_id": "rs-b1-0101", "channel": "app", "description": "电梯门关不上，困在一楼",
                "reported_at": datetime.now(UTC).isoformat()} | extra
        answer = client.post("/api/v1/complaints", json=body, headers=bearer(tokens[role]))
        assert answer.status_code == 201, answer.text
    return fuzz_target


@pytest.mark.parametrize("role", ["resident", "agent", "engineer", "manager"])
def test_sequences_of_calls(role: str, seeded_target: tuple[FastAPI, dict[str, str]]) -> None:
    app, tokens = seeded_target
    answered: list[tuple[str, int]] = []

    base = DeskBase if role in ("resident", "agent") else StatefulBase

    class Workflow(base):  # type: ignore[misc, valid-type]
        def before_call(self, case: schemathesis.Case) -> None:
            case.headers = {**(case.headers or {}), **bearer(tokens[role])}

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
            return {"app": app}

        def validate_response(self, response: Any, case: schemathesis.Case,
                              additional_checks: object = None, **kwargs: object) -> None:
            answered.append((case.operation.path, response.status_code))
            case.validate_response(response, checks=CHECKS)

    # Hypothesis mixes the literals of every local module loaded so far into what it draws, so without this the
    # derandomized sequences change whenever any module is added to the project or collected before this test.
    with mock.patch.object(providers, "_get_local_constants", providers.Constants), \
            mock.patch.object(providers, "CONSTANTS_CACHE", type(providers.CONSTANTS_CACHE)(1024)):
        Workflow.run(settings=STATEFUL)
    assert any(200 <= status < 300 for _, status in answered), answered  # signed in: the calls were not all refused
    if role in ("resident", "agent"):  # who has complaints: the chains reached them (an id from a list, then read)
        assert any("{" in path and 200 <= status < 300 for path, status in answered), answered


def test_the_sequences_chain_what_the_api_creates_to_what_reads_and_changes_it() -> None:
    """The stateful runs above go somewhere: schemathesis found the links (one rule per link, named after it)."""
    links = [name for name in dir(StatefulBase) if name.startswith(("GET_", "POST_"))]
    assert any(name.startswith("POST_api_v1_complaints") and "complaint_id" in name for name in links), links
    assert any(name.startswith("GET_api_v1_tickets") and "transitions" in name for name in links), links
    assert len(links) >= 10, links
