"""The `forewarn` command. Every command has help text; bad input exits non-zero with a message, never a traceback."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from forewarn.cli_db import db_app, estate_app, user_app
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


def _mount_optional() -> None:
    """Sub-commands owned by the domain packages (each package holds its own Typer app)."""
    from detectors.cli import app as detect_app
    from ingest.cli import app as ingest_app
    from simulators.cli import app as simulate_app

    app.add_typer(ingest_app, name="ingest", help="Ingest: dead letters, broker ACLs.")
    app.add_typer(detect_app, name="detect", help="Detectors: replay recorded data offline.")
    app.add_typer(simulate_app, name="simulate", help="Device simulators, fault library and scenarios.")


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
    cli = CliContext(settings)
    ctx.obj = cli
    ctx.call_on_close(cli.close)


def main() -> None:
    """Entry point: turn every expected failure into a one-line message and a non-zero exit."""
    try:
        _mount_optional()
    except ImportError as exc:  # a package still being built must not take the whole CLI down
        logging.getLogger(__name__).debug("optional commands not available: %s", exc)
    try:
        app(standalone_mode=True)
    except (SettingsError, DatabaseError, EmbeddedServerError) as exc:
        err.print(f"[bold red]error:[/bold red] {exc}")
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
