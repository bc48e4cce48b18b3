"""Sign-in pages: `/login` (a password, or a one-time code sent to the person's phone or e-mail), `/signup`
(from an invitation: choose a password), `/logout` (POST), and `/` (the home page of the signed-in user).
Guesses (a password or a code) are throttled per account and per client address, and asking for a code per account
(`api/web/accounts.py`): over the limit, the answer is the 429 page with the wait."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated

import psycopg
from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import DbDep, NowDep
from api.web import accounts
from api.web.config import WebConfig, web_config
from api.web.delivery import SEND_ERRORS, CodeMessage, LogCodeSender, code_sender
from api.web.deps import CsrfChecked, OptionalWebUser
from api.web.i18n import DEFAULT_LANG, N_, normalise_lang
from api.web.one_hop import PageRouter
from api.web.render import frame_of, render
from api.web.sessions import SESSION_COOKIE, end_session, start_session

log = logging.getLogger(__name__)
router = PageRouter(tags=["pages"], include_in_schema=False)
FormText = Annotated[str, Form(max_length=200)]


def safe_next(target: str | None) -> str:
    """Only a path on this site: never `//elsewhere` or `https://elsewhere` (an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def next_match(found: Iterator[accounts.Account]) -> accounts.Account | None:
    return next(found, None)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _signed_in(request: Request, conn: psycopg.Connection, user_id: str, next_url: str | None,
               config: WebConfig, now: datetime) -> Response:
    """A fresh session (never the one the browser came with: no session fixation), the old one ended."""
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        end_session(conn, previous, now=now)
    session_id = start_session(conn, user_id, now=now, days=config.session_days,
                               client=request.headers.get("user-agent", ""))
    response = RedirectResponse(safe_next(next_url), status_code=303)
    response.set_cookie(SESSION_COOKIE, session_id, max_age=config.session_days * 86400, httponly=True,
                        samesite="lax", secure=config.secure_cookies)
    return response


def _throttled(request: Request, wait_s: float) -> HTMLResponse:
    minutes = max(1, int(wait_s + 59) // 60)
    response = render(request, "error.html", {"title_id": N_("Too many attempts"), "message_id":
                      N_("Too many sign-in attempts. Please wait %(minutes)s minutes and try again."),
                      "message_args": {"minutes": minutes}}, status_code=429)
    response.headers["Retry-After"] = str(int(wait_s) + 1)
    return response


def _login_page(request: Request, *, identifier: str = "", next_url: str = "/", error: str | None = None,
                status_code: int = 200) -> HTMLResponse:
    return render(request, "auth/login.html", {"identifier": identifier, "next": safe_next(next_url),
                                               "error": error}, status_code=status_code)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, user: OptionalWebUser, next: str = "/") -> Response:  # noqa: A002
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next_url=next)


def _window(request: Request) -> timedelta:
    return timedelta(minutes=web_config(request).failure_window_minutes)


def _guess_limits(request: Request, identifier: str, found: list[accounts.Account]) -> dict[str, int]:
    """The throttle keys of a guess: the accounts the identifier names (or what was typed) and the client."""
    return accounts.throttle_limits(identifier, _client(request), web_config(request).max_failures,
                                    user_ids=[a.user_id for a in found])


def _count_guess(request: Request, conn: psycopg.Connection, now: datetime, identifier: str
                 ) -> tuple[list[accounts.Account], dict[str, int], Response | None]:
    """Count a guess (a password or a code) against the account and the client; (the accounts the identifier names;
    the throttle keys, to uncount them on success; the "too many attempts" page when over the limit, else None)."""
    found = accounts.find_accounts(conn, identifier)
    keys = _guess_limits(request, identifier, found)
    wait = accounts.count_attempt(conn, keys, now=now, window=_window(request))
    return found, keys, (_throttled(request, wait) if wait is not None else None)


@router.post("/login", response_class=HTMLResponse)
def login_with_password(request: Request, csrf: CsrfChecked, conn: DbDep, now: NowDep, identifier: FormText,
                        password: Annotated[str, Form(max_length=200)], next: FormText = "/") -> Response:  # noqa: A002
    config = web_config(request)
    found, keys, refused = _count_guess(request, conn, now, identifier)
    if refused is not None:
        return refused
    # Of the accounts sharing a phone or e-mail, the one whose password this is.
    account = next_match(a for a in found if accounts.password_matches(a, password))
    if account is None:
        return _login_page(request, identifier=identifier, next_url=next, status_code=401,
                           error=N_("The account or the password is wrong."))
    accounts.uncount_attempt(conn, keys)
    return _signed_in(request, conn, account.user_id, next, config, now)


