-- The device page's 30-day chart reads one device's metric from the hourly rollup: 720 rows that the rollup wrote
-- an hour apart, each on its own heap page (8 ms of a 13 ms page in bench.web). With the values in the index the
-- read is an index-only scan over a few adjacent index pages. Plain PostgreSQL only: under TimescaleDB the rollup
-- is a continuous aggregate with its own materialization and indexes.
CREATE INDEX readings_hourly_series ON readings_hourly (device_id, metric, bucket)
    INCLUDE (avg_value, min_value, max_value, samples);
