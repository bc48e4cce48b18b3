-- Announcements and planned maintenance (issue #16 point 10).
--
-- An announcement is a notice to a whole site or one building that is not about an incident: a planned outage, a
-- rectification notice, a rules or community notice (tickets/announcements.py). It fans out as one ordinary notice
-- per current resident of the target, with dedupe key 'announcement:<id>', delivered by the outbox like any other.
CREATE TABLE announcements (
    id          bigserial PRIMARY KEY,
    site_id     text NOT NULL REFERENCES sites (id),
    building_id text REFERENCES buildings (id),  -- NULL: the whole site
    kind        text NOT NULL CHECK (kind IN ('planned_outage', 'rectification', 'community')),
    title_zh    text NOT NULL CHECK (btrim(title_zh) <> ''),
    body_zh     text NOT NULL CHECK (btrim(body_zh) <> ''),
    title_en    text NOT NULL CHECK (btrim(title_en) <> ''),
    body_en     text NOT NULL CHECK (btrim(body_en) <> ''),
    starts_at   timestamptz,  -- a planned outage's window
    ends_at     timestamptz,
    author      text NOT NULL,
    created_at  timestamptz NOT NULL,
    CHECK (ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at)
);
CREATE INDEX announcements_site ON announcements (site_id, id DESC);

-- Read receipts in-app: when the resident first opened the notice (the resident's notice page). Any notice can
-- carry one; the announcements' figures (recipients, delivered, read) are counted from it.
ALTER TABLE notices ADD COLUMN read_at timestamptz;
-- The notices of one announcement (or any one dedupe key) without scanning every notice.
CREATE INDEX notices_dedupe_key ON notices (dedupe_key);

-- Recurring maintenance (001: each lift every two weeks): a plan for one device, or for every active device of a
-- kind at a site. The scheduler's job (tickets/maintenance_plan.py) opens, at or after `next_due`, one preventive
-- ticket with a work order for `department_id` per device, and moves `next_due` on by the interval.
CREATE TABLE maintenance_plans (
    id            bigserial PRIMARY KEY,
    device_id     text REFERENCES devices (id) ON DELETE CASCADE,
    site_id       text REFERENCES sites (id),
    device_kind   text,
    every_days    integer NOT NULL CHECK (every_days BETWEEN 1 AND 366),
    next_due      timestamptz NOT NULL,
    department_id text NOT NULL REFERENCES departments (id),
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    CHECK ((device_id IS NOT NULL) <> (site_id IS NOT NULL AND device_kind IS NOT NULL)),
    CHECK (device_id IS NULL OR (site_id IS NULL AND device_kind IS NULL))
);
CREATE INDEX maintenance_plans_due ON maintenance_plans (next_due) WHERE active;

-- One row per device per due date: the unique key is what makes "exactly one work order per due date", however
-- many times (or in how many schedulers) the job runs. `notified_at`: the completion notice went out.
CREATE TABLE maintenance_runs (
    id          bigserial PRIMARY KEY,
    plan_id     bigint NOT NULL REFERENCES maintenance_plans (id) ON DELETE CASCADE,
    device_id   text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    due_at      timestamptz NOT NULL,
    ticket_id   bigint REFERENCES tickets (id),
    created_at  timestamptz NOT NULL,
    UNIQUE (plan_id, device_id, due_at)
);
CREATE INDEX maintenance_runs_ticket ON maintenance_runs (ticket_id);
