"""The error pages of page addresses. On a page address (anything but the JSON API under /api/, the API docs,
/static, /files and /live), a value FastAPI cannot use (a RequestValidationError: `/resident/requests/abc`, a crafted
form) is the 422 page listing each wrong field in plain words, and an address without a route is the 404 page, in the
visitor's language; every other address keeps FastAPI's own JSON answers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.web.i18n import N_
from api.web.render import not_found, render

# Addresses that answer machines, not people: their errors stay FastAPI's JSON (the REST API's documented answers,
# a photo an <img> asks for, the live stream an EventSource reads).
NOT_PAGES = ("/api/", "/docs", "/redoc", "/openapi.json", "/static/", "/files/", "/live/", "/healthz", "/readyz")

# What was wrong with a value, by pydantic's error type: a message id and the error's `ctx` key for %(limit)s.
PROBLEMS: dict[str, tuple[str, str | None]] = {
    "missing": (N_("it is missing"), None),
    "int_parsing": (N_("it must be a whole number"), None),
    "int_type": (N_("it must be a whole number"), None),
    "int_from_float": (N_("it must be a whole number"), None),
    "float_parsing": (N_("it must be a number"), None),
    "float_type": (N_("it must be a number"), None),
    "decimal_parsing": (N_("it must be a number"), None),
    "bool_parsing": (N_("it must be yes or no"), None),
    "bool_type": (N_("it must be yes or no"), None),
    "string_too_long": (N_("it is too long: at most %(limit)s characters"), "max_length"),
    "string_too_short": (N_("it is too short: at least %(limit)s characters"), "min_length"),
    "too_long": (N_("it has too many items: at most %(limit)s"), "max_length"),
    "too_short": (N_("it needs at least %(limit)s items"), "min_length"),
    "literal_error": (N_("it must be one of: %(limit)s"), "expected"),
    "enum": (N_("it must be one of: %(limit)s"), "expected"),
    "greater_than_equal": (N_("it must be at least %(limit)s"), "ge"),
    "greater_than": (N_("it must be more than %(limit)s"), "gt"),
    "less_than_equal": (N_("it must be at most %(limit)s"), "le"),
    "less_than": (N_("it must be less than %(limit)s"), "lt"),
    "date_parsing": (N_("it must be a date such as 2026-10-01"), None),
    "date_from_datetime_parsing": (N_("it must be a date such as 2026-10-01"), None),
    "date_type": (N_("it must be a date such as 2026-10-01"), None),
    "datetime_parsing": (N_("it must be a date and time such as 2026-10-01 09:30"), None),
    "datetime_from_date_parsing": (N_("it must be a date and time such as 2026-10-01 09:30"), None),
    "datetime_type": (N_("it must be a date and time such as 2026-10-01 09:30"), None),
    "string_pattern_mismatch": (N_("it is not in the expected form"), None),
}
UNUSABLE = N_("we cannot use this value")
WHERE = {"path": N_("in the address"), "query": N_("in the address"), "body": N_("in the form"),
         "header": N_("in the request"), "cookie": N_("in the request")}
GIVEN_MAX = 40  # characters of a wrong value shown back


def is_page(path: str) -> bool:
    """Whether `path` is a page address (its errors are pages), not one of NOT_PAGES or /api itself."""
    return path != "/api" and not path.startswith(NOT_PAGES)


def _problem(error: Any) -> dict[str, Any]:
    """One pydantic error as the 422 page shows it: the field, where it was, what was wrong, what was given."""
    loc = [part for part in error.get("loc", ()) if isinstance(part, str)]
    source = loc[0] if loc and loc[0] in WHERE else "body"
    names = loc[1:] if loc and loc[0] in WHERE else loc
    field = names[-1].replace("_", " ") if names else None
    kind = str(error.get("type", ""))
    message_id, ctx_key = PROBLEMS.get(kind, (UNUSABLE, None))
    limit = (error.get("ctx") or {}).get(ctx_key) if ctx_key else None
    if ctx_key and limit is None:
        message_id = UNUSABLE
    given = error.get("input")
    # A wrong value of the address is shown back (shortened); a form's values are not (a password, a long text).
    shown = None
    if source in ("path", "query") and kind != "missing" and isinstance(given, str):
        shown = given if len(given) <= GIVEN_MAX else given[:GIVEN_MAX] + "…"
    return {"field": field, "where": WHERE[source], "problem": message_id,
            "args": {"limit": limit} if ctx_key and limit is not None else {}, "given": shown}


def _back_url(request: Request) -> str | None:
    """The page the request came from (its Referer: the form's page for a POST), when it is a page of this site
    other than the address just refused."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc or not is_page(referer.path or "/"):
        return None
    back = (referer.path or "/") + (f"?{referer.query}" if referer.query else "")
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return None if request.method == "GET" and back == here else back


async def invalid(request: Request, exc: Exception) -> Response:
    """A value a page route cannot use: the 422 page with each wrong field in plain words; the API keeps its JSON."""
    assert isinstance(exc, RequestValidationError)
    if not is_page(request.url.path):
        return await request_validation_exception_handler(request, exc)
    problems = [_problem(error) for error in exc.errors()]
    return render(request, "error_invalid.html", {"problems": problems, "back_url": _back_url(request)},
                  status_code=422)


async def http_error(request: Request, exc: Exception) -> Response:
    """An address without a page: the 404 page; every other HTTP error as FastAPI answers it."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404 and is_page(request.url.path):
        return not_found(request, N_("There is no page at this address."))
    return await http_exception_handler(request, exc)
