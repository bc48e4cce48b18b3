"""The lifecycle table through the database: every legal transition writes state, version and an event row;
every illegal one raises and changes nothing; a stale version is refused; the docs diagram matches the table."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import psycopg
import pytest

from tickets.complaints import intake_complaint
from tickets.errors import ConcurrentChange, IllegalTransition
from tickets.lifecycle import TRANSITIONS, TicketEvent, TicketState, mermaid, next_state
from tickets.transitions import transition

from .conftest import NOW

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ticket_id(conn: psycopg.Connection, staff: dict[str, str]) -> int:
    """A complaint ticket about a bill (no device, so resolution is not held up by telemetry)."""
    result = intake_complaint(conn, resident_id="r-00001", unit_id="rs-b1-0101", channel="phone",
                              description="物业费多收了一个月，请核实账单", lang="zh-CN", reported_at=NOW, now=NOW,
                              taken_by="agent-1")
    conn.commit()
    return result.ticket_id


def _force(conn: psycopg.Connection, ticket_id: int, state: TicketState) -> int:
    """Test setup only: put the ticket in `state` directly, returning its version."""
    row = conn.execute("UPDATE tickets SET state = %s WHERE id = %s RETURNING version",
                       (state.value, ticket_id)).fetchone()
    conn.commit()
    return row[0]


def _events(conn: psycopg.Connection, ticket_id: int) -> list[tuple]:
    return conn.execute("SELECT event, from_state, to_state, actor FROM ticket_events WHERE ticket_id = %s "
                        "ORDER BY id", (ticket_id,)).fetchall()


def test_every_legal_transition_changes_state_and_writes_one_event(conn, ticket_id):
    for (source, event), target in TRANSITIONS.items():
        version = _force(conn, ticket_id, source)
        before = len(_events(conn, ticket_id))
        kwargs = {"department_id": "customer_service"} if event is TicketEvent.TRANSFER else {}
        if event is TicketEvent.TRANSFER:
            conn.execute("UPDATE tickets SET department_id = 'finance' WHERE id = %s", (ticket_id,))
        ticket = transition(conn, ticket_id, event, actor="agent-1", now=NOW, note=f"{source}->{event}", **kwargs)
        conn.commit()
        assert ticket.state == target, (source, event)
        assert ticket.version == version + 1
        events = _events(conn, ticket_id)
        assert len(events) == before + 1
        assert events[-1] == (event.value, source.value, target.value, "agent-1")


def test_every_illegal_transition_raises_and_changes_nothing(conn, ticket_id):
    illegal = [(s, e) for s in TicketState for e in TicketEvent if (s, e) not in TRANSITIONS]
    assert len(illegal) > 50  # the table is a whitelist: most pairs are illegal
    for state, event in illegal:
        version = _force(conn, ticket_id, state)
        before = len(_events(conn, ticket_id))
        with pytest.raises(IllegalTransition, match=f"cannot {event.value} a ticket that is {state.value}"):
            transition(conn, ticket_id, event, actor="agent-1", now=NOW, department_id="finance")
        conn.rollback()
        row = conn.execute("SELECT state, version FROM tickets WHERE id = %s", (ticket_id,)).fetchone()
        assert row == (state.value, version)
        assert len(_events(conn, ticket_id)) == before


def test_a_stale_version_is_refused(conn, ticket_id):
    current = conn.execute("SELECT version FROM tickets WHERE id = %s", (ticket_id,)).fetchone()[0]
    transition(conn, ticket_id, TicketEvent.ACKNOWLEDGE, actor="agent-1", now=NOW, expected_version=current)
    conn.commit()
    with pytest.raises(ConcurrentChange):
        transition(conn, ticket_id, TicketEvent.ARRIVE, actor="fin-1", now=NOW, expected_version=current)
    conn.rollback()
    assert conn.execute("SELECT state FROM tickets WHERE id = %s", (ticket_id,)).fetchone()[0] == "acknowledged"


def test_a_transfer_is_counted(conn, ticket_id):
    ticket = transition(conn, ticket_id, TicketEvent.TRANSFER, actor="fin-1", now=NOW,
                        department_id="customer_service", note="not a billing matter after all")
    conn.commit()
    assert (ticket.department_id, ticket.transfers, ticket.owner_id) == ("customer_service", 1, "agent-1")


def test_unknown_event_names_are_illegal():
    with pytest.raises(IllegalTransition):
        next_state("new", "teleport")


def test_docs_diagram_is_generated_from_the_table():
    doc = (ROOT / "docs" / "lifecycle.md").read_text(encoding="utf-8")
    block = re.search(r"```mermaid\n(.*?)```", doc, re.S)
    assert block is not None, "docs/lifecycle.md needs a ```mermaid block (python -m tickets.cli docs)"
    assert block.group(1) == mermaid(), "docs/lifecycle.md is stale: run `forewarn tickets diagram --write`"
    for (source, event), target in TRANSITIONS.items():
        assert f"{source.value} --> {target.value}: {event.value}" in doc


def test_two_staff_acting_at_once_one_wins_the_other_is_told(conn, ticket_id, estate_db_url):
    """Both read the ticket as dispatched; the second's guarded UPDATE waits for the first and then finds the
    state changed: it fails with ConcurrentChange instead of acknowledging twice."""
    conn.execute("SELECT 1")  # hold the first actor's transaction open across its transition
    transition(conn, ticket_id, TicketEvent.ACKNOWLEDGE, actor="agent-1", now=NOW)
    outcome: list[object] = []

    def second_actor() -> None:
        with psycopg.connect(estate_db_url) as other:
            try:
                transition(other, ticket_id, TicketEvent.ACKNOWLEDGE, actor="fin-1", now=NOW)
                other.commit()
                outcome.append("acknowledged")
            except (ConcurrentChange, IllegalTransition) as exc:
                outcome.append(exc)

    thread = threading.Thread(target=second_actor)
    thread.start()
    with psycopg.connect(estate_db_url, autocommit=True) as watcher:
        for _ in range(100):  # wait until the second actor is blocked on the row lock
            waiting = watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                      "AND datname = current_database()").fetchone()[0]
            if waiting:
                break
            time.sleep(0.05)
        assert waiting, "the second actor never waited for the first"
    conn.commit()
    thread.join(timeout=10)
    assert len(outcome) == 1 and isinstance(outcome[0], ConcurrentChange)
    acks = conn.execute("SELECT actor FROM ticket_events WHERE ticket_id = %s AND event = 'acknowledge'",
                        (ticket_id,)).fetchall()
    assert acks == [("agent-1",)]
