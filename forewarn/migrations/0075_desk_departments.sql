-- The community-environment fault points of the complaint taxonomy (tickets/data/taxonomy.yaml: cleaning,
-- greenery, pests; handbook 003) go to the environment department, which 0001 did not seed.
INSERT INTO departments (id, name) VALUES ('cleaning', '环境部 Cleaning and environment')
ON CONFLICT (id) DO NOTHING;
