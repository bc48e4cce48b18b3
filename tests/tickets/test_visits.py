"""Return visits: a satisfied resident closes the loop, an unsatisfied one reopens it; the sweep chases visits
not made within 48 hours; ratings out of range are refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tickets.complaints import intake_complaint
from tickets.errors import InvalidInput
from tickets.lifecycle import TicketEvent
from tickets.sweeps import sla_sweep
from tickets.transitions import transition
from tickets.visits import Rating, record_return_visit

from .conftest import NOW


def _resolved_ticket(conn) -> int:
    made = intake_complaint(conn, resident_id="r-00001", unit_id="rs-b1-0101", channel="counter",
                            description="楼道的灯坏了", lang="zh-CN", reported_at=NOW, now=NOW, taken_by="agent-1")
    transition(conn, made.ticket_id, TicketEvent.ACKNOWLEDGE, actor="eng-1", now=NOW + timedelta(hours=1))
    transition(conn, made.ticket_id, TicketEvent.RESOLVE, actor="eng-1", now=NOW + timedelta(hours=3),
               root_cause="ballast replaced")
    conn.commit()
    return made.ticket_id


def test_a_satisfied_resident_closes_the_ticket(conn, staff):
    ticket_id = _resolved_ticket(conn)
    result = record_return_visit(conn, ticket_id, Rating(5, 4, 5, 5, "fixed quickly"), by_user="agent-1",
                                 now=NOW + timedelta(hours=20))
    conn.commit()
    assert (result.satisfied, result.within_48h, result.state) == (True, True, "closed")


def test_an_unsatisfied_resident_reopens_it_and_a_new_work_order_is_raised(conn, staff):
    ticket_id = _resolved_ticket(conn)
    result = record_return_visit(conn, ticket_id, Rating(2, 3, 3, 1, "light flickers again"), by_user="agent-1",
                                 now=NOW + timedelta(hours=60))
    conn.commit()
    assert (result.satisfied, result.within_48h, result.state) == (False, False, "dispatched")
    row = conn.execute("SELECT reopen_count, resolved_at FROM tickets WHERE id = %s", (ticket_id,)).fetchone()
    assert row == (1, None)
    orders = [s for (s,) in conn.execute("SELECT status FROM work_orders WHERE ticket_id = %s ORDER BY id",
                                         (ticket_id,))]
    assert orders == ["done", "open"]


def test_ratings_outside_one_to_five_are_refused(conn, staff):
    ticket_id = _resolved_ticket(conn)
    with pytest.raises(InvalidInput, match="overall must be an integer from 1 to 5"):
        record_return_visit(conn, ticket_id, Rating(5, 5, 5, 6), by_user="agent-1", now=NOW)


def test_the_sweep_chases_a_return_visit_not_made_in_time(conn, staff):
    ticket_id = _resolved_ticket(conn)
    resolved = NOW + timedelta(hours=3)
    sla_sweep(conn, now=resolved)  # clears nothing: the resolution clock stopped at resolution
    before = conn.execute("SELECT count(*) FROM sla_alerts WHERE clock = 'return_visit'").fetchone()[0]
    assert before == 0
    assert sla_sweep(conn, now=resolved + timedelta(hours=25)) == 1
    assert sla_sweep(conn, now=resolved + timedelta(hours=49)) == 1
    assert sla_sweep(conn, now=resolved + timedelta(hours=50)) == 0
    conn.commit()
    alerts = conn.execute("SELECT level, recipient FROM sla_alerts WHERE ticket_id = %s AND clock = 'return_visit' "
                          "ORDER BY at", (ticket_id,)).fetchall()
    assert alerts == [("remind_50", "agent-1"), ("breach", "cs-head")]
