"""Dependencies of the web pages, declared once:

- `WebUser`: the signed-in `Principal` from the session cookie. A page request without a live session is
  redirected (303) to `/login?next=<the page>`; `OptionalWebUser` gives None instead.
- `web_require(*roles)`: admits only those roles (admin always); anyone else gets the 403 page.
  `ResidentWebUser`, `StaffWebUser` (agent, engineer, supervisor, manager), `EngineerWebUser` are the common ones.
- `CsrfChecked`: put it on every state-changing route (POST), as a parameter (`csrf: CsrfChecked`) or in the
  route's `dependencies=[CSRF]`. The form must carry the hidden `csrf_token` field
  that `render` puts in every template's context (`<input type="hidden" name="csrf_token" value="{{ csrf_token }}">`),
  or a script may send it as the `X-CSRF-Token` header; otherwise the request is refused with 403.

`WebUser` looks the principal up on the request's connection (`DbDep`, shared with the page); `OptionalWebUser` on
a short-lived pooled connection of its own, so that long-lived responses such as live streams hold no connection.
Either is cached on `request.state` for `render`.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import psycopg
from fastapi import Depends, Request

from api.auth import Principal, Role
from api.deps import DbDep, get_state
from api.web.config import web_config
from api.web.i18n import N_
from api.web.sessions import ANON_COOKIE, SESSION_COOKIE, csrf_valid, session_principal

_UNSET = object()
WEB_ROLES = "forewarn_web_roles"  # the attribute on a `web_require` check naming the roles it admits


class LoginRequired(Exception):  # noqa: N818 - a signal for the handler, not an error
    """No live session: the handler redirects to the login page, which comes back to `next_url`."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class WebForbidden(Exception):  # noqa: N818
    """The handler renders the 403 page with `reason` (a message id)."""

    NOT_OPEN = N_("This page is not open to your account.")

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def session_user(request: Request, conn: psycopg.Connection | None) -> Principal | None:
    """The principal of the request's session cookie, or None; looked up once per request, on `conn` when the
    request already holds one, else on a short-lived pooled connection."""
    cached = getattr(request.state, "web_user", _UNSET)
    if cached is None or isinstance(cached, Principal):
        return cached
    principal = None
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        state = get_state(request)
        if conn is not None:
            principal = session_principal(conn, session_id, now=state.clock())
        else:
            with state.pool.connection() as own:
                principal = session_principal(own, session_id, now=state.clock())
    request.state.web_user = principal
    return principal


def optional_web_user(request: Request) -> Principal | None:
    """The signed-in principal or None, on a connection of its own (a live stream holds none while it is open)."""
    return session_user(request, None)


def login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(target, safe="")


def web_user(request: Request, conn: DbDep) -> Principal:
    """On the request's own connection: a page then checks out one connection and commits once, not twice."""
    principal = session_user(request, conn)
    if principal is None:
        raise LoginRequired(login_url(request))
    return principal


OptionalWebUser = Annotated[Principal | None, Depends(optional_web_user)]
WebUser = Annotated[Principal, Depends(web_user)]


def web_require(*roles: Role) -> Any:
    """A dependency admitting only `roles` (admin always); others get the 403 page, visitors the login page."""
    allowed = frozenset(roles) | {Role.ADMIN}

    async def check(user: WebUser) -> Principal:  # pure: resolved in the event loop, not the thread pool
        if user.role not in allowed:
            raise WebForbidden(WebForbidden.NOT_OPEN)
        return user

    setattr(check, WEB_ROLES, allowed)  # what api/web/one_hop.py checks when it runs the page in one hop
    return Depends(check)


ResidentWebUser = Annotated[Principal, web_require(Role.RESIDENT)]
StaffWebUser = Annotated[Principal, web_require(Role.AGENT, Role.ENGINEER, Role.SUPERVISOR, Role.MANAGER)]
EngineerWebUser = Annotated[Principal, web_require(Role.ENGINEER)]


def csrf_binding(request: Request) -> str | None:
    """What this browser's CSRF token is bound to: its session id, else its anonymous id."""
    return request.cookies.get(SESSION_COOKIE) or request.cookies.get(ANON_COOKIE)


async def check_csrf(request: Request) -> None:
    token = request.headers.get("x-csrf-token")
    if token is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get("csrf_token")
            token = value if isinstance(value, str) else None
    if not csrf_valid(web_config(request).secret_key, csrf_binding(request), token):
        raise WebForbidden(N_("This form has expired or did not come from this site. Please reload the page and "
                              "try again."))


CSRF = Depends(check_csrf)
CsrfChecked = Annotated[None, CSRF]
