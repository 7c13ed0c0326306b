"""Measurement from the record alone (SPEC §6): metrics, expectations, breaches, checklist.

`run_document` gives the JSON document every export and `drill simulate --json` share. Times
are drill-clock seconds since the run's start; a system transition caught up late counts from
its `due` time, the moment it took effect. `state_spans` and `accountability` are the derived
tables the human-readable exports add to it.

The person held responsible for something due at drill time `t` is whoever held the owner role
just before `t`: the run's participants, followed through every `assigned` event recorded
earlier than `t` (a reassignment at the very moment a deadline passes comes too late for it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from drillkit.engine.evaluation import evaluation
from drillkit.engine.expectations import Ending, expectation_rows, run_end
from drillkit.engine.fields import actor, reads_a_line, took_effect
from drillkit.engine.reasons import Why, at
from drillkit.engine.replay import RunState, breach_what, last_event, stay_deadline
from drillkit.model.clock import format_utc
from drillkit.model.events import EventType
from drillkit.model.plans import Playbook, for_severity
from drillkit.store.files import effective_t
from drillkit.store.port import Event

# The event kinds the filters below test, bound once: these filters walk every event of every run
# in a first report (a million of them), and each `EventType.X` lookup costs an enum attribute access.
_BREACHED, _SEVERITY = EventType.DEADLINE_BREACHED, EventType.SEVERITY_CHANGED
_TRANSITION = EventType.TRANSITION
_JUDGING = frozenset((_BREACHED, _SEVERITY))


def run_document(events: list[Event], integrity: dict[str, Any]) -> dict[str, Any]:
    """The SPEC §6 document. A breach's `late_by` is the accountability figure: how long after
    `due` the obligation was met (None while it is not); the event's own `late_by` says how
    late the breach was recorded."""
    rs = RunState.replay(events)
    metrics = metric_rows(rs, events)
    expectations = expectation_rows(rs, events)
    document = {
        "run": _run(rs, events),
        "metrics": metrics,
        "expectations": expectations,
        "breaches": _breaches(_Judged(rs, events, state_spans(events))),
        "checklist": _checklist(rs),
        "events": events,
        "integrity": integrity,
    }
    if rs.scenario is not None and rs.scenario.objectives:  # SPEC §10; other documents stay as they were
        verdicts = {row["inject"]: row["verdict"] for row in expectations} | {m["name"]: m["verdict"] for m in metrics}
        document["evaluation"] = evaluation(rs.scenario, rs.all_evaluators(), events, verdicts)
    return document


def _run(rs: RunState, events: list[Event]) -> dict[str, Any]:
    first, last = events[0], last_event(events)
    return {
        "id": rs.run,
        "mode": rs.mode,
        "playbook": rs.playbook.playbook,
        "version": rs.playbook.version,
        "scenario": rs.scenario.scenario if rs.scenario else None,
        "title": first.get("title"),
        "severity": rs.severity,
        "participants": rs.participants,
        "started": first["ts"],
        "ended": _ended_at(last, rs) if rs.ended else None,
        "outcome": rs.outcome,
        "state": rs.state,
    }


@reads_a_line
def _ended_at(end: Event, rs: RunState) -> str:
    """When the run ended: a time limit caught up late ended it at its `due` time, not when the
    end was written down."""
    if "due" not in end:
        return str(end["ts"])
    try:
        return format_utc(rs.started + timedelta(seconds=effective_t(end) / rs.speed))
    except OverflowError:  # a hand-edited speed near 0: the end lies past any date
        at = f"T+{effective_t(end):g}s at speed {rs.speed:g}"
        raise ValueError(f"its time-limit end, {at}, lies past year 9999") from None


def metric_rows(rs: RunState, events: list[Event]) -> list[dict[str, Any]]:
    """Each metric with the target in force when its end was reached (the run's severity at the
    time; now, while it is not): a later severity change does not judge it again."""
    # one pass over the record (mostly notes) for all the metrics, not one per metric
    judging = [e for e in events if e["event"] in _JUDGING]
    breached = {e["metric"] for e in judging if e["event"] == _BREACHED and e.get("metric")}
    changes = [e for e in judging if e["event"] == _SEVERITY]
    ending = run_end(rs, events)
    rows = []
    for name, metric in rs.playbook.metrics.items():
        begin = 0.0 if metric.source == "start" else rs.first_entry.get(metric.source)
        end = _reached_at(rs, metric.to)
        value = round(max(0.0, end - begin), 3) if begin is not None and end is not None else None
        severity, since = _severity_at(events[0], changes, end) if end is not None else (rs.severity, rs.severity_since)
        target = for_severity(metric.target, severity)
        # a tightened target counts from the change, never before it (as the engine's deadlines do)
        allowed = None if target is None else max(float(target), since - (begin or 0.0))
        measured = _Measured(
            source=metric.source,
            to=metric.to,
            severity=severity,
            due=None if allowed is None or begin is None else round(begin + allowed, 3),
            reached=end,
            by=_reached_by(rs, events, metric.to),
            late=allowed is not None and value is not None and value > allowed,
            breached=name in breached,
        )
        why = _metric_verdict(measured, allowed is not None, ending)
        rows.append(
            {
                "name": name,
                "from": metric.source,
                "to": metric.to,
                "owner": metric.owner,
                "target": target,
                "value": value,
                "verdict": why.verdict,
                "why": why,
            }
        )
    return rows


def _severity_at(started: Event, changes: list[Event], t: float) -> tuple[str, float]:
    """The severity in force at drill time `t`, and the drill time it took effect, from the run's
    first event and its `severity.changed` events."""
    severity, since = str(started["severity"]), 0.0
    for event in changes:
        if effective_t(event) <= t:
            severity, since = str(event["to"]), effective_t(event)
    return severity, since


def _reached_at(rs: RunState, target: str) -> float | None:
    if target.startswith("check:"):
        done = rs.checks.get(target.removeprefix("check:"))
        return done.t if done else None
    return rs.first_entry.get(target)


def _reached_by(rs: RunState, events: list[Event], target: str) -> str | None:
    """Who reached a metric's end: the person who checked the item or first entered the state."""
    if target.startswith("check:"):
        done = rs.checks.get(target.removeprefix("check:"))
        return done.by if done else None
    entry = next((e for e in events if e["event"] == _TRANSITION and e["to"] == target), None)
    return actor(entry) if entry else None


