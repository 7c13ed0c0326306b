"""`drill timeline RUN`: the run's timeline as a terminal table."""

from __future__ import annotations

from typing import Any

from drillkit.engine.fields import reads_a_line
from drillkit.model.durations import format_clock
from drillkit.render.aar import footer, timeline, title
from drillkit.render.eventtext import acting_role, detail
from drillkit.render.labels import DRILL_MARK
from drillkit.render.runview import RunView
from drillkit.render.table import table
from drillkit.store.port import Event


def render(view: RunView) -> str:
    section = timeline(view)
    return "\n".join([title(view), "", table(section.headers, section.rows), "", footer(view)])


def document(view: RunView) -> dict[str, Any]:
    """The timeline as data, marked like every other output of a drill."""
    return {
        "run": view.run["id"],
        "mode": view.run["mode"],
        "mark": DRILL_MARK if view.is_drill else None,
        "zone": view.zone,
        "rows": rows(view),
    }


def rows(view: RunView) -> list[dict[str, Any]]:
    """Each event: UTC and display-zone time, drill clock, event, who, what."""
    return [_row(event, view) for event in view.timeline_events]


@reads_a_line
def _row(event: Event, view: RunView) -> dict[str, Any]:
    return {
        "seq": event["seq"],
        "ts": event["ts"],
        "local": view.when(event["ts"]),
        "t": event["t"],
        "clock": format_clock(event["t"]),
        "event": event["event"],
        "actor": event["actor"],
        "role": acting_role(event),
        "detail": detail(event, view.labels.lang),
    }
