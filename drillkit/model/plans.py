"""A playbook, and a drill's scenario, as the engine uses them: plain immutable values (named
tuples, the cheapest to define), no validation library behind them.

The commands on a run (act, check, note…) build their playbook, and a drill's scenario, from
the copy the record holds, on every start; these classes cost a millisecond to import where the
validated models of `planfiles.py` cost some 60 ms. A playbook file is validated there and turned
into these values (`planfiles.Playbook.to_plan`); a record's copy, written from such values (a
scenario's from the validated model), is built here with the shape of what the engine reads of it
checked (`Playbook.from_data`, `Scenario.from_data`), so a damaged copy is refused, never half-read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, NamedTuple, TypeVar

from drillkit.model.durations import parse_duration

ID_PATTERN = r"^[^\W_][\w-]*$"
FILE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
MAX_VERSION = 2**53 - 1  # exact in every JSON reader of an export; a date such as 20261204 fits
RATINGS = ("P", "S", "M", "U")  # HSEEP: performed without, with some, with major challenges; unable
GRADES = ("优秀", "良好", "合格")  # with their thresholds, best first; below the last: 不合格
FAILING_GRADE = "不合格"
Rating = Literal["P", "S", "M", "U"]
Grade = Literal["优秀", "良好", "合格"]
DEFAULT_POINTS: dict[Rating, int] = {"P": 100, "S": 80, "M": 60, "U": 0}  # a rating's points (SPEC §10)
DEFAULT_GRADES: dict[Grade, int] = {"优秀": 90, "良好": 75, "合格": 60}  # the least score of each grade
Data = Mapping[str, Any]
T = TypeVar("T")


class Severity(NamedTuple):
    label: str


class State(NamedTuple):
    initial: bool
    final: bool
    owner: str | None
    deadline: dict[str, int] | None
    on_deadline: str | None
    checklist: dict[str, str]


class Transition(NamedTuple):
    trigger: str
    source: list[str]
    to: str
    roles: list[str] | None
    requires: list[str]


class Metric(NamedTuple):
    source: str  # a state id, or 'start'
    to: str  # a state id, or 'check:<item>'
    target: dict[str, int] | None
    owner: str | None


class Playbook(NamedTuple):
    playbook: str
    title: str
    kind: Literal["outage", "security"]
    version: int
    exercise_every: int | None
    severities: dict[str, Severity]
    roles: dict[str, str]
    states: dict[str, State]
    transitions: list[Transition]
    metrics: dict[str, Metric]

    @classmethod
    def from_data(cls, data: Data) -> Playbook:
        """A playbook from its JSON form (`data()`): KeyError names a missing key, ValueError
        any other misfit."""
        _only(data, _PLAYBOOK_KEYS, "playbook")
        return cls(
            playbook=_text(data["playbook"], "playbook"),
            title=_text(data["title"], "title"),
            kind=_kind(data["kind"]),
            version=_whole(data["version"], "version"),
            exercise_every=_optional(_seconds)(data.get("exercise_every"), "exercise_every"),
            severities=_map(data["severities"], "severities", _severity),
            roles=_map(data.get("roles", {}), "roles", _text),
            states=_map(data["states"], "states", _state),
            transitions=[
                _transition(item, f"transitions.{n}")
                for n, item in enumerate(_list(data["transitions"], "transitions"))
            ],
            metrics=_map(data.get("metrics", {}), "metrics", _metric),
        )

    def data(self) -> dict[str, Any]:
        """The playbook as JSON data with the file's own key names, in the file format's order."""
        return {
            "playbook": self.playbook,
            "title": self.title,
            "kind": self.kind,
            "version": self.version,
            "exercise_every": self.exercise_every,
            "severities": {sid: {"label": severity.label} for sid, severity in self.severities.items()},
            "roles": dict(self.roles),
            "states": {name: _state_data(state) for name, state in self.states.items()},
            "transitions": [_transition_data(tr) for tr in self.transitions],
            "metrics": {name: _metric_data(metric) for name, metric in self.metrics.items()},
        }

    @property
    def initial_state(self) -> str:
        return next(name for name, state in self.states.items() if state.initial)

    def checklist_owner(self) -> dict[str, str]:
        """Each checklist item → the state that lists it."""
        return {item: name for name, state in self.states.items() for item in state.checklist}

    def severity_named(self, name: str) -> str | None:
        """The severity id for what a person types: the id, the label or either half of a
        `重大 / Major` label, or a Chinese grade name (特别重大, 重大, 较大, 一般 for I to IV where
        the playbook has those ids); None when unknown or when it names several severities."""
        if name in self.severities:
            return name
        wanted = name.strip().casefold()
        named = {sid for sid, severity in self.severities.items() if wanted in _label_names(severity.label)}
        graded = _GRADES.get(wanted)
        if graded in self.severities:
            named.add(graded)
        return named.pop() if len(named) == 1 else None

    def severity_choices(self) -> str:
        """The severities as a person may name them, for a refusal: `I (特别重大 / Extraordinary), …`."""
        return ", ".join(f"{sid} ({severity.label})" for sid, severity in self.severities.items())

    def deadline(self, state: str, severity: str) -> int | None:
        return for_severity(self.states[state].deadline, severity)

    def escalation(self, state: str) -> Transition | None:
        """The transition the state's `on_deadline` trigger takes from it (None: it has none)."""
        trigger = self.states[state].on_deadline
        return next((t for t in self.transitions if t.trigger == trigger and state in t.source), None)

    def target(self, metric: str, severity: str) -> int | None:
        return for_severity(self.metrics[metric].target, severity)