@dataclass(frozen=True, kw_only=True)
class _Measured:
    """A metric as measured, for its verdict: `due` is its drill due time (None: no target, or
    its start never came), `reached` when its end was reached (None: not yet)."""

    source: str
    to: str
    severity: str
    due: float | None
    reached: float | None
    by: str | None
    late: bool
    breached: bool  # a recorded breach is final


def _metric_verdict(m: _Measured, has_target: bool, ending: Ending | None) -> Why:
    """`missed` means the target passed or the run resolved without reaching the end; a run
    aborted or timed out before either is `void` for it (SPEC §5)."""
    if not has_target:
        return Why("unmeasured", "no_target", severity=m.severity)
    if m.reached is not None:
        verdict = "missed" if m.late or m.breached else "met"
        return Why(verdict, "reached", to=m.to, at=at(m.reached), by=m.by or "-", due=at(m.due))
    if m.breached or (ending is not None and m.due is not None and m.due <= ending.t):
        return Why("missed", "not_reached", to=m.to, due=at(m.due))
    return _unreached(m, ending)


def _unreached(m: _Measured, ending: Ending | None) -> Why:
    """A metric whose end was not reached and whose target has not passed."""
    if ending is None:
        if m.due is None:
            return Why("pending", "not_started", source=m.source)
        return Why("pending", "not_yet", to=m.to, due=at(m.due))
    if ending.outcome == "resolved":
        return Why("missed", "resolved_without", end=at(ending.t), to=m.to)
    if m.due is None:
        return Why("void", "void_not_started", outcome=ending.outcome, end=at(ending.t), source=m.source)
    return Why("void", "void_before_due", outcome=ending.outcome, end=at(ending.t), to=m.to, due=at(m.due))


