"""The anticipation bench's plays side by side (`--jobs`): two variants of one short scenario played at once, each
in its own process on its own database, broker and ports, come back to their own variant with their own figures."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import psycopg

from bench.anticipation import BASE_SCENARIO, START
from bench.anticipation_jobs import distinct_ports, run_plays
from simulators.scenario import FaultEntry, load_scenario


def test_ports_handed_to_plays_run_side_by_side_are_all_different():
    ports = distinct_ports(16)
    assert len(set(ports)) == 16 and all(p > 0 for p in ports)


def test_two_variants_played_at_once_each_report_what_their_own_database_holds(pg_server, tmp_path):
    scenario = dataclasses.replace(load_scenario(BASE_SCENARIO), seed=7, start=START + timedelta(hours=18),
                                   duration_s=3600.0)  # an evening: the lift is in use
    scenario.device_ids = [d for d in scenario.device_ids if d.startswith("rs-")]
    scenario.faults = [FaultEntry("rs-b2-elev-a", "entrapment", 1200, 1500)]
    scenario.misbehaviour = []
    finished: list[str] = []

    results = run_plays(pg_server.admin_url, tmp_path, [scenario], ["forewarn", "complaint-only"], jobs=2,
                        verbose=False, done=lambda _scenario, variant, _outcome: finished.append(variant))

    assert sorted(finished) == ["complaint-only", "forewarn"]
    (shipped, shipped_info), = results["forewarn"]
    (complaints, complaints_info), = results["complaint-only"]
    assert shipped_info["messages"] == complaints_info["messages"] > 0  # the same scenario, played twice
    assert shipped_info["late_complaints"] == complaints_info["late_complaints"] == 0
    # The shipped platform raised the entrapment and warned the residents; complaints alone warned no one.
    trapped, = [o for o in shipped.outcomes if o.fault.fault == "entrapment"]
    assert trapped.first_notice is not None and trapped.notified
    assert complaints.total.anticipation_rate == 0.0 and not any(o.notified for o in complaints.outcomes)
    # Each play's figures are its own database's rows.
    for variant, info in (("forewarn", shipped_info), ("complaint-only", complaints_info)):
        with psycopg.connect(pg_server.url_for(f"bench_7_{variant.replace('-', '_')}")) as conn:
            stored = conn.execute("SELECT count(*) FROM complaints").fetchone()[0]
            warned = conn.execute("SELECT count(*) FROM notices WHERE kind = 'warning' AND delivered_at IS NOT NULL"
                                  ).fetchone()[0]
        assert stored == info["complaints"] > 0
        assert (warned > 0) == (variant == "forewarn")
