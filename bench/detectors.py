"""Detector quality and cost benchmark: `python -m bench.detectors [--quick]`.

Prints one table — SKAB (pooled F1/FAR/MAR, learn rows < 400, score rows ≥ 400), NAB (standard-profile
score by NAB's published method) and cost (median µs per reading, bytes of state per device) — with our
detectors beside a null detector, an always-alarm detector and a 3-sigma z-score measured in the same run,
then `RESULT name=value unit` lines. Simulator ground truth is reported as not yet measured until the
simulators package exposes labelled runs. Data are read in place from `../shared/datasets`.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from bench.datasets import Series, load_nab, load_skab
from bench.nab_score import nab_score
from detectors.engine import DetectorEngine
from detectors.models.zscore import ZScore
from detectors.replay import score_stream
from ingest.reading import DeviceKind, Reading

SKAB_SPLIT = 400
# A stream maps a series to one (score, alarm) pair per row, streaming.
Stream = Callable[[Series, int], Iterator[tuple[float, bool]]]


def ours(profile: str) -> Stream:
    def run(series: Series, warmup: int) -> Iterator[tuple[float, bool]]:
        rows = zip([t.isoformat() for t in series.timestamps], series.rows, strict=True)
        for row in score_stream(rows, profile, warmup):
            yield row.score, row.alarm

    return run


def null(series: Series, warmup: int) -> Iterator[tuple[float, bool]]:
    return ((0.0, False) for _ in series.rows)


def always(series: Series, warmup: int) -> Iterator[tuple[float, bool]]:
    return ((1.0, True) for _ in series.rows)


def zscore(series: Series, warmup: int) -> Iterator[tuple[float, bool]]:
    """3-sigma rule on running mean/std; with a warm-up it learns only then (the reference is frozen)."""
    model = ZScore()
    for i, x in enumerate(series.rows):
        z = model.score_one(x)
        if warmup == 0 or i < warmup:
            model.learn_one(x)
        alarm = i >= max(warmup, 2) and z > 3.0
        yield (1.0 if alarm else 0.0), alarm


def skab_figures(stream: Stream, files: list[Series]) -> dict[str, float]:
    tp = fp = fn = tn = 0
    for series in files:
        for i, (_, alarm) in enumerate(stream(series, SKAB_SPLIT)):
            if i < SKAB_SPLIT:
                continue
            label = series.labels[i] == 1
            tp, fp = tp + (alarm and label), fp + (alarm and not label)
            fn, tn = fn + (not alarm and label), tn + (not alarm and not label)
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return {"f1": f1, "far": fp / max(1, fp + tn), "mar": fn / max(1, fn + tp)}


def nab_figure(stream: Stream, files: list[Series]) -> float:
    scored = {s.name: ([score for score, _ in stream(s, 0)], s.windows) for s in files}
    return nab_score(scored, "standard")


def synthetic_readings(n: int, seed: int = 7) -> Iterator[Reading]:
    """A plain day of water and elevator telemetry at 1 Hz (no faults): the runtime's common case."""
    import random

    rng = random.Random(seed)
    t0 = datetime(2026, 3, 2, tzinfo=UTC)
    for i in range(n):
        ts = t0 + timedelta(seconds=i)
        water = {
            "pressure_kpa": 320 + rng.gauss(0, 8),
            "flow_lpm": max(0.0, 40 + rng.gauss(0, 6)),
            "tank_level_pct": 70.0,
            "pump_on": 1.0,
            "pump_current_a": 12 + rng.gauss(0, 0.3),
            "leak": 0.0,
        }
        moving = float(i % 60 < 40)
        lift = {"floor": float(i % 20), "direction": moving, "moving": moving, "door_open": 1.0 - moving,
                "vibration_rms": 0.12 + rng.gauss(0, 0.01), "motor_current_a": 30 + rng.gauss(0, 2),
                "motor_temp_c": 55 + rng.gauss(0, 0.5), "levelling_error_mm": rng.gauss(0, 2),
                "alarm_button": 0.0, "in_service": 1.0}  # fmt: skip
        yield Reading("w-1", DeviceKind.WATER, ts, i, water, site_id="s-1")
        yield Reading("e-1", DeviceKind.ELEVATOR, ts, i, lift, site_id="s-1")


def cost(n: int) -> tuple[float, int]:
    """(median µs per `DetectorEngine.process`, largest per-device snapshot in bytes)."""
    from time import perf_counter_ns

    engine = DetectorEngine()
    samples = []
    for reading in synthetic_readings(n):
        start = perf_counter_ns()
        engine.process(reading)
        samples.append(perf_counter_ns() - start)
    return statistics.median(samples) / 1000.0, max(len(engine.snapshot(d)) for d in engine.devices())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a subset of files, for a smoke run")
    args = parser.parse_args(argv)
    skab, nab = load_skab(), load_nab()
    if args.quick:
        skab, nab = skab[:4], [s for s in nab if "art" in s.name or "AAPL" in s.name]
    detectors: dict[str, tuple[Stream, Stream]] = {
        "forewarn": (ours("level"), ours("surprise")),
        "null": (null, null),
        "always-alarm": (always, always),
        "3-sigma z-score": (zscore, zscore),
    }
    print(f"data: SKAB valve1 {len(skab)} files, NAB {len(nab)} files" + (" (quick subset)" if args.quick else ""))
    print(f"{'detector':<18} {'SKAB F1':>8} {'FAR':>7} {'MAR':>7} {'NAB std':>8}")
    results = {}
    for name, (skab_stream, nab_stream) in detectors.items():
        s = skab_figures(skab_stream, skab)
        score = nab_figure(nab_stream, nab)
        results[name] = (s, score)
        print(f"{name:<18} {s['f1']:>8.3f} {s['far']:>7.1%} {s['mar']:>7.1%} {score:>8.1f}")
    us, state = cost(5_000 if args.quick else 50_000)
    print(f"cost: median {us:.1f} µs per reading (DetectorEngine.process), {state} bytes of state per device")
    print("simulator ground truth: not yet measured (the simulators package exposes no labelled-run API yet)")
    s, score = results["forewarn"]
    print(f"RESULT skab_f1={s['f1']:.3f} ratio")
    print(f"RESULT skab_far={s['far']:.3f} ratio")
    print(f"RESULT skab_mar={s['mar']:.3f} ratio")
    print(f"RESULT nab_standard={score:.1f} score")
    print(f"RESULT detector_us_per_reading={us:.1f} us")
    print(f"RESULT detector_state_bytes={state} bytes")


if __name__ == "__main__":
    main()
