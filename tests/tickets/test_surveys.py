"""Satisfaction surveys: NPS as the handbooks define it, the sample share, groups and the priority matrix,
through the API with role checks."""

from __future__ import annotations

from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from api.app import create_app
from api.auth import ensure_resident_user, issue_token
from api.deps import AppState
from tickets.surveys import nps


def test_nps_is_promoters_minus_detractors():
    assert nps([10, 9, 8, 7, 6, 0]) == round(100 * (2 - 2) / 6, 1)
    assert nps([10, 10, 9, 3]) == 50.0
    assert nps([]) is None


def test_survey_round_through_the_api(estate_db_url, conn, staff):
    residents = [r[0] for r in conn.execute(
        "SELECT DISTINCT ON (unit_id) id FROM residents ORDER BY unit_id, id LIMIT 70")]
    resident_token = issue_token(conn, ensure_resident_user(conn, residents[0]))
    agent, manager = issue_token(conn, "agent-1"), issue_token(conn, "mgr")
    conn.commit()
    pool = ConnectionPool(estate_db_url, min_size=1, max_size=2, open=True)
    try:
        with TestClient(create_app(AppState(pool=pool))) as client:
            # Facility maintenance drives the overall score and scores lowest: it must come out "fix first".
            for i, resident in enumerate(residents):
                low = i % 2 == 0
                body = {"resident_id": resident, "basic_services": 4, "facility_maintenance": 2 if low else 4,
                        "communication": 3 + i % 2, "value_added": 4 - (i % 3 == 0),
                        "overall": 4 if low else 9, "recommend": 5 if low else 10}
                answer = client.post("/api/v1/surveys/2026-Q4", json=body, headers={"Authorization": f"Bearer {agent}"})
                assert answer.status_code == 201, answer.text
            mine = client.post("/api/v1/surveys/2026-Q4", headers={"Authorization": f"Bearer {resident_token}"},
                               json={"basic_services": 5, "facility_maintenance": 2, "communication": 3,
                                     "value_added": 4, "overall": 4, "recommend": 5})
            assert mine.status_code == 201  # the resident's own answer replaces the one the agent recorded
            bad = client.post("/api/v1/surveys/2026-Q4", headers={"Authorization": f"Bearer {resident_token}"},
                              json={"basic_services": 6, "facility_maintenance": 2, "communication": 3,
                                    "value_added": 4, "overall": 4, "recommend": 5})
            assert bad.status_code == 422
            assert client.get("/api/v1/surveys/2026-Q4/summary",
                              headers={"Authorization": f"Bearer {agent}"}).status_code == 403
            summary = client.get("/api/v1/surveys/2026-Q4/summary",
                                 headers={"Authorization": f"Bearer {manager}"}).json()
    finally:
        pool.close()
    assert summary["responses"] == 70 and summary["households"] == 600
    assert summary["sample_share"] == round(70 / 600, 4) and summary["sample_sufficient"] is True
    assert summary["nps"] == 0.0  # 35 promoters, 35 detractors
    facility = next(m for m in summary["priority_matrix"] if m["dimension"] == "facility_maintenance")
    assert facility["score"] == 3.0 and facility["impact"] == 1.0 and facility["quadrant"] == "fix first"
    assert set(summary["by_group"]) <= {"owner", "tenant"} and sum(
        g["responses"] for g in summary["by_group"].values()) == 70