class Expect(NamedTuple):
    trigger: str | None
    check: str | None
    within: int
    role: str | None

    @property
    def action(self) -> str:
        return f"trigger:{self.trigger}" if self.trigger else f"check:{self.check}"


class Inject(NamedTuple):
    id: str
    at: int | float  # drill seconds, to the millisecond
    message: str
    expect: Expect | None


class Objective(NamedTuple):
    title: str
    capability: str
    criteria: list[str]
    evidence: list[str]
    weight: int


class Scoring(NamedTuple):
    """Points per rating and the least score of each grade, the scenario's over SPEC §10's defaults."""

    points: dict[str, int]
    grades: dict[str, int]

    def value(self, rating: str) -> int:
        return self.points[rating]

    def least(self, grade: str) -> int:
        return self.grades[grade]

    def grade(self, score: float) -> str:
        return next((grade for grade in GRADES if score >= self.least(grade)), FAILING_GRADE)


class Scenario(NamedTuple):
    """What the engine reads of a drill's scenario (its script and the rest are the file's)."""

    scenario: str
    title: str
    time_limit: int | float
    injects: list[Inject]
    evaluators: list[str]
    objectives: dict[str, Objective]
    scored: Scoring

    @classmethod
    def from_data(cls, data: Data) -> Scenario:
        """A scenario from the JSON form a record holds: KeyError names a missing key, ValueError
        any other misfit."""
        _only(data, _SCENARIO_KEYS, "scenario")
        return cls(
            scenario=_text(data["scenario"], "scenario"),
            title=_text(data["title"], "title"),
            time_limit=_time_limit(data["time_limit"]),
            injects=[_inject(item, f"injects.{n}") for n, item in enumerate(_list(data.get("injects", []), "injects"))],
            evaluators=_texts(data.get("evaluators", []), "evaluators"),
            objectives=_map(data.get("objectives", {}), "objectives", _objective),
            scored=_scoring(data.get("scoring"), "scoring"),
        )


# The grades of GB/T 20986 and of the telecom emergency plans, most severe first.
_GRADES = {"特别重大": "I", "重大": "II", "较大": "III", "一般": "IV"}


def _label_names(label: str) -> set[str]:
    return {label.strip().casefold()} | {half.strip().casefold() for half in label.split("/")}