def _breaches(judged: _Judged) -> list[dict[str, Any]]:
    rows = [_breach_row(e, judged) for e in judged.events if e["event"] == _BREACHED]
    keys = ("what", "owner", "assignee", "due", "late_by", "why")
    return [{key: row[key if key != "assignee" else "person"] for key in keys} for row in rows]


def _checklist(rs: RunState) -> list[dict[str, Any]]:
    rows = []
    for item, listed_in in rs.playbook.checklist_owner().items():
        done = rs.checks.get(item)
        rows.append(
            {
                "item": item,
                "state": done.state if done else listed_in,
                "done_at": done.t if done else None,
                "by": done.by if done else None,
            }
        )
    return rows


def all_met(document: dict[str, Any]) -> bool:
    """Every metric target and inject expectation met (unmeasured and void ones do not count)."""
    metrics_ok = all(str(m["verdict"]) in ("met", "unmeasured", "void") for m in document["metrics"])
    return metrics_ok and all(str(e["verdict"]) in ("met", "void") for e in document["expectations"])


def unallowed_breaches(document: dict[str, Any]) -> list[str]:
    """The breaches the run's scenario does not list in `allow_breaches` (each is a failure of
    `drill simulate`); read from the scenario the record embeds, as the record is the truth."""
    events = document["events"]
    scenario = (events[0].get("scenario") if events else None) or {}
    allowed = set(scenario.get("allow_breaches") or ())
    return [str(b["what"]) for b in document["breaches"] if b["what"] not in allowed]


def holder_at(events: list[Event], role: str | None, t: float) -> str | None:
    """The person holding `role` just before drill time `t` (see the module docstring)."""
    if role is None:
        return None
    person: str | None = (events[0].get("participants") or {}).get(role)
    for event in events:
        if event["event"] == EventType.ASSIGNED and event["role"] == role and float(event["t"]) < t:
            person = event["person"]
    return person


@dataclass(frozen=True)
class Span:
    """One stay in a state, from entry to exit (or to the end of the record)."""

    state: str
    start: float
    end: float
    left_by: str | None  # who moved the run on (`system`: an `on_deadline` trigger); None: the run is still in it


def state_spans(events: list[Event], until: float | None = None) -> list[Span]:
    """Every stay in a state, in order; an open run's last stay runs to drill time `until` (now,
    for a view as of now) or else to its last event."""
    spans: list[Span] = []
    state, entered = events[0]["state"], 0.0
    for event in events[1:]:
        if event["event"] == _TRANSITION:
            t = effective_t(event)
            spans.append(Span(state, entered, t, actor(event)))
            state, entered = event["to"], t
    end = max(entered, until if until is not None else took_effect(last_event(events)))
    spans.append(Span(state, entered, end, None))
    return spans


def stay_deadlines(events: list[Event]) -> dict[tuple[str, float], float]:
    """Each stay's deadline by (state, entry time), as it stood when the stay ended or its breach
    was recorded: with the severity then in force, never before a change that tightened it."""
    rs = RunState.begin(events[0])
    found: dict[tuple[str, float], float] = {}
    for event in [*events[1:], None]:
        due = stay_deadline(rs)
        if due is not None:
            found[rs.state, rs.entered] = due
        if event is not None:
            rs.fold(event)
    return found


def state_times(events: list[Event], until: float | None = None) -> dict[str, float]:
    """Total drill seconds spent in each state, in order of first entry (see `state_spans`)."""
    totals: dict[str, float] = {}
    for span in state_spans(events, until):
        totals[span.state] = round(totals.get(span.state, 0.0) + span.end - span.start, 3)
    return totals


def state_at(spans: list[Span], t: float) -> str:
    """The state a run was in just before drill time `t` (where a deadline due at `t` lapsed)."""
    for span in spans:
        if span.start < t <= span.end:
            return span.state
    return spans[-1].state if t > 0 else spans[0].state


