"""The anticipation bench's lockstep: the player that publishes a scenario no faster than the platform judges it,
the platform's simulated clock, and the notice outbox dispatched at simulated times (`python -m bench.anticipation`,
whose docstring says why each is needed). `bench.anticipation.run_variant` wires them to one platform."""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench.anticipation_plan import START, is_degradation
from bench.device_uses import car_trips
from detectors.alarm import Alarm
from simulators.faults import FaultWindow
from simulators.generator import Simulation
from simulators.labels import LabelWriter, complaint_record
from simulators.publisher import Publisher
from simulators.residents import ComplaintDeliveryError, EmulatedComplaint, HttpComplaintSink
from simulators.scenario import Scenario
from simulators.usage import plan_use_complaints
from tickets.channels import Channel, InAppChannel, MemoryChannel
from tickets.config import DEFAULT_CONFIG, TicketConfig
from tickets.flows import settle_silence
from tickets.outbox import dispatch

log = logging.getLogger("bench.anticipation")

# The player stays at most this far ahead of what the platform has judged, in simulated seconds: far enough to
# keep ingest's batches full, close enough that ingest's and the detectors' clocks agree with the readings.
LEAD_S = 120.0
# Six devices and faults that take days: a longer stride, fewer round trips — but shorter than ingest's 300 s
# heartbeat timeout, or devices whose next message is still queued would be marked offline.
DEGRADATION_LEAD_S = 240.0
LOCKSTEP_TICK_S = 2.0  # simulated seconds between two lockstep detector ticks, as the live tick's wall seconds
LOCKSTEP_OUTBOX_S = 5.0  # simulated seconds between two lockstep dispatches when no alarm asks for one
# Payload times carry milliseconds, truncated (simulators/generator.py): the platform's clock, read from them, is up
# to this much behind the simulator's own time of the same reading.
PAYLOAD_RESOLUTION_S = 0.001
CATCH_UP_WAIT_S = 60.0  # wall seconds the player waits for the platform before going on regardless (logged)
# Ingest flushes a partial batch this many wall milliseconds after its oldest message. In lockstep every step ends
# with a partial batch the player then waits for, so this is paid once per step (about 1,900 steps in a 4.5-day
# degradation run, as the report's "waiting ... times" counts them): at 20 ms some 38 s of each such play's wall time
# went on the timer alone. At 1 ms a batch is what has queued up (group commit): under load batches still fill, as
# the readings arrive while the last one commits. Wall time only; readings, order and simulated clock are the same.
INGEST_FLUSH_MS = 1


class SimClock:
    """The platform's clock during a run: the newest reading judged (alarms are handled at their own time)."""

    def __init__(self, start: datetime) -> None:
        self.t = start.timestamp()
        self.settled = self.t  # every reading up to here has been judged and its alarms handled
        self.seen = 0  # readings given to the detectors
        self.judged = 0  # of which judged and their alarms handled
        self.caught_up = threading.Condition()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.t, UTC)

    def settle(self, _alarms: object = None) -> None:
        with self.caught_up:
            self.settled = max(self.settled, self.t)
            self.judged = self.seen
            self.caught_up.notify_all()

    def wait_until(self, moment: float, timeout_s: float, readings: int | None = None) -> bool:
        """Wait until every reading up to `moment` (a simulator time) — or the first `readings` readings — has been
        judged. The clock is read from payload times, truncated to the millisecond: a reading at `moment` is judged
        once the clock is within `PAYLOAD_RESOLUTION_S` of it."""
        done = moment - PAYLOAD_RESOLUTION_S
        with self.caught_up:
            return self.caught_up.wait_for(
                lambda: self.settled >= done or (readings is not None and self.judged >= readings), timeout_s)


@dataclasses.dataclass(slots=True)
class PlayResult:
    messages: int = 0
    complaints: int = 0
    complaints_failed: int = 0
    stalls: int = 0  # waits for the platform that ran out of time
    waits: int = 0  # times the player waited for the platform to catch up
    waited_s: float = 0.0  # wall seconds it spent waiting


