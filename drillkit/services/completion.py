"""What TAB offers (SPEC §5): run names, the triggers allowed now, open checklist items, roles and
people. Read-only: a completion never records what came due, and reads the run as written."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drillkit.config.workspace import Workspace
from drillkit.services.runnames import LAST, known_runs, resolve_run

if TYPE_CHECKING:
    from drillkit.engine.replay import RunState

_HEX = frozenset("0123456789abcdef")


def run_names(ws: Workspace, incomplete: str) -> list[str]:
    """Run ids newest first, each run's last four hex digits when they are unique and what was
    typed is their beginning, and `last`."""
    ids = known_runs(ws)
    names = [run_id for run_id in ids if run_id.startswith(incomplete)]
    if len(incomplete) < 4 and set(incomplete) <= _HEX:
        tails = [run_id[-4:] for run_id in ids]
        names += [tail for tail in tails if tail.startswith(incomplete) and tails.count(tail) == 1]
    return [*names, LAST] if LAST.startswith(incomplete) else names


def _run_state(ws: Workspace, name: str) -> RunState:
    from drillkit.engine.replay import RunState
    from drillkit.store.stores import open_store

    return RunState.replay(open_store(ws).read(resolve_run(ws, name)))


def triggers_now(ws: Workspace, name: str) -> list[str]:
    """The triggers someone may fire now: those of each role held, then those needing no role."""
    rs = _run_state(ws, name)
    if rs.ended:
        return []
    found = [trigger for role in rs.participants for trigger in rs.allowed_triggers(role)]
    found += rs.allowed_triggers(None)
    return list(dict.fromkeys(found))


def open_items(ws: Workspace, name: str) -> list[str]:
    rs = _run_state(ws, name)
    return [] if rs.ended else rs.open_items()


def run_roles(ws: Workspace, name: str) -> list[str]:
    return list(_run_state(ws, name).playbook.roles)


def run_people(ws: Workspace, name: str) -> list[str]:
    """Who takes part: the participants as they stand now (assignments included)."""
    return sorted(set(_run_state(ws, name).participants.values()))


def plan_roles(ws: Workspace, plan: str, *, scenario: bool) -> list[str]:
    """`ROLE=` for `--as`: the roles of a playbook, or of a scenario's playbook."""
    from drillkit.plans.library import Plans

    plans = Plans(ws)
    playbook = plans.scenario(plan)[1] if scenario else plans.playbook(plan)
    return [f"{role}=" for role in playbook.roles]


def plan_ids(ws: Workspace, *, scenario: bool) -> list[str]:
    from drillkit.plans.library import Plans

    return Plans(ws).scenario_ids() if scenario else Plans(ws).playbook_ids()
