"""Who acts: what a command line and the environment decide together."""

from __future__ import annotations

import os

from drillkit.config.workspace import Workspace
from drillkit.engine.people import Who, acting_name
from drillkit.model.errors import Rejected
from drillkit.model.names import RESERVED, check_name, check_person
from drillkit.model.provenance import login_name

FIRST_PERSON_UID = 1000  # below it, Linux distributions number their service accounts


def acting_person(by: str | None) -> Who:
    """`--by`; without it, `$DRILL_USER` then the login name, to be used only if they may act
    (SPEC §5): a system account never is. A blank name or a control character is refused."""
    if by is not None:
        return Who(check_person(by, "--by"))
    offered: list[tuple[str, str]] = []
    passed_over: list[str] = []
    if os.environ.get("DRILL_USER"):
        _offer("$DRILL_USER", check_name(os.environ["DRILL_USER"], "DRILL_USER"), offered, passed_over)
    _offer("the login name", login_name(), offered, passed_over)
    return Who(None, tuple(offered), tuple(passed_over))


def person_outside_a_run(ws: Workspace, who: Who) -> str:
    """Who acts where no run names its people (corrective actions): someone on the roster; without
    one, the name given or the first one offered (never a system account)."""
    roster = ws.config().people
    if roster:
        return acting_name(who, set(roster), "on corrective actions")
    if who.given is not None:
        return who.given
    if who.offered:
        return who.offered[0][1]
    raise Rejected(f"who acts? pass --by NAME ({'; '.join(who.passed_over) or 'no --by, $DRILL_USER or login name'})")


def _offer(source: str, name: str, offered: list[tuple[str, str]], passed_over: list[str]) -> None:
    if is_system_account(name):
        passed_over.append(f"{source} {name!r} is a system account")
    else:
        offered.append((source, name))


def is_system_account(name: str) -> bool:
    """drill's own actors, the superuser, and accounts of this machine no one logs in as."""
    if name.lower() in RESERVED or name == "nobody":
        return True
    import pwd  # only when a name from the environment is weighed

    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return False
    no_login = entry.pw_shell.endswith(("nologin", "false"))
    return entry.pw_uid == 0 or (entry.pw_uid < FIRST_PERSON_UID and no_login)
