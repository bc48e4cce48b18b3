"""Announcements (issue #16 point 10): an announcement to one building reaches each of its current residents exactly
once, delivered by the outbox, and nobody else; a retry writes nothing; a resident opening it records one read
receipt; the manager sees recipients, delivered and read (API and CLI); residents may not announce."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool
from typer.testing import CliRunner

from api.app import create_app
from api.auth import ensure_resident_user, issue_token
from api.deps import AppState
from api.web.sessions import start_session
from tickets.announce_cli import app as announce_app
from tickets.announcements import (
    AnnouncementProblem,
    AnnouncementRefused,
    Stats,
    create_announcement,
    dedupe_key,
    fan_out,
    get_announcement,
    stats,
)
from tickets.channels import InAppChannel, MemoryChannel
from tickets.config import DEFAULT_CONFIG
from tickets.errors import InvalidInput
from tickets.outbox import dispatch

from .conftest import NOW, SHANGHAI

runner = CliRunner()


def deliver(conn, at: datetime) -> int:
    """The scheduler's outbox job: every channel a resident may use (gateways are recording fakes)."""
    channels = {"in_app": InAppChannel(), "webhook": MemoryChannel(), "email": MemoryChannel(), "mqtt": MemoryChannel()}
    conn.commit()
    return dispatch(conn, now=at, channels=channels)


def residents_of_building(conn, building: str) -> set[str]:
    return {r[0] for r in conn.execute(
        "SELECT r.id FROM residents r JOIN units u ON u.id = r.unit_id WHERE u.building_id = %s AND r.active",
        (building,))}


def announce(conn, **extra):
    fields = {"site_id": "riverside", "building_id": "rs-b1", "kind": "planned_outage", "title_zh": "计划停水通知",
              "body_zh": "因二次供水水箱清洗，1号楼将暂停供水。", "title_en": "Planned water outage",
              "body_en": "Building 1's water is off while the tanks are cleaned.",
              "starts_at": NOW + timedelta(days=3), "ends_at": NOW + timedelta(days=3, hours=4),
              "author": "mgr", "now": NOW, "config": DEFAULT_CONFIG} | extra
    return create_announcement(conn, **fields)


def test_an_announcement_to_one_building_reaches_each_resident_once_and_nobody_else(conn, staff):
    building = residents_of_building(conn, "rs-b1")
    moved_out = sorted(building)[0]
    conn.execute("UPDATE residents SET active = false WHERE id = %s", (moved_out,))
    building.discard(moved_out)
    assert len(building) > 10 and residents_of_building(conn, "rs-b2")  # another building with residents
    announcement, sent = announce(conn)
    assert sent == len(building)
    assert deliver(conn, NOW + timedelta(minutes=1)) >= len(building)
    delivered = conn.execute(
        "SELECT resident_id, count(*), bool_and(delivered_at IS NOT NULL), min(title), min(body), min(lang) "
        "FROM notices WHERE dedupe_key = %s GROUP BY resident_id", (dedupe_key(announcement.id),)).fetchall()
    assert {r[0] for r in delivered} == building  # each current resident of the building; no one elsewhere
    assert all(r[1] == 1 and r[2] for r in delivered)  # exactly one notice each, delivered
    zh = next(r for r in delivered if r[5] == "zh-CN")
    assert zh[3] == "计划停水通知" and "暂停供水" in zh[4] and "2026-11-27 10:00 至 2026-11-27 14:00" in zh[4]
    en = [r for r in delivered if r[5] == "en"]
    assert all(r[3] == "Planned water outage" and "from 2026-11-27 10:00 to 2026-11-27 14:00" in r[4] for r in en)
    # A retry (the same fan-out again, e.g. after a crash) writes nothing and sends nothing more.
    with conn.transaction():
        assert fan_out(conn, get_announcement(conn, announcement.id), now=NOW + timedelta(minutes=5),
                       config=DEFAULT_CONFIG) == 0
    assert deliver(conn, NOW + timedelta(minutes=6)) == 0
    assert stats(conn, announcement.id) == Stats(len(building), len(building), 0)
    # A whole-site announcement reaches the other buildings too.
    site, sent = announce(conn, building_id=None, kind="community", starts_at=None, ends_at=None)
    assert sent == conn.execute("SELECT count(*) FROM residents r JOIN units u ON u.id = r.unit_id JOIN buildings b "
                                "ON b.id = u.building_id WHERE b.site_id = 'riverside' AND r.active").fetchone()[0]


