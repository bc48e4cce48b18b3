-- Engineers' work: the three verdicts (real fault, false alarm, planned maintenance), how staff are reached when a
-- work order is pushed to them, and the index behind "my work orders". Owned by tickets (workorders, staff_push).

-- A verdict is one of three kinds. `false_alarm` stays what the detectors read: true only for a false alarm (a
-- planned maintenance was a real abnormality, correctly detected; it is not a fault to repair).
ALTER TABLE detector_labels ADD COLUMN verdict text;
UPDATE detector_labels SET verdict = CASE WHEN false_alarm THEN 'false_alarm' ELSE 'real_fault' END;
ALTER TABLE detector_labels ALTER COLUMN verdict SET NOT NULL;
ALTER TABLE detector_labels ADD CONSTRAINT detector_labels_verdict_check
    CHECK (verdict IN ('real_fault', 'false_alarm', 'planned_maintenance'));
ALTER TABLE detector_labels ADD CONSTRAINT detector_labels_verdict_false_alarm
    CHECK (false_alarm = (verdict = 'false_alarm'));
-- A writer that knows only `false_alarm` (older code, tools) still stores a whole row: its verdict is derived.
CREATE FUNCTION detector_labels_default_verdict() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.verdict := COALESCE(NEW.verdict, CASE WHEN NEW.false_alarm THEN 'false_alarm' ELSE 'real_fault' END);
    RETURN NEW;
END $$;
CREATE TRIGGER detector_labels_default_verdict BEFORE INSERT ON detector_labels
    FOR EACH ROW EXECUTE FUNCTION detector_labels_default_verdict();

-- How a staff member is reached besides in-app (the same channels as residents: sms/wechat through the gateway
-- webhook, e-mail). Contact columns are added only if the sign-in migrations have not already added them.
ALTER TABLE users ADD COLUMN IF NOT EXISTS phone text;
ALTER TABLE users ADD COLUMN IF NOT EXISTS email text;
ALTER TABLE users ADD COLUMN notify_channel text NOT NULL DEFAULT 'app'
    CHECK (notify_channel IN ('app', 'sms', 'wechat', 'email'));

-- My work orders: live ones by assignee, and a department's unassigned ones.
CREATE INDEX work_orders_live_assignee ON work_orders (assignee_id) WHERE status NOT IN ('done', 'cancelled');
