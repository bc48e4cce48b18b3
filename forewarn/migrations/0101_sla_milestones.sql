-- Each SLA clock is met by its own event (issue #16 point 1; tickets/milestones.py, docs/lifecycle.md "SLA clocks").
-- A ticket keeps its two deadlines (respond_due, resolve_due); each now carries the milestone of the profile clause it
-- came from (on_site, plan, progress, answer, respond, resolve) and the time the milestone was met: an acknowledged
-- major complaint still runs its on-site clock until someone is there, and its plan clock until a plan is written.
ALTER TABLE tickets ADD COLUMN respond_milestone text
    CHECK (respond_milestone IN ('respond', 'on_site', 'plan', 'progress', 'answer', 'resolve'));
ALTER TABLE tickets ADD COLUMN resolve_milestone text
    CHECK (resolve_milestone IN ('respond', 'on_site', 'plan', 'progress', 'answer', 'resolve'));
ALTER TABLE tickets ADD COLUMN respond_met_at timestamptz;
ALTER TABLE tickets ADD COLUMN resolve_met_at timestamptz;
-- Tickets opened before: their clocks stopped at the response and the resolution, as they always did.
UPDATE tickets SET respond_milestone = 'respond', resolve_milestone = 'resolve',
                   respond_met_at = responded_at, resolve_met_at = resolved_at;
