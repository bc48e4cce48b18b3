"""Play a scenario onto a broker: the generator's messages, paced on the simulated clock, with labels and complaints.

One connection publishes for every device of the scenario (QoS 1 for telemetry and events). A real device holds
its own connection with an ``offline`` last will on its status topic; one connection cannot hold a will per device,
so the runner publishes each device's retained ``online`` status at the start and its retained ``offline`` status
at the end (also when stopped), which leaves a subscriber in the same state a real fleet would.

Pacing: simulated second ``s`` of the run is published at wall second ``s / speed``; with no speed (``max``)
messages go out as fast as the broker takes them. Payload timestamps always follow the simulated clock.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from simulators.clock import default_start, plausibility_warning
from simulators.generator import Simulation
from simulators.labels import LabelWriter, complaint_record
from simulators.publisher import Publisher
from simulators.residents import ComplaintDeliveryError, ComplaintSink, EmulatedComplaint
from simulators.scenario import Scenario

if TYPE_CHECKING:  # rich is imported only when a progress bar is shown
    from rich.progress import Progress, TaskID

log = logging.getLogger(__name__)
# How often (in messages) a run at full speed looks at the stop event and the progress bar: cheap enough to be
# invisible in the publish rate, frequent enough that Ctrl-C answers within a few milliseconds.
CHECK_EVERY = 2048
PROGRESS_EVERY_S = 0.2


@dataclass(slots=True)
class RunSummary:
    """What a run did. `last_seq` is each device's final sequence number (they only ever increase)."""

    scenario: str
    seed: int
    start: datetime  # simulated
    end: datetime  # simulated: where the run stopped (the scenario's end unless stopped early)
    messages: int
    wall_seconds: float
    last_seq: dict[str, int] = field(default_factory=dict)
    labels_path: Path | None = None
    labels_written: int = 0
    complaints_planned: int = 0
    complaints_submitted: int = 0
    complaints_failed: int = 0
    stopped: bool = False
    warning: str | None = None

    @property
    def rate(self) -> float:
        """Messages per wall second."""
        return self.messages / self.wall_seconds if self.wall_seconds > 0 else math.inf


def effective_speed(scenario: Scenario, speed: float | None) -> float | None:
    """Simulated seconds per wall second, or None for as fast as possible (``0``, ``inf`` or the scenario's max)."""
    chosen = scenario.speed if speed is None else speed
    if chosen is None or chosen == 0 or math.isinf(chosen):
        return None
    if chosen < 0 or math.isnan(chosen):
        raise ValueError(f"speed must be positive, 0 or inf (as fast as possible), got {chosen}")
    return float(chosen)


def simulated_start(scenario: Scenario, speed: float | None, now: datetime | None = None) -> datetime:
    """Where a run starting now begins on the simulated clock (see `simulators.clock`)."""
    if scenario.start is not None:
        return scenario.start
    site = next((s for s in scenario.estate.sites), None)
    tz = ZoneInfo(site.timezone if site else "UTC")
    return default_start(scenario.duration_s, speed, now or datetime.now(UTC), tz, scenario.start_clock)


def run_scenario(
    scenario: Scenario,
    *,
    broker_host: str,
    broker_port: int,
    speed: float | None = None,
    labels_path: Path | None,
    complaint_sink: ComplaintSink | None = None,
    progress: bool = False,
    stop: threading.Event | None = None,
    start: datetime | None = None,
    username: str | None = None,
    password: str | None = None,
    tls: bool = False,
) -> RunSummary:
    """Publish `scenario` to the broker and return what was done.

    `speed` None uses the scenario's; ``0`` or ``inf`` runs as fast as possible. `labels_path` receives the
    ground truth as JSON lines (None: no file). `complaint_sink` receives the emulated residents' complaints at
    their simulated time (None: they are only written to the labels). `stop` ends the run early, cleanly: every
    device still goes offline and every message is acknowledged. `start` fixes the simulated start (default: see
    `simulators.clock.default_start`), which with the seed makes the messages reproducible.
    """
    pace = effective_speed(scenario, speed)
    began = start or simulated_start(scenario, pace)
    sim = Simulation(scenario, began)
    warning = None if start else plausibility_warning(began, scenario.duration_s, pace, datetime.now(UTC))
    if warning:
        log.warning("scenario %s: %s", scenario.name, warning)
    summary = RunSummary(scenario.name, scenario.seed, began, sim.end, 0, 0.0, labels_path=labels_path,
                         complaints_planned=len(sim.complaints), warning=warning)
    publisher = Publisher(broker_host, broker_port, client_id=f"forewarn-sim-{scenario.name}-{os.getpid()}",
                          username=username, password=password, tls=tls)
    publisher.connect()  # before the label file, so an unreachable broker leaves no half-written labels
    labels = None
    try:
        labels = LabelWriter(labels_path) if labels_path is not None else None
        if labels is not None:
            for record in sim.labels():
                if record["record"] != "complaint":  # complaints are written when they happen
                    labels.write(record)
                    summary.labels_written += 1
        wall0 = time.monotonic()
        with _Progress(progress, scenario.name, scenario.duration_s) as bar:
            _play(sim, publisher, pace, summary, labels, complaint_sink, stop or threading.Event(), bar.update)
        publisher.drain()
        summary.wall_seconds = time.monotonic() - wall0  # until the broker acknowledged the last message
    finally:
        publisher.close()
        if labels is not None:
            labels.close()
    return summary


