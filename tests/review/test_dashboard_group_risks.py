"""The dashboard's group risks (群体性风险, tickets.group_risk): a flag raised through complaint intake is listed on
its site's dashboard (building by name, the point, the households including those that joined later, local times,
the lead ticket) until its lead ticket is closed or cancelled; newest first; other sites do not show it."""

from __future__ import annotations

from datetime import timedelta

import psycopg

from tests.tickets.conftest import NOW, SHANGHAI
from tests.tickets.test_group_risk import PRESSURE, _complain, _households
from tickets.review.dashboard import OpenGroupRisk, Site, build_dashboard
from tickets.transitions import transition

RIVERSIDE = Site("riverside", "滨江花园 Riverside Gardens")
LAKEVIEW = Site("lakeview", "湖景苑")
LIFT = "电梯坏了，一直停在一楼不动"


def _risks(conn: psycopg.Connection, site: Site = RIVERSIDE, hours: int = 12) -> list[OpenGroupRisk]:
    return build_dashboard(conn, site, now=NOW + timedelta(hours=hours), tz=SHANGHAI).group_risks


def _end(conn: psycopg.Connection, ticket: int, *events: str) -> None:
    at = NOW + timedelta(hours=2)
    for i, event in enumerate(events):
        transition(conn, ticket, event, actor="mgr", now=at + timedelta(minutes=i))
    conn.commit()


def test_the_sites_open_group_risks_newest_first_until_their_lead_ticket_ends(conn: psycopg.Connection) -> None:
    assert _risks(conn) == []
    water = [_complain(conn, who, PRESSURE, 10 * i) for i, who in enumerate(_households(conn, "rs-b1", 6))]
    lift = [_complain(conn, who, LIFT, 120 + i) for i, who in enumerate(_households(conn, "rs-b2", 5))]
    flags = dict(conn.execute("SELECT ticket_id, households FROM group_risks").fetchall())
    assert flags == {water[0]: 5, lift[0]: 5}  # the sixth household joined the water flag: no second flag
    names = dict(conn.execute("SELECT id, name FROM buildings WHERE id IN ('rs-b1', 'rs-b2')").fetchall())
    shown = _risks(conn)
    assert [(r.ticket, r.building, r.households) for r in shown] == [
        (lift[0], names["rs-b2"], 5), (water[0], names["rs-b1"], 6)]  # newest first; the joined household counts
    assert shown[1].point == "water" and shown[1].state == "dispatched"
    assert shown[1].first_at == "2026-11-24T10:00+08:00"  # the first complaint, local
    assert shown[1].raised_at == "2026-11-24T10:40+08:00"  # the fifth household's arrival raised it
    assert _risks(conn, LAKEVIEW) == []
    _end(conn, water[0], "acknowledge", "resolve")
    assert [r.ticket for r in _risks(conn)] == [lift[0], water[0]]  # resolved is not closed: the resident decides
    _end(conn, water[0], "close")
    assert [r.ticket for r in _risks(conn)] == [lift[0]]
    _end(conn, water[0], "reopen")
    assert [r.ticket for r in _risks(conn)] == [lift[0], water[0]]  # the fault is back, and so is the flag
    _end(conn, water[0], "cancel")
    _end(conn, lift[0], "cancel")
    assert _risks(conn) == []
