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


def test_plays_at_once_each_report_what_their_own_database_holds(pg_server, tmp_path):
    """Two variants of one scenario, and another scenario of the same seed (as a seed's acute and degradation runs
    are), four plays at once: each comes back to its own variant with its own database's figures."""
    scenario = dataclasses.replace(load_scenario(BASE_SCENARIO), seed=7, start=START + timedelta(hours=18),
                                   duration_s=3600.0, name="evening-7")  # an evening: the lift is in use
    scenario.device_ids = [d for d in scenario.device_ids if d.startswith("rs-")]
    scenario.faults = [FaultEntry("rs-b2-elev-a", "entrapment", 1200, 1500)]
    scenario.misbehaviour = []
    quiet = dataclasses.replace(scenario, name="quiet-7", duration_s=600.0, faults=[],
                                device_ids=[d for d in scenario.device_ids if d.startswith("rs-b1-")])
    finished: list[str] = []

    results, others = run_plays(pg_server.admin_url, tmp_path, [scenario, quiet], ["forewarn", "complaint-only"],
                                jobs=4, verbose=False,
                                done=lambda played, variant, _outcome: finished.append(f"{played.name} {variant}"),
                                extra=[(sorted, ("cba",)), (len, ("ab",))])  # other runs in the pool (bench.silence)

    assert sorted(finished) == ["evening-7 complaint-only", "evening-7 forewarn", "quiet-7 complaint-only",
                                "quiet-7 forewarn"]
    assert others == [["a", "b", "c"], 2]  # their results, in their order
    (shipped, shipped_info), (_, quiet_info) = results["forewarn"]
    (complaints, complaints_info), _ = results["complaint-only"]
    assert shipped_info["messages"] > quiet_info["messages"] > 0
    assert complaints_info["messages"] == 0  # complaint-only watches no device: none is played to it (WATCHES)
    assert shipped_info["late_complaints"] == complaints_info["late_complaints"] == 0
    # The shipped platform raised the entrapment and warned the residents; complaints alone warned no one.
    trapped, = [o for o in shipped.outcomes if o.fault.fault == "entrapment"]
    assert trapped.first_notice is not None and trapped.notified
    assert complaints.total.anticipation_rate == 0.0 and not any(o.notified for o in complaints.outcomes)
    # Each play's figures are its own database's rows: four databases, the quiet run's without the fault.
    infos = [info for variant in results.values() for _, info in variant]
    assert len({info["database"] for info in infos}) == 4
    for variant, info in (("forewarn", shipped_info), ("complaint-only", complaints_info)):
        with psycopg.connect(info["database"]) as conn:
            stored = conn.execute("SELECT count(*) FROM complaints").fetchone()[0]
            warned = conn.execute("SELECT count(*) FROM notices WHERE kind = 'warning' AND delivered_at IS NOT NULL"
                                  ).fetchone()[0]
        assert stored == info["complaints"] > 0
        assert (warned > 0) == (variant == "forewarn")
    with psycopg.connect(quiet_info["database"]) as conn:
        assert conn.execute("SELECT count(*) FROM tickets").fetchone()[0] == 0
