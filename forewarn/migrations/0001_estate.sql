-- Master data (the estate registry) and the people who use Forewarn.

CREATE TABLE sites (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    timezone    text NOT NULL DEFAULT 'Asia/Shanghai'
);

CREATE TABLE buildings (
    id          text PRIMARY KEY,
    site_id     text NOT NULL REFERENCES sites (id),
    name        text NOT NULL,
    floors      integer NOT NULL CHECK (floors > 0),
    grid        text
);

CREATE TABLE units (
    id          text PRIMARY KEY,
    building_id text NOT NULL REFERENCES buildings (id),
    floor       integer NOT NULL,
    number      text NOT NULL
);
CREATE INDEX units_building ON units (building_id);

CREATE TABLE residents (
    id          text PRIMARY KEY,
    unit_id     text NOT NULL REFERENCES units (id),
    name        text NOT NULL,
    language    text NOT NULL DEFAULT 'zh-CN' CHECK (language IN ('zh-CN', 'en')),
    channel     text NOT NULL DEFAULT 'app' CHECK (channel IN ('app', 'mqtt', 'sms', 'wechat', 'email')),
    phone       text,
    email       text,
    resident_group text NOT NULL DEFAULT 'owner' CHECK (resident_group IN ('owner', 'tenant')),
    age_band    text,
    active      boolean NOT NULL DEFAULT true
);
CREATE INDEX residents_unit ON residents (unit_id);

CREATE TABLE devices (
    id          text PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('elevator', 'access_door', 'water')),
    site_id     text NOT NULL REFERENCES sites (id),
    building_id text REFERENCES buildings (id),
    location    text NOT NULL DEFAULT '',
    active      boolean NOT NULL DEFAULT true
);

-- Which units' residents a device affects when it fails: the basis of "exactly the affected residents told".
CREATE TABLE device_units (
    device_id   text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    unit_id     text NOT NULL REFERENCES units (id),
    PRIMARY KEY (device_id, unit_id)
);
CREATE INDEX device_units_unit ON device_units (unit_id);

CREATE TABLE departments (
    id          text PRIMARY KEY,
    name        text NOT NULL
);
INSERT INTO departments (id, name) VALUES
    ('engineering', '工程部 Engineering'),
    ('customer_service', '客服中心 Customer service'),
    ('security', '秩序部 Security'),
    ('finance', '财务部 Finance'),
    ('management', '管理处 Site management');

-- Staff and resident logins. A resident's user row points at the resident; staff have a department and a
-- supervisor (the department head), the second rung of the escalation ladder.
CREATE TABLE users (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('resident', 'agent', 'engineer', 'manager', 'admin')),
    department_id text REFERENCES departments (id),
    supervisor_id text REFERENCES users (id),
    resident_id   text UNIQUE REFERENCES residents (id),
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'resident') = (resident_id IS NOT NULL))
);

-- API tokens are stored as SHA-256 digests; the token itself is shown once, when it is created.
CREATE TABLE api_tokens (
    token_sha256  bytea PRIMARY KEY,
    user_id       text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label         text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);

-- Who did what: every state-changing API call and CLI command.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text,
    action      text NOT NULL,
    subject     text,
    detail      jsonb NOT NULL DEFAULT '{}'
);
