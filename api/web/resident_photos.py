"""Photos a resident attaches to a request, read from the form (`api.web.files.FormPhotos`: JPEG, PNG or WebP by
their bytes, at most 6 per form and 5 MB each) and stored through the frame's attachments (`tickets.attachments`).

As on the engineer's page, a refused report form keeps its photos: the good ones are stored on no ticket and come
back checked in the form shown again (`kept_photos`), the refused ones are named, and the kept ones are linked to
the request's ticket when the form is sent."""

from __future__ import annotations

from datetime import datetime

import psycopg

from api.web.files import REJECTED, Photos, waiting_photos
from api.web.i18n import N_
from tickets.attachments import MAX_FILES, save_upload

# A kept photo no longer waiting for its form: the form was sent meanwhile (another tab) or the photo left out.
GONE = N_("A photo kept from your earlier try is no longer there. Please choose it again.")


class PhotoRejected(Exception):  # noqa: N818 - a user-facing refusal, shown on the form
    def __init__(self, message_id: str, detail: str) -> None:
        super().__init__(detail)
        self.message_id = message_id


def save_photos(conn: psycopg.Connection, photos: Photos, kept_ids: list[int], *, uploaded_by: str,
                now: datetime) -> list[int]:
    """The ids of the form's photos for a request about to be filed: those kept from a refused try (still waiting,
    in order) and the new ones, stored now on no ticket. `PhotoRejected` when a new one was refused, a kept one is
    no longer waiting, or there are more than `MAX_FILES` together."""
    if photos.error is not None:
        raise PhotoRejected(REJECTED, str(photos.error))
    kept = waiting_photos(conn, kept_ids, uploaded_by)
    if len(kept) < len(set(kept_ids)):
        raise PhotoRejected(GONE, "a photo kept from the refused form is no longer waiting for it")
    if len(kept) + len(photos.data) > MAX_FILES:
        raise PhotoRejected(REJECTED, f"at most {MAX_FILES} photos per form; {len(kept) + len(photos.data)} "
                                      "were sent")
    return kept + [save_upload(conn, data=data, uploaded_by=uploaded_by, now=now) for data in photos.data]


def keep_photos(conn: psycopg.Connection, photos: Photos, kept_ids: list[int], *, uploaded_by: str,
                now: datetime) -> list[int]:
    """For a refused form shown again: the ids of the photos it carries back (kept ones still waiting, then the
    new ones taken, stored now on no ticket and committed with the request)."""
    kept = waiting_photos(conn, kept_ids, uploaded_by)
    return kept + [save_upload(conn, data=data, uploaded_by=uploaded_by, now=now) for data in photos.data]
