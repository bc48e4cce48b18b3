"""The `forewarn` command. Every command has help text; bad input exits non-zero with a message, never a traceback."""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from forewarn import (
    cli_accounts,  # noqa: F401 - registers `estate invite` and `user passwd`
    cli_contact,  # noqa: F401 - registers `user contact`
)
from forewarn.cli_db import db_app, estate_app, user_app
from forewarn.cli_staff import manager_app, owner_app, user_set
from forewarn.cli_teams import team_app
from forewarn.context import CliContext
from forewarn.db import DatabaseError
from forewarn.embedded import EmbeddedServerError
from forewarn.settings import SettingsError, load_settings

err = Console(stderr=True)
app = typer.Typer(
    help="Forewarn: device anomalies become tickets and resident notices before anyone complains.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db_app, name="db")
app.add_typer(estate_app, name="estate")
app.add_typer(user_app, name="user")
app.add_typer(team_app, name="team")
estate_app.add_typer(owner_app, name="owner")
estate_app.add_typer(manager_app, name="manager")
user_app.command("set")(user_set)


# (module, attribute, how to mount it, name, help): the commands that pull in the whole platform, and the domain
# packages' own sub-commands (each package holds its own Typer app). Imported on start, not at module level.
_COMMANDS = [
    ("forewarn.cli_run", "run", "command", "run", None),
    ("forewarn.cli_run", "demo", "callback", "demo", None),
    ("ingest.cli", "app", "group", "ingest", "Ingest: the MQTT consumer's dead letters."),
    ("ingest.cli", "mqtt_app", "group", "mqtt", "Broker security: per-device passwords and ACL."),
    ("detectors.cli", "app", "group", "detect", "Detectors: replay recorded data offline."),
    ("simulators.cli", "app", "group", "simulate", "Device simulators, fault library and scenarios."),
    ("tickets.cli", "app", "group", "tickets", "Tickets, work orders, SLA sweeps."),
    ("forewarn.cli_device", "device_app", "group", "device",
     "Devices: planned maintenance windows and recurring maintenance plans."),
    ("tickets.announce_cli", "app", "group", "announce", "Announcements to a site or building, read receipts."),
    ("tickets.review.cli", "app", "group", "review", "The monthly and quarterly review and its exports."),
    ("tickets.survey_cli", "app", "group", "survey", "Satisfaction survey waves: samples, answers, reports."),
    ("tickets.roster_cli", "app", "group", "roster", "On-call roster: who is on duty outside working hours."),
]


def _mount_commands() -> None:
    for module_name, attr, how, name, help_text in _COMMANDS:
        try:
            target = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:  # one broken package must not take every command down
            err.print(f"[yellow]warning:[/yellow] `forewarn {name}` is unavailable: {exc}")
            continue
        if how == "command":
            app.command(name)(target)
        elif how == "callback":  # `forewarn demo` runs the demo; `forewarn demo history` writes months of history
            from forewarn.demo_history import history

            group = typer.Typer(no_args_is_help=False)
            group.callback(invoke_without_command=True)(target)
            group.command("history")(history)
            app.add_typer(group, name=name)
        else:
            app.add_typer(target, name=name, help=help_text)


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML or YAML settings file (or FOREWARN_CONFIG)")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log more")] = False,
) -> None:
    settings = load_settings(config)
    logging.basicConfig(
        level=logging.DEBUG if verbose else getattr(logging, settings.log_level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:  # every job run is an INFO line in APScheduler; only its warnings matter to an operator
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    cli = CliContext(settings)
    ctx.obj = cli
    ctx.call_on_close(cli.close)


def main() -> None:
    """Entry point: turn every expected failure into a one-line message and a non-zero exit."""
    _mount_commands()
    try:
        app(standalone_mode=True)
    except (SettingsError, DatabaseError, EmbeddedServerError) as exc:
        err.print(f"[bold red]error:[/bold red] {exc}")
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
