"""A real incident recast as a drill scenario (SPEC §11, `drill replay`). Pure: the record in,
the scenario out as plain data, ready to be written as YAML.

- Injects carry what the responders learned and when: the opening, each severity change, and the
  notes of people outside the response roles.
- Expectations ask for each transition and checklist item the responders did, within the
  deadline of the state they did it in (the rest of the drill where the state has none), each on
  an inject at the moment that stay began.
- The script replays every action of the responders at its recorded drill time, severity changes
  and hand-overs included, so a simulation of it writes what the incident's record holds.
- People become placeholders per role (`lead-1`, `noc-2`), in the structure and in free text;
  free text is masked again with the workspace's patterns.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from drillkit.engine.fields import actor, reads_a_line
from drillkit.engine.replay import RunState
from drillkit.model.durations import format_clock, format_drill_time, format_duration, parse_drill_time
from drillkit.model.errors import UsageError
from drillkit.model.events import EventType
from drillkit.model.plans import Playbook
from drillkit.store.files import effective_t
from drillkit.store.port import Event

SYSTEM = "system"
OUTSIDER = "person"  # the placeholder stem of someone who held no role in the incident
DRILL_MARGIN = 1800  # seconds a replayed drill may run past the incident's own length (at least)


@dataclass(frozen=True, kw_only=True)
class Recast:
    """What `drill replay` asks for: the scenario's id and title (None: from the incident)."""

    scenario: str
    title: str | None
    mask: Callable[[str], str]  # the workspace's masks of personal data


@dataclass
class Recasting:
    """The scenario as it is built, and the actions left out (by people who held no role)."""

    data: dict[str, Any]
    left_out: list[str] = field(default_factory=list)


@reads_a_line
def _assignment(event: Event) -> tuple[str, str]:
    """Who was assigned which role."""
    return str(event["person"]), str(event["role"])


@reads_a_line
def _taken(event: Event, walk: _Walk) -> None:
    """One event into the drill being written: a line lacking what it needs is refused at its seq."""
    walk.take(event)


def recast(events: list[Event], ask: Recast) -> Recasting:
    """The scenario of an ended incident; UsageError for any other run."""
    rs = RunState.replay(events)
    if rs.mode != "incident":
        raise UsageError(f"run {rs.run} is a {rs.mode}: drill replay makes drills of incidents only (mode incident)")
    if not rs.ended:
        raise UsageError(f"run {rs.run} has not ended; replay it once it has (drill status {rs.run})")
    names = Placeholders.from_record(events)
    title = str(events[0].get("title") or rs.playbook.title)
    walk = _Walk(RunState.begin(events[0]), names, lambda text: names.scrub(ask.mask(text)), title)
    for event in _until_end(events):
        _taken(event, walk)
    end = effective_t(_until_end(events)[-1])
    limit = _time_limit(end, rs.outcome == "resolved")
    injects = walk.expectations(limit)
    data = {
        "scenario": ask.scenario,
        "title": walk.scrub(ask.title or f"Replay: {title}"),  # a --title typed with a name or a number too
        "playbook": rs.playbook.playbook,
        "severity": str(events[0]["severity"]),
        "form": "tabletop",
        "participants": {role: names.of(person) for role, person in (events[0].get("participants") or {}).items()},
        "time_limit": format_drill_time(limit),
        "source": {"run": rs.run, "head": str(events[-1]["hash"])},
        "injects": injects,
        "script": walk.script,
    }
    return Recasting(data, walk.left_out)


def _until_end(events: list[Event]) -> list[Event]:
    """The events up to `run.ended`: what comes after (notifications, annotations) is no action."""
    ended = next(i for i, e in enumerate(events) if e["event"] == EventType.RUN_ENDED)
    return events[: ended + 1]


def _time_limit(end: float, resolved: bool) -> float:
    """An incident that was resolved leaves the drill room (twice its length, at least half an hour
    more, to the minute); an aborted one ends the drill where it ended, to the millisecond (a second
    later, a deadline the incident never reached would be breached in the drill)."""
    if not resolved:
        return max(0.001, round(end, 3))
    return math.ceil(max(2 * end, end + DRILL_MARGIN) / 60) * 60


