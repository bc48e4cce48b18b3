-- The SLA sweep also chases return visits (due within 48 hours of resolution): a third clock for sla_alerts.
ALTER TABLE sla_alerts DROP CONSTRAINT sla_alerts_clock_check;
ALTER TABLE sla_alerts ADD CONSTRAINT sla_alerts_clock_check CHECK (clock IN ('respond', 'resolve', 'return_visit'));
CREATE INDEX tickets_resolved_awaiting_visit ON tickets (resolved_at) WHERE state = 'resolved';
