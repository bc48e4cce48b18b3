"""One-time survey links against a real PostgreSQL with the demo estate: `invite_online` issues one link per
resident of each sampled online household, pushed on their channel and delivered by the outbox; a rerun issues none;
only the token's hash is stored; answering through the link records one online response of that resident and uses
the link up; a used, expired or unknown link, or a closed wave, is refused; the CLI does the same."""

from __future__ import annotations

import re
from datetime import timedelta

import psycopg
import pytest
from typer.testing import CliRunner

from tickets.channels import InAppChannel, MemoryChannel
from tickets.errors import InvalidInput, NotFound
from tickets.outbox import dispatch
from tickets.survey_cli import app
from tickets.survey_links import LinkGone, answer_by_link, invite_online, open_link, token_hash
from tickets.survey_template import ITEM_KEYS
from tickets.survey_waves import close_wave, create_wave

from .conftest import NOW

BASE = "https://estate.example"
LINK = re.compile(r"https://estate\.example/survey/([A-Za-z0-9_-]+)")
runner = CliRunner()


def _online_households(conn: psycopg.Connection, wave_id: int) -> dict[str, set[str]]:
    """unit -> its active residents, for the wave's online households."""
    out: dict[str, set[str]] = {}
    for unit, resident in conn.execute(
            """SELECT s.unit_id, r.id FROM survey_wave_sample s JOIN residents r ON r.unit_id = s.unit_id AND r.active
               WHERE s.wave_id = %s AND s.mode = 'online'""", (wave_id,)):
        out.setdefault(unit, set()).add(resident)
    return out


def _deliver(conn: psycopg.Connection) -> dict[str, MemoryChannel | InAppChannel]:
    channels: dict[str, MemoryChannel | InAppChannel] = {
        "in_app": InAppChannel(), "webhook": MemoryChannel(), "email": MemoryChannel(), "mqtt": MemoryChannel()}
    conn.commit()
    dispatch(conn, now=NOW + timedelta(minutes=1), channels=channels)  # type: ignore[arg-type]
    return channels


def _answers(score: int = 4) -> dict[str, object]:
    return {"scores": {item: score for item in ITEM_KEYS}, "overall": 8, "recommend": 9}


def _token_of(conn: psycopg.Connection, wave_id: int, resident: str) -> str:
    body = conn.execute("SELECT body FROM notices WHERE resident_id = %s AND dedupe_key LIKE %s",
                        (resident, f"survey:{wave_id}:%")).fetchone()
    assert body is not None
    found = LINK.search(body[0])
    assert found is not None, body[0]
    return found.group(1)


def test_invite_issues_one_link_per_online_resident_delivered_and_stored_hashed(conn):
    wave = create_wave(conn, site_id="riverside", kind="routine", sample=0.10, seed=3, by="mgr", now=NOW)
    households = _online_households(conn, wave.id)
    residents = {r for members in households.values() for r in members}
    assert len(households) >= 10 and len(residents) >= len(households)
    issued = invite_online(conn, wave.id, NOW, BASE)
    assert sorted((i.unit_id, i.resident_id) for i in issued) == sorted(
        (u, r) for u, members in households.items() for r in members)
    assert all(i.notices == 1 for i in issued)
    # Not-online households get no link.
    assert conn.execute("""SELECT count(*) FROM survey_invitations i JOIN survey_wave_sample s
                           ON s.wave_id = i.wave_id AND s.unit_id = i.unit_id
                           WHERE s.mode <> 'online'""").fetchone() == (0,)
    # Stored hashed: no row holds a token, each holds the hash of the link's token.
    stored = {r[0]: r[1] for r in conn.execute(
        "SELECT resident_id, token_sha256 FROM survey_invitations WHERE wave_id = %s", (wave.id,))}
    for link in issued:
        token = link.link.rsplit("/", 1)[1]
        assert stored[link.resident_id] == token_hash(token) and token not in stored.values()
        assert _token_of(conn, wave.id, link.resident_id) == token  # the notice carries this resident's own link
    # Delivered by the outbox on each resident's channel.
    channels = _deliver(conn)
    delivered = conn.execute(
        """SELECT count(DISTINCT n.resident_id) FROM notices n JOIN outbox o ON o.notice_id = n.id
           WHERE n.kind = 'survey' AND o.status = 'delivered'""").fetchone()
    assert delivered == (len(residents),)
    pushed = [m for name, ch in channels.items() if name != "in_app" for m in ch.sent]  # type: ignore[union-attr]
    assert all(LINK.search(m.body) for m in pushed)
    # A rerun issues none and writes no notice.
    assert invite_online(conn, wave.id, NOW + timedelta(hours=1), BASE) == []
    assert conn.execute("SELECT count(*) FROM notices WHERE kind = 'survey'").fetchone() == (len(residents),)


