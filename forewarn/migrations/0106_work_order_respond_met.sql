-- When a work order's own respond clock was met. It ran "until its department accepted it" (the order's status
-- 'open'), whatever its ticket's respond clock asks for: on a major ticket the clock is to be on site (the rescue's
-- 30 minutes), yet the engineer who accepted it was shown the resolve deadline, hours away, and an added
-- department's accepted order was no longer chased on it. An order escalated to the rescue after it was accepted, or
-- on site for an earlier fault, was not chased on its new on-site clock at all.
-- Now the order's respond clock runs until the order itself reaches its ticket's respond milestone
-- (work_order_meets_respond): on site (or done) where that milestone is on_site, accepted otherwise. A transfer, or
-- an escalation that sets the clock again, starts it again (tickets/service.py, tickets/escalation.py).
ALTER TABLE work_orders ADD COLUMN respond_met_at timestamptz;

CREATE FUNCTION work_order_meets_respond(status text, milestone text) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT status IN ('on_site', 'done') OR (status = 'acknowledged' AND coalesce(milestone, 'respond') <> 'on_site') $$;

-- Orders from before: met where their status meets it now; the time is the accept's (no arrival time is kept on the
-- order), or the order's close, or its creation.
UPDATE work_orders w SET respond_met_at = coalesce(w.acknowledged_at, w.done_at, w.created_at)
FROM tickets t
WHERE t.id = w.ticket_id AND work_order_meets_respond(w.status, t.respond_milestone);
