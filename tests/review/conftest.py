"""A fixture month for the review: October 2026 on the demo estate, 200 complaint tickets written as the
lifecycle leaves them (one complaint each): 60 lift faults in building rs-b1, 190 resolved, 185 closed, 150
return visits of which 138 rated 4-5."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from tests.tickets.conftest import staff  # noqa: F401 - the staff with supervisors and a site manager

SHANGHAI = ZoneInfo("Asia/Shanghai")
OCT = datetime(2026, 10, 1, 9, 0, tzinfo=SHANGHAI)
# (point, building, how many): the lift faults are the high-frequency point.
MIX = (("elevator", "rs-b1", 60), ("water", "rs-b2", 50), ("noise", "rs-b3", 45), ("parking", "rs-b2", 45))
CATEGORY = {"elevator": "facility", "water": "facility", "noise": "community", "parking": "community"}


def _units(conn: psycopg.Connection, building: str) -> list[tuple[str, str]]:
    return conn.execute("""SELECT r.unit_id, r.id FROM residents r JOIN units u ON u.id = r.unit_id
                           WHERE u.building_id = %s ORDER BY r.id""", (building,)).fetchall()


def write_month(conn: psycopg.Connection) -> list[int]:
    """The 200 tickets; returns their ids in creation order."""
    ids: list[int] = []
    n = 0
    for point, building, count in MIX:
        units = _units(conn, building)
        for i in range(count):
            unit, resident = units[i % len(units)]
            created = OCT + timedelta(hours=3 * n)
            resolved = created + timedelta(hours=5) if n < 190 else None
            state = "closed" if n < 185 else "resolved" if n < 190 else "acknowledged"
            row = conn.execute(
                """INSERT INTO tickets (source, state, category, subcategory, severity, title, site_id, building_id,
                       unit_id, resident_id, department_id, reported_at, created_at, respond_due, resolve_due,
                       responded_at, resolved_at, closed_at, respond_met_at, resolve_met_at)
                   VALUES ('complaint', %(state)s, %(cat)s, %(point)s, 'general', %(point)s, 'riverside',
                       %(building)s, %(unit)s, %(resident)s, 'engineering', %(at)s, %(at)s, %(at)s + interval '1 h',
                       %(at)s + interval '24 h', %(at)s + interval '30 min', %(resolved)s::timestamptz,
                       CASE WHEN %(state)s::text = 'closed' THEN %(resolved)s::timestamptz END,
                       -- general tickets: respond and resolve milestones, met when responded to and resolved
                       %(at)s + interval '30 min', %(resolved)s::timestamptz) RETURNING id""",
                {"state": state, "cat": CATEGORY[point], "point": point, "building": building, "unit": unit,
                 "resident": resident, "at": created, "resolved": resolved}).fetchone()
            assert row is not None
            ids.append(row[0])
            conn.execute("""INSERT INTO complaints (ticket_id, resident_id, unit_id, channel, description, lang,
                                category, severity, reported_at, received_at)
                            VALUES (%s, %s, %s, 'app', %s, 'zh-CN', %s, 'general', %s, %s)""",
                         (row[0], resident, unit, point, CATEGORY[point], created, created))
            if n < 150:
                overall = 5 if n < 138 else 2
                conn.execute("""INSERT INTO return_visits (ticket_id, at, response_speed, professionalism,
                                    attitude, overall, within_48h) VALUES (%s, %s, 5, 5, 5, %s, true)""",
                             (row[0], resolved + timedelta(hours=2), overall))  # type: ignore[operator]
            n += 1
    conn.commit()
    return ids


@pytest.fixture
def month(conn: psycopg.Connection) -> list[int]:
    return write_month(conn)


def add_work_orders(conn: psycopg.Connection, ticket_ids: list[int], done: int) -> None:
    """Engineering work orders for the given complaint tickets, the first `done` of them finished."""
    for i, ticket in enumerate(ticket_ids):
        conn.execute("""INSERT INTO work_orders (ticket_id, department_id, status, created_at)
                        SELECT id, 'engineering', %s, created_at FROM tickets WHERE id = %s""",
                     ("done" if i < done else "acknowledged", ticket))
    conn.commit()
