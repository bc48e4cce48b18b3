"""The classifier that learns from the desk's corrections (tickets/learned.py; docs/lifecycle.md "Taxonomy and
classification"): complaints of a kind the rules misread, once corrected by staff, teach it to read the next one
right; it is rebuilt from the recorded corrections on a fresh start; a correction through the REST route teaches
it; and until the desk has corrected anything the rules' answer stands unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from api.app import create_app
from api.auth import issue_token
from api.deps import AppState
from bench.classify import DATA, load
from forewarn.embedded import free_port
from forewarn.runtime import Platform, Role
from forewarn.settings import load_settings
from tickets.classify import Category, classify_text
from tickets.complaints import intake_complaint, reclassify
from tickets.config import TicketConfig
from tickets.group_risk import SYSTEM_ACTOR
from tickets.learned import LearnedClassifier, rebuild_from_db
from tickets.taxonomy import default_taxonomy

from .conftest import NOW
from .test_taxonomy import HANDBOOK_PHRASES

# An upstairs air conditioner dripping on the flat below: the rules read water (facility); the desk hands these to
# mediation between neighbours.
DRIPS = ["楼上空调外机一直往我家窗台滴水", "楼上的空调冷凝水滴到我家晾的衣服上", "楼上那家空调外机的水全滴在我家窗台上",
         "楼上空调滴水砸在我家雨棚上，咚咚响", "樓上的冷氣機一直滴水到我家窗台"]
NEXT_DRIP = "楼上空调外机的水滴在我家阳台上"


def _residents(conn, n: int) -> list[tuple[str, str]]:
    """`n` residents, each of a different unit."""
    return conn.execute("SELECT DISTINCT ON (unit_id) id, unit_id FROM residents WHERE active "
                        "ORDER BY unit_id, id LIMIT %s", (n,)).fetchall()


def _file(conn, resident: tuple[str, str], text: str, at: datetime, config: TicketConfig):
    made = intake_complaint(conn, resident_id=resident[0], unit_id=resident[1], channel="app", description=text,
                            lang="zh-CN", reported_at=at, now=at, config=config)
    conn.commit()
    return made


def test_corrected_complaints_teach_it_and_a_fresh_start_rebuilds_it_from_the_database(conn, staff):
    config = TicketConfig(learned=LearnedClassifier(default_taxonomy()))
    people = _residents(conn, len(DRIPS) + 1)
    for i, (text, who) in enumerate(zip(DRIPS, people, strict=False)):
        at = NOW + timedelta(days=2 * i)  # days apart: no group of households, each its own ticket
        assert classify_text(text).category is Category.FACILITY  # the rules read a water fault
        made = _file(conn, who, text, at, config)  # (after the first corrections, the model already knows better)
        reclassify(conn, made.ticket_id, category="neighbour", severity=None, by_user="agent-1",
                   note="upstairs air conditioner: mediation", now=at + timedelta(minutes=5), config=config)
        conn.commit()
    assert classify_text(NEXT_DRIP).category is Category.FACILITY  # the rules alone still misread it
    after = NOW + timedelta(days=2 * len(DRIPS))
    made = _file(conn, people[-1], NEXT_DRIP, after, config)
    assert made.category == "neighbour"
    ticket = conn.execute("SELECT category, severity, department_id FROM tickets WHERE id = %s",
                          (made.ticket_id,)).fetchone()
    assert ticket == ("neighbour", "complex", "complaint_handling")  # a complex case: the complaint-handling group

    fresh = LearnedClassifier(default_taxonomy())  # a restart: the seeds only, until rebuilt
    assert classify_text(NEXT_DRIP, learned=fresh).category is Category.FACILITY
    assert rebuild_from_db(conn, fresh) == len(DRIPS)
    assert fresh.predict(NEXT_DRIP) == config.learned.predict(NEXT_DRIP)
    assert classify_text(NEXT_DRIP, learned=fresh).category is Category.NEIGHBOUR


def test_what_the_desk_taught_does_not_change_the_handbooks_phrases():
    model = LearnedClassifier(default_taxonomy())
    for text in DRIPS:
        model.learn(text, "neighbour")
    for text, category, tier, point in HANDBOOK_PHRASES:
        found = classify_text(text, learned=model)
        assert (found.category, found.tier, found.subcategory) == (category, tier, point), text


def test_before_any_correction_the_rules_answer_stands_exactly():
    untrained = LearnedClassifier(default_taxonomy())
    texts = [text for text, *_ in HANDBOOK_PHRASES] + [r.text for r in load(DATA)] + DRIPS
    for text in texts:
        assert classify_text(text, learned=untrained) == classify_text(text), text


@pytest.fixture
def learning_client(estate_db_url, staff):
    pool = ConnectionPool(estate_db_url, min_size=1, max_size=4, open=True)
    config = TicketConfig(learned=LearnedClassifier(default_taxonomy()))
    try:
        with TestClient(create_app(AppState(pool=pool, broker_check=lambda: True, tickets=config))) as c:
            yield c, config
    finally:
        pool.close()


def test_a_correction_through_the_rest_route_teaches_it(learning_client, conn):
    client, config = learning_client
    agent = {"Authorization": f"Bearer {issue_token(conn, 'agent-1')}"}
    people = _residents(conn, len(DRIPS) + 1)
    conn.commit()
    for i, (text, (resident, unit)) in enumerate(zip(DRIPS, people, strict=False)):
        at = datetime.now(UTC) - timedelta(days=2 * (len(DRIPS) - i))
        made = client.post("/api/v1/complaints", headers=agent, json={
            "unit_id": unit, "resident_id": resident, "channel": "phone", "description": text, "lang": "zh-CN",
            "reported_at": at.isoformat()})
        assert made.status_code == 201, made.text
        fixed = client.patch(f"/api/v1/tickets/{made.json()['ticket_id']}/classification", headers=agent,
                             json={"category": "neighbour", "note": "upstairs air conditioner"})
        assert fixed.status_code == 200, fixed.text
        assert fixed.json()["category"] == "neighbour"
    assert config.learned is not None and config.learned.corrections == len(DRIPS)
    assert classify_text(NEXT_DRIP).category is Category.FACILITY
    resident, unit = people[-1]
    made = client.post("/api/v1/complaints", headers=agent, json={
        "unit_id": unit, "resident_id": resident, "channel": "phone", "description": NEXT_DRIP, "lang": "zh-CN",
        "reported_at": datetime.now(UTC).isoformat()})
    assert made.status_code == 201, made.text
    assert made.json()["category"] == "neighbour"


def test_the_platform_starts_with_the_corrections_recorded_in_the_database(conn, estate_db_url, staff, mosquitto,
                                                                          tmp_path):
    recorded = TicketConfig()  # corrections made before this start, by a process long gone
    for i, (text, who) in enumerate(zip(DRIPS, _residents(conn, len(DRIPS)), strict=True)):
        at = NOW + timedelta(days=2 * i)
        made = _file(conn, who, text, at, recorded)
        reclassify(conn, made.ticket_id, category="neighbour", severity=None, by_user="agent-1", note="",
                   now=at + timedelta(minutes=5), config=recorded)
        conn.commit()
    # The platform's own escalation (group risk: a ticket made major) is not the desk's reading of a text.
    lift = _file(conn, _residents(conn, len(DRIPS) + 1)[-1], "电梯坏了", NOW + timedelta(days=20), recorded)
    reclassify(conn, lift.ticket_id, category=None, severity="major", by_user=SYSTEM_ACTOR, note="group risk",
               now=NOW + timedelta(days=20), config=recorded)
    conn.commit()
    settings = load_settings(environ={}, database_url=estate_db_url, mqtt_url=mosquitto.url,
                             api_port=free_port(), data_dir=tmp_path)
    platform = Platform(settings, roles=frozenset({Role.SCHEDULER}))
    platform.start()
    try:
        assert platform.tickets.learned is not None and platform.tickets.learned.corrections == len(DRIPS)
        assert classify_text(NEXT_DRIP, learned=platform.tickets.learned).category is Category.NEIGHBOUR
        assert any("learned from 5 desk corrections" in line for line in platform.started)
    finally:
        platform.stop()
