"""Signed-in TestClients for the pages' tests that run the app in-process on a real database (the Chromium
journeys use `conftest.signed_in_page` instead): one home for the session cookie and the forms' CSRF token."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from api.app import create_app
from api.auth import ensure_resident_user
from api.deps import AppState
from api.web.sessions import SESSION_COOKIE, start_session

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def signed_in_client(pool: ConnectionPool, user_id: str | None = None) -> TestClient:
    """A client of a fresh app on `pool`, signed in as `user_id` (None: nobody); redirects are not followed, so a
    test sees them."""
    client = TestClient(create_app(AppState(pool=pool, broker_check=lambda: True)), follow_redirects=False)
    if user_id is not None:
        with pool.connection() as conn:
            client.cookies.set(SESSION_COOKIE, start_session(conn, user_id, now=datetime.now(UTC), days=1))
    return client


def resident_client(pool: ConnectionPool, resident_id: str) -> TestClient:
    """`signed_in_client` for the estate's resident `resident_id` (their account made if they have none)."""
    with pool.connection() as conn:
        user_id = ensure_resident_user(conn, resident_id)
    return signed_in_client(pool, user_id)


def token_in(html: str) -> str:
    """The CSRF token of the first form in `html`."""
    found = _CSRF.search(html)
    assert found is not None, "no form with a CSRF token on the page"
    return found.group(1)


def form_token(client: TestClient, path: str) -> str:
    """The CSRF token of the first form on the page at `path` (redirects followed)."""
    return token_in(client.get(path, follow_redirects=True).text)
