"""The event types of a run's record (SPEC §4), the fields each one carries, and the sets the
rules are made of; also the event names of the scheduler's own log.

An `EventType` is a `str`: records read back hold plain strings and compare equal to it, and
orjson and json write it as its value, so the record's bytes do not depend on it. Only the
standard library is imported here: every `drill` command loads this module. No `from __future__
import annotations`: the typed dicts would then count every `NotRequired` key as required.
"""

from enum import StrEnum
from typing import Any, NotRequired, TypedDict


class EventType(StrEnum):
    """The `event` field of a record line."""

    RUN_STARTED = "run.started"
    INJECT_DELIVERED = "inject.delivered"
    TRANSITION = "transition"
    CHECK_DONE = "check.done"
    NOTE = "note"
    ASSIGNED = "assigned"
    SEVERITY_CHANGED = "severity.changed"
    DEADLINE_BREACHED = "deadline.breached"
    NOTIFY_SENT = "notify.sent"
    NOTIFY_FAILED = "notify.failed"
    RECORD_REPAIRED = "record.repaired"
    RUN_ENDED = "run.ended"
    ANNOTATION = "annotation"
    OBSERVATION = "observation"
    FEEDBACK = "feedback"


# What a delivery records about itself; never notified in turn.
NOTIFY_OUTCOMES = frozenset({EventType.NOTIFY_SENT, EventType.NOTIFY_FAILED})
# The evaluation of a drill (SPEC §10), which evaluators record during a run and after it ends.
EVALUATION = frozenset({EventType.OBSERVATION, EventType.FEEDBACK})
# What may follow `run.ended` (SPEC §4): deliveries of a run's last events finish after it ends,
# evaluators rate it, and reviewers annotate its timeline; anything else after it is tampering.
AFTER_END: frozenset[str] = NOTIFY_OUTCOMES | {EventType.RECORD_REPAIRED, EventType.ANNOTATION} | EVALUATION
# What a notifier may ask for, in the order `drill.toml` errors list them. Annotations and the
# evaluation are written mostly after a run ends, when no conductor follows the run to notify of them.
NOTIFIABLE = tuple(kind for kind in EventType if kind not in NOTIFY_OUTCOMES | {EventType.ANNOTATION} | EVALUATION)
# A system transition or a time-limit end caught up late takes effect at its `due` time.
TAKES_EFFECT_WHEN_DUE = frozenset({EventType.TRANSITION, EventType.RUN_ENDED})


class CommonFields(TypedDict):
    """What every line has; `role` is the actor's role (on `assigned`, the role given)."""

    v: int
    seq: int
    ts: str
    t: float
    run: str
    event: EventType
    actor: str
    role: str | None
    origin: NotRequired[dict[str, str]]  # who typed the command, on which host (not in a simulation)
    req: NotRequired[str]  # the one id of the command's write (records from before it have none)
    prev: str
    hash: str


class RunStarted(CommonFields):
    mode: str
    playbook: dict[str, Any]
    playbook_sha256: str
    scenario: dict[str, Any] | None
    severity: str
    participants: dict[str, str]
    speed: float
    state: str
    chain: str
    title: str


class InjectDelivered(CommonFields):
    inject: str
    message: str
    due: float
    late: bool


_FromTo = TypedDict("_FromTo", {"from": str, "to": str})  # `from` is a keyword: functional form


class Transition(CommonFields, _FromTo):
    trigger: str
    note: str | None
    due: NotRequired[float]  # system transitions (`on_deadline`) only
    late_by: NotRequired[float]


class CheckDone(CommonFields):
    item: str
    state: str
    note: str | None


class Note(CommonFields):
    text: str


class Assigned(CommonFields):
    person: str


class SeverityChanged(CommonFields, _FromTo):
    reason: str


class DeadlineBreached(CommonFields):
    state: NotRequired[str]  # a state's deadline, or
    metric: NotRequired[str]  # a metric's target
    owner: str | None
    assignee: str | None
    due: float
    late_by: float


class NotifyOutcome(CommonFields):
    """`notify.sent` and `notify.failed`."""

    notifier: str
    of: int
    attempts: int
    error: str | None


class RecordRepaired(CommonFields):
    bytes: int
    file: str


class RunEnded(CommonFields):
    outcome: str
    reason: str
    events: int
    head: str
    due: NotRequired[float]  # a time limit caught up late


class Annotation(CommonFields):
    """A reviewer's correction or context for one event, after the run ended (the event stays)."""

    of: int  # the seq annotated
    text: str


class Observation(CommonFields):
    """An evaluator's rating of one objective (SPEC §10); the latest by each evaluator counts."""

    objective: str
    rating: str  # P, S, M or U
    strength: str | None
    improve: str | None


class Feedback(CommonFields):
    """A participant's feedback on the drill (hot wash)."""

    text: str


class ActionEvent(StrEnum):
    """The `event` field of `logs/actions.jsonl`, the corrective actions' ledger (SPEC §10), besides
    `notify.sent`, `notify.failed` and `record.repaired`."""

    OPENED = "action.opened"
    UPDATED = "action.updated"
    CLOSED = "action.closed"
    OVERDUE = "action.overdue"  # the scheduler's claim to notify it, once a day per action


class ActionOpened(TypedDict):
    action: str  # A-<n>
    title: str
    from_run: str
    objective: str | None
    owner_role: str
    owner: str
    due: str  # YYYY-MM-DD
    capability: str | None


class ActionUpdated(TypedDict):
    action: str
    status: str  # open | in-progress
    note: str | None


class ActionClosed(TypedDict):
    action: str
    retest: str  # the run that showed the objective fixed


class ActionOverdue(TypedDict):
    action: str
    day: str  # YYYY-MM-DD (UTC): the day it was claimed for
    due: str


class SchedulerEvent(StrEnum):
    """The `event` field of `logs/scheduler.jsonl`."""

    STARTED = "scheduler.started"
    STOPPED = "scheduler.stopped"
    CONFIG_ERROR = "config.error"
    ERROR = "error"
    BLACKOUTS_LOADED = "blackouts.loaded"
    SCHEDULES_LOADED = "schedules.loaded"
    SCHEDULE_UNREADABLE = "schedule.unreadable"
    FIRE_MISSED = "fire.missed"
    FIRE_BLACKOUT = "fire.blackout"
    FIRE_CLAIMED = "fire.claimed"
    FIRE_RECOVERED = "fire.recovered"
    FIRE_FAILED = "fire.failed"
    FIRE_SKIPPED = "fire.skipped"
    FIRE_STARTED = "fire.started"
    RUN_ADOPTED = "run.adopted"
    RUN_DROPPED = "run.dropped"
    NOTIFY = "notify"
