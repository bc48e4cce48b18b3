"""A platform without a webhook gateway or SMTP warns at start-up, and its scheduler delivers the notices of
residents on those channels in-app instead of leaving them pending for ever."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from forewarn.runtime import Platform, Role
from forewarn.settings import load_settings
from tickets.flows import handle_alarm

from .conftest import NOW, make_alarm

BASEMENT = "rs-b1-leak-basement"


@pytest.fixture
def scheduler(estate_db_url: str, mosquitto, tmp_path: Path, caplog) -> Iterator[Platform]:
    settings = load_settings(environ={}, database_url=estate_db_url, mqtt_url=mosquitto.url, data_dir=tmp_path,
                             db_mode="plain")
    platform = Platform(settings, roles=frozenset({Role.SCHEDULER}))
    with caplog.at_level(logging.WARNING, logger="forewarn.wiring"):
        platform.start()
    yield platform
    platform.stop()


def test_unconfigured_channels_are_announced_and_their_notices_delivered_in_app(conn, staff, scheduler, caplog):
    warnings = [r.getMessage() for r in caplog.get_records("setup") if r.name == "forewarn.wiring"]
    assert any("webhook is not configured (FOREWARN_WEBHOOK_URL)" in w for w in warnings)
    assert any("email is not configured (FOREWARN_SMTP_HOST)" in w for w in warnings)
    conn.execute("""UPDATE residents
                    SET channel = CASE WHEN right(id, 1) IN ('0', '2', '4', '6', '8') THEN 'sms' ELSE 'email' END,
                        email = id || '@example.test', phone = '138' || right(id, 5)
                    WHERE unit_id IN (SELECT unit_id FROM device_units WHERE device_id = %s)""", (BASEMENT,))
    handle_alarm(conn, make_alarm(BASEMENT, "pipe_burst"), now=NOW)
    conn.commit()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        pending = conn.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()[0]
        conn.commit()
        if pending == 0:
            break
        time.sleep(0.2)
    # The residents' notices (the scheduler's daily digest to staff, in-app only, is not the point here).
    rows = conn.execute("""SELECT o.channel, o.status, o.last_error FROM outbox o JOIN notices n ON n.id = o.notice_id
                           WHERE n.resident_id IS NOT NULL""").fetchall()
    assert rows and {(c, s) for c, s, _ in rows} == {("in_app", "delivered")}
    reasons = {f"channel {c} is not configured; delivered in-app instead" for c in ("webhook", "email")}
    assert {e for _, _, e in rows} == reasons
