"""The service report of a request (tickets/service_report.py, api/web/service_report_pages.py): what was found,
the cause, what was done, the photos before and after, the warranty and the times against the clocks — on the
resident's page and in its PDF, for staff from the ticket; nobody else's — with the ticket's title and the warranty's
end in the reader's words, never as stored codes or as markup shown as text. Through the app (TestClient) on a real
database; the pages are also rendered in Chromium in both languages by tests/web/test_i18n.py."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from psycopg_pool import ConnectionPool
from pypdf import PdfReader

from api.auth import Role, create_user, ensure_resident_user
from tests.tickets.conftest import make_alarm
from tests.web.clients import signed_in_client
from tests.web.images import png
from tickets.attachments import save_upload
from tickets.complaints import intake_complaint
from tickets.flows import handle_alarm
from tickets.lifecycle import TicketEvent
from tickets.transitions import transition

FILED = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Shanghai, a working day


def shown(markup: str) -> str:
    """The text a browser shows of `markup`: its tags dropped and its entities read."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def pdf_text(content: bytes) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)


@pytest.fixture
def repaired(estate_db_url: str) -> Iterator[tuple[ConnectionPool, int, int]]:
    """A leak reported with a photo by r-00001, found, explained and fixed by an engineer with a photo after."""
    pool = ConnectionPool(estate_db_url, min_size=1, max_size=4, open=True)
    with pool.connection() as conn:
        resident_user = ensure_resident_user(conn, "r-00001")
        create_user(conn, user_id="eng-1", name="Engineer", role=Role.ENGINEER, department_id="engineering")
        made = intake_complaint(conn, resident_id="r-00001", unit_id="rs-b1-0101", channel="app",
                                description="厨房水管漏水", lang="zh-CN", reported_at=FILED, now=FILED)
        save_upload(conn, data=png(), uploaded_by=resident_user, now=FILED, ticket_id=made.ticket_id)
        ticket = made.ticket_id
        transition(conn, ticket, TicketEvent.ACKNOWLEDGE, actor="eng-1", now=FILED + timedelta(minutes=20))
        transition(conn, ticket, TicketEvent.ARRIVE, actor="eng-1", now=FILED + timedelta(minutes=50),
                   note="水槽下方软管接头渗水")
        save_upload(conn, data=png(), uploaded_by="eng-1", now=FILED + timedelta(hours=2), ticket_id=ticket)
        transition(conn, ticket, TicketEvent.RESOLVE, actor="eng-1", now=FILED + timedelta(hours=2),
                   note="更换软管并紧固接头，试水无渗漏", root_cause="软管老化")
        conn.commit()
        complaint = conn.execute("SELECT id FROM complaints WHERE ticket_id = %s", (ticket,)).fetchone()
    assert complaint is not None
    yield pool, ticket, int(complaint[0])
    pool.close()


def test_the_resident_reads_what_was_found_the_cause_what_was_done_and_the_clocks(repaired):
    pool, ticket, complaint = repaired
    with pool.connection() as conn:
        me = ensure_resident_user(conn, "r-00001")
    with signed_in_client(pool, me) as client:
        request_page = client.get(f"/resident/requests/{complaint}")
        assert f'href="/resident/requests/{complaint}/report"' in request_page.text
        page = client.get(f"/resident/requests/{complaint}/report")
        assert page.status_code == 200
        text = page.text
        for shown in ("服务报告", "水槽下方软管接头渗水", "软管老化", "更换软管并紧固接头，试水无渗漏"):
            assert shown in text
        before = re.search(r"<p>处理前: (.*?)</p>", text, re.S)
        after = re.search(r"<p>处理后: (.*?)</p>", text, re.S)
        assert before and len(re.findall(r'<img src="/files/\d+"', before.group(1))) == 1
        assert after and len(re.findall(r'<img src="/files/\d+"', after.group(1))) == 1
        clocks = re.findall(r'<tr data-clock="\d">(.*?)</tr>', text, re.S)
        assert len(clocks) == 2 and all("达成" in row for row in clocks)
        assert "保修至: 2027-02-22" in text  # 90 days from Tuesday 24 November 10:00 local
        pdf = client.get(f"/resident/requests/{complaint}/report.pdf", headers={"Accept-Language": "en"})
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        words = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
        for shown in ("Service report", f"#{ticket}", "软管老化", "Response", "met", "Warranty until"):
            assert shown in words


def test_another_household_gets_404_and_staff_read_it_from_the_ticket(repaired):
    pool, ticket, complaint = repaired
    with pool.connection() as conn:
        neighbour = ensure_resident_user(conn, "r-00003")
    with signed_in_client(pool, neighbour) as client:
        assert client.get(f"/resident/requests/{complaint}/report").status_code == 404
        assert client.get(f"/resident/requests/{complaint}/report.pdf").status_code == 404
        assert client.get(f"/staff/tickets/{ticket}/report").status_code == 403
    with signed_in_client(pool, "eng-1") as client:
        page = client.get(f"/staff/tickets/{ticket}/report", headers={"Accept-Language": "en"})
        assert page.status_code == 200 and "What was done" in page.text and "软管老化" in page.text
        assert client.get("/staff/tickets/999999/report").status_code == 404


