"""What every command shares: the chosen workspace, output helpers, the error boundary."""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from drillkit.cli.completion import complete_runs
from drillkit.config.workspace import Workspace
from drillkit.model.errors import UsageError


@dataclass
class Globals:
    workspace: Path | None = None
    tz: str | None = None
    debug: bool = False


GLOBALS = Globals()


def workspace() -> Workspace:
    return Workspace.find(GLOBALS.workspace)


def display_zone(ws: Workspace) -> str:
    """`--tz`, else `drill.toml` timezone, else UTC (see `services.people.display_zone`)."""
    from drillkit.services.people import display_zone as zone_of  # zoneinfo only for commands that show times

    return zone_of(ws, GLOBALS.tz)


def run_argument(
    default: Any = ..., *, help: str = "Run: its id, a unique prefix, its last four hex digits, or `last`."
) -> Any:
    """A RUN argument, resolved when the command line is read (`services.runnames`): every command
    that takes a run accepts the same short names, and completes them on TAB."""
    return typer.Argument(default, help=help, callback=_resolved_run, autocompletion=complete_runs)


def runs_argument() -> Any:
    """RUN…: several runs, each named as `run_argument` allows."""
    return typer.Argument(
        None,
        help="Runs: ids, unique prefixes, last four hex digits, or `last` (default: every run).",
        callback=_resolved_runs,
        autocompletion=complete_runs,
    )


def _resolved_run(ctx: typer.Context, name: str | None) -> str | None:
    if name is None or ctx.resilient_parsing:
        return name
    from drillkit.services.runnames import resolve_run

    return resolve_run(workspace(), name)


def _resolved_runs(ctx: typer.Context, names: list[str] | None) -> list[str] | None:
    if not names or ctx.resilient_parsing:
        return names
    from drillkit.services.runnames import resolve_run

    ws = workspace()
    return [resolve_run(ws, name) for name in names]


def exit_with(code: int) -> None:
    """End the command with `code` when it is not 0 (the error boundary in `main` ends it)."""
    if code:
        raise typer.Exit(code)


def print_json(document: Any) -> None:
    import orjson  # only for the commands that print JSON

    sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Text from records and arguments, with control characters shown, never obeyed by the terminal."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def say(text: str = "") -> None:
    """Human text to stdout."""
    sys.stdout.write(printable(text) + "\n")


def warn(text: str) -> None:
    """Diagnostics to stderr."""
    sys.stderr.write(printable(text) + "\n")
    sys.stderr.flush()


def emit(text: str, output: Path | None) -> None:
    """To stdout, or to FILE (0640, whole or not at all) with nothing else on stdout."""
    if output is None:
        typer.echo(text, nl=False)
        return
    write_private(output, text.encode("utf-8"))
    warn(f"wrote {output}")


def output_option() -> Any:
    """`-o FILE`, checked when the command line is read: a report is not built for nowhere."""
    return typer.Option(
        None, "-o", "--output", help="Write to FILE (0640) instead of stdout.", callback=_writable_folder
    )


def _writable_folder(output: Path | None) -> Path | None:
    if output is None:
        return None
    if output.is_dir():  # `-o ''` arrives as the folder `.`
        raise _unwritable(output, "a folder, not a file")
    folder = (output.resolve() if output.is_symlink() else output).parent  # a link is written through
    if not os.access(folder, os.W_OK | os.X_OK):
        reason = "Permission denied" if folder.is_dir() else "No such file or directory"
        raise _unwritable(output, reason)
    return output


def _unwritable(path: Path, reason: str) -> Exception:
    return UsageError(f"-o {path}: {reason}; name a file in a folder that exists and can be written")


def write_private(path: Path, data: bytes) -> None:
    """Write a file as 0640 whatever the umask: to a temporary name, fsync'd, then renamed.
    A symlink is followed (the file it names is replaced, the link stays), and what is not a
    regular file (a device, a pipe) is written into, never replaced. A folder that is missing
    or not writable is a usage error naming the file."""
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_file():
        _write_into(target, data, path)
        return
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            os.fchmod(fd, 0o640)
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise _unwritable(path, str(exc.strerror)) from None


def _write_into(target: Path, data: bytes, named: Path) -> None:
    try:
        with open(target, "wb") as stream:
            stream.write(data)
    except OSError as exc:
        raise _unwritable(named, str(exc.strerror)) from None


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
