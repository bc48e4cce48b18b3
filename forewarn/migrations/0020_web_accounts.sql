-- Web sign-in (api/web): passwords, browser sessions, one-time codes and sign-in throttling.

-- A password a user chose (argon2id, PHC string); NULL = sign in with one-time codes only.
ALTER TABLE users ADD COLUMN password_hash text;

-- Browser sessions. Only the SHA-256 of the session id is stored; the id itself lives in the HttpOnly cookie.
CREATE TABLE web_sessions (
    id_sha256     bytea PRIMARY KEY,
    user_id       text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    ended_at      timestamptz,
    client        text NOT NULL DEFAULT ''
);
CREATE INDEX web_sessions_user ON web_sessions (user_id) WHERE ended_at IS NULL;

-- One-time codes: a sign-up invitation (a link token and a 6-digit code) or a sign-in code. Both are stored only
-- as SHA-256 digests salted with the user id; each is single use (`used_at`) and expires.
CREATE TABLE signin_codes (
    id            bigserial PRIMARY KEY,
    user_id       text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose       text NOT NULL CHECK (purpose IN ('signup', 'signin')),
    code_sha256   bytea NOT NULL,
    link_sha256   bytea UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz
);
CREATE INDEX signin_codes_user ON signin_codes (user_id) WHERE used_at IS NULL;

-- Sign-in throttling: failed attempts per key ('account:<user>' or 'client:<address>') in a fixed window.
-- One UPSERT both counts and reads, so concurrent attempts cannot slip past the limit.
CREATE TABLE signin_throttle (
    key           text PRIMARY KEY,
    window_start  timestamptz NOT NULL,
    failures      integer NOT NULL DEFAULT 0
);
