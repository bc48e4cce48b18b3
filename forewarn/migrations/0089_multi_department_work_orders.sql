-- Work across departments (issue #16 point 5): a ticket may carry work orders for several departments at once
-- (engineering, cleaning, security, customer service), at most one live per department, and each work order runs
-- its own clock (respond until its department accepts it, then resolve), fixed when it is opened from the
-- ticket's tier and SLA profile. Owned by the tickets package (tickets/dispatch.py, tickets/workorders.py).

DROP INDEX work_orders_one_live;
CREATE UNIQUE INDEX work_orders_one_live_per_department ON work_orders (ticket_id, department_id)
    WHERE status NOT IN ('done', 'cancelled');

ALTER TABLE work_orders ADD COLUMN respond_due timestamptz;
ALTER TABLE work_orders ADD COLUMN resolve_due timestamptz;
-- Why this department was brought in ("the intruder damaged the door: security to check the CCTV").
ALTER TABLE work_orders ADD COLUMN reason text NOT NULL DEFAULT '';
-- Work orders from before: their clock was the ticket's, which is what they keep.
UPDATE work_orders w SET respond_due = t.respond_due, resolve_due = t.resolve_due FROM tickets t
WHERE t.id = w.ticket_id;

-- The SLA sweep's reminders and escalations per work order (the ticket's own clocks stay in sla_alerts).
CREATE TABLE work_order_alerts (
    work_order_id bigint NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
    clock         text NOT NULL CHECK (clock IN ('respond', 'resolve')),
    level         text NOT NULL,
    due           timestamptz NOT NULL,
    at            timestamptz NOT NULL,
    recipient     text,
    PRIMARY KEY (work_order_id, clock, level, due)
);
