"""The record as CSV: one row per event, for spreadsheets.

Columns `seq, ts, t, clock, event, actor, role, state_from, state_to, trigger, item, detail`, with
headers in the export's language. `ts` is in the display zone, which its header names; `clock`
is the drill clock `T+hh:mm:ss` beside `t`'s seconds. The text starts with a byte-order mark
unless asked not to: without it Excel and WPS read UTF-8 as the local code page and show
Chinese as mojibake. A drill's or simulation's `run.started` row carries the `DRILL / 演练` mark
in its detail. An annotation's row follows the event it annotates. Text cells that a
spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, tab or CR) get a leading
apostrophe, so opening the file never runs anything from the record.
"""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

from drillkit.engine.fields import reads_a_line
from drillkit.model.clock import parse_utc
from drillkit.model.durations import format_clock
from drillkit.model.events import EventType
from drillkit.model.inert import inert
from drillkit.render.eventtext import acting_role, detail
from drillkit.render.labels import LANGS, Labels, drill_mark
from drillkit.render.runview import RunView
from drillkit.store.port import Event

BOM = "\ufeff"
# Each column's header in English and Chinese; `{zone}` is the display zone.
HEADERS = {
    "seq": ("seq", "序号"),
    "ts": ("ts ({zone})", "时间 ({zone})"),
    "t": ("t", "演练秒数"),
    "clock": ("clock", "演练时钟"),
    "event": ("event", "事件"),
    "actor": ("actor", "执行人"),
    "role": ("role", "角色"),
    "state_from": ("state_from", "原状态"),
    "state_to": ("state_to", "新状态"),
    "trigger": ("trigger", "触发动作"),
    "item": ("item", "检查项"),
    "detail": ("detail", "详情"),
}
# An incident has no drill: its clock is the incident's own.
INCIDENT_HEADERS = {"t": ("t", "事件秒数"), "clock": ("clock", "事件时钟")}
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def render(view: RunView, *, bom: bool = True) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    language = LANGS.index(view.labels.lang)
    headers = HEADERS if view.is_drill else HEADERS | INCIDENT_HEADERS
    writer.writerow(header[language].format(zone=view.zone) for header in headers.values())
    zone = ZoneInfo(view.zone)
    writer.writerows(_row(event, zone, view.labels) for event in view.timeline_events)
    return (BOM if bom else "") + out.getvalue()


@reads_a_line
def _row(event: Event, zone: ZoneInfo, say: Labels) -> list[object]:
    state_from, state_to = _states(event)
    text = [say.actor(event["actor"]), acting_role(event) or "", state_from, state_to, event.get("trigger") or ""]
    text += [event.get("item") or "", _detail(event, say.lang)]
    when = [_local(event["ts"], zone), event["t"], format_clock(event["t"])]
    return [event["seq"], *when, *(_inert(str(cell)) for cell in (say.event(event["event"]), *text))]


def _local(ts: str, zone: ZoneInfo) -> str:
    """`2026-11-29 16:00:00.000`: the recorded UTC time in the display zone, to the millisecond."""
    shown = parse_utc(ts).astimezone(zone)
    return shown.strftime("%Y-%m-%d %H:%M:%S.") + f"{shown.microsecond // 1000:03d}"


def _states(event: Event) -> tuple[str, str]:
    if event["event"] == EventType.TRANSITION:
        return event["from"], event["to"]
    if event["event"] == EventType.RUN_STARTED:
        return "", event["state"]
    return "", ""


def _detail(event: Event, lang: str) -> str:
    started = event["event"] == EventType.RUN_STARTED
    return (drill_mark(event["mode"]) if started else "") + detail(event, lang)


def _inert(cell: str) -> str:
    """Control characters shown, not obeyed; a formula made text."""
    cell = inert(cell)
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell
