"""The manager's dashboard of one site, from rows written through the lifecycle: exactly the site's overdue
tickets (the digest's query), what is open, today's figures and anticipation, and the months of the trend."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg

from detectors.alarm import Alarm, AlarmState, Evidence, Severity
from tickets.complaints import intake_complaint
from tickets.flows import handle_alarm
from tickets.review.dashboard import Site, build_dashboard, last_months, list_sites
from tickets.review.digest import list_overdue
from tickets.transitions import transition

from .conftest import SHANGHAI

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=SHANGHAI)
RIVERSIDE = Site("riverside", "滨江花园 Riverside Gardens")


def _resident(conn: psycopg.Connection, site: str, n: int) -> tuple[str, str]:
    row = conn.execute("""SELECT r.unit_id, r.id FROM residents r JOIN units u ON u.id = r.unit_id
                          JOIN buildings b ON b.id = u.building_id WHERE b.site_id = %s AND r.active
                          ORDER BY r.id OFFSET %s LIMIT 1""", (site, n)).fetchone()
    assert row is not None
    return row


def _complain(conn: psycopg.Connection, site: str, n: int, text: str, at: datetime) -> int:
    unit, resident = _resident(conn, site, n)
    return intake_complaint(conn, resident_id=resident, unit_id=unit, channel="app", description=text,
                            lang="zh-CN", reported_at=at, now=at).ticket_id


def test_the_dashboard_lists_exactly_its_sites_overdue_tickets(conn: psycopg.Connection) -> None:
    late = {_complain(conn, "riverside", i, text, NOW - timedelta(days=3))
            for i, text in enumerate(("楼下装修噪音太吵", "车位被占了", "邻居的狗一直叫"))}
    elsewhere = _complain(conn, "lakeview", 0, "小区路灯不亮", NOW - timedelta(days=3))
    fresh = _complain(conn, "riverside", 5, "垃圾没有清运", NOW - timedelta(minutes=30))
    conn.commit()
    board = build_dashboard(conn, RIVERSIDE, now=NOW, tz=SHANGHAI)
    assert {item.ticket for item in board.overdue} == late
    assert {item.ticket for item in list_overdue(conn, now=NOW, tz=SHANGHAI, site="lakeview")} == {elsewhere}
    assert {item.ticket for item in list_overdue(conn, now=NOW, tz=SHANGHAI)} == late | {elsewhere}  # the digest
    assert board.open_count == 4 and fresh not in {item.ticket for item in board.overdue}
    today = board.today["complaint"]
    assert today["tickets"].value == 1.0  # only the fresh one was filed today
    assert today["response_24h"].value == 0.0 and today["response_24h"].ok is False
    transition(conn, fresh, "acknowledge", actor="agent", now=NOW - timedelta(minutes=20))
    conn.commit()
    again = build_dashboard(conn, RIVERSIDE, now=NOW, tz=SHANGHAI)
    assert again.today["complaint"]["response_24h"].value == 100.0
    assert again.today["complaint"]["response_24h"].ok is True


def test_open_incidents_and_todays_anticipation(conn: psycopg.Connection) -> None:
    at = NOW - timedelta(hours=1)
    handle_alarm(conn, Alarm(device_id="rs-b1-water-high", fault="supply_outage", state=AlarmState.RAISED,
                             severity=Severity.CRITICAL, since=at - timedelta(seconds=30), ts=at,
                             detector="test_rules", evidence=Evidence("test evidence")), now=at)
    unit, resident = conn.execute("""SELECT r.unit_id, r.id FROM device_units du JOIN residents r
                                     ON r.unit_id = du.unit_id WHERE du.device_id = 'rs-b1-water-high'
                                     ORDER BY r.id LIMIT 1""").fetchone()  # type: ignore[misc]
    intake_complaint(conn, resident_id=resident, unit_id=unit, channel="app", description="1号楼停水了吗？",
                     lang="zh-CN", reported_at=at + timedelta(minutes=10), now=at + timedelta(minutes=10))
    _complain(conn, "riverside", 7, "电梯按钮坏了", NOW - timedelta(minutes=5))  # no fault known: not anticipated
    conn.commit()
    board = build_dashboard(conn, RIVERSIDE, now=NOW, tz=SHANGHAI)
    assert [(i.device, i.fault) for i in board.incidents] == [("rs-b1-water-high", "supply_outage")]
    assert (board.anticipation.complaints, board.anticipation.anticipated) == (2, 1)
    assert board.anticipation.share == 50.0
    lakeview = build_dashboard(conn, Site("lakeview", "湖景苑"), now=NOW, tz=SHANGHAI)
    assert lakeview.incidents == [] and lakeview.anticipation.complaints == 0 and lakeview.anticipation.share is None


def test_the_trend_is_the_last_twelve_months_with_the_reviews_figures(conn: psycopg.Connection,
                                                                       month: list[int]) -> None:
    assert [s.id for s in list_sites(conn)] == ["lakeview", "riverside"]
    months = last_months(NOW.date(), SHANGHAI)
    assert (months[0].label, months[-1].label, len(months)) == ("2025-12", "2026-11", 12)
    board = build_dashboard(conn, RIVERSIDE, now=NOW, tz=SHANGHAI)
    october = {f.month.isoformat(): f for f in board.trend}["2026-10-01"]
    assert october.figures["complaints"] == 200.0
    assert october.figures["resolution_rate"] == 95.0 and october.figures["closed_loop_rate"] == 92.5
    assert october.figures["satisfaction_rate"] == 92.0
    assert all(f.figures["complaints"] == 0.0 for f in board.trend if f.month.month != 10)
