-- Satisfaction surveys (DESIGN.md): four dimensions scored 1–5, overall 1–10, and the 0–10 "would you recommend"
-- question behind NPS. One row per resident per survey round.
CREATE TABLE survey_responses (
    id                   bigserial PRIMARY KEY,
    round                text NOT NULL,
    resident_id          text NOT NULL REFERENCES residents (id),
    unit_id              text NOT NULL REFERENCES units (id),
    at                   timestamptz NOT NULL,
    basic_services       smallint NOT NULL CHECK (basic_services BETWEEN 1 AND 5),
    facility_maintenance smallint NOT NULL CHECK (facility_maintenance BETWEEN 1 AND 5),
    communication        smallint NOT NULL CHECK (communication BETWEEN 1 AND 5),
    value_added          smallint NOT NULL CHECK (value_added BETWEEN 1 AND 5),
    overall              smallint NOT NULL CHECK (overall BETWEEN 1 AND 10),
    recommend            smallint NOT NULL CHECK (recommend BETWEEN 0 AND 10),
    comment              text NOT NULL DEFAULT '',
    UNIQUE (round, resident_id)
);
CREATE INDEX survey_responses_round ON survey_responses (round);
