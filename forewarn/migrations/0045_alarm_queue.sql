-- The durable hand-off from the detectors to the tickets side (tickets/alarm_queue.py).
-- An alarm is stored here, in the same transaction as the checkpoint of the device state that produced it, before
-- the engine moves on; a consumer applies it to incidents and tickets and marks it done in one transaction. The
-- idempotency key (device, fault, state, episode start, and the transition time for updates) makes an alarm that
-- is produced again — a worker that resumes from that checkpoint and sees the same readings — a no-op.
CREATE TABLE alarm_queue (
    id               bigserial PRIMARY KEY,
    idempotency_key  text NOT NULL UNIQUE,
    site_id          text NOT NULL,
    device_id        text NOT NULL,
    fault            text NOT NULL,
    state            text NOT NULL,
    alarm            jsonb NOT NULL,
    enqueued_at      timestamptz NOT NULL DEFAULT now(),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    done_at          timestamptz,
    action           text,
    -- set when the ticket side refused the alarm for good (a domain error, e.g. a device no longer registered):
    -- kept with its error for operators, and no longer holding back the alarms of its site behind it
    failed_at        timestamptz
);
-- What the consumer looks at: the pending alarms of a site in order.
CREATE INDEX alarm_queue_pending ON alarm_queue (site_id, id) WHERE done_at IS NULL AND failed_at IS NULL;
