"""Back-pressure (issue #21, findings 1 and 8): many concurrent clients never hang the API, a saturated pool or a
database that is down is answered 503 with Retry-After within a second, and service returns at once."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg

from .conftest import Api, bearer

CLIENT_TIMEOUT_S = 10.0  # a request still unanswered after this long has hung


def _timed_get(api: Api, path: str, token: str, http: httpx.Client | None = None) -> tuple[int, float, str | None]:
    http = http or api.http
    started = time.monotonic()
    try:
        response = http.get(path, headers=bearer(token), timeout=CLIENT_TIMEOUT_S)
    except httpx.TimeoutException:
        return 0, time.monotonic() - started, None
    return response.status_code, time.monotonic() - started, response.headers.get("retry-after")


def test_many_concurrent_clients_get_answers_or_a_quick_503_never_a_hang(live_api: Api, tokens):
    # 80 clients at once against a pool of 2 connections: before, requests queued for the 30 s pool timeout.
    with ThreadPoolExecutor(80) as clients, httpx.Client(base_url=live_api.url, limits=httpx.Limits(
            max_connections=80)) as http:
        results = list(clients.map(lambda _: _timed_get(live_api, "/api/v1/complaints", tokens["resident"], http),
                                   range(160)))
    statuses = [status for status, _, _ in results]
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(200) > 0
    assert all(retry is not None for status, _, retry in results if status == 503)
    slowest = max(elapsed for _, elapsed, _ in results)
    assert slowest < 5.0, f"slowest answer took {slowest:.1f} s"
    # And the API serves at once afterwards.
    status, elapsed, _ = _timed_get(live_api, "/api/v1/complaints", tokens["resident"])
    assert (status, elapsed < 1.0) == (200, True)


def test_a_held_pool_is_a_503_with_retry_after_within_a_second(live_api: Api, tokens):
    # A running service, as the page test below: a fresh server's first request also pays for its cold start (1.2 s
    # once in CI, with the 503 itself due after the 0.3 s pool wait), which is not what this measures.
    assert _timed_get(live_api, "/api/v1/complaints", tokens["resident"])[0] == 200
    held = [live_api.pool.getconn(), live_api.pool.getconn()]
    try:
        status, elapsed, retry = _timed_get(live_api, "/api/v1/complaints", tokens["resident"])
        assert (status, retry is not None) == (503, True)
        assert elapsed < 1.0
        assert live_api.http.get("/healthz", timeout=2).status_code == 200
    finally:
        for conn in held:
            live_api.pool.putconn(conn)
    assert _timed_get(live_api, "/api/v1/complaints", tokens["resident"])[0] == 200


def _set_database_down(admin_url: str, dbname: str, down: bool) -> None:
    """The database refuses new connections and its sessions are ended, as when the server stops."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {}").format(
            psycopg.sql.Identifier(dbname), psycopg.sql.SQL("false" if down else "true")))
        if down:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (dbname,))


def test_database_down_is_a_fast_503_and_service_returns_with_it(live_api: Api, tokens, pg_server, estate_db_url):
    dbname = psycopg.conninfo.conninfo_to_dict(estate_db_url)["dbname"]
    assert _timed_get(live_api, "/api/v1/complaints", tokens["resident"])[0] == 200
    _set_database_down(pg_server.admin_url, dbname, True)
    try:
        answers = [_timed_get(live_api, "/api/v1/complaints", tokens["resident"]) for _ in range(15)]
        assert {status for status, _, _ in answers} == {503}, answers
        assert max(elapsed for _, elapsed, _ in answers) < 1.0, answers
        assert all(retry for _, _, retry in answers)
        assert live_api.http.get("/healthz", timeout=2).status_code == 200
    finally:
        _set_database_down(pg_server.admin_url, dbname, False)
    returned = time.monotonic()
    while True:
        status, _, _ = _timed_get(live_api, "/api/v1/complaints", tokens["resident"])
        if status == 200:
            break
        assert time.monotonic() - returned < 5.0, "no full service within 5 s of the database's return"
        time.sleep(0.1)


def _page_cookie(url: str) -> dict[str, str]:
    """A signed-in resident's browser session, as the sign-in page makes it."""
    from datetime import UTC, datetime

    from api.auth import ensure_resident_user
    from api.web.sessions import SESSION_COOKIE, start_session

    from .conftest import RESIDENT

    with psycopg.connect(url) as conn:
        session = start_session(conn, ensure_resident_user(conn, RESIDENT), now=datetime.now(UTC), days=1)
    return {"Cookie": f"{SESSION_COOKIE}={session}"}


def _timed_page(http: httpx.Client, path: str, cookie: dict[str, str]) -> tuple[int, float, httpx.Response | None]:
    started = time.monotonic()
    try:
        response = http.get(path, headers=cookie, timeout=CLIENT_TIMEOUT_S)
    except httpx.TimeoutException:
        return 0, time.monotonic() - started, None
    return response.status_code, time.monotonic() - started, response


def test_a_page_with_the_pool_held_is_a_quick_busy_answer_not_a_hang(live_api: Api, estate_db_url):
    cookie = _page_cookie(estate_db_url)
    assert _timed_page(live_api.http, "/resident", cookie)[0] == 200
    held = [live_api.pool.getconn(), live_api.pool.getconn()]
    try:
        # Before, the page looked its user up on a connection of its own with the pool's 30 s timeout.
        status, elapsed, response = _timed_page(live_api.http, "/resident", cookie)
        assert status == 503 and response is not None and response.headers.get("retry-after"), status
        assert response.headers["content-type"].startswith("text/html")  # a page a browser shows, not JSON
        assert "请稍后" in response.text and "reload the page shortly" in response.text
        assert elapsed < 1.0
    finally:
        for conn in held:
            live_api.pool.putconn(conn)
    assert _timed_page(live_api.http, "/resident", cookie)[0] == 200


def test_many_concurrent_page_users_get_pages_or_a_quick_busy_page(live_api: Api, estate_db_url):
    # 40 browsers at once on a pool of 2: pages share the API's worker slots, so none waits for the pool's timeout.
    cookie = _page_cookie(estate_db_url)
    with ThreadPoolExecutor(40) as browsers, httpx.Client(base_url=live_api.url, limits=httpx.Limits(
            max_connections=40)) as http:
        results = list(browsers.map(lambda _: _timed_page(http, "/resident/report", cookie), range(120)))
    statuses = [status for status, _, _ in results]
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(200) > 0
    busy = [response for status, _, response in results if status == 503]
    assert all(r is not None and r.headers["content-type"].startswith("text/html") and r.headers.get("retry-after")
               for r in busy)
    slowest = max(elapsed for _, elapsed, _ in results)
    assert slowest < 5.0, f"slowest page took {slowest:.1f} s"
