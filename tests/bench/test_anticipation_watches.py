"""A baseline is played only the traffic of the devices it watches (`WATCHES`, `bench/anticipation_variants.py`): none
for complaint-only, whose complaints reach the platform at their own times with the clock following them; the lifts
alone for "complaints plus the lift alarm button". What a manager would compare — the complaints filed, their times,
the tickets they opened or joined, the incidents raised and every figure of the report — must be what the same
baseline gave with the whole site's traffic played to it, the rest stored and never judged."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import psycopg
import pytest

import bench.anticipation as anticipation
from bench.anticipation_plan import BASE_SCENARIO, START
from simulators.scenario import FaultEntry, load_scenario

COMPLAINTS = """SELECT resident_id, reported_at, category, device_kind, ticket_id, incident_id
    FROM complaints ORDER BY reported_at, resident_id"""
INCIDENTS = "SELECT device_id, fault, detected_at, ticket_id FROM incidents ORDER BY id"
SHIPPED = dict(anticipation.WATCHES)


def _play(pg_server, tmp_path, scenario, variant: str, everything: bool, monkeypatch) -> tuple:
    monkeypatch.setattr(anticipation, "WATCHES", {} if everything else SHIPPED)
    name = f"{variant}-{'all' if everything else 'watched'}"
    report, info = anticipation.run_variant(pg_server.admin_url, tmp_path / name,
                                            dataclasses.replace(scenario, name=name), variant)
    with psycopg.connect(info["database"]) as conn:
        rows = (conn.execute(COMPLAINTS).fetchall(), conn.execute(INCIDENTS).fetchall(),
                conn.execute("SELECT count(*) FROM tickets").fetchone()[0])
    return report, info, rows


@pytest.mark.parametrize("variant", ["complaint-only", "alarm-button"])
def test_a_baseline_played_only_what_it_watches_files_the_same_rows_and_figures(pg_server, tmp_path, monkeypatch,
                                                                                 variant):
    scenario = dataclasses.replace(load_scenario(BASE_SCENARIO), seed=5, start=START + timedelta(hours=18),
                                   duration_s=2 * 3600.0)  # an evening: the water and the lifts in use
    scenario.device_ids = [d for d in scenario.device_ids if d.startswith("rs-")]
    scenario.faults = [FaultEntry("rs-b1-water-high", "supply_outage", 2400, 2400),
                       FaultEntry("rs-b2-elev-a", "entrapment", 3000, 1800)]
    scenario.misbehaviour, scenario.nuisance = [], []

    report, info, (complaints, incidents, tickets) = _play(pg_server, tmp_path, scenario, variant, True,
                                                           monkeypatch)
    watched, watched_info, watched_rows = _play(pg_server, tmp_path, scenario, variant, False, monkeypatch)

    assert info["messages"] > watched_info["messages"] and len(complaints) > 5
    assert watched_info["complaints"] == info["complaints"] == len(complaints)
    # who complained, when, about what, and the ticket each opened or joined; the incidents; the tickets
    assert watched_rows == (complaints, incidents, tickets)
    assert dataclasses.asdict(watched.total) == dataclasses.asdict(report.total)
    assert watched.total.visible == 2
    if variant == "alarm-button":  # the trapped passengers' press raised the rescue, from the lifts' traffic alone
        assert [fault for _, fault, _, _ in incidents] == ["entrapment"] and watched_info["messages"] > 0
        assert watched_info["rescue_s"] == info["rescue_s"] != []
    else:
        assert watched_info["messages"] == 0 and incidents == [] and watched.total.anticipation_rate == 0.0
