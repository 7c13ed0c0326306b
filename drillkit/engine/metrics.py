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

from drillkit.engine.replay import RunState, breach_what, last_event, stay_deadline
from drillkit.model.clock import format_utc
from drillkit.model.events import EventType
from drillkit.model.plans import Expect, Inject, Playbook, for_severity
from drillkit.store.files import effective_t
from drillkit.store.port import Event

# The event kinds the filters below test, bound once: these filters walk every event of every run
# in a first report (a million of them), and each `EventType.X` lookup costs an enum attribute access.
_BREACHED, _SEVERITY = EventType.DEADLINE_BREACHED, EventType.SEVERITY_CHANGED
_TRANSITION, _CHECK_DONE = EventType.TRANSITION, EventType.CHECK_DONE
_JUDGING = frozenset((_BREACHED, _SEVERITY))
_ACTIONS = frozenset((_TRANSITION, _CHECK_DONE))


def run_document(events: list[Event], integrity: dict[str, Any]) -> dict[str, Any]:
    """The SPEC §6 document. A breach's `late_by` is the accountability figure: how long after
    `due` the obligation was met (None while it is not); the event's own `late_by` says how
    late the breach was recorded."""
    rs = RunState.replay(events)
    metrics = metric_rows(rs, events)
    return {
        "run": _run(rs, events),
        "metrics": metrics,
        "expectations": expectation_rows(rs, events),
        "breaches": _breaches(events, state_spans(events), _metric_ends(rs)),
        "checklist": _checklist(rs),
        "events": events,
        "integrity": integrity,
    }


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
        "ended": _ended_at(rs, last) if rs.ended else None,
        "outcome": rs.outcome,
        "state": rs.state,
    }


def _ended_at(rs: RunState, end: Event) -> str:
    """When the run ended: a time limit caught up late ended it at its `due` time, not when the
    end was written down."""
    if "due" not in end:
        return str(end["ts"])
    return format_utc(rs.started + timedelta(seconds=effective_t(end) / rs.speed))


