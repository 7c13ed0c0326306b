"""Replay a record into a run state, and decide what comes due (SPEC §4).

The state of a run is whatever replaying its record gives. `RunState.apply` is the one place an
event changes that state; `due_drafts` is the one place the system decides what came due (injects,
state and metric deadline breaches, `on_deadline` triggers, the time limit) up to a drill time.
Commands (`decide.py`), catch-up, the conductor and `drill simulate` all go through them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple, TypeVar

import orjson

from drillkit.engine.fields import UNREPLAYABLE, unreplayable
from drillkit.engine.machine import Attempt, PlanMachine
from drillkit.model.clock import parse_utc
from drillkit.model.events import AFTER_END, EventType
from drillkit.model.plans import Playbook, Scenario, Transition, for_severity
from drillkit.store.files import drill_seconds, effective_t
from drillkit.store.port import Event

PlanModel = TypeVar("PlanModel")
EVALUATOR = "evaluator"  # `drill assign RUN evaluator NAME` (SPEC §10)
LATE_AFTER = 1.0  # wall seconds after which a delivery counts as late


class Done(NamedTuple):
    """A checklist item done: when, by whom, in which state."""

    t: float
    by: str
    role: str | None
    state: str


class RunState:
    """A run as its record left it: where it stands, who holds which role, what is done and due.
    (A plain class: a dataclass costs every command start-up time to make.)"""

    def __init__(  # what `run.started` says, each named at the one caller
        self,
        *,
        run: str,
        mode: str,
        playbook: Playbook,
        scenario: Scenario | None,
        severity: str,
        participants: dict[str, str],
        speed: float,
        started: datetime,
        state: str,
        seq: int,
        head: str,
    ) -> None:
        self.run, self.mode, self.playbook, self.scenario = run, mode, playbook, scenario
        self.severity, self.participants, self.speed, self.started = severity, participants, speed, started
        self.state, self.seq, self.head = state, seq, head
        self.entered = 0.0
        self.severity_since = 0.0
        self.first_entry: dict[str, float] = {state: 0.0}
        self.checks: dict[str, Done] = {}
        self.delivered: set[str] = set()
        self.handled: set[str] = set()
        self.evaluators: set[str] = set()  # added with `drill assign RUN evaluator NAME`
        self.outcome: str | None = None
        self.escalation_owed: float | None = None  # the stay's deadline, while its `on_deadline` move is owed
        self.people: set[str] = set(participants.values())  # everyone named with --as or assigned since
        self.machine = PlanMachine(playbook)
        self.inject_order = sorted((float(i.at), i.id) for i in scenario.injects) if scenario else []  # due order
        self.upcoming: Due | None = None  # `first_due`, once known
        self.upcoming_known = False  # reset by every change
        self.first: Event = {}  # the `run.started` it began with (kept by a snapshot)

    def __repr__(self) -> str:
        return f"RunState(run={self.run!r}, state={self.state!r}, seq={self.seq})"

    @classmethod
    def begin(cls, started: Event) -> RunState:
        try:
            return cls._begun(started)
        except UNREPLAYABLE as exc:
            raise unreplayable(started.get("run", "?"), started, exc) from None

    @classmethod
    def _begun(cls, started: Event) -> RunState:
        state = cls._from_started(started)
        state.first = started
        return state

    @classmethod
    def _from_started(cls, started: Event) -> RunState:
        scenario = started.get("scenario")
        playbook = _validated(Playbook.from_data, started["playbook"])
        return cls(
            run=started["run"],
            mode=started["mode"],
            playbook=playbook,
            scenario=_validated(Scenario.from_data, scenario) if scenario else None,
            severity=_one_of(started["severity"], "severity", playbook.severities),
            participants=_people(started.get("participants") or {}, playbook),
            speed=_speed(started.get("speed", 1.0)),
            started=parse_utc(started["ts"]),
            state=_one_of(started["state"], "state", playbook.states),
            seq=started["seq"],
            head=started["hash"],
        )

    @classmethod
    def replay(cls, events: list[Event]) -> RunState:
        state = cls.begin(events[0])
        changing = _APPLY  # most events (notes above all) change nothing: no call for them
        for event in events[1:]:
            kind = event.get("event")
            if kind in changing or kind is None:
                state.fold(event)  # a line without `event` is folded too, to be named
        state.seq, state.head = events[-1]["seq"], events[-1]["hash"]
        return state

    def kept(self) -> bytes:
        """The state as a snapshot's bytes, from which `restored` makes it again."""
        return orjson.dumps(
            {
                "format": KEPT_FORMAT,
                "started": self.first,
                **{name: getattr(self, name) for name in _KEPT_AS_IS},
                "checks": {item: list(done) for item, done in self.checks.items()},
                **{name: sorted(getattr(self, name)) for name in _KEPT_SETS},
            }
        )

    @classmethod
    def restored(cls, data: bytes) -> RunState | None:
        """The state `kept` made these bytes of; None for bytes of another format or shape (the
        record is then replayed from its start)."""
        try:
            fields = orjson.loads(data)
            if fields["format"] != KEPT_FORMAT:
                return None
            state = cls._begun(fields["started"])
            for name in _KEPT_AS_IS:
                setattr(state, name, fields[name])
            state.checks = {item: Done(*done) for item, done in fields["checks"].items()}
            for name in _KEPT_SETS:
                setattr(state, name, set(fields[name]))
        except UNREPLAYABLE:  # orjson's decode error is a ValueError
            return None
        return state

    def copy(self) -> RunState:
        """An independent copy to decide on (the playbook and its machine are shared: frozen)."""
        twin = RunState.__new__(RunState)
        twin.__dict__.update(self.__dict__)  # copy.copy's generic path is three times slower here
        twin.participants, twin.first_entry = dict(self.participants), dict(self.first_entry)
        twin.checks, twin.delivered, twin.handled = dict(self.checks), set(self.delivered), set(self.handled)
        twin.people, twin.evaluators = set(self.people), set(self.evaluators)
        return twin

    @property
    def ended(self) -> bool:
        return self.outcome is not None

    def drill_time(self, now: datetime) -> float:
        return round((now - self.started).total_seconds() * self.speed, 3)

    def holder(self, role: str | None) -> str | None:
        return self.participants.get(role) if role else None

    def all_evaluators(self) -> list[str]:
        """The scenario's evaluators, then those assigned during the run."""
        listed = list(self.scenario.evaluators) if self.scenario else []
        return listed + sorted(self.evaluators - set(listed))

    def roles_of(self, person: str) -> list[str]:
        return [role for role, holder in self.participants.items() if holder == person]

    def apply(self, event: Event) -> None:
        """Take one event (recorded, or a draft carrying `t`) into the state, and the record's
        position if it was recorded."""
        self.fold(event)
        seq = event.get("seq")
        if seq is not None:
            self.seq, self.head = seq, event["hash"]

    def fold(self, event: Event) -> None:
        """What one event changes in the run (most events, notes above all, change nothing); a
        line edited by hand that still parses but cannot be taken is a RecordError naming it."""
        try:
            handler = _APPLY.get(event["event"])
            if handler is not None:
                handler(self, event, effective_t(event))
                self.upcoming_known = False
        except UNREPLAYABLE as exc:
            raise unreplayable(self.run, event, exc) from None

    def allowed_triggers(self, role: str | None, system: bool = False) -> list[str]:
        """Triggers that would pass their guards now for this role."""
        done = set(self.checks)
        return [
            trigger
            for trigger in self.machine.triggers_from(self.state)
            if self.machine.fire(self.state, trigger, Attempt(role=role, done=done, system=system)) is not None
        ]

    def open_items(self) -> list[str]:
        return [item for item in self.playbook.checklist_owner() if item not in self.checks]


