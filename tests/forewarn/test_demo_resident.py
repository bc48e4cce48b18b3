"""The demo's resident is one the scripted fault affects, reading notices in the app: the fault reaches their
services page and their notices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from detectors.alarm import Alarm, AlarmState, Evidence, Severity
from forewarn.demo_resident import affected_resident
from simulators.scenario import load_scenario
from tickets.channels import InAppChannel
from tickets.flows import handle_alarm
from tickets.outbox import dispatch
from tickets.portal import resident_notices, unit_services

DEMO_SCENARIO = Path(__file__).resolve().parents[2] / "simulators" / "scenarios" / "demo.yaml"


def test_the_demo_resident_is_served_by_the_scripted_fault_and_sees_it(conn):
    fault = load_scenario(DEMO_SCENARIO).faults[0]
    resident = affected_resident(conn, fault.device_id)
    assert resident is not None
    unit, channel = conn.execute("SELECT unit_id, channel FROM residents WHERE id = %s", (resident,)).fetchone()
    assert conn.execute("SELECT 1 FROM device_units WHERE device_id = %s AND unit_id = %s",
                        (fault.device_id, unit)).fetchone() is not None
    assert channel == "app"
    now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    handle_alarm(conn, Alarm(device_id=fault.device_id, fault=fault.name, state=AlarmState.RAISED,
                             severity=Severity.CRITICAL, since=now - timedelta(minutes=1), ts=now, detector="demo",
                             evidence=Evidence("pressure at zero")), now=now)
    services = {s.device_id: s for s in unit_services(conn, unit)}
    assert services[fault.device_id].fault == fault.name
    assert resident_notices(conn, resident).items == []  # written, not yet delivered: not shown
    dispatch(conn, now=now, channels={"in_app": InAppChannel()})
    assert [n.kind for n in resident_notices(conn, resident).items] == ["warning"]
