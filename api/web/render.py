"""Render a page: `render(request, "resident/home.html", {...})`.

Every template gets, besides its own context: `user` (the signed-in `Principal` or None), `lang` ("zh-CN" or
"en"), `_` and `gettext` (translate; `_("Hello %(name)s", name=...)`), `ngettext`, `csrf_token` (put it in every
POST form as a hidden `csrf_token` field), `static_url("app.css")`, `nav` (the links for the user's role, from
`api/web/nav.py`), `request` and `now`. Templates live in `api/templates/` (one folder per audience: `auth/`,
`resident/`, `engineer/`, `staff/`, all extending `base.html`); autoescape is on.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from api.deps import get_state
from api.web.config import web_config
from api.web.deps import csrf_binding, optional_web_user
from api.web.i18n import LANG_COOKIE, N_, Catalogues, choose_lang, normalise_lang
from api.web.nav import nav_for
from api.web.sessions import ANON_COOKIE, csrf_token
from api.web.staff_words import CHANNEL_LABEL, DETECTOR_LABEL, METRIC_LABEL
from tickets.review.definitions import point_name
from tickets.titles import fault_name, title_parts

API_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = API_DIR / "templates"
STATIC_DIR = API_DIR / "static"
ONE_YEAR_S = 365 * 24 * 3600
# Pages are personal (no caching), never framed (clickjacking), and tell other sites nothing of their address (a
# sign-up link carries its token in the query string).
PAGE_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
                "X-Content-Type-Options": "nosniff"}


@dataclass
class WebFrame:
    """What the pages share in one app: the Jinja2 environment, the catalogues and the static files' versions."""

    env: Environment
    catalogues: Catalogues
    static_versions: dict[str, str]

    @classmethod
    def build(cls) -> WebFrame:
        env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"]),
                          undefined=StrictUndefined, extensions=["jinja2.ext.i18n"], trim_blocks=True,
                          lstrip_blocks=True, auto_reload=False)  # templates ship with the package
        env.globals["fault_name"] = fault_name  # for staff/_words.html: tickets.titles.FAULT_NAMES
        env.globals["METRIC_LABEL"], env.globals["DETECTOR_LABEL"] = METRIC_LABEL, DETECTOR_LABEL
        env.globals["CHANNEL_LABEL"] = CHANNEL_LABEL
        env.globals["title_parts"] = title_parts  # a ticket's title read back (staff/_words.html `title`)
        env.globals["point_name"] = point_name
        versions = {path.relative_to(STATIC_DIR).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:10]
                    for path in STATIC_DIR.rglob("*") if path.is_file()}
        return cls(env, Catalogues.load(), versions)

    def static_url(self, path: str) -> str:
        """`/static/<path>?v=<content hash>`: browsers may cache it for a year, a change gets a new address."""
        version = self.static_versions.get(path)
        if version is None:
            raise LookupError(f"no static file {path!r} in {STATIC_DIR}")
        return f"/static/{path}?v={version}"


def frame_of(request: Request) -> WebFrame:
    frame: WebFrame = request.app.state.web_frame
    return frame


def render(request: Request, template: str, context: Mapping[str, Any] | None = None,
           status_code: int = 200) -> HTMLResponse:
    """The page `template` rendered with `context` and the shared names (see the module docstring)."""
    frame = frame_of(request)
    lang = choose_lang(request)
    binding = csrf_binding(request)
    new_anon = None
    if binding is None:  # a first visit: bind its forms to a fresh anonymous id
        new_anon = binding = secrets.token_urlsafe(24)
    user = optional_web_user(request)
    shared: dict[str, Any] = {
        "request": request, "user": user, "lang": lang, "now": get_state(request).clock(),
        "_": frame.catalogues.gettext(lang), "gettext": frame.catalogues.gettext(lang),
        "ngettext": frame.catalogues.ngettext(lang), "csrf_token": csrf_token(web_config(request).secret_key, binding),
        "static_url": frame.static_url, "nav": nav_for(user), "lang_url": _lang_url(request),
    }
    html = frame.env.get_template(template).render({**shared, **(context or {})})
    response = HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)
    secure = web_config(request).secure_cookies
    if new_anon is not None:
        response.set_cookie(ANON_COOKIE, new_anon, httponly=True, samesite="lax", secure=secure)
    asked = normalise_lang(request.query_params.get("lang"))
    if asked is not None and asked != request.cookies.get(LANG_COOKIE):
        response.set_cookie(LANG_COOKIE, asked, max_age=ONE_YEAR_S, samesite="lax", secure=secure)
    return response


def not_found(request: Request, message_id: str) -> HTMLResponse:
    """The 404 page: "Not found" and `message_id` (a message id marked with `N_` where it is written)."""
    return render(request, "error.html", {"title_id": N_("Not found"), "message_id": message_id,
                                          "message_args": {}}, status_code=404)


def _lang_url(request: Request) -> Callable[[str], str]:
    """`lang_url("en")`: this page in another language (the choice is then remembered in a cookie)."""

    def url(lang: str) -> str:
        return request.url.path + "?" + urlencode({**request.query_params, "lang": lang})

    return url
