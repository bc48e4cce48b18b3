"""What a resident can ask for (complaint, repair, enquiry, suggestion) and the clocks each gets, in one place.

Today every request goes through the complaint lifecycle (`tickets.complaints.intake_complaint`); the kind chooses
the clocks, which are written onto the ticket as its respond/resolve deadlines, so the time limits the resident is
told at once are the ones the SLA sweep then chases:

- complaint: the severity tier's SLA;
- repair: urgent (a major-tier fault: burst pipe, no water, someone trapped) on site, ordinary repaired, each
  within its profile's limit (both handbooks: 30 minutes on site; 003: repaired within 24 hours);
- enquiry: answered within the profile's limit (003: 2 hours);
- suggestion: a reply within the tier's response time.

The limits are the site's SLA profile's (`tickets.profiles`, `tickets/data/sla_profiles.yaml`).

The kind also chooses who answers: a complaint or a repair goes where its words send it (a leak to engineering, with
a work order), an enquiry or a suggestion to customer service whatever it mentions (`tickets.routing.
kind_department`): "when does the gym reopen?" is the desk's to answer within its 2 hours, not an engineer's.

A later issue builds full request types; this table is the seam it replaces."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

import psycopg

from tickets.classify import Category, Tier
from tickets.complaints import intake_complaint
from tickets.config import DEFAULT_CONFIG, TicketConfig
from tickets.errors import InvalidInput
from tickets.profiles import SlaProfile, unit_profile
from tickets.service import Ticket, get_ticket
from tickets.sla import Limit, SlaPolicy
from tickets.submissions import Submission


class RequestKind(StrEnum):
    COMPLAINT = "complaint"  # 投诉
    REPAIR = "repair"  # 报修
    ENQUIRY = "enquiry"  # 咨询
    SUGGESTION = "suggestion"  # 建议


class Clock(StrEnum):
    """How a deadline reads to the resident."""

    RESPOND = "respond"  # someone gets back to you
    ON_SITE = "on_site"  # someone is at your door
    ANSWER = "answer"  # your question is answered
    RESOLVE = "resolve"  # it is dealt with
    BACK = "back"  # a known fault you were told about: the expected time the service is back


class Deadline(StrEnum):
    """Which of the ticket's deadlines a clock reads."""

    RESPOND = "respond"
    RESOLVE = "resolve"


@dataclass(frozen=True, slots=True)
class KindClocks:
    policy: SlaPolicy | None  # None: the severity tier's policy
    shown: tuple[tuple[Clock, Deadline], ...]  # what the resident is told, in order
    clause: str | None = None  # the profile's kind clause the policy comes from (urgent_repair, enquiry …)


def clocks_for(kind: RequestKind, tier: Tier, profile: SlaProfile | None = None) -> KindClocks:
    """The clocks of a request of `kind` whose words classify into `tier`, on `profile` (None: the default)."""
    kinds = (profile or DEFAULT_CONFIG.profile(None)).kinds
    if kind is RequestKind.REPAIR:
        if tier is Tier.MAJOR:
            return KindClocks(kinds["urgent_repair"],
                              ((Clock.ON_SITE, Deadline.RESPOND), (Clock.RESOLVE, Deadline.RESOLVE)), "urgent_repair")
        return KindClocks(kinds["ordinary_repair"], ((Clock.RESOLVE, Deadline.RESOLVE),), "ordinary_repair")
    if kind is RequestKind.ENQUIRY:
        return KindClocks(kinds["enquiry"], ((Clock.ANSWER, Deadline.RESOLVE),), "enquiry")
    if kind is RequestKind.SUGGESTION:
        return KindClocks(None, ((Clock.RESPOND, Deadline.RESPOND),))
    return KindClocks(None, ((Clock.RESPOND, Deadline.RESPOND), (Clock.RESOLVE, Deadline.RESOLVE)))


def milestones_of(clocks: KindClocks, profile: SlaProfile) -> tuple[str, str]:
    """(respond, resolve) milestones of a kind's clocks: its clauses' in the profile (an urgent repair's respond
    clock is met on site and its resolve clock when resolved; an enquiry's by the answer); a suggestion's are a
    reply and a resolution, whatever tier its words fall in."""
    if clocks.clause is None:
        return ("respond", "resolve")
    clauses = profile.clauses
    return (clauses[(clocks.clause, "respond")].milestone, clauses[(clocks.clause, "resolve")].milestone)


