"""Property-based API testing with schemathesis (issue #21, finding 12): for each role's token, generated requests
to every operation get no server error, only documented status codes and content types, and bodies that match
the OpenAPI schema. Against the live app on a real database (one per module, so earlier calls' rows are there
for later ones to find)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
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

from .conftest import bearer, role_tokens

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
