"""What every command shares: the chosen workspace, output helpers, the error boundary."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drillkit.workspace import Workspace


@dataclass
class Globals:
    workspace: Path | None = None
    tz: str | None = None
    debug: bool = False


GLOBALS = Globals()


def workspace() -> Workspace:
    return Workspace.find(GLOBALS.workspace)


def display_zone(ws: Workspace) -> str:
    """`--tz`, else `drill.toml` timezone, else UTC; checked to be a known zone."""
    from drillkit.timefmt import check_zone

    return check_zone(GLOBALS.tz or ws.config().timezone)


def print_json(document: Any) -> None:
    import orjson

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


def colour_ok() -> bool:
    """Colour and cursor control only on a terminal and without NO_COLOR."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def actor(by: str | None) -> str:
    """Who acts: `--by`, else `$DRILL_USER`, else the login name; a blank or control character is refused."""
    from drillkit.names import check_name

    if by is not None:
        return check_name(by, "--by")
    if os.environ.get("DRILL_USER"):
        return check_name(os.environ["DRILL_USER"], "DRILL_USER")
    import getpass

    return check_name(getpass.getuser(), "the login name (set DRILL_USER or pass --by)")
