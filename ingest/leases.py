"""Site leases: which ingest/detector worker serves which site, decided in PostgreSQL.

A worker serves whole sites (outage correlation needs every device of a site in one engine). Every `renew_s` it calls
`LeaseBook.round`, one transaction that: records the worker as alive; renews the leases it holds; and computes its
fair share, ceil(sites / live workers). It claims free or expired leases up to that share (`FOR UPDATE SKIP LOCKED`:
two workers never claim the same site), and names the sites above its share that it should hand back — it releases
them with `release` only after it has stopped consuming them and saved their detector state, so a site is never
served twice. A worker that dies stops renewing; after `ttl_s` its leases are free for the others' next round.
All times are the database's clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import psycopg

# I am alive.
_HEARTBEAT = """INSERT INTO ingest_workers (worker_id) VALUES (%(worker)s)
    ON CONFLICT (worker_id) DO UPDATE SET seen_at = now()"""
# Workers heard from within the lease time (myself included).
_LIVE_WORKERS = "SELECT count(*) FROM ingest_workers WHERE seen_at > now() - make_interval(secs => %(ttl)s)"
# Every registered site has a lease row (free until someone claims it).
_SEED = "INSERT INTO site_leases (site_id) SELECT id FROM sites ON CONFLICT (site_id) DO NOTHING"
# Extend my leases that have not expired (an expired one may already be someone else's: it is not renewed).
_RENEW = """UPDATE site_leases SET expires_at = now() + make_interval(secs => %(ttl)s)
    WHERE worker_id = %(worker)s AND expires_at > now() RETURNING site_id"""
# Claim up to `n` sites nobody holds (free, or their holder's lease expired), skipping any another worker is claiming.
_CLAIM = """UPDATE site_leases l SET worker_id = %(worker)s, expires_at = now() + make_interval(secs => %(ttl)s),
        acquired_at = now(), tenure = l.tenure + 1
    WHERE l.site_id IN (SELECT site_id FROM site_leases
                        WHERE worker_id IS NULL OR expires_at <= now()
                        ORDER BY site_id LIMIT %(n)s FOR UPDATE SKIP LOCKED)
    RETURNING l.site_id"""
# Hand a site back (after its consumer stopped and its detector state was saved).
_RELEASE = """UPDATE site_leases SET worker_id = NULL, expires_at = now()
    WHERE site_id = %(site)s AND worker_id = %(worker)s"""
# A stopping worker is no longer counted in the others' fair share.
_RETIRE = "DELETE FROM ingest_workers WHERE worker_id = %(worker)s"
_SITES = "SELECT count(*) FROM sites"
# Who holds what (operators, the benchmark).
_HOLDERS = "SELECT site_id, worker_id FROM site_leases WHERE worker_id IS NOT NULL AND expires_at > now()"


@dataclass(frozen=True, slots=True)
class Round:
    """The outcome of one lease round for one worker."""

    held: frozenset[str]  # every site this worker holds now (renewed or newly claimed)
    claimed: frozenset[str]  # of which newly claimed: start serving them
    excess: frozenset[str]  # held above the fair share: stop serving them, then `release`


class LeaseBook:
    """One worker's leases. `ttl_s` is how long a lease lasts unrenewed: a dead worker's sites move after at most
    that plus one renewal interval."""

    def __init__(self, worker_id: str, *, ttl_s: float) -> None:
        self.worker_id = worker_id
        self.ttl_s = ttl_s

    def round(self, conn: psycopg.Connection) -> Round:
        p = {"worker": self.worker_id, "ttl": self.ttl_s}
        with conn.transaction():
            conn.execute(_HEARTBEAT, p)
            conn.execute(_SEED)
            renewed = {r[0] for r in conn.execute(_RENEW, p)}
            sites = _count(conn, _SITES, {})
            workers = max(1, _count(conn, _LIVE_WORKERS, p))
            share = math.ceil(sites / workers)
            claimed: set[str] = set()
            if len(renewed) < share:
                claimed = {r[0] for r in conn.execute(_CLAIM, {**p, "n": share - len(renewed)})}
            held = renewed | claimed
            excess = set(sorted(renewed, reverse=True)[:max(0, len(held) - share)])
        return Round(frozenset(held), frozenset(claimed), frozenset(excess))

    def release(self, conn: psycopg.Connection, site_id: str) -> None:
        with conn.transaction():
            conn.execute(_RELEASE, {"site": site_id, "worker": self.worker_id})

    def retire(self, conn: psycopg.Connection, sites: list[str]) -> None:
        """A clean stop: every site handed back at once, and this worker no longer counted."""
        with conn.transaction():
            for site in sites:
                conn.execute(_RELEASE, {"site": site, "worker": self.worker_id})
            conn.execute(_RETIRE, {"worker": self.worker_id})


def holders(conn: psycopg.Connection) -> dict[str, str]:
    """Site → the worker holding its lease now."""
    return {site: worker for site, worker in conn.execute(_HOLDERS)}


def _count(conn: psycopg.Connection, sql: str, params: dict[str, object]) -> int:
    row = conn.execute(sql, params).fetchone()
    return int(row[0]) if row else 0
