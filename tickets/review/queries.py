"""The review's named SQL statements, all over the lifecycle's own rows and all with bound parameters:
%(since)s/%(until)s the period, %(site)s/%(building)s/%(department)s/%(point)s/%(person)s/%(team)s the slice (NULL:
all; the point is the fault point, the ticket's subcategory else its category, as the high-frequency points count
it; the person is the ticket's owner and the team the owner's team, as the scorecards attribute a ticket);
%(now)s the moment the figures are computed, which decides whether a clock still running is missed yet."""

from __future__ import annotations

_SLICE = """(%(site)s::text IS NULL OR t.site_id = %(site)s)
    AND (%(building)s::text IS NULL OR t.building_id = %(building)s)
    AND (%(department)s::text IS NULL OR t.department_id = %(department)s)
    AND (%(point)s::text IS NULL OR coalesce(t.subcategory, t.category) = %(point)s)
    AND (%(person)s::text IS NULL OR t.owner_id = %(person)s)
    AND (%(team)s::text IS NULL OR t.owner_id IN (SELECT m.id FROM users m WHERE m.team_id = %(team)s))"""

# An SLA clock counts once it is settled (docs/review-metrics.md, "Counting"): met — on time or late — or its
# deadline passed unmet by %(now)s. A clock still running towards a deadline ahead is pending: in neither the
# numerator nor the denominator, and not a breach. A paused clock (waiting on the resident, a mediation) is judged
# as of its pause: its deadline moves by the paused time when it resumes. `least` ignores a NULL pause.
def settled(clock: str) -> str:
    """SQL: the ticket's `clock` (respond, resolve) has a deadline and is settled, met or missed."""
    return (f"({clock}_due IS NOT NULL AND ({clock}_met_at IS NOT NULL"
            f" OR {clock}_due < least(%(now)s::timestamptz, sla_paused_at)))")


def met(clock: str) -> str:
    """SQL: the ticket's `clock` was met by its own milestone (its met time) by its deadline."""
    return f"({clock}_due IS NOT NULL AND {clock}_met_at <= {clock}_due)"


def missed(clock: str) -> str:
    """SQL: the ticket's `clock` is settled and was not met in time."""
    return f"({settled(clock)} AND ({clock}_met_at IS NULL OR {clock}_met_at > {clock}_due))"


# The period's tickets (by creation), cancelled excluded, with the first arrival and 30-day reopen per ticket.
_TICKETS = f"""
WITH tk AS (
    SELECT t.*,
           (SELECT min(e.at) FROM ticket_events e WHERE e.ticket_id = t.id AND e.event = 'arrive') AS arrived_at,
           coalesce((SELECT min(e.at) FROM ticket_events e WHERE e.ticket_id = t.id AND e.event = 'resolve'),
                    t.resolved_at) AS first_resolved,
           EXISTS (SELECT 1 FROM sla_alerts a WHERE a.ticket_id = t.id AND a.level LIKE 'breach%%') AS escalated
    FROM tickets t
    WHERE t.created_at >= %(since)s AND t.created_at < %(until)s AND t.state <> 'cancelled' AND {_SLICE}
)"""

TICKET_FIGURES = _TICKETS + f"""
SELECT source,
       count(*) AS tickets,
       count(*) FILTER (WHERE responded_at IS NOT NULL AND responded_at - created_at <= interval '24 hours')
           AS response_24h,
       count(*) FILTER (WHERE {met("respond")}) AS respond_met,
       count(*) FILTER (WHERE {settled("respond")}) AS respond_due,
       count(*) FILTER (WHERE {met("resolve")}) AS resolve_met,
       count(*) FILTER (WHERE {settled("resolve")}) AS resolve_due,
       count(*) FILTER (WHERE first_resolved IS NOT NULL) AS resolved,
       count(*) FILTER (WHERE state = 'closed') AS closed,
       count(*) FILTER (WHERE first_resolved IS NOT NULL AND EXISTS (
           SELECT 1 FROM return_visits v WHERE v.ticket_id = tk.id AND v.within_48h)) AS visited_48h,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM ticket_events e WHERE e.ticket_id = tk.id
           AND e.event = 'reopen' AND e.at <= first_resolved + interval '30 days')) AS reopened_30d,
       count(*) FILTER (WHERE transfers > 0) AS transferred,
       count(*) FILTER (WHERE transfers > 1) AS transferred_twice,
       count(*) FILTER (WHERE escalated) AS escalated,
       count(*) FILTER (WHERE severity = 'major') AS major,
       count(*) FILTER (WHERE responded_at IS NOT NULL) AS responded,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM responded_at - created_at)) AS response_p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM responded_at - created_at)) AS response_p90,
       count(*) FILTER (WHERE arrived_at IS NOT NULL) AS arrived,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM arrived_at - created_at)) AS on_site_p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM arrived_at - created_at)) AS on_site_p90,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_resolved - created_at)) AS resolution_p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM first_resolved - created_at)) AS resolution_p90
FROM tk GROUP BY source"""

# Return visits of the period's tickets (the latest visit per ticket counts once).
VISITS = _TICKETS + """
SELECT tk.source, count(*) FILTER (WHERE v.overall >= 4), count(*), sum(v.overall)
FROM tk JOIN LATERAL (SELECT overall FROM return_visits rv WHERE rv.ticket_id = tk.id ORDER BY rv.at DESC LIMIT 1) v
     ON true
GROUP BY tk.source"""

