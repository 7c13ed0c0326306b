"""Inject expectations (SPEC §6): each one's verdict and why, from the record alone.

An expectation is met when its action happens in its window, by someone acting in its role;
late when it happens after; missed when the window closes (or the run resolves) without it;
pending while the run is open; void when the run ended before the inject was delivered, or was
aborted or timed out before the window closed (SPEC §5). An action done by someone not acting in
the expected role does not count, and the missed verdict says who did it and who held the role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drillkit.engine.fields import actor, reads_a_line
from drillkit.engine.reasons import Why, at
from drillkit.engine.replay import RunState, last_event
from drillkit.model.events import EventType
from drillkit.model.plans import Expect, Inject
from drillkit.store.files import effective_t
from drillkit.store.port import Event

# bound once: the action filter walks every event of every run in a first report
_TRANSITION, _CHECK_DONE = EventType.TRANSITION, EventType.CHECK_DONE
_ACTIONS = frozenset((_TRANSITION, _CHECK_DONE))


@dataclass(frozen=True)
class Ending:
    """How and when (drill time) a run ended."""

    outcome: str
    t: float


def run_end(rs: RunState, events: list[Event]) -> Ending | None:
    """How the run ended (None while it is open)."""
    return Ending(rs.outcome, effective_t(last_event(events))) if rs.outcome is not None else None


def expectation_rows(rs: RunState, events: list[Event]) -> list[dict[str, Any]]:
    """Each inject's expectation, with its verdict and why. A run that ended before an inject
    was delivered, or (aborted or timed out) before its window closed, is `void` for it: an
    aborted drill charges no one for what it never reached."""
    if rs.scenario is None:
        return []
    actions = [e for e in events if e["event"] in _ACTIONS]
    ending = run_end(rs, events)
    return [
        _expectation(rs, inject, inject.expect, _Actions(actions, events), ending)
        for inject in rs.scenario.injects
        if inject.expect is not None
    ]


@dataclass(frozen=True)
class _Actions:
    """The transitions and checks of a run, and the whole record (for who held a role when)."""

    done: list[Event]
    events: list[Event]


def _expectation(
    rs: RunState, inject: Inject, expect: Expect, actions: _Actions, ending: Ending | None
) -> dict[str, Any]:
    due = float(inject.at + expect.within)
    hit = _matching(actions.done, expect, float(inject.at), expect.role)
    at_ = effective_t(hit) if hit else None
    row = {
        "inject": inject.id,
        "expect": expect.action,
        "within": expect.within,
        "role": expect.role,
        "due": due,
        "at": at_,
        "by": actor(hit) if hit else None,
    }
    why = _expectation_verdict(rs, inject, expect, row, actions=actions, ending=ending)
    return {**row, "verdict": why.verdict, "why": why}


def _expectation_verdict(
    rs: RunState, inject: Inject, expect: Expect, row: dict[str, Any], *, actions: _Actions, ending: Ending | None
) -> Why:
    action, due = expect.action.partition(":")[2], float(row["due"])
    if row["at"] is not None:
        verdict = "met" if row["at"] <= due else "late"
        key = "done_before" if row["at"] < inject.at else "done"
        return Why(verdict, key, action=action, at=at(row["at"]), by=row["by"], due=at(due))
    if ending is None:
        return Why("pending", "awaited", action=action, due=at(due))
    if inject.id not in rs.delivered:
        return Why("void", "void_undelivered", outcome=ending.outcome, end=at(ending.t), inject_at=at(inject.at))
    if ending.outcome != "resolved" and due > ending.t:
        return Why("void", "void_not_due", outcome=ending.outcome, end=at(ending.t), action=action, due=at(due))
    return _missed(expect, float(inject.at), due, actions=actions, ending=ending)


def _missed(expect: Expect, since: float, due: float, *, actions: _Actions, ending: Ending) -> Why:
    """Why an expectation whose window closed (or whose run resolved) without its action is missed:
    an action done by someone not acting in the expected role (`since`: the inject's time) says so."""
    action = expect.action.partition(":")[2]
    wrong = _matching(actions.done, expect, since, role=None) if expect.role is not None else None
    if wrong is not None and expect.role is not None:
        return _done_in_wrong_role(actions.events, wrong, action, expect.role)
    if due > ending.t:
        return Why("missed", "resolved_without_action", end=at(ending.t), action=action)
    return Why("missed", "not_done", action=action, due=at(due))


def _done_in_wrong_role(events: list[Event], done: Event, action: str, role: str) -> Why:
    """Why an expected action done by someone not acting in the expected role does not count."""
    when, by = effective_t(done), actor(done)
    held = _holders(events, role)
    since, holder = next(((t, p) for t, p in reversed(held) if t <= when), (0.0, None))
    common = {"action": action, "at": at(when), "by": by, "role": role}
    if holder == by:
        return Why("missed", "other_role", **common, acted=done.get("role") or "-")
    if any(person == by for _t, person in held):
        return Why("missed", "no_longer_held", **common, holder=holder or "-", since=at(since))
    return Why("missed", "never_held", **common)


def _holders(events: list[Event], role: str) -> list[tuple[float, str]]:
    """Who held `role` from when, in order: the run's participants, then every `assigned`."""
    first = (events[0].get("participants") or {}).get(role)
    found = [(0.0, str(first))] if first else []
    assigned = [e for e in events if e["event"] == EventType.ASSIGNED and e["role"] == role]
    return found + [(float(e["t"]), str(e["person"])) for e in assigned]


def _matching(events: list[Event], expect: Expect, since: float, role: str | None) -> Event | None:
    """The first matching action, in `role` (None: in any), at or after the inject. A checklist
    item ticked before it counts too (an item is done once a run); a transition before it does
    not: it answered something else (a containment before a second wave is not a response to the
    second wave)."""
    found = [e for e in events if _is_action(e, expect) and (role is None or e.get("role") == role)]
    after = [e for e in found if effective_t(e) >= since]
    early = found if expect.check is not None else []
    candidates = after or early
    return candidates[0] if candidates else None


@reads_a_line
def _is_action(event: Event, expect: Expect) -> bool:
    if expect.trigger is not None:
        return bool(event["event"] == _TRANSITION and event["trigger"] == expect.trigger)
    return bool(event["event"] == _CHECK_DONE and event["item"] == expect.check)