def _play(
    sim: Simulation,
    publisher: Publisher,
    pace: float | None,
    summary: RunSummary,
    labels: LabelWriter | None,
    sink: ComplaintSink | None,
    stop: threading.Event,
    show: Callable[[float], None],
) -> None:
    t_start, t_end = sim.start.timestamp(), sim.end.timestamp()
    complaints = [(c.reported_at.timestamp(), c) for c in sim.complaints]
    next_complaint = complaints[0][0] if complaints else math.inf
    wall0 = time.monotonic()
    last_show = 0.0
    last_seq = summary.last_seq
    publish = publisher.publish
    count = 0
    for t, device_id, topic, payload in sim.timed():
        if pace is not None and _wait_until(publisher, wall0 + (t - t_start) / pace, stop):
            summary.stopped = True
            break
        if t >= next_complaint:
            while complaints and complaints[0][0] <= t:
                _complain(complaints.pop(0)[1], sink, labels, summary)
            next_complaint = complaints[0][0] if complaints else math.inf
        status = topic.endswith("/status")
        publish(topic, payload, qos=1, retain=status)
        count += 1
        if not status and payload[:1] == b"{":
            seq = _seq_of(payload)
            if seq is not None:
                last_seq[device_id] = max(seq, last_seq.get(device_id, 0))
        if pace is not None or count % CHECK_EVERY == 0:
            now = time.monotonic()
            if now - last_show >= PROGRESS_EVERY_S:
                show(t - t_start)
                last_show = now
            if stop.is_set():
                summary.stopped = True
                break
    if summary.stopped:
        summary.end = datetime.fromtimestamp(t, sim.start.tzinfo)
        count += _go_offline(sim, publisher, t)
    else:
        show(t_end - t_start)
    summary.messages = count


def _wait_until(publisher: Publisher, due: float, stop: threading.Event) -> bool:
    """Keep the connection serviced until wall time `due` (monotonic); True when `stop` was set meanwhile."""
    while True:
        if stop.is_set():
            return True
        ahead = due - time.monotonic()
        if ahead <= 0:
            return False
        publisher.wait(min(ahead, 0.25))


def _seq_of(payload: bytes) -> int | None:
    """The sequence number of a generator payload (``{"v":1,"ts":"…","seq":N,…``) without parsing the JSON."""
    at = payload.find(b'"seq":', 0, 80)
    if at < 0:
        return None
    end = payload.find(b",", at)
    if end < 0:
        return None
    try:
        return int(payload[at + 6:end])
    except ValueError:  # a misbehaving device's payload, e.g. cut off after "seq":
        return None


def _go_offline(sim: Simulation, publisher: Publisher, t: float) -> int:
    """A stopped run still leaves every device's retained status at offline, as its last will would."""
    for device in sim.devices:
        publisher.publish(sim.status_topic(device), sim.status_payload(device, False, t), qos=1, retain=True)
    return len(sim.devices)


def _complain(complaint: EmulatedComplaint, sink: ComplaintSink | None, labels: LabelWriter | None,
              summary: RunSummary) -> None:
    delivered: bool | None = None
    if sink is not None:
        try:
            sink.submit(complaint)
            delivered = True
            summary.complaints_submitted += 1
        except ComplaintDeliveryError as exc:
            delivered = False
            summary.complaints_failed += 1
            log.warning("complaint of %s about %s not delivered: %s", complaint.resident_id, complaint.device_id,
                        exc)
    if labels is not None:
        labels.write(complaint_record(complaint, delivered))
        summary.labels_written += 1


class _Progress:
    """A rich progress bar over simulated time, or nothing."""

    def __init__(self, enabled: bool, name: str, total_s: float) -> None:
        self.enabled, self.name, self.total_s = enabled, name, total_s
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                 TextColumn("{task.fields[simulated]} simulated"), TimeElapsedColumn())
            self._bar.start()
            self._task = self._bar.add_task(self.name, total=self.total_s, simulated="0:00:00")
        return self

    def update(self, done_s: float) -> None:
        if self._bar is not None and self._task is not None:
            hours, rest = divmod(int(done_s), 3600)
            self._bar.update(self._task, completed=done_s, simulated=f"{hours}:{rest // 60:02d}:{rest % 60:02d}")

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