@dataclass
class Placeholders:
    """Each person's placeholder: the first role they held or were given, numbered per role."""

    names: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    _found: tuple[re.Pattern[str], list[str]] | None = field(default=None, repr=False)  # for `names` as they are

    @classmethod
    def from_record(cls, events: list[Event]) -> Placeholders:
        """Role holders by their roles; anyone else who wrote in the record (someone on the roster
        who never held a role) as `person-N`, so their name is never copied from free text either."""
        found = cls()
        for role, person in (events[0].get("participants") or {}).items():
            found.add(str(person), role)
        for event in events:
            if event["event"] == EventType.ASSIGNED:
                found.add(*_assignment(event))
        for event in events:
            if actor(event) != SYSTEM:
                found.add(actor(event), OUTSIDER)
        return found

    def add(self, person: str, role: str) -> None:
        if person not in self.names:
            self.counts[role] = self.counts.get(role, 0) + 1
            self.names[person] = f"{role}-{self.counts[role]}"
            self._found = None

    def of(self, person: str) -> str:
        return self.names[person]

    def scrub(self, text: str) -> str:
        """`text` with every person's name replaced by their placeholder, in one pass (longest
        names first): a placeholder written is never read again as a name (a person named `lead`
        would turn `lead-1` into `noc-1-1`)."""
        if not self.names:
            return text
        if self._found is None:
            people = sorted(self.names, key=len, reverse=True)
            self._found = re.compile("|".join(f"({_name_pattern(person)})" for person in people)), people
        pattern, people = self._found
        return pattern.sub(lambda found: self.names[people[(found.lastindex or 1) - 1]], text)


def _name_pattern(person: str) -> str:
    """A name as a whole word in any case where it is written in letters of the Latin alphabet
    (`Bob` and `BOB` for bob); anywhere in scripts written without spaces between words (张伟 in
    张伟已到场)."""
    quoted = re.escape(person)
    if person.isascii():
        return rf"(?i:(?<![A-Za-z0-9]){quoted}(?![A-Za-z0-9]))"
    return quoted


@dataclass(frozen=True)
class _Asked:
    """An action the responders did, asked of the drill: in the stay that began at `at`."""

    at: float
    state: str
    severity: str
    action: tuple[str, str]  # ("trigger" or "check", its name)
    role: str | None


