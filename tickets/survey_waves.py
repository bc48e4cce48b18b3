"""Survey waves (handbook 001 §2.2): a routine, special or move-out wave samples ≥ 10 % of one site's households,
plans how each is asked, takes one response per household, reports coverage per building (the stratum) with
top-ups, and lists the non-responders to phone. The analysis of the answers is tickets/survey_analysis.py."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import psycopg
from psycopg.rows import class_row

from tickets.errors import InvalidInput, NotFound
from tickets.survey_sampling import Mode, assign_modes, sample_size, systematic_draw
from tickets.survey_template import ITEM_KEYS, VERSION


class NoIncident(NotFound):
    """A special wave asked to follow an incident there is no record of; `incident_id` is the number given."""

    def __init__(self, incident_id: int) -> None:
        super().__init__(f"no incident {incident_id}")
        self.incident_id = incident_id


class NotSpecialWave(InvalidInput):
    """An incident given to a wave that is not special: only a special wave follows an incident."""

    def __init__(self, incident_id: int) -> None:
        super().__init__("only a special wave follows an incident: use --kind special with --incident")
        self.incident_id = incident_id


class IncidentHasWave(InvalidInput):
    """The incident already has its special wave (one per incident); `wave_id` is that wave, None if it is gone."""

    def __init__(self, incident_id: int, wave_id: int | None) -> None:
        which = f"wave {wave_id}" if wave_id is not None else "a wave"
        super().__init__(f"incident {incident_id} already has its special wave ({which}): one special wave per "
                         "incident")
        self.incident_id, self.wave_id = incident_id, wave_id


class IncidentMissesSite(InvalidInput):
    """The incident hit no household of the wave's site; `incident_site_id` is the site of its device (another site,
    or this one when the device serves none of its households)."""

    def __init__(self, incident_id: int, site_id: str, incident_site_id: str) -> None:
        super().__init__(f"incident {incident_id} hit no household of site {site_id!r}")
        self.incident_id, self.site_id, self.incident_site_id = incident_id, site_id, incident_site_id


class WaveClosed(InvalidInput):
    """The wave is closed: it takes no more responses or top-ups, and cannot be closed again (a conflict with the
    wave's state, which the API answers 409, rather than bad input)."""

    def __init__(self, wave_id: int, message: str) -> None:
        super().__init__(message)
        self.wave_id = wave_id


class NotInSample(InvalidInput):
    """A response for a household the wave did not sample (top it up first)."""


class AlreadyAnswered(InvalidInput):
    """The household has answered the wave already: one response per household."""


class WaveKind(StrEnum):
    """001 §2.2 timing: routine (quarterly / half-yearly), special (after a major event), move-out (leaving)."""

    ROUTINE = "routine"
    SPECIAL = "special"
    MOVE_OUT = "move_out"


@dataclass(frozen=True, slots=True)
class Wave:
    id: int
    site_id: str
    kind: str
    template: str
    sample_share: float
    seed: int
    households: int
    reason: str
    incident_id: int | None
    status: str
    opened_at: datetime
    opened_by: str
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class WaveLine:
    """A wave as a list shows it: what it is, its state, and its fieldwork so far."""

    id: int
    site_id: str
    site_name: str
    kind: str
    reason: str
    status: str
    opened_at: datetime
    closed_at: datetime | None
    households: int
    sampled: int
    answered: int


@dataclass(frozen=True, slots=True)
class StratumCoverage:
    building_id: str
    households: int
    sampled: int
    responded: int
    target: int  # ceil(wave share × households): the responses the building needs

    @property
    def coverage(self) -> float:
        return self.responded / self.households if self.households else 0.0

    @property
    def shortfall(self) -> int:
        return max(self.target - self.responded, 0)


@dataclass(frozen=True, slots=True)
class Contact:
    unit_id: str
    building_id: str
    mode: str
    resident_id: str | None
    name: str | None
    phone: str | None


# --- named statements -------------------------------------------------------------------------------------------
# The site's households in a stable order: building, floor, unit number (the "by unit" of systematic sampling).
SITE_UNITS = """SELECT u.id, u.building_id FROM units u JOIN buildings b ON b.id = u.building_id
                WHERE b.site_id = %(site)s ORDER BY u.building_id, u.floor, u.number, u.id"""
# An incident's site: its device's (no row: no such incident).
INCIDENT_SITE = "SELECT d.site_id FROM incidents i JOIN devices d ON d.id = i.device_id WHERE i.id = %s"
# The households an incident hit: the units its device serves, in the same order.
INCIDENT_UNITS = """SELECT u.id, u.building_id FROM incidents i JOIN device_units du ON du.device_id = i.device_id
                    JOIN units u ON u.id = du.unit_id JOIN buildings b ON b.id = u.building_id
                    WHERE i.id = %(incident)s AND b.site_id = %(site)s
                    ORDER BY u.building_id, u.floor, u.number, u.id"""
INSERT_WAVE = """INSERT INTO survey_waves (site_id, kind, template, sample_share, seed, households, reason,
                     incident_id, opened_at, opened_by)
                 VALUES (%(site)s, %(kind)s, %(template)s, %(share)s, %(seed)s, %(households)s, %(reason)s,
                     %(incident)s, %(now)s, %(by)s)
                 RETURNING *"""
INSERT_HOUSEHOLD = "INSERT INTO survey_wave_households (wave_id, unit_id, building_id) VALUES (%s, %s, %s)"
INSERT_SAMPLE = """INSERT INTO survey_wave_sample (wave_id, unit_id, building_id, mode, position, top_up)
                   VALUES (%s, %s, %s, %s, %s, %s)"""
GET_WAVE = "SELECT * FROM survey_waves WHERE id = %(id)s"
# The waves, newest first, optionally of one site and one status, with their sample and responses so far.
LIST_WAVES = """SELECT w.id, w.site_id, st.name AS site_name, w.kind, w.reason, w.status, w.opened_at, w.closed_at,
                       w.households,
                       (SELECT count(*) FROM survey_wave_sample s WHERE s.wave_id = w.id)::int AS sampled,
                       (SELECT count(*) FROM survey_wave_responses r WHERE r.wave_id = w.id)::int AS answered
                FROM survey_waves w JOIN sites st ON st.id = w.site_id
                WHERE (%(site)s::text IS NULL OR w.site_id = %(site)s)
                  AND (%(status)s::text IS NULL OR w.status = %(status)s)
                ORDER BY w.opened_at DESC, w.id DESC"""
# A guarded transition: zero rows means the wave is missing or was closed already.
CLOSE_WAVE = """UPDATE survey_waves SET status = 'closed', closed_at = %(now)s
                WHERE id = %(id)s AND status = 'open' RETURNING *"""
SAMPLED_UNIT = "SELECT mode FROM survey_wave_sample WHERE wave_id = %(wave)s AND unit_id = %(unit)s"
INSERT_RESPONSE = """INSERT INTO survey_wave_responses (wave_id, unit_id, resident_id, mode, assisted, entered_by, at,
                         overall, recommend, comment)
                     VALUES (%(wave)s, %(unit)s, %(resident)s, %(mode)s, %(assisted)s, %(by)s, %(now)s, %(overall)s,
                         %(recommend)s, %(comment)s)
                     ON CONFLICT (wave_id, unit_id) DO NOTHING RETURNING id"""
INSERT_SCORE = "INSERT INTO survey_wave_scores (response_id, item, score) VALUES (%s, %s, %s)"
# Per building of the wave's population: households, sampled, responded.
COVERAGE = """SELECT h.building_id, count(*)::int AS households,
                     count(s.unit_id)::int AS sampled, count(r.id)::int AS responded
              FROM survey_wave_households h
              LEFT JOIN survey_wave_sample s ON s.wave_id = h.wave_id AND s.unit_id = h.unit_id
              LEFT JOIN survey_wave_responses r ON r.wave_id = h.wave_id AND r.unit_id = h.unit_id
              WHERE h.wave_id = %(id)s GROUP BY h.building_id ORDER BY h.building_id"""
UNSAMPLED_UNITS = """SELECT u.id FROM survey_wave_households h JOIN units u ON u.id = h.unit_id
                     WHERE h.wave_id = %(id)s AND h.building_id = %(building)s AND NOT EXISTS (
                         SELECT 1 FROM survey_wave_sample s WHERE s.wave_id = %(id)s AND s.unit_id = u.id)
                     ORDER BY u.floor, u.number, u.id"""
NEXT_POSITION = "SELECT coalesce(max(position), -1) + 1 FROM survey_wave_sample WHERE wave_id = %(id)s"
# Sampled households without a response, one contact each (the first active resident with a phone, by id).
NON_RESPONDERS = """SELECT s.unit_id, s.building_id, s.mode, c.id AS resident_id, c.name, c.phone
                    FROM survey_wave_sample s
                    LEFT JOIN LATERAL (SELECT id, name, phone FROM residents
                                       WHERE unit_id = s.unit_id AND active
                                       ORDER BY phone IS NULL, id LIMIT 1) c ON true
                    WHERE s.wave_id = %(id)s AND NOT EXISTS (
                        SELECT 1 FROM survey_wave_responses r WHERE r.wave_id = s.wave_id AND r.unit_id = s.unit_id)
                    ORDER BY s.building_id, s.position"""


def create_wave(conn: psycopg.Connection, *, site_id: str, kind: str, sample: float, seed: int, by: str,
                now: datetime, reason: str = "", incident_id: int | None = None) -> Wave:
    """Open a wave: draw the sample (≥ 10 % of the site's households — or, for a special wave after an incident,
    of the households its device serves — systematic by unit from a seeded start) and plan each household's mode
    in 001's proportions."""
    try:
        wave_kind = WaveKind(kind)
    except ValueError:
        raise InvalidInput(f"unknown wave kind {kind!r}: use one of {', '.join(WaveKind)}") from None
    if not -(2**63) <= seed < 2**63:
        raise InvalidInput(f"the seed must be a whole number between -2^63 and 2^63 - 1, not {seed}")
    if conn.execute("SELECT 1 FROM sites WHERE id = %s", (site_id,)).fetchone() is None:
        raise NotFound(f"no site {site_id!r} in the estate registry")
    if incident_id is None:
        units = conn.execute(SITE_UNITS, {"site": site_id}).fetchall()
    elif wave_kind is not WaveKind.SPECIAL:
        raise NotSpecialWave(incident_id)
    else:
        where = conn.execute(INCIDENT_SITE, (incident_id,)).fetchone()
        if where is None:
            raise NoIncident(incident_id)
        if (other := _wave_of(conn, incident_id)) is not None:
            raise IncidentHasWave(incident_id, other)
        units = conn.execute(INCIDENT_UNITS, {"incident": incident_id, "site": site_id}).fetchall()
        if not units:
            raise IncidentMissesSite(incident_id, site_id, where[0])
    size = sample_size(len(units), sample, population="a site" if incident_id is None else f"incident {incident_id}")
    building: dict[str, str] = {unit: b for unit, b in units}
    drawn = systematic_draw([u for u, _ in units], size, seed=seed)
    modes = assign_modes(drawn, seed=seed)
    try:  # a savepoint: a second wave for an incident leaves the caller's transaction usable
        with conn.transaction(), conn.cursor(row_factory=class_row(Wave)) as cur:
            wave = cur.execute(INSERT_WAVE, {
                "site": site_id, "kind": wave_kind.value, "template": VERSION, "share": size / len(units),
                "seed": seed, "households": len(units), "reason": reason, "incident": incident_id, "now": now,
                "by": by}).fetchone()
    except psycopg.errors.UniqueViolation:  # survey_waves_one_per_incident: someone opened it in the meantime
        if incident_id is None:
            raise
        raise IncidentHasWave(incident_id, _wave_of(conn, incident_id)) from None
    assert wave is not None
    with conn.cursor() as cur:
        cur.executemany(INSERT_HOUSEHOLD, [(wave.id, unit, b) for unit, b in units])
        cur.executemany(INSERT_SAMPLE, [(wave.id, unit, building[unit], modes[unit].value, i, False)
                                        for i, unit in enumerate(drawn)])
    return wave


def _wave_of(conn: psycopg.Connection, incident_id: int) -> int | None:
    """The special wave that follows the incident, if it has one."""
    row = conn.execute("SELECT id FROM survey_waves WHERE incident_id = %s", (incident_id,)).fetchone()
    return int(row[0]) if row else None


def get_wave(conn: psycopg.Connection, wave_id: int) -> Wave:
    with conn.cursor(row_factory=class_row(Wave)) as cur:
        wave = cur.execute(GET_WAVE, {"id": wave_id}).fetchone()
    if wave is None:
        raise NotFound(f"no survey wave {wave_id}")
    return wave


def list_waves(conn: psycopg.Connection, *, site_id: str | None = None, status: str | None = None) -> list[WaveLine]:
    """Every wave (of `site_id`, in `status` "open" or "closed", when given), newest first."""
    with conn.cursor(row_factory=class_row(WaveLine)) as cur:
        return cur.execute(LIST_WAVES, {"site": site_id, "status": status}).fetchall()


def close_wave(conn: psycopg.Connection, wave_id: int, *, now: datetime) -> Wave:
    """Close a wave: it takes no more responses."""
    with conn.cursor(row_factory=class_row(Wave)) as cur:
        wave = cur.execute(CLOSE_WAVE, {"id": wave_id, "now": now}).fetchone()
    if wave is None:
        get_wave(conn, wave_id)  # raises NotFound when there is no such wave
        raise WaveClosed(wave_id, f"survey wave {wave_id} is already closed")
    return wave


def sample_modes(conn: psycopg.Connection, wave_id: int) -> dict[str, int]:
    """The planned number of households per mode (001: 2,000 households → 200 → 120 / 60 / 20)."""
    rows = conn.execute("SELECT mode, count(*) FROM survey_wave_sample WHERE wave_id = %s GROUP BY mode",
                        (wave_id,)).fetchall()
    counts: dict[str, int] = {mode: int(count) for mode, count in rows}
    return {mode.value: int(counts.get(mode.value, 0)) for mode in Mode}


def record_response(conn: psycopg.Connection, wave_id: int, unit_id: str, *, scores: Mapping[str, int],
                    overall: int, recommend: int, now: datetime, comment: str = "", mode: str | None = None,
                    entered_by: str | None = None, resident_id: str | None = None) -> int:
    """Store a sampled household's answers: every item 1–5, overall 1–10, recommend 0–10. Staff entry
    (`entered_by`) is marked assisted and must be by phone or in person; a second response is refused."""
    wave = get_wave(conn, wave_id)
    if wave.status != "open":
        raise WaveClosed(wave_id, f"survey wave {wave_id} is closed and takes no more responses")
    planned = conn.execute(SAMPLED_UNIT, {"wave": wave_id, "unit": unit_id}).fetchone()
    if planned is None:
        raise NotInSample(f"unit {unit_id!r} is not in the sample of wave {wave_id}: "
                           f"add households with `forewarn survey wave topup {wave_id}`")
    _check_scores(scores, overall, recommend)
    chosen = Mode(mode) if mode else (Mode.PHONE if entered_by and planned[0] == Mode.ONLINE else Mode(planned[0]))
    if entered_by is None and chosen is not Mode.ONLINE:
        raise InvalidInput(f"a {chosen} answer is entered by staff: say who entered it (--by)")
    if entered_by is not None and chosen is Mode.ONLINE:
        raise InvalidInput("staff enter phone or in-person answers; online answers come from the resident")
    if resident_id is not None and conn.execute("SELECT 1 FROM residents WHERE id = %s AND unit_id = %s",
                                                (resident_id, unit_id)).fetchone() is None:
        raise InvalidInput(f"resident {resident_id!r} does not live in unit {unit_id!r}")
    row = conn.execute(INSERT_RESPONSE, {
        "wave": wave_id, "unit": unit_id, "resident": resident_id, "mode": chosen.value,
        "assisted": entered_by is not None, "by": entered_by, "now": now, "overall": overall,
        "recommend": recommend, "comment": comment}).fetchone()
    if row is None:
        raise AlreadyAnswered(f"household {unit_id} has already answered wave {wave_id}: one response per "
                              "household")
    with conn.cursor() as cur:
        cur.executemany(INSERT_SCORE, [(row[0], item, scores[item]) for item in ITEM_KEYS])
    return int(row[0])


def _check_scores(scores: Mapping[str, int], overall: int, recommend: int) -> None:
    missing = [item for item in ITEM_KEYS if item not in scores]
    unknown = sorted(set(scores) - set(ITEM_KEYS))
    if missing or unknown:
        raise InvalidInput(f"answer every item of the questionnaire {VERSION} ({', '.join(ITEM_KEYS)}); "
                           + (f"missing: {', '.join(missing)}" if missing else f"unknown: {', '.join(unknown)}"))
    for item in ITEM_KEYS:
        if not 1 <= scores[item] <= 5:
            raise InvalidInput(f"{item} must be from 1 to 5, not {scores[item]!r}")
    if not 1 <= overall <= 10:
        raise InvalidInput(f"overall must be from 1 to 10, not {overall!r}")
    if not 0 <= recommend <= 10:
        raise InvalidInput(f"recommend must be from 0 to 10, not {recommend!r}")


def coverage(conn: psycopg.Connection, wave_id: int) -> list[StratumCoverage]:
    """Per building: households, sampled, responded and the responses it needs (the wave's share of its
    households, rounded up); a building short of that is under-covered."""
    wave = get_wave(conn, wave_id)
    return [StratumCoverage(building_id=b, households=n, sampled=s, responded=r,
                            target=math.ceil(round(wave.sample_share * n, 6)))
            for b, n, s, r in conn.execute(COVERAGE, {"id": wave_id}).fetchall()]


def top_up(conn: psycopg.Connection, wave_id: int, *, building_id: str | None = None) -> list[str]:
    """Add households to every under-covered building of an open wave (or only to `building_id`), as many as it
    falls short, drawn systematically from its not yet sampled units and planned for a phone interview (001: phone
    raises coverage). Returns the units added."""
    wave = get_wave(conn, wave_id)
    if wave.status != "open":
        raise WaveClosed(wave_id, f"survey wave {wave_id} is closed: top-ups go to an open wave")
    strata = coverage(conn, wave_id)
    if building_id is not None:
        strata = [s for s in strata if s.building_id == building_id]
        if not strata:
            raise InvalidInput(f"building {building_id!r} is not in survey wave {wave_id}")
    position = int(conn.execute(NEXT_POSITION, {"id": wave_id}).fetchone()[0])  # type: ignore[index]
    added: list[str] = []
    for stratum in strata:
        free = [r[0] for r in conn.execute(UNSAMPLED_UNITS, {"building": stratum.building_id, "id": wave_id})]
        want = min(stratum.shortfall, len(free))
        if want == 0:
            continue
        # A seed per wave, building and round of top-ups, so a repeat of the same call draws the same units.
        draw_seed = random.Random(f"{wave.seed}:{stratum.building_id}:{position}").randrange(2**31)
        for unit in systematic_draw(free, want, seed=draw_seed):
            conn.execute(INSERT_SAMPLE, (wave_id, unit, stratum.building_id, Mode.PHONE.value, position, True))
            position += 1
            added.append(unit)
    return added


def worklist(conn: psycopg.Connection, wave_id: int) -> list[Contact]:
    """The sampled households that have not answered, with a contact to phone (001: phone the households that
    answered neither online nor on paper)."""
    get_wave(conn, wave_id)
    with conn.cursor(row_factory=class_row(Contact)) as cur:
        return cur.execute(NON_RESPONDERS, {"id": wave_id}).fetchall()
