"""The resident's own pages during an external mediation of their request (issue #16 point 6), through the app
(FastAPI's TestClient, no browser) on a real database: the request page's timeline shows the mediation started
(with whom; the time limits paused) and ended (with the agreement), in both languages, and the notices page has
the notice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.web.clients import resident_client
from tests.web.test_resident_forms import app_pool  # noqa: F401 - `app_pool` is a fixture
from tickets.channels import InAppChannel
from tickets.mediation import end_mediation, start_mediation
from tickets.outbox import dispatch
from tickets.requests import file_request

ME, MY_UNIT = "r-00001", "rs-b1-0101"
BILLING = "物业费多收了两百元，账单对不上"
COMMITTEE = "滨江社区居委会"
AGREEMENT = "物业费按面积重新分摊，多收部分下月抵扣"
EN = {"Accept-Language": "en"}


def test_the_request_page_shows_the_mediation_as_steps_and_the_notices_page_has_its_notice(app_pool):  # noqa: F811
    now = datetime.now(UTC)
    with app_pool.connection() as conn:
        receipt = file_request(conn, kind="complaint", resident_id=ME, unit_id=MY_UNIT, description=BILLING,
                               lang="zh-CN", now=now)
        start_mediation(conn, receipt.ticket_id, party="committee", name=COMMITTEE, now=now, note="内部备注")
        dispatch(conn, now=now, channels={"in_app": InAppChannel()})
    page = f"/resident/requests/{receipt.complaint_id}"
    with resident_client(app_pool, ME) as client:
        shown = client.get(page).text
        assert 'data-step="mediation_started"' in shown
        assert f"已提交社区居委会（{COMMITTEE}）调解，调解期间处理时限暂停计算" in shown
        assert "调解期间，以上处理时限暂停计算。" in shown and "内部备注" not in shown
        english = client.get(page, headers=EN).text
        # Escaped once: the apostrophe reads as one on the page.
        assert (f"Taken to mediation by the community residents&#39; committee ({COMMITTEE}); the time limits are "
                "paused meanwhile") in english
        assert "These time limits are paused while the mediation lasts." in english
        notices = client.get("/resident/notices").text
        assert f"工单 #{receipt.ticket_id} 已提交调解" in notices
        assert f"Ticket #{receipt.ticket_id} taken to mediation" in client.get("/resident/notices", headers=EN).text

        with app_pool.connection() as conn:
            end_mediation(conn, receipt.ticket_id, outcome="agreed", agreement=AGREEMENT,
                          now=now + timedelta(minutes=1))
        ended = client.get(page).text
        assert 'data-step="mediation_ended"' in ended
        assert "调解结束：双方已达成协议" in ended and AGREEMENT in ended
        assert "以上处理时限暂停计算" not in ended  # the clocks run again
        assert "Mediation ended: an agreement was reached" in client.get(page, headers=EN).text
