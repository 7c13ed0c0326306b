"""The record as CSV: one row per event (SPEC §6 columns), UTF-8, times as recorded (UTC)."""

from __future__ import annotations

import csv
import io

from drillkit.engine import Event
from drillkit.export.lines import detail

COLUMNS = ["seq", "ts", "t", "event", "actor", "role", "state_from", "state_to", "trigger", "item", "detail"]


def render(events: list[Event]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(_row(event) for event in events)
    return out.getvalue()


def _row(event: Event) -> list[object]:
    started = event["event"] == "run.started"
    return [
        event["seq"],
        event["ts"],
        event["t"],
        event["event"],
        event["actor"],
        event.get("role") or "",
        event.get("from", "") if event["event"] == "transition" else "",
        event["state"] if started else event.get("to", "") if event["event"] == "transition" else "",
        event.get("trigger") or "",
        event.get("item") or "",
        detail(event),
    ]
