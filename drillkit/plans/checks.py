"""Rules beyond the schema (SPEC §2, §3): references, reachability, timing.

Each check yields (path, message); the caller maps the path to FILE:LINE:COLUMN.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from drillkit.model.durations import format_drill_time
from drillkit.model.planfiles import Inject, Scenario, Step
from drillkit.model.plans import GRADES, Playbook
from drillkit.plans.loader import Path_

Found = Iterator[tuple[Path_, str]]


def _names(values: object) -> str:
    names = sorted(str(v) for v in values)  # type: ignore[attr-defined]
    return ", ".join(names) if names else "(none)"


def check_playbook(pb: Playbook, stem: str | None) -> Found:
    if stem is not None and pb.playbook != stem:
        yield ("playbook",), f"playbook id {pb.playbook!r} must equal the file name {stem!r}"
    yield from _initial_and_final(pb)
    yield from _state_refs(pb)
    yield from _transition_refs(pb)
    yield from _metric_refs(pb)
    yield from _reachability(pb)


def _initial_and_final(pb: Playbook) -> Found:
    initial = [name for name, state in pb.states.items() if state.initial]
    if len(initial) != 1:
        yield ("states",), f"exactly one state must be 'initial: true'; found {len(initial)}"
    if not any(state.final for state in pb.states.values()):
        yield ("states",), "at least one state must be 'final: true'"
    for name, state in pb.states.items():
        if state.initial and state.final:
            yield ("states", name), f"state {name!r} cannot be both initial and final"


def _severity_keys(pb: Playbook, values: dict[str, int] | None, path: Path_) -> Found:
    for key in values or {}:
        if key != "default" and key not in pb.severities:
            yield (*path, key), f"unknown severity {key!r}; allowed: {_names(pb.severities)}, default"


def _state_refs(pb: Playbook) -> Found:
    seen: dict[str, str] = {}
    for name, state in pb.states.items():
        path = ("states", name)
        if state.owner is not None and state.owner not in pb.roles:
            yield (*path, "owner"), f"unknown role {state.owner!r}; allowed: {_names(pb.roles)}"
        yield from _severity_keys(pb, state.deadline, (*path, "deadline"))
        yield from _on_deadline(pb, name)
        for item in state.checklist:
            if item in seen:
                yield (*path, "checklist", item), f"checklist item {item!r} is already listed in state {seen[item]!r}"
            seen.setdefault(item, name)


def _on_deadline(pb: Playbook, name: str) -> Found:
    state = pb.states[name]
    path = ("states", name)
    if state.on_deadline is None:
        return
    if state.deadline is None:
        yield (*path, "on_deadline"), "'on_deadline' needs a 'deadline' in the same state"
    leaving = {t.trigger for t in pb.transitions if name in t.source}
    if state.on_deadline not in leaving:
        yield (
            (*path, "on_deadline"),
            (f"on_deadline trigger {state.on_deadline!r} does not leave state {name!r}; allowed: {_names(leaving)}"),
        )


def _transition_refs(pb: Playbook) -> Found:
    items = pb.checklist_owner()
    sources: dict[str, set[str]] = {}
    for index, tr in enumerate(pb.transitions):
        path: Path_ = ("transitions", index)
        for state in [*tr.source, tr.to]:
            if state not in pb.states:
                yield path, f"unknown state {state!r}; allowed: {_names(pb.states)}"
        for role in tr.roles or []:
            if role not in pb.roles:
                yield (*path, "roles"), f"unknown role {role!r}; allowed: {_names(pb.roles)}"
        for item in tr.requires:
            if item not in items:
                yield (*path, "requires"), f"unknown checklist item {item!r}; allowed: {_names(items)}"
        for state in tr.source:
            if pb.states.get(state) is not None and pb.states[state].final:
                yield path, f"transition {tr.trigger!r} leaves final state {state!r}"
        overlap = sources.setdefault(tr.trigger, set()) & set(tr.source)
        if overlap:
            yield path, f"trigger {tr.trigger!r} already leaves {_names(overlap)}: 'from' must not overlap"
        sources[tr.trigger] |= set(tr.source)


def _metric_refs(pb: Playbook) -> Found:
    items = pb.checklist_owner()
    for name, metric in pb.metrics.items():
        path = ("metrics", name)
        if metric.source != "start" and metric.source not in pb.states:
            yield (*path, "from"), f"unknown state {metric.source!r}; allowed: start, {_names(pb.states)}"
        if metric.to.startswith("check:"):
            if metric.to.removeprefix("check:") not in items:
                yield (*path, "to"), f"unknown checklist item in {metric.to!r}; allowed: {_names(items)}"
        elif metric.to not in pb.states:
            yield (*path, "to"), f"unknown state {metric.to!r}; allowed: a state or check:<item>"
        if metric.owner is not None and metric.owner not in pb.roles:
            yield (*path, "owner"), f"unknown role {metric.owner!r}; allowed: {_names(pb.roles)}"
        yield from _severity_keys(pb, metric.target, (*path, "target"))


def _reachability(pb: Playbook) -> Found:
    edges = {name: set() for name in pb.states}  # type: dict[str, set[str]]
    for tr in pb.transitions:
        for source in tr.source:
            if source in edges and tr.to in pb.states:
                edges[source].add(tr.to)
    initial = [name for name, state in pb.states.items() if state.initial]
    if len(initial) != 1:
        return
    reached = _closure(initial[0], edges)
    for name in pb.states:
        if name not in reached:
            yield ("states", name), f"state {name!r} cannot be reached from the initial state"
    finals = {name for name, state in pb.states.items() if state.final}
    if not finals:
        return  # already reported once by _initial_and_final
    for name in pb.states:  # in the file's order, so the report reads the same every run
        if name in reached and not finals & _closure(name, edges):
            yield ("states", name), f"no final state can be reached from state {name!r}"


def _closure(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        for nxt in edges[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def check_scenario(sc: Scenario, pb: Playbook | str, stem: str | None) -> Found:
    """The scenario's problems against its playbook (`pb`: why there is none to check against)."""
    if stem is not None and sc.scenario != stem:
        yield ("scenario",), f"scenario id {sc.scenario!r} must equal the file name {stem!r}"
    yield from _timing(sc)
    if isinstance(pb, str):
        yield ("playbook",), pb
        return
    if sc.severity not in pb.severities:
        yield ("severity",), f"unknown severity {sc.severity!r}; allowed: {_names(pb.severities)}"
    for role in sc.participants:
        if role not in pb.roles:
            yield ("participants", role), f"unknown role {role!r}; allowed: {_names(pb.roles)}"
    yield from _inject_refs(sc, pb)
    yield from _script_refs(sc, pb)
    yield from _allowed_breaches(sc, pb)
    yield from _objective_refs(sc, pb)
    yield from _grade_order(sc)


