"""The resident forms' refusals, through the app (FastAPI's TestClient) on a real database: a form without its CSRF
token, a request of no known kind or with no words, a flood of requests, a rating for a request that is not
waiting for one or that is someone else's. Each is a clear answer on the page, never a crash."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from api.web.resident import REQUESTS_PER_HOUR
from tests.web.clients import form_token, resident_client, token_in
from tickets.channels import InAppChannel
from tickets.outbox import dispatch
from tickets.profiles import set_site_profile
from tickets.requests import file_request


@pytest.fixture
def app_pool(estate_db_url: str) -> Iterator[ConnectionPool]:
    pool = ConnectionPool(estate_db_url, min_size=1, max_size=4, open=True)
    yield pool
    pool.close()






def test_report_refusals_are_clear_and_nothing_is_filed(app_pool):
    with resident_client(app_pool, "r-00001") as client:
        no_token = client.post("/resident/report", data={"kind": "repair", "description": "漏水"})
        assert no_token.status_code == 403
        token = form_token(client, "/resident/report")
        odd = client.post("/resident/report", data={"csrf_token": token, "kind": "praise", "description": "好"})
        assert odd.status_code == 422 and "请选择请求类型" in odd.text
        empty = client.post("/resident/report", data={"csrf_token": token, "kind": "repair", "description": "  "},
                            headers={"Accept-Language": "en"})
        assert empty.status_code == 422 and "Please say what the problem is." in empty.text
        with app_pool.connection() as conn:
            assert conn.execute("SELECT count(*) FROM complaints").fetchone() == (0,)


def _report_form(client) -> tuple[str, str]:
    """The report form's CSRF token and its own submission key."""
    page = client.get("/resident/report").text
    key = re.search(r'name="submission" value="([^"]+)"', page)
    assert key is not None, "the report form carries no submission key"
    return token_in(page), key.group(1)


def test_the_same_report_form_sent_twice_files_one_request(app_pool):
    """A second tap on Send while the phone waits, or a reload of the answer, files nothing new: both answers lead
    to the one request. The same form sent back with other words is refused with a way on; a new form files."""
    with resident_client(app_pool, "r-00001") as client:
        token, key = _report_form(client)
        form = {"csrf_token": token, "submission": key, "kind": "repair", "description": "卫生间地漏堵了"}
        first, again = client.post("/resident/report", data=form), client.post("/resident/report", data=form)
        assert first.status_code == again.status_code == 303, again.text
        assert again.headers["location"] == first.headers["location"]
        changed = client.post("/resident/report", data=form | {"description": "厨房地漏也堵了"})
        assert changed.status_code == 409 and "这张表单已经用别的内容提交过了" in changed.text
        token, fresh = _report_form(client)
        assert fresh != key
        later = client.post("/resident/report", data=form | {"csrf_token": token, "submission": fresh,
                                                             "description": "厨房地漏也堵了"})
        assert later.status_code == 303 and later.headers["location"] != first.headers["location"]
    with app_pool.connection() as conn:
        assert conn.execute("SELECT description FROM complaints ORDER BY id").fetchall() == [
            ("卫生间地漏堵了",), ("厨房地漏也堵了",)]


def test_a_flood_of_requests_is_stopped_at_the_hourly_limit(app_pool):
    with resident_client(app_pool, "r-00001") as client:
        token = form_token(client, "/resident/report")
        for i in range(REQUESTS_PER_HOUR):
            made = client.post("/resident/report", data={"csrf_token": token, "kind": "enquiry",
                                                         "description": f"问题 {i}"})
            assert made.status_code == 303, made.text
        refused = client.post("/resident/report", data={"csrf_token": token, "kind": "enquiry",
                                                        "description": "再问一个"})
        assert refused.status_code == 429 and "过去一小时" in refused.text
        with app_pool.connection() as conn:
            assert conn.execute("SELECT count(*) FROM complaints WHERE resident_id = 'r-00001'"
                                ).fetchone() == (REQUESTS_PER_HOUR,)


