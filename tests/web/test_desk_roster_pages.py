"""The desk's on-call roster page (api/web/desk_roster_pages.py) through the app on a real database: this week's
shifts per department with whoever is on duty now marked, the department filter, and the supervisors' and
managers' form, whose shift makes `on_duty` answer that person at that time (as `forewarn roster add` does);
`add_shift`'s refusals re-render the form with the message; agents read but may not add; residents and engineers
get 403."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from psycopg_pool import ConnectionPool

from api.auth import Role, create_user, ensure_resident_user
from api.web.desk_forms import input_value
from tests.web.clients import form_token, signed_in_client
from tickets.on_call import Rung, add_shift, on_duty, shifts_between

EN = {"Accept-Language": "en"}


@pytest.fixture
def roster(estate_db_url: str) -> Iterator[ConnectionPool]:
    """A supervisor, a manager, an agent, an engineer and a night engineer; two engineering shifts around now (the
    later one wins) and a security shift next week."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    pool = ConnectionPool(estate_db_url, min_size=1, max_size=4, open=True)
    with pool.connection() as conn:
        for uid, name, role, dept in [("sup-1", "Supervisor Li", Role.SUPERVISOR, "engineering"),
                                      ("mgr-1", "Manager Zhao", Role.MANAGER, "management"),
                                      ("agent-1", "Agent Wang", Role.AGENT, "customer_service"),
                                      ("eng-1", "Engineer Chen", Role.ENGINEER, "engineering"),
                                      ("eng-2", "Engineer Night", Role.ENGINEER, "engineering"),
                                      ("guard-1", "Guard Sun", Role.ENGINEER, "security")]:
            create_user(conn, user_id=uid, name=name, role=role, department_id=dept)
        add_shift(conn, department_id="engineering", user_id="eng-1", starts_at=now - timedelta(hours=3),
                  ends_at=now + timedelta(hours=3))
        add_shift(conn, department_id="engineering", user_id="eng-2", starts_at=now - timedelta(hours=1),
                  ends_at=now + timedelta(hours=1))  # a handover: the later start is on duty
        add_shift(conn, department_id="security", user_id="guard-1", starts_at=now + timedelta(days=8),
                  ends_at=now + timedelta(days=8, hours=12))
        conn.commit()
    yield pool
    pool.close()


def _shift_rows(html: str, department: str) -> list[str]:
    section = re.search(rf'<section class="card roster" id="roster-{department}".*?</section>', html, re.S)
    return re.findall(r"<tr data-shift=[^>]*>", section.group(0)) if section else []


def test_this_week_per_department_with_who_is_on_duty_now(roster):
    with signed_in_client(roster, "agent-1") as client:
        page = client.get("/desk/roster", headers=EN)
        assert page.status_code == 200
        rows = _shift_rows(page.text, "engineering")
        assert len(rows) == 2
        on_duty_rows = [r for r in rows if 'class="on-duty"' in r]
        assert len(on_duty_rows) == 1 and 'data-user="eng-2"' in on_duty_rows[0]  # the one on_duty answers
        assert "Engineer Night" in page.text and "On duty now" in page.text
        assert 'id="roster-security"' not in page.text  # next week's shift is not this week's
        assert 'id="shift-form"' not in page.text  # agents read the roster, supervisors and managers add to it
        later = client.get("/desk/roster", params={"week": input_value(datetime.now(UTC) + timedelta(days=8))[:10]})
        assert _shift_rows(later.text, "security") and not _shift_rows(later.text, "engineering")
        narrowed = client.get("/desk/roster", params={"department": "security"})
        assert not _shift_rows(narrowed.text, "engineering")


def test_a_supervisor_s_shift_makes_on_duty_answer_that_person_then(roster):
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=1)
    with signed_in_client(roster, "sup-1") as client:
        form = client.get("/desk/roster").text
        with roster.connection() as conn:
            security = conn.execute("SELECT name FROM departments WHERE id = 'security'").fetchone()[0]
        # the person picker names each one's department, not its code
        assert re.search(rf'<option value="guard-1">[^<]*\({re.escape(security)}\)</option>', form)
        token = form_token(client, "/desk/roster")
        added = client.post("/desk/roster", data={
            "csrf_token": token, "department_id": "security", "user_id": "guard-1", "rung": "supervisor",
            "starts_at": input_value(start), "ends_at": input_value(start + timedelta(hours=12))})
        assert added.status_code == 303 and "done=shift" in added.headers["location"]
        shown = client.get(added.headers["location"])
        assert [r for r in _shift_rows(shown.text, "security") if 'data-user="guard-1"' in r]
    with roster.connection() as conn:
        assert on_duty(conn, "security", start + timedelta(hours=6), Rung.SUPERVISOR) == "guard-1"
        assert on_duty(conn, "security", start + timedelta(hours=6)) is None  # not the first line
        assert on_duty(conn, "security", start + timedelta(hours=13), Rung.SUPERVISOR) is None


