"""Announcements (issue #16 point 10): notices to a whole site or one building that are not about an incident — a
planned outage, a rectification notice, a rules or community notice.

An announcement is stored once (`announcements`) and fans out through the ordinary notice channel
(`tickets.notices.notify_residents`): one notice per current (active) resident of the target, with the dedupe key
`announcement:<id>`, so that a retry — or a second fan-out later — never gives anyone a second copy. The outbox
delivers them on each resident's own channel, keeping the quiet-hours policy. A resident who opens the notice in
the app records its read receipt (`mark_read`, once); `stats` counts recipients, delivered and read.

A refusal is an `AnnouncementRefused` whose `problem` (and `field`) say which rule refused it, so that a page can
say it in the reader's language; its message is the API's and the command line's English. A planned outage whose
end has passed is refused: it is announced before it is over (docs/announcements.md)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum

import psycopg
from psycopg.rows import class_row

from tickets.config import TicketConfig
from tickets.errors import InvalidInput, NotFound
from tickets.notices import ADDRESS, LANGUAGE, Recipient, format_time, notify_residents

MAX_TITLE = 200
MAX_BODY = 4000


class AnnouncementProblem(StrEnum):
    """Why an announcement was refused."""

    UNKNOWN_KIND = "unknown_kind"
    MISSING = "missing"  # `field`: the title or body left empty
    TOO_LONG = "too_long"  # `field`, with its `length` and the `limit`
    NO_TIMEZONE = "no_timezone"
    ENDS_BEFORE_START = "ends_before_start"
    NOT_AN_OUTAGE = "not_an_outage"  # start or end times on a kind that is not a planned outage
    OUTAGE_OVER = "outage_over"  # the outage's end has passed
    UNKNOWN_SITE = "unknown_site"
    UNKNOWN_BUILDING = "unknown_building"  # no such building, or not one of the site's


class AnnouncementRefused(InvalidInput):
    """An announcement that cannot be made as given; `field` is the text it concerns (title_zh, body_zh, title_en,
    body_en) where there is one."""

    def __init__(self, message: str, problem: AnnouncementProblem, *, field: str | None = None, length: int = 0,
                 limit: int = 0) -> None:
        super().__init__(message)
        self.problem, self.field, self.length, self.limit = problem, field, length, limit


class AnnouncementKind(StrEnum):
    PLANNED_OUTAGE = "planned_outage"  # 计划停水停电、电梯停运
    RECTIFICATION = "rectification"  # 整改通知
    COMMUNITY = "community"  # 管理规约、社区通知


@dataclass(frozen=True, slots=True)
class Announcement:
    id: int
    site_id: str
    building_id: str | None
    kind: str
    title_zh: str
    body_zh: str
    title_en: str
    body_en: str
    starts_at: datetime | None
    ends_at: datetime | None
    author: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Stats:
    """Per announcement: how many residents it was written for, how many have it delivered, and read."""

    recipients: int
    delivered: int
    read: int


_COLUMNS = ", ".join(f.name for f in fields(Announcement))

# The current residents of a site, or of one building of it.
_TARGET = f"""SELECT r.id, r.unit_id, {LANGUAGE}, r.channel, {ADDRESS}
              FROM residents r JOIN units u ON u.id = r.unit_id JOIN buildings b ON b.id = u.building_id
              WHERE r.active AND b.site_id = %(site)s AND (%(building)s::text IS NULL OR b.id = %(building)s)
              ORDER BY r.id"""

_STATS = """SELECT count(*), count(delivered_at), count(read_at) FROM notices
            WHERE dedupe_key = %s AND resident_id IS NOT NULL"""


def dedupe_key(announcement_id: int) -> str:
    return f"announcement:{announcement_id}"


def _text(value: str | None, field: str, name: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise AnnouncementRefused(f"an announcement needs {name}", AnnouncementProblem.MISSING, field=field)
    if len(text) > limit:
        raise AnnouncementRefused(f"{name} is {len(text)} characters; at most {limit}", AnnouncementProblem.TOO_LONG,
                                  field=field, length=len(text), limit=limit)
    return text


def _check_times(kind: str, starts_at: datetime | None, ends_at: datetime | None, now: datetime) -> None:
    """A planned outage's window: with a timezone, ending after it starts, and not over yet (`now`)."""
    for when in (starts_at, ends_at):
        if when is not None and when.tzinfo is None:
            raise AnnouncementRefused("give the outage's times with a timezone (e.g. 2026-12-05T09:00+08:00)",
                                      AnnouncementProblem.NO_TIMEZONE)
    if starts_at and ends_at and ends_at <= starts_at:
        raise AnnouncementRefused(f"the outage ends ({ends_at.isoformat()}) before it starts "
                                  f"({starts_at.isoformat()})", AnnouncementProblem.ENDS_BEFORE_START)
    if (starts_at or ends_at) and kind != AnnouncementKind.PLANNED_OUTAGE:
        raise AnnouncementRefused("start and end times belong to a planned outage (kind planned_outage)",
                                  AnnouncementProblem.NOT_AN_OUTAGE)
    if ends_at and ends_at <= now:
        raise AnnouncementRefused(f"the outage is over: it ended at {ends_at.isoformat()}; announce a planned outage "
                                  "before it ends, or tell residents what happened in a community notice without "
                                  "times", AnnouncementProblem.OUTAGE_OVER)