def accountability(events: list[Event]) -> list[dict[str, Any]]:
    """Every breach and every late or missed expectation: what, owner role, person, due, late by,
    and why. `void` expectations are left out: the run never came to them.

    `late_by` is how long after `due` the obligation was finally met (a state left, a metric's
    end reached, the expected action done); `None` when it never was.
    """
    rs = RunState.replay(events)
    judged = _Judged(rs, events, state_spans(events))
    rows = [_breach_row(e, judged) for e in events if e["event"] == _BREACHED]
    lapsed = [row for row in expectation_rows(rs, events) if row["verdict"] in ("late", "missed")]
    rows.extend(_expectation_row(rs, row, events, judged.spans) for row in lapsed)
    return sorted(rows, key=lambda row: float(row["due"]))


@dataclass(frozen=True)
class _Judged:
    """A run as its breaches are judged: its state, record and stays."""

    rs: RunState
    events: list[Event]
    spans: list[Span]


def _breach_row(event: Event, judged: _Judged) -> dict[str, Any]:
    due = _due(event)
    if event.get("metric"):
        late_by, why = _metric_breach(judged, str(event["metric"]), due)
    else:
        late_by, why = _state_breach(judged, str(event["state"]), due)
    owner = event.get("owner")
    person = holder_at(judged.events, owner, due)
    return {"what": breach_what(event), "owner": owner, "person": person, "due": due, "late_by": late_by, "why": why}


@reads_a_line
def _due(breach: Event) -> float:
    return float(breach["due"])


def _metric_breach(judged: _Judged, name: str, due: float) -> tuple[float | None, Why]:
    """How late a metric's end was reached, and why the row reads so."""
    to = judged.rs.playbook.metrics[name].to
    reached = _reached_at(judged.rs, to)
    if reached is not None:
        by = _reached_by(judged.rs, judged.events, to) or "-"
        return round(reached - due, 3), Why(None, "reached", to=to, at=at(reached), by=by, due=at(due))
    ending = run_end(judged.rs, judged.events)
    if ending is None:
        return None, Why(None, "not_yet", to=to, due=at(due))
    return None, Why(None, "never_reached", to=to, outcome=ending.outcome, end=at(ending.t))


def _state_breach(judged: _Judged, state: str, due: float) -> tuple[float | None, Why]:
    """How late a person moved the run on from a state, and why the row reads so: a stay ended by
    the system's `on_deadline` trigger was never dealt with by its owner, however soon it acted."""
    stay = next((s for s in judged.spans if s.state == state and s.start < due <= s.end), None)
    if stay is not None and stay.left_by == "system":
        return None, Why(None, "escalated", at=at(stay.end))
    if stay is not None and stay.left_by is not None:
        return round(stay.end - due, 3), Why(None, "left", state=state, at=at(stay.end), by=stay.left_by)
    ending = run_end(judged.rs, judged.events)
    if ending is None:
        return None, Why(None, "still_in", state=state)
    return None, Why(None, "stayed", state=state, outcome=ending.outcome, end=at(ending.t))


def _late(value: float | None, target: int | None) -> float | None:
    return round(value - target, 3) if value is not None and target is not None else None


def _expectation_row(rs: RunState, row: dict[str, Any], events: list[Event], spans: list[Span]) -> dict[str, Any]:
    due = float(row["due"])
    owner = row["role"] or _expectation_owner(rs.playbook, row["expect"], state_at(spans, due))
    return {
        "what": f"inject:{row['inject']} {row['expect']}",
        "owner": owner,
        "person": holder_at(events, owner, due),
        "due": due,
        "late_by": _late(row["at"], row["due"]) if row["at"] is not None else None,
        "why": row["why"],
    }


def _expectation_owner(pb: Playbook, action: str, state: str) -> str | None:
    """Who answers for an expected action with no `role`: a checklist item's state owner, or the
    owner of the state the trigger should have left (the one the run was in, if it applies)."""
    kind, _, name = action.partition(":")
    if kind == "check":
        return pb.states[pb.checklist_owner()[name]].owner
    sources = [source for t in pb.transitions if t.trigger == name for source in t.source]
    return pb.states[state if state in sources else sources[0]].owner
