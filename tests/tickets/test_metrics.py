"""Review metrics from a small known history: one incident anticipated, one missed, one with no complaint."""

from __future__ import annotations

from datetime import timedelta

from detectors.alarm import AlarmState
from tickets.channels import InAppChannel, MemoryChannel
from tickets.complaints import intake_complaint
from tickets.flows import handle_alarm, record_verdict
from tickets.outbox import dispatch
from tickets.review.proactive import review_metrics

from .conftest import NOW, make_alarm


def _complain(conn, text: str, at) -> None:
    intake_complaint(conn, resident_id="r-00001", unit_id="rs-b1-0101", channel="app", description=text,
                     lang="zh-CN", reported_at=at, now=at)


def test_review_metrics_count_proactive_and_missed_incidents(conn, staff):
    # 1. Detected first; a resident complains 20 minutes later (anticipated, lead +1200 s).
    lift = handle_alarm(conn, make_alarm("rs-b1-elev-a", "out_of_service"), now=NOW)
    _complain(conn, "电梯停运了也没有通知", NOW + timedelta(minutes=20))
    # 2. A resident complains 10 minutes before we detect the low-zone pump failure (missed, lead −600 s).
    _complain(conn, "没水了，什么时候能恢复？", NOW + timedelta(hours=1))
    handle_alarm(conn, make_alarm("rs-b1-water-low", "pump_failure"), now=NOW + timedelta(hours=1, minutes=10))
    # 3. A door fault nobody complains about, recovered: a complaint prevented.
    handle_alarm(conn, make_alarm("rs-b1-door-east", "door_fault"), now=NOW + timedelta(hours=2))
    handle_alarm(conn, make_alarm("rs-b1-door-east", "door_fault", AlarmState.CLEARED), now=NOW + timedelta(hours=3))
    record_verdict(conn, lift.ticket_id, false_alarm=False, by_user="eng-1", note="confirmed", now=NOW)
    conn.commit()
    metrics = review_metrics(conn, since=NOW - timedelta(days=1), until=NOW + timedelta(days=1))
    assert (metrics.incidents, metrics.visible_incidents, metrics.complaints_prevented) == (3, 3, 1)
    assert metrics.proactive_coverage == round(2 / 3, 4)
    assert (metrics.complaints, metrics.anticipated_complaints) == (2, 1)
    assert metrics.median_lead_s == (1200 - 600) / 2
    assert metrics.detector_precision == {"water_rules": 1.0}


def test_anticipation_counts_warnings_when_delivered_not_when_written(conn, staff):
    # 1. A lift fault whose warnings are delivered 2 minutes in; a resident complains 20 minutes in: anticipated at
    #    delivery, 18 minutes ahead.
    handle_alarm(conn, make_alarm("rs-b1-elev-a", "out_of_service"), now=NOW)
    conn.commit()
    channels = {"in_app": InAppChannel(), "webhook": MemoryChannel(), "email": MemoryChannel(), "mqtt": MemoryChannel()}
    dispatch(conn, now=NOW + timedelta(minutes=2), channels=channels)
    _complain(conn, "电梯停运了也没有通知", NOW + timedelta(minutes=20))
    # 2. A door fault detected, nobody complains, but its warnings were never delivered: detected first (coverage),
    #    not anticipated at delivery.
    handle_alarm(conn, make_alarm("rs-b1-door-east", "door_fault"), now=NOW + timedelta(hours=2))
    conn.commit()
    metrics = review_metrics(conn, since=NOW - timedelta(days=1), until=NOW + timedelta(days=1))
    assert (metrics.visible_incidents, metrics.proactive_coverage) == (2, 1.0)
    assert metrics.anticipation_at_delivery == 0.5
    assert metrics.median_delivered_lead_s == 18 * 60
    assert metrics.median_lead_s == 20 * 60
