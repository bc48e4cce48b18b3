"""Error answers of the page routes on the running platform, as a person sees them.

- A review period outside the years the reviews cover (9999-12, 0000Q1 ...) is refused with a message naming the
  value and the range (the pages 422, the REST API 422 JSON, the CLI a usage error), never a 500.
- A value FastAPI cannot use on a page route (a non-numeric id, a crafted form) is the HTML 422 page in the
  visitor's language listing the wrong fields in plain words, not pydantic's JSON; an address without a route is
  the HTML 404 page. The JSON API under /api/ keeps its JSON errors.
"""

from __future__ import annotations

import re

import httpx
import psycopg
import pytest
from typer.testing import CliRunner

from api.auth import Role, issue_token
from tickets.config import DEFAULT_CONFIG
from tickets.errors import InvalidInput
from tickets.review.cli import app as review_app
from tickets.review.periods import parse_period

from .conftest import TestUser, make_user, session_cookie

OUT_OF_RANGE = ("/manager/review?month=9999-12", "/manager/review?month=0000-01",
                "/manager/review/quarter?quarter=9999Q4", "/manager/review/quarter?quarter=0000Q1",
                "/manager/scorecards?month=9999-12", "/manager/review/export?period=9999-12&format=csv")
HEADLINE = {"en": "The form or address has a value we cannot use", "zh-CN": "表单或网址中有无法使用的值"}
NO_PAGE = {"en": "There is no page at this address.", "zh-CN": "此网址没有对应的页面。"}


def _pages(web, user: TestUser, lang: str | None = None) -> httpx.Client:
    cookie = session_cookie(web, user)
    cookies = {cookie["name"]: cookie["value"]} | ({"lang": lang} if lang else {})
    return httpx.Client(base_url=web.url, cookies=cookies, timeout=30)


def _csrf(client: httpx.Client, path: str) -> str:
    page = client.get(path, follow_redirects=True)
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert found, (path, page.status_code, page.text[:500])
    return found[1]


