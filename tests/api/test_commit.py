"""A write is answered only once it is committed: a caller told 201 can rely on the row being there.

FastAPI runs the exit code of a `yield` dependency after the response is sent unless the dependency is scoped to
the function. `DbDep` commits in that exit code, so a commit the database refused (a serialization failure, a
deferred constraint, the server going away) used to reach the client as a success while the row was lost."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from .conftest import Api, bearer

_REFUSE_AT_COMMIT = """
CREATE FUNCTION refuse_marked_complaint() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.description LIKE '%refuse-at-commit%' THEN
        RAISE EXCEPTION 'could not serialize access' USING ERRCODE = 'serialization_failure';
    END IF;
    RETURN NEW;
END $$;
CREATE CONSTRAINT TRIGGER refuse_marked_complaint AFTER INSERT ON complaints
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_marked_complaint();
"""
_DROP = """DROP TRIGGER refuse_marked_complaint ON complaints; DROP FUNCTION refuse_marked_complaint();"""


def _file(api: Api, token: str, description: str) -> int:
    body = {"unit_id": "rs-b1-0101", "channel": "app", "description": description,
            "reported_at": datetime.now(UTC).isoformat()}
    answer = api.http.post("/api/v1/complaints", json=body, headers=bearer(token), timeout=30)
    return answer.status_code


def _stored(url: str, description: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM complaints WHERE description = %s", (description,)).fetchone()
    assert row is not None
    return int(row[0])


def test_a_complaint_refused_at_commit_is_a_503_not_a_201(live_api: Api, tokens, estate_db_url):
    with psycopg.connect(estate_db_url, autocommit=True) as conn:
        conn.execute(_REFUSE_AT_COMMIT)
    try:
        status = _file(live_api, tokens["resident"], "电梯坏了 refuse-at-commit")
    finally:
        with psycopg.connect(estate_db_url, autocommit=True) as conn:
            conn.execute(_DROP)
    assert status == 503  # retry shortly: the resident's app says so instead of showing a complaint that is not there
    assert _stored(estate_db_url, "电梯坏了 refuse-at-commit") == 0
    # The same complaint filed again, once the database takes it, is a 201 and is stored.
    assert _file(live_api, tokens["resident"], "电梯坏了 again") == 201
    assert _stored(estate_db_url, "电梯坏了 again") == 1
