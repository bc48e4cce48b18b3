-- The ticket lifecycle: incidents (deduplicated alarms), tickets (complaints and preventive), their event
-- timeline, engineering work orders, complaints, notices with their outbox, SLA alerts, return visits, and
-- the engineers' verdicts that flow back to the detectors as labels. Owned by the `tickets` package.

-- Who owns a grid for a department (first-responsibility owner for that part of the estate).
CREATE TABLE grid_owners (
    grid          text NOT NULL,
    department_id text NOT NULL REFERENCES departments (id),
    user_id       text NOT NULL REFERENCES users (id),
    PRIMARY KEY (grid, department_id)
);

-- The last rung of the escalation ladder for each site.
CREATE TABLE site_managers (
    site_id  text PRIMARY KEY REFERENCES sites (id),
    user_id  text NOT NULL REFERENCES users (id)
);

CREATE TABLE tickets (
    id              bigserial PRIMARY KEY,
    source          text NOT NULL CHECK (source IN ('complaint', 'preventive')),
    state           text NOT NULL,
    version         integer NOT NULL DEFAULT 1,
    category        text NOT NULL,
    subcategory     text,
    severity        text NOT NULL CHECK (severity IN ('major', 'general', 'complex')),
    title           text NOT NULL,
    description     text NOT NULL DEFAULT '',
    site_id         text NOT NULL REFERENCES sites (id),
    building_id     text REFERENCES buildings (id),
    unit_id         text REFERENCES units (id),
    resident_id     text REFERENCES residents (id),
    device_id       text REFERENCES devices (id),
    fault           text,
    department_id   text REFERENCES departments (id),
    owner_id        text REFERENCES users (id),
    transfers       integer NOT NULL DEFAULT 0,
    reopen_count    integer NOT NULL DEFAULT 0,
    reported_at     timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    respond_due     timestamptz,
    resolve_due     timestamptz,
    responded_at    timestamptz,
    sla_paused_at   timestamptz,
    resolved_at     timestamptz,
    closed_at       timestamptz,
    override_reason text,
    root_cause      text
);
CREATE INDEX tickets_state ON tickets (state);
CREATE INDEX tickets_device_fault ON tickets (device_id, fault, resolved_at DESC);
CREATE INDEX tickets_resident ON tickets (resident_id);

-- Every transition and every notable change is one row: who, when, from, to, note.
CREATE TABLE ticket_events (
    id          bigserial PRIMARY KEY,
    ticket_id   bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL,
    actor       text,
    event       text NOT NULL,
    from_state  text,
    to_state    text,
    note        text NOT NULL DEFAULT '',
    detail      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, id);

-- One open incident per device fault: the constraint that makes alarm deduplication race-free.
CREATE TABLE incidents (
    id               bigserial PRIMARY KEY,
    device_id        text NOT NULL REFERENCES devices (id),
    fault            text NOT NULL,
    status           text NOT NULL CHECK (status IN ('open', 'recovered')),
    severity         text NOT NULL,
    detector         text NOT NULL DEFAULT '',
    evidence         jsonb NOT NULL DEFAULT '{}',
    since            timestamptz NOT NULL,
    detected_at      timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    recovered_at     timestamptz,
    root_incident_id bigint REFERENCES incidents (id),
    ticket_id        bigint REFERENCES tickets (id)
);
CREATE UNIQUE INDEX incidents_one_open ON incidents (device_id, fault) WHERE status = 'open';
CREATE INDEX incidents_open_device ON incidents (device_id) WHERE status = 'open';
CREATE INDEX incidents_ticket ON incidents (ticket_id);

ALTER TABLE tickets ADD COLUMN incident_id bigint REFERENCES incidents (id);

CREATE TABLE work_orders (
    id              bigserial PRIMARY KEY,
    ticket_id       bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    department_id   text NOT NULL REFERENCES departments (id),
    assignee_id     text REFERENCES users (id),
    status          text NOT NULL CHECK (status IN ('open', 'acknowledged', 'on_site', 'done', 'cancelled')),
    device_id       text REFERENCES devices (id),
    fault           text,
    evidence        jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL,
    acknowledged_at timestamptz,
    done_at         timestamptz
);
-- At most one live work order per ticket; a reopened ticket gets a fresh one.
CREATE UNIQUE INDEX work_orders_one_live ON work_orders (ticket_id) WHERE status NOT IN ('done', 'cancelled');
CREATE INDEX work_orders_department ON work_orders (department_id, status);

