"""Announcements to a site or one building (planned outages, rectification and community notices) for managers and
customer-service agents, with their figures (recipients, delivered, read); and the resident's read receipt for a
notice opened in their own app. Residents may not announce (403)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from api.auth import Principal, Role
from api.deps import CurrentUser, DbDep, NowDep, TicketConfigDep, require
from api.routes.tickets import domain_errors
from api.schemas import Description, Identifier, Moment, RowId, Title
from tickets.announcements import create_announcement, get_announcement, list_announcements, mark_read, stats

router = APIRouter(prefix="/api/v1", tags=["announcements"])
AnnouncerUser = Annotated[Principal, require(Role.AGENT, Role.MANAGER)]


class AnnouncementIn(BaseModel):
    site_id: Identifier
    building_id: Identifier | None = None
    kind: Literal["planned_outage", "rectification", "community"]
    title_zh: Title
    body_zh: Description
    title_en: Title | None = None
    body_en: Description | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None


def _out(conn: Any, announcement: Any) -> dict[str, Any]:
    return asdict(announcement) | asdict(stats(conn, announcement.id))


@router.post("/announcements", status_code=201,
             summary="Announce to a site or one building; one notice per current resident (managers, agents)")
def announce(body: AnnouncementIn, conn: DbDep, user: AnnouncerUser, now: NowDep,
             config: TicketConfigDep) -> dict[str, Any]:
    with domain_errors():
        announcement, sent = create_announcement(
            conn, site_id=body.site_id, building_id=body.building_id, kind=body.kind, title_zh=body.title_zh,
            body_zh=body.body_zh, title_en=body.title_en, body_en=body.body_en, starts_at=body.starts_at,
            ends_at=body.ends_at, author=user.user_id, now=now, config=config)
    return _out(conn, announcement) | {"notices_written": sent}


@router.get("/announcements", summary="Announcements, newest first, with their figures (managers, agents)")
def announcements(conn: DbDep, user: AnnouncerUser, site_id: Identifier | None = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict[str, Any]]:
    return [_out(conn, a) for a in list_announcements(conn, site_id=site_id, limit=limit)]


@router.get("/announcements/{announcement_id}",
            summary="One announcement: recipients, delivered and read (managers, agents)")
def show_announcement(announcement_id: RowId, conn: DbDep, user: AnnouncerUser) -> dict[str, Any]:
    with domain_errors():
        return _out(conn, get_announcement(conn, announcement_id))


@router.post("/notices/{notice_id}/read", summary="The resident opened this notice in the app: its read receipt")
def read_notice(notice_id: RowId, conn: DbDep, user: CurrentUser, now: NowDep) -> dict[str, Any]:
    if user.role is not Role.RESIDENT or user.resident_id is None:
        raise HTTPException(403, "read receipts are for residents' own notices")
    first = mark_read(conn, user.resident_id, notice_id, now)
    row = conn.execute("SELECT read_at FROM notices WHERE id = %s AND resident_id = %s AND delivered_at IS NOT NULL",
                       (notice_id, user.resident_id)).fetchone()
    if row is None:  # someone else's notice looks exactly like a missing one
        raise HTTPException(404, f"no notice {notice_id}")
    return {"id": notice_id, "read_at": row[0], "first_read": first}