def config_for_kind(kind: RequestKind, config: TicketConfig, profile: SlaProfile) -> TicketConfig:
    """The ticket config whose SLA overrides give a new ticket of this kind its clocks, and their milestones, on
    `profile`."""
    overrides = dict(config.sla_overrides)
    milestones = dict(config.kind_milestones)
    for tier in Tier:
        clocks = clocks_for(kind, tier, profile)
        if clocks.policy is not None:
            overrides |= {(category.value, tier.value): clocks.policy for category in Category}
        if kind is not RequestKind.COMPLAINT:  # a complaint's clocks are its tier's clauses, milestones included
            milestones[tier.value] = milestones_of(clocks, profile)
    return replace(config, sla_overrides=overrides, kind_milestones=milestones)


@dataclass(frozen=True, slots=True)
class TimeLimit:
    clock: Clock
    due: datetime | None


@dataclass(frozen=True, slots=True)
class KindRule:
    """A kind's clocks as spans, for the form that explains them before anything is filed."""

    kind: RequestKind
    urgent: bool  # the rule for a major-tier (urgent) request of this kind
    clock: Clock
    limit: Limit


def rules(profile: SlaProfile | None = None, config: TicketConfig = DEFAULT_CONFIG) -> list[KindRule]:
    """Every kind's clocks for ordinary and urgent requests (urgent listed only where it differs) on `profile`
    (None: the default), with the operator's limits of `config`."""
    out: list[KindRule] = []
    for kind in RequestKind:
        ordinary, urgent = clocks_for(kind, Tier.GENERAL, profile), clocks_for(kind, Tier.MAJOR, profile)
        for is_urgent, clocks, tier in ((False, ordinary, Tier.GENERAL), (True, urgent, Tier.MAJOR)):
            if is_urgent and kind in (RequestKind.ENQUIRY, RequestKind.SUGGESTION):
                continue  # answered and replied to on one clock, however pressing
            policy = clocks.policy or config.policy("", tier, profile.name if profile else None)
            for clock, which in clocks.shown:
                out.append(KindRule(kind, is_urgent, clock,
                                    policy.respond if which is Deadline.RESPOND else policy.resolve))
    return out


def limits_of(kind: RequestKind | str, ticket: Ticket, *, folded: bool) -> list[TimeLimit]:
    """The time limits a request on `ticket` runs against. A request folded into a known fault's ticket is told
    when the service is expected back instead (that ticket's clocks are the fault's, not the request's)."""
    if folded:
        return [TimeLimit(Clock.BACK, ticket.resolve_due)]
    clocks = clocks_for(RequestKind(kind), Tier(ticket.severity))
    return [TimeLimit(clock, ticket.respond_due if which is Deadline.RESPOND else ticket.resolve_due)
            for clock, which in clocks.shown]


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the resident is told at once after filing."""

    complaint_id: int
    ticket_id: int
    kind: RequestKind
    folded: bool  # linked to a fault we already knew about
    limits: list[TimeLimit]


# How many requests the resident filed since a moment (the pages' flood limit).
_RECENT = "SELECT count(*) FROM complaints WHERE resident_id = %s AND received_at > %s"


def file_request(
    conn: psycopg.Connection, *, kind: RequestKind | str, resident_id: str, unit_id: str, description: str,
    lang: str, now: datetime, attachments: Sequence[str] = (), config: TicketConfig = DEFAULT_CONFIG,
    requested_outcome: str | None = None, submission: Submission | None = None,
) -> Receipt:
    """A resident's own request from the app (one transaction): intake as a complaint with the kind's clocks and
    department. A `submission` filed before is not filed again: the receipt is the first filing's
    (tickets/submissions.py)."""
    try:
        kind = RequestKind(kind)
    except ValueError as exc:
        raise InvalidInput(f"kind must be one of {', '.join(RequestKind)}, not {kind!r}") from exc
    with conn.transaction():
        profile = unit_profile(conn, unit_id, config.sla_profiles())  # the ticket's site stamps the same one
        made = intake_complaint(conn, resident_id=resident_id, unit_id=unit_id, channel="app",
                                description=description, lang=lang, reported_at=now, now=now,
                                attachments=attachments, config=config_for_kind(kind, config, profile),
                                requested_outcome=requested_outcome, submission=submission,
                                request_kind=kind.value)
        ticket = get_ticket(conn, made.ticket_id)
    return Receipt(made.complaint_id, made.ticket_id, kind, made.folded, limits_of(kind, ticket, folded=made.folded))


def recent_requests(conn: psycopg.Connection, resident_id: str, *, now: datetime,
                    window: timedelta = timedelta(hours=1)) -> int:
    """How many requests the resident filed in the last `window` (on the platform's clock)."""
    row = conn.execute(_RECENT, (resident_id, now - window)).fetchone()
    return int(row[0]) if row else 0