CREATE TABLE complaints (
    id              bigserial PRIMARY KEY,
    ticket_id       bigint NOT NULL REFERENCES tickets (id),
    incident_id     bigint REFERENCES incidents (id),
    resident_id     text NOT NULL REFERENCES residents (id),
    unit_id         text NOT NULL REFERENCES units (id),
    channel         text NOT NULL CHECK (channel IN ('app', 'phone', 'wechat', 'counter')),
    description     text NOT NULL,
    lang            text NOT NULL CHECK (lang IN ('zh-CN', 'en')),
    category        text NOT NULL,
    severity        text NOT NULL,
    device_kind     text,
    attachments     jsonb NOT NULL DEFAULT '[]',
    reported_at     timestamptz NOT NULL,
    received_at     timestamptz NOT NULL,
    taken_by        text REFERENCES users (id),
    folded          boolean NOT NULL DEFAULT false,
    -- true: the incident was detected before the complaint; false: the resident told us first.
    anticipated     boolean,
    lead_seconds    double precision
);
CREATE INDEX complaints_resident ON complaints (resident_id, reported_at DESC);
CREATE INDEX complaints_incident ON complaints (incident_id);

-- Notices to residents (or staff, for SLA reminders). `dedupe_key` makes "one notice per incident per resident".
CREATE TABLE notices (
    id          bigserial PRIMARY KEY,
    resident_id text REFERENCES residents (id),
    user_id     text REFERENCES users (id),
    unit_id     text REFERENCES units (id),
    incident_id bigint REFERENCES incidents (id),
    ticket_id   bigint REFERENCES tickets (id),
    kind        text NOT NULL,
    lang        text NOT NULL,
    title       text NOT NULL,
    body        text NOT NULL,
    critical    boolean NOT NULL DEFAULT false,
    dedupe_key  text NOT NULL,
    created_at  timestamptz NOT NULL,
    CHECK ((resident_id IS NULL) <> (user_id IS NULL))
);
CREATE UNIQUE INDEX notices_dedupe_resident ON notices (resident_id, dedupe_key) WHERE resident_id IS NOT NULL;
CREATE UNIQUE INDEX notices_dedupe_user ON notices (user_id, dedupe_key) WHERE user_id IS NOT NULL;
CREATE INDEX notices_incident ON notices (incident_id);
CREATE INDEX notices_unit ON notices (unit_id, created_at DESC);

-- The transactional outbox: written in the same transaction as the notice, delivered by `tickets.outbox.dispatch`.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    notice_id       bigint NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
    channel         text NOT NULL,
    address         text,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    created_at      timestamptz NOT NULL,
    delivered_at    timestamptz
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';

-- SLA reminders and escalations already sent: the unique key makes the sweep idempotent.
CREATE TABLE sla_alerts (
    ticket_id   bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    clock       text NOT NULL CHECK (clock IN ('respond', 'resolve')),
    level       text NOT NULL,
    due         timestamptz NOT NULL,
    at          timestamptz NOT NULL,
    recipient   text,
    PRIMARY KEY (ticket_id, clock, level, due)
);

CREATE TABLE return_visits (
    id              bigserial PRIMARY KEY,
    ticket_id       bigint NOT NULL REFERENCES tickets (id),
    at              timestamptz NOT NULL,
    by_user         text REFERENCES users (id),
    response_speed  smallint NOT NULL CHECK (response_speed BETWEEN 1 AND 5),
    professionalism smallint NOT NULL CHECK (professionalism BETWEEN 1 AND 5),
    attitude        smallint NOT NULL CHECK (attitude BETWEEN 1 AND 5),
    overall         smallint NOT NULL CHECK (overall BETWEEN 1 AND 5),
    comment         text NOT NULL DEFAULT '',
    within_48h      boolean NOT NULL
);
CREATE INDEX return_visits_ticket ON return_visits (ticket_id);

-- Engineers' verdicts, read by the runtime and applied to the detector engine.
CREATE TABLE detector_labels (
    id          bigserial PRIMARY KEY,
    device_id   text NOT NULL,
    fault       text NOT NULL,
    false_alarm boolean NOT NULL,
    ticket_id   bigint REFERENCES tickets (id),
    at          timestamptz NOT NULL,
    by          text,
    note        text NOT NULL DEFAULT ''
);