@dataclasses.dataclass(frozen=True, slots=True)
class Loss:
    """What a silence-and-loss run adds (bench/silence.py): a share of messages never published (seeded), and the
    service faults residents meet while devices are silent (a power cut stops the lifts), for their complaints."""

    drop: float = 0.0
    felt: tuple[FaultWindow, ...] = ()


def play(scenario: Scenario, host: str, port: int, labels_path: Path, sink: HttpComplaintSink,
         clock: SimClock, refused: Callable[[], int], loss: Loss = Loss(),
         ingest_state: Callable[[], str] = lambda: "", watched: frozenset[str] | None = None,
         advance: Callable[[float], None] | None = None) -> PlayResult:
    """Publish the scenario in lockstep with the platform: never more than `LEAD_S` simulated seconds ahead of what
    it has judged, and each complaint only once every reading before it has been judged (what `run_scenario` does,
    but `run_scenario` at full speed runs arbitrarily far ahead of a platform that cannot keep up). `refused` says
    how many published messages ingest stored no reading for (dead letters, duplicates): those are never judged;
    `ingest_state` describes ingest's counters for the log when the platform does not catch up. `watched`: the only
    device kinds whose messages are published (`WATCHES`). With `advance`, none is: the same complaints are sent at
    their own times, `advance` moving the platform's clock to each first, then to the run's end."""
    sim = Simulation(scenario, scenario.start or START)
    # Complaints come from use (simulators/usage.py): a fault is resident-visible from the first use that found it.
    trips = car_trips(scenario) if scenario.residents.uses_from_trips else None  # an experiment: --uses-from-trips
    used = plan_use_complaints(sim.faults, scenario.estate, scenario.seed, trips=trips)
    felt = plan_use_complaints(list(loss.felt), scenario.estate, scenario.seed)
    sim.complaints = sorted(used.complaints + felt.complaints, key=lambda c: (c.reported_at, c.resident_id))
    dropping = random.Random(f"anticipation/drop/{scenario.seed}")
    result = PlayResult()
    labels = LabelWriter(labels_path)
    for record in sim.labels():
        if record["record"] == "fault" and record["visible_at"] is not None:
            noticed = used.noticed.get((record["device"], record["fault"], datetime.fromisoformat(record["start"])))
            record["visible_at"] = noticed.isoformat() if noticed else None
        if record["record"] != "complaint":
            labels.write(record)
    complaints = sorted(sim.complaints, key=lambda c: c.reported_at)

    def submit(complaint: EmulatedComplaint) -> None:
        try:
            sink.submit(complaint)
            result.complaints += 1
            labels.write(complaint_record(complaint, True))
        except ComplaintDeliveryError as exc:
            result.complaints_failed += 1
            labels.write(complaint_record(complaint, False))
            log.warning("complaint not delivered: %s", exc)

    if advance is not None:
        try:
            for complaint in complaints:
                advance(complaint.reported_at.timestamp())
                submit(complaint)
            advance((scenario.start or START).timestamp() + scenario.duration_s)
        finally:
            labels.close()
        return result
    publisher = Publisher(host, port, client_id=f"bench-anticipation-{scenario.seed}")
    publisher.connect()

    lead = DEGRADATION_LEAD_S if is_degradation(scenario) else LEAD_S
    last = [0.0, 0]  # time of the newest reading published, and how many were: the platform cannot judge more

    def catch_up(moment: float) -> None:
        moment = min(moment, last[0])
        began = time.monotonic()
        result.waits += 1
        try:
            publisher.flush()  # on the wire now: the platform cannot judge what it has not received
            while not clock.wait_until(moment, 0.02, int(last[1]) - refused()):
                publisher.flush()  # what was queued since, the acknowledgements, a ping when due
                if time.monotonic() > began + CATCH_UP_WAIT_S:
                    result.stalls += 1
                    # Where the missing readings are: unsent (publisher), unstored (ingest), or stored and given to
                    # the detectors without the step's end being signalled (seen > judged).
                    log.warning("the platform did not catch up in %.0f s: waiting for %s (judged up to %s), "
                                "%d of %d readings judged (%d refused, %d given to the detectors); publisher: %d "
                                "unacknowledged; %s", CATCH_UP_WAIT_S,
                                datetime.fromtimestamp(moment, UTC).isoformat(),
                                datetime.fromtimestamp(clock.settled, UTC).isoformat(), clock.judged, last[1],
                                refused(), clock.seen, publisher.unacknowledged, ingest_state())
                    return
        finally:
            result.waited_s += time.monotonic() - began

    try:
        for t, _device, topic, payload in sim.timed():
            if t > clock.settled + lead:
                catch_up(t - lead / 2)
            while complaints and complaints[0].reported_at.timestamp() <= t:
                complaint = complaints.pop(0)
                catch_up(complaint.reported_at.timestamp())
                submit(complaint)
            status = topic.endswith("/status")
            if loss.drop and not status and dropping.random() < loss.drop:
                continue  # lost on the way: never published, never judged
            if watched is not None and topic.split("/")[3] not in watched:
                continue  # a kind this variant does not watch (forewarn/v1/{site}/{kind}/{device}/{channel})
            publisher.publish(topic, payload, qos=1, retain=status)
            result.messages += 1
            if not status:
                last[0], last[1] = t, last[1] + 1
        publisher.drain()
    finally:
        publisher.close()
        labels.close()
    return result