def test_a_rating_too_early_or_for_someone_elses_request_is_refused(app_pool):
    with resident_client(app_pool, "r-00001") as client:
        token = form_token(client, "/resident/report")
        made = client.post("/resident/report", data={"csrf_token": token, "kind": "repair",
                                                     "description": "楼道的灯坏了"})
        complaint_id = int(made.headers["location"].split("/")[-1].split("?")[0])
        with app_pool.connection() as conn:
            ticket_id = conn.execute("SELECT ticket_id FROM complaints WHERE id = %s", (complaint_id,)).fetchone()[0]
        rating = {"csrf_token": token, "response_speed": "5", "professionalism": "5", "attitude": "5",
                  "overall": "5"}
        early = client.post(f"/resident/visit/{ticket_id}", data=rating)
        assert early.status_code == 409 and "不再等待评价" in early.text
        out_of_range = client.post(f"/resident/visit/{ticket_id}", data=rating | {"overall": "9"})
        assert out_of_range.status_code == 422
    with resident_client(app_pool, "r-00003") as other:
        token = form_token(other, "/resident/report")
        theirs = other.post(f"/resident/visit/{ticket_id}", data=rating | {"csrf_token": token})
        assert theirs.status_code == 404
    with psycopg.connect(app_pool.conninfo) as conn:
        assert conn.execute("SELECT count(*) FROM return_visits").fetchone() == (0,)


def test_a_file_that_is_not_a_photo_is_refused_on_the_form_and_nothing_is_filed(app_pool):
    with resident_client(app_pool, "r-00001") as client:
        token = form_token(client, "/resident/report")
        refused = client.post("/resident/report", data={"csrf_token": token, "kind": "repair",
                                                        "description": "厨房水管漏水"},
                              files=[("photos", ("leak.png", b"MZ\x90\x00 not an image", "image/png"))])
        assert refused.status_code == 422 and "JPEG、PNG 或 WebP" in refused.text
        assert "厨房水管漏水" in refused.text  # what I wrote is kept on the form
        with app_pool.connection() as conn:
            assert conn.execute("SELECT (SELECT count(*) FROM complaints), (SELECT count(*) FROM attachments)"
                                ).fetchone() == (0, 0)


def _urgent_complaint_reply(html: str) -> str:
    """The 'complaint · urgent / first reply' row of the report form's time limits."""
    found = re.search(r"<tr><td>[^<]*Complaint[^<]*urgent</td><td>First reply</td><td>([^<]+)</td></tr>", html)
    assert found is not None, html
    return found.group(1)


def test_the_report_form_shows_the_time_limits_of_the_residents_own_sites_profile(app_pool):
    """Riverside on 001: someone replies to an urgent complaint within 15 minutes; switched to 003, within 30.
    A resident of another site, still on 001, is told 15."""
    with app_pool.connection() as conn:
        conn.execute("INSERT INTO sites (id, name) VALUES ('harbour', 'Harbour Court')")
        conn.execute("INSERT INTO buildings (id, site_id, name, floors) VALUES ('hb-b1', 'harbour', 'H1', 6)")
        conn.execute("INSERT INTO units (id, building_id, floor, number) VALUES ('hb-b1-0101', 'hb-b1', 1, '0101')")
        conn.execute("INSERT INTO residents (id, unit_id, name) VALUES ('hb-r1', 'hb-b1-0101', 'Harbour resident')")
    english = {"accept-language": "en"}
    with resident_client(app_pool, "r-00001") as riverside, resident_client(app_pool, "hb-r1") as harbour:
        assert _urgent_complaint_reply(riverside.get("/resident/report", headers=english).text) == "within 15 minutes"
        with app_pool.connection() as conn:
            set_site_profile(conn, "riverside", "003")
        assert _urgent_complaint_reply(riverside.get("/resident/report", headers=english).text) == "within 30 minutes"
        assert _urgent_complaint_reply(harbour.get("/resident/report", headers=english).text) == "within 15 minutes"


