"""Scorecards per department and person on the fixture month."""

from __future__ import annotations

import psycopg

from tickets.review.periods import parse_period
from tickets.review.scorecards import department_scorecards, person_scorecards

from .conftest import SHANGHAI, add_work_orders


def test_department_card_counts_its_tickets_and_complaint_work_orders(conn: psycopg.Connection,
                                                                      month: list[int]) -> None:
    conn.execute("UPDATE tickets SET owner_id = NULL")
    add_work_orders(conn, month[:70], done=65)
    october = parse_period("2026-10", SHANGHAI)
    cards = {c.who: c for c in department_scorecards(conn, october)}
    engineering = cards["engineering"]
    assert (engineering.tickets, engineering.resolution_rate, engineering.satisfaction_rate) == (200, 95.0, 92.0)
    assert (engineering.work_orders_from_complaints, engineering.work_orders_done) == (70, 65)
    assert engineering.response_24h == 100.0 and engineering.resolve_sla == 95.0


def test_person_card_follows_the_owner(conn: psycopg.Connection, month: list[int], staff: dict[str, str]) -> None:
    conn.execute("UPDATE tickets SET owner_id = 'eng-1', transfers = 1 WHERE id = ANY(%s)", (month[:10],))
    conn.commit()
    cards = {c.who: c for c in person_scorecards(conn, parse_period("2026-10", SHANGHAI))}
    assert set(cards) == {"eng-1"}
    assert (cards["eng-1"].tickets, cards["eng-1"].transfers, cards["eng-1"].satisfaction_rate) == (10, 10, 100.0)
