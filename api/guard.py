"""Back-pressure and request limits, in front of every `/api/` route (issue #21, findings 1, 6 and 8).

- **Capacity:** at most `workers` requests are worked on at once (about the pool's size: more would only queue
  for connections, and dozens of threads contending for the GIL make every request slow); up to `max_waiting`
  more wait for a worker, each at most `wait_s`, in the event loop where waiting costs nothing. Past either
  bound, and when a connection cannot be had within `wait_s`, the answer is 503 with `Retry-After`, at once,
  instead of a queue that grows until clients time out.
- **Database down:** the first request that cannot get a connection probes the server; when it is unreachable the
  `DatabaseGate` closes and every request is answered 503 at once, except one probe request every
  `PROBE_INTERVAL_S`, whose success opens the gate again (service returns with the database, not after a timer).
- **Request size:** a body larger than `max_body_bytes` is refused (413) from its Content-Length before it is read,
  or as soon as the streamed body passes the limit; a body-carrying request without credentials is refused (401)
  before any of its body is read.

Pages share the worker slots and the database gate (a short bilingual 503 page when refused); health checks
(`/healthz`, `/readyz`), static files, live streams and the OpenAPI pages are never refused here.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from psycopg_pool import ConnectionPool, PoolTimeout

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# How often a request is let through to test a database that was found down. Half a second keeps the probe load
# negligible and puts service back well within a second of the database's return.
PROBE_INTERVAL_S = 0.5
# A probe connection must answer quickly: on loopback a live server accepts in milliseconds.
PROBE_CONNECT_TIMEOUT_S = 1
RETRY_AFTER_BUSY_S = 1
RETRY_AFTER_DOWN_S = 2
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
PROBE_FLAG = "forewarn_db_probe"  # set in the request's state when the gate lets it through as a probe


@dataclass(frozen=True, slots=True)
class ApiLimits:
    """The API's bounds; the composition root builds them from `Settings` (FOREWARN_API_*)."""

    workers: int = 8
    wait_s: float = 0.5
    max_waiting: int = 128
    max_body_bytes: int = 65_536


