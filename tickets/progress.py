"""Talking to the resident about their own request (issue #16 point 9; docs/lifecycle.md "The resident's own
request"): the acknowledgement quoting the ticket's real deadlines, one notice per meaningful step, and periodic
updates while a major ticket stays open.

Who hears: the residents whose requests are on the ticket (`complaints.ticket_id`), each on the channel they used
to file it (the app in-app, WeChat by WeChat, a phone call by SMS) unless they set a preferred channel
(`residents.preferred_channel`), or when that channel has no address for them, on their registered one.
Dates are the ticket's own deadlines (its SLA profile, tier and the working-day calendar), in the estate's time
zone and written the resident's way (zh-CN or en).

Exactly once: each notice's dedupe key names the ticket, the step and the ticket's version after the change (a
sequence: every state change bumps it), so the same step reached again (a reopened ticket resolved again) notifies
again, while running the same notice twice (a retry) finds the key taken and writes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg

from tickets import sla
from tickets.config import TicketConfig
from tickets.lifecycle import TicketEvent
from tickets.notices import LANGS, LANGUAGE, Recipient, notify_residents

E = TicketEvent

# Lifecycle event -> the resident's notice kind (templates in tickets/notices.py). The first dispatch happens in
# the same transaction as intake, before the request is on the ticket: the acknowledgement stands for it.
STEP_KIND = {E.DISPATCH: "step_dispatched", E.ACKNOWLEDGE: "step_accepted", E.ARRIVE: "step_on_site",
             E.WAIT_RESIDENT: "step_waiting", E.RESOLVE: "done", E.CLOSE: "step_closed", E.REOPEN: "step_reopened"}

# The request's channel (complaints.channel) -> the resident channel to answer on; None: their registered one.
_ANSWER_ON = {"app": "app", "wechat": "wechat", "phone": "sms", "counter": None, "email": "email",
              "hotline": "sms", "grid_visit": None, "committee_referral": None, "complaint_box": None}
# A channel that needs an address -> which of the resident's (tickets/preferences.py offers only those they have).
NEEDS_ADDRESS = {"sms": "phone", "wechat": "phone", "email": "email"}

# Everyone whose request is on the ticket, with the channel of their latest request on it.
_RAISERS = f"""SELECT DISTINCT ON (r.id) r.id, r.unit_id, {LANGUAGE}, r.channel, r.preferred_channel, c.channel,
                     r.phone, r.email
              FROM complaints c JOIN residents r ON r.id = c.resident_id
              WHERE c.ticket_id = %(ticket)s AND r.active AND (%(only)s::text IS NULL OR r.id = %(only)s)
              ORDER BY r.id, c.id DESC"""

_WEEKDAY = {"zh-CN": "一二三四五六日", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
_MONTH = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_STATUS = {"zh-CN": {"new": "已受理", "dispatched": "已派单", "acknowledged": "已接单", "on_site": "已到场处理",
                     "waiting_resident": "等待您的配合", "reopened": "重新处理"},
           "en": {"new": "received", "dispatched": "assigned", "acknowledged": "in hand", "on_site": "on site",
                  "waiting_resident": "waiting for you", "reopened": "reopened"}}


def status_text(state: str, lang: str) -> str:
    """A ticket's state in the resident's words and language (已派单 / assigned)."""
    return _STATUS.get(lang, _STATUS["zh-CN"]).get(state, state)


def local_time(at: datetime | None, lang: str, config: TicketConfig) -> str:
    """A deadline the resident's way, in the estate's time zone: 2026年10月9日（周五）18:00 / Fri 9 Oct 2026, 18:00."""
    if at is None:
        return "—"
    t = at.astimezone(config.tz)
    if lang == "en":
        return f"{_WEEKDAY['en'][t.weekday()]} {t.day} {_MONTH[t.month - 1]} {t.year}, {t:%H:%M}"
    return f"{t.year}年{t.month}月{t.day}日（周{_WEEKDAY['zh-CN'][t.weekday()]}）{t:%H:%M}"


def _recipient(row: tuple[Any, ...]) -> Recipient:
    resident_id, unit_id, lang, registered, preferred, used, phone, email = row
    channel = preferred or _ANSWER_ON.get(used) or registered
    addresses = {"phone": phone, "email": email}
    if channel in NEEDS_ADDRESS and not addresses[NEEDS_ADDRESS[channel]]:
        channel = registered  # no number or address for it: where they told us to reach them
    address = addresses[NEEDS_ADDRESS[channel]] if channel in NEEDS_ADDRESS else None
    return Recipient(resident_id, unit_id, lang, channel, address)


def raisers(conn: psycopg.Connection, ticket_id: int, resident_id: str | None = None) -> list[Recipient]:
    """The residents whose requests are on the ticket (or just `resident_id`), each on their answering channel."""
    return [_recipient(row) for row in conn.execute(_RAISERS, {"ticket": ticket_id, "only": resident_id})]


def _notify(conn: psycopg.Connection, recipients: list[Recipient], *, kind: str, key: str, now: datetime,
            config: TicketConfig, ticket: Any, critical: bool = False, **extra: Any) -> int:
    """One notice per recipient, with the ticket's dates and state written in each one's language."""
    return notify_residents(conn, recipients, kind=kind, dedupe_key=key, now=now, config=config, critical=critical,
                            ticket_id=ticket.id, ticket=ticket.id, localised=ticket_words(ticket, config), **extra)


def ticket_words(ticket: Any, config: TicketConfig) -> dict[str, dict[str, str]]:
    """A ticket's deadlines and state as a notice writes them, per language (`notify_residents`' `localised`)."""
    return {lang: {"eta": local_time(ticket.resolve_due, lang, config),
                   "respond": local_time(ticket.respond_due, lang, config),
                   "status": status_text(ticket.state, lang)} for lang in LANGS}


def acknowledge(conn: psycopg.Connection, ticket: Any, resident_id: str, complaint_id: int, *, now: datetime,
                config: TicketConfig) -> int:
    """The "received" notice for a new request: respond by and resolve by, from the ticket's own clocks. Critical,
    so quiet hours do not hold it: the resident has just written to us and is waiting for the answer."""
    return _notify(conn, raisers(conn, ticket.id, resident_id), kind="received",
                   key=f"complaint:{complaint_id}:received", now=now, config=config, ticket=ticket, critical=True)


def notify_step(conn: psycopg.Connection, ticket: Any, event: TicketEvent, *, now: datetime,
                config: TicketConfig, note: str = "") -> int:
    """The notice for one state change of the ticket to everyone whose request is on it (none for steps the
    resident does not need to hear about). `ticket` is the ticket as the change left it; `note` is the step's own
    words, which waiting for the resident passes on: what we need from them."""
    kind = STEP_KIND.get(event)
    if kind is None:
        return 0
    # "done" keeps its key of one per resolution (the return visit's invitation, tickets/visits.py).
    key = (f"ticket:{ticket.id}:done:{ticket.reopen_count}" if event is E.RESOLVE
           else f"ticket:{ticket.id}:{kind}:v{ticket.version}")
    return _notify(conn, raisers(conn, ticket.id), kind=kind, key=key, now=now, config=config, ticket=ticket,
                   text=note.strip().rstrip("。.;；"))


def notify_progress_report(conn: psycopg.Connection, ticket: Any, text: str, number: int, *, now: datetime,
                           config: TicketConfig) -> int:
    """Staff's `number`-th progress report on the ticket, in their words, to everyone whose request is on it: one
    notice per report (the key names the report)."""
    return _notify(conn, raisers(conn, ticket.id), kind="progress_report", key=f"ticket:{ticket.id}:report:{number}",
                   now=now, config=config, ticket=ticket, text=text)


# Major tickets still being worked on that someone raised, with what the update needs.
_OPEN_MAJOR = """SELECT t.id, t.state, t.version, t.created_at, t.respond_due, t.resolve_due, t.reopen_count
                 FROM tickets t
                 WHERE t.severity = 'major' AND t.state NOT IN ('resolved', 'closed', 'cancelled')
                   AND EXISTS (SELECT 1 FROM complaints c WHERE c.ticket_id = t.id)
                 ORDER BY t.id"""


class _Open:
    def __init__(self, row: tuple[Any, ...]) -> None:
        (self.id, self.state, self.version, self.created_at, self.respond_due, self.resolve_due,
         self.reopen_count) = row


def periods_open(created_at: datetime, now: datetime, every: timedelta, config: TicketConfig) -> int:
    """How many whole periods of `every` working time the ticket has been open at `now`."""
    return int(sla.working_time_between(created_at, now, config.tz) / every)


def progress_sweep(conn: psycopg.Connection, *, now: datetime, config: TicketConfig) -> int:
    """Send the raisers of every open major ticket a progress update once per `config.progress_every` of working
    time it has been open (the n-th period's key is taken once; a sweep that missed periods sends the current one
    only). Returns how many notices were written. Safe to run twice and concurrently (the dedupe keys)."""
    sent = 0
    with conn.transaction():
        for row in conn.execute(_OPEN_MAJOR).fetchall():
            ticket = _Open(row)
            period = periods_open(ticket.created_at, now, config.progress_every, config)
            if period < 1:
                continue
            sent += _notify(conn, raisers(conn, ticket.id), kind="progress",
                            key=f"ticket:{ticket.id}:progress:{period}", now=now, config=config, ticket=ticket)
    return sent
