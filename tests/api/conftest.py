"""Fixtures for the API tests: the real app on a real database, through Starlette's test client or served by
uvicorn on loopback as `forewarn run` serves it, and a token for each role."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import psycopg
import pytest
import uvicorn
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from api.app import create_app
from api.auth import Role, create_user, ensure_resident_user, issue_token
from api.deps import AppState
from api.guard import ApiLimits
from forewarn.db import open_pool
from forewarn.embedded import free_port, wait_for_port

RESIDENT = "r-00001"


@dataclass
class Api:
    """A running API: its base URL, pool and state."""

    url: str
    pool: ConnectionPool
    state: AppState
    http: httpx.Client


def role_tokens(url: str) -> dict[str, str]:
    """A token for a resident (r-00001), an agent, an engineer and a manager."""
    with psycopg.connect(url) as conn:
        staff = [("agent-t", Role.AGENT, "customer_service"), ("eng-t", Role.ENGINEER, "engineering"),
                 ("mgr-t", Role.MANAGER, "management")]
        tokens = {"resident": issue_token(conn, ensure_resident_user(conn, RESIDENT))}
        for user_id, role, department in staff:
            create_user(conn, user_id=user_id, name=user_id, role=role, department_id=department)
            tokens[role.value] = issue_token(conn, user_id)
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def tokens(estate_db_url: str) -> dict[str, str]:
    return role_tokens(estate_db_url)


@pytest.fixture
def client(estate_db_url: str) -> Iterator[TestClient]:
    pool = open_pool(estate_db_url, size=4)
    try:
        with TestClient(create_app(AppState(pool=pool, broker_check=lambda: True))) as c:
            yield c
    finally:
        pool.close()


def serve(url: str, *, pool_size: int, limits: ApiLimits) -> Iterator[Api]:
    """The app under uvicorn in a thread on a free loopback port, stopped afterwards."""
    pool = open_pool(url, size=pool_size)
    state = AppState(pool=pool, broker_check=lambda: True, limits=limits)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(state), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, name="test-api", daemon=True)
    thread.start()
    try:
        assert wait_for_port(port, 15), "uvicorn did not start"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            yield Api(f"http://127.0.0.1:{port}", pool, state, http)
    finally:
        server.should_exit = True
        thread.join(15)
        pool.close()


@pytest.fixture
def live_api(estate_db_url: str) -> Iterator[Api]:
    """The API served by uvicorn with a small pool (2), so that a few dozen clients saturate it."""
    yield from serve(estate_db_url, pool_size=2, limits=ApiLimits(workers=2, wait_s=0.3, max_waiting=64))
