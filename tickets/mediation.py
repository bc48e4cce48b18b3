"""External mediation of a ticket (issue #16 point 6; handbook 003 §03 第三方调解介入: a dispute the estate cannot
settle with the resident, such as how a fee is shared or an illegal extension, is taken to the community residents'
committee or a professional mediator, so that the solution is lawful and both sides accept it).

`start_mediation` records who mediates and from when, and pauses the ticket's SLA clocks (`sla_paused_at`, which
the SLA sweep skips); `end_mediation` records the outcome and the agreement and resumes the clocks, moving the
respond and resolve deadlines by the paused time (working time for working-day limits), as resuming after waiting
on the resident does. Each writes a row on the ticket's timeline. At most one mediation is open per ticket.

Both tell the residents whose requests are on the ticket (the same raisers, channels, languages and outbox as the
other notices of their request, tickets/progress.py): the start names who mediates and that the time limits stand
still meanwhile (otherwise a resident watching the resolve-by date pass would think the request forgotten); the end
gives the outcome, with the agreement's text when there is one, and what happens next."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import psycopg
from psycopg.rows import class_row

from tickets.config import DEFAULT_CONFIG, TicketConfig
from tickets.errors import InvalidInput, NotFound
from tickets.lifecycle import TicketState
from tickets.notices import LANGS, notify_residents
from tickets.progress import raisers, ticket_words
from tickets.service import Ticket, add_event, get_ticket
from tickets.transitions import resume_clocks


class PartyKind(StrEnum):
    RESIDENTS_COMMITTEE = "residents_committee"  # 社区居委会 (003 §03)
    OWNERS_COMMITTEE = "owners_committee"  # 业主委员会 (业委会)
    MEDIATOR = "mediator"  # 专业调解机构 / 人民调解员 (003 §03)
    STREET_OFFICE = "street_office"  # 街道办事处
    OTHER = "other"


class Outcome(StrEnum):
    AGREED = "agreed"  # 达成协议
    NOT_AGREED = "not_agreed"  # 未达成协议
    WITHDRAWN = "withdrawn"  # 撤回调解


# Short names an operator types (`--party committee`).
PARTY_ALIASES = {"committee": PartyKind.RESIDENTS_COMMITTEE, "居委会": PartyKind.RESIDENTS_COMMITTEE,
                 "业委会": PartyKind.OWNERS_COMMITTEE, "street": PartyKind.STREET_OFFICE,
                 "街道": PartyKind.STREET_OFFICE, "调解员": PartyKind.MEDIATOR}
# A ticket still being worked on may be mediated; not one resolved, closed, cancelled, or waiting on the resident
# (resume it first: one pause at a time, so that each paused minute is counted once).
MEDIATABLE = frozenset({TicketState.NEW, TicketState.DISPATCHED, TicketState.ACKNOWLEDGED, TicketState.ON_SITE,
                        TicketState.REOPENED})


CLOCK_SKEW = timedelta(minutes=5)  # a caller's clock a little ahead of ours is not "the future"

# --- What the residents are told ----------------------------------------------------------------------------------

# The party, as the resident reads it (the staff's name for it follows in brackets).
PARTY_WORDS = {
    "zh-CN": {PartyKind.RESIDENTS_COMMITTEE: "社区居委会", PartyKind.OWNERS_COMMITTEE: "业主委员会",
              PartyKind.MEDIATOR: "专业调解机构", PartyKind.STREET_OFFICE: "街道办事处",
              PartyKind.OTHER: "第三方调解方"},
    "en": {PartyKind.RESIDENTS_COMMITTEE: "the community residents' committee",
           PartyKind.OWNERS_COMMITTEE: "the owners' committee", PartyKind.MEDIATOR: "a professional mediator",
           PartyKind.STREET_OFFICE: "the street office", PartyKind.OTHER: "an independent third party"},
}
# How it ended. Fields: party, name, agreement.
OUTCOME_WORDS = {
    "zh-CN": {Outcome.AGREED: "经{party}（{name}）调解，双方已达成协议：{agreement}。我们将按协议落实。",
              Outcome.NOT_AGREED: "经{party}（{name}）调解，双方未能达成协议。我们将继续处理您的请求，并与您保持沟通。",
              Outcome.WITHDRAWN: "调解已撤回，我们将继续处理您的请求。"},
    "en": {Outcome.AGREED: "With the help of {party} ({name}) an agreement was reached: {agreement}. We will carry "
                           "it out.",
           Outcome.NOT_AGREED: "No agreement could be reached through {party} ({name}). We will go on with "
                               "your request and keep in touch with you.",
           Outcome.WITHDRAWN: "The mediation was withdrawn; we will go on with your request."},
}
# What the clocks do now: running again (with the moved resolve-by date), still paused for the resident's reply,
# or nothing to say (the request was resolved, closed or withdrawn meanwhile).
NEXT_WORDS = {
    "zh-CN": {"running": "处理时限恢复计算，预计{eta}前处理完毕。", "waiting": "在您回复我们之前，处理时限仍暂停计算。",
              "over": "感谢您的理解与配合。"},
    "en": {"running": " The time limits run again: we aim to resolve it by {eta}.",
           "waiting": " The time limits stay paused until you reply to us.", "over": " Thank you for your patience."},
}


class MediationConflict(RuntimeError):
    """A mediation that cannot start or end given the ticket's state (one already open, none open, resolved)."""


