"""Talking to the resident about their own request (issue #16 point 9): the acknowledgement quoting the ticket's
real deadlines from the working-day calendar, exactly one notice per state change (none doubled on a retry),
periodic updates on an open major ticket once per period, a dispute that reopens the ticket, and the warranty link
of a repeat repair. On the demo estate, through the same functions the app and the engineers' pages call."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from tests.tickets.conftest import NOW
from tickets.channels import InAppChannel
from tickets.config import TicketConfig
from tickets.confirm import confirm_repair, dispute_repair
from tickets.errors import InvalidInput
from tickets.lifecycle import TicketEvent
from tickets.outbox import dispatch
from tickets.progress import notify_step, progress_sweep
from tickets.requests import file_request
from tickets.service import get_ticket
from tickets.transitions import transition
from tickets.warranty import warranty_links
from tickets.workorders import act

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The eve of the National Day holiday (1–7 October 2026); Saturday 10 October is an adjusted working day.
HOLIDAY_EVE = datetime(2026, 9, 30, 18, 0, tzinfo=SHANGHAI)
ME, MY_UNIT = "r-00001", "rs-b1-0101"


def _notices(conn: psycopg.Connection, ticket_id: int, resident_id: str = ME) -> list[tuple[str, str, str]]:
    """(kind, title, body) of the resident's notices about the ticket, oldest first."""
    return [tuple(r) for r in conn.execute(  # type: ignore[misc]
        "SELECT kind, title, body FROM notices WHERE ticket_id = %s AND resident_id = %s ORDER BY id",
        (ticket_id, resident_id))]


def _work_order(conn: psycopg.Connection, ticket_id: int) -> int:
    row = conn.execute("SELECT id FROM work_orders WHERE ticket_id = %s AND status NOT IN ('done', 'cancelled')",
                       (ticket_id,)).fetchone()
    assert row is not None
    return int(row[0])


def test_a_complaint_on_the_holiday_eve_is_acknowledged_in_app_with_a_resolve_by_after_the_holiday(conn, staff):
    # The resident's registered channel is SMS, but they wrote in the app: the answer comes in the app.
    conn.execute("UPDATE residents SET channel = 'sms', phone = '13800000001' WHERE id = %s", (ME,))
    receipt = file_request(conn, kind="complaint", resident_id=ME, unit_id=MY_UNIT, description="楼道的灯坏了",
                           lang="zh-CN", now=HOLIDAY_EVE)
    conn.commit()
    ticket = get_ticket(conn, receipt.ticket_id)
    # 3 working days from Wednesday 18:00: 6 h that evening, the 7 holidays off, Thu 8, Fri 9, and 18 h of the
    # adjusted working Saturday 10 October.
    assert ticket.resolve_due == datetime(2026, 10, 10, 18, 0, tzinfo=SHANGHAI)
    [(kind, title, body)] = _notices(conn, receipt.ticket_id)
    assert kind == "received" and title == "已收到您的反映"
    assert "2026年10月10日（周六）18:00前处理完毕" in body
    assert "2026年10月1日（周四）18:00前答复您" in body  # 24 h on the wall clock, holiday or not
    channels = conn.execute("SELECT o.channel FROM outbox o JOIN notices n ON n.id = o.notice_id "
                            "WHERE n.ticket_id = %s AND n.resident_id = %s", (receipt.ticket_id, ME)).fetchall()
    assert channels == [("in_app",)]
    assert dispatch(conn, now=HOLIDAY_EVE + timedelta(seconds=5), channels={"in_app": InAppChannel()}) >= 1
    row = conn.execute("SELECT delivered_at FROM notices WHERE ticket_id = %s AND resident_id = %s",
                       (receipt.ticket_id, ME)).fetchone()
    assert row is not None and row[0] is not None


def test_english_residents_read_the_dates_their_way(conn, staff):
    conn.execute("UPDATE residents SET language = 'en' WHERE id = %s", (ME,))
    receipt = file_request(conn, kind="complaint", resident_id=ME, unit_id=MY_UNIT, description="楼道的灯坏了",
                           lang="en", now=HOLIDAY_EVE)
    [(_, title, body)] = _notices(conn, receipt.ticket_id)
    assert title == "We have your report"
    assert "get back to you by Thu 1 Oct 2026, 18:00 and aim to resolve it by Sat 10 Oct 2026, 18:00" in body


