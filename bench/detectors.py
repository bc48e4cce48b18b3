"""Detector quality and cost benchmark: `python -m bench.detectors [--quick] [--public-only]`.

Prints one table, our detectors beside river's nearest models (public data only), a null detector, an always-alarm
detector and a 3-sigma z-score measured in the same run, each figure on a tuning split and a held-out split side by
side (the protocol of `detectors.params`; splits in `bench.public` and `bench.detector_splits`):
- simulator ground truth (every fault type of `simulators.faults`): recall per fault type, median detection delay,
  lead time before residents notice for degradation faults, false alarms per 100 device-days;
- SKAB valve1 (learn rows < 400, score rows ≥ 400; pooled F1, FAR, MAR) and the anomaly-free run's halves (rows
  alarmed; its first half is tuning data, its second half held out: `bench.public`);
- NAB (standard and reward-low-FP profiles by NAB's published method);
- cost: median µs per reading in `DetectorEngine.process` and bytes of state per device;
- normal running with nuisance events (`bench.nuisance`: rush hours, planned maintenance visits, power blips, an
  unrelated alarm left open for a day) over 315 device-days (`--quick`: 7.5): false alarms per 100 device-days with
  their 95 % upper bound, and each of forewarn's false alarms with the nuisance nearest to it;
then `RESULT name=value unit` lines: SKAB from the held-out split (`skab_anomaly_free_alarm_share`: the anomaly-free
run's second half in 1150-row files), NAB both, simulator recall both,
`false_alarms_per_100_device_days` over the nuisance run (its device-days only) and, as
`false_alarms_per_100_device_days_fault_runs`, over the healthy devices of both fault-run splits. Public data are read
in place from `shared/datasets` beside the checkout.

The simulator's runs and splits are `bench.detector_splits` (each seed: a 12-hour acute run and a 6-day degradation
run of the demo estate's Riverside site; the held-out split draws each fault's shape, episodes and noise); how
they are played to each detector and scored (detected, delay, lead, false alarms) is `bench.detector_play`.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable

from bench import nuisance
from bench.detector_play import Always, Detector, Engine, Null, Outcome, ThreeSigma, fa_rate, recall
from bench.detector_splits import HELDOUT, TUNING, simulate
from bench.nuisance import NuisanceOutcome
from bench.predictive import LearnedNormal, Predictive
from bench.public import (
    FREE_CUT,
    FREE_HALF,
    FREE_ROWS,
    Stream,
    alarm_share,
    always,
    cut,
    load_splits,
    nab_figures,
    null,
    ours,
    river_gaussian,
    river_hst,
    run_shares,
    skab_figures,
    zscore,
)
from simulators.faults import FAULTS


def _duration(seconds: float) -> str:
    if abs(seconds) < 120:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f}m" if abs(seconds) < 7200 else f"{seconds / 3600:.1f}h"


def _sim_cell(outcome: Outcome | None, fault: str) -> str:
    if outcome is None:
        return "-"
    found = outcome.detections.get(fault, [])
    if not found:
        return "-"
    delays = [d for d in found if d is not None]
    cell = f"{len(delays) / len(found):.0%}"
    if delays:
        cell += f" {_duration(statistics.median(delays))}"
    if fault in outcome.leads and outcome.leads[fault]:
        cell += f" lead {_duration(statistics.median(outcome.leads[fault]))}"
    return cell


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed and a subset of files, for a smoke run")
    parser.add_argument("--public-only", action="store_true", help="skip the simulator (development runs only)")
    args = parser.parse_args(argv)
    splits = load_splits(args.quick)
    streams: dict[str, tuple[Stream, Stream]] = {
        "forewarn": (ours("t2"), ours("surprise")),
        "river": (river_hst, river_gaussian),
        "null": (null, null),
        "always-alarm": (always, always),
        "3-sigma z-score": (zscore, zscore),
    }
    sims: dict[str, Callable[[], Detector]] = {
        "forewarn": Engine, "null": Null, "always-alarm": Always, "3-sigma z-score": ThreeSigma,
        "learned normal": LearnedNormal, "river (predictive)": Predictive,
    }
    names = list(streams) + [d for d in sims if d not in streams]  # simulator-only columns: "-" on public data
    sim = {split: simulate(variation, sims, quick=args.quick) for split, variation in
           (("tuning", TUNING), ("held-out", HELDOUT)) if not args.public_only}
    normal = None if args.public_only else nuisance.simulate_nuisance(sims, quick=args.quick)
    rows: list[tuple[str, list[str]]] = []
    for split, (outcomes, _) in sim.items():
        for fault in FAULTS:
            n = len(outcomes["forewarn"].detections.get(fault, []))
            rows.append((f"sim {split} {fault} (n={n})", [_sim_cell(outcomes.get(d), fault) for d in names]))
        rows.append((f"sim {split} min recall", [_cell(outcomes.get(d), lambda o: f"{_min_recall(o):.0%}")
                                                 for d in names]))
        rows.append((f"sim {split} false alarms /100 dev-days",
                     [_cell(outcomes.get(d), lambda o: f"{fa_rate(o):.1f}") for d in names]))
    rows += nuisance.rows(normal[0], names) if normal else []
    skab = {split: {d: skab_figures(streams[d][0], files) for d in streams}
            for split, files in (("tuning", splits.skab_tuning), ("held-out", splits.skab_heldout))}
    free = {split: {d: alarm_share(streams[d][0], [c for f in files for c in cut(f, FREE_CUT)]) for d in streams}
            for split, files in (("tuning", splits.free_tuning), ("held-out", splits.free_heldout))}
    whole = {d: run_shares(streams[d][0], splits.anomaly_free[0], (0, FREE_HALF, FREE_ROWS)) for d in streams}
    nab = {split: {d: nab_figures(streams[d][1], files) for d in streams}
           for split, files in (("tuning", splits.nab_tuning), ("held-out", splits.nab_heldout))}
    for split in ("tuning", "held-out"):
        for key, label, fmt in (("f1", "F1", "{:.3f}"), ("far", "FAR", "{:.1%}"), ("mar", "MAR", "{:.1%}")):
            rows.append((f"SKAB valve1 {split} {label}", [fmt.format(skab[split][d][key]) if d in streams else "-"
                                                        for d in names]))
    for k, split in enumerate(("tuning", "held-out")):
        rows.append((f"SKAB anomaly-free {split} half, {FREE_CUT}-row files", [
            f"{free[split][d]:.1%}" if d in streams else "-" for d in names]))
        rows.append((f"SKAB anomaly-free {split} half, in one {FREE_ROWS}-row run", [
            f"{whole[d][k]:.1%}" if d in streams else "-" for d in names]))
    for split in ("tuning", "held-out"):
        for key in ("standard", "low_fp"):
            rows.append((f"NAB {split} {key}", [f"{nab[split][d][key]:.1f}" if d in streams else "-" for d in names]))
    engine = sim["tuning"][0]["forewarn"] if sim else Outcome()
    us = statistics.median(engine.us) if engine.us else 0.0
    rows.append(("median µs per reading (process)", [_cell(sim["tuning"][0].get(d) if sim else None, lambda o: (
        f"{statistics.median(o.us):.1f}" if o.us else "-")) for d in names]))
    rows.append(("bytes of state per device (max)", [str(engine.state_bytes)] + ["-"] * (len(names) - 1)))
    for split, (outcomes, messages) in sim.items():
        print(f"simulator {split}: {messages} messages, {outcomes['forewarn'].device_days:.0f} device-days")
    print("cells: recall, median delay from fault start, (degradation) median lead before residents notice;"
          " river (HST / Gaussian) runs only on the public data, learned normal and river (predictive) only on the"
          " simulator (bench.predictive)")
    print(f"public data: SKAB valve1 tuning {len(splits.skab_tuning)} / held-out {len(splits.skab_heldout)} files,"
          f" anomaly-free run rows 0-{FREE_HALF - 1} tuning / {FREE_HALF}-{FREE_ROWS - 1} held-out"
          f" (one run: the reference is fitted on rows 0-399, so the held-out half is scored after the tuning half),"
          f" NAB tuning {len(splits.nab_tuning)} / held-out {len(splits.nab_heldout)} files"
          + (" (quick subset)" if args.quick else ""))
    print("\n".join(nuisance.report(*normal) if normal else []))
    width = max(len(label) for label, _ in rows) + 2
    print(f"{'':<{width}}" + "".join(f"{d:>20}" for d in names))
    for label, cells in rows:
        print(f"{label:<{width}}" + "".join(f"{c:>20}" for c in cells))
    _results(skab["held-out"]["forewarn"], free["held-out"]["forewarn"], nab, sim, us, engine.state_bytes,
             normal[0]["forewarn"] if normal else None)


def _public_results(skab: dict[str, float], free: float, nab: dict[str, dict[str, dict[str, float]]]) -> None:
    print(f"RESULT skab_f1={skab['f1']:.3f} ratio")
    print(f"RESULT skab_far={skab['far']:.3f} ratio")
    print(f"RESULT skab_mar={skab['mar']:.3f} ratio")
    print(f"RESULT skab_anomaly_free_alarm_share={free:.3f} ratio")
    print(f"RESULT nab_standard={nab['tuning']['forewarn']['standard']:.1f} score")
    print(f"RESULT nab_low_fp={nab['tuning']['forewarn']['low_fp']:.1f} score")
    print(f"RESULT nab_heldout_standard={nab['held-out']['forewarn']['standard']:.1f} score")


def _results(skab: dict[str, float], free: float, nab: dict[str, dict[str, dict[str, float]]],
             sim: dict[str, tuple[dict[str, Outcome], int]], us: float, state_bytes: int,
             normal: NuisanceOutcome | None = None) -> None:
    """The RESULT lines: SKAB and simulator figures from the held-out splits; NAB from tuning and held-out; false
    alarms per 100 device-days over the nuisance run (`bench.nuisance`), the fault runs' healthy devices apart."""
    _public_results(skab, free, nab)
    if not sim:
        return
    tuning, heldout = sim["tuning"][0]["forewarn"], sim["held-out"][0]["forewarn"]
    print(f"RESULT sim_min_recall={_min_recall(tuning):.3f} ratio")
    print(f"RESULT sim_heldout_min_recall={_min_recall(heldout):.3f} ratio")
    fa = 100.0 * (tuning.false_alarms + heldout.false_alarms) / max(1e-9, tuning.device_days + heldout.device_days)
    if normal is not None:
        print(f"RESULT false_alarms_per_100_device_days={normal.rate:.2f} count")
        print(f"RESULT false_alarms_per_100_device_days_upper95={normal.upper95:.2f} count")
    print(f"RESULT false_alarms_per_100_device_days_fault_runs={fa:.2f} count")
    print(f"RESULT us_per_reading={us:.1f} us")
    print(f"RESULT state_bytes_per_device={state_bytes} bytes")


def _min_recall(outcome: Outcome) -> float:
    return min(recall(outcome, f) for f in FAULTS)


def _cell(outcome: Outcome | None, show: Callable[[Outcome], str]) -> str:
    return "-" if outcome is None else show(outcome)


if __name__ == "__main__":
    main()
