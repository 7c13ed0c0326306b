"""The schedule store port: drillkit's own schedules and the ledger of their fires.

Every fire the scheduler decides about gets one ledger row, unique by (schedule, nominal
fire time in UTC); inserting that row is the claim (`ON CONFLICT DO NOTHING`), so of two
processes deciding about one fire exactly one wins, and a claim survives a crash the moment
`decide` returns.

Ledger statuses: `claimed` (decided to start, drill not started yet: a jittered start waits
here), `started` (with its run id), `missed` (past its grace time, or `coalesced` into one late
start after an outage, as `detail` says; one row can stand for a whole outage, see
`missed_from` and `missed_count`), `blackout` (skipped by a blackout window), `skipped` (not
started because the schedule's previous drill was still running: `detail` begins `overlap`),
`failed` (the drill could not start; `detail` says why) and `cancelled` (its schedule was
removed before a jittered start).

Each schedule carries `handled_until`: every fire at or before it has been decided. The
`changed` counter goes up with every add, remove, pause and resume, so a running scheduler
notices another process's change by polling one value. Times are kept to the millisecond,
in UTC (as in the records). Adapters: `sqlite` and `postgres` (the team store);
callers obtain a store from `drillkit.schedule.store`, never from an adapter.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

from drillkit.config.workspace import Workspace
from drillkit.model.errors import NotFound, UsageError
from drillkit.schedule.firetimes import Recurrence

DEFAULT_GRACE = 3600
DAMAGED = "it is not a schedule store: restore it from a backup, or move it aside for a new, empty one"


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """One exercise schedule: a scenario and when it fires."""

    id: str
    scenario: str
    kind: str
    expr: str
    tz: str
    jitter: int = 0
    grace: int = DEFAULT_GRACE
    anchor: datetime
    paused: bool = False
    handled_until: datetime
    created: datetime

    def recurrence(self) -> Recurrence:
        return Recurrence.make(self.kind, self.expr, self.tz, self.anchor)

    def check(self) -> None:
        """UsageError naming what keeps this schedule from firing: its recurrence (expression,
        time or zone) or its seconds. A stored row can fail this long after it was added: edited
        by hand, stored by an earlier version, or naming a zone this machine no longer has."""
        self.recurrence()
        for name, seconds in (("jitter", self.jitter), ("grace", self.grace)):
            if not isinstance(seconds, int) or seconds < 0:
                raise UsageError(f"{name} {seconds!r} is not a number of seconds")


@dataclass(frozen=True, kw_only=True)
class UnreadableSchedule:
    """A stored schedule that fails `Schedule.check`: named and left aside (never fired, shown
    or exported), while the other schedules go on; `drill schedule remove ID` deletes it."""

    id: str
    problem: str

    def __str__(self) -> str:
        return (
            f"schedule {self.id!r} cannot be read: {self.problem}; it is left aside"
            f" (`drill schedule remove {self.id}` deletes it)"
        )


@dataclass(frozen=True)
class StoredSchedules:
    """Every stored schedule by id: those that can be read, and those set aside."""

    readable: list[Schedule]
    unreadable: list[UnreadableSchedule]

    @classmethod
    def sorted_out(cls, read: list[Schedule | UnreadableSchedule]) -> StoredSchedules:
        return cls(
            readable=[s for s in read if isinstance(s, Schedule)],
            unreadable=[s for s in read if isinstance(s, UnreadableSchedule)],
        )

    @property
    def ids(self) -> list[str]:
        return sorted([s.id for s in self.readable] + [s.id for s in self.unreadable])


def read_schedule(schedule_id: str, build: Callable[[], Schedule]) -> Schedule | UnreadableSchedule:
    """A stored row as a schedule that can fire, or set aside naming what is wrong with it.
    `build` turns the adapter's row into a `Schedule` (UsageError for a field it cannot read)."""
    try:
        schedule = build()
        schedule.check()
    except UsageError as err:
        return UnreadableSchedule(id=schedule_id, problem=str(err))
    return schedule