def test_bad_announcements_are_refused_with_a_clear_message(conn, staff):
    with pytest.raises(InvalidInput, match="unknown kind 'party'"):
        announce(conn, kind="party")
    with pytest.raises(InvalidInput, match="no building 'xx-b9' at site 'riverside'"):
        announce(conn, building_id="xx-b9")
    with pytest.raises(InvalidInput, match="ends .* before it starts"):
        announce(conn, ends_at=NOW)
    with pytest.raises(InvalidInput, match="needs a Chinese title"):
        announce(conn, title_zh="  ")
    with pytest.raises(InvalidInput, match="belong to a planned outage"):
        announce(conn, kind="rectification")
    assert conn.execute("SELECT count(*) FROM notices").fetchone()[0] == 0


@pytest.fixture
def client(estate_db_url, staff):
    pool = ConnectionPool(estate_db_url, min_size=1, max_size=4, open=True)
    try:
        with TestClient(create_app(AppState(pool=pool, broker_check=lambda: True)),
                        base_url="http://127.0.0.1") as c:
            yield c
    finally:
        pool.close()


def test_the_api_announces_for_staff_refuses_residents_and_counts_read_receipts(client, conn, staff):
    resident = sorted(residents_of_building(conn, "rs-b1"))[0]
    conn.execute("UPDATE residents SET channel = 'app' WHERE id = %s", (resident,))
    resident_user = ensure_resident_user(conn, resident)
    tokens = {who: issue_token(conn, who) for who in ("mgr", "agent-1", "eng-1")}
    tokens["resident"] = issue_token(conn, resident_user)
    session = start_session(conn, resident_user, now=datetime.now(UTC), days=1)
    conn.commit()
    body = {"site_id": "riverside", "building_id": "rs-b1", "kind": "rectification", "title_zh": "整改通知",
            "body_zh": "请于本周内清理楼道堆放物品。"}

    def as_(who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[who]}"}

    assert client.post("/api/v1/announcements", json=body, headers=as_("resident")).status_code == 403
    assert client.post("/api/v1/announcements", json=body, headers=as_("eng-1")).status_code == 403
    bad = client.post("/api/v1/announcements", json=body | {"building_id": "nowhere"}, headers=as_("mgr"))
    assert bad.status_code == 422 and "no building 'nowhere'" in bad.text
    made = client.post("/api/v1/announcements", json=body, headers=as_("agent-1"))
    assert made.status_code == 201, made.text
    announcement = made.json()
    assert announcement["author"] == "agent-1" and announcement["recipients"] == announcement["notices_written"] > 0
    assert announcement["title_en"] == "整改通知"  # no English given: the Chinese
    assert client.get(f"/api/v1/announcements/{announcement['id']}", headers=as_("resident")).status_code == 403
    deliver(conn, datetime.now(UTC))
    notice_id = conn.execute("SELECT id FROM notices WHERE resident_id = %s AND dedupe_key = %s",
                             (resident, dedupe_key(announcement["id"]))).fetchone()[0]
    # The resident opens it on their notices page: the read receipt, once however often they open it.
    client.cookies.set("fw_session", session)
    assert client.get(f"/resident/notices/{notice_id}").status_code == 200
    first = conn.execute("SELECT read_at FROM notices WHERE id = %s", (notice_id,)).fetchone()[0]
    conn.commit()
    assert first is not None
    assert client.get(f"/resident/notices/{notice_id}").status_code == 200
    again = client.post(f"/api/v1/notices/{notice_id}/read", headers=as_("resident"))
    assert again.status_code == 200 and again.json()["first_read"] is False
    assert conn.execute("SELECT read_at FROM notices WHERE id = %s", (notice_id,)).fetchone()[0] == first
    conn.commit()
    listed = client.get("/api/v1/notices", headers=as_("resident")).json()
    assert [n["read_at"] is not None for n in listed if n["id"] == notice_id] == [True]
    shown = client.get(f"/api/v1/announcements/{announcement['id']}", headers=as_("mgr")).json()
    assert (shown["recipients"], shown["delivered"], shown["read"]) == (announcement["recipients"],) * 2 + (1,)
    other = conn.execute("SELECT id FROM notices WHERE resident_id <> %s AND dedupe_key = %s LIMIT 1",
                         (resident, dedupe_key(announcement["id"]))).fetchone()[0]
    conn.commit()
    assert client.post(f"/api/v1/notices/{other}/read", headers=as_("resident")).status_code == 404


