-- Silence groups (issue #20 point 5, issue #19 "a two-minute power blip became six offline incidents"): several
-- devices of one building falling silent together are one event — a likely power cut or network loss — with one
-- building-level incident, one ticket and one work order; the devices' own device_offline incidents are linked to
-- it (root_incident_id and silence_group_id) instead of each opening a ticket. tickets/silence.py keeps the rules.
CREATE TABLE silence_groups (
    id           bigserial PRIMARY KEY,
    site_id      text NOT NULL REFERENCES sites (id),
    building_id  text NOT NULL REFERENCES buildings (id),
    status       text NOT NULL CHECK (status IN ('open', 'resolved')),
    since        timestamptz NOT NULL,   -- the first member's silence began
    opened_at    timestamptz NOT NULL,   -- the group was recognised (enough devices silent together)
    warned_at    timestamptz,            -- residents were warned (the group outlasted the hold time); NULL: nobody
    resolved_at  timestamptz,            -- every member reported again
    incident_id  bigint NOT NULL REFERENCES incidents (id),
    ticket_id    bigint NOT NULL REFERENCES tickets (id)
);
-- One open group per building: a device that falls silent while its building's group is open joins it.
CREATE UNIQUE INDEX silence_groups_one_open ON silence_groups (building_id) WHERE status = 'open';
-- The sweep that warns residents once the hold time has passed looks only at open groups nobody was warned of.
CREATE INDEX silence_groups_to_warn ON silence_groups (since) WHERE status = 'open' AND warned_at IS NULL;

ALTER TABLE incidents ADD COLUMN silence_group_id bigint REFERENCES silence_groups (id);
CREATE INDEX incidents_silence_group ON incidents (silence_group_id) WHERE silence_group_id IS NOT NULL;
