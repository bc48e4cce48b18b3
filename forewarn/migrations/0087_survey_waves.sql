-- Survey waves (handbook 001 §2.2, issue 17 point 6): a wave samples ≥ 10 % of one site's households
-- systematically by unit, plans each sampled household's way of collecting, and takes one response per household.
CREATE TABLE survey_waves (
    id            bigserial PRIMARY KEY,
    site_id       text NOT NULL REFERENCES sites (id),
    kind          text NOT NULL CHECK (kind IN ('routine', 'special', 'move_out')),
    template      text NOT NULL,                 -- the questionnaire version (tickets/survey_template.py)
    sample_share  double precision NOT NULL CHECK (sample_share > 0 AND sample_share <= 1),
    seed          bigint NOT NULL,               -- the systematic draw's random start: the same seed, the same sample
    households    integer NOT NULL CHECK (households > 0),  -- the population's size when it opened
    reason        text NOT NULL DEFAULT '',      -- why, in words (e.g. a fee change behind a special wave)
    incident_id   bigint REFERENCES incidents (id),  -- a special wave after an incident asks the households it hit
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    opened_at     timestamptz NOT NULL,
    opened_by     text NOT NULL,
    closed_at     timestamptz,
    CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
    CHECK (incident_id IS NULL OR kind = 'special')
);
CREATE INDEX survey_waves_site ON survey_waves (site_id, opened_at);

-- The wave's population as it stood when it opened (the site's households, or those an incident hit): coverage and
-- top-ups count against it, so a later change of the estate does not move a wave's denominators.
CREATE TABLE survey_wave_households (
    wave_id     bigint NOT NULL REFERENCES survey_waves (id) ON DELETE CASCADE,
    unit_id     text NOT NULL REFERENCES units (id),
    building_id text NOT NULL REFERENCES buildings (id),
    PRIMARY KEY (wave_id, unit_id)
);

-- The sampled households and how each is to be asked; top-ups are added later to under-covered buildings.
CREATE TABLE survey_wave_sample (
    wave_id     bigint NOT NULL REFERENCES survey_waves (id) ON DELETE CASCADE,
    unit_id     text NOT NULL REFERENCES units (id),
    building_id text NOT NULL REFERENCES buildings (id),
    mode        text NOT NULL CHECK (mode IN ('online', 'in_person', 'phone')),
    position    integer NOT NULL,                -- order of the draw (the unit's place in the site's list)
    top_up      boolean NOT NULL DEFAULT false,
    PRIMARY KEY (wave_id, unit_id),
    FOREIGN KEY (wave_id, unit_id) REFERENCES survey_wave_households (wave_id, unit_id)
);

-- One response per household per wave; staff-entered answers (phone, in person) are marked assisted.
CREATE TABLE survey_wave_responses (
    id           bigserial PRIMARY KEY,
    wave_id      bigint NOT NULL REFERENCES survey_waves (id) ON DELETE CASCADE,
    unit_id      text NOT NULL REFERENCES units (id),
    resident_id  text REFERENCES residents (id),
    mode         text NOT NULL CHECK (mode IN ('online', 'in_person', 'phone')),
    assisted     boolean NOT NULL,
    entered_by   text,
    at           timestamptz NOT NULL,
    overall      smallint NOT NULL CHECK (overall BETWEEN 1 AND 10),
    recommend    smallint NOT NULL CHECK (recommend BETWEEN 0 AND 10),
    comment      text NOT NULL DEFAULT '',
    UNIQUE (wave_id, unit_id),
    FOREIGN KEY (wave_id, unit_id) REFERENCES survey_wave_sample (wave_id, unit_id),
    CHECK (assisted = (entered_by IS NOT NULL)),
    CHECK (assisted OR mode = 'online')
);

-- The 1–5 item scores of a response, one row per item of the wave's questionnaire.
CREATE TABLE survey_wave_scores (
    response_id bigint NOT NULL REFERENCES survey_wave_responses (id) ON DELETE CASCADE,
    item        text NOT NULL,
    score       smallint NOT NULL CHECK (score BETWEEN 1 AND 5),
    PRIMARY KEY (response_id, item)
);
