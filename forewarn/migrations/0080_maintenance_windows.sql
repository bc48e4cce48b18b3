-- Planned maintenance windows (issue #19 point 5): an engineer puts a device "in maintenance" for a stated time,
-- and alarms raised for it meanwhile open no incident, ticket, work order or resident notice (tickets/maintenance.py).
-- A window is ended early by setting ends_at to the time it was ended.
CREATE TABLE maintenance_windows (
    id          bigserial PRIMARY KEY,
    device_id   text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    reason      text NOT NULL CHECK (btrim(reason) <> ''),
    set_by      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    ended_by    text,
    CHECK (ends_at >= starts_at)
);
CREATE INDEX maintenance_windows_device ON maintenance_windows (device_id, ends_at);

-- The alarms a window held back, for operators to see ("planned maintenance", not a false alarm: no incident and
-- no ticket exist for them, so no verdict or precision figure counts them).
CREATE TABLE suppressed_alarms (
    id          bigserial PRIMARY KEY,
    window_id   bigint NOT NULL REFERENCES maintenance_windows (id) ON DELETE CASCADE,
    device_id   text NOT NULL,
    fault       text NOT NULL,
    state       text NOT NULL,
    severity    text NOT NULL,
    since       timestamptz NOT NULL,
    at          timestamptz NOT NULL,
    reason      text NOT NULL,
    summary     text NOT NULL DEFAULT '',
    -- when the fault, still raised as its window ended, was handed back to the alarm queue
    -- (tickets/maintenance_release.py); NULL while held
    released_at timestamptz
);
CREATE INDEX suppressed_alarms_window ON suppressed_alarms (window_id);