def test_the_cli_creates_lists_and_shows_announcements(estate_db_url, conn, staff):
    # The command announces at the machine's clock, and refuses an outage already over: days to come, from today.
    soon, later = (datetime.now(SHANGHAI).date() + timedelta(days=n) for n in (4, 6))
    made = runner.invoke(announce_app, ["create", "--db", estate_db_url, "--site", "riverside", "--building",
                                        "rs-b1", "--kind", "planned_outage", "--title-zh", "电梯停运保养",
                                        "--body-zh", "1号楼电梯周六上午停运保养。", "--title-en", "Lift maintenance",
                                        "--body-en", "Building 1's lift stops on Saturday morning.",
                                        "--starts", f"{soon}T09:00+08:00", "--ends", f"{soon}T12:00+08:00",
                                        "--by", "mgr"])
    assert made.exit_code == 0, made.output
    count = len(residents_of_building(conn, "rs-b1"))
    assert f"{count} notice(s) to residents of rs-b1" in made.output
    listed = runner.invoke(announce_app, ["list", "--db", estate_db_url])
    assert listed.exit_code == 0 and f"recipients {count}, delivered 0, read 0" in listed.output
    shown = runner.invoke(announce_app, ["show", "--db", estate_db_url, "1"])
    assert shown.exit_code == 0 and "电梯停运保养" in shown.output and "Lift maintenance" in shown.output
    bad = runner.invoke(announce_app, ["create", "--db", estate_db_url, "--site", "riverside", "--kind", "party",
                                       "--title-zh", "x", "--body-zh", "y"])
    assert bad.exit_code == 2 and "unknown --kind 'party'" in bad.output
    bad_time = runner.invoke(announce_app, ["create", "--db", estate_db_url, "--site", "riverside", "--kind",
                                            "planned_outage", "--title-zh", "x", "--body-zh", "y", "--starts",
                                            "Saturday"])
    assert bad_time.exit_code == 2 and "bad --starts 'Saturday'" in bad_time.output
    missing = runner.invoke(announce_app, ["show", "--db", estate_db_url, "99"])
    assert missing.exit_code == 1 and "no announcement 99" in missing.output
    # A time typed without an offset is the estate's local time (Asia/Shanghai), as the manager's form reads it,
    # whatever zone the machine running the command is in.
    local = runner.invoke(announce_app, ["create", "--db", estate_db_url, "--site", "riverside", "--building", "rs-b2",
                                         "--kind", "planned_outage", "--title-zh", "停水", "--body-zh", "2号楼停水。",
                                         "--starts", f"{later}T09:00", "--ends", f"{later}T12:00"])
    assert local.exit_code == 0, local.output
    starts = conn.execute("SELECT starts_at FROM announcements WHERE title_zh = '停水'").fetchone()[0]
    assert starts == datetime(later.year, later.month, later.day, 1, 0, tzinfo=UTC)


def test_an_outage_already_over_is_refused_and_one_under_way_is_announced(estate_db_url, conn, staff):
    with pytest.raises(AnnouncementRefused, match="the outage is over: it ended at") as refused:
        announce(conn, starts_at=NOW - timedelta(hours=5), ends_at=NOW - timedelta(hours=1))
    assert refused.value.problem is AnnouncementProblem.OUTAGE_OVER
    with pytest.raises(AnnouncementRefused, match="the outage is over"):
        announce(conn, starts_at=NOW - timedelta(hours=2), ends_at=NOW)  # ending this very moment: nothing to act on
    assert conn.execute("SELECT count(*) FROM announcements").fetchone()[0] == 0
    _, sent = announce(conn, starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(hours=2))
    assert sent == len(residents_of_building(conn, "rs-b1"))  # under way: residents learn when it ends
    conn.commit()
    over = runner.invoke(announce_app, ["create", "--db", estate_db_url, "--site", "riverside", "--kind",
                                        "planned_outage", "--title-zh", "停电", "--body-zh", "昨日停电。", "--starts",
                                        "2026-01-05T09:00+08:00", "--ends", "2026-01-05T12:00+08:00"])
    assert over.exit_code == 2
    assert "the outage is over: it ended at 2026-01-05T12:00:00+08:00" in over.output
    assert "community notice" in over.output  # and what to send instead
    timed = runner.invoke(announce_app, ["create", "--db", estate_db_url, "--site", "riverside", "--kind",
                                         "community", "--title-zh", "通知", "--body-zh", "内容", "--starts",
                                         "2030-01-05T09:00+08:00"])
    assert timed.exit_code == 2 and "--starts and --ends belong to a planned outage (--kind planned_outage)" in (
        timed.output)
    assert conn.execute("SELECT count(*) FROM announcements").fetchone()[0] == 1
