"""The sign-ins `forewarn demo` prints work: the resident's code and link, the staff's passwords."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from api.app import create_app
from api.auth import Role, create_user, ensure_resident_user
from api.deps import AppState
from forewarn.demo_web import demo_sign_ins


def csrf(client: TestClient) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)[1]


def test_the_printed_sign_ins_let_a_resident_and_an_engineer_in(conn, estate_db_url):
    resident = ensure_resident_user(conn, "r-00001")
    create_user(conn, user_id="demo-engineer", name="Demo Engineer", role=Role.ENGINEER, department_id="engineering")
    conn.commit()
    sign_ins = demo_sign_ins(estate_db_url, resident_user=resident, staff=["demo-engineer", "not-there"],
                             public_url="http://127.0.0.1:8000", code_hours=72)
    by_who = {s.who: s for s in sign_ins}
    assert set(by_who) == {"resident", "engineer"}
    pool = ConnectionPool(estate_db_url, min_size=1, max_size=2, open=True)
    try:
        app = create_app(AppState(pool=pool))
        with TestClient(app, base_url="http://127.0.0.1") as client:
            r = by_who["resident"]
            answer = client.post("/login/verify", data={"identifier": r.login, "code": r.secret,
                                                        "csrf_token": csrf(client)}, follow_redirects=False)
            assert answer.status_code == 303, answer.text
        with TestClient(app, base_url="http://127.0.0.1") as client:
            e = by_who["engineer"]
            answer = client.post("/login", data={"identifier": e.login, "password": e.secret,
                                                 "csrf_token": csrf(client)}, follow_redirects=False)
            assert answer.status_code == 303, answer.text
    finally:
        pool.close()
