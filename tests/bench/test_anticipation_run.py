"""The anticipation bench's core, end to end, small enough for CI: two hours of one site of the demo estate
through the real platform (Mosquitto, ingest, detectors, tickets, the lockstep outbox, the API) with two faults, two
misbehaving devices and the emulated residents; every figure is then what the stored rows and delivery times say."""

from __future__ import annotations

import dataclasses

import psycopg

from bench.anticipation import run_variant
from bench.anticipation_plan import BASE_SCENARIO, START
from simulators.labels import read_labels
from simulators.scenario import FaultEntry, load_scenario


def test_the_bench_core_runs_the_platform_and_reads_its_figures_back_from_the_database(pg_server, tmp_path):
    scenario = dataclasses.replace(load_scenario(BASE_SCENARIO), seed=5, start=START, duration_s=2 * 3600.0)
    scenario.device_ids = [d for d in scenario.device_ids if d.startswith("rs-")]  # one site: half the messages
    scenario.faults = [FaultEntry("rs-b1-water-high", "supply_outage", 2400, 2400),
                       FaultEntry("rs-b2-elev-a", "entrapment", 3000, 1800)]
    # Messages ingest refuses before the first complaint — dead letters (a clock reset to 2000) and duplicates (a
    # retrying firmware) — are never judged: the player must not wait for them (it did, 60 s a complaint).
    scenario.misbehaviour = [FaultEntry("rs-b3-water-low", "clock_skew", 600, 600),
                             FaultEntry("rs-b3-elev-b", "duplicate_seq", 600, 600)]
    # A lift parked for a planned maintenance visit, declared as engineers declare it: no fault, nothing to count.
    scenario.nuisance = [FaultEntry("rs-b1-elev-b", "out_of_service", 1200, 3600)]
    report, info = run_variant(pg_server.admin_url, tmp_path, scenario, "forewarn")

    outage = next(o for o in report.outcomes if o.fault.fault == "supply_outage")
    with psycopg.connect(info["database"]) as conn:
        stored = conn.execute("SELECT count(*) FROM complaints").fetchone()[0]
        dead = conn.execute("SELECT count(*) FROM dead_letters WHERE device_id = 'rs-b3-water-low'").fetchone()[0]
        first, written = conn.execute(
            "SELECT min(n.delivered_at), min(n.created_at) FROM notices n JOIN incidents i ON i.id = n.incident_id "
            "WHERE i.device_id = 'rs-b1-water-high' AND n.kind = 'warning'").fetchone()
        reached = {r[0] for r in conn.execute(
            "SELECT DISTINCT n.resident_id FROM notices n JOIN incidents i ON i.id = n.incident_id "
            "WHERE i.device_id = 'rs-b1-water-high' AND n.kind = 'warning' AND n.delivered_at IS NOT NULL")}
        residents = {r[0] for r in conn.execute(
            "SELECT r.id FROM device_units du JOIN residents r ON r.unit_id = du.unit_id "
            "WHERE du.device_id = 'rs-b1-water-high' AND r.active")}
    assert dead > 0 and info["late_complaints"] == 0  # refused messages, and not one complaint waited them out
    assert info["complaints"] == stored > 0 and info["complaints_failed"] == 0  # every complaint reached the API
    # The figure counts from delivery (the outbox, run in lockstep at the simulated time), not from the write.
    assert outage.first_notice == first and first is not None and first >= written
    assert outage.notice_delay_s == (first - outage.fault.onset).total_seconds()
    assert outage.notified == reached and outage.affected == residents
    assert report.total.visible == 2 and report.total.complaints <= stored
    # The parked lift's alarms were held back by the declared window: no incident, no false ticket, no complaint.
    assert info["nuisance"]["visits"] == 1 and info["nuisance"]["suppressed_alarms"] > 0
    assert info["nuisance"]["false_tickets"] == 0 and report.false_alarms == 0
    with psycopg.connect(info["database"]) as conn:
        assert conn.execute("SELECT count(*) FROM incidents WHERE device_id = 'rs-b1-elev-b' "
                            "AND fault <> 'device_offline'").fetchone()[0] == 0  # all go offline at the end
    labels = read_labels(info["labels"])
    assert [r["record"] for r in labels if r.get("device") == "rs-b1-elev-b"] == ["nuisance"]