@router.post("/login/code", response_class=HTMLResponse)
def send_signin_code(request: Request, csrf: CsrfChecked, conn: DbDep, now: NowDep, identifier: FormText,
                     next: FormText = "/") -> Response:  # noqa: A002
    """Send a sign-in code. The answer is the same whether or not the account exists (no account probing).
    Asking is no guess: it is not counted as a failure, but it has its own limits (per account, and a far wider one
    per client address, which residents behind one network share), and a locked account or address is sent no
    code."""
    config = web_config(request)
    found = accounts.find_accounts(conn, identifier)
    account = found[0] if found else None  # where a code for a shared phone or e-mail goes
    sends = accounts.send_limits(identifier, account.user_id if account else None, _client(request),
                                 config.max_code_sends)
    wait = accounts.throttle_wait(conn, _guess_limits(request, identifier, found), now=now, window=_window(request))
    if wait is None:
        wait = accounts.count_attempt(conn, sends, now=now, window=_window(request))
    if wait is not None:
        return _throttled(request, wait)
    if account is not None:
        issued = accounts.issue_code(conn, account.user_id, purpose="signin", now=now,
                                     ttl=timedelta(minutes=config.signin_code_minutes))
        lang = normalise_lang(account.lang) or DEFAULT_LANG
        _ = frame_of(request).catalogues.gettext(lang)
        text = _("Your Forewarn sign-in code is %(code)s. It expires in %(minutes)s minutes.", code=issued.code,
                 minutes=config.signin_code_minutes)
        error = _send_code(request, account, CodeMessage("signin", issued.code, None, text))
        if error is not None:
            accounts.uncount_attempt(conn, sends)  # nothing reached the person: asking again is no pestering
            return _login_page(request, identifier=identifier, next_url=next, error=error, status_code=503)
    return render(request, "auth/code.html", {"identifier": identifier, "next": safe_next(next), "error": None})


def _send_code(request: Request, account: accounts.Account, message: CodeMessage) -> str | None:
    """Send by the person's channel; in development, to the log when no channel reaches them. Returns an error
    message id, or None."""
    try:
        sent = code_sender(request).send(account, message)
    except SEND_ERRORS as exc:
        log.warning("could not send a sign-in code to %s: %s", account.user_id, exc)
        return N_("The code could not be sent just now. Please try again in a minute, or sign in with your "
                  "password.")
    if sent is None:
        if web_config(request).development:
            LogCodeSender().send(account, message)
        else:
            log.warning("no channel reaches %s for a sign-in code (channel %s)", account.user_id, account.channel)
    return None


@router.post("/login/verify", response_class=HTMLResponse)
def login_with_code(request: Request, csrf: CsrfChecked, conn: DbDep, now: NowDep, identifier: FormText,
                    code: Annotated[str, Form(max_length=20)], next: FormText = "/") -> Response:  # noqa: A002
    config = web_config(request)
    found, keys, refused = _count_guess(request, conn, now, identifier)
    if refused is not None:
        return refused
    # Of the accounts sharing a phone or e-mail, the one this code was issued to (codes are salted per user).
    account = next_match(a for a in found if accounts.redeem_code(conn, a.user_id, code, now=now))
    if account is None:
        return render(request, "auth/code.html", {"identifier": identifier, "next": safe_next(next),
                                                  "error": N_("The code is wrong or has expired.")}, status_code=401)
    # A sign-in: this guess, and the asking for the code it used, are taken back.
    accounts.uncount_attempt(conn, keys | accounts.send_limits(identifier, account.user_id, _client(request),
                                                                config.max_code_sends))
    return _signed_in(request, conn, account.user_id, next, config, now)


@router.get("/signup", response_class=HTMLResponse)
def signup_page(request: Request, conn: DbDep, now: NowDep, code: str = "") -> Response:
    found = accounts.link_user(conn, code, now=now) if code else None
    if found is None:
        return render(request, "error.html", {"title_id": N_("Invitation not valid"), "message_id":
                      N_("This sign-up link is wrong, used or expired. Ask the property office for a new one, or "
                         "sign in with a one-time code."), "message_args": {}}, status_code=404)
    return render(request, "auth/signup.html", {"code": code, "name": found[1], "error": None,
                                                "min_length": accounts.MIN_PASSWORD_LENGTH})


@router.post("/signup", response_class=HTMLResponse)
def signup(request: Request, csrf: CsrfChecked, conn: DbDep, now: NowDep, code: FormText,
           password: Annotated[str, Form(max_length=200)], password2: Annotated[str, Form(max_length=200)]
           ) -> Response:
    found = accounts.link_user(conn, code, now=now)
    if found is None:
        return signup_page(request, conn, now, code)
    error = None
    if password != password2:
        error = N_("The two passwords differ.")
    elif len(password) < accounts.MIN_PASSWORD_LENGTH:
        error = N_("A password needs at least %(min_length)s characters.")
    if error is not None:
        return render(request, "auth/signup.html", {"code": code, "name": found[1], "error": error,
                                                    "min_length": accounts.MIN_PASSWORD_LENGTH}, status_code=422)
    user_id = accounts.redeem_link(conn, code, now=now)
    if user_id is None:  # used by a concurrent request a moment ago
        return signup_page(request, conn, now, code)
    accounts.set_password(conn, user_id, password)
    return _signed_in(request, conn, user_id, "/", web_config(request), now)


@router.post("/logout")
def logout(request: Request, csrf: CsrfChecked, conn: DbDep, now: NowDep) -> Response:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        end_session(conn, session_id, now=now)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, user: OptionalWebUser) -> Response:
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "home.html")
