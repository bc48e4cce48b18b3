"""Renewing survey links that expired unused, against a real PostgreSQL with the demo estate: after the links of a
wave expire, `renew_expired` gives each resident still to answer a fresh link (the old one is then unknown), tells
them again in a second survey notice, and leaves alone a household that answered, a link that was used, and a link
that still answers; a closed wave is refused; a rerun renews nothing twice; `survey wave invite --renew` does the
same from the command line."""

from __future__ import annotations

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from tickets.channels import InAppChannel, MemoryChannel
from tickets.errors import InvalidInput, NotFound
from tickets.outbox import dispatch
from tickets.survey_cli import app
from tickets.survey_links import LinkGone, answer_by_link, invite_online, open_link, renew_expired, token_hash
from tickets.survey_waves import close_wave, create_wave, record_response

from .conftest import NOW
from .test_survey_links import BASE, LINK, _answers

runner = CliRunner()
LATER = NOW + timedelta(days=2)  # past the 1-day links below


def _token(link: str) -> str:
    return link.rsplit("/", 1)[1]


def _survey_notices(conn, wave_id: int, resident: str) -> list[str]:
    """The bodies of the survey notices the resident has for the wave, oldest first."""
    return [r[0] for r in conn.execute(
        "SELECT body FROM notices WHERE resident_id = %s AND kind = 'survey' AND dedupe_key LIKE %s ORDER BY id",
        (resident, f"survey:{wave_id}:%"))]


def test_an_expired_unused_link_is_renewed_and_the_resident_told_again(conn):
    wave = create_wave(conn, site_id="riverside", kind="routine", sample=0.10, seed=7, by="mgr", now=NOW)
    issued = invite_online(conn, wave.id, NOW, BASE, days=1)
    assert len({i.unit_id for i in issued}) >= 4
    # Three households are set aside: one answered by phone, one resident used their link, and the last one's link
    # still answers (given a longer life): none of them gets anything.
    units = list(dict.fromkeys(i.unit_id for i in issued))
    answered = next(i for i in issued if i.unit_id == units[0])
    record_response(conn, wave.id, answered.unit_id, entered_by="agent-1", now=NOW + timedelta(hours=1),
                    **_answers())  # type: ignore[arg-type]
    used = next(i for i in issued if i.unit_id == units[1])
    answer_by_link(conn, _token(used.link), now=NOW + timedelta(hours=1), **_answers())  # type: ignore[arg-type]
    fresh = next(i for i in issued if i.unit_id == units[2])
    conn.execute("UPDATE survey_invitations SET expires_at = %s WHERE wave_id = %s AND resident_id = %s",
                 (LATER + timedelta(days=1), wave.id, fresh.resident_id))
    waiting = [i for i in issued if i.unit_id not in units[:2] and i is not fresh]
    missed = waiting[0]
    with pytest.raises(LinkGone) as gone:
        open_link(conn, _token(missed.link), LATER)
    assert gone.value.reason == "expired"

    renewed = renew_expired(conn, wave.id, LATER, BASE, days=3)
    assert sorted((r.unit_id, r.resident_id) for r in renewed) == sorted(
        (i.unit_id, i.resident_id) for i in waiting)
    assert all(r.notices == 1 for r in renewed)
    new = next(r for r in renewed if r.resident_id == missed.resident_id)
    assert new.link != missed.link and LINK.fullmatch(new.link)
    # The new link answers until LATER + 3 days; the old one is no longer known at all.
    opened = open_link(conn, _token(new.link), LATER)
    assert (opened.unit_id, opened.resident_id, opened.expires_at) == (
        missed.unit_id, missed.resident_id, LATER + timedelta(days=3))
    with pytest.raises(NotFound):
        open_link(conn, _token(missed.link), LATER)
    # Still one invitation per resident, holding only the new token's hash.
    assert conn.execute("SELECT count(*), min(token_sha256) FROM survey_invitations WHERE wave_id = %s "
                        "AND resident_id = %s", (wave.id, missed.resident_id)).fetchone() == (1, token_hash(
                            _token(new.link)))
    # The resident has a second survey notice, carrying the new link, and it is delivered.
    bodies = _survey_notices(conn, wave.id, missed.resident_id)
    assert len(bodies) == 2 and _token(missed.link) in bodies[0] and _token(new.link) in bodies[1]
    conn.commit()
    channels = {"in_app": InAppChannel(), "webhook": MemoryChannel(), "email": MemoryChannel(), "mqtt": MemoryChannel()}
    dispatch(conn, now=LATER + timedelta(minutes=1), channels=channels)  # type: ignore[arg-type]
    delivered = conn.execute(
        """SELECT count(DISTINCT n.id) FROM notices n JOIN outbox o ON o.notice_id = n.id
           WHERE n.resident_id = %s AND n.kind = 'survey' AND o.status = 'delivered'""",
        (missed.resident_id,)).fetchone()
    assert delivered == (2,)
    # Those set aside still have their one notice each.
    for left in (answered, used, fresh):
        assert len(_survey_notices(conn, wave.id, left.resident_id)) == 1, left
    # Answering through the new link records the household's response.
    answer_by_link(conn, _token(new.link), now=LATER + timedelta(hours=1), **_answers())  # type: ignore[arg-type]
    assert conn.execute("SELECT resident_id, mode FROM survey_wave_responses WHERE wave_id = %s AND unit_id = %s",
                        (wave.id, missed.unit_id)).fetchone() == (missed.resident_id, "online")
    # A rerun renews nothing twice (the new links have not expired) and writes no notice.
    notices = conn.execute("SELECT count(*) FROM notices WHERE kind = 'survey'").fetchone()
    assert renew_expired(conn, wave.id, LATER + timedelta(hours=2), BASE, days=3) == []
    assert conn.execute("SELECT count(*) FROM notices WHERE kind = 'survey'").fetchone() == notices


