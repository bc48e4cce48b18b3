"""The desk's side of a survey wave (handbook 001 §2.2: "电话访谈：适合未填写线上/线下问卷的业主"): customer service
phones the sampled households that answered neither online nor on paper, and enters what they say. The pages do
what `forewarn survey wave worklist` and `survey wave answer` do, with the same library calls and rules:

- `/desk/surveys`: the open waves (site by name, answered / sampled), each linking to its worklist;
- `/desk/surveys/worklist?wave=ID`: `tickets.survey_waves.worklist`, each household not yet answered by name, its
  contact's name and a `tel:` link a phone dials, and a link to enter its answer;
- `/desk/surveys/answer?wave=ID&unit=UNIT`: the resident's questionnaire (survey/_questions.html, the same items and
  scales as `/survey/{token}`), the mode (phone by default, or in person) and who answered; the POST records it
  with `record_response(…, entered_by=<the signed-in user>)` (assisted) and returns to the worklist.

The wave and the household are query parameters rather than path segments so that every page has an address
without an example (tests/web/test_i18n.py visits each GET route; without `?wave=` the page is the 404 page).

Refusals (a missing score, the wave closed, the household answered already, a household not in the sample) are the
form again (422) in the reader's language with the answers as typed. One response per household is the library's
rule (a unique key on wave × unit); a second POST of the same household by the same person — a double tap, or the
back button after it went through — finds the answer it recorded and returns to the worklist like the first, so a
tap records once and never shows a refusal for the agent's own answer. Agents, supervisors and managers (the desk's
users, `DeskUser`); residents and engineers get the 403 page."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import psycopg
from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import DbDep, NowDep, TicketConfigDep
from api.web.deps import CsrfChecked
from api.web.desk_pages import DeskUser
from api.web.i18n import N_, choose_lang
from api.web.one_hop import PageRouter
from api.web.render import render
from api.web.survey_manager_pages import KIND, MODE, no_wave
from api.web.survey_pages import COMMENT_MAX, SurveyForm
from tickets import names
from tickets.config import TicketConfig
from tickets.errors import InvalidInput, NotFound
from tickets.notices import format_time
from tickets.survey_template import ITEMS, OVERALL, RECOMMEND
from tickets.survey_waves import Wave, get_wave, list_waves, record_response, worklist

router = PageRouter(tags=["pages: service desk"], include_in_schema=False)
WaveId = Annotated[int | None, Query()]
UnitId = Annotated[str, Query(max_length=100)]
ENTRY_MODES = {"phone": N_("By phone"), "in_person": N_("In person")}
MISSING = N_("Not recorded: give one score on every line. Not answered yet: %(items)s.")
# Why a household cannot be entered now (`_blocked`); "mine" (the agent's own answer is recorded) refuses only a
# different answer: the same one again is a double tap (`_same_as_recorded`).
BLOCKED = {"closed": N_("Not recorded: this wave has closed and takes no more answers."),
           "answered": N_("Not recorded: this household has already answered this wave (one answer per "
                          "household)."),
           "unsampled": N_("Not recorded: this household is not in the wave's sample."),
           "mine": N_("Not recorded: you entered this household's answer already, and the first answer stands (one "
                      "answer per household).")}
NOT_RESIDENT = N_("Not recorded: choose who answered among the household's residents.")
BAD_MODE = N_("Not recorded: choose by phone or in person.")
REFUSED = N_("Not recorded: the answer was refused.")
UNIT_RESIDENTS = """SELECT id, name, phone FROM residents WHERE unit_id = %s AND active
                    ORDER BY phone IS NULL, id"""


def _wave_line(conn: psycopg.Connection, wave: Wave, config: TicketConfig) -> dict[str, Any]:
    """How the pages name a wave: number, kind, site by name, opened, reason."""
    return {"id": wave.id, "kind": KIND.get(wave.kind, wave.kind), "site": names.site_name(conn, wave.site_id),
            "opened": format_time(wave.opened_at, config), "reason": wave.reason}


def _blocked(conn: psycopg.Connection, wave: Wave, unit_id: str, user_id: str) -> str | None:
    """Why `unit_id` cannot be entered in `wave` now (a key of BLOCKED, or "mine" when this user recorded its answer
    already), None when it can."""
    answered = conn.execute("SELECT entered_by FROM survey_wave_responses WHERE wave_id = %s AND unit_id = %s",
                            (wave.id, unit_id)).fetchone()
    if answered is not None:
        return "mine" if answered[0] == user_id else "answered"
    if wave.status != "open":
        return "closed"
    if conn.execute("SELECT 1 FROM survey_wave_sample WHERE wave_id = %s AND unit_id = %s",
                    (wave.id, unit_id)).fetchone() is None:
        return "unsampled"
    return None


_RECORDED = """SELECT r.overall, r.recommend, r.comment, r.mode, r.resident_id,
                      coalesce(jsonb_object_agg(s.item, s.score) FILTER (WHERE s.item IS NOT NULL), '{}')
               FROM survey_wave_responses r LEFT JOIN survey_wave_scores s ON s.response_id = r.id
               WHERE r.wave_id = %s AND r.unit_id = %s GROUP BY r.id"""


def _same_as_recorded(conn: psycopg.Connection, wave_id: int, unit_id: str, form: dict[str, str]) -> bool:
    """Whether `form` holds the answer recorded for the household: a double tap, or the back button after it went
    through, which must land on the worklist as the first did; a different answer must not vanish without a word."""
    row = conn.execute(_RECORDED, (wave_id, unit_id)).fetchone()
    if row is None:
        return False
    overall, recommend, comment, mode, resident, scores = row
    return ((overall, recommend, comment, mode, resident) == (
        _scale(form, "overall", 1, 10), _scale(form, "recommend", 0, 10), form.get("comment", "").strip()[:COMMENT_MAX],
        form.get("mode", "phone"), form.get("resident", "").strip() or None)
        and scores == {item.key: _scale(form, item.key, 1, 5) for item in ITEMS})


def _wave(conn: psycopg.Connection, wave_id: int | None) -> Wave | None:
    """The wave the page names, or None when it names none or one that does not exist (the no-wave page)."""
    if wave_id is None:
        return None
    try:
        return get_wave(conn, wave_id)
    except NotFound:
        return None


def _back(wave_id: int, unit_id: str) -> RedirectResponse:
    return RedirectResponse(f"/desk/surveys/worklist?wave={wave_id}&done={quote(unit_id, safe='')}#worklist",
                            status_code=303)


@router.get("/desk/surveys", response_class=HTMLResponse)
def surveys_page(request: Request, conn: DbDep, user: DeskUser, config: TicketConfigDep) -> Response:
    waves = [{"id": w.id, "site": w.site_name or w.site_id, "kind": KIND.get(w.kind, w.kind), "reason": w.reason,
              "opened": format_time(w.opened_at, config), "sampled": w.sampled, "answered": w.answered}
             for w in list_waves(conn, status="open")]
    return render(request, "desk/surveys.html", {"waves": waves})


@router.get("/desk/surveys/worklist", response_class=HTMLResponse)
def worklist_page(request: Request, conn: DbDep, user: DeskUser, config: TicketConfigDep, wave: WaveId = None,
                  done: UnitId = "") -> Response:
    found = _wave(conn, wave)
    if found is None:
        return no_wave(request)
    contacts = [{"c": c, "unit": names.unit_name(conn, c.unit_id), "planned": MODE.get(c.mode, c.mode),
                 "tel": "".join(ch for ch in c.phone if ch.isdigit() or ch == "+") if c.phone else None}
                for c in worklist(conn, found.id)]
    sampled = int(conn.execute("SELECT count(*) FROM survey_wave_sample WHERE wave_id = %s",
                               (found.id,)).fetchone()[0])  # type: ignore[index]
    return render(request, "desk/survey_worklist.html", {
        "wave": _wave_line(conn, found, config), "open": found.status == "open", "contacts": contacts,
        "sampled": sampled, "answered": sampled - len(contacts),
        "done": names.unit_name(conn, done) if done else None})


def _form(request: Request, conn: psycopg.Connection, wave: Wave, unit_id: str, config: TicketConfig, *,
          values: dict[str, str] | None = None, error: dict[str, Any] | None = None,
          status_code: int = 200) -> HTMLResponse:
    """The answer form of one household (or, with `error` and no way to answer, the refusal without the form)."""
    zh = choose_lang(request) != "en"
    residents = conn.execute(UNIT_RESIDENTS, (unit_id,)).fetchall()
    values = values if values is not None else {"mode": "phone", "resident": residents[0][0] if residents else ""}
    return render(request, "desk/survey_answer.html", {
        "wave": _wave_line(conn, wave, config), "unit_id": unit_id, "unit": names.unit_name(conn, unit_id),
        "residents": residents, "modes": ENTRY_MODES, "values": values, "error": error,
        "items": [(item.key, item.zh if zh else item.en) for item in ITEMS],
        "overall_label": OVERALL[0 if zh else 1], "recommend_label": RECOMMEND[0 if zh else 1],
        "comment_max": COMMENT_MAX}, status_code=status_code)


@router.get("/desk/surveys/answer", response_class=HTMLResponse)
def answer_page(request: Request, conn: DbDep, user: DeskUser, config: TicketConfigDep, wave: WaveId = None,
                unit: UnitId = "") -> Response:
    found = _wave(conn, wave)
    if found is None:
        return no_wave(request)
    why = _blocked(conn, found, unit, user.user_id)
    if why == "mine":
        return _back(found.id, unit)
    if why is not None:
        return _form(request, conn, found, unit, config, error={"id": BLOCKED[why], "args": {}, "final": True},
                     status_code=409)
    return _form(request, conn, found, unit, config)


def _scale(form: dict[str, str], key: str, low: int, high: int) -> int | None:
    try:
        value = int(form.get(key, ""))
    except ValueError:
        return None
    return value if low <= value <= high else None


@router.post("/desk/surveys/answer", response_class=HTMLResponse)
def answer(request: Request, conn: DbDep, user: DeskUser, now: NowDep, config: TicketConfigDep, csrf: CsrfChecked,
           form: SurveyForm, wave: WaveId = None, unit: UnitId = "") -> Response:
    """Record the household's answer as entered by the signed-in user (assisted), then back to the worklist."""
    found = _wave(conn, wave)
    if found is None:
        return no_wave(request)
    values = {k: v for k, v in form.items() if k != "csrf_token"}
    why = _blocked(conn, found, unit, user.user_id)
    if why == "mine" and _same_as_recorded(conn, found.id, unit, form):  # a double tap: recorded once
        return _back(found.id, unit)
    if why is not None:
        return _form(request, conn, found, unit, config, values=values, error={"id": BLOCKED[why], "args": {}},
                     status_code=422)
    zh = choose_lang(request) != "en"
    scores = {item.key: _scale(form, item.key, 1, 5) for item in ITEMS}
    overall, recommend = _scale(form, "overall", 1, 10), _scale(form, "recommend", 0, 10)
    unanswered = [item.zh if zh else item.en for item in ITEMS if scores[item.key] is None]
    unanswered += [question[0 if zh else 1] for question, value in ((OVERALL, overall), (RECOMMEND, recommend))
                   if value is None]
    if unanswered:
        return _form(request, conn, found, unit, config, values=values, status_code=422,
                     error={"id": MISSING, "args": {"items": ("、" if zh else "; ").join(unanswered)}})
    mode = form.get("mode", "phone")
    if mode not in ENTRY_MODES:
        return _form(request, conn, found, unit, config, values=values, status_code=422,
                     error={"id": BAD_MODE, "args": {}})
    resident = form.get("resident", "").strip() or None
    if resident is not None and resident not in {r[0] for r in conn.execute(UNIT_RESIDENTS, (unit,)).fetchall()}:
        return _form(request, conn, found, unit, config, values=values, status_code=422,
                     error={"id": NOT_RESIDENT, "args": {}})
    try:
        record_response(conn, found.id, unit, scores={k: v for k, v in scores.items() if v is not None},
                        overall=overall or 0, recommend=recommend or 0, now=now, mode=mode,
                        comment=form.get("comment", "").strip()[:COMMENT_MAX], entered_by=user.user_id,
                        resident_id=resident)
    except InvalidInput as exc:  # the wave closed, or someone answered, between the look and the insert
        conn.rollback()
        found = get_wave(conn, found.id)
        why = _blocked(conn, found, unit, user.user_id)
        if why == "mine" and _same_as_recorded(conn, found.id, unit, form):
            return _back(found.id, unit)
        error = {"id": BLOCKED[why], "args": {}} if why else {"id": REFUSED, "args": {}, "detail": str(exc)}
        return _form(request, conn, found, unit, config, values=values, error=error, status_code=422)
    return _back(found.id, unit)
