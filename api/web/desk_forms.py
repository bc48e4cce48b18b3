"""What the desk's form pages (mediation, roster, announcements) share: times typed into a `datetime-local` field
(the estate's local time, no zone) read and written back, and a back end's refusal as a translated headline with
the domain's own explanation beneath it."""

from __future__ import annotations

from datetime import datetime

from api.web.i18n import N_
from api.web.staff_format import TZ
from tickets.errors import InvalidInput

BAD_TIME = N_("Give the time as date and time, e.g. 2026-12-05 09:00.")
REFUSED = N_("This cannot be done as given.")


class BadTime(InvalidInput):
    """A form's time field that is not a time (the headline is `BAD_TIME`)."""


def form_time(text: str | None, *, required: bool = True, what: str = "time") -> datetime | None:
    """A `datetime-local` value (e.g. 2026-12-05T09:00) as an aware time in the estate's zone; an offset given
    is kept. Empty: None, or BadTime when `required`."""
    text = (text or "").strip()
    if not text:
        if required:
            raise BadTime(f"the {what} is missing")
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadTime(f"{text!r} is not a time") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=TZ)


def input_value(at: datetime | None) -> str:
    """`at` as a `datetime-local` field's value in the estate's zone ("" for None)."""
    return at.astimezone(TZ).strftime("%Y-%m-%dT%H:%M") if at is not None else ""


def headline(exc: Exception) -> str:
    """The translated-later headline above a refusal's own text."""
    return BAD_TIME if isinstance(exc, BadTime) else REFUSED
