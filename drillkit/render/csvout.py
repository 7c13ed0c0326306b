"""The record as CSV: one row per event (SPEC §6 columns), UTF-8, times as recorded (UTC).

A drill's or simulation's `run.started` row carries the `DRILL / 演练` mark in its detail. Text
cells that a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`) get a
leading apostrophe, so opening the file never runs anything from the record.
"""

from __future__ import annotations

import csv
import io

from drillkit.model.events import EventType
from drillkit.render.eventtext import acting_role, detail
from drillkit.render.labels import drill_mark
from drillkit.store.port import Event

COLUMNS = ["seq", "ts", "t", "event", "actor", "role", "state_from", "state_to", "trigger", "item", "detail"]


def render(events: list[Event]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(_row(event) for event in events)
    return out.getvalue()


def _row(event: Event) -> list[object]:
    state_from, state_to = _states(event)
    text = [event["actor"], acting_role(event) or "", state_from, state_to, event.get("trigger") or ""]
    text += [event.get("item") or "", _detail(event)]
    return [event["seq"], event["ts"], event["t"], event["event"], *(_inert(cell) for cell in text)]


def _states(event: Event) -> tuple[str, str]:
    if event["event"] == EventType.TRANSITION:
        return event["from"], event["to"]
    if event["event"] == EventType.RUN_STARTED:
        return "", event["state"]
    return "", ""


def _detail(event: Event) -> str:
    started = event["event"] == EventType.RUN_STARTED
    return (drill_mark(event["mode"]) if started else "") + detail(event)


def _inert(cell: str) -> str:
    return "'" + cell if cell[:1] in ("=", "+", "-", "@") else cell
