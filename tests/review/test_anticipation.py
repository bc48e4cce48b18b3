"""The anticipation review from stored rows: a small known history written through the product's own flows
(alarms → incidents, tickets and notices; complaints → intake), then the figures a manager would check by hand."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from detectors.alarm import Alarm, AlarmState, Evidence, Severity
from tickets.anticipation import KnownFault, anticipation_report, by_hour_band, wilson
from tickets.channels import InAppChannel, MemoryChannel
from tickets.complaints import intake_complaint
from tickets.flows import handle_alarm
from tickets.outbox import dispatch

T0 = datetime(2026, 3, 3, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
MIN = timedelta(minutes=1)
OUTAGE = KnownFault("rs-b1-water-high", "supply_outage", T0, T0 + 60 * MIN, T0 + 2 * MIN)
TRAPPED = KnownFault("rs-b2-elev-a", "entrapment", T0 + 120 * MIN, T0 + 150 * MIN, T0 + 120 * MIN)
PUMP = KnownFault("lv-b1-water-high", "pump_failure", T0 + 180 * MIN, T0 + 240 * MIN, T0 + 190 * MIN)
STUCK = KnownFault("rs-b3-elev-b", "sensor_stuck", T0 + 200 * MIN, T0 + 260 * MIN)  # residents never notice


def alarm(device: str, fault: str, at: datetime, severity: Severity = Severity.CRITICAL) -> Alarm:
    return Alarm(device_id=device, fault=fault, state=AlarmState.RAISED, severity=severity, since=at - MIN / 2,
                 ts=at, detector="test_rules", evidence=Evidence("test evidence"))


def deliver(conn: psycopg.Connection, at: datetime, gateway: MemoryChannel | None = None) -> int:
    """The outbox at `at`: in-app, push and e-mail delivered; SMS/WeChat through `gateway` (a fake)."""
    conn.commit()
    channels = {"in_app": InAppChannel(), "mqtt": MemoryChannel(), "email": MemoryChannel(),
                "webhook": gateway or MemoryChannel()}
    return dispatch(conn, now=at, channels=channels)


def served(conn: psycopg.Connection, device: str) -> set[str]:
    return {r[0] for r in conn.execute(
        "SELECT r.id FROM device_units du JOIN residents r ON r.unit_id = du.unit_id WHERE du.device_id = %s "
        "AND r.active", (device,))}


def complain(conn: psycopg.Connection, device: str, text: str, at: datetime) -> int:
    resident, unit = conn.execute(
        "SELECT r.id, r.unit_id FROM device_units du JOIN residents r ON r.unit_id = du.unit_id "
        "WHERE du.device_id = %s ORDER BY r.id LIMIT 1", (device,)).fetchone()
    result = intake_complaint(conn, resident_id=resident, unit_id=unit, channel="app", description=text,
                              lang="zh-CN", reported_at=at, now=at)
    return result.ticket_id


@pytest.fixture
def history(conn: psycopg.Connection) -> psycopg.Connection:
    # 1. The outage is detected 30 s after its onset; a resident complains 10 minutes in: folded, anticipated.
    handle_alarm(conn, alarm("rs-b1-water-high", "supply_outage", T0 + MIN / 2), now=T0 + MIN / 2)
    deliver(conn, T0 + MIN / 2)
    complain(conn, "rs-b1-water-high", "1号楼停水了吗？家里一点水都没有。", T0 + 10 * MIN)
    # 2. Someone is trapped; their family calls 3 minutes in, two minutes before the detector raises: missed; the
    #    complaint's ticket, still untouched, is merged into the preventive one (one ticket for one fault).
    complain(conn, "rs-b2-elev-a", "急！电梯停在两层中间，里面有人出不来！", T0 + 123 * MIN)
    handle_alarm(conn, alarm("rs-b2-elev-a", "entrapment", T0 + 125 * MIN), now=T0 + 125 * MIN)
    deliver(conn, T0 + 125 * MIN)
    # 3. The pump failure is never detected (no rows at all). 4. The stuck sensor raises a warning: a ticket for
    #    engineering, no notice (a faulty sensor does not change the residents' service).
    handle_alarm(conn, alarm("rs-b3-elev-b", "sensor_stuck", T0 + 210 * MIN, Severity.WARNING),
                 now=T0 + 210 * MIN)
    # 5. A card-reader alarm with no fault behind it: a false alarm that warns the door's residents.
    handle_alarm(conn, alarm("rs-b3-door-lobby", "reader_offline", T0 + 300 * MIN), now=T0 + 300 * MIN)
    deliver(conn, T0 + 300 * MIN)
    conn.commit()
    return conn


def test_figures_come_from_the_stored_incidents_notices_and_complaints(history):
    conn = history
    until = T0 + timedelta(days=1)
    report = anticipation_report(conn, [OUTAGE, TRAPPED, PUMP, STUCK], since=T0, until=until)

    outage, trapped, pump = (report.per_fault[f] for f in ("supply_outage", "entrapment", "pump_failure"))
    assert (outage.anticipation_rate, trapped.anticipation_rate, pump.anticipation_rate) == (1.0, 0.0, 0.0)
    assert outage.notice_delay_median_s == 30 and outage.lead_median_s == 570  # 10 min − 30 s
    assert trapped.notice_delay_median_s == 300 and trapped.lead_median_s == -120  # notice after the call
    assert pump.notice_delay_median_s is None and pump.notice_recall == 0.0
    assert outage.duplicate_tickets == 0 and trapped.duplicate_tickets == 0
    # The outage's complaint joined the open incident; the trapped family's came first and was merged later.
    assert (outage.folding_share, trapped.folding_share) == (1.0, 0.0)

    total = report.total
    assert (total.visible, total.anticipation_rate) == (3, pytest.approx(1 / 3))
    assert total.notice_delay_median_s == pytest.approx((30 + 300) / 2)
    a, b, c = (served(conn, d) for d in ("rs-b1-water-high", "rs-b2-elev-a", "lv-b1-water-high"))
    stuck, door = served(conn, "rs-b3-elev-b"), served(conn, "rs-b3-door-lobby")
    assert total.notice_recall == pytest.approx((len(a) + len(b)) / (len(a) + len(b) + len(c)))
    # Every early warning counts for precision, the false alarm's too; the stuck sensor warned nobody.
    stuck_outcome = next(o for o in report.outcomes if o.fault.fault == "sensor_stuck")
    assert stuck_outcome.incidents and stuck_outcome.tickets and stuck_outcome.notified == set()
    assert stuck  # it does serve residents: they were not told because a stuck sensor does not affect them
    notified = len(a) + len(b) + len(door)
    assert total.notice_precision == pytest.approx((len(a) + len(b)) / notified)
    assert (total.complaints, total.duplicate_tickets, total.folding_share) == (2, 0, 0.5)

    assert report.false_alarms == 1 and report.residents_disturbed == len(door)
    door_ticket = conn.execute("SELECT id FROM tickets WHERE device_id = 'rs-b3-door-lobby'").fetchone()[0]
    assert report.false_alarm_tickets == (door_ticket,)  # the manager can open the ticket it was
    devices = conn.execute("SELECT count(*) FROM devices").fetchone()[0]
    assert report.device_days == devices
    assert report.false_alarms_per_100_device_days == pytest.approx(100 / devices)


def test_a_notice_counts_from_its_delivery_not_from_when_it_was_written(conn):
    # The outage is detected 30 s in, but its residents take text messages and the gateway is down until 12 minutes
    # in; a resident complains at 10 minutes: the notice reached nobody before the complaint.
    conn.execute("UPDATE residents SET channel = 'sms', phone = '138' || right(id, 5) WHERE unit_id IN "
                 "(SELECT unit_id FROM device_units WHERE device_id = 'rs-b1-water-high')")
    handle_alarm(conn, alarm("rs-b1-water-high", "supply_outage", T0 + MIN / 2), now=T0 + MIN / 2)
    assert deliver(conn, T0 + MIN / 2, MemoryChannel(fail_times=100_000)) == 0
    complain(conn, "rs-b1-water-high", "1号楼停水了吗？家里一点水都没有。", T0 + 10 * MIN)
    held = anticipation_report(conn, [OUTAGE], since=T0, until=T0 + 11 * MIN, device_days=1.0)
    assert held.total.anticipation_rate == 0.0 and held.total.notice_delay_median_s is None
    assert held.total.notice_recall == 0.0  # written for every affected resident, delivered to none
    assert deliver(conn, T0 + 12 * MIN) > 0
    report = anticipation_report(conn, [OUTAGE], since=T0, until=T0 + timedelta(days=1), device_days=1.0)
    outcome = report.outcomes[0]
    stored = conn.execute("SELECT min(delivered_at), min(created_at) FROM notices WHERE kind = 'warning'").fetchone()
    assert stored == (T0 + 12 * MIN, T0 + MIN / 2)
    assert outcome.first_notice == stored[0] and not outcome.anticipated
    assert report.total.notice_delay_median_s == 12 * 60 and report.total.lead_median_s == -2 * 60
    assert (report.total.anticipated, report.total.anticipation_lower95) == (0, 0.0)


def test_wilson_interval_and_hour_bands(history):
    # 39 of 39 supports no more than about 91 % at 95 % confidence (issue #20's own reading).
    assert wilson(39, 39) == (pytest.approx(0.9103, abs=1e-4), 1.0)
    low, high = wilson(36, 39)
    assert low == pytest.approx(0.797, abs=1e-3) and high == pytest.approx(0.973, abs=1e-3)
    report = anticipation_report(history, [OUTAGE, TRAPPED, PUMP, STUCK], since=T0, until=T0 + timedelta(days=1))
    bands = by_hour_band(report.outcomes, ZoneInfo("Asia/Shanghai"))
    # 10:00 and 12:00 onsets fall in 09-17; the pump's at 13:00 too: one band, the same figures as the total.
    assert list(bands) == ["09-17"]
    assert bands["09-17"].anticipation_rate == report.total.anticipation_rate
    assert report.total.anticipation_lower95 == pytest.approx(wilson(1, 3)[0])


def test_only_the_period_counts(history):
    # Up to just before the entrapment was detected: its complaint came, no notice yet; the door alarm is outside.
    report = anticipation_report(history, [OUTAGE, TRAPPED], since=T0, until=T0 + 124 * MIN,
                                 device_days=10.0)
    trapped = report.per_fault["entrapment"]
    assert (trapped.anticipation_rate, trapped.notice_delay_median_s, trapped.complaints) == (0.0, None, 1)
    assert report.false_alarms == 0 and report.false_alarms_per_100_device_days == 0.0
    assert report.per_fault["supply_outage"].anticipation_rate == 1.0
