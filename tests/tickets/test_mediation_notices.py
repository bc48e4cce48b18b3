"""What the residents who complained hear of an external mediation of their ticket (issue #16 point 6; handbook 003
§03 第三方调解介入), and what their request page shows: the start names the mediating party and says the time
limits are paused; the end gives the outcome (the agreement, or that we go on and the clocks run again). Checked
as a resident would: through their own notices once delivered in the app (`tickets.portal.resident_notices`, what
the notices page and app read) and their request's timeline. Real PostgreSQL, the demo estate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
import pytest

from api.auth import ensure_resident_user
from tickets.channels import InAppChannel
from tickets.complaints import intake_complaint
from tickets.config import TicketConfig
from tickets.mediation import end_mediation, mediations, notify_started, start_mediation
from tickets.outbox import dispatch
from tickets.portal import ResidentNotice, Step, resident_notices, resident_request
from tickets.progress import local_time
from tickets.service import get_ticket

from .conftest import NOW
from .test_mediation import BILLING, _residents, group  # noqa: F401 - `group` is a fixture

COMMITTEE = "滨江社区居委会"
AGREEMENT = "物业费按面积重新分摊，多收部分下月抵扣"


def _household(conn: psycopg.Connection) -> tuple[str, list[str]]:
    """A unit of building rs-b1 with three active residents: (unit, [resident ids])."""
    row = conn.execute(
        """SELECT r.unit_id, array_agg(r.id ORDER BY r.id) FROM residents r JOIN units u ON u.id = r.unit_id
           WHERE u.building_id = 'rs-b1' AND r.active GROUP BY r.unit_id HAVING count(*) >= 3
           ORDER BY r.unit_id LIMIT 1""").fetchone()
    assert row is not None, "the demo estate has no household of three in rs-b1"
    return row[0], row[1][:3]


@dataclass(frozen=True)
class Dispute:
    ticket: int
    zh: str  # complained; reads Chinese
    en: str  # complained too; reads English
    housemate: str  # same household, complained of nothing
    neighbour: str  # another unit of the building
    complaints: dict[str, int]  # complainant -> their request (complaint id)


@pytest.fixture
def disputed(conn: psycopg.Connection, group: dict[str, str]) -> Dispute:  # noqa: F811
    """A billing dispute raised in the app by two residents of one household (the second reads English), which
    the household's join puts on one ticket; their housemate and a neighbour raised nothing on it."""
    unit, (first, second, housemate) = _household(conn)
    neighbour = next(r for r, u in _residents(conn, 4) if u != unit)
    conn.execute("UPDATE residents SET preferred_language = 'en' WHERE id = %s", (second,))
    made = [intake_complaint(conn, resident_id=who, unit_id=unit, channel="app", description=BILLING,
                             lang="zh-CN", reported_at=NOW + timedelta(minutes=i), now=NOW + timedelta(minutes=i))
            for i, who in enumerate((first, second))]
    conn.commit()
    assert made[0].ticket_id == made[1].ticket_id, "the household's second complaint joins the first's ticket"
    return Dispute(made[0].ticket_id, first, second, housemate, neighbour,
                   {first: made[0].complaint_id, second: made[1].complaint_id})


def _told(conn: psycopg.Connection, resident_id: str, at: datetime) -> list[ResidentNotice]:
    """The resident's mediation notices as they see them: delivered in the app, newest first."""
    dispatch(conn, now=at, channels={"in_app": InAppChannel()})
    return [n for n in resident_notices(conn, resident_id, limit=50).items if n.kind.startswith("mediation")]


def test_each_complainant_is_told_the_mediation_started_with_whom_and_that_the_clocks_are_paused(conn, disputed):
    ticket = disputed.ticket
    start_mediation(conn, ticket, party="committee", name=COMMITTEE, by="ch-2", now=NOW + timedelta(hours=1),
                    note="业主情绪激动，内部备注")
    conn.commit()
    at = NOW + timedelta(hours=1, seconds=5)

    [zh] = _told(conn, disputed.zh, at)
    assert (zh.kind, zh.ticket_id, zh.title) == ("mediation_started", ticket, f"工单 #{ticket} 已提交调解")
    assert f"已提交社区居委会（{COMMITTEE}）进行调解" in zh.body
    assert "调解期间，处理时限暂停计算" in zh.body
    assert "内部备注" not in zh.body  # the staff's note is theirs

    [en] = _told(conn, disputed.en, at)
    assert en.title == f"Ticket #{ticket} taken to mediation"
    assert f"taken to the community residents' committee ({COMMITTEE}) for mediation" in en.body
    assert "the time limits on your request are paused" in en.body

    # Told once: the same notice written again (a retry) finds its key taken.
    [m] = mediations(conn, ticket)
    assert notify_started(conn, get_ticket(conn, ticket), m, now=at) == 0
    assert len(_told(conn, disputed.zh, at)) == 1