KEPT_FORMAT = 3  # of `RunState.kept`, raised with any change to what `fold` keeps: another is read past
_KEPT_AS_IS = (
    "seq", "head", "state", "severity", "severity_since", "entered", "participants", "first_entry", "outcome",
    "escalation_owed",
)  # fmt: skip
_KEPT_SETS = ("delivered", "handled", "evaluators", "people")
ESCALATION = "escalation"  # due `escalation:state:NAME@T`: the `on_deadline` move owed since the stay's breach


def _validated(make: Callable[[Any], PlanModel], data: dict[str, Any]) -> PlanModel:
    """The plan a record carries, made once for equal plans: a report replays a thousand runs of
    a handful of playbooks. Plans are frozen, so sharing them is safe."""
    found: PlanModel = _made_from_json(make, orjson.dumps(data))  # lru_cache's type drops the TypeVar
    return found


@lru_cache(maxsize=256)
def _made_from_json(make: Callable[[Any], PlanModel], plan: bytes) -> PlanModel:
    """A pure function of the plan's JSON (made from the loaded object, as from a record)."""
    return make(orjson.loads(plan))


def last_event(events: list[Event]) -> Event:
    """`run.ended` when the run has ended (the events of `AFTER_END` may follow it), else the last event."""
    for event in reversed(events):
        if event["event"] == EventType.RUN_ENDED:
            return event
        if event["event"] not in AFTER_END:
            break
    return events[-1]