def create_announcement(
    conn: psycopg.Connection, *, site_id: str, building_id: str | None, kind: str, title_zh: str, body_zh: str,
    title_en: str | None = None, body_en: str | None = None, starts_at: datetime | None = None,
    ends_at: datetime | None = None, author: str, now: datetime, config: TicketConfig,
) -> tuple[Announcement, int]:
    """Store an announcement and write its notices (one per current resident of the target) in one transaction;
    returns it and how many notices were written. English text left out falls back to the Chinese. Raises
    `AnnouncementRefused` for what cannot be announced as given."""
    try:
        kind = AnnouncementKind(kind).value
    except ValueError:
        raise AnnouncementRefused(f"unknown kind {kind!r}: use one of {', '.join(k.value for k in AnnouncementKind)}",
                                  AnnouncementProblem.UNKNOWN_KIND) from None
    title_zh = _text(title_zh, "title_zh", "a Chinese title", MAX_TITLE)
    body_zh = _text(body_zh, "body_zh", "a Chinese body", MAX_BODY)
    title_en = _text(title_en, "title_en", "an English title", MAX_TITLE) if (title_en or "").strip() else title_zh
    body_en = _text(body_en, "body_en", "an English body", MAX_BODY) if (body_en or "").strip() else body_zh
    _check_times(kind, starts_at, ends_at, now)
    with conn.transaction():
        if conn.execute("SELECT 1 FROM sites WHERE id = %s", (site_id,)).fetchone() is None:
            raise AnnouncementRefused(f"unknown site {site_id!r}", AnnouncementProblem.UNKNOWN_SITE)
        if building_id is not None and conn.execute(
                "SELECT 1 FROM buildings WHERE id = %s AND site_id = %s", (building_id, site_id)).fetchone() is None:
            raise AnnouncementRefused(f"no building {building_id!r} at site {site_id!r}",
                                      AnnouncementProblem.UNKNOWN_BUILDING)
        with conn.cursor(row_factory=class_row(Announcement)) as cur:
            row = cur.execute(
                f"""INSERT INTO announcements (site_id, building_id, kind, title_zh, body_zh, title_en, body_en,
                        starts_at, ends_at, author, created_at)
                    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}""",
                (site_id, building_id, kind, title_zh, body_zh, title_en, body_en, starts_at, ends_at, author, now),
            ).fetchone()
        assert row is not None
        sent = fan_out(conn, row, now=now, config=config)
    return row, sent


def fan_out(conn: psycopg.Connection, announcement: Announcement, *, now: datetime, config: TicketConfig) -> int:
    """Write the announcement's notice for every current resident of its target who does not have it yet;
    returns how many were new (0 on a retry). Runs in the caller's transaction."""
    recipients = [Recipient(*row) for row in conn.execute(
        _TARGET, {"site": announcement.site_id, "building": announcement.building_id})]
    return notify_residents(
        conn, recipients, kind="announcement", dedupe_key=dedupe_key(announcement.id), now=now, config=config,
        title_zh=announcement.title_zh, body_zh=announcement.body_zh, title_en=announcement.title_en,
        body_en=announcement.body_en, when_zh=_when(announcement, "zh-CN", config),
        when_en=_when(announcement, "en", config))


def _when(a: Announcement, lang: str, config: TicketConfig) -> str:
    """A planned outage's times, appended to its body: "（时间：… 至 …）" / " (from … to …)"."""
    if a.starts_at is None and a.ends_at is None:
        return ""
    start, end = format_time(a.starts_at, config), format_time(a.ends_at, config)
    return f"（时间：{start} 至 {end}）" if lang == "zh-CN" else f" (from {start} to {end})"


def get_announcement(conn: psycopg.Connection, announcement_id: int) -> Announcement:
    with conn.cursor(row_factory=class_row(Announcement)) as cur:
        row = cur.execute(f"SELECT {_COLUMNS} FROM announcements WHERE id = %s", (announcement_id,)).fetchone()
    if row is None:
        raise NotFound(f"no announcement {announcement_id}")
    return row


def list_announcements(conn: psycopg.Connection, *, site_id: str | None = None,
                       limit: int = 50) -> list[Announcement]:
    """Newest first, of one site or all."""
    with conn.cursor(row_factory=class_row(Announcement)) as cur:
        return cur.execute(
            f"""SELECT {_COLUMNS} FROM announcements WHERE (%(site)s::text IS NULL OR site_id = %(site)s)
                ORDER BY id DESC LIMIT %(limit)s""", {"site": site_id, "limit": limit}).fetchall()


def stats(conn: psycopg.Connection, announcement_id: int) -> Stats:
    row = conn.execute(_STATS, (dedupe_key(announcement_id),)).fetchone()
    assert row is not None
    return Stats(int(row[0]), int(row[1]), int(row[2]))


def mark_read(conn: psycopg.Connection, resident_id: str, notice_id: int, now: datetime) -> bool:
    """The resident opened one of their delivered notices: its read receipt, recorded the first time only.
    True if this was the first time."""
    row = conn.execute(
        """UPDATE notices SET read_at = %s WHERE id = %s AND resident_id = %s AND delivered_at IS NOT NULL
               AND read_at IS NULL RETURNING id""", (now, notice_id, resident_id)).fetchone()
    return row is not None
