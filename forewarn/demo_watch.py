"""What the demo prints while it runs: each new ticket, its work order, its notices and each complaint, read from the
database (as any other process would see them), once a second."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

import psycopg
from rich.console import Console

log = logging.getLogger(__name__)

NEW_TICKETS = """
SELECT t.id, t.source, t.title, t.device_id, t.severity, t.created_at, t.department_id, t.owner_id,
       (SELECT min(w.id) FROM work_orders w WHERE w.ticket_id = t.id)
FROM tickets t WHERE t.id > %s AND t.created_at >= %s ORDER BY t.id
"""
NOTICES_BY_TICKET = """
SELECT coalesce(n.ticket_id, i.ticket_id), count(*) FILTER (WHERE n.resident_id IS NOT NULL), max(n.id)
FROM notices n LEFT JOIN incidents i ON i.id = n.incident_id
WHERE n.id > %s AND n.created_at >= %s GROUP BY 1 ORDER BY 1
"""
NEW_COMPLAINTS = """
SELECT c.id, c.resident_id, c.unit_id, c.category, c.folded, c.anticipated, c.ticket_id, c.lead_seconds
FROM complaints c WHERE c.id > %s AND c.received_at >= %s ORDER BY c.id
"""


class DemoWatch:
    def __init__(self, url: str, console: Console, *, since: datetime, interval_s: float = 1.0) -> None:
        self.url, self.console, self.since, self.interval_s = url, console, since, interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last = {"ticket": 0, "notice": 0, "complaint": 0}
        self.preventive_with_notices: set[int] = set()

    def start(self, *, stop_after_notices: threading.Event | None = None) -> None:
        self._done = stop_after_notices
        self._thread = threading.Thread(target=self._run, name="demo-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        preventive: dict[int, bool] = {}  # ticket id → has a work order
        while not self._stop.wait(self.interval_s):
            try:
                with psycopg.connect(self.url) as conn:
                    self._poll(conn, preventive)
            except psycopg.Error as exc:  # the demo goes on; the next poll tries again
                log.warning("demo watch: %s", exc)

    def _poll(self, conn: psycopg.Connection, preventive: dict[int, bool]) -> None:
        say = self.console.print
        for tid, source, title, device, severity, at, dept, owner, wo in conn.execute(
            NEW_TICKETS, (self._last["ticket"], self.since)
        ):
            self._last["ticket"] = tid
            stamp = at.astimezone().strftime("%H:%M:%S")
            if source == "preventive":
                preventive[tid] = wo is not None
                say(f"{stamp} [bold magenta]preventive ticket #{tid}[/bold magenta] {title} "
                    f"(device {device}, {severity}); owner {owner or '—'}")
                if wo is not None:
                    say(f"         [cyan]work order #{wo}[/cyan] → {dept} with the device evidence")
            else:
                say(f"{stamp} complaint ticket #{tid}: {title}")
        for tid, residents, last_id in conn.execute(NOTICES_BY_TICKET, (self._last["notice"], self.since)):
            self._last["notice"] = max(self._last["notice"], last_id)
            if residents:
                say(f"         [green]{residents} resident notice(s)[/green] for ticket #{tid}")
                if preventive.get(tid):
                    self.preventive_with_notices.add(tid)
        for cid, resident, unit, category, folded, anticipated, tid, lead in conn.execute(
            NEW_COMPLAINTS, (self._last["complaint"], self.since)
        ):
            self._last["complaint"] = cid
            how = f"folded into ticket #{tid}" if folded else f"new ticket #{tid}"
            ahead = ""
            if anticipated and lead is not None:
                ahead = f" — we knew {lead / 60:.0f} min before the resident told us"
            say(f"         complaint #{cid} from {resident} ({unit}, {category}): {how}{ahead}")
        if self._done is not None and self.preventive_with_notices:
            self._done.set()
