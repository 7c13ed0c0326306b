"""`drill simulate`: a scenario's script on a virtual clock, as fast as the machine allows.

Injects, script steps, breaches and `on_deadline` triggers happen in drill-time order, exactly as
the conductor would record them live (what is due at a moment is recorded before a step at the
same moment). The whole record is written at once, in one write and fsync: the same scenario gives
the same record every time, but for the run id, `ts` and `req` (and no `origin`: nobody typed it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from drillkit.config.workspace import Workspace
from drillkit.engine import decide
from drillkit.engine.replay import RunState, decided, due_drafts, next_due
from drillkit.model.clock import Clock, VirtualClock, format_utc
from drillkit.model.errors import Rejected
from drillkit.model.planfiles import Scenario, Step
from drillkit.model.plans import Playbook
from drillkit.model.provenance import Provenance
from drillkit.plans.library import Plans
from drillkit.services.runs import create_run, started_draft
from drillkit.store.port import Event
from drillkit.store.stores import open_store


@dataclass
class Simulation:
    run_id: str
    events: list[Event]
    rejected: list[tuple[Step, str]] = field(default_factory=list)


def simulate(ws: Workspace, clock: Clock, scenario_id: str) -> Simulation:
    scenario, pb = Plans(ws).scenario(scenario_id)
    virtual = VirtualClock(clock.now())
    first = started_draft(
        ws,
        pb=pb,
        mode="simulation",
        severity=scenario.severity,
        by="simulation",
        scenario=scenario,
        participants=dict(scenario.participants),
    )
    rejected: list[tuple[Step, str]] = []
    written: list[Event] = []

    store = open_store(ws)

    def play_and_write(run_id: str) -> None:
        drafts, rejected[:] = _play(run_id, first, pb, scenario, virtual)
        written[:] = store.create(run_id, first, virtual, drafts, Provenance.simulated())

    run_id = create_run(ws, pb.playbook, virtual, play_and_write)
    return Simulation(run_id, written, rejected)


def _play(
    run_id: str,
    first: Event,
    pb: Playbook,
    scenario: Scenario,
    virtual: VirtualClock,
) -> tuple[list[Event], list[tuple[Step, str]]]:
    start = virtual.now()
    rs = RunState.begin({**first, "run": run_id, "ts": format_utc(start), "t": 0.0, "seq": 1, "hash": ""})
    drafts: list[Event] = []
    rejected: list[tuple[Step, str]] = []
    steps = list(scenario.script)
    while not rs.ended:
        due = next_due(rs)
        step_at = float(steps[0].at) if steps else None
        if due is not None and (step_at is None or due <= step_at):
            made = due_drafts(rs, due)
            now_t = due
        elif step_at is not None:
            made, why = _step(rs, steps.pop(0), step_at)
            rejected.extend(why)
            now_t = step_at
        else:
            break
        drafts.extend({**draft, "_now": start + timedelta(seconds=now_t)} for draft in made)
    for step in steps:  # steps after the end are tried, as a person would, and refused (`decide.live`)
        rejected.extend(_step(rs, step, float(step.at))[1])
    return drafts, rejected


def _step(rs: RunState, step: Step, now_t: float) -> tuple[list[Event], list[tuple[Step, str]]]:
    """One script step as its person would type it, with what it makes due at once, as the
    command writes it; a rejection writes nothing."""
    try:
        return decided(rs, partial(_command, step=step), now_t), []
    except Rejected as why:
        return [], [(step, str(why))]


def _command(rs: RunState, step: Step) -> list[Event]:
    """The events `drill act`, `check`, `note`, `severity` or `assign` would write for the step."""
    if step.severity is not None:
        return decide.severity(rs, step.severity, step.by, step.reason or "")
    if step.assign is not None:
        return decide.assign(rs, step.assign, step.person or "", step.by)
    if step.trigger is not None:
        return decide.act(rs, step.trigger, step.by, step.role, step.note)
    if step.check is not None:
        return decide.check(rs, step.check, step.by, step.role, step.note)
    return decide.note(rs, step.note or "", step.by, step.role)