def metric_rows(rs: RunState, events: list[Event]) -> list[dict[str, Any]]:
    """Each metric with the target in force when its end was reached (the run's severity at the
    time; now, while it is not): a later severity change does not judge it again."""
    # one pass over the record (mostly notes) for all the metrics, not one per metric
    judging = [e for e in events if e["event"] in _JUDGING]
    breached = {e["metric"] for e in judging if e["event"] == _BREACHED and e.get("metric")}
    changes = [e for e in judging if e["event"] == _SEVERITY]
    rows = []
    for name, metric in rs.playbook.metrics.items():
        begin = 0.0 if metric.source == "start" else rs.first_entry.get(metric.source)
        end = _reached_at(rs, metric.to)
        value = round(max(0.0, end - begin), 3) if begin is not None and end is not None else None
        severity, since = _severity_at(events[0], changes, end) if end is not None else (rs.severity, rs.severity_since)
        target = for_severity(metric.target, severity)
        # a tightened target counts from the change, never before it (as the engine's deadlines do)
        allowed = None if target is None else max(float(target), since - (begin or 0.0))
        rows.append(
            {
                "name": name,
                "from": metric.source,
                "to": metric.to,
                "owner": metric.owner,
                "target": target,
                "value": value,
                "verdict": _metric_verdict(allowed, value, name in breached, rs.ended),
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


def _metric_ends(rs: RunState) -> dict[str, float | None]:
    """When each metric's end was reached (None: not yet)."""
    return {name: _reached_at(rs, metric.to) for name, metric in rs.playbook.metrics.items()}


def _reached_at(rs: RunState, target: str) -> float | None:
    if target.startswith("check:"):
        done = rs.checks.get(target.removeprefix("check:"))
        return done.t if done else None
    return rs.first_entry.get(target)


def _metric_verdict(allowed: float | None, value: float | None, breached: bool, ended: bool) -> str:
    """`allowed`: seconds from the metric's start to its due time; a recorded breach is final."""
    if allowed is None:
        return "unmeasured"
    if value is not None:
        return "met" if value <= allowed and not breached else "missed"
    return "missed" if breached or ended else "pending"


def expectation_rows(rs: RunState, events: list[Event]) -> list[dict[str, Any]]:
    """Each inject's expectation. Once a run has ended, only those it could be judged on: the
    inject was delivered, and the expected action happened or its window closed before the end
    (an aborted drill charges no one for injects it never reached)."""
    if rs.scenario is None:
        return []
    actions = [e for e in events if e["event"] in _ACTIONS]
    end = effective_t(last_event(events))
    rows = []
    for inject in rs.scenario.injects:
        if inject.expect is None:
            continue
        row = _expectation(rs, inject, inject.expect, actions)
        if not rs.ended or (inject.id in rs.delivered and (row["at"] is not None or row["due"] <= end)):
            rows.append(row)
    return rows


def _expectation(rs: RunState, inject: Inject, expect: Expect, events: list[Event]) -> dict[str, Any]:
    due = float(inject.at + expect.within)
    hit = _matching(events, expect, float(inject.at))
    at = effective_t(hit) if hit else None
    if at is not None:
        verdict = "met" if at <= due else "late"
    else:
        verdict = "missed" if rs.ended else "pending"
    return {
        "inject": inject.id,
        "expect": expect.action,
        "within": expect.within,
        "role": expect.role,
        "due": due,
        "at": at,
        "by": hit["actor"] if hit else None,
        "verdict": verdict,
    }


def _matching(events: list[Event], expect: Expect, since: float) -> Event | None:
    """The first matching action at or after the inject. A checklist item ticked before it counts
    too (an item is done once a run); a transition before it does not: it answered something
    else (a containment before a second wave is not a response to the second wave)."""
    found = [e for e in events if _is_action(e, expect) and (expect.role is None or e.get("role") == expect.role)]
    after = [e for e in found if effective_t(e) >= since]
    early = found if expect.check is not None else []
    candidates = after or early
    return candidates[0] if candidates else None


def _is_action(event: Event, expect: Expect) -> bool:
    if expect.trigger is not None:
        return bool(event["event"] == _TRANSITION and event["trigger"] == expect.trigger)
    return bool(event["event"] == _CHECK_DONE and event["item"] == expect.check)


def _breaches(events: list[Event], spans: list[Span], reached_at: dict[str, float | None]) -> list[dict[str, Any]]:
    rows = [_breach_row(e, events, spans, reached_at) for e in events if e["event"] == _BREACHED]
    keys = ("what", "owner", "assignee", "due", "late_by")
    return [dict(zip(keys, (r["what"], r["owner"], r["person"], r["due"], r["late_by"]), strict=True)) for r in rows]


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
    """Every metric target and inject expectation met (unmeasured metrics do not count)."""
    metrics_ok = all(str(m["verdict"]) in ("met", "unmeasured") for m in document["metrics"])
    return metrics_ok and all(str(e["verdict"]) == "met" for e in document["expectations"])


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
            spans.append(Span(state, entered, t, event["actor"]))
            state, entered = event["to"], t
    end = max(entered, until if until is not None else effective_t(last_event(events)))
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
    """Every breach and every late or missed expectation: what, owner role, person, due, late by.

    `late_by` is how long after `due` the obligation was finally met (a state left, a metric's
    end reached, the expected action done); `None` when it never was.
    """
    rs = RunState.replay(events)
    spans = state_spans(events)
    rows = [
        _breach_row(e, events, spans, _metric_ends(rs)) for e in events if e["event"] == _BREACHED
    ]
    lapsed = [row for row in expectation_rows(rs, events) if row["verdict"] in ("late", "missed")]
    rows.extend(_expectation_row(rs, row, events, spans) for row in lapsed)
    return sorted(rows, key=lambda row: float(row["due"]))


def _breach_row(
    event: Event, events: list[Event], spans: list[Span], reached_at: dict[str, float | None]
) -> dict[str, Any]:
    due = float(event["due"])
    if event.get("metric"):
        reached = reached_at.get(event["metric"])
        late_by = round(reached - due, 3) if reached is not None else None
    else:
        stay = next((s for s in spans if s.state == event["state"] and s.start < due <= s.end), None)
        late_by = round(stay.end - due, 3) if stay is not None and _left_by_a_person(stay) else None
    owner = event.get("owner")
    person = holder_at(events, owner, due)
    return {"what": breach_what(event), "owner": owner, "person": person, "due": due, "late_by": late_by}


def _left_by_a_person(stay: Span) -> bool:
    """Whether someone moved the run on: a stay ended by the system's `on_deadline` trigger was
    never dealt with by its owner, however soon the system acted."""
    return stay.left_by not in (None, "system")


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
    }


def _expectation_owner(pb: Playbook, action: str, state: str) -> str | None:
    """Who answers for an expected action with no `role`: a checklist item's state owner, or the
    owner of the state the trigger should have left (the one the run was in, if it applies)."""
    kind, _, name = action.partition(":")
    if kind == "check":
        return pb.states[pb.checklist_owner()[name]].owner
    sources = [source for t in pb.transitions if t.trigger == name for source in t.source]
    return pb.states[state if state in sources else sources[0]].owner
