"""A more urgent fault on a device's open ticket escalates the ticket and its work orders.

A device has one preventive ticket and one work order per department while it is being worked on
(`tickets.flows`): a second fault of the same device joins them, as one visit fixes both. When the fault that joins
is of a more urgent tier than the ticket — a lift already out of service on a routine order, and then passengers
trapped in it (困人: the maintenance unit must be there within 30 minutes) — joining silently would leave the rescue
on the routine order's clock, with an engineer who has not been told. Instead:

- the ticket moves to the urgent tier: its clocks are those of that tier counted from now, or the ones it had where
  they were sooner and still ahead, and the clock whose milestone changes runs again until the new one is met; when
  the fault is of the ticket's own device, the ticket is now about it: its title ("elevator entrapment @ …": what
  the desk's queue, the engineer's order and the service report show), its fault and its incident (the evidence a
  work order opened later carries), the old title and fault kept in the timeline;
- each live work order takes the urgent fault, its evidence and the same clocks, records when (`escalated_at`), and
  outside working hours goes to whoever is on call for its department when that is someone else, and the ticket is
  then routed on call, its breach going to the on-call supervisor (as an urgent ticket opened at night would);
- its engineer is pushed the escalation at once (`tickets.staff_push`, reason ``escalated``), and the ticket's
  timeline carries one ``made_urgent`` event: from which tier to which, the fault, and who was told.

The same goes for a fault of the ticket that turns critical (a motor's overheating warning become critical, the
car taken out of service): `tickets.flows` escalates on the raise that joins and on the update that worsens.

An urgent fault on a ticket that is urgent already is a new emergency when the urgent fault its order names is over
(the overheating that made the ticket urgent ended hours before passengers are trapped; passengers trapped again
after their release), or when passengers are trapped (`ALWAYS_TOLD`) and the order names something else. It is
handled as an escalation, and the on-site clock runs again: a deadline that has passed, or an arrival for the
earlier fault, says nothing about the rescue now. An urgent fault beside one still going on (a motor turning critical
while passengers are being freed), and a fault of a lesser tier, change nothing: nothing is pushed again.
"""

from __future__ import annotations

import json
from datetime import datetime

import psycopg

from tickets import sla
from tickets.classify import Classification
from tickets.config import TicketConfig
from tickets.milestones import retier
from tickets.on_call import night_taker
from tickets.service import add_event, get_ticket, incident_evidence
from tickets.staff_push import push_work_order
from tickets.taxonomy import Tier

ACTOR = "forewarn"
_RANK = {Tier.GENERAL.value: 0, Tier.COMPLEX.value: 0, Tier.MAJOR.value: 1}
ALWAYS_TOLD = frozenset({"entrapment"})  # trapped passengers head the order whatever else is going on

# The device's live orders on the ticket: the fault each names, and whether that fault is still going on (an open
# incident of it other than the one arriving now).
_HEADLINES = """SELECT w.fault, EXISTS (SELECT 1 FROM incidents i WHERE i.device_id = w.device_id AND i.fault = w.fault
                                        AND i.status = 'open' AND i.id <> %(incident)s)
                FROM work_orders w WHERE w.ticket_id = %(ticket)s AND w.device_id = %(device)s
                AND w.status NOT IN ('done', 'cancelled')"""

_LIVE = """SELECT id, department_id, assignee_id FROM work_orders
           WHERE ticket_id = %s AND status NOT IN ('done', 'cancelled') ORDER BY id FOR UPDATE"""
# An order on another device (a root cause's, the urgent fault attached to it) keeps its own fault and evidence.
# `escalated_at` is when the order became urgent for its current fault: on a ticket urgent already, an order that
# names the fault (passengers trapped again) keeps its time, and its engineer is still told.
_ORDER = """UPDATE work_orders SET
                escalated_at = CASE WHEN %(again)s AND device_id IS NOT DISTINCT FROM %(device)s AND fault = %(fault)s
                                    THEN escalated_at ELSE %(now)s END,
                fault = CASE WHEN device_id IS NOT DISTINCT FROM %(device)s THEN %(fault)s ELSE fault END,
                evidence = CASE WHEN device_id IS NOT DISTINCT FROM %(device)s THEN %(evidence)s ELSE evidence END,
                respond_from = CASE WHEN respond_due > %(now)s AND respond_due <= %(respond)s THEN respond_from
                                    ELSE %(now)s END,
                resolve_from = CASE WHEN resolve_due > %(now)s AND resolve_due <= %(resolve)s THEN resolve_from
                                    ELSE %(now)s END,
                respond_met_at = CASE WHEN NOT coalesce(respond_due > %(now)s AND respond_due <= %(respond)s, false)
                                      THEN NULL  -- the clock starts again: nothing done before meets it
                                      WHEN work_order_meets_respond(status, (SELECT respond_milestone FROM tickets
                                                                             WHERE id = %(ticket)s))
                                      THEN respond_met_at END,
                respond_due = CASE WHEN respond_due > %(now)s THEN LEAST(respond_due, %(respond)s)
                                   ELSE %(respond)s END,
                resolve_due = CASE WHEN resolve_due > %(now)s THEN LEAST(resolve_due, %(resolve)s)
                                   ELSE %(resolve)s END,
                assignee_id = %(assignee)s
            WHERE id = %(id)s"""


