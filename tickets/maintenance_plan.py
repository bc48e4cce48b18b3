"""Recurring maintenance (issue #16 point 10; handbook 001: each lift every two weeks): a plan for one device, or for
every active device of a kind at a site, every N days, done by a department.

The scheduler's job (`run_due_plans`, every `PLAN_S`) takes the plans whose `next_due` has come, and for each of
their devices opens one preventive ticket, dispatched to the plan's department with its one work order, then moves
`next_due` on by the interval. `maintenance_runs` has one row per device and due date under a unique key, and the
plans are claimed with FOR UPDATE SKIP LOCKED: however often the job runs, in however many schedulers, each due date
gives exactly one work order. A due date missed while the platform was down gives the one work order when it runs,
and `next_due` moves past now (no backlog of visits all at once). When the ticket is resolved (its work order done),
`tickets.maintenance_notice` tells the units the device serves."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

import psycopg
from psycopg.rows import class_row

from tickets.classify import Category, Classification, Tier
from tickets.config import TicketConfig
from tickets.errors import InvalidInput, NotFound
from tickets.lifecycle import TicketEvent
from tickets.service import add_event, create_ticket, get_ticket, open_work_order
from tickets.transitions import transition

log = logging.getLogger(__name__)

PLAN_S = 60.0  # a due plan opens its work orders within about a minute
ACTOR = "maintenance-plan"
DEVICE_KINDS = ("elevator", "water", "access_door")
_SUBCATEGORY = {"elevator": "elevator", "water": "water", "access_door": "door"}
_LABEL = {"elevator": "电梯", "water": "供水设备", "access_door": "门禁"}
_EVERY = re.compile(r"^\s*(\d+)\s*d?\s*$")


@dataclass(frozen=True, slots=True)
class Plan:
    id: int
    device_id: str | None
    site_id: str | None
    device_kind: str | None
    every_days: int
    next_due: datetime
    department_id: str
    created_by: str
    created_at: datetime
    active: bool

    @property
    def target(self) -> str:
        return self.device_id or f"every {self.device_kind} at {self.site_id}"


_COLUMNS = ", ".join(f.name for f in fields(Plan))


def parse_every(text: str) -> int:
    """'14d' or '14' as days (1 to 366); anything else is InvalidInput."""
    match = _EVERY.match(text or "")
    if match is None or not 1 <= int(match.group(1)) <= 366:
        raise InvalidInput(f"bad interval {text!r}: give a number of days from 1 to 366, e.g. 14d")
    return int(match.group(1))


def add_plan(conn: psycopg.Connection, *, every_days: int, first_due: datetime, created_by: str, now: datetime,
             department_id: str = "engineering", device_id: str | None = None, site_id: str | None = None,
             device_kind: str | None = None) -> Plan:
    """A plan for one device, or (site and kind) for every active device of that kind at the site."""
    if (device_id is None) == (site_id is None or device_kind is None):
        raise InvalidInput("a plan is for one device, or for a device kind at a site (--site and --kind)")
    if not 1 <= every_days <= 366:
        raise InvalidInput(f"the interval is {every_days} days; give 1 to 366")
    if first_due.tzinfo is None:
        raise InvalidInput("give the first due time with a timezone (e.g. 2026-12-01T09:00+08:00)")
    with conn.transaction():
        if device_id is not None and conn.execute(
                "SELECT 1 FROM devices WHERE id = %s", (device_id,)).fetchone() is None:
            raise InvalidInput(f"unknown device {device_id!r}")
        if site_id is not None and conn.execute("SELECT 1 FROM sites WHERE id = %s", (site_id,)).fetchone() is None:
            raise InvalidInput(f"unknown site {site_id!r}")
        if device_kind is not None and device_kind not in DEVICE_KINDS:
            raise InvalidInput(f"unknown device kind {device_kind!r}: use one of {', '.join(DEVICE_KINDS)}")
        if conn.execute("SELECT 1 FROM departments WHERE id = %s", (department_id,)).fetchone() is None:
            raise InvalidInput(f"unknown department {department_id!r}")
        with conn.cursor(row_factory=class_row(Plan)) as cur:
            row = cur.execute(
                f"""INSERT INTO maintenance_plans (device_id, site_id, device_kind, every_days, next_due,
                        department_id, created_by, created_at)
                    VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}""",
                (device_id, site_id, device_kind, every_days, first_due, department_id, created_by, now),
            ).fetchone()
    assert row is not None
    return row


def stop_plan(conn: psycopg.Connection, plan_id: int) -> Plan:
    """Stop an active plan: it opens no more work orders (those already open stay). NotFound if there is none."""
    with conn.transaction(), conn.cursor(row_factory=class_row(Plan)) as cur:
        row = cur.execute(f"UPDATE maintenance_plans SET active = false WHERE id = %s AND active RETURNING {_COLUMNS}",
                          (plan_id,)).fetchone()
    if row is None:
        raise NotFound(f"no active maintenance plan {plan_id}")
    return row


def list_plans(conn: psycopg.Connection, *, site_id: str | None = None) -> list[Plan]:
    """Active plans (of one site: its devices' plans and its kind plans), soonest due first."""
    with conn.cursor(row_factory=class_row(Plan)) as cur:
        return cur.execute(
            f"""SELECT {", ".join("p." + f.name for f in fields(Plan))} FROM maintenance_plans p
                LEFT JOIN devices d ON d.id = p.device_id
                WHERE p.active AND (%(site)s::text IS NULL OR COALESCE(p.site_id, d.site_id) = %(site)s)
                ORDER BY p.next_due, p.id""", {"site": site_id}).fetchall()


def _devices(conn: psycopg.Connection, plan: Plan) -> list[tuple[str, str, str, str | None, str]]:
    """(id, kind, site, building, location) of the plan's active devices."""
    return [tuple(r) for r in conn.execute(
        """SELECT id, kind, site_id, building_id, location FROM devices
           WHERE active AND (id = %(device)s OR (site_id = %(site)s AND kind = %(kind)s)) ORDER BY id""",
        {"device": plan.device_id, "site": plan.site_id, "kind": plan.device_kind})]


def _latest_due(plan: Plan, now: datetime) -> tuple[datetime, datetime]:
    """The latest due date not after `now`, and the next one after it."""
    step = timedelta(days=plan.every_days)
    missed = (now - plan.next_due) // step
    due = plan.next_due + missed * step
    return due, due + step


def run_due_plans(conn: psycopg.Connection, *, now: datetime, config: TicketConfig) -> list[int]:
    """Open the work orders of every plan due at `now`; returns the new tickets' ids. Commits per plan; a plan that
    fails is logged, left due (tried again on the next run) and does not hold up the others."""
    opened: list[int] = []
    failed: list[int] = []
    while True:
        plan: Plan | None = None
        try:
            with conn.transaction():
                with conn.cursor(row_factory=class_row(Plan)) as cur:
                    plan = cur.execute(
                        f"""SELECT {_COLUMNS} FROM maintenance_plans
                            WHERE active AND next_due <= %s AND NOT id = ANY(%s)
                            ORDER BY next_due, id LIMIT 1 FOR UPDATE SKIP LOCKED""", (now, failed)).fetchone()
                if plan is None:
                    return opened
                due, following = _latest_due(plan, now)
                new = [t for device in _devices(conn, plan)
                       if (t := _open_run(conn, plan, device, due, now, config)) is not None]
                conn.execute("UPDATE maintenance_plans SET next_due = %s WHERE id = %s", (following, plan.id))
        except (psycopg.DataError, psycopg.IntegrityError, InvalidInput, LookupError) as exc:
            if plan is None:
                raise
            log.error("maintenance plan %s (%s) could not open its work orders: %s", plan.id, plan.target, exc)
            failed.append(plan.id)
            continue
        opened += new


def _open_run(conn: psycopg.Connection, plan: Plan, device: tuple[str, str, str, str | None, str], due: datetime,
              now: datetime, config: TicketConfig) -> int | None:
    """The device's ticket and work order for this due date, unless it already has them."""
    device_id, kind, site_id, building_id, location = device
    run = conn.execute(
        """INSERT INTO maintenance_runs (plan_id, device_id, due_at, created_at) VALUES (%s, %s, %s, %s)
           ON CONFLICT (plan_id, device_id, due_at) DO NOTHING RETURNING id""",
        (plan.id, device_id, due, now)).fetchone()
    if run is None:
        return None
    label = _LABEL.get(kind, kind)
    title = f"定期保养：{location or device_id}{label} / Routine maintenance: {device_id}"
    ticket_id = create_ticket(
        conn, source="preventive",
        classification=Classification(Category.FACILITY, Tier.GENERAL, subcategory=_SUBCATEGORY.get(kind),
                                      device_kind=kind, department=plan.department_id),
        title=title, description=f"每 {plan.every_days} 天定期保养 (every {plan.every_days} days), due "
                                 f"{due.astimezone(config.tz):%Y-%m-%d %H:%M}",
        site_id=site_id, building_id=building_id, now=now, reported_at=due, config=config, actor=ACTOR,
        device_id=device_id)
    conn.execute("UPDATE maintenance_runs SET ticket_id = %s WHERE id = %s", (ticket_id, run[0]))
    add_event(conn, ticket_id, "maintenance_planned", at=now, actor=ACTOR,
              detail={"plan_id": plan.id, "run_id": int(run[0]), "due_at": due.isoformat()})
    transition(conn, ticket_id, TicketEvent.DISPATCH, actor=ACTOR, now=now, config=config,
               department_id=plan.department_id)
    # Dispatching opens the engineering work order itself; any other department's is opened here.
    open_work_order(conn, get_ticket(conn, ticket_id), department_id=plan.department_id, now=now)
    return ticket_id
