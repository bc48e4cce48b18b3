"""Browser tests against the real platform: a real PostgreSQL with the demo estate, a real Mosquitto, the whole
`forewarn.runtime.Platform` (ingest, scheduler, API with its lifespan) on a free loopback port, and the system's
chromium driven headless by Playwright.

Fixtures and helpers (for every page's tests):
- `browser` (session): chromium from /usr/bin/chromium. A machine without it FAILS the tests (never skips):
  `apt-get install chromium fonts-noto-cjk` (scripts/setup.sh does).
- `web` (module): a running `WebPlatform`: `web.url` (base address), `web.db_url`, `web.platform`.
  One platform serves a test module; each test makes its own accounts (`make_user`), so tests do not collide.
- `make_user(web, role, ...)`: a signed-in-able account with a password; for a resident, the user of a resident of
  the estate (a given one, or the first without an account).
- `signed_in_page(user)` (factory fixture): a new browser context and page with a live session for `user`
  (a session row and its cookie; the sign-in form itself is tested in test_signin.py).
- `screenshot(page, name)`: PNGs at 360 px and 1280 px wide in tests/web/screenshots/ (gitignored), for review.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from psycopg_pool import ConnectionPool

from api.auth import Role, create_user, ensure_resident_user
from api.web.accounts import Account, set_password
from api.web.delivery import CodeMessage
from api.web.sessions import SESSION_COOKIE, start_session
from detectors.alarm import Alarm, AlarmState, Evidence, Severity
from forewarn.embedded import free_port
from forewarn.runtime import Platform
from forewarn.settings import load_settings
from tests.conftest import Mosquitto, PgServer
from tickets.flows import handle_alarm

CHROMIUM = os.environ.get("FOREWARN_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
PASSWORD = "correct horse battery"  # every test account's password
WIDTHS = (360, 1280)
# The browser tests check what a page shows, not the API's back-pressure (tests/api/test_capacity.py does): on a
# loaded two-core CI box a page could wait past the default 0.5 s for a worker and get the busy page instead.
PAGE_WAIT_MS = 10_000
_serial = itertools.count(1)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no chromium at {CHROMIUM}: apt-get install -y chromium fonts-noto-cjk (scripts/setup.sh does)")
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@dataclass
class WebPlatform:
    platform: Platform
    db_url: str

    @property
    def url(self) -> str:
        s = self.platform.settings
        return f"http://{s.api_host}:{s.api_port}"


@contextmanager
def running_web(pg_server: PgServer, environ: dict[str, str] | None = None) -> Iterator[WebPlatform]:
    """A platform on a fresh copy of the demo estate, with its own broker, set up by `environ` (FOREWARN_…)."""
    name = pg_server.create_from("estate")
    db_url = pg_server.url_for(name)
    with tempfile.TemporaryDirectory(prefix="fw-web-") as workdir:
        broker = Mosquitto(Path(workdir))
        broker.start()
        settings = load_settings(environ=environ or {}, database_url=db_url, mqtt_url=broker.url,
                                 api_port=free_port(), data_dir=Path(workdir), secret_key="test-secret-for-web-tests",
                                 api_wait_ms=PAGE_WAIT_MS)
        platform = Platform(settings)
        try:
            platform.start()
            yield WebPlatform(platform, db_url)
        finally:
            platform.stop()
            broker.stop()
            pg_server.drop(name)


@pytest.fixture(scope="module")
def web(pg_server: PgServer) -> Iterator[WebPlatform]:
    with running_web(pg_server) as platform:
        yield platform


@dataclass(frozen=True)
class TestUser:
    __test__ = False  # not a test class for pytest
    user_id: str
    role: Role
    password: str
    resident_id: str | None = None
    unit_id: str | None = None


def make_user(web: WebPlatform, role: Role, *, resident_id: str | None = None, department_id: str | None = None,
              user_id: str | None = None, name: str | None = None) -> TestUser:
    """An account with the password `PASSWORD`. Staff get a fresh user id; a resident is the user of
    `resident_id`, or of the first resident who has no account yet."""
    with psycopg.connect(web.db_url) as conn:
        if role is Role.RESIDENT:
            if resident_id is None:
                row = conn.execute(
                    "SELECT r.id FROM residents r WHERE r.active AND NOT EXISTS "
                    "(SELECT 1 FROM users u WHERE u.resident_id = r.id) ORDER BY r.id LIMIT 1").fetchone()
                assert row is not None, "every resident of the estate already has an account"
                resident_id = row[0]
            uid = ensure_resident_user(conn, resident_id)
            unit = conn.execute("SELECT unit_id FROM residents WHERE id = %s", (resident_id,)).fetchone()[0]
        else:
            uid = user_id or f"{role.value}-{os.getpid()}-{next(_serial)}"
            dept = department_id or {Role.ENGINEER: "engineering", Role.AGENT: "customer_service"}.get(role)
            create_user(conn, user_id=uid, name=name or f"Test {role.value} {uid}", role=role, department_id=dept)
            unit = None
        set_password(conn, uid, PASSWORD)
    return TestUser(uid, role, PASSWORD, resident_id, unit)


def session_cookie(web: WebPlatform, user: TestUser) -> dict[str, str]:
    with psycopg.connect(web.db_url) as conn:
        session_id = start_session(conn, user.user_id, now=datetime.now(UTC), days=1, client="tests/web")
    return {"name": SESSION_COOKIE, "value": session_id, "url": web.url}


@pytest.fixture
def signed_in_page(browser: Browser, web: WebPlatform) -> Iterator[Callable[..., Page]]:
    """`signed_in_page(user, lang="zh-CN", width=360, height=800, mobile=False)` -> a Playwright page with a live
    session for `user`; `mobile` makes it a phone's browser (touch, the mobile viewport rules, a 2x screen)."""
    contexts: list[BrowserContext] = []

    def open_page(user: TestUser, lang: str = "zh-CN", width: int = 360, height: int = 800,
                  mobile: bool = False) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height}, locale=lang, base_url=web.url,
                                      is_mobile=mobile, has_touch=mobile, device_scale_factor=2 if mobile else 1)
        contexts.append(context)
        context.add_cookies([session_cookie(web, user), {"name": "lang", "value": lang, "url": web.url}])
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def anonymous_page(browser: Browser, web: WebPlatform) -> Iterator[Callable[..., Page]]:
    """`anonymous_page(lang="zh-CN")` -> a page of a visitor who is not signed in."""
    contexts: list[BrowserContext] = []

    def open_page(lang: str = "zh-CN", width: int = 360) -> Page:
        context = browser.new_context(viewport={"width": width, "height": 800}, locale=lang,
                                      base_url=web.url)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def own_grid(web: WebPlatform, engineer: TestUser, building: str) -> None:
    """Make `engineer` the engineering owner of the building's grid: its new work orders are theirs."""
    with psycopg.connect(web.db_url) as conn:
        conn.execute(
            """INSERT INTO grid_owners (grid, department_id, user_id)
               SELECT grid, 'engineering', %s FROM buildings WHERE id = %s
               ON CONFLICT (grid, department_id) DO UPDATE SET user_id = EXCLUDED.user_id""",
            (engineer.user_id, building))


