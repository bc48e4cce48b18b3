"""The survey answer page `/survey/{token}` (issue 17 point 6): the one-time link a resident of a sampled online
household received (tickets/survey_links.py). No sign-in: the token is the credential. GET shows the questionnaire
of tickets/survey_template.py (each item 1–5, overall 1–10, recommend 0–10, a comment), POST (with the page's CSRF
token, bound to the visitor's anonymous id) records the household's online response and uses the link up, then
`/survey/thanks`. A used, expired or closed link is a 410 page, an unknown one 404, an incomplete answer the form
again with the error (422): never a traceback."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import DbDep, NowDep, TicketConfigDep
from api.web.deps import CsrfChecked
from api.web.i18n import N_, choose_lang
from api.web.one_hop import PageRouter
from api.web.render import render
from tickets.config import TicketConfig
from tickets.errors import InvalidInput, NotFound
from tickets.notices import format_time
from tickets.survey_links import Invitation, LinkGone, answer_by_link, open_link
from tickets.survey_template import ITEMS, OVERALL, RECOMMEND

router = PageRouter(tags=["pages: survey"], include_in_schema=False)
COMMENT_MAX = 2000
GONE = {"used": N_("This link has been used: your household's answer is recorded. Thank you."),
        "answered": N_("Your household has already answered this survey. Thank you."),
        "expired": N_("This survey link has expired."),
        "closed": N_("This survey has closed. Thank you for your interest.")}
MISSING = N_("Please answer every question: pick one score on each line.")


async def survey_form(request: Request) -> dict[str, str]:
    """The posted fields as text (the questionnaire's items are the template's, not fixed parameters)."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


SurveyForm = Annotated[dict[str, str], Depends(survey_form)]


def _scale(key: str, low: int, high: int, form: dict[str, str]) -> int | None:
    try:
        value = int(form.get(key, ""))
    except ValueError:
        return None
    return value if low <= value <= high else None


def _closed(request: Request, exc: NotFound | LinkGone) -> HTMLResponse:
    if isinstance(exc, LinkGone):
        return render(request, "error.html", {"title_id": N_("This survey link no longer works"),
                                              "message_id": GONE[exc.reason], "message_args": {}}, status_code=410)
    return render(request, "error.html", {"title_id": N_("Not found"), "message_id": N_(
        "There is no such survey link. Please check the address in your message."), "message_args": {}},
        status_code=404)


def _form(request: Request, token: str, invitation: Invitation, config: TicketConfig, *,
          values: dict[str, str] | None = None, error: str | None = None, status_code: int = 200) -> HTMLResponse:
    zh = choose_lang(request) != "en"
    return render(request, "survey/answer.html", {
        "token": token, "until": format_time(invitation.expires_at, config), "error": error, "values": values or {},
        "items": [(item.key, item.zh if zh else item.en) for item in ITEMS],
        "overall_label": OVERALL[0 if zh else 1], "recommend_label": RECOMMEND[0 if zh else 1],
        "comment_max": COMMENT_MAX}, status_code=status_code)


@router.get("/survey/thanks", response_class=HTMLResponse)
def thanks(request: Request) -> Response:
    return render(request, "survey/thanks.html")


@router.get("/survey/{token}", response_class=HTMLResponse)
def answer_form(request: Request, token: str, conn: DbDep, now: NowDep, config: TicketConfigDep) -> Response:
    try:
        invitation = open_link(conn, token, now)
    except (NotFound, LinkGone) as exc:
        return _closed(request, exc)
    return _form(request, token, invitation, config)


@router.post("/survey/{token}", response_class=HTMLResponse)
def answer(request: Request, token: str, _: CsrfChecked, conn: DbDep, now: NowDep, config: TicketConfigDep,
           form: SurveyForm) -> Response:
    try:
        invitation = open_link(conn, token, now)
    except (NotFound, LinkGone) as exc:
        return _closed(request, exc)
    scores = {item.key: _scale(item.key, 1, 5, form) for item in ITEMS}
    overall, recommend = _scale("overall", 1, 10, form), _scale("recommend", 0, 10, form)
    comment = form.get("comment", "").strip()[:COMMENT_MAX]
    if overall is None or recommend is None or any(v is None for v in scores.values()):
        return _form(request, token, invitation, config, values=form, error=MISSING, status_code=422)
    try:
        answer_by_link(conn, token, scores={k: v for k, v in scores.items() if v is not None}, overall=overall,
                       recommend=recommend, comment=comment, now=now)
    except (NotFound, LinkGone) as exc:  # answered or closed between the two looks
        return _closed(request, exc)
    except InvalidInput:
        return _form(request, token, invitation, config, values=form, error=MISSING, status_code=422)
    return RedirectResponse("/survey/thanks", status_code=303)

