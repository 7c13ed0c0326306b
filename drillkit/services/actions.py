"""The commands that write to a run: each one locked append (`runs.apply`) of what the engine decides."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from drillkit.config.workspace import Workspace
from drillkit.engine import decide
from drillkit.engine.people import Who, acting_name, on_roster
from drillkit.engine.replay import RunState
from drillkit.model.clock import Clock
from drillkit.model.errors import UsageError
from drillkit.services.people import acting_person, person_outside_a_run
from drillkit.services.runs import apply, open_incident
from drillkit.store.port import Event

if TYPE_CHECKING:
    from drillkit.services.views import Tell


def open_run(
    ws: Workspace,
    clock: Clock,
    playbook: str,
    *,
    severity: str,
    by: str | None,
    title: str | None,
    assignments: list[str],
    tell: Tell,
) -> str:
    """`drill open`: a real incident is opened even when drill.toml's notifiers are broken, but not silently."""
    _tell_if_notifiers_broken(ws, tell)
    return open_incident(
        ws, clock, playbook, severity=severity, by=acting_person(by), title=title, assignments=assignments
    )


def _tell_if_notifiers_broken(ws: Workspace, tell: Tell) -> None:
    from drillkit.config.notifiers import parse_notifiers

    notifiers = ws.config().notify  # a drill.toml that cannot be read at all stops the command
    try:
        parse_notifiers(notifiers)
    except UsageError as err:
        tell(f"drill: warning: {err}; no conductor or notifier will run until drill.toml is fixed")


def _acting(ws: Workspace, who: Who, *, after_end: bool = False) -> Callable[[RunState], str]:
    """Who acts, settled against the run as the append finds it: one of its people, or on the
    roster (SPEC §5). An ended run is refused as ended first, whoever asks (but `after_end`)."""
    roster = ws.config().people

    def settled(rs: RunState) -> str:
        if not after_end:
            decide.live(rs)
        return acting_name(who, rs.people | set(roster), "in this run")

    return settled


def act(
    ws: Workspace, clock: Clock, run: str, trigger: str, *, who: Who, role: str | None, note: str | None
) -> list[Event]:
    by = _acting(ws, who)
    return apply(ws, clock, run, lambda rs: decide.act(rs, trigger, by(rs), role, note))


def check(
    ws: Workspace, clock: Clock, run: str, item: str, *, who: Who, role: str | None, note: str | None
) -> list[Event]:
    by = _acting(ws, who)
    return apply(ws, clock, run, lambda rs: decide.check(rs, item, by(rs), role, note))


def add_note(ws: Workspace, clock: Clock, run: str, text: str, *, who: Who) -> list[Event]:
    by = _acting(ws, who)
    return apply(ws, clock, run, lambda rs: decide.note(rs, text, by(rs), None))


def annotate(ws: Workspace, clock: Clock, run: str, seq: int, text: str, *, who: Who) -> list[Event]:
    """After the end: by one of the run's people, or someone on the roster, like any command."""
    by = _acting(ws, who, after_end=True)
    return apply(ws, clock, run, lambda rs: decide.annotate(rs, seq, text, by(rs)))


def assign(ws: Workspace, clock: Clock, run: str, role: str, person: str, *, who: Who) -> list[Event]:
    """`person` as `check_person` left it: anyone without a roster (named on purpose), else
    someone on it."""
    by, brought_in = _acting(ws, who), on_roster(person, ws.config().people, "person")
    return apply(ws, clock, run, lambda rs: decide.assign(rs, role, brought_in, by(rs)))


def observe(  # one parameter per option of `drill observe`
    ws: Workspace,
    clock: Clock,
    run: str,
    objective: str,
    rating: str,
    *,
    who: Who,
    strength: str | None,
    improve: str | None,
) -> list[Event]:
    """By one of the run's evaluators, during the run or after it: the engine checks the run is a
    drill and who its evaluators are, and names them when someone else asks."""
    by = person_outside_a_run(ws, who)
    return apply(
        ws, clock, run, lambda rs: decide.observe(rs, objective, rating, by, strength=strength, improve=improve)
    )


def feedback(ws: Workspace, clock: Clock, run: str, text: str, *, who: Who) -> list[Event]:
    by = _acting(ws, who, after_end=True)
    return apply(ws, clock, run, lambda rs: decide.feedback(rs, text, by(rs)))


def change_severity(ws: Workspace, clock: Clock, run: str, level: str, *, who: Who, reason: str) -> list[Event]:
    by = _acting(ws, who)
    return apply(ws, clock, run, lambda rs: decide.severity(rs, level, by(rs), reason))


def abort(ws: Workspace, clock: Clock, run: str, *, who: Who, reason: str) -> list[Event]:
    by = _acting(ws, who)
    return apply(ws, clock, run, lambda rs: decide.abort(rs, by(rs), reason))
