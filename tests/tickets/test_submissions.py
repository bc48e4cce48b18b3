"""A complaint's submission key answers for 24 hours, then is forgotten by the scheduler's `submission-keys` job
(forewarn/wiring.py): a key older than that files anew, and the table does not grow with every complaint ever sent.
Through the API: tests/api/test_idempotency.py."""

from __future__ import annotations

from datetime import timedelta

from forewarn.configs import BrokerEndpoint
from forewarn.db import StorageMode
from forewarn.settings import load_settings
from forewarn.wiring import RoleContext, scheduler_jobs
from tickets.channels import InAppChannel
from tickets.complaints import intake_complaint
from tickets.config import DEFAULT_CONFIG
from tickets.submissions import WINDOW, submission

from .conftest import NOW


def _file(conn, key: str, at) -> tuple[int, bool]:
    body = {"description": "楼道的灯坏了"}
    made = intake_complaint(conn, resident_id="r-00001", unit_id="rs-b1-0101", channel="app", lang="zh-CN",
                            reported_at=at, now=at, submission=submission("u-r-00001", key, body), **body)
    conn.commit()
    return made.complaint_id, made.replayed


def _keys(conn) -> list[str]:
    return [r[0] for r in conn.execute("SELECT key FROM complaint_submissions ORDER BY key")]


def test_keys_answer_for_a_day_then_the_scheduler_forgets_them(estate_db_url, pool, conn):
    clock = [NOW]
    ctx = RoleContext(settings=load_settings(environ={}), pool=pool, database_url=estate_db_url,
                      mode=StorageMode(timescale=True, reason="test"), broker=BrokerEndpoint("127.0.0.1", 1),
                      clock=lambda: clock[0], tickets=DEFAULT_CONFIG)
    (job,) = [j for j in scheduler_jobs(ctx, {"in_app": InAppChannel()}) if j.name == "submission-keys"]
    first, _ = _file(conn, "old", NOW)
    assert _file(conn, "old", NOW + WINDOW - timedelta(minutes=1)) == (first, True)  # a retry within the day
    _file(conn, "new", NOW + timedelta(hours=23))
    clock[0] = NOW + WINDOW + timedelta(minutes=1)
    job.run()
    assert _keys(conn) == ["new"]
    again, replayed = _file(conn, "old", clock[0])  # past its day the key is a new complaint's
    assert not replayed and again != first
