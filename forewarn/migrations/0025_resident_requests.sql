-- The resident side (issue #15): what kind of request a resident filed (the clocks that apply differ by kind,
-- see tickets/requests.py), and an index for a resident's own notices, newest first, paged by id.
ALTER TABLE complaints ADD COLUMN request_kind text NOT NULL DEFAULT 'complaint'
    CHECK (request_kind IN ('complaint', 'repair', 'enquiry', 'suggestion'));
CREATE INDEX notices_resident_newest ON notices (resident_id, id DESC) WHERE resident_id IS NOT NULL;