def test_a_resident_with_no_complaint_on_the_ticket_is_told_nothing(conn, disputed):
    ticket = disputed.ticket
    start_mediation(conn, ticket, party="street", name="滨江街道办事处", now=NOW + timedelta(hours=1))
    end_mediation(conn, ticket, outcome="agreed", agreement=AGREEMENT, now=NOW + timedelta(days=1))
    conn.commit()
    at = NOW + timedelta(days=1, seconds=5)
    assert len(_told(conn, disputed.zh, at)) == 2
    for bystander in (disputed.housemate, disputed.neighbour):
        assert _told(conn, bystander, at) == []
        row = conn.execute("SELECT count(*) FROM notices WHERE resident_id = %s AND ticket_id = %s",
                           (bystander, ticket)).fetchone()
        assert row == (0,)


def test_an_agreed_end_tells_each_complainant_the_agreement_and_the_new_resolve_by_date(conn, disputed):
    ticket = disputed.ticket
    before = get_ticket(conn, ticket)
    start_mediation(conn, ticket, party="owners_committee", name="滨江花园业委会", now=NOW + timedelta(hours=1))
    end_mediation(conn, ticket, outcome="agreed", agreement=AGREEMENT + "。", now=NOW + timedelta(days=2))
    conn.commit()
    after = get_ticket(conn, ticket)
    assert after.resolve_due > before.resolve_due  # the paused time is added back
    at = NOW + timedelta(days=2, seconds=5)

    zh = _told(conn, disputed.zh, at)[0]  # newest first
    assert (zh.kind, zh.title) == ("mediation_ended", f"工单 #{ticket} 调解结束")
    assert f"经业主委员会（滨江花园业委会）调解，双方已达成协议：{AGREEMENT}。我们将按协议落实。" in zh.body
    assert f"处理时限恢复计算，预计{local_time(after.resolve_due, 'zh-CN', TicketConfig())}前处理完毕" in zh.body

    en = _told(conn, disputed.en, at)[0]
    assert en.title == f"Mediation of ticket #{ticket} ended"
    assert f"an agreement was reached: {AGREEMENT}" in en.body
    assert f"The time limits run again: we aim to resolve it by {local_time(after.resolve_due, 'en', TicketConfig())}" \
        in en.body


def test_an_end_without_agreement_says_we_go_on_and_the_clocks_run_again(conn, disputed):
    ticket = disputed.ticket
    start_mediation(conn, ticket, party="mediator", name="区人民调解委员会 王调解员", now=NOW + timedelta(hours=1))
    end_mediation(conn, ticket, outcome="not_agreed", now=NOW + timedelta(days=1))
    conn.commit()
    at = NOW + timedelta(days=1, seconds=5)
    zh = _told(conn, disputed.zh, at)[0]
    assert "经专业调解机构（区人民调解委员会 王调解员）调解，双方未能达成协议。我们将继续处理您的请求" in zh.body
    assert "处理时限恢复计算" in zh.body
    en = _told(conn, disputed.en, at)[0]
    assert "No agreement could be reached through a professional mediator (区人民调解委员会 王调解员). We will go on " \
        "with your request" in en.body
    assert "The time limits run again" in en.body


def test_the_request_timeline_shows_the_mediation_started_with_whom_and_ended_with_what(conn, disputed):
    ticket = disputed.ticket
    start_mediation(conn, ticket, party="committee", name=COMMITTEE, now=NOW + timedelta(hours=1),
                    note="内部备注")
    end_mediation(conn, ticket, outcome="agreed", agreement=AGREEMENT, now=NOW + timedelta(days=1))
    conn.commit()
    for resident in (disputed.zh, disputed.en):
        user = ensure_resident_user(conn, resident)
        steps = resident_request(conn, resident, user, disputed.complaints[resident]).timeline
        mediation = [s for s in steps if s.step in (Step.MEDIATION_STARTED, Step.MEDIATION_ENDED)]
        assert [(s.step, s.at) for s in mediation] == [(Step.MEDIATION_STARTED, NOW + timedelta(hours=1)),
                                                        (Step.MEDIATION_ENDED, NOW + timedelta(days=1))]
        started, ended = mediation
        assert (started.party, started.party_name, started.note) == ("residents_committee", COMMITTEE, None)
        assert (ended.outcome, ended.note) == ("agreed", AGREEMENT)