def test_a_fault_we_found_ourselves_is_reported_in_the_readers_words_not_the_detectors(repaired):
    """A preventive ticket nobody has been on site for yet: what was found is the fault in the residents' words and
    the page's language, not the detector's evidence (English, in UTC)."""
    pool, _, _ = repaired
    with pool.connection() as conn:
        evidence = "supply pressure 4 kPa, below the 80 kPa floor, since 02:00 UTC"
        opened = handle_alarm(conn, make_alarm("rs-b1-water-high", "supply_outage", summary=evidence), now=FILED)
        conn.commit()
    with signed_in_client(pool, "eng-1") as client:
        chinese = client.get(f"/staff/tickets/{opened.ticket_id}/report", headers={"Accept-Language": "zh-CN"}).text
        english = client.get(f"/staff/tickets/{opened.ticket_id}/report", headers={"Accept-Language": "en"}).text
    assert "供水中断" in chinese and "the water supply has stopped" in english
    assert "UTC" not in chinese + english and "kPa" not in chinese + english


def test_staff_read_a_preventive_tickets_title_by_the_faults_name_on_the_page_and_in_the_pdf(repaired):
    """A preventive ticket's title is stored as "water supply_outage @ <place>"; its report names the fault."""
    pool, _, _ = repaired
    with pool.connection() as conn:
        opened = handle_alarm(conn, make_alarm("rs-b1-water-high", "supply_outage"), now=FILED)
        conn.commit()
        stored = conn.execute("SELECT title FROM tickets WHERE id = %s", (opened.ticket_id,)).fetchone()[0]
    place = stored.split(" @ ", 1)[1]
    with signed_in_client(pool, "eng-1") as client:
        report = f"/staff/tickets/{opened.ticket_id}/report"
        chinese = client.get(report, headers={"Accept-Language": "zh-CN"}).text
        english = client.get(report, headers={"Accept-Language": "en"}).text
        pdf_zh = pdf_text(client.get(f"{report}.pdf", headers={"Accept-Language": "zh-CN"}).content)
        pdf_en = pdf_text(client.get(f"{report}.pdf", headers={"Accept-Language": "en"}).content)
    assert stored == f"water supply_outage @ {place}"
    assert f"<p>{html.escape(f'供水中断 @ {place}')}</p>" in chinese
    assert f"<p>{html.escape(f'Water supply outage @ {place}')}</p>" in english
    assert f"供水中断 @ {place}" in pdf_zh and f"Water supply outage @ {place}" in pdf_en
    for text in (chinese, english, pdf_zh, pdf_en):
        assert "supply_outage" not in text


@pytest.mark.parametrize(("lang", "sentence"), [
    ("zh-CN", "本次维修保修至 2027-02-22 (周一) 12:00。"),
    ("en", "The repair is under warranty until 2027-02-22 (Mon) 12:00."),
])
def test_the_request_page_gives_the_warranty_end_as_a_date_not_as_html_text(repaired, lang, sentence):
    """Resolved at 12:00 local on 24 November: 90 days of warranty. The date is a `<time>` element the browser shows
    as a date, not its tags escaped into the sentence."""
    pool, _, complaint = repaired
    with pool.connection() as conn:
        me = ensure_resident_user(conn, "r-00001")
    with signed_in_client(pool, me) as client:
        page = client.get(f"/resident/requests/{complaint}", headers={"Accept-Language": lang}).text
    warranty = re.search(r'<p class="warranty muted">(.*?)</p>', page, re.S)
    assert warranty is not None and shown(warranty.group(1)) == sentence
    assert re.search(r'<time datetime="2027-02-22T12:00:00[.\d]*\+08:00">', warranty.group(1))


def test_the_report_gives_the_tickets_title_in_the_readers_words_not_its_codes(repaired):
    """A complaint's title is stored as "facility/water: 厨房水管漏水"; the resident reads its fault point by name in
    their language, on the page and in the PDF, and the stored title stays as it is."""
    pool, ticket, complaint = repaired
    with pool.connection() as conn:
        me = ensure_resident_user(conn, "r-00001")
    with signed_in_client(pool, me) as client:
        chinese = client.get(f"/resident/requests/{complaint}/report", headers={"Accept-Language": "zh-CN"}).text
        english = client.get(f"/resident/requests/{complaint}/report", headers={"Accept-Language": "en"}).text
        pdf_zh = pdf_text(client.get(f"/resident/requests/{complaint}/report.pdf",
                                     headers={"Accept-Language": "zh-CN"}).content)
        pdf_en = pdf_text(client.get(f"/resident/requests/{complaint}/report.pdf",
                                     headers={"Accept-Language": "en"}).content)
    assert "<p>供水问题: 厨房水管漏水</p>" in chinese and "<p>water supply: 厨房水管漏水</p>" in english
    assert "供水问题: 厨房水管漏水" in pdf_zh and "water supply: 厨房水管漏水" in pdf_en
    for text in (chinese, english, pdf_zh, pdf_en):
        assert "facility/water" not in text
    with pool.connection() as conn:
        assert conn.execute("SELECT title FROM tickets WHERE id = %s", (ticket,)).fetchone() == (
            "facility/water: 厨房水管漏水",)
