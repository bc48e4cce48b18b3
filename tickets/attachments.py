"""Photos attached to requests and work orders, by residents and engineers. The bytes are stored in PostgreSQL
(`attachments`, migration 0021): at most `MAX_BYTES` each and `MAX_FILES` per form, and only JPEG, PNG or WebP,
told by their first bytes (the magic numbers), never by the file name or the browser's word.

`check_photos` refuses a bad set with `InvalidInput` saying what was wrong; `save_upload` stores one; uploads made
before their ticket exists (a resident's report) are linked with `attach_to_ticket`; `get_attachment` reads one
back; `resident_may_see` says whether a resident owns the ticket it belongs to (or uploaded it themselves)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import class_row

from tickets.errors import InvalidInput

MAX_BYTES = 5 * 1024 * 1024  # a phone photo is 2-4 MB; anything larger is not a photo of a leak
MAX_FILES = 6
CONTENT_TYPES = ("image/jpeg", "image/png", "image/webp")

# Store one photo.
_INSERT = """INSERT INTO attachments (ticket_id, uploaded_by, content_type, size, sha256, bytes, created_at)
             VALUES (%(ticket_id)s, %(uploaded_by)s, %(content_type)s, %(size)s, %(sha256)s, %(bytes)s, %(now)s)
             RETURNING id"""
# Link photos uploaded with a form to the ticket the form created (only the uploader's, only unlinked ones).
_ATTACH = """UPDATE attachments SET ticket_id = %(ticket_id)s
             WHERE id = ANY(%(ids)s) AND uploaded_by = %(uploaded_by)s AND ticket_id IS NULL"""
# Of those photos, the ones still waiting to be linked (the same test as _ATTACH, without their bytes).
_UNLINKED = """SELECT id FROM attachments
               WHERE id = ANY(%(ids)s) AND uploaded_by = %(uploaded_by)s AND ticket_id IS NULL"""
_GET = """SELECT id, ticket_id, uploaded_by, content_type, size, sha256, bytes AS content, created_at
          FROM attachments
          WHERE id = %(id)s"""
_OF_TICKET = """SELECT id, ticket_id, uploaded_by, content_type, size, sha256, NULL::bytea AS content, created_at
                FROM attachments WHERE ticket_id = %(ticket_id)s ORDER BY id"""
# A resident may see a ticket's photos when the ticket is theirs or one of their complaints was folded into it.
_RESIDENT_OWNS_TICKET = """SELECT EXISTS (SELECT 1 FROM tickets WHERE id = %(ticket_id)s AND resident_id = %(resident)s)
                               OR EXISTS (SELECT 1 FROM complaints
                                          WHERE ticket_id = %(ticket_id)s AND resident_id = %(resident)s)"""


@dataclass(frozen=True, slots=True)
class Attachment:
    id: int
    ticket_id: int | None
    uploaded_by: str
    content_type: str
    size: int
    sha256: bytes
    content: bytes | None  # None when listed without it
    created_at: datetime


def sniff(data: bytes) -> str | None:
    """The image type of `data` by its magic number, or None if it is not JPEG, PNG or WebP."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_photos(files: list[tuple[str, bytes]]) -> list[str]:
    """The content type of each (name, bytes), or `InvalidInput` naming the first file that is not acceptable."""
    if len(files) > MAX_FILES:
        raise InvalidInput(f"at most {MAX_FILES} photos per form; {len(files)} were sent")
    types = []
    for name, data in files:
        if not data:
            raise InvalidInput(f"{name}: the file is empty")
        if len(data) > MAX_BYTES:
            # a page reads at most one byte over the limit: the file's own size is not known here
            raise InvalidInput(f"{name}: over the {MAX_BYTES // 1_048_576} MB limit")
        kind = sniff(data)
        if kind is None:
            raise InvalidInput(f"{name}: not a JPEG, PNG or WebP image")
        types.append(kind)
    return types


def save_upload(conn: psycopg.Connection, *, data: bytes, uploaded_by: str, now: datetime,
                ticket_id: int | None = None) -> int:
    """Store one photo (checked again here: the one rule holds whoever calls); returns its id."""
    [content_type] = check_photos([("photo", data)])
    row = conn.execute(_INSERT, {"ticket_id": ticket_id, "uploaded_by": uploaded_by, "content_type": content_type,
                                 "size": len(data), "sha256": hashlib.sha256(data).digest(), "bytes": data,
                                 "now": now}).fetchone()
    assert row is not None
    return int(row[0])


def attach_to_ticket(conn: psycopg.Connection, ids: list[int], *, ticket_id: int, uploaded_by: str) -> int:
    """Link `uploaded_by`'s unlinked photos `ids` to `ticket_id`; returns how many were linked."""
    return conn.execute(_ATTACH, {"ids": ids, "ticket_id": ticket_id, "uploaded_by": uploaded_by}).rowcount


def unlinked_uploads(conn: psycopg.Connection, ids: list[int], *, uploaded_by: str) -> list[int]:
    """Of `ids`, in their order, those `uploaded_by` uploaded and no ticket has yet (what `attach_to_ticket` would
    link), read without their bytes."""
    found = {row[0] for row in conn.execute(_UNLINKED, {"ids": ids, "uploaded_by": uploaded_by})}
    return [i for i in ids if i in found]


def get_attachment(conn: psycopg.Connection, attachment_id: int) -> Attachment | None:
    with conn.cursor(row_factory=class_row(Attachment)) as cursor:
        return cursor.execute(_GET, {"id": attachment_id}).fetchone()


def ticket_attachments(conn: psycopg.Connection, ticket_id: int) -> list[Attachment]:
    """A ticket's photos, without their bytes (for listing; `/files/{id}` serves each)."""
    with conn.cursor(row_factory=class_row(Attachment)) as cursor:
        return cursor.execute(_OF_TICKET, {"ticket_id": ticket_id}).fetchall()


def resident_may_see(conn: psycopg.Connection, attachment: Attachment, *, resident_id: str, user_id: str) -> bool:
    if attachment.uploaded_by == user_id:
        return True
    if attachment.ticket_id is None:
        return False
    row = conn.execute(_RESIDENT_OWNS_TICKET, {"ticket_id": attachment.ticket_id, "resident": resident_id}).fetchone()
    return bool(row and row[0])