def test_renewal_is_refused_for_a_closed_wave_and_bad_arguments(conn):
    wave = create_wave(conn, site_id="riverside", kind="routine", sample=0.10, seed=8, by="mgr", now=NOW)
    issued = invite_online(conn, wave.id, NOW, BASE, days=1)
    with pytest.raises(InvalidInput, match="at least a day"):
        renew_expired(conn, wave.id, LATER, BASE, days=0)
    with pytest.raises(InvalidInput, match="is not an address"):
        renew_expired(conn, wave.id, LATER, "estate.example")
    with pytest.raises(NotFound):
        renew_expired(conn, 999999, LATER, BASE)
    close_wave(conn, wave.id, now=NOW + timedelta(days=1, hours=1))
    with pytest.raises(InvalidInput, match="is closed"):
        renew_expired(conn, wave.id, LATER, BASE)
    # Nothing was renewed: every resident still has the first link's hash.
    stored = {r[0]: r[1] for r in conn.execute(
        "SELECT resident_id, token_sha256 FROM survey_invitations WHERE wave_id = %s", (wave.id,))}
    assert stored == {i.resident_id: token_hash(_token(i.link)) for i in issued}


def test_the_invite_command_renews_expired_links(conn, estate_db_url):
    wave = create_wave(conn, site_id="riverside", kind="routine", sample=0.10, seed=9, by="mgr", now=NOW)
    issued = invite_online(conn, wave.id, NOW, BASE, days=1)  # long expired by the time the command runs
    conn.commit()
    households = len({i.unit_id for i in issued})
    args = ["wave", "invite", str(wave.id), "--renew", "--base-url", BASE, "--db", estate_db_url]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert (f"{len(issued)} expired survey links renewed for {households} households of wave {wave.id} "
            f"({len(issued)} new notices)") in first.output
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and again.output.startswith("0 expired survey links renewed"), again.output
    bad_url = runner.invoke(app, ["wave", "invite", str(wave.id), "--renew", "--base-url", "estate",
                                  "--db", estate_db_url])
    assert bad_url.exit_code == 2 and "is not an address" in bad_url.output
    missing = runner.invoke(app, ["wave", "invite", "999999", "--renew", "--base-url", BASE, "--db", estate_db_url])
    assert missing.exit_code == 1 and "no survey wave 999999" in missing.output
