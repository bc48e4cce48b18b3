-- Group risk and sensitivity (issue #16 point 8; handbook 004 on complaints that grow into 群体性事件).
-- A complaint keeps the fault point it was classified under (the taxonomy's, else its category), so that many
-- households complaining about one point in one building can be counted; and whether its words threatened the
-- media, a lawyer or collective action (tickets/data/sensitivity.yaml), with the words that did.

ALTER TABLE complaints ADD COLUMN point text;
ALTER TABLE complaints ADD COLUMN sensitive boolean NOT NULL DEFAULT false;
ALTER TABLE complaints ADD COLUMN sensitive_matched text[] NOT NULL DEFAULT '{}';

-- One flag per building, fault point and burst of complaints: `households` distinct households counted when it was
-- raised; `ticket_id` the ticket made major (the first complaint's). The counting query reads this index.
CREATE TABLE group_risks (
    id          bigserial PRIMARY KEY,
    site_id     text NOT NULL REFERENCES sites (id),
    building_id text NOT NULL REFERENCES buildings (id),
    point       text NOT NULL,
    ticket_id   bigint NOT NULL REFERENCES tickets (id),
    households  integer NOT NULL CHECK (households > 0),
    first_at    timestamptz NOT NULL,  -- the earliest counted complaint's reported_at
    raised_at   timestamptz NOT NULL
);
CREATE INDEX group_risks_building_point ON group_risks (building_id, point, raised_at DESC);
CREATE INDEX complaints_building_point ON complaints (point, reported_at) WHERE NOT folded;

ALTER TABLE tickets ADD COLUMN sensitive boolean NOT NULL DEFAULT false;
ALTER TABLE tickets ADD COLUMN group_risk_id bigint REFERENCES group_risks (id);