def _objective_refs(sc: Scenario, pb: Playbook) -> Found:
    """Evidence names an inject of this scenario or a metric of its playbook (SPEC §10)."""
    known = {inject.id for inject in sc.injects} | set(pb.metrics)
    for name, objective in sc.objectives.items():
        for index, evidence in enumerate(objective.evidence):
            if evidence not in known:
                yield (
                    ("objectives", name, "evidence", index),
                    f"evidence {evidence!r} names no inject or metric; allowed: {_names(known)}",
                )


def _grade_order(sc: Scenario) -> Found:
    grades = sc.scoring.grades if sc.scoring else {}
    least = [grades[grade] for grade in GRADES if grade in grades]
    if least != sorted(least, reverse=True):
        yield ("scoring", "grades"), "grade thresholds must fall from 优秀 to 良好 to 合格"


def _allowed_breaches(sc: Scenario, pb: Playbook) -> Found:
    for index, entry in enumerate(sc.allow_breaches):
        kind, _, name = entry.partition(":")
        known = pb.states if kind == "state" else pb.metrics
        if name not in known:
            yield ("allow_breaches", index), f"unknown {kind} {name!r}; allowed: {_names(known)}"


def _timing(sc: Scenario) -> Found:
    ids: set[str] = set()
    timed: tuple[tuple[str, Sequence[Inject | Step]], ...] = (("injects", sc.injects), ("script", sc.script))
    for kind, entries in timed:
        last: float = 0
        for index, entry in enumerate(entries):
            if entry.at > sc.time_limit:
                yield (kind, index, "at"), f"'at' lies after the time_limit ({format_drill_time(sc.time_limit)})"
            if entry.at < last:
                yield (kind, index, "at"), f"{kind} must be in time order ('at' before the previous entry)"
            last = max(last, entry.at)
    for index, inject in enumerate(sc.injects):
        if inject.id in ids:
            yield ("injects", index, "id"), f"inject id {inject.id!r} is used twice"
        ids.add(inject.id)


