"""`forewarn run` (the service, by role) and `forewarn demo` (all of it on embedded defaults, with a scripted fault)."""

from __future__ import annotations

import faulthandler
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import psycopg
import typer
from pydantic import ValidationError
from rich.console import Console

from api.auth import Role as UserRole
from api.auth import create_user, ensure_resident_user, issue_token
from forewarn.context import CliContext
from forewarn.demo_resident import affected_resident
from forewarn.demo_watch import DemoWatch
from forewarn.demo_web import demo_sign_ins
from forewarn.estate import load_estate
from forewarn.heap import HeapKeeper, settle
from forewarn.runtime import ALL_ROLES, Platform, Role
from forewarn.settings import Settings
from forewarn.web_wiring import public_url
from ingest.estate_file import load_estate_file

console = Console()
DEMO_ESTATE = Path(__file__).resolve().parent / "data" / "demo-estate.yaml"


def _catch_stop_signals() -> threading.Event:
    """From now on Ctrl-C and SIGTERM set the returned event. Called before the banner that says Ctrl-C stops: a
    Ctrl-C that follows the banner at once then asks for a clean stop, rather than raising KeyboardInterrupt wherever
    the main thread happens to be between the banner and the wait (a CI run once saw such a stop hang)."""
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    # `kill -USR1 PID` prints every thread's stack to stderr: what a process that does not stop is waiting on
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    return stop


def _wait_for_signal(stop: threading.Event, deadline: float | None, done: threading.Event) -> None:
    """Block until `stop` (Ctrl-C / SIGTERM, see `_catch_stop_signals`), the deadline, or `done`."""
    while not stop.is_set() and not done.is_set():
        if deadline is not None and time.monotonic() >= deadline:
            break
        stop.wait(0.5)


def _start(platform: Platform) -> HeapKeeper | None:
    """Start the platform, then freeze what start-up built and put full collections on a clock (forewarn/heap.py):
    only here, in the long-running process, never in the app factory."""
    with console.status("starting…"):
        platform.start()
    keeper = settle(platform.settings.gc_full_seconds)
    for line in platform.started:
        console.print(f"  [green]✓[/green] {line}")
    return keeper


def run(
    ctx: typer.Context,
    role: Annotated[
        list[Role] | None,
        typer.Option("--role", help="run only these roles (repeat the option); default: all of them"),
    ] = None,
    worker_id: Annotated[
        str | None,
        typer.Option("--worker-id", help="run ingest as a site worker with this id (FOREWARN_INGEST_WORKER_ID): "
                                         "it serves the sites it holds leases on, beside other workers"),
    ] = None,
) -> None:
    """Run the platform: ingest + detectors, the scheduler and the API. Stops cleanly on Ctrl-C."""
    cli: CliContext = ctx.obj
    settings = cli.settings
    if worker_id is not None:
        try:
            settings = Settings.model_validate({**settings.model_dump(), "ingest_worker_id": worker_id})
        except ValidationError:
            raise typer.BadParameter(f"{worker_id!r}: use 1-64 letters, digits, '-' or '_'",
                                     param_hint="--worker-id") from None
    platform = Platform(settings, roles=frozenset(role) if role else ALL_ROLES)
    keeper = _start(platform)
    try:  # the banner inside: a Ctrl-C right after it must still stop the embedded servers
        stop = _catch_stop_signals()
        console.print("running — Ctrl-C stops")
        _wait_for_signal(stop, None, threading.Event())
    finally:
        if keeper is not None:
            keeper.stop()
        with console.status("stopping…"):
            platform.stop()
    console.print("stopped")


def _prepare_demo(platform: Platform) -> None:
    """Load the demo estate (idempotent) before the roles read the registry."""
    with psycopg.connect(platform.database_url) as conn:
        load_estate(conn, load_estate_file(DEMO_ESTATE))


def _demo_accounts(url: str, resident_device: str) -> dict[str, str]:
    """Staff accounts for the demo and a token for each, plus one resident the scripted fault affects."""
    tokens: dict[str, str] = {}
    with psycopg.connect(url) as conn:
        accounts = [
            ("demo-manager", "Demo Manager", UserRole.MANAGER, None),
            ("demo-agent", "Demo Agent", UserRole.AGENT, "customer_service"),
            ("demo-engineer", "Demo Engineer", UserRole.ENGINEER, "engineering"),
        ]
        for user_id, name, role, dept in accounts:  # departments come with the schema (0001_estate.sql)
            create_user(conn, user_id=user_id, name=name, role=role, department_id=dept)
            tokens[user_id] = issue_token(conn, user_id, label="demo")
        resident = affected_resident(conn, resident_device)
        if resident:
            user_id = ensure_resident_user(conn, resident)
            tokens[f"resident {resident}"] = issue_token(conn, user_id, label="demo")
    return tokens