def test_the_request_page_shows_the_requested_outcome(app_pool):
    with app_pool.connection() as conn:
        receipt = file_request(conn, kind="repair", resident_id="r-00001", unit_id="rs-b1-0101",
                               description="楼道的灯坏了", lang="zh-CN", now=datetime.now(UTC),
                               requested_outcome="今天之内修好")
    with resident_client(app_pool, "r-00001") as client:
        page = client.get(f"/resident/requests/{receipt.complaint_id}")
        assert page.status_code == 200 and "您的诉求：今天之内修好" in page.text
        english = client.get(f"/resident/requests/{receipt.complaint_id}", headers={"Accept-Language": "en"})
        assert "You asked for: 今天之内修好" in english.text


def test_my_notices_follow_the_pages_language(app_pool):
    """The acknowledgement of a request filed in Chinese reads in English on the English page, its deadline too."""
    with app_pool.connection() as conn:
        file_request(conn, kind="repair", resident_id="r-00001", unit_id="rs-b1-0101", description="楼道的灯坏了",
                     lang="zh-CN", now=datetime.now(UTC))
        dispatch(conn, now=datetime.now(UTC), channels={"in_app": InAppChannel()},
                 unconfigured=["webhook", "email", "mqtt"])
        notice = conn.execute("SELECT id FROM notices WHERE resident_id = 'r-00001' AND kind = 'received'").fetchone()
    assert notice is not None
    with resident_client(app_pool, "r-00001") as client:
        chinese = client.get("/resident/notices", headers={"Accept-Language": "zh-CN"}).text
        english = client.get("/resident/notices", headers={"Accept-Language": "en"}).text
        detail = client.get(f"/resident/notices/{notice[0]}", headers={"Accept-Language": "en"}).text
    assert "已收到您的反映" in chinese and "We have your report" not in chinese
    assert "We have your report" in english and "We have your report" in detail
    assert re.search(r"[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2} 20\d\d, \d\d:\d\d", detail)


def test_a_refused_photo_costs_only_itself_and_the_good_one_is_filed_with_the_request(app_pool):
    """Two photos chosen, one of them not a photo: nothing is filed, the refused one is named, the good one comes
    back kept in the form; sending the form again files the request with it, without choosing it twice."""
    good = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    with resident_client(app_pool, "r-00001") as client:
        token, key = _report_form(client)
        words = {"csrf_token": token, "submission": key, "kind": "repair", "description": "厨房水管漏水"}
        refused = client.post("/resident/report", data=words,
                              files=[("photos", ("leak.png", good, "image/png")),
                                     ("photos", ("notes.txt", b"just text", "image/png"))])
        assert refused.status_code == 422 and "JPEG、PNG 或 WebP" in refused.text
        assert "未采用：notes.txt。其余照片已保留在下方表单中。" in refused.text
        with app_pool.connection() as conn:
            assert conn.execute("SELECT count(*) FROM complaints").fetchone() == (0,)
            waiting = conn.execute("SELECT id FROM attachments WHERE ticket_id IS NULL").fetchall()
        assert len(waiting) == 1
        assert f'name="kept_photos" value="{waiting[0][0]}" checked' in refused.text
        token, key = token_in(refused.text), re.search(r'name="submission" value="([^"]+)"', refused.text).group(1)
        filed = client.post("/resident/report", data=words | {"csrf_token": token, "submission": key,
                                                              "kept_photos": str(waiting[0][0])})
        assert filed.status_code == 303, filed.text
    with app_pool.connection() as conn:
        ticket, photos = conn.execute("SELECT ticket_id, attachments FROM complaints").fetchone()
        assert conn.execute("SELECT id, ticket_id FROM attachments").fetchall() == [(waiting[0][0], ticket)]
    assert photos == [f"/files/{waiting[0][0]}"]
