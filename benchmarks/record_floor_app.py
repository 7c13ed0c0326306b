"""A second floor for `drill act`: the typer floor app, whose `act` also appends one line rendered
through structlog to a file and fsyncs it, as every record line is written. typer and structlog are
the stack drill stands on; what `drill act` takes above this floor is drill's own work.

Run as a script by the same interpreter.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

app = typer.Typer(
    name="floor", no_args_is_help=True, add_completion=True, pretty_exceptions_enable=False, rich_markup_mode=None
)
FOLDER: list[Path] = []


@app.callback()
def main(
    workspace: Path | None = typer.Option(None, "--workspace", "-w", help="Workspace folder."),
    tz: str | None = typer.Option(None, "--tz", help="Display time zone."),
    debug: bool = typer.Option(False, "--debug", help="Show a traceback on errors."),
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    """A minimal app with drill's global options."""
    FOLDER.append(workspace or Path.cwd())


@app.command()
def act(
    run: str = typer.Argument(..., help="Run id."),
    trigger: str = typer.Argument(..., help="Trigger to fire."),
    by: str | None = typer.Option(None, "--by", help="Who acts."),
    role: str | None = typer.Option(None, "--role", help="Role to act in."),
    note: str | None = typer.Option(None, "--note", help="Free-text note kept with the event."),
) -> None:
    """Append one JSON line rendered by structlog to `logs/floor.jsonl`, fsync'd."""
    sys.modules["rich"] = None  # type: ignore[assignment]  # as drill imports it: without rich
    import structlog

    del sys.modules["rich"]
    with open(FOLDER[0] / "logs" / "floor.jsonl", "a", encoding="utf-8") as out:
        log = structlog.wrap_logger(structlog.WriteLogger(out), processors=[structlog.processors.JSONRenderer()])
        log.msg("transition", run=run, trigger=trigger, actor=by, role=role, note=note)
        out.flush()
        os.fsync(out.fileno())


@app.command()
def status(run: str | None = typer.Argument(None, help="Run id.")) -> None:
    """A second command, so that the app is a group as drill's is."""


if __name__ == "__main__":
    app(prog_name="floor")
