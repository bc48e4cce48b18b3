-- A mediation that drags on is chased (tickets/sweeps.py `_chase_mediations`): a fourth clock for sla_alerts, due
-- the configured time after the mediation's start (FOREWARN_MEDIATION_REVIEW_DAYS), with the same reminders and
-- ladder as the ticket's own clocks. The mediation's id is in the alert's key through its due time.
ALTER TABLE sla_alerts DROP CONSTRAINT sla_alerts_clock_check;
ALTER TABLE sla_alerts ADD CONSTRAINT sla_alerts_clock_check
    CHECK (clock IN ('respond', 'resolve', 'return_visit', 'mediation'));
