-- The language a resident chose for their notices on /resident/settings (tickets/preferences.py), over the estate
-- register's `language`. Every notice is then sent in it (tickets/notices.py `LANGUAGE`); an estate reload leaves it
-- alone, as it does `preferred_channel`. NULL: the register's.
ALTER TABLE residents ADD COLUMN preferred_language text CHECK (preferred_language IN ('zh-CN', 'en'));
