-- The staff's daily digest: one row per local date, claimed in one INSERT, so that two schedulers running at
-- once send it exactly once. `body` is what was sent. Owned by tickets/review/digest.py.
CREATE TABLE review_digests (
    digest_date date PRIMARY KEY,
    sent_at     timestamptz NOT NULL,
    recipients  integer NOT NULL,
    body        jsonb NOT NULL
);