def for_severity(values: dict[str, int] | None, severity: str) -> int | None:
    """The value for a severity, else its `default`, else None."""
    if values is None:
        return None
    return values.get(severity, values.get("default"))


_PLAYBOOK_KEYS = frozenset(Playbook._fields)  # a file's keys, as named in it


def _severity(data: object, where: str) -> Severity:
    fields = _only(data, frozenset(("label",)), where)
    return Severity(label=_text(fields["label"], f"{where}.label"))


def _state(data: object, where: str) -> State:
    fields = _only(data, frozenset(("initial", "final", "owner", "deadline", "on_deadline", "checklist")), where)
    return State(
        initial=_flag(fields.get("initial", False), f"{where}.initial"),
        final=_flag(fields.get("final", False), f"{where}.final"),
        owner=_optional(_text)(fields.get("owner"), f"{where}.owner"),
        deadline=_optional(_per_severity)(fields.get("deadline"), f"{where}.deadline"),
        on_deadline=_optional(_text)(fields.get("on_deadline"), f"{where}.on_deadline"),
        checklist=_map(fields.get("checklist", {}), f"{where}.checklist", _text),
    )


def _transition(data: object, where: str) -> Transition:
    fields = _only(data, frozenset(("trigger", "from", "to", "roles", "requires")), where)
    return Transition(
        trigger=_text(fields["trigger"], f"{where}.trigger"),
        source=_texts(fields["from"], f"{where}.from"),
        to=_text(fields["to"], f"{where}.to"),
        roles=_optional(_texts)(fields.get("roles"), f"{where}.roles"),
        requires=_texts(fields.get("requires", []), f"{where}.requires"),
    )


def _metric(data: object, where: str) -> Metric:
    fields = _only(data, frozenset(("from", "to", "target", "owner")), where)
    return Metric(
        source=_text(fields["from"], f"{where}.from"),
        to=_text(fields["to"], f"{where}.to"),
        target=_optional(_per_severity)(fields.get("target"), f"{where}.target"),
        owner=_optional(_text)(fields.get("owner"), f"{where}.owner"),
    )


_SCENARIO_KEYS = frozenset(
    (
        *("scenario", "title", "playbook", "severity", "form", "participants", "time_limit", "injects", "script"),
        *("allow_breaches", "evaluators", "objectives", "scoring", "source"),
    )
)  # a record's copy of its scenario (file keys): the engine reads some of them


def _inject(data: object, where: str) -> Inject:
    fields = _only(data, frozenset(("id", "at", "message", "expect")), where)
    return Inject(
        id=_text(fields["id"], f"{where}.id"),
        at=_drill_seconds(fields["at"], f"{where}.at"),
        message=_text(fields["message"], f"{where}.message"),
        expect=_optional(_expect)(fields.get("expect"), f"{where}.expect"),
    )


def _expect(data: object, where: str) -> Expect:
    fields = _only(data, frozenset(("trigger", "check", "within", "role")), where)
    trigger = _optional(_text)(fields.get("trigger"), f"{where}.trigger")
    check = _optional(_text)(fields.get("check"), f"{where}.check")
    if (trigger is None) == (check is None):
        raise ValueError(f"{where}: expected exactly one of trigger or check")
    within = _seconds(fields["within"], f"{where}.within")
    return Expect(
        trigger=trigger, check=check, within=within, role=_optional(_text)(fields.get("role"), f"{where}.role")
    )


def _objective(data: object, where: str) -> Objective:
    fields = _only(data, frozenset(("title", "capability", "criteria", "evidence", "weight")), where)
    return Objective(
        title=_text(fields["title"], f"{where}.title"),
        capability=_text(fields["capability"], f"{where}.capability"),
        criteria=_texts(fields.get("criteria", []), f"{where}.criteria"),
        evidence=_texts(fields.get("evidence", []), f"{where}.evidence"),
        weight=_whole(fields.get("weight", 1), f"{where}.weight"),
    )