def _print_sign_ins(cli: CliContext, url: str, resident_device: str) -> None:
    """The pages' address and a resident's and the staff's sign-ins (see forewarn/demo_web.py)."""
    with psycopg.connect(url) as conn:  # the same resident as the tokens: one the fault affects, in the app
        resident = affected_resident(conn, resident_device)
        resident_user = ensure_resident_user(conn, resident) if resident else None
    base = public_url(cli.settings)
    sign_ins = demo_sign_ins(url, resident_user=resident_user,
                             staff=["demo-engineer", "demo-agent", "demo-manager"], public_url=base,
                             code_hours=cli.settings.signup_code_hours)
    console.print(f"[bold]Pages[/bold] {base}/login   (中文; English with the switch at the top)")
    for s in sign_ins:
        how = f"one-time code {s.secret}" if s.kind == "code" else f"password {s.secret}"
        console.print(f"  {s.who:<9} {s.login:<14} {how:<30} {s.name}")
        if s.link:
            console.print(f"  {'':<9} or choose a password: {s.link}")
    console.print()


def demo(
    ctx: typer.Context,
    duration: Annotated[
        float | None, typer.Option(help="stop after this many seconds (default: run until Ctrl-C)", min=1)
    ] = None,
    exit_after_notices: Annotated[
        bool, typer.Option(help="stop as soon as the scripted fault's ticket and notices are visible")
    ] = False,
    scenario: Annotated[
        Path | None, typer.Option(help="scenario file to play instead of the bundled demo")
    ] = None,
) -> None:
    """Run everything on the embedded defaults with the demo estate, and play a scripted fault.

    Within about a minute a water booster loses its supply: watch the preventive ticket, its work order and the
    residents' notices appear here and in the API. `forewarn demo history` writes months of past activity.
    """
    if ctx.invoked_subcommand is not None:
        return
    from simulators.residents import HttpComplaintSink
    from simulators.runner import run_scenario
    from simulators.scenario import ScenarioError, load_scenario

    cli: CliContext = ctx.obj
    started_at = time.monotonic()
    scenario_path = scenario or Path(__file__).resolve().parents[1] / "simulators" / "scenarios" / "demo.yaml"
    try:
        play = load_scenario(scenario_path)  # a bad scenario fails here, before anything starts
    except ScenarioError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scenario") from None
    platform = Platform(cli.settings, prepare=_prepare_demo)
    keeper = _start(platform)
    stop_sim = threading.Event()
    finished = threading.Event()
    sink = None
    try:
        fault_devices = [f.device_id for f in play.faults] or [""]
        tokens = _demo_accounts(platform.database_url, fault_devices[0])
        api = f"http://{cli.settings.api_host}:{cli.settings.api_port}"
        sink = HttpComplaintSink(api, tokens["demo-agent"])
        console.print(f"\n[bold]API[/bold] {api}/docs   tokens (send as 'Authorization: Bearer …'):")
        for who, token in tokens.items():
            console.print(f"  {who:<28} {token}")
        console.print(f"  e.g. curl -H 'Authorization: Bearer {tokens['demo-manager']}' {api}/api/v1/tickets\n")
        _print_sign_ins(cli, platform.database_url, fault_devices[0])
        labels = cli.settings.data_dir / "demo-labels.jsonl"

        def simulate() -> None:
            try:
                run_scenario(play, broker_host=platform.broker_host, broker_port=platform.broker_port,
                             labels_path=labels, complaint_sink=sink, stop=stop_sim)
            except Exception as exc:  # noqa: BLE001 - shown to the user; the platform keeps running
                console.print(f"[red]simulator stopped:[/red] {exc}")

        sim = threading.Thread(target=simulate, name="simulator", daemon=True)
        sim.start()
        console.print(f"simulator  {play.name}: {len(play.faults)} scripted fault(s); labels in {labels}")
        watch = DemoWatch(platform.database_url, console, since=datetime.now(UTC))
        watch.start(stop_after_notices=finished if exit_after_notices else None)
        stop = _catch_stop_signals()
        console.print("watching for tickets and notices — Ctrl-C stops\n")
        _wait_for_signal(stop, time.monotonic() + duration if duration else None, finished)
        watch.stop()
        if finished.is_set():
            console.print(f"preventive ticket and notices visible {time.monotonic() - started_at:.0f} s "
                          "after the demo started")
    finally:
        stop_sim.set()
        if sink is not None:
            sink.close()
        if keeper is not None:
            keeper.stop()
        with console.status("stopping…"):
            platform.stop()
    console.print("stopped; data kept in " + str(cli.settings.data_dir))
    if exit_after_notices and not finished.is_set():
        raise typer.Exit(1)
