"""The after-action report as plain text cells, section by section, in SPEC §6 order.

Markdown and HTML render the same sections; each renderer escapes the text itself, since
everything taken from the record (titles, notes, messages, names) is user input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drillkit.engine.fields import reads_a_line
from drillkit.model.events import EventType
from drillkit.render.cells import DASH, clock, duration
from drillkit.render.eventtext import acting_role, detail
from drillkit.render.labels import Labels
from drillkit.render.runview import RunView
from drillkit.store.port import Event


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
        *beside(view),
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
            say.what(m["from"]),
            say.what(m["to"]),
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


def beside(view: RunView) -> list[Section]:
    """A replayed drill's times beside the real incident's (SPEC §11); nothing for other runs."""
    found, say = view.document.get("source"), view.labels
    if found is None:
        return []
    if not found["found"]:
        missing = say("source_missing").format(run=found["run"])
        return [Section("beside", say("beside"), [], [[say("source_incident"), missing]])]
    rows = [
        [m["name"], duration(m["target"]), _pair(say, m["real"], m["drill"]), _verdicts(say, m)]
        for m in found["metrics"]
    ]
    rows += [[say.what(f"state:{s['state']}"), DASH, _pair(say, s["real"], s["drill"]), DASH] for s in found["states"]]
    headers = [say("what"), say("target"), say("real_vs_drill"), say("verdict")]
    return [Section("beside", f"{say('beside')} ({found['run']})", headers, rows)]


def _pair(say: Labels, real: float | None, drill: float | None) -> str:
    """`real: 14m / drill: 9m`."""
    return f"{say('real')}: {duration(real)} / {say('drill')}: {duration(drill)}"


def _verdicts(say: Labels, metric: dict[str, Any]) -> str:
    real = say.value(metric["real_verdict"]) if metric["real_verdict"] else DASH
    return f"{say('real')}: {real} / {say('drill')}: {say.value(metric['drill_verdict'])}"


def state_times(view: RunView) -> Section:
    say = view.labels
    rows = [[state, duration(seconds)] for state, seconds in view.state_times.items()]
    return Section("state_times", say("state_times"), [say("state"), say("duration")], rows)


def expectations(view: RunView) -> Section:
    say = view.labels
    rows = [
        [
            e["inject"],
            say.what(e["expect"]),
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
    rows = [_timeline_row(e, view) for e in view.timeline_events]
    mode = view.run["mode"]
    headers = [f"{say('time')} ({view.zone})", say.clock(mode), say("event"), say("actor"), say("role"), say("detail")]
    return Section("timeline", say("timeline"), headers, rows)


@reads_a_line
def _timeline_row(event: Event, view: RunView) -> list[str]:
    say = view.labels
    return [
        view.when(event["ts"]),
        clock(event["t"]),
        say.event(event["event"]),
        say.actor(event["actor"]),
        acting_role(event) or DASH,
        detail(event, say.lang),
    ]


def accountability(view: RunView) -> Section:
    say = view.labels
    rows = [
        [
            say.what(a["what"]),
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
    rows = [_note_row(e) for e in view.events if e["event"] == EventType.NOTE]
    headers = [say.clock(view.run["mode"]), say("actor"), say("role"), say("detail")]
    return Section("notes", say("notes"), headers, rows or [_none(say, 4)])


@reads_a_line
def _note_row(note: Event) -> list[str]:
    return [clock(note["t"]), note["actor"], note.get("role") or DASH, note["text"]]


def _none(say: Labels, columns: int) -> list[str]:
    return [say("none")] + [""] * (columns - 1)


def footer(view: RunView) -> str:
    """`Record verified: … · 12 events · head hash 3f…`."""
    found, say = view.document["integrity"], view.labels
    verdict = found.get("verdict") or "unknown"
    head = found.get("head") or DASH
    line = f"{say('integrity.' + verdict)} · {found.get('events', 0)} {say('events')} · {say('head')} {head}"
    if found.get("seal"):
        line += f" · {say('seal')} {found['seal']}"
        if found.get("unsealed"):
            line += f" · {found['unsealed']} {say('unsealed_tail')}"
    return line
