"""`/resident/settings`: how a resident hears about their own requests — on the channel each request came in on
(the default), or one they choose of those we have an address for — and the language every notice is written to
them in (tickets/preferences.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import DbDep
from api.web.deps import CsrfChecked, ResidentWebUser
from api.web.i18n import N_
from api.web.one_hop import PageRouter
from api.web.render import render
from tickets.errors import InvalidInput
from tickets.preferences import ChannelChoice, channel_choice, set_preferred_channel, set_preferred_language

router = PageRouter(prefix="/resident", tags=["resident pages"], include_in_schema=False)
DEFAULT = "default"  # the form's value for "the channel I used"
LABELS = {DEFAULT: N_("The way I contacted you (each request on its own channel)"), "app": N_("In the app"),
          "sms": N_("SMS"), "wechat": N_("WeChat"), "email": N_("E-mail"),
          "mqtt": N_("the display panel in your home")}  # a registry channel, not one to choose here
LANGUAGE_NAMES = {"zh-CN": "中文", "en": "English"}  # each in its own words, as language pickers show them


def _page(request: Request, choice: ChannelChoice, *, saved: bool = False, error: str | None = None,
          status_code: int = 200) -> Response:
    return render(request, "resident/settings.html", {
        "options": [DEFAULT, *choice.available], "labels": LABELS, "chosen": choice.preferred or DEFAULT,
        "registered": LABELS.get(choice.registered, choice.registered), "saved": saved, "error": error,
        "languages": LANGUAGE_NAMES, "language": choice.language},
        status_code=status_code)


@router.get("/settings", response_class=HTMLResponse)
def settings_form(request: Request, user: ResidentWebUser, conn: DbDep) -> Response:
    assert user.resident_id is not None  # ResidentWebUser guarantees a resident
    return _page(request, channel_choice(conn, user.resident_id))


@router.post("/settings", response_class=HTMLResponse)
def save_settings(request: Request, _: CsrfChecked, user: ResidentWebUser, conn: DbDep,
                  channel: Annotated[str, Form(max_length=20)],
                  language: Annotated[str | None, Form(max_length=10)] = None) -> Response:
    assert user.resident_id is not None
    if language is not None and language not in LANGUAGE_NAMES:
        return _page(request, channel_choice(conn, user.resident_id),
                     error=N_("Choose a language of the list."), status_code=422)
    try:
        choice = set_preferred_channel(conn, user.resident_id, None if channel == DEFAULT else channel)
    except InvalidInput:
        conn.rollback()
        return _page(request, channel_choice(conn, user.resident_id),
                     error=N_("That channel is not one we can reach you on. Choose one of the list."), status_code=422)
    if language is not None:
        choice = set_preferred_language(conn, user.resident_id, language)
    return _page(request, choice, saved=True)
