-- Survey cross-analysis and automatic special waves (issue 17 point 6, handbook 001 §2.2–2.3).
-- The household attributes 001 asks a sample to cover ("不同年龄、户型、入住时间的客户"): the unit's type (户型, free
-- text such as "3室2厅 120m²" or "刚需"), when a resident moved in, and whether they need help (elderly or disabled,
-- NULL: not stated). Tenure (owner/tenant) is the existing `residents.resident_group`; the age band `age_band`.
ALTER TABLE units ADD COLUMN unit_type text;
ALTER TABLE residents ADD COLUMN moved_in date;
ALTER TABLE residents ADD COLUMN needs_help boolean;
-- At most one special wave per incident: the scheduler's `survey-special-waves` job opens one after a large
-- incident is resolved, and two schedulers (or a retry, or a manager's `--incident`) cannot open a second.
CREATE UNIQUE INDEX survey_waves_one_per_incident ON survey_waves (incident_id) WHERE incident_id IS NOT NULL;
