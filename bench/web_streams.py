"""Live streams for `python -m bench.web`: many residents' `/live/stream` held open from one asyncio loop, and the
alarm → notice-on-a-stream timing. Every wait is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import UTC, datetime
from types import TracebackType

import httpx
import psycopg

from detectors.alarm import Alarm, AlarmState, Evidence, Severity
from tickets.flows import handle_alarm
from tickets.lifecycle import TicketEvent
from tickets.transitions import transition

STREAM_PATH = "/live/stream"
NOTICE_TIMEOUT_S = 10.0  # an alarm whose notice has not shown by then is counted as missed


class StreamPool:
    """`streams` = [(cookie, resident id)]: one SSE connection each, on one client, read by one task each."""

    def __init__(self, base: str, streams: list[tuple[str, str]]) -> None:
        self.base, self.streams = base, streams
        self.opened: set[int] = set()
        self.closed: set[int] = set()
        self.first_seen: dict[int, float] = {}  # incident id -> perf_counter when a stream first showed it
        self._news = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> StreamPool:
        limits = httpx.Limits(max_connections=len(self.streams) + 10, max_keepalive_connections=0)
        self._client = httpx.AsyncClient(base_url=self.base, limits=limits,
                                         timeout=httpx.Timeout(30, read=None))
        self._tasks = [asyncio.create_task(self._read(i, cookie)) for i, (cookie, _) in enumerate(self.streams)]
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await task
        if self._client is not None:
            await self._client.aclose()

    async def _read(self, index: int, cookie: str) -> None:
        assert self._client is not None
        try:
            async with self._client.stream("GET", STREAM_PATH, headers={"Cookie": cookie,
                                                                         "Accept": "text/event-stream"}) as response:
                if response.status_code != 200:
                    return
                self.opened.add(index)
                event = ""
                async for line in response.aiter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:") and event == "notice":
                        self._saw(line[5:].strip())
                    elif not line:
                        event = ""
        except httpx.HTTPError:
            pass
        finally:
            self.closed.add(index)

    def _saw(self, data: str) -> None:
        try:
            incident = json.loads(data).get("incident_id")
        except (ValueError, AttributeError):
            return
        if isinstance(incident, int) and incident not in self.first_seen:
            self.first_seen[incident] = time.perf_counter()
            self._news.set()

    def open_count(self) -> int:
        return len(self.opened - self.closed)

    async def wait_open(self, timeout: float) -> int:
        """Until every stream answered (or `timeout`); returns how many are open."""
        deadline = time.monotonic() + timeout
        while len(self.opened | self.closed) < len(self.streams) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self.open_count()

    async def seen(self, incident: int, timeout: float) -> float | None:
        """When a stream first showed a notice of `incident` (perf_counter), or None after `timeout`."""
        deadline = time.monotonic() + timeout
        while incident not in self.first_seen:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._news.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._news.wait(), left)
        return self.first_seen[incident]


def _alarm(device: str, state: AlarmState) -> Alarm:
    now = datetime.now(UTC)
    return Alarm(device_id=device, fault="bench_fault", state=state, severity=Severity.CRITICAL, since=now, ts=now,
                 detector="bench", evidence=Evidence("bench: timed alarm", metric="pressure_kpa", value=0.0))


def _raise(url: str, device: str) -> int | None:
    """Handle a raised alarm as ingest does (its own transaction, on the wall clock): the incident id."""
    with psycopg.connect(url) as conn:
        result = handle_alarm(conn, _alarm(device, AlarmState.RAISED), now=datetime.now(UTC))
        conn.commit()
    return result.incident_id


def _finish(url: str, device: str) -> None:
    """Clear the alarm and cancel its ticket, so the device's next alarm is a new incident that warns again."""
    with psycopg.connect(url) as conn:
        result = handle_alarm(conn, _alarm(device, AlarmState.CLEARED), now=datetime.now(UTC))
        if result.ticket_id is not None:
            transition(conn, result.ticket_id, TicketEvent.CANCEL, actor="bench", now=datetime.now(UTC),
                       note="bench round over")
        conn.commit()


def _devices_serving(url: str, residents: list[str]) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(
            """SELECT du.device_id FROM device_units du JOIN residents r ON r.unit_id = du.unit_id
               WHERE r.id = ANY(%s) GROUP BY du.device_id ORDER BY du.device_id""", (residents,))]


async def alarm_to_notice(url: str, streams: StreamPool, alarms: int) -> list[float]:
    """Milliseconds from handling each alarm to its notice on an open stream of a resident it affects."""
    devices = _devices_serving(url, [rid for _, rid in streams.streams])
    latencies: list[float] = []
    for i in range(alarms if devices else 0):
        device = devices[i % len(devices)]
        start = time.perf_counter()
        incident = await asyncio.to_thread(_raise, url, device)
        if incident is not None:
            shown = await streams.seen(incident, NOTICE_TIMEOUT_S)
            if shown is not None:
                latencies.append((shown - start) * 1000)
        await asyncio.to_thread(_finish, url, device)
    return latencies
