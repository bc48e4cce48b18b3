"""History for `python -m bench.web`: the demo estate as it would look after `days` of service, written through the
real write paths — readings by `ingest.storage.write_batch` (COPY), tickets, work orders, notices and return visits
through the real lifecycle (`handle_alarm`, `file_request`, `transition`, `record_return_visit`), the outbox
delivered by `tickets.outbox.dispatch` (external channels into in-memory fakes) — each at its historical time.

Rates (a monitoring box reporting on a fixed period; doors report telemetry seldom, their swipes are events):
lifts and water every 60 s, doors every 300 s; per day two device faults (raised, taken, on site, cleared,
resolved) and fifteen resident requests of every kind, two thirds of them resolved and rated."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from time import perf_counter

import psycopg

from detectors.alarm import Alarm, AlarmState, Evidence, Severity
from ingest.reading import DeviceKind, Reading
from ingest.storage import Batch, prepare, write_batch
from tickets.channels import InAppChannel, MemoryChannel
from tickets.flows import handle_alarm
from tickets.lifecycle import TicketEvent
from tickets.outbox import dispatch
from tickets.requests import RequestKind, file_request
from tickets.transitions import transition
from tickets.visits import Rating, record_return_visit

INTERVAL_S = {DeviceKind.ELEVATOR: 60, DeviceKind.WATER: 60, DeviceKind.ACCESS_DOOR: 300}
BATCH = 20_000  # readings per COPY transaction, as ingest's writer batches them
FAULTS = {"water": "supply_outage", "elevator": "out_of_service", "access_door": "door_fault"}
TEXTS = {
    RequestKind.REPAIR: ("厨房水龙头漏水", "卫生间水管漏水，地面有积水", "Bathroom tap drips all night"),
    RequestKind.COMPLAINT: ("楼道的灯坏了三天了", "电梯按钮失灵", "The lobby door slams loudly"),
    RequestKind.ENQUIRY: ("物业费什么时候缴纳？", "When is the lawn being mowed?"),
    RequestKind.SUGGESTION: ("建议在大堂放把伞架", "Please add a bike rack near building 2"),
}
ENGINEER = "bench-eng"


@dataclass(frozen=True, slots=True)
class HistoryStats:
    readings: int
    reading_rows: int
    readings_s: float
    tickets: int
    notices: int
    requests: int
    lifecycle_s: float


def _values(kind: DeviceKind, rng: random.Random, minute: int) -> dict[str, float]:
    busy = 1.0 if 7 * 60 <= minute % 1440 < 22 * 60 else 0.2  # daytime traffic
    if kind is DeviceKind.ELEVATOR:
        moving = 1.0 if rng.random() < 0.5 * busy else 0.0
        return {"floor": float(rng.randint(1, 25)), "direction": moving * rng.choice((-1.0, 1.0)), "moving": moving,
                "door_open": 1.0 - moving if rng.random() < 0.3 else 0.0, "door_cycle_s": 6 + rng.random() * 3,
                "vibration_rms": 0.2 + rng.random() * 0.1 + moving * 0.3, "motor_current_a": 5 + moving * 40,
                "motor_temp_c": 35 + rng.random() * 5, "levelling_error_mm": rng.gauss(0, 2), "alarm_button": 0.0,
                "in_service": 1.0}
    if kind is DeviceKind.WATER:
        return {"pressure_kpa": 310 + rng.random() * 20, "flow_lpm": 10 + 60 * busy * rng.random(),
                "tank_level_pct": 70 + rng.random() * 20, "pump_on": 1.0, "pump_current_a": 11 + rng.random(),
                "leak": 0.0}
    return {"door_open": 0.0, "locked": 1.0, "open_duration_s": 0.0, "battery_pct": 90 - minute / 14400,
            "reader_ok": 1.0}


def _readings(devices: list[tuple[str, DeviceKind]], start: datetime, days: int) -> Iterator[Reading]:
    rng = random.Random(15)
    for device_id, kind in devices:
        step = INTERVAL_S[kind]
        for i in range(days * 86400 // step):
            yield Reading(device_id, kind, start + timedelta(seconds=i * step), i + 1,
                          _values(kind, rng, i * step // 60))


def write_readings(url: str, start: datetime, days: int) -> tuple[int, int, float]:
    """(messages, rows, seconds): every device's telemetry for `days` from `start`, in COPY batches."""
    began = perf_counter()
    count = rows = 0
    with psycopg.connect(url) as conn:
        devices = [(d, DeviceKind(k)) for d, k in conn.execute("SELECT id, kind FROM devices ORDER BY id")]
        conn.commit()
        prepare(conn)
        batch = Batch()
        for reading in _readings(devices, start, days):
            batch.readings.append(reading)
            if len(batch.readings) >= BATCH:
                rows += sum(len(r.values) for r in batch.readings)
                count += len(write_batch(conn, batch, payload_limit=0))
                batch = Batch()
        if batch.readings:
            rows += sum(len(r.values) for r in batch.readings)
            count += len(write_batch(conn, batch, payload_limit=0))
    return count, rows, perf_counter() - began


