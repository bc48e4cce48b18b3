"""The review's settings take effect: the digest hour, and the targets behind the red/green marks."""

from __future__ import annotations

import json
from datetime import datetime

import psycopg
from typer.testing import CliRunner

from forewarn import cli as root_cli
from forewarn.review_wiring import digest_time
from forewarn.settings import load_settings
from tickets.review.digest import send_daily_digest

from .conftest import SHANGHAI


def test_the_digest_hour_setting_decides_when_the_digest_goes(conn: psycopg.Connection) -> None:
    at = digest_time(load_settings(environ={"FOREWARN_REVIEW_DIGEST_AT": "09:15"}))
    day = datetime(2026, 11, 26, 9, 0, tzinfo=SHANGHAI)
    assert send_daily_digest(conn, now=day, tz=SHANGHAI, at=at) is None  # 08:30 has passed, 09:15 has not
    assert send_daily_digest(conn, now=day.replace(minute=20), tz=SHANGHAI, at=at) is not None


def test_the_targets_come_from_the_settings(conn: psycopg.Connection, month: list[int], estate_db_url: str) -> None:
    root_cli._mount_commands()
    env = {"FOREWARN_REVIEW_CLOSED_LOOP_TARGET": "90", "FOREWARN_REVIEW_SATISFACTION_TARGET": "93"}
    got = CliRunner().invoke(root_cli.app, ["review", "month", "2026-10", "--db", estate_db_url], env=env)
    assert got.exit_code == 0, got.output
    figures = json.loads(got.output)["figures"]["complaint"]
    assert (figures["closed_loop_rate"]["target"], figures["closed_loop_rate"]["ok"]) == (90.0, True)
    assert (figures["satisfaction_rate"]["target"], figures["satisfaction_rate"]["ok"]) == (93.0, False)
