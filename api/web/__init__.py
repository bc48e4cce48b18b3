"""The web frame: server-rendered pages for residents, engineers and staff, on the same FastAPI app as the REST API.

`install(app)` (called by `api.app.create_app`) builds the shared `WebFrame` (Jinja2 environment, message
catalogues, static file versions), serves `api/static/` at `/static`, registers the handlers that turn
`LoginRequired` into a redirect to `/login` and `WebForbidden` into the 403 page, and those of `errors.py` (on a
page address, a value FastAPI cannot use is the 422 page, an address without a route the 404 page; the JSON API
keeps its JSON answers), and includes every router in `ROUTERS`. A page module adds its router to `ROUTERS` (append
only), and its links to `api/web/nav.py`.

Pieces: `render.py` (`render(request, template, context)`), `deps.py` (`WebUser`, `web_require`, `CsrfChecked`),
`sessions.py`, `accounts.py` (passwords, codes, throttling), `i18n.py`, `auth_pages.py`; live updates in
`api/live.py`.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.web import (
    auth_pages,
    dashboard_pages,
    desk_announcement_pages,
    desk_intake_pages,
    desk_mediation_pages,
    desk_pages,
    desk_roster_pages,
    desk_survey_pages,
    devices,
    engineer,
    files,
    live_pages,
    resident,
    resident_settings,
    review_actions_pages,
    review_pages,
    service_report_pages,
    staff_accounts,
    survey_manager_pages,
    survey_pages,
    survey_wave_forms,
)
from api.web.deps import LoginRequired, WebForbidden
from api.web.errors import http_error, invalid
from api.web.i18n import N_
from api.web.render import STATIC_DIR, WebFrame, render

ROUTERS: list[APIRouter] = [
    auth_pages.router,
    live_pages.router,
    staff_accounts.router,
    files.router,
    engineer.router,
    desk_pages.router,
    desk_intake_pages.router,
    devices.router,
    resident.router,
    resident_settings.router,
    service_report_pages.router,
    review_pages.router,
    review_actions_pages.router,
    dashboard_pages.router,
    survey_pages.router,
    survey_manager_pages.router,
    survey_wave_forms.router,
    desk_mediation_pages.router,
    desk_roster_pages.router,
    desk_survey_pages.router,
    desk_announcement_pages.router,
]


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(exc.next_url, status_code=303)


async def _forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WebForbidden)
    return render(request, "error.html", {"title_id": N_("Not allowed"), "message_id": exc.reason, "message_args": {}},
                  status_code=403)


def install(app: FastAPI) -> None:
    app.state.web_frame = WebFrame.build()
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(WebForbidden, _forbidden)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    for router in ROUTERS:
        app.include_router(router)