# What is still not closed, by state (the closed loop's unclosed breakdown).
UNCLOSED = _TICKETS + """
SELECT source, state, count(*) FROM tk WHERE state <> 'closed' GROUP BY source, state ORDER BY source, state"""

# Deadlines missed, listed: ticket, tier, which clock, its milestone, due, when met (NULL: still not). A clock is
# met by its own milestone (tickets/milestones.py): an acknowledged major complaint nobody reached missed on_site. A
# clock still running towards a deadline ahead of %(now)s is not missed (yet).
BREACHES = _TICKETS + f"""
SELECT id, source, severity, 'respond' AS clock, coalesce(respond_milestone, 'respond') AS milestone, respond_due,
       respond_met_at FROM tk
WHERE {missed("respond")} AND respond_due < %(until)s
UNION ALL
SELECT id, source, severity, 'resolve', coalesce(resolve_milestone, 'resolve'), resolve_due, resolve_met_at FROM tk
WHERE {missed("resolve")} AND resolve_due < %(until)s
ORDER BY 6, 1"""

# SLA attainment per tier and clock, each clock met by its own milestone (respond_met_at, resolve_met_at).
SLA_BY_TIER = _TICKETS + f"""
SELECT severity,
       count(*) FILTER (WHERE {met("respond")}), count(*) FILTER (WHERE {settled("respond")}),
       count(*) FILTER (WHERE {met("resolve")}), count(*) FILTER (WHERE {settled("resolve")})
FROM tk GROUP BY severity ORDER BY severity"""

# SLA attainment per request type and milestone: a complaint ticket's type is its first request's kind (complaint,
# repair, enquiry, suggestion), a preventive ticket's "preventive".
SLA_BY_TYPE = _TICKETS + f"""
SELECT CASE WHEN source = 'preventive' THEN 'preventive' ELSE coalesce(
           (SELECT c.request_kind FROM complaints c WHERE c.ticket_id = tk.id ORDER BY c.id LIMIT 1), 'complaint')
       END AS type,
       count(*) FILTER (WHERE {met("respond")}), count(*) FILTER (WHERE {settled("respond")}),
       count(*) FILTER (WHERE {met("resolve")}), count(*) FILTER (WHERE {settled("resolve")})
FROM tk GROUP BY 1 ORDER BY 1"""

# Complaint rows of the period with their ticket, for the volume breakdowns and the points.
_COMPLAINTS = f"""
WITH c AS (
    SELECT c.id, c.channel, c.category, c.severity, c.unit_id, c.reported_at, t.source, t.building_id,
           coalesce(t.subcategory, c.category) AS point
    FROM complaints c JOIN tickets t ON t.id = c.ticket_id
    WHERE c.reported_at >= %(since)s AND c.reported_at < %(until)s AND {_SLICE}
)"""

VOLUME = _COMPLAINTS + """
SELECT 'channel', channel, count(*) FROM c GROUP BY channel
UNION ALL SELECT 'category', category, count(*) FROM c GROUP BY category
UNION ALL SELECT 'severity', severity, count(*) FROM c GROUP BY severity
UNION ALL SELECT 'building', coalesce(building_id, '-'), count(*) FROM c GROUP BY building_id
UNION ALL SELECT 'point', point, count(*) FROM c GROUP BY point
UNION ALL SELECT 'source', source, count(*) FROM c GROUP BY source
ORDER BY 1, 3 DESC, 2"""

POINTS = _COMPLAINTS + """
SELECT point, coalesce(building_id, '-'), count(*), (SELECT count(*) FROM c) FROM c
GROUP BY point, building_id ORDER BY 3 DESC, 1, 2 LIMIT %(limit)s"""

# A repeat: the same unit complained about the same point within the 30 days before.
REPEATS = _COMPLAINTS + """
SELECT count(*), count(*) FILTER (WHERE gap IS NOT NULL), avg(extract(epoch FROM gap))
FROM (SELECT (SELECT c.reported_at - max(p.reported_at) FROM complaints p JOIN tickets pt ON pt.id = p.ticket_id
              WHERE p.unit_id = c.unit_id AND coalesce(pt.subcategory, p.category) = c.point AND p.id <> c.id
                AND p.reported_at <= c.reported_at AND p.reported_at > c.reported_at - interval '30 days') AS gap
      FROM c) r"""

VOLUME_BY_SOURCE = f"""
SELECT t.source, count(*) FROM tickets t
WHERE t.created_at >= %(since)s AND t.created_at < %(until)s AND {_SLICE} GROUP BY t.source"""

PROACTIVE_REACH = """
SELECT count(DISTINCT n.resident_id) FROM notices n JOIN incidents i ON i.id = n.incident_id
JOIN devices t ON t.id = i.device_id
WHERE n.resident_id IS NOT NULL AND i.detected_at >= %(since)s AND i.detected_at < %(until)s
  AND (%(site)s::text IS NULL OR t.site_id = %(site)s)
  AND (%(building)s::text IS NULL OR t.building_id = %(building)s)"""
