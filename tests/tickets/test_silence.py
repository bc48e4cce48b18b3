"""Silence groups (issue #20 point 5): several devices of one building falling silent together are one building-level
incident with one work order and a warning to exactly that building's residents once the silence outlasts the hold;
a lone silent device is a ticket for engineering only; a short blip warns nobody; a device in planned maintenance
does not count. Real PostgreSQL (the `conn` fixture's fresh database with the demo estate)."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg

from detectors.alarm import Alarm, AlarmState, Evidence, Severity
from tickets.config import DEFAULT_CONFIG
from tickets.flows import handle_alarm, settle_silence
from tickets.maintenance import start_window
from tickets.notices import render
from tickets.portal import unit_services
from tickets.silence import GROUP_FAULT, warn_due_groups

from .conftest import NOW

BUILDING = "rs-b2"
DEVICES = [f"{BUILDING}-{d}" for d in ("elev-a", "elev-b", "door-lobby", "door-garage", "door-east", "door-west",
                                       "water-low", "water-high")]
HOLD = timedelta(minutes=2)


def offline(device_id: str, at: datetime, state: AlarmState = AlarmState.RAISED) -> Alarm:
    """The alarm the detectors raise on a device's last will (presence.py): the silence began when it arrived."""
    return Alarm(device_id=device_id, fault="device_offline", state=state, severity=Severity.WARNING, since=at, ts=at,
                 detector="presence", evidence=Evidence("the device reported itself offline (connection lost)",
                                                        metric="online", value=0.0))


def power_cut(conn: psycopg.Connection, devices: list[str] = DEVICES, start: datetime = NOW,
              step_s: float = 2.0) -> list[str]:
    """The devices' last wills, a few seconds apart (as a broker sends them after a cut); the actions taken."""
    return [handle_alarm(conn, offline(d, start + timedelta(seconds=i * step_s)),
                         now=start + timedelta(seconds=i * step_s)).action for i, d in enumerate(devices)]


def back(conn: psycopg.Connection, devices: list[str], at: datetime) -> int:
    return sum(handle_alarm(conn, offline(d, at, AlarmState.CLEARED), now=at).notices for d in devices)


def residents_of_building(conn: psycopg.Connection, building: str) -> set[str]:
    return {r[0] for r in conn.execute(
        "SELECT r.id FROM residents r JOIN units u ON u.id = r.unit_id WHERE u.building_id = %s AND r.active",
        (building,))}


