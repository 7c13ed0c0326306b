"""Who may act (SPEC §5): the people of a run (named with `--as`, in the scenario, or assigned
since) and, when `drill.toml` has a `[people]` roster, the people on it. Anyone else is refused
in one line that lists who may act and offers a close match for a typo. Pure: the names the
environment offers are gathered by the caller."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable
from typing import NamedTuple

from drillkit.model.errors import Rejected

LISTED = 12  # names listed in a refusal before the rest are counted


class Who(NamedTuple):
    """Who acts: the name given with `--by`; without one, the names the environment offers, in
    order, each with where it came from (`$DRILL_USER`, the login name), and why others offered
    could not be used (a system account)."""

    given: str | None
    offered: tuple[tuple[str, str], ...] = ()  # (where from, name)
    passed_over: tuple[str, ...] = ()


def acting_name(who: Who, may_act: Collection[str], where: str) -> str:
    """The name that acts: `--by` if it may act `where`, else the first name offered that may."""
    if who.given is not None:
        if who.given in may_act:
            return who.given
        raise Rejected(f"--by {who.given!r} may not act {where}; {_allowed(may_act)}{_close(who.given, may_act)}")
    for _source, name in who.offered:
        if name in may_act:
            return name
    reasons = [f"{source} {name!r} may not act {where}" for source, name in who.offered] + list(who.passed_over)
    hint = next((close for _source, name in who.offered if (close := _close(name, may_act))), "")
    because = "; ".join(reasons) if reasons else "no --by, $DRILL_USER or login name"
    raise Rejected(f"who acts? pass --by NAME ({because}); {_allowed(may_act)}{hint}")


def on_roster(name: str, roster: Collection[str], label: str) -> str:
    """`name` if there is no roster or it is on it; else Rejected, offering a close match."""
    if not roster or name in roster:
        return name
    listed = _allowed(roster, "on the roster")
    raise Rejected(f"{label} {name!r} is not on drill.toml's [people] roster; {listed}{_close(name, roster)}")


def _allowed(may_act: Collection[str], heading: str = "who may act") -> str:
    names = sorted(may_act)
    if not names:
        return "no one is named yet: name people with --as ROLE=NAME or in drill.toml's [people] names"
    shown = ", ".join(names[:LISTED])
    more = f" and {len(names) - LISTED} more" if len(names) > LISTED else ""
    return f"{heading}: {shown}{more}"


def close_match(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate a typo most likely meant (case aside), if one is close enough."""
    by_folded = {candidate.casefold(): candidate for candidate in candidates}
    found = difflib.get_close_matches(name.casefold(), list(by_folded), n=1, cutoff=0.5)
    return by_folded[found[0]] if found else None


def _close(name: str, candidates: Iterable[str]) -> str:
    match = close_match(name, candidates)
    return f"; did you mean {match!r}?" if match else ""
