-- Teams (issue #17 points 2 and 5): a team belongs to exactly one department (engineering's lift team, water
-- team); a staff user belongs to at most one team, and only to a team of their own department. The review slices
-- and scorecards attribute a ticket to the team of its owner (tickets.owner_id), as they attribute it to a person.
CREATE TABLE teams (
    id            text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]*$'),
    department_id text NOT NULL REFERENCES departments (id),
    name          text NOT NULL CHECK (btrim(name) <> ''),
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, department_id)  -- the target of users' (team_id, department_id) key
);

-- The one home of membership: users.team_id. The composite key makes a team outside the user's department
-- impossible; the CHECK covers a user without a department (a composite key with a NULL is not checked).
ALTER TABLE users ADD COLUMN team_id text;
ALTER TABLE users ADD CONSTRAINT users_team_in_department
    FOREIGN KEY (team_id, department_id) REFERENCES teams (id, department_id);
ALTER TABLE users ADD CONSTRAINT users_team_needs_department CHECK (team_id IS NULL OR department_id IS NOT NULL);
CREATE INDEX users_team ON users (team_id) WHERE team_id IS NOT NULL;

-- An improvement action may watch one team's tickets (the review's team slice), beside its site, building,
-- department and point.
ALTER TABLE review_actions ADD COLUMN slice_team text REFERENCES teams (id);
