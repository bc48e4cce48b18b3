"""Every page in zh-CN and in English, with no untranslated message ids:

- the catalogues hold every message id of the code and the templates, translated, with the same placeholders;
- templates hold no text outside `_()` (it would show untranslated in the other language);
- every page route of the app, visited in a real browser in both languages by a visitor, a resident and staff,
  renders with no message id missing from the catalogue of its language (the app records each miss), and is
  screenshotted at 360 px and 1280 px for review.

A page route with a path parameter needs an example address in `EXAMPLE_PATHS` (the test says so if it is missing).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from fastapi.routing import APIRoute

from api.auth import Role
from api.web import ROUTERS
from api.web.i18n import LANGUAGES, LOCALE_DIR

from .conftest import make_user, screenshot

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "api" / "templates"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
NOT_PAGES = {"/live/stream", "/files/{attachment_id}",  # a stream and a photo: no text to translate
             "/resident/requests/{complaint_id}/report.pdf", "/staff/tickets/{ticket_id}/report.pdf",  # PDFs
             # fragments a live page swaps in: rendered (and checked) as part of their page
             "/resident/services/fragment", "/resident/notices/fragment",
             "/manager/review/export",  # a download (html/pdf/xlsx/csv/json), not a page
             "/manager/surveys/{wave_id}/export"}  # a download (csv/xlsx)
EXAMPLE_PATHS: dict[str, str] = {  # "/resident/requests/{ticket_id}": "/resident/requests/1", ...
    "/engineer/work-orders/{work_order_id}": "/engineer/work-orders/1",
    "/staff/devices/{device_id}": "/staff/devices/rs-b1-water-high",
    "/resident/notices/{notice_id}": "/resident/notices/1",
    "/resident/requests/{complaint_id}": "/resident/requests/1",
    "/resident/visit/{ticket_id}": "/resident/visit/1",
    "/resident/check/{ticket_id}": "/resident/check/1",
    "/resident/tickets/{ticket_id}": "/resident/tickets/1",
    "/survey/{token}": "/survey/no-such-token",  # the 404 page; the form in both languages: test_survey_pages.py
    "/manager/surveys/{wave_id}": "/manager/surveys/1",
    "/resident/requests/{complaint_id}/report": "/resident/requests/1/report",
    "/staff/tickets/{ticket_id}/report": "/staff/tickets/1/report",
    "/desk/tickets/{ticket_id}": "/desk/tickets/1",
    "/desk/tickets/{ticket_id}/mediation": "/desk/tickets/1/mediation",
    "/desk/announcements/{announcement_id}": "/desk/announcements/1",  # the 404 page; the page: its own tests
}
# Text a template may hold as is: the names of the languages in the language switch, in their own language.
LITERAL_OK = {"中文", "English"}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def extracted_ids() -> set[str]:
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    ids = set()
    for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, options_map, keywords=KEYWORDS):
        ids.update([message] if isinstance(message, str) else [m for m in message if m])
    return ids


def catalogue(locale: str) -> dict[str, str]:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as source:
        messages = [m for m in read_po(source, locale=locale) if m.id]
    out = {m.id: m.string for m in messages if isinstance(m.id, str) and isinstance(m.string, str)}
    for m in messages:  # a plural: each of its ids is translated by its forms (one form in Chinese serves both)
        if not isinstance(m.id, str):
            forms = list(m.string)
            out |= {msgid: forms[min(i, len(forms) - 1)] for i, msgid in enumerate(m.id) if msgid}
    return out


@pytest.mark.parametrize("locale", sorted(LANGUAGES.values()))
def test_every_message_id_is_translated_with_the_same_placeholders(locale):
    ids = extracted_ids()
    assert len(ids) > 30  # the extraction really ran over the templates and the code
    translated = catalogue(locale)
    missing = sorted(i for i in ids if not translated.get(i))
    assert missing == [], f"untranslated in {locale} (run scripts/update_catalogues.py, then translate)"
    wrong = {i: translated[i] for i in ids if set(PLACEHOLDER.findall(i)) != set(PLACEHOLDER.findall(translated[i]))}
    assert wrong == {}


def test_templates_hold_no_text_outside_gettext():
    found = {}
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"\{% block body_class %\}.*?\{% endblock %\}", " ", text)  # a CSS class, not text
        text = re.sub(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}", " ", text, flags=re.S)
        text = re.sub(r"<script.*?</script>|<style.*?</style>|<[^>]*>", " ", text, flags=re.S)
        words = [w for w in re.findall(r"[^\s\W\d_][\w'’-]*", text) if w not in LITERAL_OK]
        if words:
            found[str(path.relative_to(TEMPLATES))] = words
    assert found == {}, "wrap these in {{ _(...) }}"


def page_paths() -> list[str]:
    paths = []
    for router in ROUTERS:
        for route in router.routes:
            if not isinstance(route, APIRoute) or "GET" not in route.methods or route.path in NOT_PAGES:
                continue
            if "{" in route.path:
                assert route.path in EXAMPLE_PATHS, f"add an example address for {route.path} to EXAMPLE_PATHS"
                paths.append(EXAMPLE_PATHS[route.path])
            else:
                paths.append(route.path)
    return sorted(set(paths))


def test_every_page_renders_in_both_languages_with_no_missing_message_id(web, anonymous_page, signed_in_page):
    missing = web.platform.api.server.config.app.state.web_frame.catalogues.missing
    missing.clear()
    people = {"visitor": None, "resident": make_user(web, Role.RESIDENT), "engineer": make_user(web, Role.ENGINEER),
              "agent": make_user(web, Role.AGENT), "manager": make_user(web, Role.MANAGER)}
    visited = 0
    for lang in LANGUAGES:
        for who, user in people.items():
            page = anonymous_page(lang=lang) if user is None else signed_in_page(user, lang=lang)
            for path in page_paths():
                answer = page.goto(path)
                assert answer is not None and answer.status < 500, (path, who)
                assert page.locator("html").get_attribute("lang") == lang
                screenshot(page, f"{who}{path.replace('/', '-').rstrip('-') or '-home'}-{lang}")
                visited += 1
    assert visited >= 2 * 5 * 3
    assert missing == set()


def test_the_code_signup_and_error_pages_in_both_languages(web, anonymous_page, code_outbox):
    missing = web.platform.api.server.config.app.state.web_frame.catalogues.missing
    missing.clear()
    resident = make_user(web, Role.RESIDENT)
    for lang in LANGUAGES:
        page = anonymous_page(lang=lang)
        page.goto("/login")
        page.locator("#identifier-code").fill(resident.user_id)
        page.locator("form[action='/login/code'] button").click()
        page.wait_for_selector("#code")
        screenshot(page, f"login-code-{lang}")
        page.locator("#code").fill("000000" if code_outbox.last_code(resident.user_id) != "000000" else "111111")
        page.locator("form[action='/login/verify'] button").click()
        page.wait_for_selector(".error")
        screenshot(page, f"login-code-wrong-{lang}")
    assert missing == set()


def test_a_message_id_missing_from_a_catalogue_is_recorded_and_shown_as_is():
    from api.web.i18n import Catalogues

    catalogues = Catalogues.load()
    assert catalogues.gettext("zh-CN")("Sign in") == "登录"
    assert catalogues.gettext("zh-CN")("A sentence nobody translated") == "A sentence nobody translated"
    assert catalogues.missing == {("zh-CN", "A sentence nobody translated")}
