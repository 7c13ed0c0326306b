"""Playbook and scenario files as validated models (SPEC §2, §3): what a file may say, and the
JSON Schemas editors get (`plans/schemas.py`).

Everything here is read from strings: the loader hands every YAML scalar over as text and the
types below convert it (durations carry units, ids follow one pattern). Cross-references
(undefined states, roles, items, severities) are checked in `plans/checks.py`, where each problem
can be mapped to its place in the file. A validated playbook is handed on as the plain values of
`plans.py` (`Playbook.to_plan`); a scenario file is used as validated (to start or simulate a
drill), and the engine reads what it needs of a record's copy as `plans.Scenario`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)

from drillkit.model import plans
from drillkit.model.durations import parse_drill_time, parse_span, refuse_zero
from drillkit.model.errors import UsageError
from drillkit.model.names import check_name
from drillkit.model.plans import DEFAULT_GRADES, DEFAULT_POINTS, FILE_ID_PATTERN, ID_PATTERN, MAX_VERSION, Grade, Rating

# ID_PATTERN for JSON Schema: editors use ECMA-262 regexes, where \w is ASCII only. Any
# non-ASCII character is let through (the loader is the authority); ASCII keeps the same rule.
JSON_ID_PATTERN = r"^[^\x00-\x2F\x3A-\x40\x5B-\x60\x7B-\x7F][^\x00-\x2C\x2E\x2F\x3A-\x40\x5B-\x5E\x60\x7B-\x7F]*$"
_ID_SCHEMA = {"type": "string", "pattern": JSON_ID_PATTERN, "maxLength": 64}

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=64), WithJsonSchema(_ID_SCHEMA)]
FileId = Annotated[str, StringConstraints(pattern=FILE_ID_PATTERN, max_length=64)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=10_000)]

_DURATION_SCHEMA = {
    "type": "string",
    "pattern": r"^(\d+d)?(\d+h)?(\d+m)?(\d+s)?$",
    "minLength": 2,
    "description": "a duration with units: 90s, 15m, 1h30m, 2d; at most 3650d",
}


def _duration(value: object) -> int:
    """Text with units from a file; whole seconds from a record's own copy of the playbook. Every
    duration of a plan is a length that has to pass (a deadline, a target, `within`,
    `exercise_every`), so a file's is longer than zero."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise ValueError("a duration must be a string with units like '15m' or '1h30m'")
    return parse_span(value)


def _per_severity(value: object) -> dict[str, int]:
    """`15m` or `{I: 10m, default: 30m}` → {severity or 'default': seconds}."""
    if isinstance(value, dict):
        return {str(key): _severity_duration(key, item) for key, item in value.items()}
    return {"default": _duration(value)}


def _severity_duration(key: object, value: object) -> int:
    """One severity's duration; a problem with it names the severity (the place is the mapping's)."""
    try:
        return _duration(value)
    except ValueError as err:
        raise ValueError(f"{key}: {err}") from None


def _listify(value: object) -> object:
    return [value] if isinstance(value, str) else value


Duration = Annotated[int, BeforeValidator(_duration), WithJsonSchema(_DURATION_SCHEMA)]


def _drill_time(value: object) -> int | float:
    """Text with units from a file (seconds may carry milliseconds); a number from a record's copy."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise ValueError("a time must be a string with units like '15m' or '4m12.345s'")
    return parse_drill_time(value)


def _time_limit(value: object) -> int | float:
    """A drill's length: a drill time (a replayed incident ends where it was aborted), never zero."""
    seconds = _drill_time(value)
    if isinstance(value, str):
        refuse_zero(seconds, value)
    return seconds


# When an inject or a script step happens: a duration from the start, whose seconds may carry up
# to three decimals (a replayed incident keeps its recorded times to the millisecond).
_DRILL_TIME_SCHEMA = {
    "type": "string",
    "pattern": r"^(\d+d)?(\d+h)?(\d+m)?(\d+(\.\d{1,3})?s)?$",
    "minLength": 2,
    "description": "a time from the start with units: 90s, 15m, 1h30m, 4m12.345s",
}
DrillTime = Annotated[int | float, BeforeValidator(_drill_time), WithJsonSchema(_DRILL_TIME_SCHEMA)]


def _flag(value: object) -> object:
    """`true` or `false` as written: YAML 1.1's `on`, `yes` or `1` are not flags here (every
    scalar is read as text); a record's own copy of a plan holds real booleans."""
    if isinstance(value, str) and value not in ("true", "false"):
        raise ValueError("must be true or false")
    return value


_DIGITS = re.compile(r"[1-9][0-9]*")


def _whole_number(value: object) -> object:
    """Digits as written (no `1_000`, `+3`, `010` or spaces); a record's copy holds a number."""
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise ValueError("must be a whole number written in digits, like 3")
    return value


