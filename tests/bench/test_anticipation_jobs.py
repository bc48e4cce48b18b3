"""The anticipation bench's plays side by side (`--jobs`): two variants of one short scenario played at once, each
in its own process on its own database, broker and ports, come back to their own variant with their own figures."""

from __future__ import annotations

import dataclasses
import socket
from datetime import timedelta

import psycopg

from bench.anticipation_jobs import _play, run_plays
from bench.anticipation_plan import BASE_SCENARIO, START
from simulators.scenario import FaultEntry, load_scenario


def test_a_play_whose_port_was_taken_before_it_bound_starts_again_on_other_ports(pg_server, tmp_path, monkeypatch,
                                                                                      caplog):
    """Between picking a free port and binding it, another connection can take it (a full run lost sixteen minutes
    to that): the play starts again on new ports instead of failing the run."""
    import bench.anticipation as anticipation
    from forewarn.embedded import free_port

    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    picks = iter([taken.getsockname()[1]])
    monkeypatch.setattr(anticipation, "free_port", lambda: next(picks, None) or free_port())
    scenario = dataclasses.replace(load_scenario(BASE_SCENARIO), seed=8, start=START + timedelta(hours=18),
                                   duration_s=600.0)
    scenario.device_ids = [d for d in scenario.device_ids if d.startswith("rs-b1-")]
    scenario.faults, scenario.misbehaviour = [], []
    try:
        _report, info = _play(pg_server.admin_url, tmp_path, scenario, "forewarn")
    finally:
        taken.close()
    assert info["messages"] > 0 and next(picks, "used") == "used"
    assert "in use; set FOREWARN_EMBEDDED_MQTT_PORT" in caplog.text and "starting again on other ports" in caplog.text


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