@dataclass(frozen=True, kw_only=True)
class Fire:
    """One ledger row: what was decided about one nominal fire of one schedule."""

    schedule: str
    nominal: datetime
    status: str
    start_at: datetime
    decided_at: datetime
    run: str | None = None
    started_at: datetime | None = None
    missed_from: datetime | None = None
    missed_count: int | None = None
    detail: str | None = None


class ScheduleStore(ABC):
    """The schedules and the ledger of one workspace. `open(ws)` to change them, `reading(ws)`
    to look without writing; a store is a context manager that closes it. Failures of the
    backend are `RecordError`s; a store that is not one is refused with `DAMAGED` in its message."""

    @classmethod
    @abstractmethod
    def open(cls, ws: Workspace) -> ScheduleStore:
        """The store, created empty when there is none yet."""

    @classmethod
    @abstractmethod
    def reading(cls, ws: Workspace) -> AbstractContextManager[ScheduleStore]:
        """The store as it stands, never created: a workspace without one reads as empty."""

    @classmethod
    @abstractmethod
    def exists(cls, ws: Workspace) -> bool:
        """Whether the workspace has a store yet (opening one would create nothing)."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> ScheduleStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    @abstractmethod
    def changed(self) -> int:
        """A counter that goes up with every add, remove, pause and resume."""

    @abstractmethod
    def add(self, schedule: Schedule) -> None:
        """Add a schedule; UsageError when its id is taken."""

    @abstractmethod
    def stored(self) -> StoredSchedules:
        """Every schedule, by id, each one read with `read_schedule`."""

    def schedules(self) -> list[Schedule]:
        """The schedules that can be read, by id (`stored` has the ones set aside too)."""
        return self.stored().readable

    @abstractmethod
    def get(self, schedule_id: str) -> Schedule:
        """One schedule; NotFound naming the ones there are (`unknown_schedule`), UsageError naming
        the schedule and what is wrong when it cannot be read (`UnreadableSchedule`)."""

    @abstractmethod
    def remove(self, schedule_id: str, now: datetime) -> None:
        """Delete a schedule (NotFound if none), readable or not: the way out for one that cannot
        be read. Its ledger stays, and a jittered start still waiting is `cancelled`."""

    @abstractmethod
    def set_paused(self, schedule_id: str, paused: bool, now: datetime) -> None:
        """Pause or resume (NotFound if none), without reading the schedule. Resuming starts
        afresh from now: fires due while paused are not owed."""

    @abstractmethod
    def decide(self, fires: list[Fire], schedule_id: str, handled_until: datetime) -> list[bool]:
        """Insert ledger rows (each one a claim) and move the schedule's cursor forward, in one
        transaction. Returns, per row, whether this call inserted it: False means another
        process decided about that fire first, and the caller must leave it alone."""

    @abstractmethod
    def settle(
        self, fire: Fire, status: str, *, now: datetime, run: str | None = None, detail: str | None = None
    ) -> None:
        """Move a `claimed` fire on to `started`, `missed`, `skipped` or `failed`; any other row stays."""

    @abstractmethod
    def fires(self, schedule_id: str | None = None) -> list[Fire]:
        """The ledger (of one schedule, or all), oldest nominal time first."""

    def last_started(self, schedule_id: str) -> Fire | None:
        """The schedule's ledger row with the latest nominal time among those that started a drill.
        An adapter answers from an index; this fallback reads the schedule's whole ledger."""
        started = [fire for fire in self.fires(schedule_id) if fire.status == "started"]
        return started[-1] if started else None

    @abstractmethod
    def waiting(self) -> list[Fire]:
        """Fires claimed but not started yet (jittered, or interrupted by a crash), earliest start first."""

    @abstractmethod
    def last_fires(self) -> dict[str, Fire]:
        """Schedule id → its ledger row with the latest nominal time."""

    @abstractmethod
    def linked_runs(self) -> set[str]:
        """The run ids the ledger names."""


def unknown_schedule(schedule_id: str, known: list[str]) -> NotFound:
    return NotFound(f"no schedule {schedule_id!r}; schedules: {', '.join(known) or '(none)'}")
