"""`GET /files/{id}`: a stored photo, for staff or for the resident whose ticket it belongs to (404 for anyone
else, so that ids cannot be probed).

A form's photos, read within the limits of `tickets.attachments`, the same way on every page (`photos: FormPhotos`
in the route): each photo is taken or refused on its own, so that one bad photo costs only itself. A refused form
keeps the good ones: the page stores them on no ticket (`save_upload`) and sends their ids back in the form shown
again (`kept_photos`, checked), names the refused ones, and links the kept ones when the form is sent
(`waiting_photos`, then `tickets.attachments.attach_to_ticket`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import psycopg
from fastapi import Depends, File, HTTPException, Response, UploadFile

from api.deps import DbDep
from api.web.deps import WebUser
from api.web.i18n import N_
from api.web.one_hop import PageRouter
from tickets.attachments import MAX_BYTES, MAX_FILES, check_photos, get_attachment, resident_may_see, unlinked_uploads
from tickets.errors import InvalidInput

router = PageRouter(tags=["pages"], include_in_schema=False)
# A form's photos refused (too many, too large, not an image), as every page says it; the particulars go below it.
REJECTED = N_("Photos must be JPEG, PNG or WebP images: at most 6, each up to 5 MB.")


@dataclass(frozen=True, slots=True)
class Refused:
    """A photo not taken: its file name as chosen, and why (the domain's words, naming it)."""

    name: str
    why: str


@dataclass(frozen=True, slots=True)
class Photos:
    """A form's photos: the bytes of each one taken, in the order chosen, and the ones refused."""

    data: list[bytes]
    refused: list[Refused] = field(default_factory=list)

    @property
    def error(self) -> InvalidInput | None:
        """The refusal of the refused ones (None when all were taken), every one of them named."""
        return InvalidInput("; ".join(r.why for r in self.refused)) if self.refused else None


async def read_photos(files: list[UploadFile]) -> Photos:
    """Each uploaded photo taken or refused on its own (empty file fields, as browsers send for "no file", are
    skipped): refused when not an image or too large, and past the first `MAX_FILES` unread. No file is read
    beyond one byte over the size limit."""
    chosen = [f for f in files if f.filename]
    taken: list[bytes] = []
    refused: list[Refused] = []
    for number, upload in enumerate(chosen):
        name = upload.filename or "photo"
        if number >= MAX_FILES:
            refused.append(Refused(name, f"{name}: over the {MAX_FILES} photos a form takes"))
            continue
        data = await upload.read(MAX_BYTES + 1)
        try:
            check_photos([(name, data)])
        except InvalidInput as exc:
            refused.append(Refused(name, str(exc)))
            continue
        taken.append(data)
    return Photos(taken, refused)


async def form_photos(photos: Annotated[list[UploadFile], File()] = []) -> Photos:  # noqa: B006 - FastAPI's idiom
    return await read_photos(photos)


FormPhotos = Annotated[Photos, Depends(form_photos)]


def waiting_photos(conn: psycopg.Connection, ids: list[int], user_id: str) -> list[int]:
    """Of the photo ids a form carries back (`kept_photos`), in order and without repeats, those still waiting for
    it: uploaded by `user_id` and on no ticket yet (at most `MAX_FILES` are looked at)."""
    return unlinked_uploads(conn, list(dict.fromkeys(ids))[:MAX_FILES], uploaded_by=user_id)


@router.get("/files/{attachment_id}")
def get_file(attachment_id: int, user: WebUser, conn: DbDep) -> Response:
    attachment = get_attachment(conn, attachment_id)
    allowed = attachment is not None and (
        user.is_staff or (user.resident_id is not None and resident_may_see(
            conn, attachment, resident_id=user.resident_id, user_id=user.user_id)))
    if not allowed or attachment is None or attachment.content is None:
        raise HTTPException(404, "no such file")
    return Response(attachment.content, media_type=attachment.content_type, headers={
        "Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff",
        "ETag": f'"{attachment.sha256.hex()}"', "Content-Disposition": f'inline; filename="photo-{attachment.id}"'})
