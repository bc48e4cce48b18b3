"""Complaint intake and the resident's view: a resident files and sees only their own complaints, and the
notices for their unit; staff file on a resident's behalf (and own what they take, 首问负责制)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Response
from pydantic import BaseModel, Field

from api.auth import Role
from api.deps import CurrentUser, DbDep, NowDep, TicketConfigDep
from api.routes.tickets import _rows, domain_errors
from api.schemas import AttachmentUrl, Description, Identifier, Moment, RowId
from tickets.callers import Caller, caller, link_caller
from tickets.complaints import OUTCOME_MAX, Channel, intake_complaint
from tickets.config import DEFAULT_CONFIG
from tickets.submissions import KEY_MAX, submission

router = APIRouter(prefix="/api/v1", tags=["complaints"])
RATE_LIMIT_PER_HOUR = DEFAULT_CONFIG.complaints_per_hour  # enforced by tickets.complaints, in the database


class ComplaintIn(BaseModel):
    resident_id: Identifier | None = Field(None, description="Omit when the caller is the resident, or (staff) when "
                                           "the caller is not in the registry: then give caller_name and phone.")
    caller_name: str | None = Field(None, max_length=100, description="A caller not in the registry (staff only)")
    caller_phone: str | None = Field(None, max_length=32, description="Their number, to call them back")
    unit_id: Identifier
    channel: Channel
    description: Description
    requested_outcome: str | None = Field(None, max_length=OUTCOME_MAX,
                                          description="What the resident asks to be done (诉求), if they said.")
    lang: Literal["zh-CN", "en"] = "zh-CN"
    reported_at: Moment = Field(description="RFC 3339 with an offset, e.g. 2026-10-01T08:00:00+08:00")
    attachments: list[AttachmentUrl] = Field(default_factory=list, max_length=10, description="URLs of photos")


class ComplaintOut(BaseModel):
    complaint_id: int
    ticket_id: int
    folded: bool
    incident_id: int | None
    anticipated: bool | None
    category: str
    severity: str
    joined: bool = Field(description="Joined the household's open ticket on the same fault point (72 h)")


IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=KEY_MAX,
    description="Optional: a key of the client's own (a UUID) for this complaint. Sent again with the same key "
                "and body — after a timeout or a reset connection — the complaint is not filed twice: the answer "
                "is the first filing's, with `Idempotent-Replayed: true`. The same key with a different body is a "
                "422. Keys are per account and remembered for 24 hours.")]


@router.post("/complaints", status_code=201, summary="File a complaint (resident for their unit, or staff)")
def file_complaint(body: ComplaintIn, conn: DbDep, user: CurrentUser, now: NowDep, config: TicketConfigDep,
                   response: Response, idempotency_key: IdempotencyKey = None) -> ComplaintOut:
    if user.role is Role.RESIDENT:
        if body.resident_id not in (None, user.resident_id) or body.unit_id != user.unit_id:
            raise HTTPException(403, "a resident can file complaints only as themselves, for their own unit")
        resident_id, taken_by = user.resident_id, None
    elif user.role in (Role.AGENT, Role.SUPERVISOR, Role.MANAGER, Role.ADMIN):
        resident_id, taken_by = body.resident_id, user.user_id
    else:
        raise HTTPException(403, "complaints are filed by residents or customer-service staff")
    with domain_errors():
        who: Caller | None = None
        if resident_id is None:  # staff taking a call from someone not in the registry
            who = caller(body.caller_name, body.caller_phone)
        once = None if idempotency_key is None else submission(
            user.user_id, idempotency_key, body.model_dump(mode="json") | {"resident_id": resident_id})
        result = intake_complaint(conn, resident_id=resident_id, unit_id=body.unit_id, channel=body.channel,
                                  description=body.description, lang=body.lang, reported_at=body.reported_at,
                                  now=now, taken_by=taken_by, attachments=body.attachments, config=config,
                                  requested_outcome=body.requested_outcome, caller=who, submission=once)
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return ComplaintOut(complaint_id=result.complaint_id, ticket_id=result.ticket_id, folded=result.folded,
                        incident_id=result.incident_id, anticipated=result.anticipated, category=result.category,
                        severity=result.severity, joined=result.joined)


_COMPLAINT_VIEW = """SELECT c.id, c.ticket_id, c.resident_id, c.unit_id, c.channel, c.description, c.lang,
                            c.category, c.severity, c.reported_at, c.folded, c.anticipated, c.requested_outcome,
                            c.caller_name, c.caller_phone, t.state AS ticket_state,
                            t.resolve_due
                     FROM complaints c JOIN tickets t ON t.id = c.ticket_id"""


@router.get("/complaints", summary="Complaints: a resident sees their own; staff see all")
def list_complaints(conn: DbDep, user: CurrentUser, limit: Annotated[int, Query(ge=1, le=500)] = 100
                    ) -> list[dict[str, Any]]:
    own = user.resident_id if user.role is Role.RESIDENT else None
    return _rows(conn.execute(
        _COMPLAINT_VIEW + " WHERE %(own)s::text IS NULL OR c.resident_id = %(own)s ORDER BY c.id DESC "
        "LIMIT %(limit)s", {"own": own, "limit": limit}))


@router.get("/complaints/{complaint_id}", summary="One complaint and its ticket's progress")
def show_complaint(complaint_id: RowId, conn: DbDep, user: CurrentUser) -> dict[str, Any]:
    rows = _rows(conn.execute(_COMPLAINT_VIEW + " WHERE c.id = %s", (complaint_id,)))
    # Someone else's complaint looks exactly like a missing one: no hint that it exists.
    if not rows or (user.role is Role.RESIDENT and rows[0]["resident_id"] != user.resident_id):
        raise HTTPException(404, f"no complaint {complaint_id}")
    return rows[0]


class LinkIn(BaseModel):
    resident_id: Identifier


@router.post("/complaints/{complaint_id}/link", summary="Link a caller's complaint to the resident, once identified")
def link_complaint(complaint_id: RowId, body: LinkIn, conn: DbDep, user: CurrentUser, now: NowDep
                   ) -> dict[str, Any]:
    if user.role not in (Role.AGENT, Role.SUPERVISOR, Role.MANAGER, Role.ADMIN):
        raise HTTPException(403, "callers are linked by customer-service staff")
    with domain_errors():
        ticket_id = link_caller(conn, complaint_id, body.resident_id, by_user=user.user_id, now=now)
    return {"complaint_id": complaint_id, "ticket_id": ticket_id, "resident_id": body.resident_id}


@router.get("/notices", summary="Notices: a resident sees those sent to them; staff their own reminders")
def list_notices(conn: DbDep, user: CurrentUser, limit: Annotated[int, Query(ge=1, le=500)] = 100
                 ) -> list[dict[str, Any]]:
    if user.role is Role.RESIDENT:
        # Notices are addressed per resident of the affected units: each sees their own copy, not the household's,
        # and only once it has been delivered (a notice still held or failing is not there yet: tickets/outbox.py).
        where, value = "n.resident_id = %(v)s AND n.delivered_at IS NOT NULL", user.resident_id
    else:
        where, value = "n.user_id = %(v)s", user.user_id
    # `delivery`/`channel`: the resident's own channel's row (an SMS held for the morning), else the in-app one.
    return _rows(conn.execute(
        f"""SELECT n.id, n.kind, n.lang, n.title, n.body, n.critical, n.incident_id, n.ticket_id, n.created_at,
                   n.delivered_at, n.read_at, n.resident_id, o.status AS delivery, o.channel
            FROM notices n LEFT JOIN LATERAL (
                SELECT status, channel FROM outbox WHERE notice_id = n.id ORDER BY channel = 'in_app', id LIMIT 1
            ) o ON true
            WHERE {where} ORDER BY n.id DESC LIMIT %(limit)s""", {"v": value, "limit": limit}))
