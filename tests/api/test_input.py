"""Input that cannot be stored is a clear 422, never a 500 (issue #21, finding 5), and requests are bounded before
any work is done (finding 6): body size from Content-Length or the streamed body, authentication before the body,
text lengths, list sizes, query parameters."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from api.guard import ApiLimits

from .conftest import Api, bearer, serve

NUL_GETS = [
    ("agent", "/api/v1/devices", {"site_id": "riverside\x00"}),
    ("agent", "/api/v1/devices", {"kind": "water\x00"}),
    ("agent", "/api/v1/devices/rs-b1%00", {}),
    ("agent", "/api/v1/dead-letters", {"reason": "bad\x00json"}),
    ("agent", "/api/v1/dead-letters", {"device_id": "x\x00"}),
    ("agent", "/api/v1/tickets", {"department_id": "engineering\x00"}),
    ("engineer", "/api/v1/work-orders", {"status": "open\x00"}),
    ("manager", "/api/v1/surveys/2026-Q4/summary", {"site_id": "riverside\x00"}),
]


@pytest.mark.parametrize(("role", "path", "params"), NUL_GETS)
def test_a_nul_byte_in_a_query_or_path_is_a_422(client, tokens, role, path, params):
    answer = client.get(path, params=params, headers=bearer(tokens[role]))
    assert answer.status_code == 422, answer.text
    assert "NUL" in answer.text or "pattern" in answer.text


def _complaint(**changes: object) -> dict[str, object]:
    return {"unit_id": "rs-b1-0101", "channel": "app", "description": "电梯坏了",
            "reported_at": datetime.now(UTC).isoformat()} | changes


@pytest.mark.parametrize(("changes", "needle"), [
    ({"description": "lift\x00broken"}, "NUL"),
    ({"reported_at": "0001-01-01T00:00:00Z"}, "between"),
    ({"reported_at": "9999-12-31T23:59:59Z"}, "between"),
    ({"reported_at": "2026-02-30T10:00:00+08:00"}, "reported_at"),
    ({"attachments": ["https://photos.example/a.jpg"] * 11}, "attachments"),
    ({"attachments": ["https://photos.example/" + "a" * 3000]}, "attachments"),
    ({"attachments": ["file:///etc/passwd"]}, "attachments"),
    ({"unit_id": "u\x00"}, "unit_id"),
])
def test_a_complaint_that_cannot_be_stored_is_a_422_that_names_the_field(client, tokens, changes, needle):
    answer = client.post("/api/v1/complaints", json=_complaint(**changes), headers=bearer(tokens["resident"]))
    assert answer.status_code == 422, answer.text
    assert needle in answer.text


def test_free_text_nul_and_out_of_range_ids_are_422s(client, tokens):
    survey = {"basic_services": 4, "facility_maintenance": 4, "communication": 4, "value_added": 4, "overall": 8,
              "recommend": 9, "comment": "good\x00"}
    answer = client.post("/api/v1/surveys/2026-Q4", json=survey, headers=bearer(tokens["resident"]))
    assert answer.status_code == 422 and "NUL" in answer.text
    too_big = client.get(f"/api/v1/complaints/{2**63}", headers=bearer(tokens["resident"]))
    assert too_big.status_code == 422
    span = {"since": "0001-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}
    assert client.get("/api/v1/metrics/review", params=span, headers=bearer(tokens["manager"])).status_code == 422
    version = client.post("/api/v1/tickets/1/transitions", json={"event": "acknowledge", "expected_version": 2**40},
                          headers=bearer(tokens["agent"]))
    assert version.status_code == 422


@pytest.fixture
def small_body_api(estate_db_url: str) -> Iterator[Api]:
    yield from serve(estate_db_url, pool_size=2, limits=ApiLimits(max_body_bytes=4096))


def _raw_request(api: Api, head: str, body: bytes = b"", *, wait_s: float = 3.0) -> tuple[str, float]:
    """Send a request over a raw socket (so that a declared body need not be sent) and read the status line."""
    host, port = api.url.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=wait_s) as sock:
        sock.sendall(head.encode() + body)
        reply = sock.recv(4096).decode("latin-1")
    return reply.split("\r\n", 1)[0], time.monotonic() - started


def test_a_huge_body_without_a_token_is_refused_before_it_is_read(small_body_api, tokens):
    head = ("POST /api/v1/complaints HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: 104857600\r\n\r\n")
    status, elapsed = _raw_request(small_body_api, head, b"{")
    assert " 401 " in status and elapsed < 2.0
    with_token = head.replace("Host: x\r\n", f"Host: x\r\nAuthorization: Bearer {tokens['resident']}\r\n")
    status, elapsed = _raw_request(small_body_api, with_token, b"{")
    assert " 413 " in status and elapsed < 2.0


def test_a_streamed_body_past_the_limit_is_refused(small_body_api, tokens):
    head = (f"POST /api/v1/complaints HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tokens['resident']}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"x" * 3000
    body = b"".join(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(3))
    status, _ = _raw_request(small_body_api, head, body)
    assert " 413 " in status
    fits = small_body_api.http.post("/api/v1/complaints", json=_complaint(unit_id="rs-b1-0101"),
                                    headers=bearer(tokens["resident"]))
    assert fits.status_code == 201, fits.text