def test_a_link_answers_once_as_the_residents_online_response(conn):
    wave = create_wave(conn, site_id="riverside", kind="routine", sample=0.10, seed=4, by="mgr", now=NOW)
    issued = invite_online(conn, wave.id, NOW, BASE)
    first = issued[0]
    token = first.link.rsplit("/", 1)[1]
    with pytest.raises(InvalidInput, match="overall must be from 1 to 10"):
        answer_by_link(conn, token, now=NOW, **(_answers() | {"overall": 11}))  # type: ignore[arg-type]
    assert open_link(conn, token, NOW).unit_id == first.unit_id  # a bad answer leaves the link good
    response_id = answer_by_link(conn, token, now=NOW + timedelta(hours=2), comment="电梯很干净",
                                 **_answers())  # type: ignore[arg-type]
    row = conn.execute("SELECT unit_id, resident_id, mode, assisted, overall, recommend, comment "
                       "FROM survey_wave_responses WHERE id = %s", (response_id,)).fetchone()
    assert row == (first.unit_id, first.resident_id, "online", False, 8, 9, "电梯很干净")
    assert conn.execute("SELECT count(*) FROM survey_wave_scores WHERE response_id = %s",
                        (response_id,)).fetchone() == (len(ITEM_KEYS),)
    assert conn.execute("SELECT used_at FROM survey_invitations WHERE token_sha256 = %s",
                        (token_hash(token),)).fetchone() == (NOW + timedelta(hours=2),)
    with pytest.raises(LinkGone) as used:
        answer_by_link(conn, token, now=NOW + timedelta(hours=3), **_answers(2))  # type: ignore[arg-type]
    assert used.value.reason == "used"
    # Another resident of the same household (if any) finds it answered; one response per household either way.
    for other in (i for i in issued if i.unit_id == first.unit_id and i is not first):
        with pytest.raises(LinkGone, match="already answered"):
            open_link(conn, other.link.rsplit("/", 1)[1], NOW + timedelta(hours=3))
    assert conn.execute("SELECT count(*) FROM survey_wave_responses WHERE wave_id = %s AND unit_id = %s",
                        (wave.id, first.unit_id)).fetchone() == (1,)
    with pytest.raises(NotFound):
        open_link(conn, "not-a-token", NOW)


def test_expired_links_and_closed_waves_are_refused(conn):
    wave = create_wave(conn, site_id="riverside", kind="routine", sample=0.10, seed=5, by="mgr", now=NOW)
    issued = invite_online(conn, wave.id, NOW, BASE, days=1)
    late, closing = (i.link.rsplit("/", 1)[1] for i in issued[:2])
    with pytest.raises(LinkGone) as expired:
        answer_by_link(conn, late, now=NOW + timedelta(days=1, seconds=1), **_answers())  # type: ignore[arg-type]
    assert expired.value.reason == "expired"
    close_wave(conn, wave.id, now=NOW + timedelta(hours=1))
    with pytest.raises(LinkGone) as closed:
        open_link(conn, closing, NOW + timedelta(hours=2))
    assert closed.value.reason == "closed"
    assert conn.execute("SELECT count(*) FROM survey_wave_responses WHERE wave_id = %s", (wave.id,)).fetchone() == (0,)
    with pytest.raises(InvalidInput, match="is closed"):
        invite_online(conn, wave.id, NOW, BASE)


def test_the_invite_command_sends_once_and_refuses_bad_input(conn, estate_db_url):
    wave = create_wave(conn, site_id="riverside", kind="routine", sample=0.10, seed=6, by="mgr", now=NOW)
    conn.commit()
    households = _online_households(conn, wave.id)
    first = runner.invoke(app, ["wave", "invite", str(wave.id), "--base-url", BASE, "--db", estate_db_url])
    assert first.exit_code == 0, first.output
    assert f"survey links sent to {len(households)} households of wave {wave.id}" in first.output
    again = runner.invoke(app, ["wave", "invite", str(wave.id), "--base-url", BASE, "--db", estate_db_url])
    assert again.exit_code == 0 and again.output.startswith("0 survey links sent"), again.output
    bad_url = runner.invoke(app, ["wave", "invite", str(wave.id), "--base-url", "estate", "--db", estate_db_url])
    assert bad_url.exit_code == 2 and "is not an address" in bad_url.output
    missing = runner.invoke(app, ["wave", "invite", "999999", "--base-url", BASE, "--db", estate_db_url])
    assert missing.exit_code == 1 and "no survey wave 999999" in missing.output
