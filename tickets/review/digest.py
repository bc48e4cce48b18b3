"""The staff's daily digest: what is open per department and owner, what has breached its deadline, what falls
due today (local day in the configured zone). Sent once a day at a set hour to the managers and the department
heads, in-app; exactly once even with two schedulers, because the day's row in `review_digests` is claimed in
one INSERT … ON CONFLICT DO NOTHING, in the same transaction as the notices."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

_LIVE = "t.state NOT IN ('resolved', 'closed', 'cancelled')"

OPEN_BY_OWNER = f"""
SELECT coalesce(t.department_id, '-'), coalesce(t.owner_id, '-'), count(*) FROM tickets t WHERE {_LIVE}
GROUP BY 1, 2 ORDER BY 1, 2"""

# Overdue: a live ticket past a deadline whose milestone is not met (tickets/milestones.py: an acknowledged major
# complaint nobody reached is still overdue on site); %(site)s NULL: every site (the digest), else one site (the
# manager's dashboard).
OVERDUE = f"""
SELECT t.id, t.title, t.department_id, t.owner_id,
       CASE WHEN t.respond_met_at IS NULL AND t.respond_due < %(now)s THEN 'respond' ELSE 'resolve' END,
       CASE WHEN t.respond_met_at IS NULL AND t.respond_due < %(now)s THEN t.respond_due ELSE t.resolve_due END
FROM tickets t
WHERE {_LIVE} AND t.sla_paused_at IS NULL AND (%(site)s::text IS NULL OR t.site_id = %(site)s)
  AND ((t.respond_met_at IS NULL AND t.respond_due < %(now)s) OR (t.resolve_met_at IS NULL AND t.resolve_due < %(now)s))
ORDER BY 6, 1"""

DUE_TODAY = f"""
SELECT t.id, t.title, t.department_id, t.owner_id, t.resolve_due FROM tickets t
WHERE {_LIVE} AND t.resolve_due >= %(now)s AND t.resolve_due < %(midnight)s ORDER BY t.resolve_due, t.id"""

RECIPIENTS = """
SELECT id FROM users WHERE active AND (role = 'manager'
    OR (role IN ('agent', 'engineer', 'supervisor') AND department_id IS NOT NULL AND supervisor_id IS NULL))
ORDER BY id"""

CLAIM = """INSERT INTO review_digests (digest_date, sent_at, recipients, body) VALUES (%s, %s, %s, %s)
ON CONFLICT (digest_date) DO NOTHING RETURNING digest_date"""

NOTIFY = """
WITH new AS (
    INSERT INTO notices (user_id, kind, lang, title, body, critical, dedupe_key, created_at)
    SELECT u, 'digest', 'zh-CN', %(title)s, %(body)s, false, %(key)s, %(now)s FROM unnest(%(users)s::text[]) u
    ON CONFLICT (user_id, dedupe_key) WHERE user_id IS NOT NULL DO NOTHING RETURNING id)
INSERT INTO outbox (notice_id, channel, next_attempt_at, created_at)
SELECT id, 'in_app', %(now)s, %(now)s FROM new"""


@dataclass(frozen=True, slots=True)
class DigestItem:
    ticket: int
    title: str
    department: str | None
    owner: str | None
    clock: str
    due: str


@dataclass(slots=True)
class Digest:
    day: date
    open_by_owner: list[tuple[str, str, int]] = field(default_factory=list)
    overdue: list[DigestItem] = field(default_factory=list)
    due_today: list[DigestItem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["day"] = self.day.isoformat()
        return out

    def text(self) -> str:
        lines = [f"{self.day.isoformat()} 每日简报 / daily digest",
                 f"超时 / overdue: {len(self.overdue)}"]
        lines += [f"  #{i.ticket} {i.title} ({i.department or '-'}/{i.owner or '-'}) {i.clock} {i.due}"
                  for i in self.overdue]
        lines.append(f"今日到期 / due today: {len(self.due_today)}")
        lines += [f"  #{i.ticket} {i.title} ({i.department or '-'}/{i.owner or '-'}) {i.due}" for i in self.due_today]
        lines.append("未结 / open (department/owner):")
        lines += [f"  {d}/{o}: {n}" for d, o, n in self.open_by_owner]
        return "\n".join(lines)


def list_overdue(conn: psycopg.Connection, *, now: datetime, tz: ZoneInfo, site: str | None = None,
                 ) -> list[DigestItem]:
    """The live tickets past a deadline at `now` (of one site, or of all), the longest overdue first."""
    return [DigestItem(i, title, d, o, clock, due.astimezone(tz).isoformat(timespec="minutes"))
            for i, title, d, o, clock, due in conn.execute(OVERDUE, {"now": now, "site": site}).fetchall()]


def build_digest(conn: psycopg.Connection, *, now: datetime, tz: ZoneInfo) -> Digest:
    local = now.astimezone(tz)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(), tz)
    params = {"now": now, "midnight": midnight}
    digest = Digest(local.date())
    digest.open_by_owner = [(d, o, int(n)) for d, o, n in conn.execute(OPEN_BY_OWNER).fetchall()]
    digest.overdue = list_overdue(conn, now=now, tz=tz)
    digest.due_today = [DigestItem(i, title, d, o, "resolve", due.astimezone(tz).isoformat(timespec="minutes"))
                        for i, title, d, o, due in conn.execute(DUE_TODAY, params).fetchall()]
    return digest


def send_daily_digest(conn: psycopg.Connection, *, now: datetime, tz: ZoneInfo, at: time) -> Digest | None:
    """Send today's digest if the local time is past `at` and nobody has sent it yet; returns it when this call
    sent it, else None. One transaction: the claim, the notices and their outbox rows."""
    local = now.astimezone(tz)
    if local.time() < at:
        return None
    with conn.transaction():
        digest = build_digest(conn, now=now, tz=tz)
        users = [r[0] for r in conn.execute(RECIPIENTS).fetchall()]
        if conn.execute(CLAIM, (digest.day, now, len(users), json.dumps(digest.as_dict()))).fetchone() is None:
            return None
        conn.execute(NOTIFY, {"title": f"每日简报 {digest.day.isoformat()} / daily digest", "body": digest.text(),
                              "key": f"digest:{digest.day.isoformat()}", "now": now, "users": users})
    return digest