def test_each_state_change_gives_exactly_one_notice_and_a_retry_never_doubles(conn, staff):
    config = TicketConfig()
    receipt = file_request(conn, kind="complaint", resident_id=ME, unit_id=MY_UNIT, description="楼道的灯坏了",
                           lang="zh-CN", now=HOLIDAY_EVE)
    ticket_id = receipt.ticket_id
    at = datetime(2026, 10, 8, 9, 0, tzinfo=SHANGHAI)
    act(conn, _work_order(conn, ticket_id), TicketEvent.ACKNOWLEDGE, user_id="eng-1", now=at)
    act(conn, _work_order(conn, ticket_id), TicketEvent.ARRIVE, user_id="eng-1", now=at + timedelta(minutes=20))
    act(conn, _work_order(conn, ticket_id), TicketEvent.RESOLVE, user_id="eng-1", now=at + timedelta(hours=1))
    transition(conn, ticket_id, TicketEvent.CLOSE, actor="agent-1", now=at + timedelta(hours=2))
    transition(conn, ticket_id, TicketEvent.REOPEN, actor="agent-1", now=at + timedelta(days=1),
               note="the light went out again")
    last = transition(conn, ticket_id, TicketEvent.DISPATCH, actor="agent-1", now=at + timedelta(days=1))
    kinds = [k for k, _, _ in _notices(conn, ticket_id)]
    assert kinds == ["received", "step_accepted", "step_on_site", "done", "step_closed", "step_reopened",
                     "step_dispatched"]
    # A retry of the last step's notice (a re-run after a crash, a double click) finds its key taken.
    assert notify_step(conn, last, TicketEvent.DISPATCH, now=at + timedelta(days=1, seconds=1), config=config) == 0
    assert len(_notices(conn, ticket_id)) == 7
    # The reopened ticket reaches the same steps again: each notifies again, once.
    again = at + timedelta(days=2)
    act(conn, _work_order(conn, ticket_id), TicketEvent.ACKNOWLEDGE, user_id="eng-1", now=again)
    act(conn, _work_order(conn, ticket_id), TicketEvent.RESOLVE, user_id="eng-1", now=again + timedelta(hours=1))
    kinds = [k for k, _, _ in _notices(conn, ticket_id)]
    assert kinds[7:] == ["step_accepted", "done"]
    # The one-per-step notices come with the resolve-by date of the reopened ticket, in the resident's words.
    reopened_body = _notices(conn, ticket_id)[5][2]
    assert "已重新打开" in reopened_body and "2026年10月" in reopened_body


def test_a_neighbour_folded_into_nothing_hears_nothing_of_someone_elses_request(conn, staff):
    receipt = file_request(conn, kind="complaint", resident_id=ME, unit_id=MY_UNIT, description="楼道的灯坏了",
                           lang="zh-CN", now=NOW)
    act(conn, _work_order(conn, receipt.ticket_id), TicketEvent.ACKNOWLEDGE, user_id="eng-1", now=NOW)
    row = conn.execute("SELECT count(*) FROM notices WHERE ticket_id = %s AND resident_id <> %s",
                       (receipt.ticket_id, ME)).fetchone()
    assert row == (0,)


def test_a_preferred_channel_wins_over_the_one_used(conn, staff):
    conn.execute("UPDATE residents SET preferred_channel = 'email', email = 'me@example.com' WHERE id = %s", (ME,))
    receipt = file_request(conn, kind="complaint", resident_id=ME, unit_id=MY_UNIT, description="楼道的灯坏了",
                           lang="zh-CN", now=NOW)
    rows = conn.execute("SELECT o.channel, o.address FROM outbox o JOIN notices n ON n.id = o.notice_id "
                        "WHERE n.ticket_id = %s AND n.resident_id = %s", (receipt.ticket_id, ME)).fetchall()
    assert rows == [("email", "me@example.com")]


def _major(conn: psycopg.Connection, at: datetime) -> int:
    receipt = file_request(conn, kind="repair", resident_id=ME, unit_id=MY_UNIT, description="水管爆漏，家里到处是水",
                           lang="zh-CN", now=at)
    assert get_ticket(conn, receipt.ticket_id).severity == "major"
    return receipt.ticket_id


def _progress(conn: psycopg.Connection, ticket_id: int) -> int:
    return sum(1 for kind, _, _ in _notices(conn, ticket_id) if kind == "progress")


def test_an_open_major_ticket_gets_one_progress_update_per_period(conn, staff):
    config = TicketConfig()  # every 24 working hours
    ticket_id = _major(conn, NOW)  # Tuesday 24 November, 10:00
    assert progress_sweep(conn, now=NOW + timedelta(hours=23), config=config) == 0
    assert progress_sweep(conn, now=NOW + timedelta(hours=24, minutes=1), config=config) == 1
    assert progress_sweep(conn, now=NOW + timedelta(hours=24, minutes=2), config=config) == 0  # the same period
    assert progress_sweep(conn, now=NOW + timedelta(hours=40), config=config) == 0
    assert progress_sweep(conn, now=NOW + timedelta(hours=48, minutes=1), config=config) == 1
    assert _progress(conn, ticket_id) == 2
    body = [b for k, _, b in _notices(conn, ticket_id) if k == "progress"][0]
    assert "仍在处理中" in body and "已派单" in body
    # Resolved: no more updates.
    act(conn, _work_order(conn, ticket_id), TicketEvent.ACKNOWLEDGE, user_id="eng-1", now=NOW + timedelta(hours=49))
    act(conn, _work_order(conn, ticket_id), TicketEvent.RESOLVE, user_id="eng-1", now=NOW + timedelta(hours=50),
        override_reason="no device on this ticket")
    assert progress_sweep(conn, now=NOW + timedelta(hours=73), config=config) == 0
    assert _progress(conn, ticket_id) == 2