def _is_html_page(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, (response.request.url, response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("text/html"), response.headers["content-type"]
    for raw in ('"detail"', "int_parsing", "literal_error", '"loc"', "Internal Server Error"):
        assert raw not in response.text, (response.request.url, raw)


@pytest.mark.parametrize("text", ["9999-12", "0000-01", "9999Q4", "0000Q1", "9999", "0000",
                                  "1999-12-31..2026-01-01", "2026-01-01..9999-12-31"])
def test_a_period_outside_the_years_covered_is_refused_with_the_range(text):
    with pytest.raises(InvalidInput, match=rf"{re.escape(repr(text))} is out of range: the year must be 2000 to 2999"):
        parse_period(text, DEFAULT_CONFIG.tz)
    for edge, previous in (("2000-01", "1999-12"), ("2999-12", "2999-11"), ("2000Q1", "1999Q4"), ("2999", "2998")):
        period = parse_period(edge, DEFAULT_CONFIG.tz)
        assert period.previous().label == previous and period.until > period.since  # no date outside the calendar


def test_the_cli_names_the_period_and_the_range():
    for command, period in (("month", "9999-12"), ("quarter", "0000Q1")):
        done = CliRunner().invoke(review_app, [command, period])
        assert done.exit_code == 2 and "out of range" in done.output and "2000 to 2999" in done.output, done.output


def test_review_pages_refuse_out_of_range_years_instead_of_failing(web):
    manager = make_user(web, Role.MANAGER)
    with psycopg.connect(web.db_url) as conn:
        token = issue_token(conn, manager.user_id)
    with _pages(web, manager) as pages, httpx.Client(base_url=web.url, timeout=30,
                                                     headers={"Authorization": f"Bearer {token}"}) as rest:
        for path in OUT_OF_RANGE:
            page = pages.get(path)
            _is_html_page(page, 422)
            assert 'role="alert"' in page.text, path
        english = pages.get(OUT_OF_RANGE[0] + "&lang=en")
        assert "9999-12 is outside the years the reviews cover (2000 to 2999)" in english.text
        chinese = pages.get(OUT_OF_RANGE[1] + "&lang=zh-CN")
        assert "0000-01 超出了报告涵盖的年份（2000 至 2999 年）" in chinese.text
        quarter = pages.get(OUT_OF_RANGE[2] + "&lang=en")
        assert "Give the quarter as 2026Q4." in quarter.text
        for path in ("/api/v1/review?period=9999-12", "/api/v1/review?period=0000Q1&format=csv"):
            answer = rest.get(path)
            assert answer.status_code == 422 and answer.headers["content-type"] == "application/json", path
            assert "out of range: the year must be 2000 to 2999" in answer.json()["detail"], answer.text


def test_a_non_numeric_id_is_the_422_page_in_the_users_language(web):
    resident = make_user(web, Role.RESIDENT)
    with _pages(web, resident) as pages:
        chinese = pages.get("/resident/requests/abc")
        _is_html_page(chinese, 422)
        assert 'lang="zh-CN"' in chinese.text and HEADLINE["zh-CN"] in chinese.text
        assert "complaint id" in chinese.text and "网址中" in chinese.text and "须为整数" in chinese.text
        assert "（您填写的是“abc”）" in chinese.text and 'href="/"' in chinese.text
        english = pages.get("/resident/requests/abc?lang=en")
        _is_html_page(english, 422)
        assert 'lang="en"' in english.text and HEADLINE["en"] in english.text
        assert "<strong>complaint id</strong> (in the address): it must be a whole number" in english.text
        assert "Back to the home page" in english.text
        older = pages.get("/resident/notices?before=abc&lang=en")
        _is_html_page(older, 422)
        assert "<strong>before</strong> (in the address): it must be a whole number" in older.text
    for role, path in ((Role.AGENT, "/desk/tickets/abc"), (Role.MANAGER, "/manager/surveys/abc")):
        with _pages(web, make_user(web, role), lang="en") as pages:
            page = pages.get(path)
            _is_html_page(page, 422)
            assert HEADLINE["en"] in page.text and "it must be a whole number" in page.text, path


def test_a_visitor_gets_the_same_page(web):
    with httpx.Client(base_url=web.url, timeout=30) as visitor:
        answer = visitor.get("/resident/requests/abc")  # the address is checked before the session (as before)
        _is_html_page(answer, 422)
        assert HEADLINE["zh-CN"] in answer.text and "/logout" not in answer.text


def test_an_address_without_a_page_is_the_404_page(web):
    resident = make_user(web, Role.RESIDENT)
    with _pages(web, resident) as pages:
        for path in ("/nonexistent-page", "/resident/no-such-page/999999"):
            page = pages.get(path + "?lang=zh-CN")
            _is_html_page(page, 404)
            assert NO_PAGE["zh-CN"] in page.text and "未找到" in page.text, path
            english = pages.get(path + "?lang=en")
            _is_html_page(english, 404)
            assert NO_PAGE["en"] in english.text and "Back to the home page" in english.text
    with httpx.Client(base_url=web.url, timeout=30) as visitor:
        _is_html_page(visitor.get("/nonexistent-page"), 404)


def test_an_unknown_download_format_is_the_422_page(web):
    with _pages(web, make_user(web, Role.MANAGER), lang="en") as pages:
        page = pages.get("/manager/review/export?period=2026-10&format=bogus")
        _is_html_page(page, 422)
        assert "<strong>format</strong> (in the address): it must be one of:" in page.text
        assert "(you gave “bogus”)" in page.text


def test_crafted_forms_get_the_422_page_with_the_fields_in_plain_words(web):
    resident = make_user(web, Role.RESIDENT)
    with _pages(web, resident, lang="en") as pages:
        token = _csrf(pages, "/resident/report")
        back = {"Referer": f"{web.url}/resident/report"}
        long = pages.post("/resident/report", data={"csrf_token": token, "kind": "repair",
                                                    "description": "x" * 5000}, headers=back)
        _is_html_page(long, 422)
        assert "<strong>description</strong> (in the form): it is too long: at most 4000 characters" in long.text
        assert "x" * 100 not in long.text  # a form's value is not shown back
        assert '<a href="/resident/report">Back to the previous page</a>' in long.text
        no_kind = pages.post("/resident/report", data={"csrf_token": token, "description": "the lift is stuck"})
        _is_html_page(no_kind, 422)
        assert "<strong>kind</strong> (in the form): it is missing" in no_kind.text
        # A form that checks its own values still re-renders itself with its own message.
        own = pages.post("/resident/report", data={"csrf_token": token, "kind": "bogus", "description": "stuck"})
        assert own.status_code == 422 and "Choose what kind of request this is." in own.text
        scores = {"response_speed": "abc", "professionalism": "9", "attitude": "3", "overall": "3"}
        rating = pages.post("/resident/visit/1", data={"csrf_token": token, **scores})
        _is_html_page(rating, 422)
        assert "<strong>response speed</strong> (in the form): it must be a whole number" in rating.text
        assert "<strong>professionalism</strong> (in the form): it must be at most 5" in rating.text
        # Without the form's CSRF token a crafted form is still refused first (403), whatever it carries.
        assert pages.post("/resident/report", data={"kind": "repair"}).status_code == 403
    engineer = make_user(web, Role.ENGINEER)
    with _pages(web, engineer, lang="en") as pages:
        verdict = pages.post("/engineer/work-orders/1/verdict", data={"csrf_token": _csrf(pages, "/")})
        _is_html_page(verdict, 422)
        assert "<strong>verdict</strong> (in the form): it is missing" in verdict.text
    with _pages(web, make_user(web, Role.MANAGER)) as pages:
        empty = pages.post("/manager/actions", data={"csrf_token": _csrf(pages, "/manager/actions")})
        _is_html_page(empty, 422)
        assert HEADLINE["zh-CN"] in empty.text and "表单中" in empty.text and "未填写" in empty.text
        assert "<strong>title</strong>" in empty.text and "<strong>deadline</strong>" in empty.text


def test_the_json_api_keeps_its_json_errors(web):
    agent = make_user(web, Role.AGENT)
    with psycopg.connect(web.db_url) as conn:
        token = issue_token(conn, agent.user_id)
    with httpx.Client(base_url=web.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as rest:
        bad = rest.get("/api/v1/tickets/abc")
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/json"
        assert bad.json()["detail"][0]["type"] == "int_parsing"
        missing = rest.get("/api/v1/no-such-route")
        assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}


def test_the_422_page_in_a_browser(web, signed_in_page):
    page = signed_in_page(make_user(web, Role.RESIDENT), lang="en")
    response = page.goto("/resident/requests/abc")
    assert response is not None and response.status == 422
    assert page.locator("h1").inner_text() == HEADLINE["en"]
    assert "complaint id" in page.locator("ul.problems").inner_text()
    page.get_by_role("link", name="Back to the home page").click()
    page.wait_for_url(f"{web.url}/**")
    assert "/resident" in page.url or page.url.rstrip("/") == web.url
