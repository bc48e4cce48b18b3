"""Resending expired survey links from the manager's wave page, through the app (FastAPI's TestClient) on the demo
estate: on the Chinese page of an open wave whose links expired unused, the manager presses "Resend expired links"
(重新发送已过期的链接), reads how many were sent again, and each of those residents holds a new link that answers
while the old one does not; a second press sends none; a forged form is refused (403), a resident or an engineer
gets 403, and a closed wave is refused in words (422)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from psycopg_pool import ConnectionPool

from api.auth import Role, create_user, ensure_resident_user
from tests.web.clients import form_token, signed_in_client
from tickets.errors import NotFound
from tickets.survey_links import invite_online, open_link
from tickets.survey_waves import close_wave, create_wave

WEEKS_AGO = datetime.now(UTC) - timedelta(days=21)


@pytest.fixture
def app_pool(estate_db_url: str) -> Iterator[ConnectionPool]:
    pool = ConnectionPool(estate_db_url, min_size=1, max_size=4, open=True)
    with pool.connection() as conn:
        create_user(conn, user_id="mgr-renew", name="Renewing manager", role=Role.MANAGER)
        create_user(conn, user_id="eng-renew", name="Engineer", role=Role.ENGINEER, department_id="engineering")
        ensure_resident_user(conn, "r-00001")
        conn.commit()
    yield pool
    pool.close()


def _expired_wave(pool: ConnectionPool) -> tuple[int, dict[str, str]]:
    """An open riverside wave opened three weeks ago, whose 14-day links all expired unused: resident -> token."""
    with pool.connection() as conn:
        wave = create_wave(conn, site_id="riverside", kind="routine", sample=0.10, seed=11, by="mgr", now=WEEKS_AGO)
        issued = invite_online(conn, wave.id, WEEKS_AGO, "https://estate.example")
        conn.commit()
    return wave.id, {i.resident_id: i.link.rsplit("/", 1)[1] for i in issued}


def test_a_manager_resends_the_expired_links_and_reads_how_many(app_pool):
    wave_id, old = _expired_wave(app_pool)
    assert old
    page = f"/manager/surveys/{wave_id}"
    path = f"{page}/renew"
    with app_pool.connection() as conn:
        resident_user = ensure_resident_user(conn, "r-00001")
    for user_id, own_page in ((resident_user, "/resident"), ("eng-renew", "/engineer/work-orders")):
        with signed_in_client(app_pool, user_id) as other:
            refused = other.post(path, data={"csrf_token": form_token(other, own_page)})
            assert refused.status_code == 403, user_id
    with signed_in_client(app_pool, "mgr-renew") as manager:
        shown = manager.get(page)
        assert "重新发送已过期的链接" in shown.text and 'id="renew-button"' in shown.text  # zh-CN by default
        token = form_token(manager, page)
        assert manager.post(path, data={"csrf_token": "forged"}).status_code == 403
        pressed = manager.post(path, data={"csrf_token": token})
        assert pressed.status_code == 303
        assert pressed.headers["location"] == f"{page}?done=renewed&n={len(old)}"
        said = manager.get(pressed.headers["location"]).text
        assert f"已重新发送 {len(old)} 个过期的调查链接。" in said
        # Each resident holds a new link that answers; the old one is no longer known.
        with app_pool.connection() as conn:
            for resident, stale in old.items():
                with pytest.raises(NotFound):
                    open_link(conn, stale, datetime.now(UTC))
                body = conn.execute("""SELECT body FROM notices WHERE resident_id = %s AND kind = 'survey'
                                       AND dedupe_key LIKE %s ORDER BY id DESC LIMIT 1""",
                                    (resident, f"survey:{wave_id}:%")).fetchone()
                assert body is not None
                fresh = re.search(r"/survey/([A-Za-z0-9_-]+)", body[0])
                assert fresh is not None and fresh.group(1) != stale
                assert open_link(conn, fresh.group(1), datetime.now(UTC)).resident_id == resident
        again = manager.post(path, data={"csrf_token": token})
        assert again.headers["location"] == f"{page}?done=renewed&n=0"  # nobody twice
        assert "已重新发送 0 个过期的调查链接。" in manager.get(again.headers["location"]).text
        with app_pool.connection() as conn:
            close_wave(conn, wave_id, now=datetime.now(UTC))
        closed = manager.post(path, data={"csrf_token": token})
        assert closed.status_code == 422 and "未重新发送任何过期的调查链接。" in closed.text
        assert "重新发送已过期的链接" not in closed.text  # a closed wave has no button
