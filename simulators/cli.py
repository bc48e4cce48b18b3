"""`forewarn simulate`: the fault library, the bundled scenarios, and playing a scenario onto a broker.

Mounted by the `forewarn` command, which puts its CLI context (with `.settings`) in ``ctx.obj``; the defaults for
the broker and the label directory come from those settings when present. This module never imports `forewarn`:
it reads the few settings it needs by name. Bad input exits non-zero with one clear message, never a traceback.
"""

from __future__ import annotations

import dataclasses
import math
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from simulators.faults import AMPLITUDE, FAULTS, LIFE, RAMPED, VARIANTS, FaultSpec
from simulators.misbehaviour import MODES
from simulators.publisher import PublisherError, parse_broker_url
from simulators.residents import HttpComplaintSink
from simulators.runner import run_scenario
from simulators.scenario import Scenario, ScenarioError, load_scenario

SCENARIOS_DIR = Path(__file__).resolve().parent / "scenarios"
DEFAULT_BROKER_PORT = 18830  # the embedded broker of `forewarn run`, when no settings say otherwise

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Device simulators: the fault library, bundled scenarios, and running a scenario.")
out = Console()
err = Console(stderr=True)


def _when(spec: FaultSpec) -> str:
    if not spec.resident_visible:
        return "no"
    if spec.visible_fraction:
        return f"yes, late ({spec.visible_fraction:.0%} into the fault)"
    minutes = spec.visible_after_s / 60
    return "yes, at once" if minutes == 0 else f"yes, after {minutes:g} min"


@app.command()
def faults() -> None:
    """List the fault library: a line each, with the device kinds and whether (and when) residents notice."""
    out.print(f"{'fault':<16} {'kinds':<24} {'residents notice':<32} what happens", style="bold", soft_wrap=True)
    for spec in FAULTS.values():
        kinds = "all" if len(spec.kinds) > 2 else ",".join(sorted(k.value for k in spec.kinds))
        out.print(f"{spec.name:<16} {kinds:<24} {_when(spec):<32} {spec.summary}", soft_wrap=True,
                  highlight=False, markup=False)
    out.print("\nmisbehaving devices (scenario `misbehaviour:` entries): " + ", ".join(MODES), soft_wrap=True,
              highlight=False, markup=False)
    life = "; ".join(f"{name} ({', '.join(sorted(k.value for k in kinds))}): {what}"
                     for name, (kinds, what) in LIFE.items())
    out.print(f"ordinary life (scenario `nuisance:` entries, as `fault:`): {life}", soft_wrap=True, highlight=False,
              markup=False)
    variants = "; ".join(f"{fault}: {', '.join(names)}" for fault, names in VARIANTS.items())
    out.print(f"fault shapes (a fault entry's `shape:`): amplitude on {', '.join(AMPLITUDE)}; ramp on "
              f"{', '.join(sorted(RAMPED))}; variants — {variants}; alarm_after on entrapment",
              soft_wrap=True, highlight=False, markup=False)


@app.command()
def scenarios() -> None:
    """List the bundled scenarios, a line each (run one with `forewarn simulate run NAME`)."""
    out.print(f"{'name':<18} {'duration':<9} {'speed':<6} {'faults':<7} description", style="bold", soft_wrap=True)
    for path in sorted(SCENARIOS_DIR.glob("*.yaml")):
        try:
            play = load_scenario(path)
        except ScenarioError as exc:
            out.print(f"{path.stem:<18} {exc}", soft_wrap=True, style="red", markup=False)
            continue
        speed = "max" if play.speed is None else f"{play.speed:g}x"
        out.print(f"{path.stem:<18} {_duration(play.duration_s):<9} {speed:<6} {len(play.faults):<7} "
                  f"{_description(path)}", soft_wrap=True, highlight=False, markup=False)


def _description(path: Path) -> str:
    import yaml

    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return str(doc.get("description", "")) if isinstance(doc, dict) else ""


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def resolve_scenario(name: str) -> Path:
    """A scenario file path, or the name of a bundled one (``entrapment`` → ``scenarios/entrapment.yaml``)."""
    path = Path(name)
    if path.exists() or path.suffix in (".yaml", ".yml") or "/" in name:
        return path
    bundled = SCENARIOS_DIR / f"{name}.yaml"
    return bundled if bundled.exists() else path


