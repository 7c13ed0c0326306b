"""The floor for start-up figures: a minimal typer app taking the same options as `drill act`.

Run as a script by the same interpreter; `_FLOOR_COMPLETE=complete_bash` gives its TAB completion.
"""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    name="floor", no_args_is_help=True, add_completion=True, pretty_exceptions_enable=False, rich_markup_mode=None
)


@app.callback()
def main(
    workspace: Path | None = typer.Option(None, "--workspace", "-w", help="Workspace folder."),
    tz: str | None = typer.Option(None, "--tz", help="Display time zone."),
    debug: bool = typer.Option(False, "--debug", help="Show a traceback on errors."),
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    """A minimal app with drill's global options."""


@app.command()
def act(
    run: str = typer.Argument(..., help="Run id."),
    trigger: str = typer.Argument(..., help="Trigger to fire."),
    by: str | None = typer.Option(None, "--by", help="Who acts."),
    role: str | None = typer.Option(None, "--role", help="Role to act in."),
    note: str | None = typer.Option(None, "--note", help="Free-text note kept with the event."),
) -> None:
    """Fire a transition (parses the options, does nothing else)."""


@app.command()
def status(run: str | None = typer.Argument(None, help="Run id.")) -> None:
    """A second command, so that the app is a group as drill's is."""


if __name__ == "__main__":
    app(prog_name="floor")
