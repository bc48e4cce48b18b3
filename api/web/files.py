"""`GET /files/{id}`: a stored photo, for staff or for the resident whose ticket it belongs to (404 for anyone
else, so that ids cannot be probed). `read_photos(files)` reads a form's uploads within the limits of
`tickets.attachments` (use it in any form that takes photos: `photos: list[UploadFile] = File(default=[])`)."""

from __future__ import annotations

from fastapi import HTTPException, Response, UploadFile

from api.deps import DbDep
from api.web.deps import WebUser
from api.web.i18n import N_
from api.web.one_hop import PageRouter
from tickets.attachments import MAX_BYTES, MAX_FILES, check_photos, get_attachment, resident_may_see
from tickets.errors import InvalidInput

router = PageRouter(tags=["pages"], include_in_schema=False)
# A form's photos refused (too many, too large, not an image), as every page says it; the particulars go below it.
REJECTED = N_("Photos must be JPEG, PNG or WebP images: at most 6, each up to 5 MB.")


async def read_photos(files: list[UploadFile]) -> list[bytes]:
    """The bytes of each uploaded photo (empty file fields, as browsers send for "no file", are skipped); raises
    `InvalidInput` for too many, too large or not an image, without reading more than the limit of any file."""
    chosen = [f for f in files if f.filename]
    if len(chosen) > MAX_FILES:
        raise InvalidInput(f"at most {MAX_FILES} photos per form; {len(chosen)} were sent")
    named = [(f.filename or "photo", await f.read(MAX_BYTES + 1)) for f in chosen]
    check_photos(named)
    return [data for _, data in named]


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