FROM_FILE = {"file": True}  # validation context of a plan read from its file (`loader.to_model`)


def _from_file(info: ValidationInfo) -> bool:
    """Rules added over time bind plans as written from now on; a record's own copy of its plan,
    written under the rules of its day, must still replay."""
    return bool(info.context and info.context.get("file"))


def _person(value: str, info: ValidationInfo) -> str:
    """A person's name, held to the rule `--by` follows (no control characters: every line of
    output naming them stays one line)."""
    if not _from_file(info):
        return value
    try:
        return check_name(value, "name")
    except UsageError as err:
        raise ValueError(str(err)) from None


Person = Annotated[Text, AfterValidator(_person)]


def _version_in_range(value: int, info: ValidationInfo) -> int:
    if _from_file(info) and value > MAX_VERSION:
        raise ValueError(f"must be at most {MAX_VERSION} (2^53 - 1)")
    return value


Flag = Annotated[bool, BeforeValidator(_flag)]
PerSeverity = Annotated[
    dict[str, int],
    BeforeValidator(_per_severity),
    WithJsonSchema(
        {
            "anyOf": [
                _DURATION_SCHEMA,
                {"type": "object", "propertyNames": _ID_SCHEMA, "additionalProperties": _DURATION_SCHEMA},
            ],
            "description": "a duration, or a mapping of severity ids (and 'default') to durations",
        }
    ),
]
IdList = Annotated[
    list[Id],
    BeforeValidator(_listify),
    WithJsonSchema({"anyOf": [_ID_SCHEMA, {"type": "array", "items": _ID_SCHEMA, "uniqueItems": True}]}),
]


def _breach_name(value: str) -> str:
    kind, _, name = value.partition(":")
    if kind not in ("state", "metric") or not re.match(ID_PATTERN, name):
        raise ValueError("must be 'state:<state id>' or 'metric:<metric name>'")
    return value


BreachName = Annotated[
    str,
    AfterValidator(_breach_name),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^(state|metric):" + JSON_ID_PATTERN[1:],
            "description": "state:<id> or metric:<name>",
        }
    ),
]


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("each entry may appear only once")
    return values


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ScenarioPart(Frozen):
    """A scenario's models build their validators when first used, not on import: the commands
    on a run (act, check, note…) load this module for playbooks only (~3 ms of their start-up)."""

    model_config = ConfigDict(defer_build=True)


class Severity(Frozen):
    label: Text


class State(Frozen):
    initial: Flag = False
    final: Flag = False
    owner: Id | None = None
    deadline: PerSeverity | None = None
    on_deadline: Id | None = Field(
        default=None,
        description="a trigger leaving this state, fired by the system as the deadline passes, or once the"
        " checklist items its transition requires are done if that is later, while the run is still here",
    )
    checklist: dict[Id, Text] = Field(default_factory=dict)


class Transition(Frozen):
    trigger: Id
    source: Annotated[IdList, AfterValidator(_unique)] = Field(alias="from", min_length=1)
    to: Id
    roles: Annotated[IdList, AfterValidator(_unique)] | None = None
    requires: Annotated[IdList, AfterValidator(_unique)] = Field(default_factory=list)


class Metric(Frozen):
    source: str = Field(alias="from", description="a state id, or 'start'")
    to: str = Field(description="a state id, or 'check:<item>'")
    target: PerSeverity | None = None
    owner: Id | None = None


class Playbook(Frozen):
    playbook: FileId
    title: Text
    kind: Literal["outage", "security"]
    version: Annotated[int, BeforeValidator(_whole_number), AfterValidator(_version_in_range)] = Field(
        ge=1, json_schema_extra={"maximum": MAX_VERSION}
    )
    exercise_every: Duration | None = None
    severities: dict[Id, Severity] = Field(min_length=1)
    roles: dict[Id, Text] = Field(default_factory=dict)
    states: dict[Id, State] = Field(min_length=1)
    transitions: list[Transition] = Field(min_length=1)
    metrics: dict[Id, Metric] = Field(default_factory=dict)

    def to_plan(self) -> plans.Playbook:
        """The plain values the engine uses (a record holds them as `dump` gives them)."""
        return plans.Playbook.from_data(dump(self))


class Expect(ScenarioPart):
    trigger: Id | None = None
    check: Id | None = None
    within: Duration
    role: Id | None = None

    @model_validator(mode="after")
    def _one_action(self) -> Expect:
        if (self.trigger is None) == (self.check is None):
            raise ValueError("an expect names exactly one of 'trigger' or 'check'")
        return self


class Inject(ScenarioPart):
    id: Id
    at: DrillTime
    message: Text
    expect: Expect | None = None


def _absent(value: object) -> bool:
    return value is None


