"""One-line texts for events, status and run lists in the terminal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from drillkit.model.clock import parse_utc
from drillkit.model.durations import format_clock, format_duration
from drillkit.model.timefmt import local
from drillkit.render.eventtext import acting_role, detail
from drillkit.render.labels import DRILL_MARK, drill_mark
from drillkit.render.table import table
from drillkit.store.index import RunSummary


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
    lines.extend(f"  expect {expectation_text(row)}" for row in doc["expectations"])
    for breach in doc["breaches"]:
        lines.append(
            f"  BREACH {breach['what']} due {format_clock(breach['due'])}, owner {breach['owner'] or '-'}"
            f" ({breach['assignee'] or 'unassigned'})"
        )
    return "\n".join(lines)


def expectation_text(row: dict[str, Any]) -> str:
    """`[inject] action (role) due T+…: …`: the countdown while pending, else the verdict."""
    who = f" ({row['role']})" if row["role"] else ""
    head = f"[{row['inject']}] {row['expect']}{who} due {format_clock(row['due'])}"
    if row["verdict"] != "pending":
        done = f" at {format_clock(row['at'])} by {row['by']}" if row["at"] is not None else ""
        return f"{head}: {row['verdict']}{done}"
    if not row["delivered"]:
        return f"{head}: inject at {format_clock(row['inject_at'])}"
    left = row["left"]
    return f"{head}: overdue by {format_duration(-left)}" if left < 0 else f"{head}: in {format_duration(left)}"


def runs_table(runs: Sequence[RunSummary], zone: str, verdicts: Mapping[str, Any]) -> str:
    """One row per run; `verdicts` by run id (see `services.views.RunVerdict`)."""
    rows = [
        [
            r.id,
            r.mode if r.mode == "incident" else f"{r.mode} ({DRILL_MARK})",
            r.playbook,
            r.severity,
            local(parse_utc(r.started), zone),
            r.outcome or "open",
            *_verdict_cells(verdicts.get(r.id)),
        ]
        for r in runs
    ]
    return table(["run", "mode", "playbook", "severity", "started", "outcome", "breaches", "verdict"], rows)


def _verdict_cells(verdict: Any) -> list[str]:
    """`breaches`, and `met (3/4)`: the verdict with the targets and expectations met of those judged."""
    if verdict is None:
        return ["-", "-"]
    counted = f" ({verdict.met}/{verdict.judged})" if verdict.judged else ""
    return [str(verdict.breaches), verdict.verdict + counted]
