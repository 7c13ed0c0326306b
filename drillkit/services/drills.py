"""Starting drills (mode `drill`) from scenarios; the conductor keeps them on time."""

from __future__ import annotations

from drillkit.config.workspace import Workspace
from drillkit.model.clock import Clock
from drillkit.plans.library import Plans
from drillkit.services.runs import parse_assignments, start_run, started_draft


def start_drill(
    ws: Workspace,
    scenario_id: str,
    *,
    clock: Clock,
    by: str = "scheduler",
    assignments: list[str] | None = None,
    speed: float = 1.0,
) -> str:
    """Write the drill's `run.started` and return its run id (conducting is the caller's)."""
    scenario, pb = Plans(ws).scenario(scenario_id)
    people = dict(scenario.participants) | parse_assignments(assignments or [], pb)
    first = started_draft(
        ws, pb=pb, mode="drill", severity=scenario.severity, by=by, scenario=scenario, participants=people, speed=speed
    )
    return start_run(ws, clock, first)
