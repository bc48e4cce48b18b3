-- When a notice reached the person it is for: the first delivery on any of its outbox rows (in-app: when it became
-- visible through the API and pages; SMS/WeChat/e-mail/push: when the gateway accepted it). NULL while it is held
-- (quiet hours), failing or dead: such a notice is not delivered, and residents do not see it in the app either.
ALTER TABLE notices ADD COLUMN delivered_at timestamptz;

UPDATE notices n SET delivered_at = o.first
FROM (SELECT notice_id, min(delivered_at) AS first FROM outbox WHERE status = 'delivered' GROUP BY notice_id) o
WHERE o.notice_id = n.id;

-- A push sent in quiet hours is silent: the phone shows it without a sound (tickets/notices.py `delivery_plan`).
ALTER TABLE outbox ADD COLUMN silent boolean NOT NULL DEFAULT false;
