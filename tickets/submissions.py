"""One complaint per submission. A client that did not hear the answer to a complaint it sent — a connection reset
after the server had filed it, a phone losing signal, a second tap on Send — sends it again under the same key, and
is answered with the first filing instead of a second ticket. The key is the client's (the API's `Idempotency-Key`
header, a hidden field of the resident's form) and belongs to the account that submits: two accounts never share
one. A key reused for a different complaint is refused, so that nobody is told "filed" about something that was
not. A key is remembered for `WINDOW`; a retry comes within seconds, a resubmitted page within minutes.

Callers run `earlier` and then `remember` inside the transaction that files the complaint: `earlier` takes a lock
on the key for that transaction, so two copies sent at once are filed once, the second answered after the first
commits."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

from tickets.errors import InvalidInput

WINDOW = timedelta(hours=24)
KEY_MAX = 255

_SQL_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 7))"
_SQL_FORGET = "DELETE FROM complaint_submissions WHERE submitter = %s AND key = %s AND created_at < %s"
_SQL_EARLIER = "SELECT fingerprint, answer FROM complaint_submissions WHERE submitter = %s AND key = %s"
_SQL_FORGET_ALL = "DELETE FROM complaint_submissions WHERE created_at < %s"
_SQL_REMEMBER = """INSERT INTO complaint_submissions (submitter, key, fingerprint, complaint_id, answer, created_at)
                   VALUES (%s, %s, %s, %s, %s, %s)"""


class KeyReused(InvalidInput):
    """The key was already used, by the same account, for a different complaint."""


@dataclass(frozen=True, slots=True)
class Submission:
    """Who submits, under which key, and a digest of what they submitted."""

    submitter: str
    key: str
    fingerprint: str


def submission(submitter: str, key: str, payload: Mapping[str, Any]) -> Submission:
    """A checked submission: the key is 1–255 visible ASCII characters (a UUID is the usual one)."""
    if not key or len(key) > KEY_MAX or not all(33 <= ord(c) <= 126 for c in key):
        raise InvalidInput(f"an idempotency key is 1-{KEY_MAX} visible ASCII characters without spaces "
                           f"(a UUID, for example), not {key[:40]!r}")
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return Submission(submitter, key, hashlib.sha256(text.encode("utf-8")).hexdigest())


def earlier(conn: psycopg.Connection, sub: Submission, now: datetime) -> dict[str, Any] | None:
    """The answer given to this submission the first time, or None when it is new. Locks the key until the caller's
    transaction ends. Raises `KeyReused` when the key was used for a different complaint."""
    conn.execute(_SQL_LOCK, (f"{sub.submitter}\x1f{sub.key}",))
    conn.execute(_SQL_FORGET, (sub.submitter, sub.key, now - WINDOW))
    row = conn.execute(_SQL_EARLIER, (sub.submitter, sub.key)).fetchone()
    if row is None:
        return None
    if row[0] != sub.fingerprint:
        raise KeyReused(f"idempotency key {sub.key!r} was already used for a different complaint: send a new "
                           "complaint under a new key")
    answer: dict[str, Any] = row[1]
    return answer


def remember(conn: psycopg.Connection, sub: Submission, complaint_id: int, answer: Mapping[str, Any],
             now: datetime) -> None:
    """Record the answer to a new submission (after `earlier` returned None, in the same transaction)."""
    conn.execute(_SQL_REMEMBER, (sub.submitter, sub.key, sub.fingerprint, complaint_id,
                                 json.dumps(dict(answer), default=str), now))


def forget_expired(conn: psycopg.Connection, now: datetime) -> int:
    """Delete the keys older than `WINDOW` (the scheduler's `submission-keys` job); returns how many. A key past its
    window answers nothing any more, so keeping it only grows the table."""
    return conn.execute(_SQL_FORGET_ALL, (now - WINDOW,)).rowcount
