"""Who acts, and the display zone: what a command line and the environment decide together."""

from __future__ import annotations

import os

from drillkit.config.workspace import Workspace
from drillkit.model.errors import UsageError
from drillkit.model.names import check_name


def acting_person(by: str | None) -> str:
    """`--by`, else `$DRILL_USER`, else the login name; a blank or control character is refused."""
    if by is not None:
        return check_name(by, "--by")
    if os.environ.get("DRILL_USER"):
        return check_name(os.environ["DRILL_USER"], "DRILL_USER")
    import getpass  # only when neither --by nor DRILL_USER says who acts

    return check_name(getpass.getuser(), "the login name (set DRILL_USER or pass --by)")


def display_zone(ws: Workspace, chosen: str | None) -> str:
    """`--tz` (chosen), else `drill.toml` timezone, else UTC; checked to be a known zone."""
    from drillkit.model.timefmt import check_zone  # the acting commands settle who acts without it

    if chosen:
        return check_zone(chosen)
    configured = ws.config().timezone  # a drill.toml that cannot be read is its own error, not the zone's
    try:
        return check_zone(configured)
    except UsageError as err:
        raise UsageError(f"drill.toml: timezone: {err}") from None
