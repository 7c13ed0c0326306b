"""The live board of a conducted drill: banner, state and owner, clock, next deadline, the next
inject, what each inject expects with its countdown, open checklist items and the last events.

Pure: each line is its text and a style name (a rich style, or "" for none); the CLI decides
whether the terminal gets colour and cuts each line to its width."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from drillkit.engine.replay import RunState, deadlines_ahead, last_event
from drillkit.engine.status import expectations_now
from drillkit.model.durations import format_clock, format_duration
from drillkit.model.events import EventType
from drillkit.render.labels import drill_mark
from drillkit.render.lines import event_line, expectation_text
from drillkit.store.files import effective_t
from drillkit.store.port import Event

RECENT = 8
VERDICT_STYLES = {"met": "green", "late": "yellow", "missed": "bold red", "pending": "", "void": "dim"}
EVENT_STYLES = {EventType.DEADLINE_BREACHED: "red", EventType.INJECT_DELIVERED: "magenta", EventType.RUN_ENDED: "bold"}


class BoardLine(NamedTuple):
    text: str
    style: str = ""


def board_lines(rs: RunState, events: list[Event], now: datetime) -> list[BoardLine]:
    now_t = rs.drill_time(now) if not rs.ended else effective_t(last_event(events))
    owner = rs.playbook.states[rs.state].owner
    title = events[0].get("title") or rs.playbook.title
    banner = drill_mark(rs.mode) or "[INCIDENT / 事件] "
    lines = [
        BoardLine(f"{banner}{title}", "bold red" if drill_mark(rs.mode) else "bold"),
        BoardLine(f"run {rs.run}   severity {rs.severity}   speed x{rs.speed:g}"),
        BoardLine(f"state: {rs.state}   owner: {owner or '-'} ({rs.holder(owner) or 'unassigned'})", "bold"),
        BoardLine(f"clock: {format_clock(now_t)}", "cyan"),
        _next_deadline(rs, now_t),
        *_injects(rs, events, now_t),
        BoardLine(f"open checklist: {', '.join(rs.open_items()) or '(none)'}"),
        BoardLine(""),
        BoardLine("last events:"),
    ]
    lines += [BoardLine(f"  {event_line(e)}", EVENT_STYLES.get(e["event"], "")) for e in events[-RECENT:]]
    if rs.ended:
        lines += [BoardLine(""), BoardLine(f"run ended: {rs.outcome}", "bold")]
    return lines


def _next_deadline(rs: RunState, now_t: float) -> BoardLine:
    ahead = deadlines_ahead(rs)
    if not ahead:
        return BoardLine("next deadline: (none)")
    what, at = ahead[0]
    named = "time limit" if what == "time_limit" else what.replace(":", " ")
    left = at - now_t
    style = "bold red" if left <= 0 else "yellow" if left < 60 * rs.speed else ""
    return BoardLine(f"next deadline: {named} at {format_clock(at)} (in {format_duration(max(0.0, left))})", style)


def _injects(rs: RunState, events: list[Event], now_t: float) -> list[BoardLine]:
    """The next inject to come, then what each inject expects: its due time and countdown while
    pending, else its verdict."""
    if rs.scenario is None:
        return []
    coming = [inject for inject in rs.scenario.injects if inject.id not in rs.delivered]
    lines = []
    if coming and not rs.ended:
        nxt = coming[0]
        left = format_duration(max(0.0, nxt.at - now_t))
        lines.append(BoardLine(f"next inject: {nxt.id} at {format_clock(nxt.at)} (in {left})", "magenta"))
    rows = expectations_now(rs, events, now_t)
    if rows:
        lines.append(BoardLine("expectations:"))
        lines += [_expectation(row) for row in rows]
    return lines


def _expectation(row: dict[str, Any]) -> BoardLine:
    if row["verdict"] != "pending":
        style = VERDICT_STYLES.get(row["verdict"], "")
    elif not row["delivered"]:
        style = "dim"
    else:
        style = "bold red" if row["left"] < 0 else "yellow"
    return BoardLine(f"  {expectation_text(row)}", style)
