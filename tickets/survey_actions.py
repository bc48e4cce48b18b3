"""An improvement action planned from a cell of a survey wave's priority matrix (issue 17 point 6, handbook 001:
"fix first" and "next" are where the improvement plan starts). The action is an ordinary review action
(tickets/review/actions.py) on the wave's site, watching the return-visit satisfaction rate (the share of ratings
4–5, the same measure as the survey's share of 4–5 per dimension), and it records the wave and the dimension."""

from __future__ import annotations

from datetime import date, datetime

import psycopg

from tickets.errors import InvalidInput
from tickets.review import actions as act
from tickets.review.compute import Slice
from tickets.survey_waves import get_wave
from tickets.surveys import DIMENSIONS

# The review metric a survey dimension's action should move: of METRICS, the one that counts residents' ratings
# 4–5 of 5, as the wave's "share of 4–5" does.
SURVEY_METRIC = "satisfaction_rate"


def plan_from_cell(conn: psycopg.Connection, wave_id: int, dimension: str, *, by: str, now: datetime, title: str,
                   department_id: str, owner: str, deadline: date, measures: str = "",
                   starts_on: date | None = None) -> act.Action:
    """Plan an action on `dimension` of wave `wave_id` (NotFound for no such wave, InvalidInput for a dimension the
    questionnaire does not have or what `add_action` refuses); one transaction."""
    wave = get_wave(conn, wave_id)
    if dimension not in DIMENSIONS:
        raise InvalidInput(f"unknown dimension {dimension!r}: use one of {', '.join(DIMENSIONS)}")
    return act.add_action(conn, by=by, now=now, title=title, department_id=department_id, owner=owner,
                          deadline=deadline, metric=SURVEY_METRIC, measures=measures, starts_on=starts_on,
                          where=Slice(site=wave.site_id), survey_cell=(wave_id, dimension))
