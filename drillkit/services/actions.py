"""The commands that write to a run: each one locked append (`runs.apply`) of what the engine decides."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drillkit.config.workspace import Workspace
from drillkit.engine import decide
from drillkit.model.clock import Clock
from drillkit.model.errors import UsageError
from drillkit.services.people import acting_person
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


def act(
    ws: Workspace, clock: Clock, run: str, trigger: str, *, who: str, role: str | None, note: str | None
) -> list[Event]:
    return apply(ws, clock, run, lambda rs: decide.act(rs, trigger, who, role, note))


def check(
    ws: Workspace, clock: Clock, run: str, item: str, *, who: str, role: str | None, note: str | None
) -> list[Event]:
    return apply(ws, clock, run, lambda rs: decide.check(rs, item, who, role, note))


def add_note(ws: Workspace, clock: Clock, run: str, text: str, *, who: str) -> list[Event]:
    return apply(ws, clock, run, lambda rs: decide.note(rs, text, who, None))


def annotate(ws: Workspace, clock: Clock, run: str, seq: int, text: str, *, who: str) -> list[Event]:
    return apply(ws, clock, run, lambda rs: decide.annotate(rs, seq, text, who))


def observe(  # one parameter per option of `drill observe`
    ws: Workspace,
    clock: Clock,
    run: str,
    objective: str,
    rating: str,
    *,
    who: str,
    strength: str | None,
    improve: str | None,
) -> list[Event]:
    return apply(
        ws, clock, run, lambda rs: decide.observe(rs, objective, rating, who, strength=strength, improve=improve)
    )


def feedback(ws: Workspace, clock: Clock, run: str, text: str, *, who: str) -> list[Event]:
    return apply(ws, clock, run, lambda rs: decide.feedback(rs, text, who))


def assign(ws: Workspace, clock: Clock, run: str, role: str, person: str, *, who: str) -> list[Event]:
    """`person` as `check_name` left it."""
    return apply(ws, clock, run, lambda rs: decide.assign(rs, role, person, who))


def change_severity(ws: Workspace, clock: Clock, run: str, level: str, *, who: str, reason: str) -> list[Event]:
    return apply(ws, clock, run, lambda rs: decide.severity(rs, level, who, reason))


def abort(ws: Workspace, clock: Clock, run: str, *, who: str, reason: str) -> list[Event]:
    return apply(ws, clock, run, lambda rs: decide.abort(rs, who, reason))
