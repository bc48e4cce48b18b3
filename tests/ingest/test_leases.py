"""Site leases: workers split the sites fairly, never share one, and take a dead worker's sites once its leases
expire; a new worker gets its share as the others hand sites back."""

from __future__ import annotations

import time

import psycopg
import pytest

from ingest.leases import LeaseBook, holders

TTL_S = 1.0


@pytest.fixture
def six_sites(estate_db_url: str) -> str:
    with psycopg.connect(estate_db_url) as conn, conn.cursor() as cur:
        cur.executemany("INSERT INTO sites (id, name, timezone) VALUES (%s, %s, 'Asia/Shanghai')",
                         [(f"site-{i}", f"Site {i}") for i in range(1, 5)])  # + riverside, lakeview: six
    return estate_db_url


def test_two_workers_split_the_sites_and_a_dead_ones_sites_move_after_its_leases_expire(six_sites):
    a, b = LeaseBook("a", ttl_s=TTL_S), LeaseBook("b", ttl_s=TTL_S)
    with psycopg.connect(six_sites, autocommit=True) as conn:
        first = a.round(conn)
        assert len(first.held) == 6 and first.claimed == first.held  # alone: every site
        joined = b.round(conn)  # b counts two live workers: a share of three, but a holds every site yet
        assert joined.held == frozenset()
        handed = a.round(conn)
        assert len(handed.excess) == 3  # above its share: a stops serving them, then releases them
        for site in handed.excess:
            a.release(conn, site)
        assert len(b.round(conn).held) == 3
        split = holders(conn)
        assert sorted(split.values()).count("a") == 3 and sorted(split.values()).count("b") == 3

        died, claimed = time.monotonic(), set()
        while time.monotonic() - died < TTL_S + 0.2:  # a stops renewing (it died); b goes on: the lease time
            took = b.round(conn)
            claimed |= took.claimed
            time.sleep(0.2)
        assert len(took.held) == 6 and claimed == {s for s, w in split.items() if w == "a"}
        assert set(holders(conn).values()) == {"b"}


def test_a_worker_that_missed_its_renewal_does_not_keep_a_site_another_has_taken(six_sites):
    a, b = LeaseBook("a", ttl_s=TTL_S), LeaseBook("b", ttl_s=TTL_S)
    with psycopg.connect(six_sites, autocommit=True) as conn:
        a.round(conn)
        time.sleep(TTL_S + 0.2)
        assert len(b.round(conn).held) == 6  # a was silent past its lease: b counts it dead, and takes all
        late = a.round(conn)  # a comes back: what it held is gone, and b holds everything it could claim
        assert late.held == frozenset()