def escalate(conn: psycopg.Connection, ticket_id: int, classification: Classification, *, device_id: str,
             fault: str, title: str, incident_id: int, summary: str, now: datetime,
             config: TicketConfig) -> list[int]:
    """Escalate the ticket and its live work orders if `classification` (the fault of `device_id`'s incident) is
    more urgent than the ticket's tier, or is urgent and a new emergency on a ticket urgent already (module
    docstring); the work orders escalated, [] otherwise. An order on that device takes the fault and its evidence;
    one on another device (the ticket of a root cause the fault is attached to) keeps its own and takes the clocks.
    `title` is the ticket's title when it is about the fault (`tickets.titles.fault_title`). Runs in the caller's
    transaction."""
    ticket = get_ticket(conn, ticket_id, lock=True)
    tier = classification.tier.value
    new, old = _RANK.get(tier, 0), _RANK.get(ticket.severity, 0)
    again = new == old == _RANK[Tier.MAJOR.value] and _new_emergency(conn, ticket_id, device_id, fault, incident_id)
    if new <= old and not again:
        return []
    policy = config.policy(ticket.category, tier, ticket.sla_profile)
    respond = _sooner(sla.deadline(now, policy.respond, config.tz), ticket.respond_due, now)
    resolve = _sooner(sla.deadline(now, policy.resolve, config.tz), ticket.resolve_due, now)
    retier(conn, ticket_id, category=ticket.category, tier=tier, profile=ticket.sla_profile, respond_due=respond,
           resolve_due=resolve, respond_from=now, resolve_from=now, config=config, rearm=again)
    if ticket.device_id != device_id:
        title = ticket.title  # a root cause's ticket stays about the root cause
    else:  # the ticket is now about the urgent fault: its title, fault and incident
        conn.execute("UPDATE tickets SET title = %s, fault = %s, incident_id = %s WHERE id = %s",
                     (title, fault, incident_id, ticket_id))
    evidence = json.dumps(incident_evidence(conn, incident_id), default=str)
    orders: list[int] = []
    told: list[str] = []
    on_call_taken = False
    for order_id, department, assignee in conn.execute(_LIVE, (ticket_id,)).fetchall():
        on_call = night_taker(conn, tier, department, now, config)
        on_call_taken |= on_call is not None
        conn.execute(_ORDER, {"device": device_id, "fault": fault, "evidence": evidence, "now": now, "respond": respond,
                              "resolve": resolve, "assignee": on_call or assignee, "id": order_id,
                              "again": again, "ticket": ticket_id})
        told += push_work_order(conn, order_id, reason="escalated", now=now, tz=config.tz).user_ids
        orders.append(int(order_id))
    if on_call_taken:  # its breach goes to the on-call supervisor, as an urgent ticket opened at night does
        conn.execute("UPDATE tickets SET routed_on_call = true WHERE id = %s", (ticket_id,))
    add_event(conn, ticket_id, "made_urgent", at=now, actor=ACTOR, note=f"{fault}: {summary}",
              detail={"from": ticket.severity, "to": tier, "fault": fault, "incident_id": incident_id,
                      "work_orders": orders, "told": told, "title_was": ticket.title, "title": title,
                      "fault_was": ticket.fault})
    return orders


def _new_emergency(conn: psycopg.Connection, ticket_id: int, device_id: str, fault: str, incident_id: int) -> bool:
    """On a ticket urgent already: whether this urgent fault of `device_id` is a new emergency (module docstring)."""
    orders = conn.execute(_HEADLINES, {"ticket": ticket_id, "device": device_id, "incident": incident_id}).fetchall()
    if fault in ALWAYS_TOLD and any(named != fault for named, _ in orders):
        return True
    return bool(orders) and not any(going_on for _, going_on in orders)


def _sooner(new: datetime, old: datetime | None, now: datetime) -> datetime:
    """The new deadline, or the one the ticket had where it is sooner and still ahead: one that has passed was for an
    earlier fault (its breach is on record) and says nothing about this one."""
    return min(new, old) if old is not None and old > now else new
