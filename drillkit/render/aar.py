"""The after-action report as plain text cells, section by section, in SPEC §6 order.

Markdown and HTML render the same sections; each renderer escapes the text itself, since
everything taken from the record (titles, notes, messages, names) is user input.
"""

from __future__ import annotations

from dataclasses import dataclass

from drillkit.model.events import EventType
from drillkit.render.cells import DASH, clock, duration
from drillkit.render.eventtext import acting_role, detail
from drillkit.render.labels import Labels
from drillkit.render.runview import RunView


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    headers: list[str]  # empty: a list of label/value pairs (the overview)
    rows: list[list[str]]


def title(view: RunView) -> str:
    kind = "report.drill" if view.is_drill else "report.incident"
    return f"{view.mark()}{view.labels(kind)}: {view.run['title'] or view.run['id']}"


def sections(view: RunView) -> list[Section]:
    return [
        overview(view),
        metrics(view),
        state_times(view),
        expectations(view),
        timeline(view),
        accountability(view),
        checklist(view),
        notes(view),
    ]


def overview(view: RunView) -> Section:
    run, say = view.run, view.labels
    mode = say.value(run["mode"]) + (f" — {view.mark().strip()}" if view.is_drill else "")
    pairs = [
        [say("run"), run["id"]],
        [say("playbook"), f"{run['playbook']} ({say('version')} {run['version']})"],
        [say("mode"), mode],
        [say("scenario"), run["scenario"] or DASH],
        [say("severity"), _severity(view)],
        [say("people"), people(view)],
        [say("started"), view.when(run["started"])],
        [say("ended"), view.when(run["ended"])],
        [say("outcome"), say.value(run["outcome"])],
        [say("state"), run["state"]],
    ]
    return Section("overview", say("overview"), [], pairs)


def _severity(view: RunView) -> str:
    severity = view.run["severity"]
    known = view.playbook.severities.get(severity)
    return f"{severity} — {known.label}" if known else severity


def people(view: RunView) -> str:
    """`role: person` for each role, with reassignments as `role: first → next`."""
    holders = {role: [person] for role, person in (view.events[0].get("participants") or {}).items()}
    for event in view.events:
        if event["event"] == EventType.ASSIGNED:
            holders.setdefault(event["role"], []).append(event["person"])
    return ", ".join(f"{role}: {' → '.join(names)}" for role, names in holders.items()) or DASH


def metrics(view: RunView) -> Section:
    say = view.labels
    rows = [
        [
            m["name"],
            m["from"],
            m["to"],
            m["owner"] or DASH,
            duration(m["target"]),
            duration(m["value"]),
            say.value(m["verdict"]),
            say.why(m["why"], verdict=False),
        ]
        for m in view.document["metrics"]
    ]
    headers = ["metric", "from", "to", "owner", "target", "actual", "verdict", "why"]
    return Section("metrics", say("metrics"), [say(h) for h in headers], rows or [_none(say, 8)])


def state_times(view: RunView) -> Section:
    say = view.labels
    rows = [[state, duration(seconds)] for state, seconds in view.state_times.items()]
    return Section("state_times", say("state_times"), [say("state"), say("duration")], rows)


def expectations(view: RunView) -> Section:
    say = view.labels
    rows = [
        [
            e["inject"],
            e["expect"],
            duration(e["within"]),
            e["role"] or DASH,
            clock(e["due"]),
            clock(e["at"]),
            e["by"] or DASH,
            say.value(e["verdict"]),
            say.why(e["why"], verdict=False),
        ]
        for e in view.document["expectations"]
    ]
    headers = ["inject", "expected", "within", "role", "due", "done_at", "by", "verdict", "why"]
    return Section("expectations", say("expectations"), [say(h) for h in headers], rows or [_none(say, 9)])


def timeline(view: RunView) -> Section:
    say = view.labels
    rows = [
        [view.when(e["ts"]), clock(e["t"]), e["event"], e["actor"], acting_role(e) or DASH, detail(e)]
        for e in view.timeline_events
    ]
    headers = [f"{say('time')} ({view.zone})", say("clock"), say("event"), say("actor"), say("role"), say("detail")]
    return Section("timeline", say("timeline"), headers, rows)


def accountability(view: RunView) -> Section:
    say = view.labels
    rows = [
        [
            a["what"],
            a["owner"] or DASH,
            a["person"] or DASH,
            clock(a["due"]),
            duration(a["late_by"]),
            say.why(a["why"]),
        ]
        for a in view.accountability
    ]
    headers = ["what", "owner", "person", "due", "late_by", "why"]
    return Section("accountability", say("accountability"), [say(h) for h in headers], rows or [_none(say, 6)])


def checklist(view: RunView) -> Section:
    say = view.labels
    rows = [
        [
            c["item"],
            c["state"],
            say("done") if c["done_at"] is not None else say("not_done"),
            clock(c["done_at"]),
            c["by"] or DASH,
        ]
        for c in view.document["checklist"]
    ]
    headers = ["item", "state", "verdict", "done_at", "by"]
    return Section("checklist", say("checklist"), [say(h) for h in headers], rows or [_none(say, 5)])


def notes(view: RunView) -> Section:
    say = view.labels
    rows = [
        [clock(e["t"]), e["actor"], e.get("role") or DASH, e["text"]]
        for e in view.events
        if e["event"] == EventType.NOTE
    ]
    headers = ["clock", "actor", "role", "detail"]
    return Section("notes", say("notes"), [say(h) for h in headers], rows or [_none(say, 4)])


def _none(say: Labels, columns: int) -> list[str]:
    return [say("none")] + [""] * (columns - 1)


def footer(view: RunView) -> str:
    """`Record verified: … · 12 events · head hash 3f…`."""
    found, say = view.document["integrity"], view.labels
    verdict = found.get("verdict") or "unknown"
    head = found.get("head") or DASH
    return f"{say('integrity.' + verdict)} · {found.get('events', 0)} {say('events')} · {say('head')} {head}"
