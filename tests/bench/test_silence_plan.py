"""The silence-and-loss run's plan: a whole building silent at one moment, one dead box, a burst, 5 % dropped."""

from __future__ import annotations

from bench.silence import BUILDING, DEAD_BOX, DROP, silence_scenario


def test_a_power_cut_silences_every_device_of_the_building_at_once():
    scenario, loss = silence_scenario(6.0)
    building = sorted(d for d in scenario.device_ids if d.startswith(BUILDING + "-"))
    cut = [m for m in scenario.misbehaviour if m.name == "disconnected"]
    assert sorted(m.device_id for m in cut) == building and len(building) >= 6
    assert len({(m.offset_s, m.duration_s) for m in cut}) == 1  # together, for as long
    assert [m.device_id for m in scenario.misbehaviour if m.name == "silent"] == [DEAD_BOX]
    assert [m.name for m in scenario.misbehaviour if m.device_id not in building and m.device_id != DEAD_BOX] \
        == ["burst"]
    assert scenario.faults == [] and loss.drop == DROP == 0.05
    # What residents meet during the cut: the building's lifts stopped and its pumped water gone.
    assert {w.device_id for w in loss.felt} == {d for d in building if "-elev-" in d} | {f"{BUILDING}-water-high"}
    assert all(w.start == loss.felt[0].start and w.end == loss.felt[0].end for w in loss.felt)
