-- API tokens end (issue #21, finding 11): each token carries its own expiry, set when it is issued from
-- FOREWARN_API_TOKEN_DAYS, and an id by which an operator lists and revokes it (`forewarn user tokens`).
-- Tokens issued before this step expire 90 days after their creation (the default lifetime).
ALTER TABLE api_tokens ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY UNIQUE;
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;
UPDATE api_tokens SET expires_at = created_at + interval '90 days';
ALTER TABLE api_tokens ALTER COLUMN expires_at SET NOT NULL;
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- The complaint rate limit counts a resident's complaints received in the last hour (finding 10).
CREATE INDEX complaints_resident_received ON complaints (resident_id, received_at DESC);