@dataclass
class _Walk:
    """The incident walked event by event, its state kept as it stood before each one."""

    rs: RunState
    names: Placeholders
    scrub: Callable[[str], str]
    title: str  # the incident's, as recorded
    script: list[dict[str, Any]] = field(default_factory=list)
    informed: list[dict[str, Any]] = field(default_factory=list)
    asked: list[_Asked] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        pb, rs = self.rs.playbook, self.rs
        title = self.scrub(self.title)
        label = pb.severities[rs.severity].label
        self.inform(0.0, "opening", f"{title}: severity {rs.severity} ({label}); {_stay(pb, rs.state)}")

    def take(self, event: Event) -> None:
        handler = _TAKE.get(event["event"])
        if handler is not None and event["actor"] != SYSTEM:
            handler(self, event, effective_t(event))
        self.rs.apply(event)

    def responder(self, event: Event, t: float) -> str | None:
        """The actor's placeholder, if they are one of the run's people by now; else the action
        is left out (the drill's script names participants only), and said so."""
        actor = str(event["actor"])
        if actor in self.rs.people:
            return self.names.of(actor)
        self.left_out.append(f"{format_clock(t)} {event['event']} by someone who held no role in the run")
        return None

    def step(self, t: float, by: str, **fields: Any) -> None:
        self.script.append({"at": format_drill_time(t), "by": by, **{k: v for k, v in fields.items() if v is not None}})

    def role(self, event: Event) -> str | None:
        """`role:` where the actor's default (the one role they hold) would not give the role recorded."""
        held = self.rs.roles_of(str(event["actor"]))
        recorded = event.get("role")
        if recorded is None:
            return held[0] if len(held) > 1 else None
        return None if held == [recorded] else str(recorded)

    def action(self, event: Event, t: float, kind: str, name: str) -> None:
        by = self.responder(event, t)
        if by is None:
            return
        note = self.scrub(str(event["note"])) if event.get("note") else None
        self.step(t, by, role=self.role(event), **{kind: name}, note=note)
        rs = self.rs
        self.asked.append(_Asked(rs.entered, rs.state, rs.severity, (kind, name), event.get("role")))

    def inform(self, t: float, kind: str, message: str) -> None:
        self.informed.append({"id": _unique(kind, self._ids()), "at": format_drill_time(t), "message": message})

    def _ids(self) -> set[str]:
        return {inject["id"] for inject in self.informed}

    def expectations(self, limit: float) -> list[dict[str, Any]]:
        """The injects, each action asked on the inject of the moment its stay began (a new one
        where that moment has none free)."""
        pb = self.rs.playbook
        for asked in self.asked:
            deadline = pb.deadline(asked.state, asked.severity)
            within = deadline if deadline is not None else max(1, math.ceil(limit - asked.at))
            kind, name = asked.action
            expect = {kind: name, "within": format_duration(within)} | ({"role": asked.role} if asked.role else {})
            at = format_drill_time(asked.at)
            free = next((i for i in self.informed if i["at"] == at and "expect" not in i), None)
            if free is None:
                message = f"Real incident, {format_clock(asked.at)}: {_stay(pb, asked.state)}"
                free = {"id": _unique(name, self._ids()), "at": at, "message": message}
                self.informed.append(free)
            free["expect"] = expect
        return sorted(self.informed, key=lambda inject: parse_drill_time(inject["at"]))


def _stay(pb: Playbook, state: str) -> str:
    owner = pb.states[state].owner
    return f"the run is in '{state}'" + (f" (owner: {owner})" if owner else "")


def _unique(wanted: str, taken: set[str]) -> str:
    if wanted not in taken:
        return wanted
    number = 2
    while f"{wanted}-{number}" in taken:
        number += 1
    return f"{wanted}-{number}"


def _transition(walk: _Walk, event: Event, t: float) -> None:
    walk.action(event, t, "trigger", str(event["trigger"]))


def _check(walk: _Walk, event: Event, t: float) -> None:
    walk.action(event, t, "check", str(event["item"]))


def _note(walk: _Walk, event: Event, t: float) -> None:
    """A responder's note is replayed; the note of someone outside the response roles is news."""
    text = walk.scrub(str(event["text"]))
    if walk.rs.roles_of(str(event["actor"])):
        walk.step(t, walk.names.of(str(event["actor"])), role=walk.role(event), note=text)
    else:
        walk.inform(t, "note", text)


def _severity(walk: _Walk, event: Event, t: float) -> None:
    reason = walk.scrub(str(event["reason"]))
    label = walk.rs.playbook.severities[str(event["to"])].label
    walk.inform(t, "severity", f"Severity {event['from']} → {event['to']} ({label}): {reason}")
    by = walk.responder(event, t)
    if by is not None:
        walk.step(t, by, severity=str(event["to"]), reason=reason)


def _assigned(walk: _Walk, event: Event, t: float) -> None:
    if event["role"] not in walk.rs.playbook.roles:
        return  # an evaluator: no responder
    by = walk.responder(event, t)
    if by is not None:
        walk.step(t, by, assign=str(event["role"]), person=walk.names.of(str(event["person"])))


_TAKE: dict[str, Callable[[_Walk, Event, float], None]] = {
    EventType.TRANSITION: _transition,
    EventType.CHECK_DONE: _check,
    EventType.NOTE: _note,
    EventType.SEVERITY_CHANGED: _severity,
    EventType.ASSIGNED: _assigned,
}
