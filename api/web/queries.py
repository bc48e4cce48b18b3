"""The SQL of the web frame (sessions, accounts, sign-in), named, in one place. Parameters are always bound."""

# A new browser session (the id's digest only).
INSERT_SESSION = """INSERT INTO web_sessions (id_sha256, user_id, expires_at, client)
                    VALUES (%(digest)s, %(user_id)s, %(expires_at)s, %(client)s)"""

# The principal of a live session: not ended, not expired, its user active.
SESSION_PRINCIPAL = """SELECT u.id, u.name, u.role, u.department_id, u.resident_id, r.unit_id
                       FROM web_sessions s JOIN users u ON u.id = s.user_id
                       LEFT JOIN residents r ON r.id = u.resident_id
                       WHERE s.id_sha256 = %(digest)s AND s.ended_at IS NULL AND s.expires_at > %(now)s
                         AND u.active"""

# Sign out one session.
END_SESSION = "UPDATE web_sessions SET ended_at = %(now)s WHERE id_sha256 = %(digest)s AND ended_at IS NULL"

# Sign out every session of a user.
END_USER_SESSIONS = "UPDATE web_sessions SET ended_at = %(now)s WHERE user_id = %(user_id)s AND ended_at IS NULL"

# -- accounts --------------------------------------------------------------------------------------------------

# The active accounts a person may mean by what they type on the login page: a user id, or a resident's phone or
# e-mail (a family may share a phone: several accounts, the user id's own first, then the oldest).
FIND_ACCOUNTS = """SELECT u.id, u.name, u.role, u.password_hash, r.phone, r.email, COALESCE(r.channel, 'app'),
                          COALESCE(r.preferred_language, r.language, 'zh-CN'), count(*) OVER () > 1 AS ambiguous
                   FROM users u LEFT JOIN residents r ON r.id = u.resident_id
                   WHERE u.active AND (u.id = %(ident)s OR r.phone = %(ident)s OR lower(r.email) = lower(%(ident)s))
                   ORDER BY (u.id = %(ident)s) DESC, u.created_at, u.id LIMIT 20"""

# An account by user id (active or not).
ACCOUNT_BY_ID = """SELECT u.id, u.name, u.role, u.password_hash, r.phone, r.email, COALESCE(r.channel, 'app'),
                          COALESCE(r.preferred_language, r.language, 'zh-CN'), false AS ambiguous
                   FROM users u LEFT JOIN residents r ON r.id = u.resident_id WHERE u.id = %(user_id)s"""

SET_PASSWORD = "UPDATE users SET password_hash = %(hash)s WHERE id = %(user_id)s"

# Unused codes of one purpose are withdrawn when a new one is issued (a re-invitation replaces the last one).
WITHDRAW_CODES = """UPDATE signin_codes SET used_at = %(now)s
                    WHERE user_id = %(user_id)s AND purpose = %(purpose)s AND used_at IS NULL"""

INSERT_CODE = """INSERT INTO signin_codes (user_id, purpose, code_sha256, link_sha256, expires_at)
                 VALUES (%(user_id)s, %(purpose)s, %(code)s, %(link)s, %(expires_at)s)"""

# Redeem a 6-digit code: one guarded UPDATE, so a code is used at most once even by two concurrent requests.
REDEEM_CODE = """UPDATE signin_codes SET used_at = %(now)s
                 WHERE user_id = %(user_id)s AND code_sha256 = %(code)s AND used_at IS NULL AND expires_at > %(now)s
                 RETURNING id"""

# The user a sign-up link is for, while it is unused and unexpired (the page shows it; the POST redeems it).
LINK_USER = """SELECT c.user_id, u.name FROM signin_codes c JOIN users u ON u.id = c.user_id
               WHERE c.link_sha256 = %(link)s AND c.used_at IS NULL AND c.expires_at > %(now)s AND u.active"""

REDEEM_LINK = """UPDATE signin_codes c SET used_at = %(now)s FROM users u
                 WHERE u.id = c.user_id AND u.active AND c.link_sha256 = %(link)s AND c.used_at IS NULL
                   AND c.expires_at > %(now)s
                 RETURNING c.user_id"""

# -- throttling ------------------------------------------------------------------------------------------------

# Count one attempt against `key` (a new window when the last one is over) and read the count, in one statement.
COUNT_ATTEMPT = """INSERT INTO signin_throttle AS t (key, window_start, failures) VALUES (%(key)s, %(now)s, 1)
                   ON CONFLICT (key) DO UPDATE SET
                       window_start = CASE WHEN t.window_start <= %(now)s - %(window)s THEN %(now)s
                                           ELSE t.window_start END,
                       failures = CASE WHEN t.window_start <= %(now)s - %(window)s THEN 1 ELSE t.failures + 1 END
                   RETURNING window_start, failures"""

# The attempts of some keys in their current window, counting nothing (whether the next one would be refused).
THROTTLE_STATE = """SELECT key, window_start, failures FROM signin_throttle
                    WHERE key = ANY(%(keys)s) AND window_start > %(since)s"""

# A successful attempt is not a failure: take it back.
UNCOUNT_ATTEMPT = """UPDATE signin_throttle SET failures = greatest(failures - 1, 0) WHERE key = ANY(%(keys)s)"""

# -- invitations and moving out --------------------------------------------------------------------------------

# The active residents of a unit, a building or a whole site (whichever is given), with what reaching them needs.
RESIDENTS_TO_INVITE = """SELECT r.id, r.name, r.unit_id, r.language, r.channel, r.phone, r.email
                         FROM residents r JOIN units u ON u.id = r.unit_id JOIN buildings b ON b.id = u.building_id
                         WHERE r.active
                           AND (%(unit)s::text IS NULL OR r.unit_id = %(unit)s)
                           AND (%(building)s::text IS NULL OR u.building_id = %(building)s)
                           AND (%(site)s::text IS NULL OR b.site_id = %(site)s)
                         ORDER BY r.unit_id, r.id"""

# Users whose resident has moved out (inactive in the registry) but who can still sign in: disable them.
DISABLE_MOVED_OUT = """UPDATE users u SET active = false FROM residents r
                       WHERE r.id = u.resident_id AND NOT r.active AND u.active
                       RETURNING u.id"""

# A resident who moves back in is invited again; their user becomes active then.
REACTIVATE_USER = "UPDATE users SET active = true WHERE id = %(user_id)s AND NOT active"

# The residents of a unit and the state of their accounts (for the staff accounts page).
UNIT_ACCOUNTS = """SELECT r.id, r.name, r.channel, r.phone, r.email, u.id AS user_id, u.active,
                          u.password_hash IS NOT NULL AS has_password,
                          (SELECT max(c.created_at) FROM signin_codes c
                           WHERE c.user_id = u.id AND c.purpose = 'signup') AS invited_at,
                          (SELECT max(s.created_at) FROM web_sessions s WHERE s.user_id = u.id) AS last_sign_in
                   FROM residents r LEFT JOIN users u ON u.resident_id = r.id
                   WHERE r.unit_id = %(unit)s AND r.active ORDER BY r.id"""

# -- housekeeping ----------------------------------------------------------------------------------------------

# Sessions, codes and throttle windows over for a day are of no more use to anyone.
PRUNE_SESSIONS = """DELETE FROM web_sessions WHERE expires_at < %(before)s OR ended_at < %(before)s"""
PRUNE_CODES = """DELETE FROM signin_codes WHERE expires_at < %(before)s OR used_at < %(before)s"""
PRUNE_THROTTLE = """DELETE FROM signin_throttle WHERE window_start < %(before)s"""
