"""Decisions on responder commands: a command against a run state gives new events or a
rejection that names what is allowed now. Pure: no I/O, no clock."""

from __future__ import annotations

from drillkit.engine.machine import Attempt
from drillkit.engine.replay import EVALUATOR, RunState, ended_draft, final_drafts
from drillkit.model.durations import format_clock
from drillkit.model.errors import Rejected
from drillkit.model.events import EventType
from drillkit.model.plans import RATINGS
from drillkit.store.port import Event


def _names(values: list[str] | set[str]) -> str:
    return ", ".join(sorted(values)) if values else "(none)"


def live(rs: RunState) -> None:
    if rs.ended:
        raise Rejected(f"run {rs.run} has ended ({rs.outcome}); nothing more can be recorded")


def acting_role(rs: RunState, by: str, role: str | None) -> str | None:
    """`--role`, checked; else the one role the person holds in the run, if exactly one."""
    held = rs.roles_of(by)
    if role is None:
        return held[0] if len(held) == 1 else None
    if role not in rs.playbook.roles:
        raise Rejected(f"unknown role {role!r}; roles of this playbook: {_names(list(rs.playbook.roles))}")
    if role not in held:
        raise Rejected(
            f"{by} does not hold role {role!r} in this run (holds: {_names(held)}); "
            f"use `drill assign RUN {role} {by}` first"
        )
    return role


def _who(by: str, role: str | None, rs: RunState) -> str:
    if role is not None:
        return f"{by} ({role})"
    held = rs.roles_of(by)
    return f"{by} (holds {_names(held)}: pass --role)" if held else f"{by} (no role)"


def act(rs: RunState, trigger: str, by: str, role: str | None, note: str | None) -> list[Event]:
    live(rs)
    role = acting_role(rs, by, role)
    attempt = Attempt(role=role, done=set(rs.checks))
    target = rs.machine.fire(rs.state, trigger, attempt)
    if target is None:
        raise Rejected(_act_refusal(rs, trigger, by, role, attempt.refusals))
    move = {
        "event": EventType.TRANSITION,
        "actor": by,
        "role": role,
        "trigger": trigger,
        "from": rs.state,
        "to": target,
        "note": note,
    }
    return [move, *final_drafts(rs, target)]


def _act_refusal(rs: RunState, trigger: str, by: str, role: str | None, refusals: list[str]) -> str:
    allowed = f"allowed now for {_who(by, role, rs)}: {_names(rs.allowed_triggers(role))}"
    known = {t.trigger for t in rs.playbook.transitions}
    if trigger not in known:
        return f"unknown trigger {trigger!r}; {allowed}"
    if rs.machine.transition(rs.state, trigger) is None:
        return f"trigger {trigger!r} is not valid in state {rs.state!r}; {allowed}"
    return f"{'; '.join(refusals)}; {allowed}"


def check(rs: RunState, item: str, by: str, role: str | None, note: str | None) -> list[Event]:
    live(rs)
    role = acting_role(rs, by, role)
    if item not in rs.playbook.checklist_owner():
        raise Rejected(f"unknown checklist item {item!r}; open items: {_names(rs.open_items())}")
    if item in rs.checks:
        done = rs.checks[item]
        raise Rejected(
            f"checklist item {item!r} was already done by {done.by} at {format_clock(done.t)}; "
            f"open items: {_names(rs.open_items())}"
        )
    return [{"event": EventType.CHECK_DONE, "actor": by, "role": role, "item": item, "state": rs.state, "note": note}]


def note(rs: RunState, text: str, by: str, role: str | None) -> list[Event]:
    live(rs)
    if not text.strip():
        raise Rejected("a note needs some text")
    return [{"event": EventType.NOTE, "actor": by, "role": acting_role(rs, by, role), "text": text}]


def assign(rs: RunState, role: str, person: str, by: str) -> list[Event]:
    live(rs)
    if role == EVALUATOR and rs.mode != "drill":
        raise Rejected(f"run {rs.run} is {_a(rs.mode)}: evaluators rate drills only (mode drill)")
    if role not in rs.playbook.roles and role != EVALUATOR:
        raise Rejected(f"unknown role {role!r}; roles of this playbook: {_names(list(rs.playbook.roles))}, {EVALUATOR}")
    if not person.strip():
        raise Rejected("assign needs a person's name")
    # SPEC §4: in `assigned`, `role` is the role given (it takes the place of the actor's role).
    return [{"event": EventType.ASSIGNED, "actor": by, "role": role, "person": person}]


