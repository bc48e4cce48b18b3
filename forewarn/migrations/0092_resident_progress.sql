-- Talking to the resident about their own request (issue #16 point 9; tickets/progress.py, tickets/warranty.py).
-- A resident may prefer one channel for news of their requests whatever channel they used to file them (NULL: the
-- channel they used). A repair carries a warranty: until `warranty_until` (set when it is resolved), a new ticket
-- from the same unit about the same fault point links to it through `warranty_of`.
ALTER TABLE residents ADD COLUMN preferred_channel text
    CHECK (preferred_channel IN ('app', 'mqtt', 'sms', 'wechat', 'email'));
ALTER TABLE tickets ADD COLUMN warranty_until timestamptz;
ALTER TABLE tickets ADD COLUMN warranty_of bigint REFERENCES tickets (id);
CREATE INDEX tickets_unit_warranty ON tickets (unit_id, warranty_until) WHERE warranty_until IS NOT NULL;
-- Every state change now looks up who raised the ticket (tickets/progress.py `raisers`), and the progress sweep
-- asks it of every open major ticket: the complaints of one ticket by index, not by scanning them all.
CREATE INDEX complaints_ticket ON complaints (ticket_id);
-- The progress sweep's open major tickets, without reading the closed ones.
CREATE INDEX tickets_open_major ON tickets (id)
    WHERE severity = 'major' AND state NOT IN ('resolved', 'closed', 'cancelled');
