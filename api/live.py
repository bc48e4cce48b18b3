"""Live updates for every open stream of one API process, from ONE database LISTEN connection.

`LiveHub` holds one `psycopg.AsyncConnection` that runs `LISTEN forewarn_notices` and `LISTEN forewarn_events`
(application_name `forewarn-live-listen`) and a second one that loads rows (`forewarn-live-load`). Open streams
subscribe with the keys they may see (`resident:<id>`, `user:<id>`, `department:<id>`) and get an asyncio queue:
no thread and no polling per stream.

- `forewarn_notices` (sent by `tickets.outbox` when notices are delivered; the payload is not used): the hub loads
  the notices newer than the last it saw, once, and hands each to the subscribers of its resident or user; a
  resident's notice not yet delivered then is kept as pending and handed out when it is delivered.
- `forewarn_events` (sent by `tickets.events.notify_staff_event`; the payload is the contract, see there): handed
  as is to the subscribers of its `user_id` or `department_id`; the page fetches what changed.

The hub starts and stops with the app's lifespan (`api.app.create_app`). When the database connection drops it
reconnects with exponential backoff (0.5 s doubling to 30 s) and then loads what it missed. A subscriber that falls
more than `QUEUE_SIZE` events behind is ended (its browser reconnects with Last-Event-ID and catches up from the
database), so one slow client cannot hold memory or slow the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row

from api.auth import Principal, Role

log = logging.getLogger(__name__)

NOTICES_CHANNEL = "forewarn_notices"
EVENTS_CHANNEL = "forewarn_events"
LISTEN_APP_NAME = "forewarn-live-listen"
LOAD_APP_NAME = "forewarn-live-load"
QUEUE_SIZE = 1000  # events a subscriber may have waiting; far above a page's needs, small in memory
HEALTH_CHECK_S = 15.0  # with no notification for this long, ask the listening connection whether it is alive
BACKOFF_FIRST_S, BACKOFF_MAX_S = 0.5, 30.0
LOAD_BATCH = 5000  # notices loaded per query; an estate-wide outage notice is about one per household

# The notices newer than the hub's high-water mark, for the recipients someone is subscribed to. A resident's notice
# counts from its delivery (tickets.outbox sets delivered_at): one not yet delivered is not sent.
_NEW_NOTICES = """SELECT id, kind, lang, title, body, critical, incident_id, ticket_id, created_at, resident_id, user_id
                  FROM notices WHERE id > %(after)s AND id <= %(upto)s
                    AND (resident_id = ANY(%(residents)s) OR user_id = ANY(%(users)s))
                    AND (resident_id IS NULL OR delivered_at IS NOT NULL)
                  ORDER BY id LIMIT %(limit)s"""
# A resident's notice written but not yet delivered when a load passes its id (quiet hours, or the outbox's next
# round) is remembered as pending and pushed when it is delivered: delivery order is not id order.
_UNDELIVERED = """SELECT id FROM notices WHERE id > %(after)s AND id <= %(upto)s
                    AND resident_id IS NOT NULL AND delivered_at IS NULL"""
_NOW_DELIVERED = """SELECT id, kind, lang, title, body, critical, incident_id, ticket_id, created_at, resident_id,
                            user_id FROM notices WHERE id = ANY(%(ids)s) AND delivered_at IS NOT NULL ORDER BY id"""
PENDING_MAX = 100_000  # undelivered notices remembered; past it the oldest are forgotten (they stay on the page)
_MAX_NOTICE = "SELECT COALESCE(max(id), 0) AS id FROM notices"
# Fields of a notice as streams send it (without the recipient columns).
NOTICE_FIELDS = ("id", "kind", "lang", "title", "body", "critical", "incident_id", "ticket_id", "created_at")


@dataclass(frozen=True, slots=True)
class LiveEvent:
    kind: str  # "notice" or an event type such as "work_order"
    data: dict[str, Any]
    notice_id: int | None = None  # the SSE id (resumable with Last-Event-ID); events have none

    def sse(self) -> str:
        head = f"id: {self.notice_id}\n" if self.notice_id is not None else ""
        return f"{head}event: {self.kind}\ndata: {json.dumps(self.data, default=str, ensure_ascii=False)}\n\n"


END = LiveEvent("end", {})  # put on a queue to end its stream


@dataclass(eq=False)
class Subscriber:
    keys: frozenset[str]
    queue: asyncio.Queue[LiveEvent] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    ended: bool = False


def keys_for(user: Principal) -> frozenset[str]:
    """What a user may see live: a resident their own notices; staff their own notices and events, and their
    department's events."""
    if user.role is Role.RESIDENT:
        return frozenset({f"resident:{user.resident_id}"})
    keys = {f"user:{user.user_id}"}
    if user.department_id:
        keys.add(f"department:{user.department_id}")
    return frozenset(keys)