def _enter(state: RunState, event: Event, t: float) -> None:
    state.state = _known(event["to"], state.playbook.states, "state")
    state.entered = t
    state.first_entry.setdefault(event["to"], t)
    state.escalation_owed = None


def _check(state: RunState, event: Event, t: float) -> None:
    state.checks.setdefault(event["item"], Done(t, event["actor"], event.get("role"), event["state"]))


def _assign(state: RunState, event: Event, t: float) -> None:
    if event["role"] == EVALUATOR:  # not a playbook role: evaluators rate, they do not respond
        state.evaluators.add(event["person"])
    else:
        state.participants[event["role"]] = event["person"]
        state.people.add(event["person"])


def _severity(state: RunState, event: Event, t: float) -> None:
    state.severity, state.severity_since = _known(event["to"], state.playbook.severities, "severity"), t


def _known(name: str, known: Mapping[str, object], what: str) -> str:
    """A name the run's playbook has: a line edited to name another is refused where it is
    replayed (at its seq), not by whatever later looks the name up."""
    if name not in known:
        raise ValueError(f"unknown {what} {name!r}")
    return name


def _delivered(state: RunState, event: Event, t: float) -> None:
    state.delivered.add(event["inject"])


def _breached(state: RunState, event: Event, t: float) -> None:
    state.handled.add(_breach_key(state, event))
    if event.get("state") == state.state and state.playbook.escalation(state.state) is not None:
        state.escalation_owed = drill_seconds(event["due"], "due")  # until it fires or the run leaves the state


def _ended(state: RunState, event: Event, t: float) -> None:
    state.outcome = event["outcome"]


def _breach_key(state: RunState, event: Event) -> str:
    """A metric breaches once a run; a state once per stay (it is recorded during that stay)."""
    if event.get("metric"):
        return f"metric:{event['metric']}"
    return f"state:{event['state']}@{state.entered}"


_APPLY = {
    EventType.TRANSITION: _enter,
    EventType.CHECK_DONE: _check,
    EventType.ASSIGNED: _assign,
    EventType.SEVERITY_CHANGED: _severity,
    EventType.INJECT_DELIVERED: _delivered,
    EventType.DEADLINE_BREACHED: _breached,
    EventType.RUN_ENDED: _ended,
}


# --- what comes due -------------------------------------------------------------------------


class Due(NamedTuple):
    """One thing the system must record at drill time `at` (kinds sort injects first on ties).

    A tuple: the conductor sorts every run's dues on each look, and tuples compare in C."""

    at: float
    rank: int
    key: str


def _one_of(value: Any, name: str, known: Mapping[str, object]) -> str:
    """A severity or state `run.started` names: one of its playbook's (a ValueError names it)."""
    if not isinstance(value, str) or value not in known:
        raise ValueError(f"{name} {value!r} is none of the playbook's: {', '.join(known)}")
    return value


def _people(value: Any, playbook: Playbook) -> dict[str, str]:
    """`run.started`'s participants: each a role of the playbook and a person's name."""
    people = dict(value)
    for role, person in people.items():
        _one_of(role, "role", playbook.roles)
        if not isinstance(person, str):
            raise ValueError(f"participant {role}: {person!r} is not a name")
    return people


