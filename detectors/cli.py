"""`forewarn detect …`: the detectors' command line (mounted by the product CLI)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from detectors.replay import DEFAULT_PROFILE, ReplayError, replay_file

app = typer.Typer(help="Streaming detectors: score recorded data offline.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Streaming detectors: score recorded data offline."""


@app.command()
def replay(
    file: Annotated[Path, typer.Argument(help="CSV file to score, one row at a time.")],
    fmt: Annotated[str, typer.Option("--format", help="Input layout: generic, skab or nab.")] = "generic",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write CSV here (default: stdout).")] = None,
    columns: Annotated[
        str | None, typer.Option("--columns", help="Comma-separated feature columns (default: all numeric).")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="t2, level or surprise (default: t2 for skab, surprise otherwise)."),
    ] = None,
    warmup: Annotated[
        int, typer.Option("--warmup", min=0, help="Rows to learn from before alarming (t2 fits on them; 400 if 0).")
    ] = 0,
) -> None:
    """Score FILE streaming (no look-ahead): writes timestamp,score,alarm per input row, in order."""
    if fmt not in DEFAULT_PROFILE:
        _fail(f"unknown --format {fmt!r}; use generic, skab or nab")
    cols = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    try:
        if output is None:
            replay_file(file, sys.stdout, fmt, cols, model, warmup)
            return
        with output.open("w", newline="", encoding="utf-8") as out:
            n = replay_file(file, out, fmt, cols, model, warmup)
    except ReplayError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot read or write: {exc}")
    typer.echo(f"scored {n} rows into {output}", err=True)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


if __name__ == "__main__":
    app()
