"""The desk's announcement pages (api/web/desk_announcement_pages.py) through the app on a real database: the list
and one announcement's page show what `tickets.announcements` holds with "read by N of M"; the form announces to
one building, whose current residents each get exactly one notice and nobody else does (as `forewarn announce
create`), and the read count goes up when a resident opens it in their own pages; the back end's refusals
re-render the form as typed, headed by what was wrong in the page's language (an outage already over among them);
supervisors read but may not announce (as the REST routes), residents and engineers get 403."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from psycopg_pool import ConnectionPool

from api.auth import Role, create_user, ensure_resident_user
from api.web.desk_forms import input_value
from tests.web.clients import form_token, resident_client, signed_in_client
from tickets.announcements import dedupe_key, list_announcements, stats
from tickets.channels import InAppChannel, MemoryChannel
from tickets.outbox import dispatch

EN = {"Accept-Language": "en"}


@pytest.fixture
def desk(estate_db_url: str) -> Iterator[ConnectionPool]:
    pool = ConnectionPool(estate_db_url, min_size=1, max_size=4, open=True)
    with pool.connection() as conn:
        for uid, role, dept in [("agent-1", Role.AGENT, "customer_service"), ("mgr-1", Role.MANAGER, "management"),
                                ("sup-1", Role.SUPERVISOR, "engineering"), ("eng-1", Role.ENGINEER, "engineering")]:
            create_user(conn, user_id=uid, name=f"User {uid}", role=role, department_id=dept)
        conn.commit()
    yield pool
    pool.close()


def _deliver(pool: ConnectionPool) -> None:
    """The scheduler's outbox job (gateways are recording fakes)."""
    channels = {"in_app": InAppChannel(), "webhook": MemoryChannel(), "email": MemoryChannel(), "mqtt": MemoryChannel()}
    with pool.connection() as conn:
        dispatch(conn, now=datetime.now(UTC), channels=channels)
        conn.commit()


def test_an_announcement_to_one_building_reaches_each_resident_once_and_its_reads_are_counted(desk):
    pool = desk
    with pool.connection() as conn:
        building = {r[0] for r in conn.execute(
            "SELECT r.id FROM residents r JOIN units u ON u.id = r.unit_id WHERE u.building_id = 'rs-b1' AND r.active")}
    assert len(building) > 3
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=2)
    with signed_in_client(pool, "agent-1") as client:
        token = form_token(client, "/desk/announcements")
        made = client.post("/desk/announcements", data={
            "csrf_token": token, "site_id": "riverside", "building_id": "rs-b1", "kind": "planned_outage",
            "title_zh": "1号楼计划停水", "body_zh": "二次供水水箱清洗，暂停供水。", "title_en": "Planned water outage",
            "body_en": "", "starts_at": input_value(start), "ends_at": input_value(start + timedelta(hours=4))})
        assert made.status_code == 303
        announcement_id = int(re.search(r"/desk/announcements/(\d+)", made.headers["location"]).group(1))
        with pool.connection() as conn:
            got = conn.execute("SELECT resident_id, count(*) FROM notices WHERE dedupe_key = %s "
                               "GROUP BY resident_id", (dedupe_key(announcement_id),)).fetchall()
            [stored] = [a for a in list_announcements(conn) if a.id == announcement_id]
        assert {r for r, _ in got} == building and all(n == 1 for _, n in got)
        assert (stored.building_id, stored.starts_at, stored.ends_at, stored.author) == (
            "rs-b1", start, start + timedelta(hours=4), "agent-1")
        assert stored.body_en == stored.body_zh  # English left out falls back to the Chinese

        _deliver(pool)
        page = client.get(f"/desk/announcements/{announcement_id}", headers=EN)
        assert page.status_code == 200 and "Planned water outage" in page.text
        assert f"read by 0 of {len(building)}" in page.text

        reader = sorted(building)[0]
        with pool.connection() as conn:
            notice_id = conn.execute("SELECT id FROM notices WHERE dedupe_key = %s AND resident_id = %s",
                                     (dedupe_key(announcement_id), reader)).fetchone()[0]
        with resident_client(pool, reader) as resident:
            assert resident.get(f"/resident/notices/{notice_id}").status_code == 200
            assert resident.get(f"/resident/notices/{notice_id}").status_code == 200  # a second look: one receipt
        with pool.connection() as conn:
            assert stats(conn, announcement_id).read == 1
        listed = client.get("/desk/announcements", headers=EN)
        row = re.search(rf'<tr data-announcement="{announcement_id}">.*?</tr>', listed.text, re.S).group(0)
        with pool.connection() as conn:
            site_name, building_name = conn.execute("SELECT s.name, b.name FROM buildings b JOIN sites s "
                                                    "ON s.id = b.site_id WHERE b.id = 'rs-b1'").fetchone()
        assert f"read by 1 of {len(building)}" in row and "Planned outage" in row
        assert f"{site_name} / {building_name}" in row and "rs-b1" not in row  # by name, as the form offers them
        zh = client.get(f"/desk/announcements/{announcement_id}?lang=zh-CN")
        assert "1号楼计划停水" in zh.text
        assert re.search(rf'<dd id="building" data-id="rs-b1">{building_name}</dd>', zh.text)
        # the picker names each building with its site: two sites each have a "1号楼"
        assert re.search(rf'<option value="rs-b1">{site_name} · {building_name}</option>', listed.text)


