"""Photos a resident attaches to a request, read from the form and stored through the frame's attachments
(`tickets.attachments`: JPEG, PNG or WebP by their bytes, at most 6 per form and 5 MB each)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import psycopg
from fastapi import UploadFile

from api.web.files import REJECTED
from tickets.attachments import MAX_BYTES, MAX_FILES, check_photos, save_upload
from tickets.errors import InvalidInput


class PhotoRejected(Exception):  # noqa: N818 - a user-facing refusal, shown on the form
    def __init__(self, message_id: str, detail: str) -> None:
        super().__init__(detail)
        self.message_id = message_id


def save_photos(conn: psycopg.Connection, photos: Sequence[UploadFile], *, uploaded_by: str,
                now: datetime) -> list[int]:
    """Store the form's photos (none chosen: an empty list) and return their attachment ids. Reads at most one
    byte past the size limit of each file, in the route's worker thread."""
    chosen = [p for p in photos if p.filename]
    try:
        if len(chosen) > MAX_FILES:
            raise InvalidInput(f"at most {MAX_FILES} photos per form; {len(chosen)} were sent")
        named = [(p.filename or "photo", p.file.read(MAX_BYTES + 1)) for p in chosen]
        check_photos(named)
    except InvalidInput as exc:
        raise PhotoRejected(REJECTED, str(exc)) from exc
    return [save_upload(conn, data=data, uploaded_by=uploaded_by, now=now) for _, data in named]
