-- Complete intake (issue #16 point 4; tickets/complaints.py, docs/lifecycle.md "Intake").
-- The resident's requested outcome (诉求): what they want done, in their words, apart from what is wrong.
ALTER TABLE complaints ADD COLUMN requested_outcome text CHECK (char_length(requested_outcome) <= 1000);
-- Channels beyond the app, phone, WeChat and counter: grid staff's door-to-door visits, referrals from the owners'
-- committee, the complaint box, e-mail and the hotline (handbook 003).
ALTER TABLE complaints DROP CONSTRAINT complaints_channel_check;
ALTER TABLE complaints ADD CONSTRAINT complaints_channel_check CHECK (channel IN (
    'app', 'phone', 'wechat', 'counter', 'grid_visit', 'committee_referral', 'complaint_box', 'email', 'hotline'));
-- The 72-hour join: the household's open complaint ticket on the same fault point, found by unit.
CREATE INDEX tickets_unit_open_complaint ON tickets (unit_id, created_at)
    WHERE source = 'complaint' AND state NOT IN ('resolved', 'closed', 'cancelled');
-- Callers not in the registry (a passer-by on the hotline, a note in the complaint box): no resident yet, but a name
-- and a number to call back; linked to the resident once identified (tickets/callers.py `link_caller`).
ALTER TABLE complaints ALTER COLUMN resident_id DROP NOT NULL;
ALTER TABLE complaints ADD COLUMN caller_name text CHECK (char_length(caller_name) <= 100);
ALTER TABLE complaints ADD COLUMN caller_phone text CHECK (char_length(caller_phone) <= 32);
ALTER TABLE complaints ADD CONSTRAINT complaints_resident_or_caller
    CHECK (resident_id IS NOT NULL OR (caller_name IS NOT NULL AND caller_phone IS NOT NULL));
