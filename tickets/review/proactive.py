"""The review's proactive figures (moved here from tickets/metrics.py; `compute.py` includes them in every
review, and GET /api/v1/metrics/review serves them alone): what only a proactive system can report: proactive
coverage (detected before the first complaint), anticipation at delivery (residents' warning delivered before the
first complaint) and the lead of each, complaints prevented, repeat faults, per-detector precision from engineers'
verdicts, and the industry's own closure and satisfaction rates. One period, computed in SQL; each figure is
defined in docs/review-metrics.md ("The proactive figures") and recomputed from the raw export by
tests/review/test_recompute.py."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import psycopg

# A visible incident: residents were warned about it (warning or critical) or complained about it.
_INCIDENTS = """
WITH inc AS (
    SELECT i.id, i.detector, i.detected_at, i.status, i.severity,
           (SELECT min(c.reported_at) FROM complaints c WHERE c.incident_id = i.id) AS first_complaint,
           (SELECT min(n.delivered_at) FROM notices n
            WHERE n.incident_id = i.id AND n.resident_id IS NOT NULL AND n.kind IN ('warning', 'update')
              AND n.delivered_at IS NOT NULL) AS first_delivered
    FROM incidents i
    WHERE i.root_incident_id IS NULL AND i.detected_at >= %(since)s AND i.detected_at < %(until)s
)
SELECT count(*),
       count(*) FILTER (WHERE severity <> 'info' OR first_complaint IS NOT NULL),
       count(*) FILTER (WHERE (severity <> 'info' OR first_complaint IS NOT NULL)
                          AND (first_complaint IS NULL OR first_complaint >= detected_at)),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_complaint - detected_at))
           FILTER (WHERE first_complaint IS NOT NULL),
       count(*) FILTER (WHERE status = 'recovered' AND first_complaint IS NULL AND severity <> 'info'),
       count(*) FILTER (WHERE (severity <> 'info' OR first_complaint IS NOT NULL) AND first_delivered IS NOT NULL
                          AND (first_complaint IS NULL OR first_delivered < first_complaint)),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_complaint - first_delivered))
           FILTER (WHERE first_complaint IS NOT NULL AND first_delivered IS NOT NULL)
FROM inc"""


@dataclass(frozen=True, slots=True)
class ReviewMetrics:
    incidents: int
    visible_incidents: int
    proactive_coverage: float | None  # share of visible incidents detected before the first complaint
    median_lead_s: float | None  # first complaint − detection (positive: we were first)
    anticipation_at_delivery: float | None  # share of visible incidents warned (delivered) before any complaint
    median_delivered_lead_s: float | None  # first complaint − first delivered warning (positive: residents knew)
    complaints_prevented: int  # visible incidents recovered without a single complaint
    complaints: int
    anticipated_complaints: int  # complaints that arrived after we had detected the incident
    repeat_faults: int  # preventive tickets reopened because the same fault returned
    repeat_fault_rate: float | None  # repeat_faults / the period's incidents: the device repeat-fault rate
    detector_precision: dict[str, float]  # 1 − false alarms / verdicts, per detector
    closure_rate: float | None  # closed / (closed + still open), cancelled excluded
    satisfaction_rate: float | None  # share of return visits rated 4–5 overall
    median_ack_s: float | None  # ticket created → acknowledged

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def review_metrics(conn: psycopg.Connection, *, since: datetime, until: datetime) -> ReviewMetrics:
    period = {"since": since, "until": until}
    total, visible, proactive, lead, prevented, warned, delivered_lead = conn.execute(  # type: ignore[misc]
        _INCIDENTS, period).fetchone()
    complaints, anticipated = conn.execute(
        """SELECT count(*), count(*) FILTER (WHERE anticipated) FROM complaints
           WHERE reported_at >= %(since)s AND reported_at < %(until)s""", period).fetchone()  # type: ignore[misc]
    repeats = conn.execute(
        """SELECT count(DISTINCT ticket_id) FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id
           WHERE e.event = 'reopen' AND e.actor = 'forewarn' AND t.source = 'preventive'
             AND e.at >= %(since)s AND e.at < %(until)s""", period).fetchone()[0]  # type: ignore[index]
    precision = {detector: round(1 - false / n, 4) for detector, false, n in conn.execute(
        """SELECT i.detector, count(*) FILTER (WHERE l.false_alarm), count(*)
           FROM detector_labels l LEFT JOIN tickets t ON t.id = l.ticket_id
                JOIN incidents i ON i.id = COALESCE(l.incident_id, t.incident_id)
           WHERE l.at >= %(since)s AND l.at < %(until)s GROUP BY i.detector ORDER BY i.detector""", period)}
    closed, still_open, ack = conn.execute(
        """SELECT count(*) FILTER (WHERE state = 'closed'),
                  count(*) FILTER (WHERE state NOT IN ('closed', 'cancelled')),
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM responded_at - created_at))
           FROM tickets WHERE created_at >= %(since)s AND created_at < %(until)s""", period).fetchone()  # type: ignore[misc]
    happy, visits = conn.execute(
        """SELECT count(*) FILTER (WHERE overall >= 4), count(*) FROM return_visits
           WHERE at >= %(since)s AND at < %(until)s""", period).fetchone()  # type: ignore[misc]
    return ReviewMetrics(
        incidents=total, visible_incidents=visible, proactive_coverage=_ratio(proactive, visible),
        median_lead_s=float(lead) if lead is not None else None, complaints_prevented=prevented,
        anticipation_at_delivery=_ratio(warned, visible),
        median_delivered_lead_s=float(delivered_lead) if delivered_lead is not None else None,
        complaints=complaints, anticipated_complaints=anticipated, repeat_faults=repeats,
        repeat_fault_rate=_ratio(repeats, total),
        detector_precision=precision, closure_rate=_ratio(closed, closed + still_open),
        satisfaction_rate=_ratio(happy, visits), median_ack_s=float(ack) if ack is not None else None,
    )
