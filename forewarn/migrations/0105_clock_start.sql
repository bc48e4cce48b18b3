-- When each SLA clock started. The sweep's reminders fall at 50 % and 80 % of the way from a clock's start to its
-- deadline, and its last rung half a clock past the deadline (tickets/sweeps.py). A clock that starts again later than
-- the ticket or work order was opened — a reopen, an escalation to the major tier, passengers trapped on an order
-- urgent for an earlier fault — counted from the opening, so both reminders went out the moment it was set and the
-- site manager heard of a breach a whole earlier lifetime late. NULL: the clock runs from created_at, as it did.
ALTER TABLE tickets ADD COLUMN respond_from timestamptz, ADD COLUMN resolve_from timestamptz;
ALTER TABLE work_orders ADD COLUMN respond_from timestamptz, ADD COLUMN resolve_from timestamptz;
