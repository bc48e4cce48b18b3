"""The outbox dispatcher: delivers due rows to their channels, with retries and exponential backoff.

Rows are claimed with `FOR UPDATE SKIP LOCKED`, so several dispatchers can run at once; each row's outcome is
committed right after its send, so a crash can repeat at most the message in flight (channels carry the outbox id
as an idempotency key for that case). A channel that fails is logged and retried; it never stops the others."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta

import psycopg
from psycopg.rows import class_row

from tickets.channels import Channel, OutboundMessage

log = logging.getLogger(__name__)

# Backoff: 30 s, 1, 2, 4 … minutes, capped at an hour; after MAX_ATTEMPTS the row is dead (kept, for operators).
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
MAX_ATTEMPTS = 12  # about 8 hours of retrying: a gateway outage longer than that needs a human anyway

_CLAIM = """SELECT o.id AS outbox_id, n.id AS notice_id, o.channel, o.address, n.resident_id, n.user_id, n.lang,
                   n.kind, n.title, n.body, n.critical, n.incident_id, n.ticket_id, n.created_at,
                   COALESCE(r.channel, u.notify_channel, 'app') AS medium, o.silent
            FROM outbox o JOIN notices n ON n.id = o.notice_id LEFT JOIN residents r ON r.id = n.resident_id
            LEFT JOIN users u ON u.id = n.user_id
            WHERE o.status = 'pending' AND o.next_attempt_at <= %s AND o.channel = ANY(%s)
            ORDER BY n.critical DESC, o.next_attempt_at, o.id
            LIMIT %s FOR UPDATE OF o SKIP LOCKED"""


# Outbox channels that exist only when configured (the SMS/WeChat gateway webhook, SMTP); in-app and the MQTT push
# topic always work. A notice for one that is not configured would otherwise stay pending for ever, unseen.
OPTIONAL_CHANNELS = frozenset({"webhook", "email"})

# A pending row for a channel nobody configured goes in-app instead (the resident reads it in the app or portal),
# saying why on the row; the next dispatch delivers it with the other in-app rows.
_FALL_BACK = """UPDATE outbox SET channel = 'in_app', last_error = 'channel ' || channel || ' is not configured; '
                                                                 'delivered in-app instead'
                WHERE status = 'pending' AND channel = ANY(%s)"""


# A notice is delivered when its first outbox row is: from then on the resident can see it (the API and pages show
# only delivered notices), and the anticipation figures count from this moment (tickets/anticipation.py).
# Locked in id order, so two dispatchers delivering rows of the same notices (an in-app copy and a held text) wait
# for each other instead of deadlocking.
_NOTICE_DELIVERED = """UPDATE notices SET delivered_at = %s
                       WHERE id IN (SELECT id FROM notices WHERE id = ANY(%s) AND delivered_at IS NULL
                                    ORDER BY id FOR UPDATE)"""


def backoff(attempts: int) -> timedelta:
    delay: timedelta = BACKOFF_BASE * (2 ** max(attempts - 1, 0))
    return min(delay, BACKOFF_CAP)


def dispatch(conn: psycopg.Connection, *, now: datetime, channels: Mapping[str, Channel], batch: int = 200,
             max_attempts: int = MAX_ATTEMPTS, unconfigured: Collection[str] = ()) -> int:
    """Deliver the outbox rows due at `now` on the given channels; returns how many were delivered.
    Call it with an idle connection: it commits as it goes. Rows for channels not given wait for a dispatcher
    that has them, except those of `unconfigured` channels (configured nowhere): they fall back to in-app."""
    delivered = 0
    if unconfigured:
        with conn.transaction():
            moved = conn.execute(_FALL_BACK, (list(unconfigured),)).rowcount
        if moved:
            log.warning("%d notices for unconfigured channels (%s) delivered in-app instead", moved,
                        ", ".join(sorted(unconfigured)))
    names = list(channels)
    while True:
        with conn.transaction(), conn.cursor(row_factory=class_row(OutboundMessage)) as cur:
            claimed = cur.execute(_CLAIM, (now, names, batch)).fetchall()
            if not claimed:
                return delivered
            in_app = [m.outbox_id for m in claimed if m.channel == "in_app"]
            external = [m for m in claimed if m.channel != "in_app"]
            if in_app:
                delivered += _deliver_in_app(conn, channels, claimed, in_app, now)
        sent = sum(_deliver_one(conn, channels[message.channel], message, now, max_attempts) for message in external)
        if sent:  # live pages show every delivered notice, whatever its channel
            with conn.transaction():
                conn.execute("SELECT pg_notify('forewarn_notices', %s)", (str(sent),))
        delivered += sent
        if len(claimed) < batch:
            return delivered


def _deliver_in_app(conn: psycopg.Connection, channels: Mapping[str, Channel], claimed: list[OutboundMessage],
                    ids: list[int], now: datetime) -> int:
    """In-app rows are delivered in one statement (storing is delivering); a NOTIFY wakes the SSE streams."""
    channel = channels["in_app"]
    for message in claimed:
        if message.channel == "in_app":
            channel.send(message)
    conn.execute("UPDATE outbox SET status = 'delivered', delivered_at = %s, attempts = attempts + 1 "
                 "WHERE id = ANY(%s)", (now, ids))
    conn.execute(_NOTICE_DELIVERED, (now, [m.notice_id for m in claimed if m.channel == "in_app"]))
    conn.execute("SELECT pg_notify('forewarn_notices', %s)", (str(len(ids)),))
    return len(ids)


def _deliver_one(conn: psycopg.Connection, channel: Channel, message: OutboundMessage, now: datetime,
                 max_attempts: int) -> int:
    """One external delivery in its own transaction, re-claiming the row so no other dispatcher sends it too."""
    with conn.transaction():
        row = conn.execute("SELECT attempts FROM outbox WHERE id = %s AND status = 'pending' FOR UPDATE SKIP LOCKED",
                           (message.outbox_id,)).fetchone()
        if row is None:
            return 0
        attempts = row[0] + 1
        try:
            channel.send(message)
        except Exception as exc:  # any channel failure is retried, logged, and kept on the row
            dead = attempts >= max_attempts
            log.warning("outbox %s via %s failed (attempt %s%s): %s", message.outbox_id, message.channel, attempts,
                        ", giving up" if dead else "", exc)
            conn.execute(
                """UPDATE outbox SET attempts = %s, last_error = %s, status = %s, next_attempt_at = %s WHERE id = %s""",
                (attempts, str(exc)[:1000], "dead" if dead else "pending", now + backoff(attempts), message.outbox_id),
            )
            return 0
        conn.execute("UPDATE outbox SET status = 'delivered', delivered_at = %s, attempts = %s WHERE id = %s",
                     (now, attempts, message.outbox_id))
        conn.execute(_NOTICE_DELIVERED, (now, [message.notice_id]))
        return 1
