-- One-time survey links (issue 17 point 6): a sampled online household's residents each get a link
-- /survey/<token> on their own channel; only the token's SHA-256 is stored, so the table never holds a usable link.
-- A link answers once, until it expires, while its wave is open; the household's one response (UNIQUE on
-- survey_wave_responses) is what makes "one response per household per wave" whatever link answers it.
CREATE TABLE survey_invitations (
    id            bigserial PRIMARY KEY,
    wave_id       bigint NOT NULL REFERENCES survey_waves (id) ON DELETE CASCADE,
    unit_id       text NOT NULL,
    resident_id   text NOT NULL REFERENCES residents (id),
    token_sha256  text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    UNIQUE (wave_id, resident_id),                -- one link per resident per wave: a rerun issues none again
    FOREIGN KEY (wave_id, unit_id) REFERENCES survey_wave_sample (wave_id, unit_id) ON DELETE CASCADE,
    CHECK (expires_at > created_at),
    CHECK (used_at IS NULL OR used_at >= created_at)
);
