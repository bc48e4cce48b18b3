"""Photos: only JPEG, PNG or WebP by their bytes, within the size and count limits, stored in PostgreSQL, and served
by /files/{id} to staff and to the resident whose ticket they belong to; to anyone else it does not exist (404)."""

from __future__ import annotations

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import psycopg
import pytest
from fastapi import UploadFile
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from api.app import create_app
from api.auth import Role, create_user, ensure_resident_user
from api.deps import AppState, DbDep
from api.web.config import WebConfig
from api.web.deps import CsrfChecked, WebUser
from api.web.files import FormPhotos, Photos, read_photos
from api.web.sessions import csrf_token, start_session
from tickets.attachments import MAX_BYTES, MAX_FILES, attach_to_ticket, check_photos, save_upload, sniff
from tickets.complaints import intake_complaint
from tickets.errors import InvalidInput

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 64


def test_images_are_told_by_their_bytes_not_their_names():
    assert [sniff(PNG), sniff(JPEG), sniff(WEBP)] == ["image/png", "image/jpeg", "image/webp"]
    assert sniff(b"GIF89a" + b"\x00" * 10) is None
    assert sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None
    with pytest.raises(InvalidInput, match="leak.jpg: not a JPEG, PNG or WebP"):
        check_photos([("ok.png", PNG), ("leak.jpg", b"%PDF-1.7 ...")])
    with pytest.raises(InvalidInput, match="over the 5 MB limit"):
        check_photos([("big.jpg", JPEG + b"\x00" * MAX_BYTES)])
    with pytest.raises(InvalidInput, match=f"at most {MAX_FILES} photos"):
        check_photos([("p.png", PNG)] * (MAX_FILES + 1))
    assert check_photos([("p.png", PNG)] * MAX_FILES) == ["image/png"] * MAX_FILES


@pytest.fixture
def setting(conn):
    """A resident's complaint ticket with a photo, a neighbour, and an engineer; a session for each."""
    owner_rid, other_rid = [r[0] for r in conn.execute(
        "SELECT id FROM residents WHERE unit_id = 'rs-b1-0102' OR unit_id = 'rs-b1-0103' ORDER BY id LIMIT 2")]
    owner, other = ensure_resident_user(conn, owner_rid), ensure_resident_user(conn, other_rid)
    create_user(conn, user_id="eng-f", name="Eng", role=Role.ENGINEER, department_id="engineering")
    now = datetime.now(UTC)
    unit = conn.execute("SELECT unit_id FROM residents WHERE id = %s", (owner_rid,)).fetchone()[0]
    result = intake_complaint(conn, resident_id=owner_rid, unit_id=unit, channel="app", lang="zh-CN",
                              description="厨房水管漏水", reported_at=now, now=now)
    photo = save_upload(conn, data=PNG, uploaded_by=owner, now=now)
    assert attach_to_ticket(conn, [photo], ticket_id=result.ticket_id, uploaded_by=owner) == 1
    loose = save_upload(conn, data=JPEG, uploaded_by=other, now=now)  # uploaded, not yet on a ticket
    sessions = {who: start_session(conn, uid, now=now, days=1) for who, uid in
                (("owner", owner), ("other", other), ("engineer", "eng-f"))}
    conn.commit()
    return {"photo": photo, "loose": loose, "sessions": sessions}


@pytest.fixture
def client(estate_db_url):
    pool = ConnectionPool(estate_db_url, min_size=1, max_size=4, open=True)
    try:
        with TestClient(create_app(AppState(pool=pool)), base_url="http://127.0.0.1") as c:
            yield c
    finally:
        pool.close()


def fetch(client: TestClient, session: str | None, attachment: int):
    client.cookies.clear()
    if session:
        client.cookies.set("fw_session", session)
    return client.get(f"/files/{attachment}", follow_redirects=False)