def _speed(value: Any) -> float:
    """A record's drill clock speed: a number above 0 (the drill clock never stops or runs back).
    A ValueError or TypeError names the line."""
    speed = float(value)
    if not 0 < speed < math.inf:
        raise ValueError(f"speed {value!r} is not a number above 0")
    return speed


def pending(state: RunState) -> list[Due]:
    """Everything not yet recorded that will come due, given the state as it is now, in due order."""
    return sorted(_dues(state))


def deadlines_ahead(state: RunState) -> list[tuple[str, float]]:
    """The deadlines still running, in due order, each as what (`state:NAME`, `metric:NAME` or
    `time_limit`, as a breach names it) and its drill time."""
    found = []
    for due in pending(state):
        kind, _, name = due.key.partition(":")
        if kind in ("state", "metric"):
            found.append((f"{kind}:{name.split('@')[0]}", due.at))
        elif kind == "time_limit":
            found.append((kind, due.at))
    return found


def breach_what(event: Event) -> str:
    """What a `deadline.breached` event names: `metric:NAME` or `state:NAME`."""
    return f"metric:{event['metric']}" if event.get("metric") else f"state:{event['state']}"


def first_due(state: RunState) -> Due | None:
    """What comes due next. The conductor asks of every run on each look and every command asks
    before it decides, so only the first inject not yet delivered is a candidate, nothing is
    sorted, and the answer is kept on the state until an event changes it (`RunState.fold`)."""
    if not state.upcoming_known:
        state.upcoming = min(_dues(state, first_inject_only=True), default=None)
        state.upcoming_known = True
    return state.upcoming


def falls_due(state: RunState, now_t: float) -> bool:
    """Whether anything is due by drill time `now_t`."""
    upcoming = first_due(state)
    return upcoming is not None and upcoming.at <= now_t


def next_due(state: RunState) -> float | None:
    """Drill time of the next thing due, or None."""
    upcoming = first_due(state)
    return upcoming.at if upcoming else None


def _dues(state: RunState, *, first_inject_only: bool = False) -> list[Due]:
    if state.ended:
        return []
    found = _inject_dues(state, first_inject_only) + _state_dues(state) + _metric_dues(state)
    if state.scenario is not None:
        found.append(Due(float(state.scenario.time_limit), 9, "time_limit"))
    return found


def _inject_dues(state: RunState, first_only: bool) -> list[Due]:
    found = []
    for at, name in state.inject_order:
        if name not in state.delivered:
            found.append(Due(at, 0, f"inject:{name}"))
            if first_only:
                break
    return found


def stay_deadline(state: RunState) -> float | None:
    """The drill time the current stay's deadline falls at, as it stands now (None: no deadline,
    or its breach is already recorded)."""
    dues = [due for due in _state_dues(state) if due.key.startswith("state:")]
    return dues[0].at if dues else None


def _state_dues(state: RunState) -> list[Due]:
    limit = state.playbook.deadline(state.state, state.severity)
    if limit is None:
        return []
    key = f"state:{state.state}@{state.entered}"
    at = _not_before_severity(state, state.entered + limit)
    if key not in state.handled:
        return [Due(at, 1, key)]
    fires = escalation_fires(state)
    return [] if fires is None else [Due(fires, 1, f"{ESCALATION}:{key}")]


def escalation_fires(state: RunState) -> float | None:
    """When the system fires the current stay's owed `on_deadline` trigger (SPEC §2): as its
    deadline passes, or as soon as the last checklist item its transition requires is done, if
    that is later; never once the run has left the state. None while nothing is owed, or an item
    it requires is not done yet."""
    if state.escalation_owed is None:
        return None
    required = _escalation(state).requires
    if any(item not in state.checks for item in required):
        return None
    return max([state.escalation_owed, *(state.checks[item].t for item in required)])


def _not_before_severity(state: RunState, due: float) -> float:
    """A severity change tightens deadlines from the moment it is made, never before it."""
    return round(max(due, state.severity_since), 3)


def _metric_dues(state: RunState) -> list[Due]:
    found = []
    for name, metric in state.playbook.metrics.items():
        target = for_severity(metric.target, state.severity)
        begin = 0.0 if metric.source == "start" else state.first_entry.get(metric.source)
        key = f"metric:{name}"
        if target is None or begin is None or key in state.handled or _reached(state, metric.to):
            continue
        found.append(Due(_not_before_severity(state, begin + target), 2, key))
    return found


