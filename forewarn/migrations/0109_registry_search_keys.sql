-- The desk's registry search (tickets/desk_intake.py `find_residents`) computed its keys for every unit and resident
-- on each search (docs/measurements/desk-search.md: p95 148 ms at 50 000 residents, over 300 ms from 100 000). Each
-- key needs only its own row, so they are generated columns, kept right by every write (estate load, CLI, pages,
-- COPY) without code: a resident's phone digits, a unit's room without leading zeros (0101 is said "101"), a
-- building's number (the first in its name, "1号楼 Building 1": 1, else at the end of its id).
ALTER TABLE residents ADD COLUMN phone_digits text
    GENERATED ALWAYS AS (regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g')) STORED;
ALTER TABLE units ADD COLUMN room text GENERATED ALWAYS AS (ltrim(number, '0')) STORED;
ALTER TABLE buildings ADD COLUMN building_no text
    GENERATED ALWAYS AS (ltrim(coalesce(substring(name FROM '[0-9]+'), substring(id FROM '[0-9]+$'), ''), '0')) STORED;

-- A phone or its last digits (手机尾号) as a range of the reversed digits, byte-wise ("C") so that a bound
-- parameter can use it; a room ("1301", "1号楼1301") by its units. Buildings are few: no index.
CREATE INDEX residents_phone_end ON residents ((reverse(phone_digits) COLLATE "C")) WHERE active;
CREATE INDEX units_room ON units (room);
