"""The complaint rate limit holds under concurrency (issue #21, finding 10): 40 parallel complaints from one
resident store exactly the limit, and the rest are 429 with Retry-After."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import psycopg
import pytest

from api.guard import ApiLimits
from api.routes.complaints import RATE_LIMIT_PER_HOUR

from .conftest import RESIDENT, Api, bearer, serve


@pytest.fixture
def roomy_api(estate_db_url: str) -> Iterator[Api]:
    """Enough connections and patience that every request reaches the rate limit rather than a 503."""
    yield from serve(estate_db_url, pool_size=8, limits=ApiLimits(workers=8, wait_s=20, max_waiting=100))


def test_forty_parallel_complaints_store_exactly_the_limit(roomy_api: Api, tokens, estate_db_url):
    body = {"unit_id": "rs-b1-0101", "channel": "app", "description": "楼上装修噪音太吵了",
            "reported_at": datetime.now(UTC).isoformat()}

    def file(_: int) -> httpx.Response:
        return roomy_api.http.post("/api/v1/complaints", json=body, headers=bearer(tokens["resident"]), timeout=60)

    with ThreadPoolExecutor(40) as clients:
        answers = list(clients.map(file, range(40)))
    statuses = [a.status_code for a in answers]
    assert sorted(set(statuses)) == [201, 429], statuses
    assert statuses.count(201) == RATE_LIMIT_PER_HOUR
    assert all(int(a.headers["retry-after"]) > 0 for a in answers if a.status_code == 429)
    with psycopg.connect(estate_db_url) as conn:
        stored = conn.execute("SELECT count(*) FROM complaints WHERE resident_id = %s", (RESIDENT,)).fetchone()
    assert stored == (RATE_LIMIT_PER_HOUR,)
