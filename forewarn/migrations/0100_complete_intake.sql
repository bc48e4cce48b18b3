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
