"""Complete intake (issue #16 point 4; docs/lifecycle.md "Intake"): the resident's requested outcome (诉求) is kept
and shown back; every channel of handbook 003 is accepted and an unknown one refused; the same household raising
the same fault point within 72 hours, on any channel, joins the open ticket instead of opening a second one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tickets.callers import caller, link_caller
from tickets.complaints import CHANNELS, intake_complaint
from tickets.errors import InvalidInput
from tickets.requests import file_request

from .conftest import NOW

LIGHT = "楼道的灯坏了"


def _file(conn, *, resident="r-00001", unit="rs-b1-0101", channel="app", text=LIGHT, at=NOW, **kw):
    made = intake_complaint(conn, resident_id=resident, unit_id=unit, channel=channel, description=text,
                            lang="zh-CN", reported_at=at, now=at, **kw)
    conn.commit()
    return made


def _neighbour(conn) -> tuple[str, str]:
    """A resident of another unit of the same building."""
    row = conn.execute("""SELECT r.id, r.unit_id FROM residents r JOIN units u ON u.id = r.unit_id
                          WHERE u.building_id = (SELECT building_id FROM units WHERE id = 'rs-b1-0101')
                            AND r.unit_id <> 'rs-b1-0101' AND r.active ORDER BY r.id LIMIT 1""").fetchone()
    assert row is not None
    return row[0], row[1]


def test_the_requested_outcome_is_stored_and_returned(conn, staff):
    made = _file(conn, requested_outcome="  今天之内修好，并告诉我原因  ")
    stored = conn.execute("SELECT requested_outcome FROM complaints WHERE id = %s", (made.complaint_id,)).fetchone()
    assert stored == ("今天之内修好，并告诉我原因",)
    assert _file(conn, text="水龙头漏水", at=NOW + timedelta(hours=2)).complaint_id  # it stays optional


def test_a_requested_outcome_too_long_is_refused(conn, staff):
    with pytest.raises(InvalidInput, match="at most 1000"):
        _file(conn, requested_outcome="修" * 1001)


def test_a_request_carries_its_requested_outcome(conn, staff):
    receipt = file_request(conn, kind="repair", resident_id="r-00001", unit_id="rs-b1-0101", description=LIGHT,
                           lang="zh-CN", now=NOW, requested_outcome="换灯")
    conn.commit()
    assert conn.execute("SELECT requested_outcome FROM complaints WHERE id = %s",
                        (receipt.complaint_id,)).fetchone() == ("换灯",)


@pytest.mark.parametrize("channel", ["grid_visit", "committee_referral", "complaint_box", "email", "hotline"])
def test_each_new_channel_is_accepted(conn, staff, channel):
    made = _file(conn, channel=channel, taken_by="agent-1")
    assert conn.execute("SELECT channel FROM complaints WHERE id = %s", (made.complaint_id,)).fetchone() == (channel,)


def test_an_unknown_channel_is_refused_with_the_channels_named(conn, staff):
    with pytest.raises(InvalidInput, match="channel must be one of .*hotline.*not 'fax'"):
        _file(conn, channel="fax")
    assert len(CHANNELS) == 9


def _tickets_of_unit(conn, unit="rs-b1-0101") -> list[int]:
    return [r[0] for r in conn.execute("SELECT id FROM tickets WHERE unit_id = %s ORDER BY id", (unit,))]


def test_the_same_household_on_the_hotline_10_h_later_joins_the_open_ticket(conn, staff):
    first = _file(conn, channel="app")
    again = _file(conn, channel="hotline", at=NOW + timedelta(hours=10), taken_by="agent-1")
    assert again.joined and not first.joined
    assert again.ticket_id == first.ticket_id
    assert _tickets_of_unit(conn) == [first.ticket_id]
    on_ticket = conn.execute("SELECT id, channel FROM complaints WHERE ticket_id = %s ORDER BY id",
                             (first.ticket_id,)).fetchall()
    assert on_ticket == [(first.complaint_id, "app"), (again.complaint_id, "hotline")]
    event = conn.execute("SELECT detail FROM ticket_events WHERE ticket_id = %s AND event = 'complaint_joined'",
                         (first.ticket_id,)).fetchall()
    assert [e[0]["channel"] for e in event] == ["hotline"]
    assert event[0][0]["complaint_id"] == again.complaint_id


def test_80_h_later_opens_a_new_ticket(conn, staff):
    first = _file(conn)
    later = _file(conn, channel="hotline", at=NOW + timedelta(hours=80), taken_by="agent-1")
    assert not later.joined and later.ticket_id != first.ticket_id


def test_a_different_fault_point_opens_a_new_ticket(conn, staff):
    first = _file(conn)
    other = _file(conn, text="水龙头漏水", at=NOW + timedelta(hours=1))
    points = conn.execute("SELECT point FROM complaints WHERE id IN (%s, %s)",
                          (first.complaint_id, other.complaint_id)).fetchall()
    assert len(set(points)) == 2
    assert not other.joined and other.ticket_id != first.ticket_id


def test_a_neighbours_unit_opens_a_new_ticket(conn, staff):
    first = _file(conn)
    resident, unit = _neighbour(conn)
    theirs = _file(conn, resident=resident, unit=unit, at=NOW + timedelta(hours=1))
    assert not theirs.joined and theirs.ticket_id != first.ticket_id


def test_a_resolved_ticket_is_not_joined(conn, staff):
    first = _file(conn)
    conn.execute("UPDATE tickets SET state = 'resolved' WHERE id = %s", (first.ticket_id,))
    conn.commit()
    again = _file(conn, at=NOW + timedelta(hours=2))
    assert not again.joined and again.ticket_id != first.ticket_id


def test_a_caller_not_in_the_registry_is_taken_and_linked_once_identified(conn, staff):
    made = intake_complaint(conn, resident_id=None, unit_id="rs-b1-0101", channel="hotline", description=LIGHT,
                            lang="zh-CN", reported_at=NOW, now=NOW, taken_by="agent-1",
                            caller=caller("王先生", "138 0000 1111"))
    conn.commit()
    row = conn.execute("SELECT resident_id, caller_name, caller_phone FROM complaints WHERE id = %s",
                       (made.complaint_id,)).fetchone()
    assert row == (None, "王先生", "138 0000 1111")
    assert conn.execute("SELECT unit_id FROM tickets WHERE id = %s", (made.ticket_id,)).fetchone() == ("rs-b1-0101",)
    resident, unit = _neighbour(conn)
    with pytest.raises(InvalidInput, match="does not live in unit"):
        link_caller(conn, made.complaint_id, resident, by_user="agent-1", now=NOW + timedelta(hours=1))
    conn.rollback()
    assert link_caller(conn, made.complaint_id, "r-00001", by_user="agent-1",
                       now=NOW + timedelta(hours=1)) == made.ticket_id
    conn.commit()
    assert conn.execute("SELECT resident_id FROM complaints WHERE id = %s",
                        (made.complaint_id,)).fetchone() == ("r-00001",)
    events = conn.execute("SELECT detail FROM ticket_events WHERE ticket_id = %s AND event = 'caller_linked'",
                          (made.ticket_id,)).fetchall()
    assert [e[0]["resident_id"] for e in events] == ["r-00001"]
    with pytest.raises(InvalidInput, match="already"):
        link_caller(conn, made.complaint_id, "r-00001", by_user="agent-1", now=NOW + timedelta(hours=2))


def test_a_caller_without_name_or_phone_is_refused(conn, staff):
    with pytest.raises(InvalidInput, match="caller_name and caller_phone"):
        _file(conn, resident=None)
    with pytest.raises(InvalidInput, match="caller_name and caller_phone"):
        caller("王先生", "  ")
    with pytest.raises(InvalidInput, match="not a phone number"):
        caller("王先生", "call me")


def test_a_callers_complaint_joins_the_households_open_ticket(conn, staff):
    first = _file(conn)
    made = intake_complaint(conn, resident_id=None, unit_id="rs-b1-0101", channel="complaint_box",
                            description=LIGHT, lang="zh-CN", reported_at=NOW + timedelta(hours=5),
                            now=NOW + timedelta(hours=5), taken_by="agent-1", caller=caller("李女士", "13900002222"))
    conn.commit()
    assert made.joined and made.ticket_id == first.ticket_id


def test_an_urgent_complaint_does_not_join_an_ordinary_ticket_on_the_same_point(conn, staff):
    drip = _file(conn, text="厨房水龙头漏水")
    burst = _file(conn, text="卫生间水管爆了，到处是水", at=NOW + timedelta(hours=1))
    points = conn.execute("SELECT point, severity FROM complaints WHERE id IN (%s, %s) ORDER BY id",
                          (drip.complaint_id, burst.complaint_id)).fetchall()
    assert points[0][0] == points[1][0] and [p[1] for p in points] == ["general", "major"]
    assert not burst.joined and burst.ticket_id != drip.ticket_id
    # … while a second report of the burst joins the major ticket.
    again = _file(conn, channel="hotline", text="卫生间水管爆了", at=NOW + timedelta(hours=2), taken_by="agent-1")
    assert again.joined and again.ticket_id == burst.ticket_id
