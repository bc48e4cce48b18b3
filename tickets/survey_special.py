"""Special waves opened automatically after a large incident (handbook 001 §2.2 "专项调查：重大服务事件后").

When an incident that affected more than `households` households (the units its device serves, as a special wave
counts them; FOREWARN_SPECIAL_WAVE_HOUSEHOLDS, default 50) is over — its ticket resolved or closed — the scheduler's
`survey-special-waves` job opens a special wave for it by the ordinary rules (`create_wave` with the incident: its
households, SAMPLE_SHARE of them drawn systematically from a start seeded by the incident's id, planned by mode).

Exactly once per incident: the unique index `survey_waves_one_per_incident` (migration 0096) admits one wave per
incident whoever opens it. Each incident is tried in a savepoint, so a second scheduler, a retry, or a manager who
opened the wave by hand with `--incident` just meets the index and the job moves on. Only incidents whose ticket was
resolved within LOOKBACK are considered, so switching the job on does not survey residents about last year's
incidents; an attached incident (one with a root) is part of its root's event and gets no wave of its own."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from tickets.errors import InvalidInput
from tickets.survey_waves import WaveKind, create_wave

log = logging.getLogger(__name__)

SAMPLE_SHARE = 0.10  # 001's minimum: every special wave asks at least 10 % of the households the incident hit
LOOKBACK = timedelta(days=30)
OPENED_BY = "scheduler"

# The root incidents over (ticket resolved or closed) within the lookback, with no wave yet, that affected more than
# %(households)s households of their device's site.
DUE = """SELECT i.id, d.site_id, count(*)::int AS households
         FROM incidents i JOIN tickets t ON t.id = i.ticket_id JOIN devices d ON d.id = i.device_id
         JOIN device_units du ON du.device_id = i.device_id JOIN units u ON u.id = du.unit_id
         JOIN buildings b ON b.id = u.building_id AND b.site_id = d.site_id
         WHERE i.root_incident_id IS NULL AND t.state IN ('resolved', 'closed')
           AND coalesce(t.resolved_at, t.closed_at) >= %(since)s AND coalesce(t.resolved_at, t.closed_at) <= %(now)s
           AND NOT EXISTS (SELECT 1 FROM survey_waves w WHERE w.incident_id = i.id)
         GROUP BY i.id, d.site_id HAVING count(*) > %(households)s
         ORDER BY i.id"""


@dataclass(frozen=True, slots=True)
class Opened:
    incident_id: int
    wave_id: int
    households: int


def open_special_waves(conn: psycopg.Connection, *, now: datetime, households: int) -> list[Opened]:
    """Open a special wave for every incident over that affected more than `households` households and has none.
    Commits each wave on its own; returns the waves this call opened."""
    due = conn.execute(DUE, {"since": now - LOOKBACK, "now": now, "households": households}).fetchall()
    conn.commit()
    opened: list[Opened] = []
    for incident_id, site_id, affected in due:
        try:
            with conn.transaction():
                wave = create_wave(conn, site_id=site_id, kind=WaveKind.SPECIAL.value, sample=SAMPLE_SHARE,
                                   seed=int(incident_id), by=OPENED_BY, now=now, incident_id=int(incident_id),
                                   reason=f"incident {incident_id} affected {affected} households")
        except InvalidInput as exc:  # another scheduler (or a manager) opened it first, or it cannot be sampled
            log.info("survey: no special wave opened for incident %s: %s", incident_id, exc)
            continue
        opened.append(Opened(int(incident_id), wave.id, int(affected)))
        log.info("survey: special wave %s opened for incident %s (%s households)", wave.id, incident_id, affected)
    return opened