def test_periods_are_working_time_so_a_weekend_sends_nothing(conn, staff):
    friday = datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)
    ticket_id = _major(conn, friday)
    config = TicketConfig()
    # Monday 09:00: 14 h of Friday and 9 h of Monday are working time, 23 h: not yet a period.
    assert progress_sweep(conn, now=datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI), config=config) == 0
    assert progress_sweep(conn, now=datetime(2026, 11, 30, 10, 1, tzinfo=SHANGHAI), config=config) == 1
    assert _progress(conn, ticket_id) == 1


def _resolved(conn: psycopg.Connection, at: datetime) -> int:
    receipt = file_request(conn, kind="complaint", resident_id=ME, unit_id=MY_UNIT, description="楼道的灯坏了",
                           lang="zh-CN", now=at)
    act(conn, _work_order(conn, receipt.ticket_id), TicketEvent.ACKNOWLEDGE, user_id="eng-1", now=at)
    act(conn, _work_order(conn, receipt.ticket_id), TicketEvent.RESOLVE, user_id="eng-1",
        now=at + timedelta(hours=1))
    return receipt.ticket_id


def test_a_dispute_reopens_the_ticket_with_the_residents_reason(conn, staff):
    ticket_id = _resolved(conn, NOW)
    later = NOW + timedelta(hours=3)
    with pytest.raises(InvalidInput, match="say what is still wrong"):
        dispute_repair(conn, ticket_id, resident_id=ME, by_user=None, reason="  ", now=later)
    answer = dispute_repair(conn, ticket_id, resident_id=ME, by_user=None, reason="灯还是不亮", now=later)
    ticket = get_ticket(conn, ticket_id)
    assert (answer.state, ticket.state, ticket.reopen_count) == ("dispatched", "dispatched", 1)
    assert ticket.resolve_due is not None and ticket.resolve_due > later
    note = conn.execute("SELECT note FROM ticket_events WHERE ticket_id = %s AND event = 'reopen'",
                        (ticket_id,)).fetchone()
    assert note == ("disputed by the resident: 灯还是不亮",)
    assert [k for k, _, _ in _notices(conn, ticket_id)][-2:] == ["step_reopened", "step_dispatched"]
    # A fresh work order for the new attempt; no dispute of a ticket that is not waiting for the check.
    assert _work_order(conn, ticket_id)
    with pytest.raises(InvalidInput):
        dispute_repair(conn, ticket_id, resident_id=ME, by_user=None, reason="again", now=later)


def test_a_confirmation_is_recorded_once_and_leaves_the_rating_open(conn, staff):
    ticket_id = _resolved(conn, NOW)
    for _ in range(2):
        confirm_repair(conn, ticket_id, resident_id=ME, by_user=None, now=NOW + timedelta(hours=2))
    rows = conn.execute("SELECT count(*) FROM ticket_events WHERE ticket_id = %s AND event = 'resident_confirmed'",
                        (ticket_id,)).fetchone()
    assert rows == (1,) and get_ticket(conn, ticket_id).state == "resolved"
    with pytest.raises(Exception, match="no ticket"):  # someone else's ticket is not theirs to confirm
        confirm_repair(conn, ticket_id, resident_id="r-00002", by_user=None, now=NOW + timedelta(hours=2))


def test_a_repeat_within_the_warranty_links_to_the_original_and_shows_on_both(conn, staff):
    first = _resolved(conn, NOW)
    within = NOW + timedelta(days=30)
    second = file_request(conn, kind="complaint", resident_id=ME, unit_id=MY_UNIT, description="楼道的灯又坏了",
                          lang="zh-CN", now=within).ticket_id
    assert warranty_links(conn, second).of == first
    assert warranty_links(conn, first).repeats == [second]
    events = conn.execute("SELECT ticket_id, event FROM ticket_events WHERE event IN ('under_warranty', "
                          "'warranty_repeat') ORDER BY id").fetchall()
    assert events == [(second, "under_warranty"), (first, "warranty_repeat")]
    # Another fault point of the same unit is not a repeat.
    other = file_request(conn, kind="complaint", resident_id=ME, unit_id=MY_UNIT, description="楼道保洁不到位",
                         lang="zh-CN", now=within).ticket_id
    assert warranty_links(conn, other).of is None


def test_a_repeat_after_the_warranty_is_a_new_ticket_of_its_own(conn, staff):
    first = _resolved(conn, NOW)
    after = NOW + timedelta(days=91)
    second = file_request(conn, kind="complaint", resident_id=ME, unit_id=MY_UNIT, description="楼道的灯坏了",
                          lang="zh-CN", now=after).ticket_id
    assert warranty_links(conn, second).of is None and warranty_links(conn, first).repeats == []
