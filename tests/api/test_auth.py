"""Token authentication and roles, through the real app and a real database."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role, create_user, ensure_resident_user, issue_token
from api.deps import AppState
from forewarn.db import open_pool


@pytest.fixture
def client(estate_db_url):
    pool = open_pool(estate_db_url, size=2)
    try:
        with TestClient(create_app(AppState(pool=pool, broker_check=lambda: True))) as c:
            yield c
    finally:
        pool.close()


def token_for(url: str, user_id: str, role: Role) -> str:
    with psycopg.connect(url) as conn:
        create_user(conn, user_id=user_id, name=user_id, role=role)
        return issue_token(conn, user_id)


def test_health_needs_no_token_and_readiness_checks_the_database(client):
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text


def test_routes_refuse_requests_without_a_valid_token(client):
    assert client.get("/api/v1/devices").status_code == 401
    assert client.get("/api/v1/devices", headers={"Authorization": "Bearer not-a-token"}).status_code == 401


def test_staff_see_devices_and_a_resident_does_not(client, estate_db_url):
    agent = token_for(estate_db_url, "agent-1", Role.AGENT)
    devices = client.get("/api/v1/devices", headers={"Authorization": f"Bearer {agent}"})
    assert devices.status_code == 200
    assert len(devices.json()) == 57
    with psycopg.connect(estate_db_url) as conn:
        user = ensure_resident_user(conn, "r-00001")
        resident = issue_token(conn, user)
    refused = client.get("/api/v1/devices", headers={"Authorization": f"Bearer {resident}"})
    assert refused.status_code == 403


def test_openapi_lists_the_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert "/healthz" in paths and "/api/v1/devices" in paths