def _alarm(device: str, fault: str, state: AlarmState, at: datetime) -> Alarm:
    return Alarm(device_id=device, fault=fault, state=state, severity=Severity.CRITICAL, since=at, ts=at,
                 detector="bench", evidence=Evidence("bench: replayed fault", metric="pressure_kpa", value=0.0))


def _fault_day(conn: psycopg.Connection, device: tuple[str, str], at: datetime) -> None:
    """One device fault's whole life: raised, taken, on site, cleared by the device, resolved."""
    device_id, kind = device
    fault = FAULTS[kind]
    opened = handle_alarm(conn, _alarm(device_id, fault, AlarmState.RAISED, at), now=at)
    if opened.ticket_id is None:
        return
    for minutes, event in ((5, TicketEvent.ACKNOWLEDGE), (20, TicketEvent.ARRIVE)):
        transition(conn, opened.ticket_id, event, actor=ENGINEER, now=at + timedelta(minutes=minutes))
    handle_alarm(conn, _alarm(device_id, fault, AlarmState.CLEARED, at + timedelta(minutes=60)),
                 now=at + timedelta(minutes=60))
    transition(conn, opened.ticket_id, TicketEvent.RESOLVE, actor=ENGINEER, now=at + timedelta(minutes=70),
               root_cause="bench history")


def _requests_day(conn: psycopg.Connection, residents: list[tuple[str, str]], day: datetime,
                  rng: random.Random) -> int:
    """Fifteen requests from residents across the day; two thirds dealt with and rated within the day."""
    filed = 0
    for n in range(15):
        resident, unit = rng.choice(residents)
        kind = rng.choice(list(RequestKind))
        at = day + timedelta(hours=8 + n * 0.8)
        receipt = file_request(conn, kind=kind, resident_id=resident, unit_id=unit,
                               description=rng.choice(TEXTS[kind]), lang="zh-CN", now=at)
        filed += 1
        if n % 3 == 2 or receipt.folded:
            continue
        transition(conn, receipt.ticket_id, TicketEvent.ACKNOWLEDGE, actor=ENGINEER, now=at + timedelta(minutes=15))
        transition(conn, receipt.ticket_id, TicketEvent.RESOLVE, actor=ENGINEER, now=at + timedelta(hours=2))
        score = 5 if n % 5 else 3
        record_return_visit(conn, receipt.ticket_id, Rating(score, score, 5, score, ""), by_user=None,
                            now=at + timedelta(hours=6))
    return filed


def write_lifecycle(url: str, start: datetime, days: int) -> tuple[int, int, int, float]:
    """(tickets, notices, requests, seconds): `days` of faults and requests through the real lifecycle."""
    began = perf_counter()
    rng = random.Random(30)
    channels = {"in_app": InAppChannel(), "webhook": MemoryChannel(), "mqtt": MemoryChannel(),
                "email": MemoryChannel()}
    requests = 0
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO users (id, name, role, department_id) VALUES (%s, 'Bench engineer', 'engineer', "
                     "'engineering') ON CONFLICT DO NOTHING", (ENGINEER,))
        devices = [(d, k) for d, k in conn.execute(
            "SELECT d.id, d.kind FROM devices d WHERE EXISTS (SELECT 1 FROM device_units du WHERE du.device_id = d.id) "
            "ORDER BY d.id")]
        residents = [(r, u) for r, u in conn.execute("SELECT id, unit_id FROM residents WHERE active ORDER BY id")]
        conn.commit()
        for d in range(days):
            day = start + timedelta(days=d)
            for slot in (10, 15):
                _fault_day(conn, rng.choice(devices), day + timedelta(hours=slot, minutes=rng.randint(0, 50)))
            requests += _requests_day(conn, residents, day, rng)
            conn.commit()
            dispatch(conn, now=day + timedelta(days=1), channels=channels)  # type: ignore[arg-type]
        tickets, notices = conn.execute("SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM notices)"
                                        ).fetchone() or (0, 0)
    return int(tickets), int(notices), requests, perf_counter() - began


def write_history(url: str, *, end: datetime, days: int) -> HistoryStats:
    """The estate's last `days` up to `end`: readings first, then the lifecycle."""
    start = end - timedelta(days=days)
    messages, rows, readings_s = write_readings(url, start, days)
    tickets, notices, requests, lifecycle_s = write_lifecycle(url, start, days)
    return HistoryStats(messages, rows, readings_s, tickets, notices, requests, lifecycle_s)