def severity(rs: RunState, named: str, by: str, reason: str) -> list[Event]:
    """`named` may be the id, a label or a grade name (`Playbook.severity_named`); the id is recorded."""
    live(rs)
    to = rs.playbook.severity_named(named)
    if to is None:
        raise Rejected(f"unknown severity {named!r}; allowed: {rs.playbook.severity_choices()}")
    if to == rs.severity:
        raise Rejected(f"severity is already {to}; allowed: {_names(set(rs.playbook.severities) - {to})}")
    if not reason.strip():
        raise Rejected("a severity change needs --reason")
    return [
        {
            "event": EventType.SEVERITY_CHANGED,
            "actor": by,
            "role": acting_role(rs, by, None),
            "from": rs.severity,
            "to": to,
            "reason": reason,
        }
    ]


def abort(rs: RunState, by: str, reason: str) -> list[Event]:
    live(rs)
    if not reason.strip():
        raise Rejected("abort needs --reason")
    ended = ended_draft(rs, "aborted", reason)
    return [{**ended, "actor": by, "role": acting_role(rs, by, None)}]


def annotate(rs: RunState, seq: int, text: str, by: str) -> list[Event]:
    """A correction or context for event `seq` of an ended run (SPEC §5); the event itself stays."""
    if not rs.ended:
        raise Rejected(f"run {rs.run} has not ended; annotate it once it has, or add a note now with `drill note`")
    if not 1 <= seq <= rs.seq:
        raise Rejected(f"run {rs.run} has no event {seq}; its events are 1 to {rs.seq} (see `drill timeline`)")
    if not text.strip():
        raise Rejected("an annotation needs some text")
    return [{"event": EventType.ANNOTATION, "actor": by, "role": acting_role(rs, by, None), "of": seq, "text": text}]


def observe(
    rs: RunState, objective: str, rating: str, by: str, *, strength: str | None, improve: str | None
) -> list[Event]:
    """An evaluator's rating of an objective of a drill (SPEC §10), during the run or after it ends."""
    _evaluated(rs)
    assert rs.scenario is not None  # a drill without a scenario has no objectives: `_evaluated`
    evaluators = rs.all_evaluators()
    if by not in evaluators:
        raise Rejected(f"{by} is not an evaluator of run {rs.run}; evaluators: {_names(evaluators)}")
    if objective not in rs.scenario.objectives:
        raise Rejected(f"unknown objective {objective!r}; objectives: {_names(list(rs.scenario.objectives))}")
    if rating not in RATINGS:
        raise Rejected(f"unknown rating {rating!r}; allowed: {', '.join(RATINGS)}")
    return [
        {
            "event": EventType.OBSERVATION,
            "actor": by,
            "role": None,
            "objective": objective,
            "rating": rating,
            "strength": _text_or_none(strength),
            "improve": _text_or_none(improve),
        }
    ]


def feedback(rs: RunState, text: str, by: str) -> list[Event]:
    """A participant's feedback (hot wash), during the run or after it ends."""
    if rs.mode != "drill":
        raise Rejected(f"run {rs.run} is {_a(rs.mode)}: feedback is kept for drills only")
    if not text.strip():
        raise Rejected("feedback needs some text")
    return [{"event": EventType.FEEDBACK, "actor": by, "role": acting_role(rs, by, None), "text": text}]


def _evaluated(rs: RunState) -> None:
    if rs.mode != "drill":
        raise Rejected(f"run {rs.run} is {_a(rs.mode)}: only drills are rated (mode drill)")
    if rs.scenario is None or not rs.scenario.objectives:
        raise Rejected(f"run {rs.run} has no objectives: its scenario declares none")


def _a(mode: str) -> str:
    return "an incident" if mode == "incident" else f"a {mode}"


def _text_or_none(text: str | None) -> str | None:
    return text if text and text.strip() else None
