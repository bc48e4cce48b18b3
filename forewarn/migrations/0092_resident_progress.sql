-- Talking to the resident about their own request (issue #16 point 9; tickets/progress.py, tickets/warranty.py).
-- A resident may prefer one channel for news of their requests whatever channel they used to file them (NULL: the
-- channel they used). A repair carries a warranty: until `warranty_until` (set when it is resolved), a new ticket
-- from the same unit about the same fault point links to it through `warranty_of`.
ALTER TABLE residents ADD COLUMN preferred_channel text
    CHECK (preferred_channel IN ('app', 'mqtt', 'sms', 'wechat', 'email'));
ALTER TABLE tickets ADD COLUMN warranty_until timestamptz;
ALTER TABLE tickets ADD COLUMN warranty_of bigint REFERENCES tickets (id);
CREATE INDEX tickets_unit_warranty ON tickets (unit_id, warranty_until) WHERE warranty_until IS NOT NULL;
