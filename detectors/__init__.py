"""Detectors: streaming anomaly detection per device, turning `Reading`s into `Alarm`s with evidence."""
