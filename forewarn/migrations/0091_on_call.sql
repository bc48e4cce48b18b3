-- The 7×24 on-call roster and the supervisor role (issue #16 point 7; handbook 003 "7×24小时值班制度": a rota that
-- answers urgent repairs and complaints outside working hours).
--
-- A supervisor heads a department's staff (主管): what a department head (the user the staff have as supervisor)
-- may do, and the on-call ladder's second rung.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('resident', 'agent', 'engineer', 'supervisor', 'manager', 'admin'));

-- Who is on duty for a department, from when until when: the first line (takes the urgent ticket and its work
-- order) or the supervisor (escalated to at breach). Shifts may overlap (a handover); the latest started wins.
CREATE TABLE on_call (
    id            bigserial PRIMARY KEY,
    department_id text NOT NULL REFERENCES departments (id),
    user_id       text NOT NULL REFERENCES users (id),
    rung          text NOT NULL CHECK (rung IN ('first_line', 'supervisor')),
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);
CREATE INDEX on_call_department_time ON on_call (department_id, rung, starts_at DESC);

-- Routed to the on-call first line (an urgent ticket opened outside working hours): its breach goes to the on-call
-- supervisor of its department at that moment, not the owner's daytime head.
ALTER TABLE tickets ADD COLUMN routed_on_call boolean NOT NULL DEFAULT false;
