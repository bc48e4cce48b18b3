"""Photos a resident attaches to a request, stored through the frame's attachments (tickets/attachments.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import psycopg
from fastapi import UploadFile

from api.web.i18n import N_


class PhotoRejected(Exception):  # noqa: N818 - a user-facing refusal, shown on the form
    def __init__(self, message_id: str) -> None:
        super().__init__(message_id)
        self.message_id = message_id


def save_photos(conn: psycopg.Connection, photos: Sequence[UploadFile], *, uploaded_by: str,
                now: datetime) -> list[int]:
    """The attachment ids of the form's photos (none chosen: an empty list)."""
    chosen = [p for p in photos if p.filename]
    if chosen:
        raise PhotoRejected(N_("Photos cannot be received yet."))
    return []
