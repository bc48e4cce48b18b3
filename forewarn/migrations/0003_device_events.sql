-- Discrete device events (swipes, door cycles, pump starts), presence, and bad messages.

CREATE TABLE device_events (
    device_id   text NOT NULL,
    ts          timestamptz NOT NULL,
    seq         bigint NOT NULL,
    event       text NOT NULL,
    PRIMARY KEY (device_id, ts, seq)
);

-- Presence from retained status / last-will messages and heartbeat timeouts.
CREATE TABLE device_presence (
    device_id   text PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    online      boolean NOT NULL,
    last_seen   timestamptz,
    changed_at  timestamptz NOT NULL DEFAULT now()
);

-- Messages that failed validation: kept (truncated) with the reason, for operators (`forewarn ingest dead-letters`).
CREATE TABLE dead_letters (
    id           bigserial PRIMARY KEY,
    received_at  timestamptz NOT NULL DEFAULT now(),
    topic        text NOT NULL,
    device_id    text,
    reason       text NOT NULL,
    detail       text NOT NULL,
    payload      bytea NOT NULL,
    payload_size integer NOT NULL
);
CREATE INDEX dead_letters_received ON dead_letters (received_at DESC);
CREATE INDEX dead_letters_reason ON dead_letters (reason, received_at DESC);

-- Detector state checkpoints, so that a restarted worker resumes without a new warm-up.
CREATE TABLE detector_state (
    device_id   text PRIMARY KEY,
    state       bytea NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