class LiveHub:
    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.connected = asyncio.Event()  # set while LISTENing
        self._seen = -1  # highest notice id loaded; -1 until the first connection reads it
        self._pending: dict[int, None] = {}  # residents' notices loaded before their delivery, oldest first
        self._load: psycopg.AsyncConnection[dict[str, Any]] | None = None  # while connected; streams' catch-up too
        self.reconnects = 0

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="live-hub")

    async def stop(self) -> None:
        self._stopping.set()
        for subscribers in list(self._subscribers.values()):
            for subscriber in list(subscribers):
                self._end(subscriber)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait_connected(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.connected.wait(), timeout)
        except TimeoutError:
            return False
        return True

    # -- subscribers -----------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def subscription(self, keys: Iterable[str]) -> AsyncIterator[Subscriber]:
        subscriber = Subscriber(frozenset(keys))
        for key in subscriber.keys:
            self._subscribers.setdefault(key, set()).add(subscriber)
        try:
            yield subscriber
        finally:
            for key in subscriber.keys:
                group = self._subscribers.get(key)
                if group is not None:
                    group.discard(subscriber)
                    if not group:
                        del self._subscribers[key]

    @property
    def subscriber_count(self) -> int:
        return len({s for group in self._subscribers.values() for s in group})

    def _end(self, subscriber: Subscriber) -> None:
        if subscriber.ended:
            return
        subscriber.ended = True
        while True:  # make room for the end marker
            try:
                subscriber.queue.put_nowait(END)
                return
            except asyncio.QueueFull:
                subscriber.queue.get_nowait()

    def _deliver(self, key: str, event: LiveEvent) -> None:
        for subscriber in list(self._subscribers.get(key, ())):
            if subscriber.ended:
                continue
            try:
                subscriber.queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("live stream %s fell %s events behind; ending it (it will resume)", key, QUEUE_SIZE)
                self._end(subscriber)

    # -- the connection ----------------------------------------------------------------------------------------

    async def _run(self) -> None:
        delay = BACKOFF_FIRST_S
        while not self._stopping.is_set():
            try:
                await self._listen()
            except (psycopg.Error, OSError) as exc:
                log.warning("live hub: database connection lost (%s); reconnecting in %.1f s", exc, delay)
            self.connected.clear()
            if self._stopping.is_set():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            delay = min(delay * 2, BACKOFF_MAX_S)
            self.reconnects += 1

    async def _listen(self) -> None:
        listen = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True,
                                                       application_name=LISTEN_APP_NAME)
        try:
            load = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True,
                                                         application_name=LOAD_APP_NAME, row_factory=dict_row)
            try:
                await listen.execute(f"LISTEN {NOTICES_CHANNEL}")
                await listen.execute(f"LISTEN {EVENTS_CHANNEL}")
                await self._load_notices(load)  # the first time: the high-water mark; after a drop: what was missed
                self._load = load
                self.connected.set()
                while not self._stopping.is_set():
                    got = False
                    async for notify in listen.notifies(timeout=HEALTH_CHECK_S):
                        got = True
                        if notify.channel == NOTICES_CHANNEL:
                            await self._load_notices(load)
                        else:
                            self._dispatch_event(notify.payload)
                    if not got:
                        await listen.execute("SELECT 1")  # raises if the connection is gone
            finally:
                self._load = None
                await load.close()
        finally:
            await listen.close()

    async def fetch(self, query: str, params: dict[str, Any]) -> list[dict[str, Any]] | None:
        """Rows of `query` on the hub's own loading connection, in the event loop: a stream's catch-up without a
        worker thread or a pooled connection (a thousand streams opening at once queued a thousand of each ahead
        of the pages). None while the hub is not connected: the caller reads from the pool instead."""
        load = self._load
        if load is None or load.closed:
            return None
        try:
            cursor = await load.execute(query, params)
            return await cursor.fetchall()
        except psycopg.OperationalError:
            return None

    async def _load_notices(self, load: psycopg.AsyncConnection[dict[str, Any]]) -> None:
        cursor = await load.execute(_MAX_NOTICE)
        row = await cursor.fetchone()
        upto = int(row["id"]) if row else 0
        if self._seen < 0:
            self._seen = upto
            return
        if self._pending:
            await self._load_delivered(load)
        if upto <= self._seen:
            return
        residents = [k.split(":", 1)[1] for k in self._subscribers if k.startswith("resident:")]
        users = [k.split(":", 1)[1] for k in self._subscribers if k.startswith("user:")]
        after = self._seen
        while after < upto and (residents or users):
            cursor = await load.execute(_NEW_NOTICES, {"after": after, "upto": upto, "residents": residents,
                                                       "users": users, "limit": LOAD_BATCH})
            rows = await cursor.fetchall()
            for notice in rows:
                self._fan_out(notice)
            if len(rows) < LOAD_BATCH:
                break
            after = int(rows[-1]["id"])
        cursor = await load.execute(_UNDELIVERED, {"after": self._seen, "upto": upto})
        for pending in await cursor.fetchall():
            self._pending[int(pending["id"])] = None
        while len(self._pending) > PENDING_MAX:
            del self._pending[next(iter(self._pending))]
        self._seen = upto

    async def _load_delivered(self, load: psycopg.AsyncConnection[dict[str, Any]]) -> None:
        """Push the pending notices that have been delivered since, and forget them."""
        ids = list(self._pending)
        for start in range(0, len(ids), LOAD_BATCH):
            cursor = await load.execute(_NOW_DELIVERED, {"ids": ids[start:start + LOAD_BATCH]})
            for notice in await cursor.fetchall():
                self._pending.pop(int(notice["id"]), None)
                self._fan_out(notice)

    def _fan_out(self, notice: dict[str, Any]) -> None:
        event = LiveEvent("notice", {name: notice[name] for name in NOTICE_FIELDS}, int(notice["id"]))
        if notice["resident_id"]:
            self._deliver(f"resident:{notice['resident_id']}", event)
        if notice["user_id"]:
            self._deliver(f"user:{notice['user_id']}", event)

    def _dispatch_event(self, payload: str) -> None:
        try:
            data = json.loads(payload)
            kind = str(data["type"])
        except (ValueError, KeyError, TypeError):
            log.warning("live hub: ignoring a %s payload that is not the documented JSON: %.200r", EVENTS_CHANNEL,
                        payload)
            return
        event = LiveEvent(kind, data)
        if data.get("user_id"):
            self._deliver(f"user:{data['user_id']}", event)
        if data.get("department_id"):
            self._deliver(f"department:{data['department_id']}", event)


async def stream_events(hub: LiveHub, subscriber: Subscriber, *, deadline: float,
                        catch_up: Any, after: int) -> AsyncIterator[str]:
    """The SSE text of one stream: `retry`, then the notices after `after` from `catch_up(after)` (an async
    callable returning notice dicts, at most 100 at a time), then live events until `deadline` (loop time)."""
    loop = asyncio.get_running_loop()
    yield "retry: 3000\n\n"
    caught_up: set[int] = set()  # sent while catching up: the hub may push them again
    while True:  # catch up from the database; the subscription is already open, so nothing falls in between
        rows: list[dict[str, Any]] = await catch_up(after)
        for notice in rows:
            after = int(notice["id"])
            caught_up.add(after)
            yield LiveEvent("notice", notice, after).sse()
        if len(rows) < 100:
            break
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return
        try:
            event = await asyncio.wait_for(subscriber.queue.get(), remaining)
        except TimeoutError:
            return
        if event is END:
            return
        if event.notice_id is not None:
            if event.notice_id in caught_up:
                continue  # already sent while catching up
            # An older id may come after a newer one (delivered later: quiet hours, the outbox's next round).
            after = max(after, event.notice_id)
        yield event.sse()

