"""Silence and loss, played through the real platform (part of `python -m bench.anticipation`, or alone:
`python -m bench.silence`): what does the platform do when devices fall silent or messages go missing?

One run of the demo estate with, at seeded times:
- a **building power cut**: every device of building 2 (both lifts, four doors, both water zones) drops off the
  network at once (`disconnected`: its last will fires, nothing arrives) for 45 minutes; residents meet stopped
  lifts and no pumped water, and complain from use (simulators/usage.py);
- a **dead monitoring box**: one device of building 3 publishes nothing for three hours (`silent`), while the
  service it watches keeps working: nobody notices;
- a lift **reconnecting with a burst** of 20 minutes of late readings (`burst`);
- **5 % of all messages dropped** on the way (never published).

It reports, from stored rows, what happened: the silent devices' incidents and the tickets they are on, the
building-level incident (silence group: opened, residents warned, resolved), tickets and work orders opened and how
many were merged, residents of the building warned (delivered notices) before and after their first complaint and
whether anyone outside it was, the "restored" notices, and preventive tickets nothing explains. The issue's goal
(#20 point 5): several devices of one building silent together warn its residents of the likely loss of lifts and
water; a lone silent device opens a ticket for engineering only (tickets/silence.py).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import psycopg

from bench.anticipation import false_alarms, run_variant
from bench.anticipation_lockstep import Loss
from bench.anticipation_plan import START, TZ, known_faults, scenario_for
from forewarn.embedded import EmbeddedPostgres, free_port
from simulators.faults import FaultWindow
from simulators.scenario import FaultEntry, Scenario

HOUR = 3600.0
BUILDING = "rs-b2"
DEAD_BOX = "rs-b3-water-low"
BURST = "rs-b1-elev-b"
POWER_CUT_S = 45 * 60.0
DROP = 0.05
SEED = 101  # its own draws, apart from the anticipation seeds


def silence_scenario(hours: float) -> tuple[Scenario, Loss]:
    """The run: no injected service faults, the silences and the burst as misbehaviour windows."""
    start = START + timedelta(days=2, hours=16)  # a Wednesday, 16:00: the cut spans the evening rush
    scenario = scenario_for(SEED, hours, repeats=0, start=start)
    building = [d for d in scenario.device_ids if d.startswith(BUILDING + "-")]
    cut = 2 * HOUR
    scenario.faults = []
    scenario.misbehaviour = [FaultEntry(d, "disconnected", round(cut), round(POWER_CUT_S)) for d in building]
    scenario.misbehaviour += [FaultEntry(DEAD_BOX, "silent", round(1.5 * HOUR), round(3 * HOUR)),
                              FaultEntry(BURST, "burst", round(3.5 * HOUR), round(20 * 60))]
    at = start + timedelta(seconds=cut)
    end = at + timedelta(seconds=POWER_CUT_S)
    felt = tuple(FaultWindow(d, "out_of_service", at, end) for d in building if "-elev-" in d)
    felt += (FaultWindow(f"{BUILDING}-water-high", "supply_outage", at, end),)
    return scenario, Loss(drop=DROP, felt=felt)


def describe(url: str, scenario: Scenario, loss: Loss, labels: Path) -> list[str]:
    """What the stored rows say the platform did with the silences."""
    faults, since, until = known_faults(labels)
    cut = loss.felt[0]
    window = (cut.start - timedelta(seconds=1), cut.end + timedelta(hours=1))
    lines = []
    with psycopg.connect(url) as conn:
        building = [d for d in scenario.device_ids if d.startswith(BUILDING + "-")]
        offline = conn.execute(
            """SELECT count(DISTINCT i.device_id), min(i.detected_at), max(i.detected_at), count(DISTINCT i.ticket_id)
               FROM incidents i WHERE i.device_id = ANY(%s) AND i.fault = 'device_offline'
               AND i.detected_at >= %s AND i.detected_at < %s""", (building, *window)).fetchone()
        others = conn.execute(
            """SELECT i.fault, count(*) FROM incidents i WHERE i.device_id = ANY(%s) AND i.fault <> 'device_offline'
               AND i.detected_at >= %s AND i.detected_at < %s GROUP BY i.fault ORDER BY i.fault""",
            (building, *window)).fetchall()
        opened = conn.execute(
            """SELECT count(*), count(*) FILTER (WHERE state = 'cancelled') FROM tickets
               WHERE building_id = %s AND source = 'preventive' AND created_at >= %s AND created_at < %s""",
            (BUILDING, *window)).fetchone()
        orders = conn.execute(
            """SELECT count(*), count(*) FILTER (WHERE w.status = 'cancelled')
               FROM work_orders w JOIN tickets t ON t.id = w.ticket_id
               WHERE t.building_id = %s AND w.created_at >= %s AND w.created_at < %s""",
            (BUILDING, *window)).fetchone()
        group = conn.execute(
            """SELECT opened_at, warned_at, resolved_at, incident_id FROM silence_groups
               WHERE building_id = %s AND since >= %s AND since < %s ORDER BY id""", (BUILDING, *window)).fetchall()
        residents = conn.execute(
            """SELECT count(DISTINCT r.id) FROM device_units du JOIN residents r ON r.unit_id = du.unit_id
               WHERE du.device_id = ANY(%s) AND r.active""", (building,)).fetchone()
        warned = conn.execute(
            """SELECT count(DISTINCT n.resident_id), min(n.delivered_at),
                      count(DISTINCT n.resident_id) FILTER (WHERE n.unit_id NOT IN
                          (SELECT unit_id FROM device_units WHERE device_id = ANY(%s)))
               FROM notices n JOIN incidents i ON i.id = n.incident_id
               WHERE i.device_id = ANY(%s) AND n.kind IN ('warning', 'update') AND n.delivered_at IS NOT NULL
               AND n.created_at >= %s AND n.created_at < %s""",
            (building, building, cut.start, cut.end + timedelta(hours=1))).fetchone()
        restored = conn.execute(
            """SELECT count(DISTINCT n.resident_id), min(n.delivered_at) FROM notices n
               JOIN incidents i ON i.id = n.incident_id
               WHERE i.device_id = ANY(%s) AND n.kind = 'restored' AND n.delivered_at IS NOT NULL
               AND n.created_at >= %s AND n.created_at < %s""",
            (building, cut.start, cut.end + timedelta(hours=1))).fetchone()
        complaint = conn.execute(
            """SELECT count(*), min(c.reported_at), count(*) FILTER (WHERE c.anticipated) FROM complaints c
               WHERE c.unit_id IN (SELECT unit_id FROM device_units WHERE device_id = ANY(%s))
               AND c.reported_at >= %s AND c.reported_at < %s""",
            (building, cut.start, cut.end)).fetchone()
        dead = conn.execute(
            """SELECT count(DISTINCT i.ticket_id),
                      count(DISTINCT n.resident_id) FILTER (WHERE n.delivered_at IS NOT NULL)
               FROM incidents i LEFT JOIN notices n ON n.incident_id = i.id AND n.resident_id IS NOT NULL
               WHERE i.device_id = %s AND i.detected_at >= %s AND i.detected_at < %s""",
            (DEAD_BOX, since, until)).fetchone()  # the run's end (every device disconnecting) is not the box's doing

    def at(moment: datetime | None) -> str:
        return f"+{(moment - cut.start).total_seconds():.0f} s" if moment else "never"

    local = cut.start.astimezone(TZ).strftime("%a %H:%M")
    lines.append(f"power cut, building {BUILDING} ({len(building)} devices silent at {local} for "
                 f"{POWER_CUT_S / 60:.0f} min, {residents[0] if residents else 0} residents):")
    if offline and offline[0]:
        lines.append(f"  device_offline raised on {offline[0]} device(s), {at(offline[1])} to {at(offline[2])}; "
                     f"their incidents on {offline[3]} ticket(s)")
    else:
        lines.append("  no incident on any of its devices")
    for fault, count in others:
        lines.append(f"  also {fault}: {count} incident(s)")
    for opened_at, warned_at, resolved_at, _incident in group:
        lines.append(f"  building incident (likely power cut / network loss): opened {at(opened_at)}, residents "
                     f"warned {at(warned_at)}, resolved {at(resolved_at)}")
    lines.append(f"  preventive tickets opened: {opened[0] if opened else 0} "
                 f"({opened[1] if opened else 0} merged into the building's); work orders: "
                 f"{orders[0] if orders else 0} ({orders[1] if orders else 0} cancelled with them)")
    first_warned = warned[1] if warned else None
    first_complaint = complaint[1] if complaint else None
    lines.append(f"  residents warned (delivered): {warned[0] if warned else 0}"
                 + (f", first {at(first_warned)}" if first_warned else "")
                 + f" (outside the building's units: {warned[2] if warned else 0}); complaints: "
                 + f"{complaint[0] if complaint else 0}"
                 + (f", first {at(first_complaint)}" if first_complaint else "")
                 + f", anticipated {complaint[2] if complaint else 0}")
    before = bool(first_warned and (first_complaint is None or first_warned < first_complaint))
    lead = (f" by {(first_complaint - first_warned).total_seconds():.0f} s"
            if before and first_warned and first_complaint else "")
    verdict = "warned before the first complaint" + lead if before else "NOT warned before the first complaint"
    lines.append(f"  → {verdict}")
    lines.append(f"  restored notices (delivered): {restored[0] if restored else 0}"
                 + (f", first {(restored[1] - cut.end).total_seconds():.0f} s after the power came back"
                    if restored and restored[1] else ""))
    lines.append(f"dead monitoring box {DEAD_BOX} (silent 3 h): {dead[0] if dead else 0} ticket(s), "
                 f"{dead[1] if dead else 0} resident(s) notified (goal: a ticket for engineering, nobody notified)")
    lines.append(f"known faults in the run: {len(faults)} misbehaviour windows; period {since:%H:%M}–{until:%H:%M}")
    return lines


def run(admin: str, workdir: Path, hours: float) -> tuple[list[str], dict[str, object]]:
    scenario, loss = silence_scenario(hours)
    report, info = run_variant(admin, workdir, scenario, "forewarn", loss)
    lines = describe(str(info["database"]), scenario, loss, info["labels"])
    lines.append(f"with {DROP:.0%} of messages dropped and a burst of late readings from {BURST}: "
                 f"{report.false_alarms} preventive ticket(s) nothing explains "
                 f"(= {report.false_alarms_per_100_device_days or 0:.2f} per 100 device-days over "
                 f"{report.device_days:.0f} device-days; the silences above are explained, not counted)")
    with psycopg.connect(str(info["database"])) as conn:  # each of them, for whoever looks into it
        lines += [f"  {line}" for line in false_alarms(conn, report.false_alarm_tickets)]
    return lines, info


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--hours", type=float, default=6.0, help="simulated hours of the run")
    args = parser.parse_args(argv)
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="fw-bench-silence-"))
    pg = EmbeddedPostgres(workdir / "postgres", free_port(), durable=False)
    admin = pg.start()
    try:
        lines, _info = run(admin, workdir, args.hours)
    finally:
        pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print("\n== silence and loss ==")
    print("\n".join(lines))
    print(f"wall time {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
