-- When a work order was escalated to a more urgent fault of its device (tickets/escalation.py): a lift already
-- out of service on a routine order, and then passengers trapped in it. The order keeps its row and its creation
-- time; this is when its engineer was told of the urgent fault, which is what a rescue's delay counts from.
ALTER TABLE work_orders ADD COLUMN escalated_at timestamptz;
