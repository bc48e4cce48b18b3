-- An improvement action planned from a cell of a survey wave's priority matrix (issue 17 point 6, handbook 001):
-- the wave and the questionnaire dimension (tickets/surveys.py DIMENSIONS) it answers, so that one can tell which
-- finding an action came from. A wave always comes with its dimension (the dimension stays if the wave is deleted).
ALTER TABLE review_actions
    ADD COLUMN survey_wave_id   bigint REFERENCES survey_waves (id) ON DELETE SET NULL,
    ADD COLUMN survey_dimension text,
    ADD CONSTRAINT review_actions_survey_cell CHECK (survey_wave_id IS NULL OR survey_dimension IS NOT NULL);
CREATE INDEX review_actions_survey_wave ON review_actions (survey_wave_id) WHERE survey_wave_id IS NOT NULL;
