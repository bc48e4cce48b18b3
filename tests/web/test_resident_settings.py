"""A resident chooses how they hear about their own requests (`/resident/settings`, tickets/preferences.py): only
channels we have an address for, the next step's notice then goes that way, and an estate reload keeps the choice.
Through the app (FastAPI's TestClient) on a real database; the page itself is also rendered in Chromium in both
languages by tests/web/test_i18n.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from psycopg_pool import ConnectionPool

from api.auth import Role, create_user
from forewarn.cli_run import DEMO_ESTATE
from ingest.estate_file import load_estate_file
from ingest.estate_store import save_estate
from tests.tickets.conftest import make_alarm
from tests.web.clients import form_token, resident_client, signed_in_client
from tickets.flows import handle_alarm
from tickets.progress import raisers

NO_EMAIL = "r-00001"  # app in the registry, a phone number, no e-mail address (the demo estate)


@pytest.fixture
def app_pool(estate_db_url: str) -> Iterator[ConnectionPool]:
    pool = ConnectionPool(estate_db_url, min_size=1, max_size=4, open=True)
    yield pool
    pool.close()




def _preferred(pool: ConnectionPool, resident_id: str) -> str | None:
    with pool.connection() as conn:
        row = conn.execute("SELECT preferred_channel FROM residents WHERE id = %s", (resident_id,)).fetchone()
    assert row is not None
    return row[0]


def test_a_resident_chooses_sms_and_their_request_is_then_answered_by_sms(app_pool):
    with resident_client(app_pool, NO_EMAIL) as client:
        page = client.get("/resident/settings", headers={"Accept-Language": "en"})
        assert page.status_code == 200
        offered = re.findall(r'name="channel" value="([a-z]+)"', page.text)
        assert offered == ["default", "app", "sms", "wechat"]  # no e-mail: we have no address for it
        assert re.search(r'value="default" required checked', page.text)
        token = form_token(client, "/resident/settings")
        saved = client.post("/resident/settings", data={"csrf_token": token, "channel": "sms"})
        assert saved.status_code == 200 and "已保存" in saved.text
        assert re.search(r'value="sms" required checked', saved.text)
        assert _preferred(app_pool, NO_EMAIL) == "sms"
        filed = client.post("/resident/report", data={"csrf_token": token, "kind": "repair",
                                                      "description": "厨房水龙头漏水"})
        assert filed.status_code == 303
    with app_pool.connection() as conn:
        ticket = conn.execute("SELECT ticket_id FROM complaints WHERE resident_id = %s", (NO_EMAIL,)).fetchone()
        assert ticket is not None
        (told,) = raisers(conn, ticket[0])
    assert (told.resident_id, told.channel, told.address) == (NO_EMAIL, "sms", "16174701753")


def test_a_channel_without_an_address_or_a_token_is_refused_and_nothing_changes(app_pool):
    with resident_client(app_pool, NO_EMAIL) as client:
        token = form_token(client, "/resident/settings")
        no_address = client.post("/resident/settings", data={"csrf_token": token, "channel": "email"},
                                 headers={"Accept-Language": "en"})
        assert no_address.status_code == 422 and "not one we can reach you on" in no_address.text
        odd = client.post("/resident/settings", data={"csrf_token": token, "channel": "pigeon"})
        assert odd.status_code == 422
        no_token = client.post("/resident/settings", data={"channel": "sms"})
        assert no_token.status_code == 403
    assert _preferred(app_pool, NO_EMAIL) is None


def test_back_to_the_default_and_an_estate_reload_keeps_the_residents_choice(app_pool):
    with resident_client(app_pool, NO_EMAIL) as client:
        token = form_token(client, "/resident/settings")
        client.post("/resident/settings", data={"csrf_token": token, "channel": "wechat"})
        with app_pool.connection() as conn:
            save_estate(conn, load_estate_file(DEMO_ESTATE))  # the office reloads the registry
        assert _preferred(app_pool, NO_EMAIL) == "wechat"
        client.post("/resident/settings", data={"csrf_token": token, "channel": "default"})
    assert _preferred(app_pool, NO_EMAIL) is None


def test_staff_cannot_open_a_residents_settings_and_a_visitor_is_sent_to_sign_in(app_pool):
    with app_pool.connection() as conn:
        create_user(conn, user_id="eng-1", name="Engineer", role=Role.ENGINEER, department_id="engineering")
    with signed_in_client(app_pool) as client:
        assert client.get("/resident/settings").status_code in (302, 303)  # not signed in: to the sign-in page
    with signed_in_client(app_pool, "eng-1") as client:
        assert client.get("/resident/settings").status_code == 403



def test_a_resident_registered_in_chinese_chooses_english_and_the_next_outage_notice_is_sent_in_english(app_pool):
    with app_pool.connection() as conn:
        registered = conn.execute("SELECT language, unit_id FROM residents WHERE id = %s", (NO_EMAIL,)).fetchone()
        served = conn.execute("SELECT device_id FROM device_units WHERE unit_id = %s ORDER BY device_id LIMIT 1",
                              (registered[1],)).fetchone()[0]
    assert registered[0] == "zh-CN"
    with resident_client(app_pool, NO_EMAIL) as client:
        page = client.get("/resident/settings", headers={"Accept-Language": "en"})
        assert re.search(r'name="language" value="zh-CN" lang="zh-CN" required checked', page.text)
        token = form_token(client, "/resident/settings")
        odd = client.post("/resident/settings", data={"csrf_token": token, "channel": "default", "language": "fr"},
                          headers={"Accept-Language": "en"})
        assert odd.status_code == 422 and "Choose a language of the list." in odd.text
        saved = client.post("/resident/settings", data={"csrf_token": token, "channel": "default", "language": "en"})
        assert saved.status_code == 200 and re.search(r'value="en" lang="en" required checked', saved.text)
    with app_pool.connection() as conn:
        save_estate(conn, load_estate_file(DEMO_ESTATE))  # the office reloads the registry: the choice stays
        kind = conn.execute("SELECT kind FROM devices WHERE id = %s", (served,)).fetchone()[0]
        fault = {"elevator": "out_of_service", "water": "supply_outage", "access_door": "reader_offline"}[kind]
        handle_alarm(conn, make_alarm(served, fault), now=datetime.now(UTC))
        sent = conn.execute("SELECT lang, title FROM notices WHERE resident_id = %s AND kind = 'warning'",
                            (NO_EMAIL,)).fetchone()
        neighbour = conn.execute(
            """SELECT n.lang FROM notices n JOIN residents r ON r.id = n.resident_id
               WHERE n.kind = 'warning' AND r.id <> %s AND r.language = 'zh-CN' LIMIT 1""", (NO_EMAIL,)).fetchone()
    assert sent is not None and sent[0] == "en" and sent[1].split(" ")[0] in ("Lift", "Water", "Entrance")
    assert neighbour == ("zh-CN",)  # only the resident who chose