class Step(ScenarioPart):
    """One scripted action: a trigger, a checklist item, a note, a severity change or a hand-over
    (SPEC §3). The last two are left out of a record's copy when absent, so records of scripts
    without them stay as they were."""

    at: DrillTime
    by: Person
    role: Id | None = None
    trigger: Id | None = None
    check: Id | None = None
    note: Text | None = None
    severity: Id | None = Field(default=None, exclude_if=_absent)
    reason: Text | None = Field(default=None, exclude_if=_absent)
    assign: Id | None = Field(default=None, exclude_if=_absent)
    person: Person | None = Field(default=None, exclude_if=_absent)

    @model_validator(mode="after")
    def _one_action(self) -> Step:
        actions = [name for name in ("trigger", "check", "severity", "assign") if getattr(self, name) is not None]
        if len(actions) > 1:
            raise ValueError("a script step names at most one of 'trigger', 'check', 'severity' or 'assign'")
        if not actions and self.note is None:
            raise ValueError("a script step needs a 'trigger', a 'check' or a 'note' (or a 'severity' or an 'assign')")
        self._severity_and_reason()
        self._assign_and_person()
        return self

    def _severity_and_reason(self) -> None:
        if (self.severity is None) != (self.reason is None):
            raise ValueError("'severity' and 'reason' go together: a severity change says why")

    def _assign_and_person(self) -> None:
        if (self.assign is None) != (self.person is None):
            raise ValueError("'assign' and 'person' go together: {assign: ROLE, person: NAME}")
        changes = self.severity is not None or self.assign is not None
        if changes and (self.note is not None or self.role is not None):
            raise ValueError("a severity or assign step takes no 'note' or 'role'")


class Objective(ScenarioPart):
    """What the drill sets out to show (SPEC §10): judged by evaluators, else by its evidence."""

    title: Text
    capability: Text
    criteria: list[Text] = Field(default_factory=list)
    evidence: Annotated[list[Id], AfterValidator(_unique)] = Field(
        default_factory=list, description="inject ids and metric names whose verdicts count for it"
    )
    weight: Annotated[int, BeforeValidator(_whole_number)] = Field(default=1, ge=1, le=100)


def _points(value: object) -> object:
    if isinstance(value, str) and not re.fullmatch(r"0|[1-9][0-9]*", value):
        raise ValueError("must be a whole number written in digits, like 80")
    return value


Points = Annotated[int, BeforeValidator(_points), Field(ge=0, le=100)]


class Scoring(ScenarioPart):
    """Points per rating and the least score for each grade (SPEC §10 defaults)."""

    points: dict[Rating, Points] = Field(default_factory=lambda: dict(DEFAULT_POINTS))
    grades: dict[Grade, Points] = Field(default_factory=lambda: dict(DEFAULT_GRADES))


RUN_ID_PATTERN = r"^[0-9]{8}T[0-9]{6}Z-[a-z0-9-]+-[0-9a-f]{4}$"


class Source(ScenarioPart):
    """The incident a scenario was replayed from, and its record's head hash then (SPEC §11)."""

    run: Annotated[str, StringConstraints(pattern=RUN_ID_PATTERN, max_length=128)]
    head: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class Scenario(ScenarioPart):
    scenario: FileId
    title: Text
    playbook: FileId
    severity: Id
    form: Literal["tabletop", "functional", "full-scale"]
    participants: dict[Id, Person] = Field(default_factory=dict)
    time_limit: Annotated[int | float, BeforeValidator(_time_limit), WithJsonSchema(_DRILL_TIME_SCHEMA)]
    injects: list[Inject] = Field(default_factory=list)
    script: list[Step] = Field(default_factory=list)
    # Breaches that are the point of the drill: they do not fail `drill simulate`. Left out of the
    # scenario a record embeds when empty, so records of scenarios without it stay as they were.
    allow_breaches: Annotated[list[BreachName], AfterValidator(_unique)] = Field(
        default_factory=list, exclude_if=lambda names: not names
    )
    # The evaluation (SPEC §10), left out of the embedded scenario when not declared, as above.
    evaluators: Annotated[list[Person], AfterValidator(_unique)] = Field(
        default_factory=list, exclude_if=lambda names: not names
    )
    objectives: dict[Id, Objective] = Field(default_factory=dict, exclude_if=lambda found: not found)
    scoring: Scoring | None = Field(default=None, exclude_if=lambda found: found is None)
    # The incident a replayed scenario was made from (SPEC §11), left out when absent, as above.
    source: Source | None = Field(default=None, exclude_if=_absent)

    def data(self) -> dict[str, Any]:
        return dump(self)


def dump(model: BaseModel) -> dict[str, Any]:
    """The model as plain JSON data, with the file's own key names."""
    return model.model_dump(mode="json", by_alias=True, exclude_defaults=False)
