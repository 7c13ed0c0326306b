"""What every command shares: the chosen workspace, output helpers, the error boundary."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from drillkit.cli.completion import complete_records, complete_runs
from drillkit.config.workspace import Workspace
from drillkit.model.inert import inert, inert_json


class Lang(StrEnum):
    """`--lang`: the language of headings and labels."""

    en = "en"
    zh = "zh"


class Globals:
    """The global options of this command line, set by `drill`'s callback (a plain class: a
    dataclass costs start-up time for nothing here)."""

    workspace: Path | None = None
    tz: str | None = None
    debug: bool = False


GLOBALS = Globals()


def workspace() -> Workspace:
    return Workspace.find(GLOBALS.workspace)


def display_zone(ws: Workspace) -> str:
    """`--tz`, else `drill.toml` timezone, else UTC (see `Workspace.display_zone`)."""
    return ws.display_zone(GLOBALS.tz)


def run_argument(
    default: Any = ..., *, help: str = "Run: its id, a unique prefix, its last four hex digits, or `last`."
) -> Any:
    """A RUN argument, resolved when the command line is read (`services.runnames`): every command
    that takes a run accepts the same short names, and completes them on TAB."""
    return typer.Argument(default, help=help, callback=_resolved_run, autocompletion=complete_runs)


def records_argument() -> Any:
    """RECORD…: runs, each named as `run_argument` allows, or `actions` for the corrective actions'
    ledger (no run name can be `actions`: an id starts with its date)."""
    return typer.Argument(
        None,
        help="Runs (ids, unique prefixes, last four hex digits, or `last`) or `actions`, the corrective"
        " actions' ledger (default: every record).",
        metavar="[RECORD]...",
        callback=_resolved_records,
        autocompletion=complete_records,
    )


def _resolved_run(ctx: typer.Context, name: str | None) -> str | None:
    if name is None or ctx.resilient_parsing:
        return name
    from drillkit.services.runnames import resolve_run

    return resolve_run(workspace(), name)


def _resolved_records(ctx: typer.Context, names: list[str] | None) -> list[str] | None:
    if not names or ctx.resilient_parsing:
        return names
    from drillkit.services.runnames import resolve_run
    from drillkit.store.verify import ACTIONS

    ws = workspace()
    return [name if name == ACTIONS else resolve_run(ws, name) for name in names]


def exit_with(code: int) -> None:
    """End the command with `code` when it is not 0 (the error boundary in `main` ends it)."""
    if code:
        raise typer.Exit(code)


def print_json(document: Any) -> None:
    sys.stdout.buffer.write(json_text(document).encode("utf-8"))
    sys.stdout.flush()


def json_text(document: Any) -> str:
    """The JSON document as printed: indented, control characters escaped, one final newline."""
    import orjson  # only for the commands that print JSON

    text = orjson.dumps(document, option=orjson.OPT_INDENT_2).decode("utf-8")
    return inert_json(text) + "\n"


def printable(text: str) -> str:
    """Text from records and arguments, with control characters shown, never obeyed by the terminal."""
    return inert(text)


def say(text: str = "") -> None:
    """Human text to stdout."""
    sys.stdout.write(printable(text) + "\n")


def warn(text: str) -> None:
    """Diagnostics to stderr."""
    sys.stderr.write(printable(text) + "\n")
    sys.stderr.flush()


def emit(text: str, output: Path | None, *, force: bool = False) -> None:
    """To stdout, or to FILE by the rules of `-o` (`drillkit.cli.output`) with nothing else on stdout."""
    if output is None:
        typer.echo(text, nl=False)
        return
    from drillkit.cli.output import write_output

    write_output(workspace(), output, text.encode("utf-8"), force=force)
    warn(f"wrote {output}")


def colour_ok() -> bool:
    """Colour and cursor control only on a terminal and without NO_COLOR."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def stop_on_signals(stop: Callable[[], None]) -> None:
    """Ctrl-C and SIGTERM only call `stop` (which sets a flag): an append is never cut in half
    by an exception, and a daemon or a conducted run ends at its next look."""

    def handler(signum: int, frame: Any) -> None:
        stop()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
