"""Random event sequences against a real ticket: whatever users try, the table decides, and the invariants hold."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tickets.complaints import intake_complaint
from tickets.config import DEFAULT_CONFIG
from tickets.errors import IllegalTransition
from tickets.lifecycle import TRANSITIONS, TicketEvent, TicketState
from tickets.transitions import transition

from .conftest import NOW

# Every example files one more complaint for the same resident at the same instant, in one database: the hourly
# complaint limit (tests/api/test_rate_limit.py) is not what this test is about, nor is the warranty (each example's
# complaint would otherwise be a repeat of the repair an earlier example resolved, with a link event on its timeline),
# nor the household's join (it would join an earlier example's ticket still open).
UNLIMITED = replace(DEFAULT_CONFIG, complaints_per_hour=1_000_000, warranty=timedelta(0), join_window=timedelta(0))

DONE = {TicketState.RESOLVED, TicketState.CLOSED, TicketState.CANCELLED, TicketState.REOPENED}


def _check_invariants(conn: psycopg.Connection, ticket_id: int, expected_state: TicketState, version: int,
                      events: int) -> None:
    state, db_version, resolved_at, closed_at, paused_at = conn.execute(
        "SELECT state, version, resolved_at, closed_at, sla_paused_at FROM tickets WHERE id = %s",
        (ticket_id,)).fetchone()
    assert (state, db_version) == (expected_state.value, version)
    assert (resolved_at is not None) == (state in ("resolved", "closed"))
    assert (closed_at is not None) == (state == "closed")
    assert (paused_at is not None) == (state == "waiting_resident")
    assert conn.execute("SELECT count(*) FROM ticket_events WHERE ticket_id = %s",
                        (ticket_id,)).fetchone()[0] == events
    live = conn.execute("SELECT count(*) FROM work_orders WHERE ticket_id = %s AND status NOT IN "
                        "('done', 'cancelled')", (ticket_id,)).fetchone()[0]
    assert live <= 1
    if expected_state in DONE:
        assert live == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(list(TicketEvent)), min_size=1, max_size=14))
def test_random_event_sequences_keep_the_invariants(conn, staff, sequence):
    made = intake_complaint(conn, resident_id="r-00001", unit_id="rs-b1-0101", channel="app",
                            description="楼道的灯坏了", lang="zh-CN", reported_at=NOW, now=NOW, config=UNLIMITED)
    conn.commit()
    ticket_id, state, version, events = made.ticket_id, TicketState.DISPATCHED, 2, 2  # created + dispatch
    departments = ["customer_service", "engineering"]
    for step, event in enumerate(sequence):
        department = departments[step % 2]
        legal = (state, event) in TRANSITIONS
        if event is TicketEvent.TRANSFER and legal:
            current = conn.execute("SELECT department_id FROM tickets WHERE id = %s", (ticket_id,)).fetchone()[0]
            department = "customer_service" if current == "engineering" else "engineering"
        try:
            ticket = transition(conn, ticket_id, event, actor="agent-1", now=NOW, department_id=department,
                                config=UNLIMITED)
        except IllegalTransition:
            conn.rollback()
            assert not legal
        else:
            conn.commit()
            assert legal
            state, version, events = TRANSITIONS[(state, event)], version + 1, events + 1
            assert ticket.state == state
        _check_invariants(conn, ticket_id, state, version, events)
