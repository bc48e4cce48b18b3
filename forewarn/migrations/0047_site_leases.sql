-- Workers that scale by site (ingest/leases.py): each ingest/detector worker heartbeats here, and holds the sites it
-- serves through a lease it renews every few seconds. A dead worker stops renewing; once its leases expire, the live
-- workers take its sites. Every time is the database's, so workers on several machines share one clock.
CREATE TABLE ingest_workers (
    worker_id   text PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    seen_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE site_leases (
    site_id      text PRIMARY KEY REFERENCES sites (id) ON DELETE CASCADE,
    worker_id    text,
    expires_at   timestamptz NOT NULL DEFAULT now(),
    acquired_at  timestamptz,
    -- how many times the site changed hands: a worker's view of a site is from one tenure
    tenure       bigint NOT NULL DEFAULT 0
);
