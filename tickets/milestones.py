"""Which event meets which SLA milestone (issue #16 point 1; docs/lifecycle.md "SLA clocks").

A ticket has two clocks, `respond_due` and `resolve_due`; each carries the milestone of the profile clause it came
from (`respond_milestone`, `resolve_milestone`: on_site, plan, progress, answer, respond, resolve) and runs until
that milestone is met (`respond_met_at`, `resolve_met_at`), not merely until the ticket is acknowledged or
resolved: a major complaint acknowledged at once still runs its 15-minute on-site clock until someone is there.

`meet` is called from the one place ticket transitions happen (tickets/transitions.py), from a work order's own
arrival (tickets/workorders.py) and from the plan and progress records (tickets/plans.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import psycopg

from tickets.config import TicketConfig
from tickets.lifecycle import TicketEvent

E = TicketEvent
PLAN_RECORDED = "plan_recorded"  # a written plan is recorded (tickets/plans.py)
PROGRESS_REPORTED = "progress_reported"  # a progress report to the resident is recorded (tickets/plans.py)

# Milestone -> the events that meet it. Resolving meets every clock still running (nothing left to plan or report).
MET_BY: Mapping[str, frozenset[str]] = {
    "respond": frozenset({E.ACKNOWLEDGE, E.ARRIVE, E.WAIT_RESIDENT, E.RESOLVE, PLAN_RECORDED, PROGRESS_REPORTED}),
    "on_site": frozenset({E.ARRIVE, E.RESOLVE}),  # the ticket's arrival or any of its work orders'
    "plan": frozenset({PLAN_RECORDED, E.RESOLVE}),
    "progress": frozenset({PROGRESS_REPORTED, E.RESOLVE}),
    "answer": frozenset({E.RESOLVE}),
    "resolve": frozenset({E.RESOLVE}),
}
# What meets each milestone, in words (`forewarn tickets types`, docs/lifecycle.md).
LEGEND: Mapping[str, str] = {
    "respond": "acknowledged, or any later step",
    "on_site": "the ticket or any of its work orders arrives on site",
    "plan": "a written plan is recorded (forewarn tickets plan)",
    "progress": "a progress report to the resident is recorded (forewarn tickets progress)",
    "answer": "the ticket is resolved",
    "resolve": "the ticket is resolved",
}
# The milestone's name on a staff alert: "on site clock", not "respond clock".
LABEL: Mapping[str, str] = {"respond": "响应时限 / respond clock", "on_site": "到场时限 / on site clock",
                            "plan": "书面方案时限 / written plan clock", "progress": "进展反馈时限 / progress clock",
                            "answer": "答复时限 / answer clock", "resolve": "解决时限 / resolve clock",
                            "mediation": "调解时限 / mediation clock"}


def met_by(event: TicketEvent | str) -> list[str]:
    """The milestones `event` meets."""
    return [milestone for milestone, events in MET_BY.items() if str(event) in events]


def milestones_for(config: TicketConfig, tier: str, profile: str | None) -> tuple[str, str]:
    """(respond milestone, resolve milestone) of a ticket of `tier` opened on `profile`: the tier's clauses, also
    when the limits come from `sla_limits`; a request kind's own clocks carry their own (`kind_milestones`)."""
    if str(tier) in config.kind_milestones:
        return config.kind_milestones[str(tier)]
    clauses = config.profile(profile).clauses
    return clauses[(str(tier), "respond")].milestone, clauses[(str(tier), "resolve")].milestone


# Stamp each clock whose milestone the event meets, the first time only; which clocks were met (and their milestone).
_MEET = """
UPDATE tickets t SET
    respond_met_at = CASE WHEN o.respond_met_at IS NULL AND coalesce(o.respond_milestone, 'respond') = ANY(%(ms)s)
                          THEN %(at)s ELSE o.respond_met_at END,
    resolve_met_at = CASE WHEN o.resolve_met_at IS NULL AND coalesce(o.resolve_milestone, 'resolve') = ANY(%(ms)s)
                          THEN %(at)s ELSE o.resolve_met_at END
FROM (SELECT id, respond_met_at, resolve_met_at, respond_milestone, resolve_milestone FROM tickets
      WHERE id = %(id)s FOR UPDATE) o
WHERE t.id = o.id
RETURNING o.respond_met_at IS NULL AND t.respond_met_at IS NOT NULL, coalesce(t.respond_milestone, 'respond'),
          o.resolve_met_at IS NULL AND t.resolve_met_at IS NOT NULL, coalesce(t.resolve_milestone, 'resolve')"""


def meet(conn: psycopg.Connection, ticket_id: int, event: TicketEvent | str, at: datetime) -> dict[str, str]:
    """Stamp `respond_met_at` / `resolve_met_at` of the ticket when `event` meets that clock's milestone and it is
    not met yet; returns the clocks met now, clock -> milestone (e.g. {"respond": "on_site"})."""
    milestones = met_by(event)
    if not milestones:
        return {}
    row = conn.execute(_MEET, {"ms": milestones, "at": at, "id": ticket_id}).fetchone()
    if row is None:
        return {}
    respond_now, respond_ms, resolve_now, resolve_ms = row
    return ({"respond": respond_ms} if respond_now else {}) | ({"resolve": resolve_ms} if resolve_now else {})


# A ticket moved to another tier (or category): the new clocks and their milestones; a clock whose milestone changes
# runs again until the new one is met.
_RETIER = """UPDATE tickets SET category = %(category)s, severity = %(tier)s, version = version + 1,
                 respond_from = CASE WHEN respond_due IS DISTINCT FROM %(respond)s THEN %(rf)s ELSE respond_from END,
                 resolve_from = CASE WHEN resolve_due IS DISTINCT FROM %(resolve)s THEN %(sf)s ELSE resolve_from END,
                 respond_due = %(respond)s, resolve_due = %(resolve)s,
                 respond_milestone = %(rm)s, resolve_milestone = %(sm)s,
                 respond_met_at = CASE WHEN %(rearm)s OR respond_milestone IS DISTINCT FROM %(rm)s THEN NULL
                                       ELSE respond_met_at END,
                 resolve_met_at = CASE WHEN resolve_milestone IS DISTINCT FROM %(sm)s THEN NULL ELSE resolve_met_at END
             WHERE id = %(id)s"""


def retier(conn: psycopg.Connection, ticket_id: int, *, category: str, tier: str, profile: str | None,
           respond_due: datetime, resolve_due: datetime, respond_from: datetime, resolve_from: datetime,
           config: TicketConfig, rearm: bool = False) -> None:
    """Give the ticket `category` and `tier` with these clocks, each carrying the milestone of the tier's clause on
    `profile`: staff correcting a ticket (`tickets.complaints.reclassify`) and a fault escalating it
    (`tickets.escalation`). A deadline that changes was counted from its `…_from`, where the sweep's reminders are
    measured from. `rearm`: the respond clock runs again even where its milestone is unchanged (a new emergency:
    someone on site for an earlier fault is not on site for this one)."""
    respond_milestone, resolve_milestone = milestones_for(config, tier, profile)
    conn.execute(_RETIER, {"category": category, "tier": tier, "respond": respond_due, "resolve": resolve_due,
                           "rm": respond_milestone, "sm": resolve_milestone, "id": ticket_id, "rearm": rearm,
                           "rf": respond_from, "sf": resolve_from})


# A reopen sets new deadlines for both clocks: neither is met any more.
REOPENED = {"respond_met_at": None, "resolve_met_at": None}