def _scoring(data: object, where: str) -> Scoring:
    fields = _only({} if data is None else data, frozenset(("points", "grades")), where)
    points = _map(fields.get("points", {}), f"{where}.points", _points)
    grades = _map(fields.get("grades", {}), f"{where}.grades", _points)
    return Scoring(
        points=_over(DEFAULT_POINTS.items(), points, f"{where}.points"),
        grades=_over(DEFAULT_GRADES.items(), grades, f"{where}.grades"),
    )


def _over(defaults: Iterable[tuple[str, int]], given: dict[str, int], where: str) -> dict[str, int]:
    """The defaults with what `given` changes; a key the defaults lack is refused."""
    merged = dict(defaults)
    unknown = sorted(set(given) - set(merged))
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}")
    return merged | given


def _points(value: object, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
        raise ValueError(f"{where}: expected a whole number from 0 to 100")
    return value


def _drill_seconds(value: object, where: str) -> int | float:
    """A drill time as a record's copy holds it: seconds, which may carry milliseconds."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < math.inf:
        raise ValueError(f"{where}: expected a time in seconds")
    return value


def _state_data(state: State) -> dict[str, Any]:
    return {
        "initial": state.initial,
        "final": state.final,
        "owner": state.owner,
        "deadline": None if state.deadline is None else dict(state.deadline),
        "on_deadline": state.on_deadline,
        "checklist": dict(state.checklist),
    }


def _transition_data(tr: Transition) -> dict[str, Any]:
    roles = None if tr.roles is None else list(tr.roles)
    return {"trigger": tr.trigger, "from": list(tr.source), "to": tr.to, "roles": roles, "requires": list(tr.requires)}


def _metric_data(metric: Metric) -> dict[str, Any]:
    target = None if metric.target is None else dict(metric.target)
    return {"from": metric.source, "to": metric.to, "target": target, "owner": metric.owner}


def _only(data: object, allowed: frozenset[str], where: str) -> Data:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected a mapping")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}")
    return data


def _of(kind: type[T], expected: str) -> Callable[[object, str], T]:
    """A reader of one JSON type: the value as it is, else a ValueError saying where and what was expected."""

    def read(value: object, where: str) -> T:
        if not isinstance(value, kind):
            raise ValueError(f"{where}: expected {expected}")
        return value

    return read


_text = _of(str, "text")
_flag = _of(bool, "true or false")
_list = _of(list, "a list")


def _texts(value: object, where: str) -> list[str]:
    """A list of ids (one id alone counts as a list of one, as in a file)."""
    items = [value] if isinstance(value, str) else _list(value, where)
    return [_text(item, where) for item in items]


def _whole(value: object, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{where}: expected a whole number from 1")
    return value


def _time_limit(value: object) -> int | float:
    """A scenario's time limit: text with units (as older records hold it) or seconds, which may
    carry milliseconds (a replayed incident that was aborted ends where it was)."""
    if isinstance(value, str):
        return _seconds(value, "time_limit")
    return _drill_seconds(value, "time_limit")


def _seconds(value: object, where: str) -> int:
    """Whole seconds, as a record's copy holds them (text with units is read too)."""
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{where}: expected a duration")
    return value


def _per_severity(value: object, where: str) -> dict[str, int]:
    if isinstance(value, Mapping):
        return {_text(key, where): _seconds(item, f"{where}.{key}") for key, item in value.items()}
    return {"default": _seconds(value, where)}


def _kind(value: object) -> Literal["outage", "security"]:
    if value in ("outage", "security"):
        return value
    raise ValueError("kind: expected 'outage' or 'security'")


def _map(value: object, where: str, item: Callable[[Any, str], Any]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected a mapping")
    return {_text(key, where): item(entry, f"{where}.{key}") for key, entry in value.items()}


def _optional(read: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    return lambda value, where: None if value is None else read(value, where)
