-- Readings on plain PostgreSQL: one row per metric of a message, keyed on (device, time, sequence, metric) exactly
-- as on TimescaleDB, so that a redelivered message is stored once in both modes. A BRIN index serves time ranges.

CREATE TABLE readings (
    device_id   text NOT NULL,
    ts          timestamptz NOT NULL,
    seq         bigint NOT NULL,
    metric      text NOT NULL,
    value       double precision NOT NULL,
    PRIMARY KEY (device_id, ts, seq, metric)
);
CREATE INDEX readings_ts_brin ON readings USING brin (ts);

-- The hourly rollup, refreshed by the scheduler (forewarn.rollup); the same columns as TimescaleDB's continuous
-- aggregate of the same name, so that every query reads it alike.
CREATE TABLE readings_hourly (
    bucket      timestamptz NOT NULL,
    device_id   text NOT NULL,
    metric      text NOT NULL,
    samples     bigint NOT NULL,
    avg_value   double precision NOT NULL,
    min_value   double precision NOT NULL,
    max_value   double precision NOT NULL,
    PRIMARY KEY (device_id, metric, bucket)
);
