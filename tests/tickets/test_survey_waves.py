"""Survey waves against a real PostgreSQL with the demo estate (riverside: 3 buildings × 100 = 300 households):
the seeded systematic sample and its mode plan, one response per household, assisted staff entry, coverage and
top-ups, hidden small groups, the trend against the previous wave, the phone worklist, and the CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from tests.cli_checks import assert_clean_failure
from tickets.errors import InvalidInput
from tickets.survey_analysis import wave_report
from tickets.survey_cli import app
from tickets.survey_template import ITEM_KEYS
from tickets.survey_waves import (
    close_wave,
    coverage,
    create_wave,
    record_response,
    top_up,
    worklist,
)

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
runner = CliRunner()


def _sample(conn: psycopg.Connection, wave_id: int) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT unit_id, mode FROM survey_wave_sample WHERE wave_id = %s ORDER BY position", (wave_id,))]


def _answer(conn: psycopg.Connection, wave_id: int, unit: str, score: int, *, overall: int, recommend: int,
            **scores: int) -> int:
    mode = conn.execute("SELECT mode FROM survey_wave_sample WHERE wave_id = %s AND unit_id = %s",
                        (wave_id, unit)).fetchone()[0]  # type: ignore[index]
    return record_response(conn, wave_id, unit, scores={item: scores.get(item, score) for item in ITEM_KEYS},
                           overall=overall, recommend=recommend, now=NOW, mode=mode,
                           entered_by=None if mode == "online" else "agent-1")


def _cell(value: object) -> object:
    """A CSV or spreadsheet cell compared by value: "7.0", 7.0 and 7 are one number; empty and None are one blank."""
    if value is None or value == "":
        return ""
    try:
        return float(str(value))
    except ValueError:
        return str(value)


def test_the_sample_is_systematic_by_unit_seeded_and_planned_by_mode(conn):
    wave = create_wave(conn, site_id="riverside", kind="routine", sample=0.10, seed=7, by="mgr", now=NOW)
    again = create_wave(conn, site_id="riverside", kind="routine", sample=0.10, seed=7, by="mgr", now=NOW)
    other = create_wave(conn, site_id="riverside", kind="routine", sample=0.10, seed=8, by="mgr", now=NOW)
    sample = _sample(conn, wave.id)
    assert wave.households == 300 and len(sample) == 30
    assert sample == _sample(conn, again.id) and sample != _sample(conn, other.id)
    site_order = [r[0] for r in conn.execute(
        """SELECT u.id FROM units u JOIN buildings b ON b.id = u.building_id WHERE b.site_id = 'riverside'
           ORDER BY u.building_id, u.floor, u.number, u.id""")]
    positions = [site_order.index(unit) for unit, _ in sample]
    assert positions[0] < 10 and {b - a for a, b in zip(positions, positions[1:], strict=False)} == {10}
    modes = [mode for _, mode in sample]
    assert (modes.count("online"), modes.count("in_person"), modes.count("phone")) == (18, 9, 3)
    assert [(s.building_id, s.sampled) for s in coverage(conn, wave.id)] == [
        ("rs-b1", 10), ("rs-b2", 10), ("rs-b3", 10)]
    with pytest.raises(InvalidInput, match="a site of 300 households cannot open a wave of 29"):
        create_wave(conn, site_id="riverside", kind="routine", sample=29, seed=1, by="mgr", now=NOW)
    with pytest.raises(InvalidInput, match="unknown wave kind"):
        create_wave(conn, site_id="riverside", kind="weekly", sample=0.1, seed=1, by="mgr", now=NOW)


def test_one_response_per_household_and_staff_entry_is_assisted(conn):
    wave = create_wave(conn, site_id="riverside", kind="routine", sample=0.10, seed=3, by="mgr", now=NOW)
    sample = _sample(conn, wave.id)
    online = next(unit for unit, mode in sample if mode == "online")
    phone = next(unit for unit, mode in sample if mode == "phone")
    all_fours = {item: 4 for item in ITEM_KEYS}
    record_response(conn, wave.id, online, scores=all_fours, overall=8, recommend=9, now=NOW)
    with pytest.raises(InvalidInput, match=f"household {online} has already answered wave {wave.id}"):
        record_response(conn, wave.id, online, scores=all_fours, overall=3, recommend=2, now=NOW)
    with pytest.raises(InvalidInput, match="entered by staff"):
        record_response(conn, wave.id, phone, scores=all_fours, overall=8, recommend=9, now=NOW)
    record_response(conn, wave.id, phone, scores=all_fours, overall=8, recommend=9, now=NOW, entered_by="agent-1")
    assert conn.execute("SELECT mode, assisted, entered_by FROM survey_wave_responses WHERE unit_id = %s",
                        (phone,)).fetchone() == ("phone", True, "agent-1")
    unsampled = next(r[0] for r in conn.execute("SELECT id FROM units ORDER BY id") if r[0] not in dict(sample))
    with pytest.raises(InvalidInput, match="is not in the sample"):
        record_response(conn, wave.id, unsampled, scores=all_fours, overall=8, recommend=9, now=NOW)
    with pytest.raises(InvalidInput, match="cleaning must be from 1 to 5"):
        record_response(conn, wave.id, sample[5][0], scores={**all_fours, "cleaning": 6}, overall=8, recommend=9,
                        now=NOW, entered_by="agent-1", mode="phone")
    close_wave(conn, wave.id, now=NOW)
    with pytest.raises(InvalidInput, match="is closed"):
        record_response(conn, wave.id, sample[6][0], scores=all_fours, overall=8, recommend=9, now=NOW,
                        entered_by="agent-1", mode="phone")
    with pytest.raises(InvalidInput, match="already closed"):
        close_wave(conn, wave.id, now=NOW)


def test_groups_under_five_are_hidden(conn):
    wave = create_wave(conn, site_id="riverside", kind="routine", sample=0.10, seed=11, by="mgr", now=NOW)
    sample = _sample(conn, wave.id)
    for unit, _ in sample[:4]:
        _answer(conn, wave.id, unit, 4, overall=8, recommend=9)
    report = wave_report(conn, wave.id)
    assert report["hidden"] is True and report["responses"] == 4 and "nps" not in report and "items" not in report
    online = [unit for unit, mode in sample[4:] if mode == "online"][:6]
    phone = [unit for unit, mode in sample[4:] if mode == "phone"][:2]
    for unit in online + phone:
        _answer(conn, wave.id, unit, 4, overall=8, recommend=9)
    report = wave_report(conn, wave.id)
    assert report["hidden"] is False and report["responses"] == 12
    by_mode = {g["group"]: g for g in report["groups"]["mode"]}
    assert by_mode["online"]["hidden"] is False and by_mode["online"]["responses"] >= 6
    small = [g for g in report["groups"]["mode"] if g["group"] != "online"]
    assert small and all(g["hidden"] and g["responses"] < 5 and "nps" not in g for g in small)


def test_report_trend_against_the_previous_wave_nps_and_matrix(conn):
    first = create_wave(conn, site_id="riverside", kind="routine", sample=0.10, seed=1, by="mgr", now=NOW)
    for i, (unit, _) in enumerate(_sample(conn, first.id)[:20]):
        _answer(conn, first.id, unit, 3, overall=5 + i % 2, recommend=5, elevators=2 + i % 2)
    close_wave(conn, first.id, now=NOW)
    second = create_wave(conn, site_id="riverside", kind="routine", sample=0.10, seed=2, by="mgr",
                         now=NOW + timedelta(days=90))
    # 20 answers: 10 promoters, 4 detractors (NPS +30); lifts drive the overall score and score low.
    for i, (unit, _) in enumerate(_sample(conn, second.id)[:20]):
        low = i % 2 == 0
        _answer(conn, second.id, unit, 4, overall=4 if low else 9, recommend=10 if i < 10 else (8 if i < 16 else 3),
                elevators=2 if low else 4, customer_service=5)
    report = wave_report(conn, second.id)
    assert report["previous_wave"] == first.id
    assert report["nps"]["score"] == 30.0 and report["nps"]["excellent"] is False
    assert report["nps"]["low"] < 30 < report["nps"]["high"]
    assert report["nps_trend"] == {"previous": -100.0, "change": 130.0}
    lifts = report["items"]["elevators"]
    assert lifts["mean"] == 3.0 and lifts["previous"] == 2.5 and lifts["change"] == 0.5
    assert lifts["share_4_5"] == 50.0 and lifts["quadrant"] == "fix first"
    assert report["items"]["cleaning"]["change"] == 1.0  # 3 → 4
    assert report["dimensions"]["basic_services"]["mean"] == pytest.approx(4.33, abs=0.01)
    assert wave_report(conn, first.id)["previous_wave"] is None
    move_out = create_wave(conn, site_id="riverside", kind="move_out", sample=0.10, seed=3, by="mgr",
                           now=NOW + timedelta(days=100))
    assert wave_report(conn, move_out.id)["previous_wave"] is None  # compared only with waves of its kind


def test_coverage_top_up_and_worklist(conn):
    wave = create_wave(conn, site_id="riverside", kind="special", sample=0.10, seed=5, by="mgr", now=NOW,
                       reason="water outage 2026-11-20, 100 households")
    in_b1 = [unit for unit, _ in _sample(conn, wave.id) if unit.startswith("rs-b1-")]
    for unit in in_b1:
        _answer(conn, wave.id, unit, 4, overall=8, recommend=9)
    strata = {s.building_id: s for s in coverage(conn, wave.id)}
    assert strata["rs-b1"].shortfall == 0 and strata["rs-b1"].coverage == 0.10
    assert strata["rs-b2"].target == 10 and strata["rs-b2"].shortfall == 10
    assert len(worklist(conn, wave.id)) == 20
    added = top_up(conn, wave.id)
    assert len(added) == 20 and not any(unit.startswith("rs-b1-") for unit in added)
    assert {r[0] for r in conn.execute(
        "SELECT DISTINCT mode FROM survey_wave_sample WHERE wave_id = %s AND top_up", (wave.id,))} == {"phone"}
    contacts = worklist(conn, wave.id)
    assert len(contacts) == 40 and all(c.phone for c in contacts)


def test_a_top_up_can_be_asked_for_one_building_and_odd_samples_and_seeds_are_refused(conn):
    wave = create_wave(conn, site_id="riverside", kind="routine", sample=0.10, seed=6, by="mgr", now=NOW)
    added = top_up(conn, wave.id, building_id="rs-b2")  # nobody answered: every building is 10 short
    assert len(added) == 10 and all(unit.startswith("rs-b2-") for unit in added)
    assert {s.building_id: s.sampled for s in coverage(conn, wave.id)} == {"rs-b1": 10, "rs-b2": 20, "rs-b3": 10}
    with pytest.raises(InvalidInput, match="building 'rs-b9' is not in survey wave"):
        top_up(conn, wave.id, building_id="rs-b9")
    for sample in (float("nan"), float("inf")):
        with pytest.raises(InvalidInput, match="the sample must be a share"):
            create_wave(conn, site_id="riverside", kind="routine", sample=sample, seed=1, by="mgr", now=NOW)
    with pytest.raises(InvalidInput, match="the seed must be a whole number"):
        create_wave(conn, site_id="riverside", kind="routine", sample=0.10, seed=2**63, by="mgr", now=NOW)


def test_the_cli_creates_answers_reports_and_exports(conn, estate_db_url, tmp_path):
    refused = runner.invoke(app, ["wave", "create", "--site", "riverside", "--sample", "29", "--db", estate_db_url])
    assert refused.exit_code == 2 and "a site of 300 households cannot open a wave of 29" in refused.output
    made = runner.invoke(app, ["wave", "create", "--site", "riverside", "--kind", "routine", "--sample", "0.10",
                               "--seed", "9", "--by", "mgr", "--json", "--db", estate_db_url])
    assert made.exit_code == 0, made.output
    created = json.loads(made.output)
    assert created["sampled"] == 30 and created["plan"] == {"online": 18, "in_person": 9, "phone": 3}
    wave_id = created["id"]
    units = [r[0] for r in conn.execute(
        "SELECT unit_id FROM survey_wave_sample WHERE wave_id = %s ORDER BY position LIMIT 6", (wave_id,))]
    for unit in units:
        done = runner.invoke(app, ["wave", "answer", str(wave_id), "--unit", unit, "--scores", "4,4,5,2,3,3,4,4,3,4",
                                   "--overall", "7", "--recommend", "9", "--by", "agent-1", "--db", estate_db_url])
        assert done.exit_code == 0, done.output
    twice = runner.invoke(app, ["wave", "answer", str(wave_id), "--unit", units[0], "--scores", "4,4,5,2,3,3,4,4,3,4",
                                "--overall", "7", "--recommend", "9", "--by", "agent-1", "--db", estate_db_url])
    assert twice.exit_code == 2 and "already answered" in twice.output
    text = runner.invoke(app, ["wave", "report", str(wave_id), "--db", estate_db_url])
    assert text.exit_code == 0 and "NPS +100" in text.output and "UNDER-COVERED" in text.output
    exported = runner.invoke(app, ["wave", "report", str(wave_id), "--format", "csv", "--db", estate_db_url])
    rows = list(csv.DictReader(io.StringIO(exported.output)))
    assert {"wave", "mode", "coverage", "nps", "dimension", "item"} <= {r["section"] for r in rows}
    assert next(r for r in rows if r["key"] == "elevators")["mean"] == "2.0"
    book_path = tmp_path / "wave.xlsx"
    no_file = runner.invoke(app, ["wave", "report", str(wave_id), "--format", "xlsx", "--db", estate_db_url])
    assert no_file.exit_code == 2 and "--out" in no_file.output
    assert runner.invoke(app, ["wave", "report", str(wave_id), "--format", "xlsx", "--out", str(book_path),
                               "--db", estate_db_url]).exit_code == 0
    sheet = load_workbook(book_path).active
    assert sheet is not None
    book_rows = [[_cell(v) for v in r] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert book_rows == [[_cell(v) for v in r.values()] for r in rows]  # the same figures as the CSV
    as_json = json.loads(runner.invoke(app, ["wave", "report", str(wave_id), "--json", "--db", estate_db_url]).output)
    assert as_json["responses"] == 6 and as_json["assisted"] == 6
    assert runner.invoke(app, ["wave", "close", str(wave_id), "--db", estate_db_url]).exit_code == 0
    missing = runner.invoke(app, ["wave", "report", "999", "--db", estate_db_url])
    assert missing.exit_code == 1 and "no survey wave 999" in missing.output
    listed = runner.invoke(app, ["wave", "worklist", str(wave_id), "--db", estate_db_url])
    assert listed.exit_code == 0 and "24 households" in listed.output


def test_every_survey_command_has_help():
    for group in (app, *(g.typer_instance for g in app.registered_groups)):
        for command in group.registered_commands:
            assert command.callback.__doc__, command.name


def test_the_forewarn_command_fails_cleanly_on_bad_input(estate_db_url):
    def forewarn(*args: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FOREWARN_")}
        return subprocess.run([sys.executable, "-m", "forewarn", "survey", "wave", *args, "--db", estate_db_url],
                              capture_output=True, text=True, env=env, timeout=120)

    assert_clean_failure(forewarn("create", "--site", "riverside", "--sample", "29"),
                         "a site of 300 households cannot open a wave of 29")
    assert_clean_failure(forewarn("create", "--site", "riverside", "--kind", "weekly"), "unknown wave kind")
    assert_clean_failure(forewarn("create", "--site", "nowhere"), "no site 'nowhere'")
    assert_clean_failure(forewarn("report", "7", "--format", "pdf"), "is not a format")
    assert_clean_failure(forewarn("report", "7", "--format", "xlsx"), "pass --out FILE.xlsx")
    assert_clean_failure(forewarn("close", "7"), "no survey wave 7")


def test_a_special_wave_after_an_incident_asks_the_households_it_hit(conn, staff):
    from tests.tickets.conftest import NOW as INCIDENT_AT
    from tests.tickets.conftest import make_alarm
    from tickets.flows import handle_alarm

    opened = handle_alarm(conn, make_alarm("rs-b1-water-high", "pump_failure"), now=INCIDENT_AT)
    incident = conn.execute("SELECT id FROM incidents WHERE ticket_id = %s", (opened.ticket_id,)).fetchone()[0]
    served = {r[0] for r in conn.execute(
        "SELECT unit_id FROM device_units WHERE device_id = 'rs-b1-water-high'")}
    wave = create_wave(conn, site_id="riverside", kind="special", sample=0.10, seed=4, by="mgr", now=NOW,
                       incident_id=incident)
    assert wave.households == len(served) > 0 and wave.incident_id == incident
    sampled = {unit for unit, _ in _sample(conn, wave.id)}
    assert sampled <= served and len(sampled) == -(-len(served) // 10)
    assert sum(s.households for s in coverage(conn, wave.id)) == len(served)
    with pytest.raises(InvalidInput, match="only a special wave follows an incident"):
        create_wave(conn, site_id="riverside", kind="routine", sample=0.10, seed=4, by="mgr", now=NOW,
                    incident_id=incident)
    with pytest.raises(InvalidInput, match=f"incident {incident} already has its special wave \\(wave {wave.id}\\)"):
        create_wave(conn, site_id="riverside", kind="special", sample=0.5, seed=5, by="mgr", now=NOW,
                    incident_id=incident)
    with pytest.raises(psycopg.errors.UniqueViolation), conn.transaction():  # the database holds it, whoever writes
        conn.execute("""INSERT INTO survey_waves (site_id, kind, template, sample_share, seed, households,
                            incident_id, opened_at, opened_by)
                        SELECT site_id, kind, template, sample_share, seed + 1, households, incident_id, opened_at,
                               'other-scheduler' FROM survey_waves WHERE id = %s""", (wave.id,))
    conn.execute("DELETE FROM survey_waves WHERE id = %s", (wave.id,))
    with pytest.raises(InvalidInput, match=f"incident {incident} of {len(served)} households cannot open"):
        create_wave(conn, site_id="riverside", kind="special", sample=2, seed=4, by="mgr", now=NOW,
                    incident_id=incident)