def _reached(state: RunState, target: str) -> bool:
    if target.startswith("check:"):
        return target.removeprefix("check:") in state.checks
    return target in state.first_entry


def due_drafts(state: RunState, now_t: float) -> list[Event]:
    """Record, in due order, everything due by drill time `now_t`; applies each to `state`."""
    drafts: list[Event] = []
    while (upcoming := first_due(state)) is not None and upcoming.at <= now_t:
        made = _make(state, upcoming, now_t)
        for draft in made:
            state.apply({**draft, "t": now_t})
        drafts.extend(made)
    return drafts


def decided(state: RunState, command: Callable[[RunState], list[Event]], now_t: float) -> list[Event]:
    """What one command writes at drill time `now_t`: what came due before it (catch-up), its own
    events decided on the state that gives, then what those make due at once (an owed
    `on_deadline` move a check allows, a deadline a severity change brings forward), in due
    order. Applies them to `state`; `command` raises `Rejected` to refuse."""
    drafts = due_drafts(state, now_t)
    made = command(state)
    for draft in made:
        state.apply({**draft, "t": now_t})
    return drafts + made + due_drafts(state, now_t)


def _make(state: RunState, due: Due, now_t: float) -> list[Event]:
    kind, _, name = due.key.partition(":")
    late = now_t - due.at
    late_by = round(late, 3) if late > LATE_AFTER * state.speed else 0.0  # within a wall second: on time
    if kind == ESCALATION:
        return _on_deadline(state, due, late_by)
    if kind == "inject":
        return [_inject_draft(state, name, due.at, late_by)]
    if kind == "time_limit":
        return [{**ended_draft(state, "timed-out", f"time limit reached at T+{due.at:.0f}s"), "due": due.at}]
    owner = _owner(state, kind, name)
    breach = {
        "event": EventType.DEADLINE_BREACHED,
        "actor": "system",
        "role": None,
        kind: name.split("@")[0],
        "owner": owner,
        "assignee": state.holder(owner),
        "due": due.at,
        "late_by": late_by,
    }
    return [breach]


def _owner(state: RunState, kind: str, name: str) -> str | None:
    if kind == "metric":
        return state.playbook.metrics[name].owner
    return state.playbook.states[name.split("@", maxsplit=1)[0]].owner


def _inject_draft(state: RunState, inject_id: str, at: float, late_by: float) -> Event:
    assert state.scenario is not None
    inject = next(i for i in state.scenario.injects if i.id == inject_id)
    return {
        "event": EventType.INJECT_DELIVERED,
        "actor": "system",
        "role": None,
        "inject": inject.id,
        "message": inject.message,
        "due": at,
        "late": late_by > 0,
    }


def _escalation(state: RunState) -> Transition:
    """The current state's `on_deadline` transition, owed (`_breached` owes one only where there is one)."""
    escalation = state.playbook.escalation(state.state)
    assert escalation is not None
    return escalation


def _on_deadline(state: RunState, due: Due, late_by: float) -> list[Event]:
    """The owed `on_deadline` move, come due by `escalation_fires`: right after its breach, in the
    same pass, when nothing holds it back."""
    escalation = _escalation(state)
    move = {
        "event": EventType.TRANSITION,
        "actor": "system",
        "role": None,
        "trigger": escalation.trigger,
        "from": state.state,
        "to": escalation.to,
        "note": f"on_deadline after {state.state!r} deadline",
        "due": due.at,
        "late_by": late_by,
    }
    return [move, *final_drafts(state, escalation.to)]


def final_drafts(state: RunState, target: str) -> list[Event]:
    """A transition into a final state ends the run as `resolved`."""
    if state.playbook.states[target].final:
        return [ended_draft(state, "resolved", f"final state {target!r} reached")]
    return []


def ended_draft(state: RunState, outcome: str, reason: str) -> Event:
    """`run.ended`; `events` and `head` are filled in by the writer's chain position."""
    return {"event": EventType.RUN_ENDED, "actor": "system", "role": None, "outcome": outcome, "reason": reason}
