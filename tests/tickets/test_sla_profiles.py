"""SLA profiles per site (issue #16 point 2): the two handbooks' profiles as data, each value with its source; a
site's profile gives its new tickets their clocks, a switch leaves open tickets alone; `forewarn tickets types
--site` and `forewarn tickets profile …` on a real database."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import psycopg
import pytest
from typer.testing import CliRunner

from tickets.cli import app
from tickets.complaints import intake_complaint
from tickets.config import DEFAULT_CONFIG
from tickets.errors import NotFound
from tickets.lifecycle import TicketEvent
from tickets.profiles import (
    ProfileError,
    UnknownProfile,
    default_profiles,
    parse_profiles,
    set_site_profile,
    site_profile,
)
from tickets.requests import Clock, RequestKind, file_request, rules
from tickets.sla import Limit, Unit, add_working_time, deadline
from tickets.taxonomy import Tier
from tickets.transitions import transition

from .conftest import NOW, SHANGHAI

runner = CliRunner()
MIN, HOUR = Unit.MINUTES, 60


def _harbour(conn: psycopg.Connection) -> tuple[str, str]:
    """A second site with one building, one unit and one resident: (resident, unit)."""
    conn.execute("INSERT INTO sites (id, name) VALUES ('harbour', 'Harbour Court')")
    conn.execute("INSERT INTO buildings (id, site_id, name, floors) VALUES ('hb-b1', 'harbour', 'Harbour 1', 6)")
    conn.execute("INSERT INTO units (id, building_id, floor, number) VALUES ('hb-b1-0101', 'hb-b1', 1, '0101')")
    conn.execute("INSERT INTO residents (id, unit_id, name) VALUES ('hb-r1', 'hb-b1-0101', 'Harbour resident')")
    return "hb-r1", "hb-b1-0101"


def _riverside_resident(conn: psycopg.Connection) -> tuple[str, str]:
    row = conn.execute("""SELECT r.id, r.unit_id FROM residents r JOIN units u ON u.id = r.unit_id
                          WHERE u.building_id = 'rs-b1' ORDER BY r.id LIMIT 1""").fetchone()
    return row[0], row[1]


def _complaint(conn: psycopg.Connection, resident: str, unit: str, text: str, now=NOW) -> int:
    # Each its own ticket (no household join): these tests compare the tickets' clocks.
    made = intake_complaint(conn, resident_id=resident, unit_id=unit, channel="phone", description=text,
                            lang="zh-CN", reported_at=now, now=now, taken_by="agent-1",
                            config=replace(DEFAULT_CONFIG, join_window=timedelta(0)))
    conn.commit()
    return made.ticket_id


def _deadlines(conn: psycopg.Connection, ticket_id: int) -> tuple:
    return conn.execute("SELECT severity, respond_due, resolve_due, sla_profile FROM tickets WHERE id = %s",
                        (ticket_id,)).fetchone()


# -- the profiles as data ------------------------------------------------------------------------------------------


def test_the_two_handbook_profiles_give_every_value_with_its_source():
    profiles = default_profiles()
    assert set(profiles.by_name) == {"001", "003"} and profiles.default == "001"
    p001, p003 = profiles.get("001"), profiles.get("003")
    assert p001.tiers[Tier.MAJOR].respond == Limit(15, MIN)  # 001 §1.3: on site within 15 minutes
    assert p001.tiers[Tier.MAJOR].resolve == Limit(24 * HOUR, MIN)  # written plan within 24 hours
    assert p001.tiers[Tier.COMPLEX].respond == Limit(7, Unit.WORKING_DAYS)
    assert p001.tiers[Tier.COMPLEX].resolve == Limit(15, Unit.WORKING_DAYS)
    assert p003.tiers[Tier.MAJOR].respond == Limit(30, MIN)  # 003 §05: urgent on site within 30 minutes
    assert p003.tiers[Tier.COMPLEX].respond == Limit(72 * HOUR, MIN)  # 003 §03: a plan within 72 hours
    assert p003.kinds["urgent_repair"].respond == Limit(30, MIN)
    assert p003.kinds["ordinary_repair"].resolve == Limit(24 * HOUR, MIN)
    assert p003.kinds["enquiry"].resolve == Limit(2 * HOUR, MIN)
    for profile in (p001, p003):
        assert len(profile.clauses) == (3 + 3) * 2
        for (key, limit), clause in profile.clauses.items():
            assert clause.source.startswith(("001 §", "003 §")), (profile.name, key, limit)


def test_the_default_profile_is_the_clocks_of_before():
    """001 reproduces the clocks the platform had before profiles (DESIGN.md's tiers, the kinds' own clocks)."""
    policy = DEFAULT_CONFIG.policy
    assert [(policy("", t).respond, policy("", t).resolve) for t in Tier] == [
        (Limit(15, MIN), Limit(24 * HOUR, MIN)), (Limit(24 * HOUR, MIN), Limit(3, Unit.WORKING_DAYS)),
        (Limit(7, Unit.WORKING_DAYS), Limit(15, Unit.WORKING_DAYS))]
    kinds = default_profiles().get(None).kinds
    assert (kinds["urgent_repair"].respond, kinds["ordinary_repair"].resolve, kinds["enquiry"].resolve) == (
        Limit(30, MIN), Limit(24 * HOUR, MIN), Limit(2 * HOUR, MIN))


@pytest.mark.parametrize(("data", "message"), [
    ({"profiles": {}}, "needs a 'profiles' mapping"),
    ({"default": "009", "profiles": {"001": None}}, r"profiles.001: needs a title"),
    ({"default": "009", "profiles": {"001": {"tiers": {"major": {}}, "kinds": {}}}}, r"tiers: must give exactly"),
])
def test_a_broken_profiles_file_names_the_entry(data, message):
    with pytest.raises(ProfileError, match=message):
        parse_profiles(data)


def test_an_unknown_profile_names_the_known_ones():
    with pytest.raises(UnknownProfile, match="no SLA profile '002'; the profiles are 001, 003"):
        default_profiles().get("002")


# -- per site, on new tickets only ---------------------------------------------------------------------------------


def test_a_003_site_reaches_urgent_repairs_in_30_minutes_and_a_001_site_major_complaints_in_15(conn, staff):
    harbour_resident, harbour_unit = _harbour(conn)
    set_site_profile(conn, "harbour", "003")
    conn.commit()
    repair = file_request(conn, kind=RequestKind.REPAIR, resident_id=harbour_resident, unit_id=harbour_unit,
                          description="卫生间水管爆了，到处是水", lang="zh-CN", now=NOW)
    conn.commit()
    assert [(t.clock, t.due) for t in repair.limits] == [(Clock.ON_SITE, NOW + timedelta(minutes=30)),
                                                          (Clock.RESOLVE, NOW + timedelta(hours=24))]
    assert _deadlines(conn, repair.ticket_id)[:2] == ("major", NOW + timedelta(minutes=30))
    # The same words as a complaint: the 003 site's major tier is on site in 30 minutes, the 001 site's in 15.
    harbour = _complaint(conn, harbour_resident, harbour_unit, "电梯困人了，快来")
    resident, unit = _riverside_resident(conn)
    riverside = _complaint(conn, resident, unit, "电梯困人了，快来")
    assert _deadlines(conn, harbour) == ("major", NOW + timedelta(minutes=30), NOW + timedelta(hours=24), "003")
    assert _deadlines(conn, riverside) == ("major", NOW + timedelta(minutes=15), NOW + timedelta(hours=24), "001")


def test_switching_a_sites_profile_changes_new_tickets_and_not_open_ones(conn, staff):
    resident, unit = _riverside_resident(conn)
    before = _complaint(conn, resident, unit, "物业收费争议，公摊费用不透明")
    seven_working_days = add_working_time(NOW, timedelta(days=7), SHANGHAI)
    assert _deadlines(conn, before)[:3] == ("complex", seven_working_days,
                                            add_working_time(NOW, timedelta(days=15), SHANGHAI))
    set_site_profile(conn, "riverside", "003")
    conn.commit()
    later = NOW + timedelta(hours=1)
    after = _complaint(conn, resident, unit, "物业收费争议，公摊费用不透明", now=later)
    assert _deadlines(conn, after)[:2] == ("complex", later + timedelta(hours=72))  # 003: a plan within 72 h
    assert _deadlines(conn, after)[3] == "003"
    # The open ticket keeps the deadlines and the profile it was opened with …
    assert _deadlines(conn, before)[1:] == (seven_working_days, add_working_time(NOW, timedelta(days=15), SHANGHAI),
                                            "001")
    # … also when it pauses and resumes: its working-day clock still counts working days, as 001 says.
    fifteen_working_days = add_working_time(NOW, timedelta(days=15), SHANGHAI)
    transition(conn, before, TicketEvent.ACKNOWLEDGE, actor="agent-1", now=later)
    transition(conn, before, TicketEvent.WAIT_RESIDENT, actor="agent-1", now=later, note="need the bill")
    transition(conn, before, TicketEvent.RESUME, actor="agent-1", now=later + timedelta(hours=2), note="got it")
    conn.commit()
    assert _deadlines(conn, before)[2] == add_working_time(fifteen_working_days, timedelta(hours=2), SHANGHAI)
    assert site_profile(conn, "riverside").name == "003"
    assert conn.execute("SELECT actor, detail FROM audit_log WHERE action = 'site.sla_profile' AND subject = %s",
                        ("riverside",)).fetchall() == [("cli", {"from": "001", "to": "003"})]


def test_setting_an_unknown_profile_or_site_changes_nothing(conn):
    with pytest.raises(UnknownProfile):
        set_site_profile(conn, "riverside", "999")
    with pytest.raises(NotFound, match="no site 'nowhere'"):
        set_site_profile(conn, "nowhere", "003")
    assert site_profile(conn, "riverside").name == "001"


def test_the_residents_rules_follow_their_sites_profile():
    urgent_complaint = {(r.kind, r.urgent, r.clock): r.limit for r in rules(default_profiles().get("003"))}
    assert urgent_complaint[(RequestKind.COMPLAINT, True, Clock.RESPOND)] == Limit(30, MIN)
    assert {(r.kind, r.urgent, r.clock): r.limit for r in rules()}[
        (RequestKind.COMPLAINT, True, Clock.RESPOND)] == Limit(15, MIN)


# -- the commands --------------------------------------------------------------------------------------------------


def test_types_for_a_site_prints_its_profiles_clocks(conn, estate_db_url):
    default = runner.invoke(app, ["types", "--site", "riverside", "--db", estate_db_url])
    assert default.exit_code == 0, default.output
    assert "SLA profile 001" in default.output.splitlines()[0] and "(site riverside)" in default.output
    assert "complaint   major    on_site: 15 min, plan: 24 h" in default.output
    switched = runner.invoke(app, ["profile", "set", "003", "--site", "riverside", "--db", estate_db_url])
    assert switched.exit_code == 0 and "riverside now runs on SLA profile 003" in switched.output
    lines = runner.invoke(app, ["types", "--site", "riverside", "--db", estate_db_url]).output.splitlines()
    assert lines[0].startswith("SLA profile 003") and len(lines) == 1 + 12 + 1  # 4 kinds x 3 tiers, the legend
    assert lines[-1].startswith("met by: respond = acknowledged, or any later step; on_site = the ticket or any of "
                                "its work orders arrives on site; plan = a written plan is recorded")
    assert "complaint   major    on_site: 30 min, plan: 24 h" in lines
    assert "complaint   complex  plan: 72 h, resolve: 15 working days" in lines
    assert "complaint   general  respond: 24 h, resolve: 3 working days" in lines
    assert "repair      major    on_site: 30 min, resolve: 24 h" in lines
    assert "repair      general  resolve: 24 h" in lines
    assert "enquiry     general  answer: 2 h" in lines
    assert "suggestion  complex  respond: 72 h" in lines


def test_profile_show_lists_the_values_their_sources_and_each_sites_profile(conn, estate_db_url):
    shown = runner.invoke(app, ["profile", "show", "--db", estate_db_url])
    assert shown.exit_code == 0, shown.output
    assert "profile 001 (default)" in shown.output and "profile 003:" in shown.output
    assert "001 §1.3 時限要求" in shown.output and "003 §03 分級響應機制" in shown.output
    assert "site riverside        001" in shown.output


def test_an_unknown_profile_or_site_is_a_clear_error_and_a_non_zero_exit(conn, estate_db_url):
    unknown = runner.invoke(app, ["profile", "set", "002", "--site", "riverside", "--db", estate_db_url])
    assert unknown.exit_code == 2
    assert "error: no SLA profile '002'; the profiles are 001, 003" in unknown.output
    nowhere = runner.invoke(app, ["profile", "set", "003", "--site", "nowhere", "--db", estate_db_url])
    assert nowhere.exit_code == 1 and "error: no site 'nowhere'" in nowhere.output
    types = runner.invoke(app, ["types", "--site", "nowhere", "--db", estate_db_url])
    assert types.exit_code == 1 and "error: no site 'nowhere'" in types.output
    assert site_profile(conn, "riverside").name == "001"


def _at(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=SHANGHAI)


# Wednesday 30 September 2026, 18:00: National Day runs 1–7 October and Saturday 10 October is worked. The working
# days after it are 8, 9, 10 (Saturday), 12, 13, 14, 15 … October; wall-clock limits ignore the holiday.
EVE = _at(9, 30, 18)
ACROSS_NATIONAL_DAY = [
    ("001", Tier.MAJOR, "respond", _at(9, 30, 18) + timedelta(minutes=15)),
    ("001", Tier.MAJOR, "resolve", _at(10, 1, 18)),
    ("001", Tier.GENERAL, "respond", _at(10, 1, 18)),
    ("001", Tier.GENERAL, "resolve", _at(10, 10, 18)),  # 6 h on the 30th, the 8th, the 9th, 18 h on Saturday 10th
    ("001", Tier.COMPLEX, "respond", _at(10, 15, 18)),  # 7 working days: … 12, 13, 14, then 18 h on the 15th
    ("001", Tier.COMPLEX, "resolve", _at(10, 27, 18)),  # 6 h, 14 working days to the 26th, 18 h on the 27th
    ("003", Tier.MAJOR, "respond", _at(9, 30, 18) + timedelta(minutes=30)),
    ("003", Tier.COMPLEX, "respond", _at(10, 3, 18)),  # 72 h of wall time, inside the holiday
    ("003", Tier.GENERAL, "resolve", _at(10, 10, 18)),
]


@pytest.mark.parametrize(("profile", "tier", "limit", "due"), ACROSS_NATIONAL_DAY,
                         ids=[f"{p}-{t}-{limit}" for p, t, limit, _ in ACROSS_NATIONAL_DAY])
def test_each_profiles_deadlines_across_national_day_and_the_worked_saturday(profile, tier, limit, due):
    policy = DEFAULT_CONFIG.policy("", tier, profile)
    assert deadline(EVE, policy.respond if limit == "respond" else policy.resolve, SHANGHAI) == due
