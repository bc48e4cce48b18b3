-- A resident's notice in every language the product writes: {"zh-CN": {"title": …, "body": …}, "en": {…}}.
-- title and body stay the words sent (in residents.language, the channel's copy); the resident's pages show the
-- notice in the page's language from here, so one who reads the pages in English no longer finds the older notices
-- in Chinese among them (tickets/portal.py). Notices written before this have none and are shown as they were sent.
ALTER TABLE notices ADD COLUMN texts jsonb;