def test_a_manager_may_add_and_add_shift_s_refusals_re_render_the_form(roster):
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=2)
    good = {"department_id": "engineering", "user_id": "eng-1", "rung": "first_line",
            "starts_at": input_value(start), "ends_at": input_value(start + timedelta(hours=8))}
    with roster.connection() as conn:
        before = len(shifts_between(conn, start - timedelta(days=30), start + timedelta(days=30)))
    with signed_in_client(roster, "mgr-1") as client:
        token = form_token(client, "/desk/roster")
        backwards = client.post("/desk/roster", headers=EN, data=good | {
            "csrf_token": token, "ends_at": input_value(start - timedelta(hours=1))})
        assert backwards.status_code == 422 and "before it starts" in backwards.text
        assert f'value="{good["starts_at"]}"' in backwards.text  # the form as typed
        resident_user = client.post("/desk/roster", headers=EN, data=good | {"csrf_token": token,
                                                                              "user_id": "nobody"})
        assert resident_user.status_code == 422 and "no staff user" in resident_user.text
        garbled = client.post("/desk/roster", headers=EN, data=good | {"csrf_token": token, "starts_at": "soon"})
        assert garbled.status_code == 422 and "Give the time as date and time" in garbled.text
        with roster.connection() as conn:
            assert len(shifts_between(conn, start - timedelta(days=30), start + timedelta(days=30))) == before
        assert client.post("/desk/roster", data=good | {"csrf_token": token}).status_code == 303
    with roster.connection() as conn:
        assert on_duty(conn, "engineering", start + timedelta(hours=1)) == "eng-1"


def test_agents_may_not_add_and_residents_and_engineers_may_not_open_it(roster):
    with roster.connection() as conn:
        resident = ensure_resident_user(conn, "r-00001")
        conn.commit()
    data = {"department_id": "engineering", "user_id": "eng-1", "rung": "first_line",
            "starts_at": "2030-01-01T08:00", "ends_at": "2030-01-01T20:00"}
    with signed_in_client(roster, "agent-1") as client:
        token = form_token(client, "/desk/roster")
        assert client.post("/desk/roster", data=data | {"csrf_token": token}).status_code == 403
    for user in (resident, "eng-1"):
        with signed_in_client(roster, user) as client:
            assert client.get("/desk/roster").status_code == 403
            token = form_token(client, "/")
            assert client.post("/desk/roster", data=data | {"csrf_token": token}).status_code == 403
    with roster.connection() as conn:
        assert on_duty(conn, "engineering", datetime(2030, 1, 1, 3, tzinfo=UTC)) is None


def test_a_person_of_another_department_is_refused_in_words(roster):
    """A supervisor picks the customer-service agent for engineering's rota: refused, in Chinese and in English,
    with the form as chosen, and nobody is put on call."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=3)
    wrong = {"department_id": "engineering", "user_id": "agent-1", "rung": "first_line",
             "starts_at": input_value(start), "ends_at": input_value(start + timedelta(hours=8))}
    with signed_in_client(roster, "sup-1") as client:
        token = form_token(client, "/desk/roster")
        zh = client.post("/desk/roster", data=wrong | {"csrf_token": token})
        assert zh.status_code == 422
        assert "所选人员不是该部门的员工" in zh.text
        assert '<option value="agent-1" selected>' in zh.text  # the form as chosen
        en = client.post("/desk/roster", headers=EN, data=wrong | {"csrf_token": token})
        assert en.status_code == 422 and "This person is not staff of the department chosen" in en.text
        assert "staff of customer_service, not of engineering" in en.text
    with roster.connection() as conn:
        assert on_duty(conn, "engineering", start + timedelta(hours=1)) is None


def test_a_person_of_another_department_goes_on_the_rota_with_the_cover_box_ticked(roster):
    """On the Chinese page, the refusal of the customer-service agent for engineering's rota points at the cover
    box (and the box comes back unticked); ticked, the agent is put on the rota as cover and the roster shows them,
    as `forewarn roster add --cover`. A ticked box stays ticked when the form comes back with another refusal."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=1)
    cover = {"department_id": "engineering", "user_id": "agent-1", "rung": "first_line",
             "starts_at": input_value(start), "ends_at": input_value(start + timedelta(hours=8))}
    with signed_in_client(roster, "sup-1") as client:
        page = client.get("/desk/roster").text
        assert re.search(r'<input type="checkbox" id="cover" name="cover" value="1">\s*跨部门顶班', page)
        token = form_token(client, "/desk/roster")
        refused = client.post("/desk/roster", data=cover | {"csrf_token": token})
        assert refused.status_code == 422 and "请勾选“跨部门顶班”" in refused.text
        assert 'name="cover" value="1">' in refused.text  # not ticked for them
        backwards = client.post("/desk/roster", data=cover | {
            "csrf_token": token, "cover": "1", "ends_at": input_value(start - timedelta(hours=1))})
        assert backwards.status_code == 422 and 'name="cover" value="1" checked>' in backwards.text
        added = client.post("/desk/roster", data=cover | {"csrf_token": token, "cover": "1"})
        assert added.status_code == 303 and "done=shift" in added.headers["location"]
        shown = client.get(added.headers["location"])
        rows = [r for r in _shift_rows(shown.text, "engineering") if 'data-user="agent-1"' in r]
        assert rows and "Agent Wang" in shown.text
    with roster.connection() as conn:
        assert on_duty(conn, "engineering", start + timedelta(hours=1)) == "agent-1"
