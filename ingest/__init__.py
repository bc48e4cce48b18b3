"""Ingest: MQTT readings in, validated against the contract, stored in batches, handed to the detectors."""