def test_the_back_end_s_refusals_re_render_the_form_as_typed_with_what_was_wrong(desk):
    pool = desk
    base = {"site_id": "riverside", "building_id": "", "kind": "community", "title_zh": "文明养犬倡议",
            "body_zh": "请文明养犬。", "title_en": "", "body_en": "", "starts_at": "", "ends_at": ""}
    with signed_in_client(pool, "mgr-1") as client:
        token = form_token(client, "/desk/announcements")
        untitled = client.post("/desk/announcements", headers=EN, data=base | {"csrf_token": token, "title_zh": ""})
        assert untitled.status_code == 422 and "Please give the announcement a title in Chinese." in untitled.text
        assert "请文明养犬。" in untitled.text  # the form as typed
        timed = client.post("/desk/announcements", headers=EN, data=base | {
            "csrf_token": token, "starts_at": "2030-01-01T09:00"})
        assert timed.status_code == 422 and "Start and end times are only for a planned outage" in timed.text
        assert "--kind" not in timed.text  # the command line's option means nothing on a form
        assert 'value="2030-01-01T09:00"' in timed.text
        backwards = client.post("/desk/announcements", headers=EN, data=base | {
            "csrf_token": token, "kind": "planned_outage", "starts_at": "2030-01-01T09:00",
            "ends_at": "2030-01-01T08:00"})
        assert backwards.status_code == 422 and "The outage must end after it starts" in backwards.text
        assert 'id="error-detail"' not in backwards.text  # said in words: no back-end particulars beneath
        with pool.connection() as conn:
            assert list_announcements(conn) == []
            assert conn.execute("SELECT count(*) FROM notices WHERE kind = 'announcement'").fetchone()[0] == 0
        made = client.post("/desk/announcements", data=base | {"csrf_token": token})  # to the whole site
        assert made.status_code == 303
    with pool.connection() as conn:
        [a] = list_announcements(conn)
        residents = conn.execute("SELECT count(*) FROM residents r JOIN units u ON u.id = r.unit_id JOIN buildings b "
                                 "ON b.id = u.building_id WHERE r.active AND b.site_id = 'riverside'").fetchone()[0]
        assert (a.building_id, a.author) == (None, "mgr-1") and stats(conn, a.id).recipients == residents


