"""The live board of a conducted drill: banner, state and owner, clock, next deadline, open
checklist items and the last events. Pure text; the CLI decides how to put it on the screen."""

from __future__ import annotations

from datetime import datetime

from drillkit.engine.replay import RunState, deadlines_ahead, last_event
from drillkit.model.durations import format_clock, format_duration
from drillkit.render.labels import drill_mark
from drillkit.render.lines import event_line
from drillkit.store.files import effective_t
from drillkit.store.port import Event

RECENT = 8


def board_lines(rs: RunState, events: list[Event], now: datetime) -> list[str]:
    now_t = rs.drill_time(now) if not rs.ended else effective_t(last_event(events))
    owner = rs.playbook.states[rs.state].owner
    title = events[0].get("title") or rs.playbook.title
    banner = drill_mark(rs.mode) or "[INCIDENT / 事件] "
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
    ahead = deadlines_ahead(rs)
    if not ahead:
        return "next deadline: (none)"
    what, at = ahead[0]
    named = "time limit" if what == "time_limit" else what.replace(":", " ")
    return f"next deadline: {named} at {format_clock(at)} (in {format_duration(max(0.0, at - now_t))})"