@dataclass(slots=True)
class Mediation:
    id: int
    ticket_id: int
    party_kind: str
    party_name: str
    started_at: datetime
    ended_at: datetime | None
    outcome: str | None
    agreement: str
    note: str
    recorded_by: str | None
    ended_by: str | None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_COLUMNS = ", ".join(f.name for f in fields(Mediation))


def party_kind(text: str) -> PartyKind:
    """A party kind from its name or a short alias; InvalidInput naming the accepted ones otherwise."""
    key = text.strip().lower()
    if key in PARTY_ALIASES:
        return PARTY_ALIASES[key]
    try:
        return PartyKind(key)
    except ValueError:
        names = [k.value for k in PartyKind] + sorted(PARTY_ALIASES)
        raise InvalidInput(f"party {text!r} is not one of: {', '.join(names)}") from None


def outcome_of(text: str) -> Outcome:
    try:
        return Outcome(text.strip().lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        raise InvalidInput(f"outcome {text!r} is not one of: {', '.join(o.value for o in Outcome)}") from None


def _check_time(at: datetime, now: datetime, what: str) -> None:
    if at.tzinfo is None:
        raise InvalidInput(f"the {what} time needs a time zone (e.g. 2026-12-01T09:00+08:00)")
    if at > now + CLOCK_SKEW:
        raise InvalidInput(f"the {what} time {at.isoformat()} is in the future")


def _check_user(conn: psycopg.Connection, user_id: str | None) -> None:
    if user_id is not None and conn.execute("SELECT 1 FROM users WHERE id = %s", (user_id,)).fetchone() is None:
        raise InvalidInput(f"no user {user_id!r}")


def _open(conn: psycopg.Connection, ticket_id: int) -> Mediation | None:
    with conn.cursor(row_factory=class_row(Mediation)) as cur:
        return cur.execute(f"SELECT {_COLUMNS} FROM mediations WHERE ticket_id = %s AND ended_at IS NULL",
                           (ticket_id,)).fetchone()


def start_mediation(
    conn: psycopg.Connection, ticket_id: int, *, party: PartyKind | str, name: str, now: datetime,
    at: datetime | None = None, by: str | None = None, note: str = "", config: TicketConfig = DEFAULT_CONFIG,
) -> Mediation:
    """Open a mediation of the ticket by `party` (`name`: the committee or mediator) from `at` (default `now`),
    pause its SLA clocks from then and tell the residents whose requests are on it (`note` is the staff's own and
    stays off the notice). Raises MediationConflict if one is already open or the ticket is not being worked on,
    InvalidInput for a bad party, name or time, NotFound for an unknown ticket."""
    kind = party if isinstance(party, PartyKind) else party_kind(party)
    if not name.strip():
        raise InvalidInput("name the mediating party (e.g. 滨江社区居委会)")
    started = at or now
    _check_time(started, now, "start")
    with conn.transaction():
        _check_user(conn, by)
        ticket = get_ticket(conn, ticket_id, lock=True)
        if _open(conn, ticket_id) is not None:
            raise MediationConflict(f"ticket {ticket_id} already has an open mediation; end it first")
        if ticket.state not in MEDIATABLE:
            raise MediationConflict(f"ticket {ticket_id} is {ticket.state}: only a ticket still being worked on "
                                    "can go to mediation" + (" (resume it first)" if ticket.state ==
                                                            TicketState.WAITING_RESIDENT else ""))
        if started < ticket.created_at:
            raise InvalidInput(f"the start time {started.isoformat()} is before the ticket was opened")
        with conn.cursor(row_factory=class_row(Mediation)) as cur:
            row = cur.execute(
                f"""INSERT INTO mediations (ticket_id, party_kind, party_name, started_at, note, recorded_by)
                    VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}""",
                (ticket_id, kind.value, name.strip(), started, note, by),
            ).fetchone()
        assert row is not None
        conn.execute("UPDATE tickets SET sla_paused_at = %s, version = version + 1 WHERE id = %s",
                     (started, ticket_id))
        add_event(conn, ticket_id, "mediation_started", at=now, actor=by, note=f"{kind.value}: {name.strip()}",
                  detail={"mediation_id": row.id, "party_kind": kind.value, "party_name": row.party_name,
                          "started_at": started, "note": note})
        notify_started(conn, get_ticket(conn, ticket_id), row, now=now, config=config)
        return row


def end_mediation(
    conn: psycopg.Connection, ticket_id: int, *, outcome: Outcome | str, agreement: str = "", now: datetime,
    at: datetime | None = None, by: str | None = None, config: TicketConfig = DEFAULT_CONFIG,
) -> Mediation:
    """Close the ticket's open mediation at `at` (default `now`) with its outcome and agreement, resume the
    clocks (the deadlines move by the time paused) and tell the residents whose requests are on it. An agreed
    outcome needs the agreement's text. Raises MediationConflict if none is open, InvalidInput for a bad outcome
    or time."""
    result = outcome if isinstance(outcome, Outcome) else outcome_of(outcome)
    if result is Outcome.AGREED and not agreement.strip():
        raise InvalidInput("an agreed mediation needs the agreement: what the parties agreed to")
    ended = at or now
    _check_time(ended, now, "end")
    with conn.transaction():
        _check_user(conn, by)
        ticket = get_ticket(conn, ticket_id, lock=True)
        open_one = _open(conn, ticket_id)
        if open_one is None:
            raise MediationConflict(f"ticket {ticket_id} has no open mediation to end")
        if ended < open_one.started_at:
            raise InvalidInput(f"the end time {ended.isoformat()} is before the mediation started "
                               f"({open_one.started_at.isoformat()})")
        with conn.cursor(row_factory=class_row(Mediation)) as cur:
            row = cur.execute(
                f"""UPDATE mediations SET ended_at = %s, outcome = %s, agreement = %s, ended_by = %s
                    WHERE id = %s RETURNING {_COLUMNS}""",
                (ended, result.value, agreement.strip(), by, open_one.id),
            ).fetchone()
        assert row is not None
        moved: dict[str, object] = {}
        if ticket.sla_paused_at is not None:  # a cancelled ticket has no clocks left to resume
            moved = resume_clocks(ticket, ended, config)
            if ticket.state == TicketState.WAITING_RESIDENT:  # still waiting on the resident: paused from here on
                moved["sla_paused_at"] = ended
            conn.execute("""UPDATE tickets SET sla_paused_at = %(sla_paused_at)s, respond_due = %(respond_due)s,
                                resolve_due = %(resolve_due)s, respond_from = %(respond_from)s,
                                resolve_from = %(resolve_from)s, version = version + 1 WHERE id = %(id)s""",
                         moved | {"id": ticket_id})
        add_event(conn, ticket_id, "mediation_ended", at=now, actor=by,
                  note=f"{result.value}: {agreement.strip()[:200]}" if agreement.strip() else result.value,
                  detail={"mediation_id": row.id, "party_kind": row.party_kind, "party_name": row.party_name,
                          "started_at": row.started_at, "ended_at": ended, "outcome": result.value,
                          "agreement": row.agreement, "respond_due": moved.get("respond_due"),
                          "resolve_due": moved.get("resolve_due")})
        notify_ended(conn, get_ticket(conn, ticket_id), row, now=now, config=config)
        return row


def notify_started(conn: psycopg.Connection, ticket: Ticket, mediation: Mediation, *, now: datetime,
                   config: TicketConfig = DEFAULT_CONFIG) -> int:
    """Tell everyone whose request is on the ticket that it went to mediation, with whom, and that its time limits
    are paused meanwhile; once per mediation (the key names it). Returns how many notices were written."""
    return _notify(conn, ticket, mediation, "mediation_started", now=now, config=config)


def notify_ended(conn: psycopg.Connection, ticket: Ticket, mediation: Mediation, *, now: datetime,
                 config: TicketConfig = DEFAULT_CONFIG) -> int:
    """Tell everyone whose request is on the ticket how its mediation ended (the agreement, when there is one) and
    what happens next; `ticket` is the ticket as the end left it (its moved deadlines). Once per mediation."""
    assert mediation.outcome is not None, "only an ended mediation has an outcome to tell"
    outcome = Outcome(mediation.outcome)
    phase = ("running" if ticket.state in MEDIATABLE else
             "waiting" if ticket.state == TicketState.WAITING_RESIDENT else "over")
    return _notify(conn, ticket, mediation, "mediation_ended", now=now, config=config, words={
        lang: {"outcome": OUTCOME_WORDS[lang][outcome], "next": NEXT_WORDS[lang][phase]} for lang in LANGS})


def _notify(conn: psycopg.Connection, ticket: Ticket, mediation: Mediation, kind: str, *, now: datetime,
            config: TicketConfig, words: dict[str, dict[str, str]] | None = None) -> int:
    """One notice of `kind` per raiser of the ticket, in each one's language: the party in the resident's words,
    the ticket's dates (`ticket_words`) and `words` (sentences with the same fields, filled in here)."""
    dates = ticket_words(ticket, config)
    localised: dict[str, dict[str, str]] = {}
    for lang in LANGS:
        fields = dates[lang] | {"party": PARTY_WORDS[lang][PartyKind(mediation.party_kind)],
                                "name": mediation.party_name, "agreement": mediation.agreement.rstrip("。.;；")}
        localised[lang] = fields | {key: text.format(**fields) for key, text in (words or {}).get(lang, {}).items()}
    return notify_residents(conn, raisers(conn, ticket.id), kind=kind, now=now, config=config,
                            dedupe_key=f"ticket:{ticket.id}:{kind}:{mediation.id}", ticket_id=ticket.id,
                            ticket=ticket.id, localised=localised)


def mediations(conn: psycopg.Connection, ticket_id: int) -> list[Mediation]:
    """The ticket's mediations, oldest first; NotFound for an unknown ticket."""
    if conn.execute("SELECT 1 FROM tickets WHERE id = %s", (ticket_id,)).fetchone() is None:
        raise NotFound(f"no ticket {ticket_id}")
    with conn.cursor(row_factory=class_row(Mediation)) as cur:
        return cur.execute(f"SELECT {_COLUMNS} FROM mediations WHERE ticket_id = %s ORDER BY started_at, id",
                           (ticket_id,)).fetchall()
