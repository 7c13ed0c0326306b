"""One-line texts for events, status and run lists in the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from drillkit.model.clock import parse_utc
from drillkit.model.durations import format_clock, format_duration
from drillkit.model.timefmt import local
from drillkit.render.labels import DRILL_MARK, drill_mark
from drillkit.render.table import table
from drillkit.store.files import effective_t
from drillkit.store.index import RunSummary


def acting_role(event: dict[str, Any]) -> str | None:
    """The role the actor acted in. None for `assigned`, whose `role` is the role handed over
    (SPEC §4), not the actor's."""
    return None if event["event"] == "assigned" else event.get("role")


def detail(event: dict[str, Any]) -> str:
    """What happened, in a few words, without the common fields; a system transition or a time
    limit written down late says when it took effect."""
    kind = event["event"]
    describe = _DETAIL.get(kind)
    text = describe(event) if describe else ""
    if effective_t(event) != float(event["t"]):
        text += f" (took effect at {format_clock(effective_t(event))})"
    return text


_DETAIL: dict[str, Any] = {
    "run.started": lambda e: (
        f"{e['mode']} of {e['playbook']['playbook']} v{e['playbook']['version']}, "
        f"severity {e['severity']}, state {e['state']}"
    ),
    "inject.delivered": lambda e: f"[{e['inject']}] {e['message']}" + (" (late)" if e.get("late") else ""),
    "transition": lambda e: f"{e['trigger']}: {e['from']} -> {e['to']}" + (f" — {e['note']}" if e.get("note") else ""),
    "check.done": lambda e: f"{e['item']} done in {e['state']}" + (f" — {e['note']}" if e.get("note") else ""),
    "note": lambda e: e["text"],
    "assigned": lambda e: f"{e['role']} -> {e['person']}",
    "severity.changed": lambda e: f"{e['from']} -> {e['to']}: {e['reason']}",
    "deadline.breached": lambda e: (
        f"{'state ' + e['state'] if e.get('state') else 'metric ' + str(e.get('metric'))}"
        f" due {format_clock(e['due'])}, owner {e.get('owner') or '-'} ({e.get('assignee') or 'unassigned'})"
        + (f", recorded {format_duration(e['late_by'])} late" if e.get("late_by") else "")
    ),
    "notify.sent": lambda e: f"{e['notifier']} notified of #{e['of']} ({e['attempts']} attempt(s))",
    "notify.failed": lambda e: f"{e['notifier']} failed for #{e['of']}: {e.get('error')}",
    "record.repaired": lambda e: f"{e['bytes']} torn bytes set aside to {e['file']}",
    "run.ended": lambda e: f"{e['outcome']}: {e['reason']}",
}


def event_line(event: dict[str, Any]) -> str:
    role = acting_role(event)
    who = event["actor"] + (f" ({role})" if role else "")
    return f"#{event['seq']} {format_clock(event['t'])} {event['event']} by {who}: {detail(event)}"


def status_text(doc: dict[str, Any], zone: str) -> str:
    lines = [
        f"{drill_mark(doc['mode'])}{doc['run']} — {doc['title']}",
        f"  severity {doc['severity']}   state {doc['state']} (owner {doc['owner'] or '-'}: "
        f"{doc['assignee'] or 'unassigned'}) for {format_duration(doc['in_state_for'])}",
        f"  started {local(parse_utc(doc['started']), zone)}   clock {format_clock(doc['clock'])}"
        + (f"   speed x{doc['speed']:g}" if doc["speed"] != 1 else ""),
    ]
    if doc["outcome"]:
        lines.append(f"  ended: {doc['outcome']}")
    for role, triggers in doc["allowed_triggers"].items():
        lines.append(f"  allowed for {role}: {', '.join(triggers) or '(none)'}")
    if not doc["outcome"]:
        lines.append(f"  allowed without a role: {', '.join(doc['allowed_without_role']) or '(none)'}")
    lines.append(f"  open checklist items: {', '.join(doc['open_items']) or '(none)'}")
    for deadline in doc["deadlines"]:
        left = deadline["left"]
        when = f"in {format_duration(left)}" if left >= 0 else f"overdue by {format_duration(-left)}"
        lines.append(f"  deadline {deadline['what']} at {format_clock(deadline['due'])} ({when})")
    for breach in doc["breaches"]:
        lines.append(
            f"  BREACH {breach['what']} due {format_clock(breach['due'])}, owner {breach['owner'] or '-'}"
            f" ({breach['assignee'] or 'unassigned'})"
        )
    return "\n".join(lines)


def runs_table(runs: Sequence[RunSummary], zone: str) -> str:
    rows = [
        [
            r.id,
            r.mode if r.mode == "incident" else f"{r.mode} ({DRILL_MARK})",
            r.playbook,
            r.severity,
            local(parse_utc(r.started), zone),
            r.outcome or "open",
        ]
        for r in runs
    ]
    return table(["run", "mode", "playbook", "severity", "started", "outcome"], rows)