def _action_refs(pb: Playbook, trigger: str | None, check: str | None, path: Path_) -> Found:
    triggers = {t.trigger for t in pb.transitions}
    items = pb.checklist_owner()
    if trigger is not None and trigger not in triggers:
        yield (*path, "trigger"), f"unknown trigger {trigger!r}; allowed: {_names(triggers)}"
    if check is not None and check not in items:
        yield (*path, "check"), f"unknown checklist item {check!r}; allowed: {_names(items)}"


def _inject_refs(sc: Scenario, pb: Playbook) -> Found:
    for index, inject in enumerate(sc.injects):
        if inject.expect is None:
            continue
        path: Path_ = ("injects", index, "expect")
        yield from _action_refs(pb, inject.expect.trigger, inject.expect.check, path)
        if inject.expect.role is not None and inject.expect.role not in pb.roles:
            yield (*path, "role"), f"unknown role {inject.expect.role!r}; allowed: {_names(pb.roles)}"


def _script_refs(sc: Scenario, pb: Playbook) -> Found:
    """Each step against the run as the script leaves it so far: hand-overs change who holds a
    role (and bring people in), severity changes the severity."""
    holders, severity = dict(sc.participants), sc.severity
    people = set(holders.values())
    for index, step in enumerate(sc.script):
        path: Path_ = ("script", index)
        yield from _action_refs(pb, step.trigger, step.check, path)
        yield from _step_person(step, holders, people, path)
        if step.severity is not None:
            yield from _severity_step(pb, step.severity, severity, path)
            severity = pb.severity_named(step.severity) or severity
        if step.assign is not None and step.person is not None:
            if step.assign not in pb.roles:
                yield (*path, "assign"), f"unknown role {step.assign!r}; allowed: {_names(pb.roles)}"
            holders[step.assign] = step.person
            people.add(step.person)


def _step_person(step: Step, holders: dict[str, str], people: set[str], path: Path_) -> Found:
    """`by` is one of the run's people so far; `role` (or the lack of one) fits what they hold."""
    held = [role for role, person in holders.items() if person == step.by]
    if step.by not in people:
        yield (*path, "by"), f"{step.by!r} is not a participant; participants: {_names(people)}"
    elif step.role is not None and step.role not in held:
        yield (*path, "role"), f"{step.by!r} does not hold role {step.role!r}; holds: {_names(held)}"
    elif step.role is None and len(held) > 1 and step.severity is None and step.assign is None:
        yield (*path, "by"), f"{step.by!r} holds several roles ({_names(held)}): add 'role:'"


def _severity_step(pb: Playbook, named: str, current: str, path: Path_) -> Found:
    found = pb.severity_named(named)
    if found is None:
        yield (*path, "severity"), f"unknown severity {named!r}; allowed: {_names(pb.severities)}"
    elif found == current:
        others = set(pb.severities) - {found}
        yield (*path, "severity"), f"severity is already {found} here; allowed: {_names(others)}"