def test_a_chinese_page_says_each_refusal_in_words(desk):
    pool = desk
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    outage = {"site_id": "riverside", "building_id": "rs-b1", "kind": "planned_outage", "title_zh": "1号楼计划停水",
              "body_zh": "水箱清洗，暂停供水。", "title_en": "", "body_en": "",
              "starts_at": input_value(now + timedelta(days=1)),
              "ends_at": input_value(now + timedelta(days=1, hours=3))}
    with pool.connection() as conn:
        elsewhere = conn.execute("SELECT id FROM buildings WHERE site_id <> 'riverside' LIMIT 1").fetchone()[0]
    refusals = [
        ({"title_zh": "  "}, "请填写公告的中文标题。"),
        ({"body_zh": ""}, "请填写公告的中文正文。"),
        ({"title_zh": "停" * 201}, "中文标题有 201 个字符，最多 200 个。"),
        ({"body_zh": "停" * 4001}, "中文正文有 4,001 个字符，最多 4,000 个。"),
        ({"title_en": "W" * 201}, "英文标题有 201 个字符，最多 200 个。"),
        ({"body_en": "W" * 4001}, "英文正文有 4,001 个字符，最多 4,000 个。"),
        ({"ends_at": input_value(now + timedelta(hours=20))}, "停运结束时间应晚于开始时间：请检查开始和结束时间。"),
        ({"kind": "community"}, "开始和结束时间仅用于计划停运：请将类型选为计划停运，或不填时间。"),
        ({"starts_at": input_value(now - timedelta(days=2)), "ends_at": input_value(now - timedelta(days=1))},
         "这次停运已经结束：计划停运须在结束前公告。请检查结束时间，或以社区通知（不填时间）告知住户。"),
        ({"site_id": "no-such-site"}, "没有这个小区：请从列表中选择。"),
        ({"building_id": elsewhere}, "所选楼栋不属于所选小区：请选择该小区的楼栋，或整个小区。"),
        ({"kind": "party"}, "请选择公告类型。"),
    ]
    with signed_in_client(pool, "agent-1") as client:
        token = form_token(client, "/desk/announcements")
        for change, words in refusals:
            page = client.post("/desk/announcements?lang=zh-CN", data=outage | change | {"csrf_token": token})
            assert page.status_code == 422, change
            assert words in page.text, (change, re.search(r'id="form-error">(.*?)</div>', page.text, re.S))
            assert "无法按所填内容办理" not in page.text and 'id="error-detail"' not in page.text, change
            assert "水箱清洗，暂停供水。" in page.text or "body_zh" in change  # the form as typed
        # the outage over: said in English too, and refused as any other (no announcement, no notice)
        over = client.post("/desk/announcements?lang=en", data=outage | {
            "csrf_token": token, "starts_at": input_value(now - timedelta(hours=5)),
            "ends_at": input_value(now - timedelta(hours=1))})
        assert over.status_code == 422
        assert ("This outage is already over: a planned outage is announced before it ends. Check its end, or tell "
                "residents what happened in a community notice without times.") in over.text
        assert f'value="{input_value(now - timedelta(hours=1))}"' in over.text
        # one under way (started, not yet ended) is announced: residents learn when it ends
        under_way = client.post("/desk/announcements", data=outage | {
            "csrf_token": token, "starts_at": input_value(now - timedelta(hours=1)),
            "ends_at": input_value(now + timedelta(hours=2))})
        assert under_way.status_code == 303
    with pool.connection() as conn:
        assert len(list_announcements(conn)) == 1


def test_supervisors_read_only_residents_and_engineers_are_refused(desk):
    pool = desk
    with pool.connection() as conn:
        resident = ensure_resident_user(conn, "r-00001")
        conn.commit()
    data = {"site_id": "riverside", "kind": "community", "title_zh": "通知", "body_zh": "内容"}
    with signed_in_client(pool, "sup-1") as client:
        page = client.get("/desk/announcements", headers=EN)
        assert page.status_code == 200 and 'id="announcement-form"' not in page.text
        token = form_token(client, "/desk/announcements")
        assert client.post("/desk/announcements", data=data | {"csrf_token": token}).status_code == 403
        assert client.get("/desk/announcements/999999").status_code == 404
    for user in (resident, "eng-1"):
        with signed_in_client(pool, user) as client:
            assert client.get("/desk/announcements").status_code == 403
            token = form_token(client, "/")
            assert client.post("/desk/announcements", data=data | {"csrf_token": token}).status_code == 403
    with pool.connection() as conn:
        assert list_announcements(conn) == []
