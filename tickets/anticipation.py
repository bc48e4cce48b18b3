"""Anticipation review: did residents hear about each fault from us before they had to report it?

Computed from stored rows only — incidents, tickets, complaints, notices, devices and `device_units` — plus the
list of faults known to have happened (`KnownFault`: device, fault, onset, end, when residents would notice). In
production that list is the engineer-confirmed incidents; in the anticipation benchmark it is the simulator's
ground-truth label file. The figures and how each is computed are documented in docs/review-metrics.md.

The attribution rules, in one place:
- an *incident* belongs to a known fault when it is on the fault's device and was detected from the fault's onset
  (less `EARLY`) until its end plus `GRACE`;
- an *early-warning notice* is a resident notice of kind ``warning`` or ``update``; it belongs to the fault when its
  incident is one of the fault's incidents or their root (a correlated outage) and it was created within the same
  window; it counts from its *delivery* (`notices.delivered_at`, set by the outbox when the resident could first see
  it: visible in-app, or accepted by the SMS/WeChat/e-mail/push gateway), and not at all while undelivered (held for
  quiet hours, failing, dead);
- a *complaint* is about the fault when it was linked to one of the fault's incidents (or to the root incident they
  were attached to, from a unit the device serves), or — when it is linked to no incident of a known fault — when it
  came from a unit the device serves, about the device's kind, within the window; it *joined* an open incident
  when it was folded into one already detected when it was reported (a complaint ticket merged later, once the
  fault was detected, is linked but did not join);
- *affected* residents are the active residents of the units the device serves (the estate registry).
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

import psycopg

# Payload times are truncated to the millisecond, so a reading at the onset may read as just before it.
EARLY = timedelta(seconds=1)
# An alarm or complaint up to an hour after a fault ended still belongs to it (clear-time evidence, late complaints).
GRACE = timedelta(hours=1)
WARNING_KINDS = ("warning", "update")


@dataclass(frozen=True, slots=True)
class KnownFault:
    """A fault that really happened: on `device_id` from `onset` to `end`; `visible_at` None when residents would
    not notice it (a sensor fault, a forced door) or not before it ended."""

    device_id: str
    fault: str
    onset: datetime
    end: datetime
    visible_at: datetime | None = None

    def covers(self, at: datetime) -> bool:
        return self.onset - EARLY <= at < self.end + GRACE


@dataclass(slots=True)
class FaultOutcome:
    """What the stored rows say happened around one known fault."""

    fault: KnownFault
    incidents: list[int] = field(default_factory=list)
    first_notice: datetime | None = None
    first_complaint: datetime | None = None
    notified: set[str] = field(default_factory=set)
    affected: set[str] = field(default_factory=set)
    complaints: int = 0
    folded: int = 0
    tickets: set[int] = field(default_factory=set)

    @property
    def deadline(self) -> datetime | None:
        """The moment a notice had to beat: the first complaint, or the resident-visible moment if nobody
        complained; None for a fault residents never noticed."""
        if self.fault.visible_at is None:
            return None
        return self.first_complaint or self.fault.visible_at

    @property
    def anticipated(self) -> bool | None:
        deadline = self.deadline
        if deadline is None:
            return None
        return self.first_notice is not None and self.first_notice < deadline

    @property
    def notice_delay_s(self) -> float | None:
        return (self.first_notice - self.fault.onset).total_seconds() if self.first_notice else None

    @property
    def lead_s(self) -> float | None:
        deadline = self.deadline
        return (deadline - self.first_notice).total_seconds() if deadline and self.first_notice else None

    @property
    def duplicate_tickets(self) -> int:
        return max(0, len(self.tickets) - 1)


@dataclass(frozen=True, slots=True)
class AnticipationFigures:
    """The figures for one fault type (or all of them). Rates are shares in [0, 1]; None when nothing to count."""

    fault: str
    faults: int
    visible: int
    anticipation_rate: float | None
    notice_delay_median_s: float | None
    notice_delay_p90_s: float | None
    lead_median_s: float | None
    lead_p10_s: float | None
    notice_precision: float | None
    notice_recall: float | None
    folding_share: float | None
    complaints: int
    duplicate_tickets: int
    anticipated: int = 0  # resident-visible faults anticipated (the rate's numerator)
    anticipation_lower95: float | None = None  # the rate's 95 % Wilson score interval
    anticipation_upper95: float | None = None


@dataclass(frozen=True, slots=True)
class AnticipationReport:
    per_fault: dict[str, AnticipationFigures]
    total: AnticipationFigures
    false_alarms: int  # preventive tickets with no known fault behind them
    device_days: float
    false_alarms_per_100_device_days: float | None
    residents_disturbed: int  # distinct residents warned about those false alarms
    outcomes: list[FaultOutcome]
    false_alarm_tickets: tuple[int, ...] = ()  # which tickets those false alarms are, for whoever reviews them


def quantile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile by linear interpolation (numpy's default), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def wilson(successes: int, trials: int, z: float = 1.959964) -> tuple[float, float] | None:
    """The Wilson score interval of a binomial share (95 % by default); None for no trials."""
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


# Bands of the local hour of a fault's onset: night, morning rush, working day, evening, late evening.
HOUR_BANDS = (("00-06", 0, 6), ("06-09", 6, 9), ("09-17", 9, 17), ("17-22", 17, 22), ("22-24", 22, 24))


def hour_band(at: datetime, tz: tzinfo) -> str:
    hour = at.astimezone(tz).hour
    return next(name for name, start, end in HOUR_BANDS if start <= hour < end)


def by_hour_band(outcomes: Sequence[FaultOutcome], tz: tzinfo) -> dict[str, AnticipationFigures]:
    """The figures of the faults whose onset fell in each hour band (local time), for the bands that have any."""
    bands: dict[str, list[FaultOutcome]] = defaultdict(list)
    for outcome in outcomes:
        bands[hour_band(outcome.fault.onset, tz)].append(outcome)
    return {name: figures(name, bands[name]) for name, _start, _end in HOUR_BANDS if bands.get(name)}


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _served(conn: psycopg.Connection) -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, str]]:
    """device → active residents of the units it serves; device → those units; device → kind."""
    residents: dict[str, set[str]] = defaultdict(set)
    units: dict[str, set[str]] = defaultdict(set)
    for device, unit, resident in conn.execute(
            """SELECT du.device_id, du.unit_id, r.id FROM device_units du
               LEFT JOIN residents r ON r.unit_id = du.unit_id AND r.active"""):
        units[device].add(unit)
        if resident is not None:
            residents[device].add(resident)
    kinds: dict[str, str] = dict(conn.execute("SELECT id, kind FROM devices").fetchall())
    return residents, units, kinds


def fault_outcomes(conn: psycopg.Connection, faults: Iterable[KnownFault], *, since: datetime,
                   until: datetime) -> tuple[list[FaultOutcome], dict[int, tuple[str, datetime, int]]]:
    """One `FaultOutcome` per known fault, and every root incident with a ticket detected in the period
    (id → device, detection time, ticket) for the false-alarm count. Only rows of the period [since, until) count:
    a fault still running at `until` is judged on what had happened by then."""
    period = {"since": since, "until": until}
    residents, units, kinds = _served(conn)
    incidents = conn.execute(
        """SELECT id, device_id, detected_at, COALESCE(root_incident_id, id), ticket_id FROM incidents
           WHERE detected_at >= %(since)s AND detected_at < %(until)s""", period).fetchall()
    notices: dict[int, list[tuple[str, datetime, datetime]]] = defaultdict(list)
    for incident, resident, created, at in conn.execute(
            """SELECT incident_id, resident_id, created_at, delivered_at FROM notices
               WHERE resident_id IS NOT NULL AND incident_id IS NOT NULL AND kind = ANY(%(kinds)s)
                 AND created_at >= %(since)s AND created_at < %(until)s
                 AND delivered_at IS NOT NULL AND delivered_at < %(until)s""",
            {**period, "kinds": list(WARNING_KINDS)}):
        notices[incident].append((resident, created, at))
    complaints = conn.execute(
        """SELECT id, incident_id, unit_id, device_kind, reported_at, folded AND anticipated IS TRUE, ticket_id
           FROM complaints
           WHERE reported_at >= %(since)s AND reported_at < %(until)s""", period).fetchall()
    outcomes, keys = [], []
    for known in faults:
        out = FaultOutcome(known, affected=set(residents.get(known.device_id, ())))
        mine = [row for row in incidents if row[1] == known.device_id and known.covers(row[2])]
        out.incidents = [row[0] for row in mine]
        out.tickets = {row[4] for row in mine if row[4] is not None}
        keys.append({row[3] for row in mine})  # the roots its alarms were attached to (itself when none)
        outcomes.append(out)
    # Residents warned under a root incident because a fault attached to it affects them are that fault's.
    attached: dict[int, set[str]] = defaultdict(set)
    for out, roots_of in zip(outcomes, keys, strict=True):
        for key in roots_of - set(out.incidents):
            attached[key] |= out.affected
    for out, roots_of in zip(outcomes, keys, strict=True):
        for key in set(out.incidents) | roots_of:
            own = key in out.incidents
            for resident, created, at in notices.get(key, ()):
                mine_to_tell = resident in out.affected or (own and resident not in attached.get(key, ()))
                if out.fault.covers(created) and mine_to_tell:
                    out.notified.add(resident)
                    if resident in out.affected and (out.first_notice is None or at < out.first_notice):
                        out.first_notice = at
    claimed = {i for out in outcomes for i in out.incidents}
    for out, roots_of in zip(outcomes, keys, strict=True):
        served_units, kind = units.get(out.fault.device_id, set()), kinds.get(out.fault.device_id)
        for _id, incident, unit, device_kind, reported, folded, ticket in complaints:
            nearby = unit in served_units and device_kind == kind and out.fault.covers(reported)
            # Linked to this fault's incident; or to the root it was attached to, from a unit it serves; or linked
            # to nothing any known fault explains, from a unit it serves, about its kind, in its window.
            if not (incident in out.incidents or (incident in roots_of and unit in served_units)
                    or (nearby and incident not in claimed)):
                continue
            out.complaints += 1
            out.folded += bool(folded)
            out.tickets.add(ticket)
            if out.first_complaint is None or reported < out.first_complaint:
                out.first_complaint = reported
    roots = {row[0]: (row[1], row[2], row[4]) for row in incidents if row[0] == row[3] and row[4] is not None}
    return outcomes, roots


def figures(name: str, outcomes: Sequence[FaultOutcome]) -> AnticipationFigures:
    """The figures over `outcomes` (one fault type, or all)."""
    visible = [o for o in outcomes if o.fault.visible_at is not None]
    delays = [o.notice_delay_s for o in visible if o.notice_delay_s is not None]
    leads = [o.lead_s for o in visible if o.lead_s is not None]
    notified = sum(len(o.notified) for o in outcomes)
    hits = sum(len(o.notified & o.affected) for o in outcomes)
    reached = sum(len(o.notified & o.affected) for o in visible)
    affected = sum(len(o.affected) for o in visible)
    detected = [o for o in visible if o.incidents]
    anticipated = sum(bool(o.anticipated) for o in visible)
    interval = wilson(anticipated, len(visible))
    return AnticipationFigures(
        fault=name, faults=len(outcomes), visible=len(visible),
        anticipation_rate=_share(anticipated, len(visible)), anticipated=anticipated,
        anticipation_lower95=interval[0] if interval else None, anticipation_upper95=interval[1] if interval else None,
        notice_delay_median_s=quantile(delays, 0.5), notice_delay_p90_s=quantile(delays, 0.9),
        lead_median_s=quantile(leads, 0.5), lead_p10_s=quantile(leads, 0.1),
        notice_precision=_share(hits, notified), notice_recall=_share(reached, affected),
        folding_share=_share(sum(o.folded for o in detected), sum(o.complaints for o in detected)),
        complaints=sum(o.complaints for o in visible),
        duplicate_tickets=sum(o.duplicate_tickets for o in visible),
    )


def anticipation_report(conn: psycopg.Connection, faults: Sequence[KnownFault], *, since: datetime,
                        until: datetime, device_days: float | None = None) -> AnticipationReport:
    """Every figure of the anticipation review for the period [since, until).

    `device_days` defaults to the estate's device count × the period's length in days.
    """
    outcomes, roots = fault_outcomes(conn, faults, since=since, until=until)
    explained = {i for o in outcomes for i in o.incidents}
    by_device: dict[str, list[KnownFault]] = defaultdict(list)
    for known in faults:
        by_device[known.device_id].append(known)
    false = {incident: ticket for incident, (device, detected, ticket) in roots.items()
             if incident not in explained and not any(k.covers(detected) for k in by_device.get(device, ()))}
    disturbed = {r[0] for r in conn.execute(
        """SELECT DISTINCT resident_id FROM notices WHERE resident_id IS NOT NULL AND kind = ANY(%s)
           AND incident_id = ANY(%s) AND delivered_at IS NOT NULL AND delivered_at < %s""",
        (list(WARNING_KINDS), list(false), until))} if false else set()
    if device_days is None:
        devices = conn.execute("SELECT count(*) FROM devices").fetchone()
        device_days = (devices[0] if devices else 0) * (until - since).total_seconds() / 86400.0
    # Overall precision counts every early warning of the period, the false alarms' too.
    total = figures("total", outcomes)
    all_notified = sum(len(o.notified) for o in outcomes) + len(disturbed)
    hits = sum(len(o.notified & o.affected) for o in outcomes)
    total = dataclasses.replace(total, notice_precision=_share(hits, all_notified))
    per_fault = {}
    for name in sorted({o.fault.fault for o in outcomes}):
        per_fault[name] = figures(name, [o for o in outcomes if o.fault.fault == name])
    tickets = len(set(false.values()))
    return AnticipationReport(
        per_fault=per_fault, total=total, false_alarms=tickets, device_days=device_days,
        false_alarms_per_100_device_days=100.0 * tickets / device_days if device_days else None,
        residents_disturbed=len(disturbed), outcomes=outcomes,
        false_alarm_tickets=tuple(sorted(set(false.values()))),
    )
