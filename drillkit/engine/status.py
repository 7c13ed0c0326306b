"""The status of a run as of now: a plain document for `drill status` and the live board."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drillkit.engine.expectations import expectation_rows
from drillkit.engine.fields import reads_a_line
from drillkit.engine.replay import RunState, breach_what, deadlines_ahead, last_event
from drillkit.model.clock import format_utc
from drillkit.model.events import EventType
from drillkit.store.files import effective_t
from drillkit.store.port import Event


def status_document(rs: RunState, events: list[Event], now: datetime) -> dict[str, Any]:
    now_t = rs.drill_time(now) if not rs.ended else effective_t(last_event(events))
    state = rs.playbook.states[rs.state]
    return {
        "run": rs.run,
        "mode": rs.mode,
        "playbook": rs.playbook.playbook,
        "title": events[0].get("title"),
        "severity": rs.severity,
        "state": rs.state,
        "owner": state.owner,
        "assignee": rs.holder(state.owner),
        "participants": rs.participants,
        "started": events[0]["ts"],
        "now": format_utc(now),
        "clock": now_t,
        "speed": rs.speed,
        "in_state_for": round(now_t - rs.entered, 3),
        "outcome": rs.outcome,
        "allowed_triggers": {} if rs.ended else {role: rs.allowed_triggers(role) for role in rs.participants},
        "allowed_without_role": [] if rs.ended else rs.allowed_triggers(None),
        "open_items": rs.open_items(),
        "deadlines": [] if rs.ended else _deadlines(rs, now_t),
        "expectations": expectations_now(rs, events, now_t),
        "breaches": [_breach(e) for e in events if e["event"] == EventType.DEADLINE_BREACHED],
        "events": len(events),
    }


def expectations_now(rs: RunState, events: list[Event], now_t: float) -> list[dict[str, Any]]:
    """Each inject's expectation as it stands (SPEC §6 rows), with when its inject comes
    (`inject_at`), whether it has come, and the time `left` until it is due while it is pending
    (negative once overdue; null once judged)."""
    if rs.scenario is None:
        return []
    inject_at = {inject.id: float(inject.at) for inject in rs.scenario.injects}
    return [
        row
        | {
            "inject_at": inject_at[row["inject"]],
            "delivered": row["inject"] in rs.delivered,
            "left": round(row["due"] - now_t, 3) if row["verdict"] == "pending" else None,
        }
        for row in expectation_rows(rs, events)
    ]


def _deadlines(rs: RunState, now_t: float) -> list[dict[str, Any]]:
    return [{"what": what, "due": at, "left": round(at - now_t, 3)} for what, at in deadlines_ahead(rs)]


@reads_a_line
def _breach(event: Event) -> dict[str, Any]:
    return {
        "what": breach_what(event),
        "owner": event.get("owner"),
        "assignee": event.get("assignee"),
        "due": event["due"],
        "late_by": event["late_by"],
        "recorded": event["t"],
    }
