-- SLA profiles (issue #16 point 2): the profile each site runs on, and the one each ticket was opened with.
-- The profiles themselves are data (tickets/data/sla_profiles.yaml); NULL means the packaged default (001), so
-- sites and tickets from before this migration keep exactly the clocks they had.

ALTER TABLE sites ADD COLUMN sla_profile text;
ALTER TABLE tickets ADD COLUMN sla_profile text;