def parse_speed(value: str | None) -> float | None:
    """``None`` (the scenario's), ``max`` (as fast as possible) or a positive factor."""
    if value is None:
        return None
    if value.strip().lower() in ("max", "inf", "0"):
        return math.inf
    try:
        speed = float(value)
    except ValueError:
        speed = -1.0
    if not speed > 0 or math.isinf(speed) or math.isnan(speed):
        raise typer.BadParameter(f"{value!r}: use a positive number (e.g. 60) or 'max'", param_hint="--speed")
    return speed


def _settings(ctx: typer.Context) -> Any:
    return getattr(ctx.obj, "settings", None)


@app.command()
def run(
    ctx: typer.Context,
    scenario: Annotated[str, typer.Argument(help="scenario file, or the name of a bundled one (see `scenarios`)")],
    speed: Annotated[str | None, typer.Option(help="simulated seconds per wall second, or 'max' "
                                              "(default: the scenario's)")] = None,
    seed: Annotated[int | None, typer.Option(help="override the scenario's random seed")] = None,
    labels: Annotated[Path | None, typer.Option(help="ground-truth label file (JSON lines); default: "
                                                "<data dir>/labels/<scenario>-<seed>-<time>.jsonl")] = None,
    broker: Annotated[str | None, typer.Option(help="mqtt://host:port (default: the configured broker, else "
                                               "the embedded one)")] = None,
    api: Annotated[str | None, typer.Option(help="platform API base URL; emulated residents post their "
                                            "complaints there (needs --token)")] = None,
    token: Annotated[str | None, typer.Option(help="API bearer token used for the residents' complaints")] = None,
    progress: Annotated[bool, typer.Option(help="show a progress bar")] = True,
) -> None:
    """Play a scenario onto the broker: every device's messages on the simulated clock, plus ground truth."""
    pace = parse_speed(speed)
    if (api is None) != (token is None):
        raise typer.BadParameter("--api and --token go together", param_hint="--api/--token")
    path = resolve_scenario(scenario)
    try:
        play = load_scenario(path)  # every mistake is found here, before anything is published
    except ScenarioError as exc:
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True, highlight=False)
        raise typer.Exit(2) from None
    if seed is not None:
        play = dataclasses.replace(play, seed=seed)
    settings = _settings(ctx)
    try:
        host, port, tls = parse_broker_url(broker or _default_broker(settings))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--broker") from None
    label_path = labels or _default_labels(settings, play)
    sink = HttpComplaintSink(api, token) if api and token else None
    stop = threading.Event()
    # Ctrl-C ends the run cleanly: every device goes offline and every message is acknowledged first.
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        summary = run_scenario(play, broker_host=host, broker_port=port, speed=pace, labels_path=label_path,
                               complaint_sink=sink, progress=progress, stop=stop,
                               username=getattr(settings, "mqtt_username", None),
                               password=getattr(settings, "mqtt_password", None), tls=tls)
    except PublisherError as exc:
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True, highlight=False)
        raise typer.Exit(1) from None
    finally:
        signal.signal(signal.SIGINT, previous)
        if sink is not None:
            sink.close()
    _report(play, summary, sink is not None)


def _default_broker(settings: Any) -> str:
    url = getattr(settings, "mqtt_url", None)
    if url:
        return str(url)
    return f"mqtt://127.0.0.1:{getattr(settings, 'embedded_mqtt_port', DEFAULT_BROKER_PORT)}"


def _default_labels(settings: Any, play: Scenario) -> Path:
    base = Path(getattr(settings, "data_dir", ".forewarn")) / "labels"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return base / f"{play.name}-{play.seed}-{stamp}.jsonl"


def _report(play: Scenario, summary: Any, with_api: bool) -> None:
    if summary.warning:
        err.print(f"[yellow]warning:[/yellow] {summary.warning}", soft_wrap=True)
    state = "stopped early" if summary.stopped else "done"
    out.print(f"{play.name}: {state} — {summary.messages:,} messages from {len(play.device_ids)} devices in "
              f"{summary.wall_seconds:.1f} s ({summary.rate:,.0f} msg/s); simulated {summary.start.isoformat()} → "
              f"{summary.end.isoformat()}", soft_wrap=True)
    out.print(f"labels: {summary.labels_path} ({summary.labels_written} records)", soft_wrap=True)
    if with_api:
        out.print(f"complaints: {summary.complaints_submitted} submitted, {summary.complaints_failed} failed "
                  f"of {summary.complaints_planned} planned", soft_wrap=True)
    else:
        out.print(f"complaints: {summary.complaints_planned} planned (written to the labels; pass --api and "
                  "--token to submit them)", soft_wrap=True)
