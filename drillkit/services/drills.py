"""Starting drills (mode `drill`) from scenarios; the conductor keeps them on time."""

from __future__ import annotations

from drillkit.config.workspace import Workspace
from drillkit.engine.people import Who
from drillkit.model.clock import Clock
from drillkit.plans.library import Plans
from drillkit.services.runs import opener, parse_assignments, start_run, started_draft


def start_drill(
    ws: Workspace,
    scenario_id: str,
    *,
    clock: Clock,
    by: str | Who = "scheduler",
    assignments: list[str] | None = None,
    speed: float = 1.0,
) -> str:
    """Write the drill's `run.started` and return its run id (conducting is the caller's). A
    `Who` (`drill start --by`) must be one of the drill's people or on the roster."""
    scenario, pb = Plans(ws).scenario(scenario_id)
    roster = ws.config().people
    people = dict(scenario.participants) | parse_assignments(assignments or [], pb, roster)
    actor = opener(by, people, roster)
    first = started_draft(
        ws,
        pb=pb,
        mode="drill",
        severity=scenario.severity,
        by=actor,
        scenario=scenario,
        participants=people,
        speed=speed,
    )
    return start_run(ws, clock, first)
