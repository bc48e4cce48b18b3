-- Readings on TimescaleDB: a hypertable (1-day chunks), columnstore after 7 days, retention, and an hourly
-- continuous aggregate. Unique keys on a hypertable must include the time column: (device, ts, seq, metric).

CREATE TABLE readings (
    device_id   text NOT NULL,
    ts          timestamptz NOT NULL,
    seq         bigint NOT NULL,
    metric      text NOT NULL,
    value       double precision NOT NULL,
    PRIMARY KEY (device_id, ts, seq, metric)
);
SELECT create_hypertable('readings', by_range('ts', INTERVAL '1 day'));

ALTER TABLE readings SET (
    timescaledb.enable_columnstore,
    timescaledb.segmentby = 'device_id',
    timescaledb.orderby = 'ts, seq, metric'
);
-- Defaults; `forewarn db policies` re-applies them from settings (compress_after_days, retention_days).
SELECT add_compression_policy('readings', INTERVAL '7 days');
SELECT add_retention_policy('readings', INTERVAL '400 days');

-- Created WITH NO DATA: a continuous aggregate cannot be filled inside a transaction. The migration runner
-- refreshes it afterwards, and the policy keeps it current.
CREATE MATERIALIZED VIEW readings_hourly
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket,
       device_id,
       metric,
       count(*) AS samples,
       avg(value) AS avg_value,
       min(value) AS min_value,
       max(value) AS max_value
FROM readings
GROUP BY bucket, device_id, metric
WITH NO DATA;

SELECT add_continuous_aggregate_policy('readings_hourly',
    start_offset => INTERVAL '3 days',
    end_offset => INTERVAL '1 hour',
    schedule_interval => INTERVAL '30 minutes');