def test_a_photo_is_served_to_staff_and_its_owner_only(client, setting):
    photo, sessions = setting["photo"], setting["sessions"]
    mine = fetch(client, sessions["owner"], photo)
    assert mine.status_code == 200 and mine.content == PNG and mine.headers["content-type"] == "image/png"
    assert mine.headers["x-content-type-options"] == "nosniff"
    assert fetch(client, sessions["engineer"], photo).content == PNG
    assert fetch(client, sessions["other"], photo).status_code == 404  # another unit's: as if it did not exist
    assert fetch(client, sessions["owner"], setting["loose"]).status_code == 404
    assert fetch(client, sessions["other"], setting["loose"]).status_code == 200  # the uploader, before linking
    assert fetch(client, sessions["owner"], 999_999).status_code == 404
    assert fetch(client, None, photo).status_code == 303  # a visitor is sent to sign in


def test_the_database_refuses_what_the_code_would_never_store(conn):
    create_user(conn, user_id="eng-g", name="Eng", role=Role.ENGINEER, department_id="engineering")
    with pytest.raises(psycopg.errors.CheckViolation, match="attachments_content_type_check"):
        conn.execute("INSERT INTO attachments (uploaded_by, content_type, size, sha256, bytes) "
                     "VALUES ('eng-g', 'image/svg+xml', 3, '\\x00', '\\x00')")



def _read(files: list[UploadFile]) -> Photos:
    """`read_photos` in a thread of its own: the browser tests leave an event loop running in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read_photos(files)).result()


def test_one_refused_photo_costs_only_itself():
    """A form's photos are taken or refused one by one: the good ones come back, each refused one named, and past
    the limit of a form a photo is refused unread."""
    def upload(name: str, data: bytes) -> UploadFile:
        return UploadFile(io.BytesIO(data), filename=name)

    chosen = [upload("a.png", PNG), upload("notes.txt", b"just text"), upload("", b""), upload("b.jpg", JPEG),
              upload("huge.jpg", JPEG + b"\x00" * MAX_BYTES)] + [upload(f"{n}.webp", WEBP) for n in range(5)]
    photos = _read(chosen)
    assert photos.data == [PNG, JPEG, WEBP, WEBP]  # the empty field is no photo; the 7th chosen and on are refused
    assert [r.name for r in photos.refused] == ["notes.txt", "huge.jpg", "2.webp", "3.webp", "4.webp"]
    assert photos.error is not None and "notes.txt: not a JPEG, PNG or WebP image" in str(photos.error)
    assert "huge.jpg: over the 5 MB limit" in str(photos.error) and "4.webp: over the 6 photos" in str(photos.error)
    assert _read([upload("a.png", PNG)]).error is None


def upload_photos(user: WebUser, csrf: CsrfChecked, db: DbDep, photos: FormPhotos) -> dict[str, int]:
    """A form route as pages write them: CSRF-checked, photos read within the limits, the good ones stored."""
    return {"ids": len([save_upload(db, data=d, uploaded_by=user.user_id, now=datetime.now(UTC))
                        for d in photos.data]), "refused": len(photos.refused)}


def test_a_photo_form_needs_its_csrf_token_and_takes_only_images(estate_db_url, conn):
    create_user(conn, user_id="eng-u", name="Eng", role=Role.ENGINEER, department_id="engineering")
    session = start_session(conn, "eng-u", now=datetime.now(UTC), days=1)
    conn.commit()
    pool = ConnectionPool(estate_db_url, min_size=1, max_size=4, open=True)
    app = create_app(AppState(pool=pool, extras={"web": WebConfig(secret_key="k")}))
    app.post("/test/photos")(upload_photos)
    try:
        with TestClient(app, base_url="http://127.0.0.1") as client:
            client.cookies.set("fw_session", session)
            files = [("photos", ("a.png", PNG, "image/png")), ("photos", ("b.jpg", JPEG, "image/jpeg"))]
            assert client.post("/test/photos", files=files).status_code == 403  # no token
            token = csrf_token("k", session)
            assert client.post("/test/photos", files=files, data={"csrf_token": token}).json() == {
                "ids": 2, "refused": 0}
            fake = [("photos", ("c.jpg", b"MZ\x90\x00 not an image", "image/jpeg"))]
            assert client.post("/test/photos", files=fake, data={"csrf_token": token}).json() == {
                "ids": 0, "refused": 1}
    finally:
        pool.close()
    assert conn.execute("SELECT count(*) FROM attachments WHERE uploaded_by = 'eng-u'").fetchone()[0] == 2
