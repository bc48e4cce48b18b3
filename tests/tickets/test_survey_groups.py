"""A wave's cross-analysis by every household attribute and by experience (issue 17 point 6, handbook 001 §2.3), on
the demo estate in a real PostgreSQL: 14 sampled households answer, their residents' attributes set to known
values; complaints resolved and proactive notices delivered before the wave (and some just outside its 12 months)
decide the experience groups. Checked in the report, the CLI's JSON, text and CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import psycopg
from typer.testing import CliRunner

from tickets.survey_analysis import wave_report
from tickets.survey_cli import app
from tickets.survey_template import ITEM_KEYS
from tickets.survey_waves import create_wave, record_response

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
runner = CliRunner()

NEWCOMER = {"resident_group": "tenant", "age_band": "18-29", "moved_in": date(2026, 6, 1), "needs_help": True,
            "language": "en", "channel": "sms"}
OLD_HAND = {"resident_group": "owner", "age_band": "60+", "moved_in": date(2011, 3, 1), "needs_help": False,
            "language": "zh-CN", "channel": "app"}
UNSTATED = {"resident_group": "owner", "age_band": "60+", "moved_in": None, "needs_help": None,
            "language": "zh-CN", "channel": "app"}


def _set(conn: psycopg.Connection, unit: str, unit_type: str | None, attrs: dict) -> None:
    conn.execute("UPDATE units SET unit_type = %s WHERE id = %s", (unit_type, unit))
    conn.execute("""UPDATE residents SET resident_group = %(resident_group)s, age_band = %(age_band)s,
                        moved_in = %(moved_in)s, needs_help = %(needs_help)s, language = %(language)s,
                        channel = %(channel)s WHERE unit_id = %(unit)s""", {**attrs, "unit": unit})


def _resident(conn: psycopg.Connection, unit: str) -> str:
    return conn.execute("SELECT min(id) FROM residents WHERE unit_id = %s", (unit,)).fetchone()[0]  # type: ignore[index]


def _complaint(conn: psycopg.Connection, unit: str, resolved_at: datetime | None) -> None:
    ticket = conn.execute(
        """INSERT INTO tickets (source, state, category, severity, title, site_id, unit_id, reported_at, created_at,
                                resolved_at)
           VALUES ('complaint', %s, 'facility', 'general', 'leak', 'riverside', %s, %s, %s, %s) RETURNING id""",
        ("resolved" if resolved_at else "open", unit, NOW - timedelta(days=500), NOW - timedelta(days=500),
         resolved_at)).fetchone()[0]  # type: ignore[index]
    conn.execute("""INSERT INTO complaints (ticket_id, resident_id, unit_id, channel, description, lang, category,
                                            severity, reported_at, received_at)
                    VALUES (%s, %s, %s, 'app', 'leak', 'zh-CN', 'facility', 'general', %s, %s)""",
                 (ticket, _resident(conn, unit), unit, NOW - timedelta(days=500), NOW - timedelta(days=500)))


def _notice(conn: psycopg.Connection, unit: str, incident: int | None, delivered_at: datetime | None) -> None:
    conn.execute("""INSERT INTO notices (resident_id, unit_id, incident_id, kind, lang, title, body, dedupe_key,
                                         created_at, delivered_at)
                    VALUES (%s, %s, %s, 'warning', 'zh-CN', 't', 'b', %s, %s, %s)""",
                 (_resident(conn, unit), unit, incident, f"test:{unit}:{incident}:{delivered_at}",
                  NOW - timedelta(days=400), delivered_at))


def test_groups_by_every_attribute_and_by_experience(conn, estate_db_url):
    wave = create_wave(conn, site_id="riverside", kind="routine", sample=0.10, seed=7, by="mgr", now=NOW)
    sample = [r[0] for r in conn.execute(
        "SELECT unit_id FROM survey_wave_sample WHERE wave_id = %s ORDER BY position", (wave.id,))]
    newcomers, old_hands, unstated = sample[:6], sample[6:12], sample[12:14]
    incident = conn.execute(
        """INSERT INTO incidents (device_id, fault, status, severity, since, detected_at, updated_at)
           VALUES ('rs-b1-elev-a', 'stopped', 'recovered', 'major', %s, %s, %s) RETURNING id""",
        (NOW - timedelta(days=60),) * 3).fetchone()[0]  # type: ignore[index]
    for unit in newcomers:
        _set(conn, unit, "3室2厅", NEWCOMER)
        _complaint(conn, unit, NOW - timedelta(days=60))  # resolved two months before the wave: counts
        _notice(conn, unit, incident, None)  # queued, never delivered: does not count
        _notice(conn, unit, None, NOW - timedelta(days=30))  # not about an incident: not proactive
    for unit in old_hands:
        _set(conn, unit, "2室1厅", OLD_HAND)
        _complaint(conn, unit, NOW - timedelta(days=400))  # resolved 13 months before: too early
        _complaint(conn, unit, NOW + timedelta(days=1))  # resolved after the wave opened: too late
        _complaint(conn, unit, None)  # never resolved
        _notice(conn, unit, incident, NOW - timedelta(days=30))  # a delivered incident notice: counts
    for unit in unstated:
        _set(conn, unit, None, UNSTATED)
        _notice(conn, unit, incident, NOW - timedelta(days=370))  # delivered 12 months and 5 days before
    for units, overall, recommend in ((newcomers, 9, 10), (old_hands, 5, 3), (unstated, 5, 3)):
        for unit in units:
            record_response(conn, wave.id, unit, scores=dict.fromkeys(ITEM_KEYS, 4), overall=overall,
                            recommend=recommend, now=NOW, mode="phone", entered_by="agent-1")
    conn.commit()

    groups = wave_report(conn, wave.id)["groups"]
    figures = {attribute: {g["group"]: (g["responses"], g.get("overall_mean"), g.get("nps")) for g in rows}
               for attribute, rows in groups.items()}
    assert figures["tenure"] == {"owner": (8, 5.0, -100.0), "tenant": (6, 9.0, 100.0)}
    assert figures["age_band"] == {"18-29": (6, 9.0, 100.0), "60+": (8, 5.0, -100.0)}
    assert figures["unit_type"] == {"2室1厅": (6, 5.0, -100.0), "3室2厅": (6, 9.0, 100.0), "unknown": (2, None, None)}
    assert figures["tenure_length"] == {"<1y": (6, 9.0, 100.0), "10y+": (6, 5.0, -100.0), "unknown": (2, None, None)}
    assert [g["group"] for g in groups["tenure_length"]] == ["<1y", "10y+", "unknown"]  # in band order
    assert figures["language"] == {"en": (6, 9.0, 100.0), "zh-CN": (8, 5.0, -100.0)}
    assert figures["channel"] == {"app": (8, 5.0, -100.0), "sms": (6, 9.0, 100.0)}
    assert figures["needs_help"] == {"yes": (6, 9.0, 100.0), "no": (6, 5.0, -100.0), "unknown": (2, None, None)}
    assert figures["complaint_resolved"] == {"yes": (6, 9.0, 100.0), "no": (8, 5.0, -100.0)}
    assert figures["proactive_notice"] == {"yes": (6, 5.0, -100.0), "no": (8, 8.0, 50.0)}
    hidden = [g for rows in groups.values() for g in rows if g["responses"] < 5]
    assert hidden and all(g["hidden"] and "nps" not in g and "overall_mean" not in g for g in hidden)

    as_json = json.loads(runner.invoke(app, ["wave", "report", str(wave.id), "--json", "--db", estate_db_url]).output)
    assert as_json["groups"] == groups
    text = runner.invoke(app, ["wave", "report", str(wave.id), "--db", estate_db_url]).output
    assert "by complaint_resolved: yes n=6 overall 9.0 NPS +100; no n=8 overall 5.0 NPS -100" in text
    assert "by tenure_length: <1y n=6 overall 9.0 NPS +100; 10y+ n=6 overall 5.0 NPS -100; unknown n=2 hidden" in text
    rows = list(csv.DictReader(io.StringIO(runner.invoke(
        app, ["wave", "report", str(wave.id), "--format", "csv", "--db", estate_db_url]).output)))
    proactive = {r["key"]: (r["responses"], r["mean"], r["nps"])
                 for r in rows if r["section"] == "group:proactive_notice"}
    assert proactive == {"yes": ("6", "5.0", "-100.0"), "no": ("8", "8.0", "50.0")}
