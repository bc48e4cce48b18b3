"""`POST /api/v1/tickets/{id}/plan` and `/progress` (issue #16 point 1): staff only, clear 4xx for bad input, and the
record meets the ticket's clock (tickets/milestones.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from tickets.complaints import intake_complaint

from .conftest import bearer


def _major(url: str) -> int:
    now = datetime.now(UTC)
    with psycopg.connect(url) as conn:
        made = intake_complaint(conn, resident_id="r-00001", unit_id="rs-b1-0101", channel="app",
                                description="电梯困人了，快来", lang="zh-CN", reported_at=now, now=now)
        return made.ticket_id


def test_staff_record_a_plan_and_a_progress_report_residents_may_not(client, tokens, estate_db_url):
    ticket = _major(estate_db_url)
    assert client.post(f"/api/v1/tickets/{ticket}/plan", json={"text": "x"},
                       headers=bearer(tokens["resident"])).status_code == 403
    empty = client.post(f"/api/v1/tickets/{ticket}/plan", json={"text": "   "}, headers=bearer(tokens["agent"]))
    assert empty.status_code == 422 and "needs its text" in empty.json()["detail"]
    assert client.post("/api/v1/tickets/999999/progress", json={"text": "x"},
                       headers=bearer(tokens["agent"])).status_code == 404
    planned = client.post(f"/api/v1/tickets/{ticket}/plan", json={"text": "今晚更换制动器"},
                          headers=bearer(tokens["agent"]))
    assert planned.status_code == 201 and planned.json()["met"] == {"resolve": "plan"}
    assert planned.json()["ticket"]["resolve_met_at"] is not None
    reported = client.post(f"/api/v1/tickets/{ticket}/progress", json={"text": "制动器已到货"},
                           headers=bearer(tokens["manager"]))
    assert reported.status_code == 201 and reported.json()["met"] == {}
    with psycopg.connect(estate_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM notices WHERE ticket_id = %s AND kind = 'progress_report'",
                            (ticket,)).fetchone()[0] == 1
