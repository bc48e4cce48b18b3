"""The thin thread on simulator ground truth: supply outages and bursts on real simulated water devices are raised
within 60 s of simulated time, the outage's children link to the site main, and a healthy device stays silent."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

from detectors.alarm import Alarm, AlarmState
from detectors.engine import DetectorEngine
from ingest.decode import PresenceChange, decode
from ingest.reading import Reading
from simulators.generator import Simulation
from simulators.scenario import FaultEntry, load_scenario

SCENARIO = Path(__file__).resolve().parents[2] / "simulators" / "scenarios" / "quiet-day.yaml"
START = datetime.fromisoformat("2026-03-02T06:00:00+08:00")
MIN = 60.0


def run_water_faults() -> tuple[list[Alarm], list[dict]]:
    base = load_scenario(SCENARIO)
    faults = [
        FaultEntry("rs-water-main", "supply_outage", 40 * MIN, 20 * MIN),
        FaultEntry("rs-b1-water-high", "supply_outage", 41 * MIN, 19 * MIN),  # the same cut reaching the booster
        FaultEntry("rs-b2-water-low", "pipe_burst", 80 * MIN, 15 * MIN),
    ]
    devices = ["rs-water-main", "rs-b1-water-high", "rs-b2-water-low", "rs-b3-water-low"]
    scenario = dataclasses.replace(
        base, seed=3, start=START, duration_s=120 * MIN, device_ids=devices, faults=faults,
        residents=dataclasses.replace(base.residents, enabled=False),
    )
    sim = Simulation(scenario, START)
    engine = DetectorEngine()
    alarms: list[Alarm] = []
    for message in sim.messages():
        if message.at >= sim.end:
            break
        decoded = decode(message.topic, message.payload, now=message.at)
        if isinstance(decoded, Reading):
            alarms.extend(engine.process(decoded))
        elif isinstance(decoded, PresenceChange):
            alarms.extend(engine.presence(decoded.device_id, online=decoded.online, ts=decoded.ts))
    return alarms, [r for r in sim.labels() if r["record"] == "fault"]


def test_outage_and_burst_raised_within_a_minute_and_linked() -> None:
    alarms, labels = run_water_faults()
    raised = [a for a in alarms if a.state is AlarmState.RAISED]
    for label in labels:
        start = datetime.fromisoformat(label["start"])
        hits = [a for a in raised if a.device_id == label["device"] and a.fault == label["fault"]]
        assert len(hits) == 1, (label, hits)  # one fault, one alarm
        delay = (hits[0].ts - start).total_seconds()
        assert -1.0 <= delay <= 60.0, (label["fault"], delay)
    main = next(a for a in raised if a.device_id == "rs-water-main")
    booster = next(a for a in raised if a.device_id == "rs-b1-water-high" and a.fault == "supply_outage")
    assert (main.parent_device_id, main.parent_fault) == (None, None)
    assert (booster.parent_device_id, booster.parent_fault) == ("rs-water-main", "supply_outage")
    assert not [a for a in raised if a.device_id == "rs-b3-water-low"]  # the healthy zone meter stays silent
    cleared = {(a.device_id, a.fault) for a in alarms if a.state is AlarmState.CLEARED}
    assert {("rs-water-main", "supply_outage"), ("rs-b2-water-low", "pipe_burst")} <= cleared
