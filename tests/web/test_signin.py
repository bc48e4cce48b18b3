"""Accounts and sign-in through the app and a real database: passwords, one-time codes, invitations, throttling,
CSRF, roles, sign-out. (The browser journeys are in test_frame.py; this is the same app without a browser.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from api.app import create_app
from api.auth import Role, create_user, ensure_resident_user
from api.deps import AppState
from api.web.accounts import set_password
from api.web.config import WebConfig
from api.web.i18n import Catalogues
from api.web.invitations import invite_residents

from .conftest import MemoryCodeSender

PASSWORD = "a good long password"


@pytest.fixture
def sender() -> MemoryCodeSender:
    return MemoryCodeSender()


@pytest.fixture
def app_client(estate_db_url: str, sender: MemoryCodeSender) -> Iterator[TestClient]:
    pool = ConnectionPool(estate_db_url, min_size=1, max_size=4, open=True)
    state = AppState(pool=pool, broker_check=lambda: True,
                     extras={"code_sender": sender, "web": WebConfig(secret_key="s3cret", max_failures=5)})
    try:
        with TestClient(create_app(state), base_url="http://127.0.0.1") as client:
            yield client
    finally:
        pool.close()


def new_client(app_client: TestClient) -> TestClient:
    """Another browser on the same app (its own cookies)."""
    return TestClient(app_client.app, base_url="http://127.0.0.1")


def csrf(client: TestClient, path: str = "/login") -> str:
    page = client.get(path)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found[1]


def sign_in(client: TestClient, identifier: str, password: str, **extra: str) -> httpx.Response:
    return client.post("/login", data={"identifier": identifier, "password": password, "csrf_token": csrf(client),
                                       **extra}, follow_redirects=False)


@pytest.fixture
def people(conn: psycopg.Connection) -> dict[str, str]:
    """A resident with a phone and a password, an engineer and an agent with passwords."""
    resident_id, phone = conn.execute("SELECT id, phone FROM residents WHERE phone IS NOT NULL AND channel = 'sms' "
                                      "ORDER BY id LIMIT 1").fetchone()
    uid = ensure_resident_user(conn, resident_id)
    create_user(conn, user_id="eng-a", name="Engineer A", role=Role.ENGINEER, department_id="engineering")
    create_user(conn, user_id="agent-a", name="Agent A", role=Role.AGENT, department_id="customer_service")
    for user in (uid, "eng-a", "agent-a"):
        set_password(conn, user, PASSWORD)
    conn.commit()
    return {"resident": uid, "phone": phone, "resident_id": resident_id}


def test_password_sign_in_sets_an_httponly_lax_session_cookie_and_goes_to_next(app_client, people):
    answer = sign_in(app_client, people["phone"], PASSWORD, next="/staff/accounts")
    assert answer.status_code == 303 and answer.headers["location"] == "/staff/accounts"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("fw_session=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # development; production sets it (WebConfig.secure_cookies)
    assert app_client.get("/").status_code == 200
    wrong = sign_in(new_client(app_client), people["phone"], "not the password")
    assert wrong.status_code == 401 and "账户或密码错误" in wrong.text


def test_an_offsite_next_is_not_followed(app_client, people):
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        answer = sign_in(new_client(app_client), "eng-a", PASSWORD, next=target)
        assert answer.headers["location"] == "/", target


def test_sign_in_with_a_one_time_code_sent_by_the_residents_channel(app_client, people, sender):
    page = app_client.post("/login/code", data={"identifier": people["phone"], "csrf_token": csrf(app_client)})
    assert page.status_code == 200 and 'name="code"' in page.text
    account, message = sender.sent[-1]
    assert account.user_id == people["resident"] and account.channel == "sms"
    assert re.fullmatch(r"\d{6}", message.code) and message.code in message.text
    token = csrf(app_client)
    answer = app_client.post("/login/verify", data={"identifier": people["phone"], "code": message.code,
                                                    "csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303
    assert app_client.get("/").status_code == 200
    again = new_client(app_client).post("/login/verify", data={"identifier": people["phone"], "code": message.code,
                                                               "csrf_token": token}, follow_redirects=False)
    assert again.status_code in (401, 403)  # used up (and the other browser's CSRF binding differs)


def test_an_unknown_account_gets_the_same_answer_and_nothing_is_sent(app_client, people, sender):
    page = app_client.post("/login/code", data={"identifier": "13800000000", "csrf_token": csrf(app_client)})
    assert page.status_code == 200 and 'name="code"' in page.text
    assert sender.sent == []


def test_wrong_codes_are_throttled_per_account_with_the_wait_shown(app_client, people, sender):
    app_client.post("/login/code", data={"identifier": people["phone"], "csrf_token": csrf(app_client)})
    real = sender.last_code(people["resident"])
    wrong = f"{(int(real) + 1) % 1_000_000:06d}"
    # Asking for the code was no guess: five wrong codes are allowed, the sixth attempt waits ...
    statuses = []
    for _ in range(6):
        answer = app_client.post("/login/verify", data={"identifier": people["phone"], "code": wrong,
                                                        "csrf_token": csrf(app_client)})
        statuses.append(answer.status_code)
    assert statuses == [401, 401, 401, 401, 401, 429]
    assert int(answer.headers["retry-after"]) > 800 and "15 分钟" in answer.text
    # ... and now even the right code waits: the limit is on the account, not on the guess.
    right = app_client.post("/login/verify", data={"identifier": people["phone"], "code": real,
                                                   "csrf_token": csrf(app_client)})
    assert right.status_code == 429


def test_failed_sign_ins_are_throttled_per_client_address_across_accounts(app_client, people):
    statuses = [sign_in(app_client, f"nobody-{i}", "x").status_code for i in range(21)]
    assert statuses[:20] == [401] * 20 and statuses[20] == 429


def test_a_post_without_its_csrf_token_is_refused(app_client, people):
    sign_in(app_client, "eng-a", PASSWORD)
    assert app_client.post("/logout", follow_redirects=False).status_code == 403
    assert app_client.post("/logout", data={"csrf_token": "0" * 64}, follow_redirects=False).status_code == 403
    # A token from another browser's page does not fit this session.
    assert app_client.post("/logout", data={"csrf_token": csrf(new_client(app_client))},
                           follow_redirects=False).status_code == 403
    refused = new_client(app_client).post("/login", data={"identifier": "eng-a", "password": PASSWORD})
    assert refused.status_code == 403 and "表单已过期" in refused.text
    assert app_client.get("/").status_code == 200  # still signed in


def test_a_resident_gets_403_on_a_staff_page_and_a_visitor_the_login_page(app_client, people):
    visitor = new_client(app_client).get("/staff/accounts?unit=x", follow_redirects=False)
    assert visitor.status_code == 303 and visitor.headers["location"] == "/login?next=%2Fstaff%2Faccounts%3Funit%3Dx"
    sign_in(app_client, people["phone"], PASSWORD)
    page = app_client.get("/staff/accounts")
    assert page.status_code == 403 and "无权打开此页面" in page.text
    staff = new_client(app_client)
    sign_in(staff, "agent-a", PASSWORD)
    assert staff.get("/staff/accounts").status_code == 200


def test_logout_ends_the_session_for_good(app_client, people):
    sign_in(app_client, "eng-a", PASSWORD)
    session = app_client.cookies["fw_session"]
    answer = app_client.post("/logout", data={"csrf_token": csrf(app_client, "/")}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    replay = new_client(app_client)
    replay.cookies.set("fw_session", session)
    assert replay.get("/", follow_redirects=False).headers["location"] == "/login"


def test_an_invitation_link_lets_a_resident_choose_a_password(app_client, conn, people, sender):
    resident = conn.execute("SELECT id FROM residents WHERE id <> %s AND language = 'en' ORDER BY id LIMIT 1",
                            (people["resident_id"],)).fetchone()[0]
    [invitation] = invite_residents(conn, [resident], now=datetime.now(UTC), ttl=timedelta(hours=72),
                                    public_url="http://127.0.0.1", sender=sender, catalogues=Catalogues.load())
    conn.commit()
    assert invitation.sent_via is not None and sender.sent[-1][1].link == invitation.link
    assert "you are invited" in sender.sent[-1][1].text  # in the resident's language
    path = invitation.link.removeprefix("http://127.0.0.1")
    page = app_client.get(path)
    assert page.status_code == 200 and 'name="password2"' in page.text
    code = path.split("code=")[1]
    short = app_client.post("/signup", data={"code": code, "password": "short", "password2": "short",
                                             "csrf_token": csrf(app_client, path)})
    assert short.status_code == 422
    done = app_client.post("/signup", data={"code": code, "password": PASSWORD, "password2": PASSWORD,
                                            "csrf_token": csrf(app_client, path)}, follow_redirects=False)
    assert done.status_code == 303 and app_client.get("/").status_code == 200
    assert new_client(app_client).get(path).status_code == 404  # single use
    assert sign_in(new_client(app_client), invitation.user_id, PASSWORD).status_code == 303


def test_staff_invite_a_unit_from_the_accounts_page(app_client, conn, people):
    unit = conn.execute("SELECT unit_id FROM residents WHERE id = %s", (people["resident_id"],)).fetchone()[0]
    sign_in(app_client, "agent-a", PASSWORD)
    page = app_client.get("/staff/accounts", params={"unit": unit})
    assert page.status_code == 200 and "已注册" in page.text  # the resident with a password
    channel = conn.execute("SELECT channel FROM residents WHERE id = %s", (people["resident_id"],)).fetchone()[0]
    shown = re.search(rf'<td data-channel="{channel}">([^<]*)</td>', page.text)
    assert shown is not None and shown.group(1) != channel  # the channel in words, not its code
    done = app_client.post("/staff/accounts/invite", data={"unit": unit, "csrf_token": csrf(app_client, "/")})
    assert done.status_code == 200
    invited = conn.execute("SELECT count(DISTINCT c.user_id) FROM signin_codes c JOIN users u ON u.id = c.user_id "
                           "JOIN residents r ON r.id = u.resident_id WHERE r.unit_id = %s AND c.purpose = 'signup'",
                           (unit,)).fetchone()[0]
    residents = conn.execute("SELECT count(*) FROM residents WHERE unit_id = %s AND active", (unit,)).fetchone()[0]
    assert invited == residents >= 1


def test_expired_sessions_codes_and_throttle_windows_are_pruned(conn, people):
    from api.web.accounts import count_attempt, issue_code, throttle_limits
    from api.web.sessions import prune_expired, session_principal, start_session

    now = datetime.now(UTC)
    old = start_session(conn, "eng-a", now=now - timedelta(days=20), days=14)  # expired 6 days ago
    live = start_session(conn, "eng-a", now=now, days=14)
    issue_code(conn, "eng-a", purpose="signin", now=now - timedelta(days=3), ttl=timedelta(minutes=15))
    count_attempt(conn, throttle_limits("eng-a", "10.0.0.9", 5), now=now - timedelta(days=2),
                  window=timedelta(minutes=15))
    assert prune_expired(conn, now=now) == 4  # one session, one code, two throttle windows
    assert session_principal(conn, live, now=now) is not None and session_principal(conn, old, now=now) is None
    assert conn.execute("SELECT count(*) FROM web_sessions").fetchone()[0] == 1


def test_residents_sharing_a_phone_each_sign_in_with_their_own_code(app_client, conn, sender):
    first, second = [r[0] for r in conn.execute(
        "SELECT id FROM residents WHERE unit_id = 'rs-b1-0101' ORDER BY id LIMIT 2")]
    conn.execute("UPDATE residents SET phone = '13900000000' WHERE id = ANY(%s)", ([first, second],))
    invitations = invite_residents(conn, [first, second], now=datetime.now(UTC), ttl=timedelta(hours=1),
                                   public_url="http://127.0.0.1", sender=sender, catalogues=Catalogues.load())
    conn.commit()
    for invitation in reversed(invitations):  # the second resident first: not just "the first account wins"
        client = new_client(app_client)
        answer = client.post("/login/verify", data={"identifier": "13900000000", "code": invitation.code,
                                                    "csrf_token": csrf(client)}, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        home = client.get("/")
        assert invitation.name in home.text


# -- throttling: asking for a code is no guess; the account is one budget whatever names it ---------------------

def ask_code(client: TestClient, identifier: str) -> httpx.Response:
    return client.post("/login/code", data={"identifier": identifier, "csrf_token": csrf(client)})


def enter_code(client: TestClient, identifier: str, code: str) -> httpx.Response:
    return client.post("/login/verify", data={"identifier": identifier, "code": code, "csrf_token": csrf(client)},
                       follow_redirects=False)


def with_email(conn: psycopg.Connection, people: dict[str, str]) -> str:
    email = f"{people['resident']}@residents.example"
    conn.execute("UPDATE residents SET email = %s WHERE id = %s", (email, people["resident_id"]))
    conn.commit()
    return email


def test_a_resident_signs_in_by_code_seven_times_in_one_window(app_client, people, sender):
    for _ in range(7):
        client = new_client(app_client)
        page = ask_code(client, people["phone"])
        assert page.status_code == 200 and 'name="code"' in page.text, page.text
        answer = enter_code(client, people["phone"], sender.last_code(people["resident"]))
        assert answer.status_code == 303, answer.text
        assert client.get("/").status_code == 200
    assert len(sender.sent) == 7


def test_wrong_codes_lock_the_account_whichever_of_phone_user_id_or_e_mail_is_typed(app_client, conn, people,
                                                                                      sender):
    email = with_email(conn, people)
    names = (people["phone"], people["resident"], email)
    ask_code(app_client, people["phone"])
    real = sender.last_code(people["resident"])
    wrong = f"{(int(real) + 1) % 1_000_000:06d}"
    # Five wrong codes, by the three names of one account: one budget of five.
    statuses = [enter_code(new_client(app_client), names[i % 3], wrong).status_code for i in range(5)]
    assert statuses == [401] * 5
    for name in names:  # now even the right code waits, whichever name is typed
        answer = enter_code(new_client(app_client), name, real)
        assert answer.status_code == 429 and "请等待" in answer.text, name
        assert int(answer.headers["retry-after"]) > 800
    assert new_client(app_client).get("/", follow_redirects=False).headers["location"] == "/login"


def test_asking_for_codes_past_the_limit_gets_the_wait_and_sends_nothing(app_client, conn, people, sender):
    email = with_email(conn, people)
    names = (people["phone"], people["resident"], email)
    # Five codes, asked for by the three names of one account (one budget), then a sixth: refused, nothing sent.
    assert [ask_code(new_client(app_client), names[i % 3]).status_code for i in range(5)] == [200] * 5
    assert len(sender.sent) == 5
    for name in names:
        refused = ask_code(new_client(app_client), name)
        assert refused.status_code == 429 and "登录尝试次数过多" in refused.text and "15 分钟" in refused.text, name
        assert int(refused.headers["retry-after"]) > 800
    assert len(sender.sent) == 5
    # An identifier that names no account is answered alike (the throttle tells no account apart).
    unknown = [ask_code(new_client(app_client), "13800000000").status_code for _ in range(6)]
    assert unknown == [200] * 5 + [429] and len(sender.sent) == 5
    # Asking was no guess: the last code sent still signs the resident in.
    client = new_client(app_client)
    assert enter_code(client, people["phone"], sender.last_code(people["resident"])).status_code == 303


def test_neighbours_behind_one_address_asking_for_codes_do_not_lock_each_other_out(app_client, people, sender):
    # A building's Wi-Fi or a carrier's NAT: one client address; the per-address limit is 4 x 5 guesses.
    statuses = [ask_code(new_client(app_client), f"1390000{i:04d}").status_code for i in range(25)]
    assert statuses == [200] * 25
    page = ask_code(new_client(app_client), people["phone"])
    assert page.status_code == 200 and len(sender.sent) == 1
    assert enter_code(new_client(app_client), people["phone"], sender.last_code(people["resident"])).status_code == 303


def test_one_address_walking_the_phone_book_is_stopped_before_the_estate_pays_for_its_texts(app_client, people,
                                                                                           sender):
    # 20 x 5 codes from one address in a window (a building's worth of neighbours), then 429 whoever is named.
    statuses = [ask_code(new_client(app_client), f"1370000{i:04d}").status_code for i in range(100)]
    assert statuses == [200] * 100
    refused = ask_code(new_client(app_client), people["phone"])
    assert refused.status_code == 429 and "登录尝试次数过多" in refused.text
    assert sender.sent == []


def test_a_locked_account_is_sent_no_code(app_client, people, sender):
    statuses = [sign_in(new_client(app_client), people["phone"], "not the password").status_code for _ in range(5)]
    assert statuses == [401] * 5
    refused = ask_code(new_client(app_client), people["resident"])
    assert refused.status_code == 429 and "登录尝试次数过多" in refused.text
    assert sender.sent == []
