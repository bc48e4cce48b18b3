"""The benchmarks name each preventive ticket that no known fault explains, so that whoever reads the report can
look into it: the device, the fault, when it was detected, what the ticket says."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bench.anticipation import false_alarms
from detectors.alarm import Alarm, AlarmState, Evidence, Severity
from tickets.flows import handle_alarm

AT = datetime(2026, 11, 25, 3, 14, 15, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Wednesday


def test_each_false_alarm_ticket_is_named_with_its_device_fault_time_and_description(conn):
    alarm = Alarm(device_id="rs-b1-water-high", fault="pump_failure", state=AlarmState.RAISED,
                  severity=Severity.CRITICAL, since=AT - timedelta(minutes=2), ts=AT, detector="water_rules",
                  evidence=Evidence(summary="pump running, outlet pressure at 0.1 bar for 120 s"))
    made = handle_alarm(conn, alarm, now=AT)
    conn.commit()
    assert made.ticket_id is not None
    [line] = false_alarms(conn, [made.ticket_id])
    assert line == (f"#t{made.ticket_id}: rs-b1-water-high pump_failure at Wed 03:14:15: "
                    "pump running, outlet pressure at 0.1 bar for 120 s")
    assert false_alarms(conn, []) == []
