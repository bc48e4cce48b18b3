"""What the API accepts and what its errors look like, declared once and reused by every route.

Input that PostgreSQL cannot store (a NUL byte, a lone surrogate, an id past bigint, a date in year 1) is refused
here with a 422 that says what was wrong, instead of failing in the database as a 500 (issue #21, finding 5).
Every length and count is bounded (finding 6). `ERROR_RESPONSES` documents every error answer the API can give,
with its model, so that the OpenAPI schema covers every response (finding 12).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

BIGINT_MAX = 2**63 - 1
INT_MAX = 2**31 - 1
# Times the platform can meaningfully hold: a complaint "reported" in year 1 or 9999 is a typing slip, not a date.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"  # what the schema advertises for ids: no control characters
_NO_NUL = r"^[^\x00]*$"  # and for free text: line breaks and tabs are fine, NUL is not


def _storable(value: str) -> str:
    """Text PostgreSQL can store: no NUL byte and valid UTF-8 (no lone surrogate)."""
    if "\x00" in value:
        raise ValueError("must not contain a NUL (\\x00) character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (it contains a lone surrogate)") from None
    return value


def _plausible(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return value


# An id from the estate registry or the user table (a unit, resident, device, site, department...).
Identifier = Annotated[str, AfterValidator(_storable),
                       Field(min_length=1, max_length=100, pattern=_NO_CONTROL)]
# Free text a person writes: notes, comments, reasons (up to a page).
Note = Annotated[str, AfterValidator(_storable), Field(max_length=2000, json_schema_extra={"pattern": _NO_NUL})]
# A complaint's description: not empty, up to two pages.
Description = Annotated[str, AfterValidator(_storable),
                        Field(min_length=1, max_length=4000, json_schema_extra={"pattern": _NO_NUL})]
# A one-line title or name a person writes (an improvement action's title, its owner): not empty, no line breaks.
Title = Annotated[str, AfterValidator(_storable),
                  Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$")]
# An attachment is a link to a photo the resident uploaded elsewhere, not the photo itself.
AttachmentUrl = Annotated[str, AfterValidator(_storable),
                          Field(max_length=2048, pattern=r"^https?://[^\s\x00-\x1f\x7f]+$")]
# A point in time with its offset (RFC 3339), within the years the platform can hold.
Moment = Annotated[AwareDatetime, AfterValidator(_plausible)]
# A row id in a path: positive and within bigint.
RowId = Annotated[int, Path(ge=1, le=BIGINT_MAX)]


class ValidationIssue(BaseModel):
    """One problem with a request's input, as FastAPI reports it: where (`loc`), what (`msg`), which rule."""

    model_config = ConfigDict(extra="allow")
    loc: list[str | int]
    msg: str
    type: str


class ErrorOut(BaseModel):
    """Every error answer: `detail` says what was wrong and how to fix it (a list for input validation)."""

    detail: str | list[ValidationIssue]


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("The body is not JSON (or not UTF-8) at all."),
    401: _error("No token, or an unknown, expired or revoked one (header `WWW-Authenticate: Bearer`)."),
    403: _error("The caller's role may not do this."),
    404: _error("No such object, or not one the caller may see."),
    409: _error("The object's state does not allow this now (reload and retry)."),
    413: _error("The request body is larger than FOREWARN_API_MAX_BODY_BYTES."),
    422: _error("The input cannot be used: `detail` names the field and the rule."),
    429: _error("Too many requests of this kind; `Retry-After` says when to try again."),
    503: _error("The database is saturated or unavailable; retry after `Retry-After` seconds."),
}