DUE_TIMES = """SELECT DISTINCT next_attempt_at FROM outbox WHERE status = 'pending' AND next_attempt_at <= %s
               ORDER BY next_attempt_at"""


class LockstepOutbox:
    """The notice outbox dispatched at the simulated time after each detector step, on the product's channels; the
    gateways that leave the machine (SMS/WeChat webhook, e-mail, MQTT push) are fakes that accept at once. The
    scheduler's silence job (buildings silent past the hold time warn their residents) runs just before it, at the
    same simulated moments: the scheduler's own jobs tick on the wall clock, minutes apart in simulated time. The
    platform's scheduler leaves both to it (`RUNS`): its wall-second outbox job claimed notices between the step
    that wrote them and their due time here, delivering some up to `LEAD_S` late, depending on the machine's speed."""

    RUNS = frozenset({"outbox", "silence-groups"})  # the scheduler's jobs this runs instead (forewarn.wiring)

    def __init__(self, clock: SimClock, config: TicketConfig = DEFAULT_CONFIG) -> None:
        self.clock = clock
        self.config = config
        self.url = ""
        self.channels: dict[str, Channel] = {"in_app": InAppChannel(), "webhook": MemoryChannel(),
                                             "email": MemoryChannel(), "mqtt": MemoryChannel()}
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()
        self.last = 0.0  # the simulated time of the last dispatch

    def deliver(self, alarms: list[Alarm]) -> None:
        """Dispatch at once after a step that raised alarms; otherwise at most every `LOCKSTEP_OUTBOX_S` simulated
        seconds, which keeps the round trips off the pipeline's path. Either way each pending row goes at its own
        due time, as the scheduler's dispatcher (every wall second) would deliver it: a step judges up to `LEAD_S`
        of readings at once, and dispatching only at its newest reading would deliver an alarm's notices — or the
        morning's held texts — up to that much late, by however ingest happened to batch the readings."""
        now = self.clock.now()
        if not self.url or (not alarms and now.timestamp() - self.last < LOCKSTEP_OUTBOX_S):
            return
        self.last = now.timestamp()
        with self._lock:
            if self._conn is None:
                self._conn = psycopg.connect(self.url)
            settle_silence(self._conn, now=now, config=self.config)
            self._conn.commit()
            with self._conn.transaction():  # dispatch wants an idle connection: this one commits
                due = [row[0] for row in self._conn.execute(DUE_TIMES, (now,))]
            for at in due:
                dispatch(self._conn, now=at, channels=self.channels)
            for fake in self.channels.values():
                if isinstance(fake, MemoryChannel):
                    fake.sent.clear()  # the fakes keep nothing: the outbox rows are the record

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
