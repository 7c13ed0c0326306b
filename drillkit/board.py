"""The live board of a conducted drill: banner, state and owner, clock, next deadline, open
checklist items and the last events. Pure text; the CLI decides how to put it on the screen."""

from __future__ import annotations

from datetime import datetime

from drillkit.durations import format_clock, format_duration
from drillkit.engine import RunState, effective_t, last_event, pending
from drillkit.export.lines import DRILL_MARK, event_line
from drillkit.record import Event

RECENT = 8


def board_lines(rs: RunState, events: list[Event], now: datetime) -> list[str]:
    now_t = rs.drill_time(now) if not rs.ended else effective_t(last_event(events))
    owner = rs.playbook.states[rs.state].owner
    title = events[0].get("title") or rs.playbook.title
    banner = f"[{DRILL_MARK}] " if rs.mode != "incident" else "[INCIDENT / 事件] "
    lines = [
        f"{banner}{title}",
        f"run {rs.run}   severity {rs.severity}   speed x{rs.speed:g}",
        f"state: {rs.state}   owner: {owner or '-'} ({rs.holder(owner) or 'unassigned'})",
        f"clock: {format_clock(now_t)}",
        _next_deadline(rs, now_t),
        f"open checklist: {', '.join(rs.open_items()) or '(none)'}",
        "",
        "last events:",
    ]
    lines += [f"  {event_line(e)}" for e in events[-RECENT:]]
    if rs.ended:
        lines += ["", f"run ended: {rs.outcome}"]
    return lines


def _next_deadline(rs: RunState, now_t: float) -> str:
    for due in pending(rs):
        kind, _, name = due.key.partition(":")
        if kind in ("state", "metric", "time_limit"):
            what = "time limit" if kind == "time_limit" else f"{kind} {name.split('@')[0]}"
            left = due.at - now_t
            return f"next deadline: {what} at {format_clock(due.at)} (in {format_duration(max(0.0, left))})"
    return "next deadline: (none)"