class DatabaseUnavailable(RuntimeError):
    """The database cannot serve this request now (saturated or down): the client should retry shortly."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DatabaseGate:
    """Remembers that the database is unreachable, so that requests are refused at once instead of each one
    waiting out the pool timeout; lets one probe request through every `PROBE_INTERVAL_S`."""

    def __init__(self, probe_interval_s: float = PROBE_INTERVAL_S) -> None:
        self._interval = probe_interval_s
        self._lock = threading.Lock()
        self._down = False
        self._next_probe = 0.0

    @property
    def down(self) -> bool:
        return self._down

    def admit(self) -> tuple[bool, bool]:
        """(admitted, as_probe) for a new request."""
        if not self._down:
            return True, False
        with self._lock:
            now = time.monotonic()
            if now >= self._next_probe:
                self._next_probe = now + self._interval
                return True, True
        return False, False

    def mark_up(self) -> None:
        if self._down:
            log.warning("the database is reachable again; the API serves requests")
        self._down = False

    def mark_down(self) -> None:
        with self._lock:
            if not self._down:
                log.warning("the database is unreachable; API requests are answered 503 until it returns")
            self._down = True
            self._next_probe = time.monotonic() + self._interval

    def diagnose(self, pool: ConnectionPool) -> bool:
        """After a connection could not be had or broke: is the server down? (A fresh connection decides, at most
        once per probe interval; while the gate is closed the answer is already known.)"""
        if self._down:
            return True
        with self._lock:
            now = time.monotonic()
            if now < self._next_probe:
                return False
            self._next_probe = now + self._interval
        try:
            conninfo = pool.conninfo() if callable(pool.conninfo) else pool.conninfo
            with psycopg.connect(conninfo, connect_timeout=PROBE_CONNECT_TIMEOUT_S) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error:
            self.mark_down()
            return True
        return False


# Served without a worker slot: health checks (an orchestrator must see a busy API as alive), static files, the
# API's own documentation, and live streams (async, holding no connection; they free a slot at once anyway).
_UNGUARDED = frozenset({"/healthz", "/readyz", "/docs", "/redoc", "/openapi.json"})
_UNGUARDED_PREFIXES = ("/static/", "/live/", "/docs/")
_BUSY_PAGE = ("<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><meta name=\"viewport\" "
              "content=\"width=device-width, initial-scale=1\"><title>请稍候 · Busy</title>"
              "<p>系统繁忙或正在恢复，请稍后刷新页面。</p>"
              "<p>Forewarn is busy or recovering; reload the page shortly.</p>")


def _json(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _busy_page(retry_after: int) -> HTMLResponse:
    return HTMLResponse(_BUSY_PAGE, status_code=503, headers={"Retry-After": str(retry_after)})


class RequestGuard:
    """Pure ASGI middleware (no buffering of responses, so live streams pass through untouched)."""

    def __init__(self, app: ASGIApp, limits: ApiLimits, gate: DatabaseGate) -> None:
        self.app = app
        self.limits = limits
        self.gate = gate
        self.waiting = 0  # requests waiting for a worker
        # One semaphore per event loop: the app is served by one loop in production, by several in tests.
        self._workers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = \
            weakref.WeakKeyDictionary()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope["path"]) if scope["type"] == "http" else ""
        if not path or path in _UNGUARDED or path.startswith(_UNGUARDED_PREFIXES):
            await self.app(scope, receive, send)
            return
        if not path.startswith("/api/"):
            await self._page(scope, receive, send)
            return
        refusal = self._refuse_early(scope)
        if refusal is None:
            admitted, probe = self.gate.admit()
            if not admitted:
                refusal = _json(503, "the database is unavailable; retry shortly",
                                {"Retry-After": str(RETRY_AFTER_DOWN_S)})
            elif probe:
                scope.setdefault("state", {})[PROBE_FLAG] = True
        if refusal is None and scope["method"] in _BODY_METHODS:
            body = await self._read_body(receive)
            if body is None:
                refusal = _json(413, f"the request body is larger than {self.limits.max_body_bytes} bytes")
            else:
                receive = _replay(body, receive)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self._work(scope, receive, send)

    async def _page(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A page shares the worker slots with the API (the same pool serves both): without them, fifty browsers
        put fifty threads on eight connections and the unlucky ones waited out the pool's 30 s timeout. Its body
        (a form, photos) is bounded by the page itself; its refusals are a short page, not JSON."""
        admitted, probe = self.gate.admit()
        if not admitted:
            await _busy_page(RETRY_AFTER_DOWN_S)(scope, receive, send)
            return
        if probe:
            scope.setdefault("state", {})[PROBE_FLAG] = True
        if self.waiting >= self.limits.max_waiting:
            await _busy_page(RETRY_AFTER_BUSY_S)(scope, receive, send)
            return
        await self._work(scope, receive, send, page=True)

    async def _work(self, scope: Scope, receive: Receive, send: Send, page: bool = False) -> None:
        """Run the request in a worker slot, held until its response starts (a stream frees it at once)."""
        slots = self._slots()
        self.waiting += 1
        try:
            await asyncio.wait_for(slots.acquire(), timeout=self.limits.wait_s)
        except TimeoutError:
            refusal = _busy_page(RETRY_AFTER_BUSY_S) if page else _json(
                503, "the API is at capacity; retry shortly", {"Retry-After": str(RETRY_AFTER_BUSY_S)})
            await refusal(scope, receive, send)
            return
        finally:
            self.waiting -= 1
        held = True

        async def send_and_release(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and held:
                held = False
                slots.release()
            await send(message)

        try:
            await self.app(scope, receive, send_and_release)
        finally:
            if held:
                slots.release()

    def _slots(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        slots = self._workers.get(loop)
        if slots is None:
            slots = self._workers[loop] = asyncio.Semaphore(self.limits.workers)
        return slots

    def _refuse_early(self, scope: Scope) -> JSONResponse | None:
        """A refusal that needs no body and no database: too busy, too large, or a body without credentials."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if scope["method"] in _BODY_METHODS:
            if "authorization" not in headers and "cookie" not in headers:
                return _json(401, "send 'Authorization: Bearer <token>'", {"WWW-Authenticate": "Bearer"})
            length = headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > self.limits.max_body_bytes):
                return _json(413, f"the request body is larger than {self.limits.max_body_bytes} bytes")
        if self.waiting >= self.limits.max_waiting:
            return _json(503, "the API is at capacity; retry shortly", {"Retry-After": str(RETRY_AFTER_BUSY_S)})
        return None

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it passes the limit (the rest is never read)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = bytes(message.get("body", b""))
            size += len(chunk)
            if size > self.limits.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def install(app: FastAPI, pool: ConnectionPool, limits: ApiLimits, gate: DatabaseGate) -> None:
    """Register the guard and the database-unavailable handlers on `app`, once."""

    def unavailable(request: Request, exc: Exception) -> JSONResponse | HTMLResponse:
        # A page answers with the short bilingual page, never with JSON a browser would show as raw text.
        page = not request.url.path.startswith("/api/")
        if isinstance(exc, DatabaseUnavailable):
            return _busy_page(exc.retry_after) if page else _json(503, str(exc), {"Retry-After": str(exc.retry_after)})
        if gate.diagnose(pool):
            return _busy_page(RETRY_AFTER_DOWN_S) if page else _json(
                503, "the database is unavailable; retry shortly", {"Retry-After": str(RETRY_AFTER_DOWN_S)})
        if isinstance(exc, PoolTimeout):
            return _busy_page(RETRY_AFTER_BUSY_S) if page else _json(
                503, "the API is at capacity; retry shortly", {"Retry-After": str(RETRY_AFTER_BUSY_S)})
        log.warning("database error on %s %s: %s", request.method, request.url.path, exc)
        return _busy_page(RETRY_AFTER_BUSY_S) if page else _json(
            503, "the database could not complete the request; retry shortly", {"Retry-After": str(RETRY_AFTER_BUSY_S)})

    for exc_class in (DatabaseUnavailable, PoolTimeout, psycopg.OperationalError):
        app.add_exception_handler(exc_class, unavailable)
    app.add_middleware(RequestGuard, limits=limits, gate=gate)