def raise_alarm(web: WebPlatform, device: str, fault: str, now: datetime, *, severity: Severity = Severity.CRITICAL,
                summary: str = "pressure at zero for 90 s", detector: str = "water_rules",
                metric: str = "pressure_kpa", baseline: float | None = 320.0) -> int:
    """An alarm handed to the tickets side as the detectors do (abnormal for 2 minutes); returns the work order's
    id on its ticket."""
    alarm = Alarm(device_id=device, fault=fault, state=AlarmState.RAISED, severity=severity,
                  since=now - timedelta(minutes=2), ts=now, detector=detector,
                  evidence=Evidence(summary, metric=metric, value=0.0, baseline=baseline))
    with psycopg.connect(web.db_url) as conn:
        result = handle_alarm(conn, alarm, now=now)
        conn.commit()
        row = conn.execute("SELECT id FROM work_orders WHERE ticket_id = %s", (result.ticket_id,)).fetchone()
    assert row is not None
    return int(row[0])


def screenshot(page: Page, name: str) -> list[Path]:
    """Full-page PNGs of the current page at 360 px and 1280 px wide; returns their paths."""
    SCREENSHOTS.mkdir(exist_ok=True)
    paths = []
    original = page.viewport_size
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        path = SCREENSHOTS / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        paths.append(path)
    if original:
        page.set_viewport_size(original)
    return paths


class MemoryCodeSender:
    """A fake SMS/e-mail gateway (it would leave the machine): keeps what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[Account, CodeMessage]] = []

    def send(self, account: Account, message: CodeMessage) -> str | None:
        self.sent.append((account, message))
        return f"memory {account.user_id}"

    def last_code(self, user_id: str) -> str:
        for account, message in reversed(self.sent):
            if account.user_id == user_id:
                return message.code
        raise AssertionError(f"no code was sent to {user_id}; sent: {[a.user_id for a, _ in self.sent]}")


@pytest.fixture
def code_outbox(web: WebPlatform) -> Iterator[MemoryCodeSender]:
    """Codes the running platform sends, captured (instead of the log, when no gateway is configured)."""
    app = web.platform.api.server.config.app
    extras = app.state.forewarn.extras
    previous = extras.get("code_sender")
    extras["code_sender"] = sender = MemoryCodeSender()
    yield sender
    extras["code_sender"] = previous


@pytest.fixture
def desk(estate_db_url: str) -> Iterator[ConnectionPool]:
    """A pool on a fresh estate database with an agent and an engineer, for the desk's pages through the app."""
    pool = ConnectionPool(estate_db_url, min_size=1, max_size=4, open=True)
    with pool.connection() as conn:
        create_user(conn, user_id="agent-1", name="Agent Wang", role=Role.AGENT, department_id="customer_service")
        create_user(conn, user_id="eng-1", name="Engineer", role=Role.ENGINEER, department_id="engineering")
        conn.commit()
    yield pool
    pool.close()