def resident_notices(conn: psycopg.Connection, kind: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT resident_id FROM notices WHERE resident_id IS NOT NULL AND kind = %s ORDER BY resident_id", (kind,))]


def live_work_orders(conn: psycopg.Connection) -> list[tuple[str | None, str | None]]:
    return conn.execute("""SELECT t.building_id, w.fault FROM work_orders w JOIN tickets t ON t.id = w.ticket_id
                           WHERE w.status NOT IN ('done', 'cancelled')""").fetchall()


def test_eight_devices_silent_together_are_one_incident_one_work_order_and_warn_exactly_the_buildings_residents(
        conn, staff):
    actions = power_cut(conn)
    # The first two still looked alone and opened tickets; the third made it a group, which took them over.
    assert actions == ["opened", "opened"] + ["attached"] * 6
    assert conn.execute("SELECT count(*) FROM silence_groups WHERE building_id = %s AND status = 'open'",
                        (BUILDING,)).fetchone()[0] == 1
    tickets = conn.execute("""SELECT DISTINCT ticket_id FROM incidents WHERE fault = 'device_offline'
                              AND device_id = ANY(%s)""", (DEVICES,)).fetchall()
    assert len(tickets) == 1
    group_ticket = tickets[0][0]
    title, fault = conn.execute("SELECT title, fault FROM tickets WHERE id = %s", (group_ticket,)).fetchone()
    # In both languages, as the pushes to staff and the exports carry it: the building's name is its own.
    assert fault == GROUP_FAULT and title == "疑似停电或断网 / likely power cut or network loss @ 2号楼 Building 2"
    assert live_work_orders(conn) == [(BUILDING, GROUP_FAULT)]
    merged = conn.execute("SELECT state FROM tickets WHERE id <> %s", (group_ticket,)).fetchall()
    assert merged == [("cancelled",), ("cancelled",)]
    assert conn.execute("SELECT count(*) FROM incidents WHERE fault = %s AND status = 'open'",
                        (GROUP_FAULT,)).fetchone()[0] == 1
    # Nobody is warned before the hold time; then exactly the building's residents, once each.
    assert warn_due_groups(conn, now=NOW + HOLD - timedelta(seconds=1), config=DEFAULT_CONFIG) == 0
    assert resident_notices(conn, "warning") == []
    sent = warn_due_groups(conn, now=NOW + HOLD, config=DEFAULT_CONFIG)
    warned = resident_notices(conn, "warning")
    assert sent == len(warned) and set(warned) == residents_of_building(conn, BUILDING)
    assert len(warned) == len(set(warned))
    assert not set(warned) & (residents_of_building(conn, "rs-b1") | residents_of_building(conn, "rs-b3"))
    assert warn_due_groups(conn, now=NOW + HOLD + timedelta(minutes=1), config=DEFAULT_CONFIG) == 0  # safe to run twice


def test_a_lone_silent_device_is_a_ticket_for_engineering_and_warns_nobody(conn, staff):
    assert power_cut(conn, [f"{BUILDING}-elev-a"]) == ["opened"]
    assert warn_due_groups(conn, now=NOW + timedelta(minutes=30), config=DEFAULT_CONFIG) == 0
    assert live_work_orders(conn) == [(BUILDING, "device_offline")]
    assert conn.execute("SELECT count(*) FROM silence_groups").fetchone()[0] == 0
    assert resident_notices(conn, "warning") == []


def test_silences_in_two_buildings_are_not_one_event(conn, staff):
    # Two devices of building 2 and one of building 3 within seconds: in each building that is too few.
    actions = power_cut(conn, [f"{BUILDING}-elev-a", "rs-b3-elev-a", f"{BUILDING}-water-low"])
    assert actions == ["opened"] * 3
    assert conn.execute("SELECT count(*) FROM silence_groups").fetchone()[0] == 0


def test_a_thirty_second_blip_of_the_whole_building_warns_nobody_and_leaves_a_record(conn, staff):
    power_cut(conn, step_s=1.0)
    assert back(conn, DEVICES, NOW + timedelta(seconds=30)) == 0
    assert warn_due_groups(conn, now=NOW + timedelta(minutes=5), config=DEFAULT_CONFIG) == 0
    assert resident_notices(conn, "warning") == [] and resident_notices(conn, "restored") == []
    status, warned, ticket = conn.execute("SELECT status, warned_at, ticket_id FROM silence_groups").fetchone()
    assert (status, warned) == ("resolved", None)
    events = [r[0] for r in conn.execute("SELECT event FROM ticket_events WHERE ticket_id = %s ORDER BY id",
                                         (ticket,))]
    assert "silence_group_opened" in events and events[-1] == "silence_group_resolved"


def test_devices_back_resolve_the_incident_and_the_warned_residents_hear_restored_once(conn, staff):
    power_cut(conn)
    warn_due_groups(conn, now=NOW + timedelta(minutes=3), config=DEFAULT_CONFIG)
    warned = resident_notices(conn, "warning")
    later = NOW + timedelta(minutes=40)
    assert back(conn, DEVICES[:-1], later) == 0  # the high-zone booster is still silent: not over yet
    assert conn.execute("SELECT status FROM silence_groups").fetchone()[0] == "open"
    assert back(conn, DEVICES[-1:], later + timedelta(seconds=5)) == len(warned)
    assert resident_notices(conn, "restored") == warned
    assert conn.execute("SELECT status FROM silence_groups").fetchone()[0] == "resolved"
    assert conn.execute("SELECT status, recovered_at FROM incidents WHERE fault = %s", (GROUP_FAULT,)).fetchone() \
        == ("recovered", later + timedelta(seconds=5))
    assert conn.execute("SELECT count(*) FROM incidents WHERE status = 'open'").fetchone()[0] == 0


def test_a_device_that_falls_silent_after_the_warning_joins_the_group_and_warns_whom_it_adds(conn, staff):
    doors = [d for d in DEVICES if "-door-" in d]
    power_cut(conn, doors)  # the doors alone: a group, but no lift or water silent yet, so nobody to warn
    assert warn_due_groups(conn, now=NOW + HOLD, config=DEFAULT_CONFIG) == 0
    result = handle_alarm(conn, offline(f"{BUILDING}-water-high", NOW + timedelta(minutes=3)),
                          now=NOW + timedelta(minutes=3))
    assert result.action == "attached" and result.notices > 0
    served = {r[0] for r in conn.execute(
        """SELECT r.id FROM device_units du JOIN residents r ON r.unit_id = du.unit_id
           WHERE du.device_id = %s AND r.active""", (f"{BUILDING}-water-high",))}
    assert set(resident_notices(conn, "warning")) == served


def test_devices_in_planned_maintenance_do_not_count_toward_a_power_cut(conn, staff):
    for lift in DEVICES[:2]:  # both lifts parked for a planned visit, their monitoring switched off with them
        start_window(conn, lift, starts_at=NOW - timedelta(minutes=10), ends_at=NOW + timedelta(hours=2),
                     reason="年检 annual inspection", set_by="eng-1")
    assert power_cut(conn, DEVICES[:3]) == ["suppressed", "suppressed", "opened"]
    assert conn.execute("SELECT count(*) FROM silence_groups").fetchone()[0] == 0
    assert resident_notices(conn, "warning") == []


def test_the_warning_names_the_services_lost():
    assert render("warning", "en", device_kind="elevator+water", place="Building 2")[0] \
        == "Lift and water supply problem at Building 2"
    assert render("warning", "zh-CN", device_kind="elevator+water", place="2号楼")[0] == "2号楼电梯和供水异常提醒"


def test_a_device_still_silent_after_its_building_came_back_gets_its_own_ticket_and_residents_hear_restored(
        conn, staff):
    power_cut(conn)
    settle_silence(conn, now=NOW + timedelta(minutes=3), config=DEFAULT_CONFIG)
    warned = resident_notices(conn, "warning")
    power_back = NOW + timedelta(minutes=40)
    back(conn, DEVICES[:-1], power_back)  # the high-zone booster's box did not survive the cut
    settle_silence(conn, now=power_back + HOLD - timedelta(seconds=1), config=DEFAULT_CONFIG)
    assert conn.execute("SELECT status FROM silence_groups").fetchone()[0] == "open"  # it may be just slow
    settle_silence(conn, now=power_back + HOLD, config=DEFAULT_CONFIG)
    assert conn.execute("SELECT status FROM silence_groups").fetchone()[0] == "resolved"
    assert resident_notices(conn, "restored") == warned
    # The booster's silence is now a lone silent device: a ticket of its own for engineering, nobody warned again.
    ticket, fault, device = conn.execute(
        """SELECT t.id, t.fault, t.device_id FROM incidents i JOIN tickets t ON t.id = i.ticket_id
           WHERE i.device_id = %s AND i.status = 'open'""", (DEVICES[-1],)).fetchone()
    assert (fault, device) == ("device_offline", DEVICES[-1])
    assert conn.execute("SELECT count(*) FROM work_orders WHERE ticket_id = %s AND status = 'open'",
                        (ticket,)).fetchone()[0] == 1
    assert resident_notices(conn, "warning") == warned
    assert back(conn, DEVICES[-1:], power_back + timedelta(hours=1)) == 0


def test_the_resident_pages_show_a_buildings_silence_only_once_its_residents_were_warned(conn, staff):
    unit = conn.execute("""SELECT du.unit_id FROM device_units du WHERE du.device_id = %s
                           ORDER BY du.unit_id LIMIT 1""", (f"{BUILDING}-water-high",)).fetchone()[0]
    power_cut(conn)
    assert all(s.fault is None for s in unit_services(conn, unit))  # inside the hold: nothing to see yet
    settle_silence(conn, now=NOW + HOLD, config=DEFAULT_CONFIG)
    shown = {s.device_id: s.fault for s in unit_services(conn, unit)}
    assert shown[f"{BUILDING}-elev-a"] == shown[f"{BUILDING}-elev-b"] == shown[f"{BUILDING}-water-high"] \
        == GROUP_FAULT
