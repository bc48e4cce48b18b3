-- Root causes and improvement actions of the review (issue #17 point 3; owned by tickets/review/actions.py).
-- A root cause is written on a ticket or on a high-frequency point (fault point × building, as the review counts
-- it), with the 5W1H fields and its chain of whys in order (handbook 001's lift example). An improvement action
-- names the department, owner, deadline and measures, and the metric (tickets/review/definitions.py) and slice it
-- should move, from the day it starts; the review shows that metric for the months before and after. Plain tables:
-- the same in TimescaleDB and plain PostgreSQL.
CREATE TABLE root_causes (
    id          bigserial PRIMARY KEY,
    ticket_id   bigint REFERENCES tickets (id) ON DELETE CASCADE,
    point       text,  -- a high-frequency point: the fault point (subcategory, else category) ...
    building_id text REFERENCES buildings (id),  -- ... in this building (NULL: every building)
    what        text NOT NULL DEFAULT '',
    where_      text NOT NULL DEFAULT '',
    when_       text NOT NULL DEFAULT '',
    who         text NOT NULL DEFAULT '',
    why         text NOT NULL DEFAULT '',
    how         text NOT NULL DEFAULT '',
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    -- on a ticket or on a point, never both, never neither
    CHECK ((ticket_id IS NULL) <> (point IS NULL)),
    CHECK (point IS NOT NULL OR building_id IS NULL)
);
CREATE INDEX root_causes_ticket ON root_causes (ticket_id) WHERE ticket_id IS NOT NULL;
CREATE INDEX root_causes_point ON root_causes (point, building_id) WHERE point IS NOT NULL;

-- The chain of whys, read in `position` order (1 = the first "why?").
CREATE TABLE root_cause_whys (
    cause_id    bigint NOT NULL REFERENCES root_causes (id) ON DELETE CASCADE,
    position    integer NOT NULL CHECK (position >= 1),
    answer      text NOT NULL CHECK (btrim(answer) <> ''),
    PRIMARY KEY (cause_id, position)
);

CREATE TABLE review_actions (
    id              bigserial PRIMARY KEY,
    cause_id        bigint REFERENCES root_causes (id) ON DELETE SET NULL,
    title           text NOT NULL CHECK (btrim(title) <> ''),
    measures        text NOT NULL DEFAULT '',
    department_id   text NOT NULL REFERENCES departments (id),
    owner           text NOT NULL CHECK (btrim(owner) <> ''),
    deadline        date NOT NULL,
    starts_on       date NOT NULL,  -- the effect is measured from here: months before it against months after
    status          text NOT NULL DEFAULT 'planned'
                    CHECK (status IN ('planned', 'in_progress', 'done', 'cancelled')),
    metric          text NOT NULL,  -- a key of tickets/review/definitions.py METRICS (checked by the package)
    source          text NOT NULL DEFAULT 'complaint' CHECK (source IN ('complaint', 'preventive')),
    slice_site      text REFERENCES sites (id),
    slice_building  text REFERENCES buildings (id),
    slice_department text REFERENCES departments (id),
    slice_point     text,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    version         integer NOT NULL DEFAULT 1
);
CREATE INDEX review_actions_status ON review_actions (status, deadline);

-- Every change of an action: created, a status change, a new deadline, owner or measures, with who and a note.
CREATE TABLE review_action_events (
    id          bigserial PRIMARY KEY,
    action_id   bigint NOT NULL REFERENCES review_actions (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL,
    by_user     text NOT NULL,
    event       text NOT NULL,
    from_status text,
    to_status   text,
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX review_action_events_action ON review_action_events (action_id, at);
