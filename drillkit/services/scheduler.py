"""The scheduler daemon: decides each fire in the ledger, starts drills, conducts detached runs.

The only module that imports APScheduler. APScheduler is the timer that wakes the daemon at
fire times; it holds a memory job store rebuilt from the schedule store (`schedule/port.py`)
at start and whenever its `changed` counter moves. The decisions themselves are made from the
store and the clock, so a crash or a restart at any moment changes nothing about what is owed:

- every pass looks at the fires of each active schedule after its `handled_until` cursor;
- of the fires due now within the schedule's grace time, only the latest is claimed and starts
  (late, if the daemon was down), after a random delay of up to the schedule's jitter chosen
  once and stored: an outage never makes a burst of drills;
- the earlier due fires (past their grace, or coalesced into that one late start) are
  recorded `missed` in ONE ledger row per pass and schedule: its nominal time is the most
  recent of them, `missed_from` the first, `missed_count` how many (counting stops at 1000,
  so a years-long outage of an every-minute schedule costs the same as a short one), and its
  `detail` begins `coalesced` when a fire within grace stands for them;
- a claimed fire whose schedule's previous drill is still running when it comes to start is
  recorded `skipped` (`overlap: …`), not started: a schedule's drills never overlap;
- a fire whose start would fall in a blackout window is recorded `blackout` and not started;
- a schedule that cannot be read (`UnreadableSchedule`: a row edited by hand, a zone gone from
  this machine) is left aside, logged `schedule.unreadable` when found, and never fired; the
  other schedules are decided as usual;
- a claimed fire not yet started when the daemon stopped is started by the next pass (if
  within grace, else recorded missed), unless a drill of its scenario, started by the
  scheduler at or after the fire's start time, is found without a ledger row: a crash between
  starting the drill and writing the run id leaves exactly that, and the run is linked
  instead of started again.

Everything it does goes to `logs/scheduler.jsonl`, one JSON object a line, through the
structlog logger that `services/daemon.py` configures (with the rest of the daemon's wiring).
"""

from __future__ import annotations

import os
import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from structlog.typing import FilteringBoundLogger

from drillkit.config.workspace import Workspace
from drillkit.model.blackouts import Blackout
from drillkit.model.clock import Clock, format_utc
from drillkit.model.errors import DrillError
from drillkit.model.events import SchedulerEvent
from drillkit.schedule.firetimes import Recurrence
from drillkit.schedule.port import Fire, Schedule, ScheduleStore, UnreadableSchedule
from drillkit.schedule.store import open_store
from drillkit.schedule.upcoming import blackouts

MISSED_COUNT_LIMIT = 1000
_TINY = timedelta(microseconds=1)

DROPPED = "dropped (record unreadable)"  # a run left unconducted: the scheduler exits 1
SET_ASIDE = "set aside (schedule unreadable)"  # a schedule left unfired: the scheduler exits 1


class Starter(Protocol):
    """Starts a drill of a scenario; finds drills it started, for crash recovery; and says
    whether a drill is still running, so that a schedule's drills never overlap."""

    def start(self, scenario_id: str) -> str: ...

    def started_since(self, scenario_id: str, since: datetime) -> list[str]: ...

    def running(self, run_id: str) -> bool: ...


class Conducting(Protocol):
    """Keeps detached runs going: injects, deadlines and `on_deadline` triggers as they come due."""

    def open_runs(self) -> list[str]: ...

    def adopt(self, run_id: str) -> bool: ...

    def tick(self) -> float: ...

    def close(self) -> None: ...


class _FireTrigger(BaseTrigger):  # type: ignore[misc]  # APScheduler 3 ships no type hints
    """An APScheduler trigger that asks `firetimes` (CronTrigger is not trusted across DST)."""

    def __init__(self, recurrence: Recurrence) -> None:
        self._recurrence = recurrence

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        after = previous_fire_time if previous_fire_time is not None else now - _TINY
        return self._recurrence.next_after(after.astimezone(UTC))


@dataclass
class Daemon:
    """One scheduler over one workspace; the caller holds `exclusive(ws)` around it.

    Blackout windows are read from `drill.toml` again at every pass (cheap: `ws.config()`
    re-reads the file only when it changes), so a window added while the daemon runs counts
    from the next pass. A `drill.toml` that stops parsing while the daemon runs is logged
    (`config.error`, once per distinct error) and the last good windows stay in force; at
    start a bad file is an error. Notifiers (`[[notify]]`) are read once, at start: a change
    to them needs a restart of the daemon.
    """

    ws: Workspace
    clock: Clock
    starter: Starter
    conducting: Conducting | None
    log: FilteringBoundLogger
    rng: random.Random = field(default_factory=random.SystemRandom)
    poll: float = 1.0
    overdue: Callable[[], object] | None = None  # notifies overdue corrective actions (SPEC §10)
    tally: Counter[str] = field(default_factory=Counter)
    _store: ScheduleStore = field(init=False)
    _blackouts: list[Blackout] = field(init=False)
    _config_error: str | None = field(default=None, init=False)
    _claimed_here: set[tuple[str, datetime]] = field(default_factory=set, init=False)
    _adopted: set[str] = field(default_factory=set, init=False)
    _unreadable: set[str] = field(default_factory=set, init=False)  # logged once, never retried
    _set_aside: dict[str, str] = field(default_factory=dict, init=False)  # schedule id → its problem, logged
    _wake: threading.Event = field(default_factory=threading.Event, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)

    def __post_init__(self) -> None:
        self._blackouts = blackouts(self.ws)
        self._store = open_store(self.ws)

    def stop(self) -> None:
        """Ask `serve` to return (safe from a signal handler)."""
        self._stop.set()
        self._wake.set()

    def close(self) -> None:
        if self.conducting is not None:
            self.conducting.close()
        self._store.close()

    def run_pass(self) -> float:
        """Decide and start everything due now, conduct; seconds until the conductor's next duty."""
        self._refresh_blackouts()
        now = self.clock.now()
        stored = self._store.stored()
        self._log_set_aside(stored.unreadable)
        schedules = {s.id: s for s in stored.readable}
        for schedule in schedules.values():
            if not schedule.paused:
                self._decide(schedule, now)
        for fire in self._store.waiting():
            owner = schedules.get(fire.schedule)
            if owner is not None and not owner.paused and fire.start_at <= now:
                self._start(fire, owner, now)
        self._notify_overdue()
        return self._conduct()

    def _log_set_aside(self, unreadable: list[UnreadableSchedule]) -> None:
        """Log each schedule that cannot be read when a pass first finds it so, and again only when
        what is wrong with it changes: a pass comes every second, and one line says it all."""
        for schedule in unreadable:
            if self._set_aside.get(schedule.id) != schedule.problem:
                self.log.error(
                    SchedulerEvent.SCHEDULE_UNREADABLE,
                    schedule=schedule.id,
                    error=schedule.problem,
                    detail=f"left aside, not fired; `drill schedule remove {schedule.id}` deletes it",
                )
                self.tally[SET_ASIDE] += 1
        self._set_aside = {schedule.id: schedule.problem for schedule in unreadable}

    def _notify_overdue(self) -> None:
        """Overdue corrective actions; a failure there (the actions' ledger unreadable, say) is
        logged and the pass goes on to conduct the runs."""
        if self.overdue is None:
            return
        try:
            self.overdue()
        except DrillError as err:
            self.log.error(SchedulerEvent.ERROR, error=str(err), detail="overdue corrective actions")

    def _refresh_blackouts(self) -> None:
        """The current windows of `drill.toml`; a bad file is logged once and the last good windows kept."""
        try:
            windows = blackouts(self.ws)
        except (DrillError, OSError) as err:
            if str(err) != self._config_error:
                self._config_error = str(err)
                self.log.error(
                    SchedulerEvent.CONFIG_ERROR, error=str(err), detail="keeping the last good blackout windows"
                )
            return
        self._config_error = None
        if windows != self._blackouts:
            self._blackouts = windows
            self.log.info(SchedulerEvent.BLACKOUTS_LOADED, windows=[window.describe() for window in windows])

    def serve(self) -> None:
        """Run until `stop()`: APScheduler wakes the loop at fire times, polling catches changes."""
        timer = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()}, executors={"default": ThreadPoolExecutor(1)}, timezone=UTC
        )
        timer.start()
        seen = -1
        try:
            while not self._stop.is_set():
                seen, conduct_in = self._guarded_turn(timer, seen)
                self._wake.wait(max(0.001, min(self.poll, conduct_in)))
                self._wake.clear()
        finally:
            timer.shutdown(wait=False)

    def _guarded_turn(self, timer: BackgroundScheduler, seen: int) -> tuple[int, float]:
        """Reload the timer if the schedules changed since `seen`, pass, set the jittered starts'
        timers; the store's counter and seconds until the conductor's next duty. A failure (the
        store lost, say) is logged and retried on the next wake, not the end of the daemon."""
        try:
            changed = self._store.changed()
            if changed != seen:
                self._rebuild(timer)
            conduct_in = self.run_pass()
            self._wait_for_jittered(timer)
        except DrillError as err:
            self.log.error(SchedulerEvent.ERROR, error=str(err))
            return seen, self.poll
        return changed, conduct_in

    def _rebuild(self, timer: BackgroundScheduler) -> None:
        """Replace every timer job with one per active schedule, from the store."""
        timer.remove_all_jobs()
        active = [s for s in self._store.schedules() if not s.paused]
        for schedule in active:
            timer.add_job(
                self._wake.set,
                trigger=_FireTrigger(schedule.recurrence()),
                id=schedule.id,
                misfire_grace_time=None,
                coalesce=True,
            )
        self.log.info(SchedulerEvent.SCHEDULES_LOADED, active=len(active))

    def _wait_for_jittered(self, timer: BackgroundScheduler) -> None:
        for fire in self._store.waiting():
            job_id = f"start:{fire.schedule}:{format_utc(fire.nominal)}"
            if fire.start_at > self.clock.now() and timer.get_job(job_id) is None:
                timer.add_job(self._wake.set, "date", run_date=fire.start_at, id=job_id, misfire_grace_time=None)

    def _decide(self, schedule: Schedule, now: datetime) -> None:
        """Miss, claim or skip the fires due since the schedule's cursor (module docstring)."""
        recurrence = schedule.recurrence()
        cutoff = now - timedelta(seconds=schedule.grace)
        latest = recurrence.last_between(max(schedule.handled_until, cutoff - _TINY), now)
        rows: list[Fire] = []
        last_missed = recurrence.last_between(schedule.handled_until, (latest or cutoff) - _TINY)
        if last_missed is not None:
            first = recurrence.next_after(schedule.handled_until) or last_missed
            rows.append(self._missed(schedule, (first, last_missed), latest, now))
        if latest is not None:
            rows.append(self._due(schedule, latest, now))
        if not rows:
            return
        won = self._store.decide(rows, schedule.id, rows[-1].nominal)
        for row, ours in zip(rows, won, strict=True):
            if ours:
                self._report_decision(row)

    def _missed(
        self, schedule: Schedule, span: tuple[datetime, datetime], late_start: datetime | None, now: datetime
    ) -> Fire:
        """One row for the fires in `span` that will not start: past their grace, or coalesced
        into `late_start`, the latest fire due (which starts unless a blackout window or an
        overlap stops it)."""
        first, last = span
        count = len(schedule.recurrence().fires(first - _TINY, last, MISSED_COUNT_LIMIT))
        if late_start is None:
            detail = f"not started within its grace time of {schedule.grace}s"
        else:
            detail = f"coalesced into the fire of {format_utc(late_start)} (at most one late start after an outage)"
        return Fire(
            schedule=schedule.id,
            nominal=last,
            status="missed",
            start_at=last,
            decided_at=now,
            missed_from=first,
            missed_count=count,
            detail=detail,
        )

    def _due(self, schedule: Schedule, nominal: datetime, now: datetime) -> Fire:
        start_at = nominal + timedelta(seconds=self.rng.randint(0, schedule.jitter))
        window = next((b for b in self._blackouts if b.covers(start_at)), None)
        if window is not None:
            status, detail = "blackout", f"blackout window {window.describe()}"
            return Fire(
                schedule=schedule.id, nominal=nominal, status=status, start_at=start_at, decided_at=now, detail=detail
            )
        self._claimed_here.add((schedule.id, nominal))
        return Fire(schedule=schedule.id, nominal=nominal, status="claimed", start_at=start_at, decided_at=now)

    def _report_decision(self, fire: Fire) -> None:
        common = {"schedule": fire.schedule, "nominal": format_utc(fire.nominal)}
        if fire.status == "missed":
            assert fire.missed_from is not None
            self.log.warning(
                SchedulerEvent.FIRE_MISSED,
                **common,
                first=format_utc(fire.missed_from),
                count=fire.missed_count,
                detail=fire.detail,
            )
        elif fire.status == "blackout":
            self.log.info(SchedulerEvent.FIRE_BLACKOUT, **common, detail=fire.detail)
        else:
            self.log.info(SchedulerEvent.FIRE_CLAIMED, **common, start_at=format_utc(fire.start_at))
        self.tally[fire.status] += 1

    def _start(self, fire: Fire, schedule: Schedule, now: datetime) -> None:
        """Start a claimed fire's drill, or link the drill a crash left unrecorded, or miss it."""
        common = {"schedule": fire.schedule, "nominal": format_utc(fire.nominal)}
        late_by = (now - fire.start_at).total_seconds()
        if late_by > schedule.grace:
            detail = f"claimed but not started within its grace time of {schedule.grace}s"
            self._store.settle(fire, "missed", now=now, detail=detail)
            self.log.warning(SchedulerEvent.FIRE_MISSED, **common, detail=detail)
            self.tally["missed"] += 1
            return
        orphan = self._unrecorded_run(fire, schedule)
        if orphan is not None:
            self._store.settle(fire, "started", now=now, run=orphan, detail="linked after a restart")
            self.log.info(SchedulerEvent.FIRE_RECOVERED, **common, run=orphan)
            self.tally["started"] += 1
            return
        running = self._still_running(schedule)
        if running is not None:
            detail = f"overlap: the schedule's drill {running} is still running"
            self._store.settle(fire, "skipped", now=now, detail=detail)
            self.log.info(SchedulerEvent.FIRE_SKIPPED, **common, reason="overlap", run=running)
            self.tally["skipped"] += 1
            return
        try:
            run = self.starter.start(schedule.scenario)
        except DrillError as err:
            self._store.settle(fire, "failed", now=now, detail=str(err))
            self.log.error(SchedulerEvent.FIRE_FAILED, **common, scenario=schedule.scenario, error=str(err))
            self.tally["failed"] += 1
            return
        self._store.settle(fire, "started", now=now, run=run)
        self.log.info(
            SchedulerEvent.FIRE_STARTED, **common, scenario=schedule.scenario, run=run, late_by=round(late_by, 3)
        )
        self.tally["started"] += 1

    def _still_running(self, schedule: Schedule) -> str | None:
        """The drill the schedule last started, if it has not ended yet."""
        previous = self._store.last_started(schedule.id)
        if previous is None or previous.run is None:
            return None
        return previous.run if self.starter.running(previous.run) else None

    def _unrecorded_run(self, fire: Fire, schedule: Schedule) -> str | None:
        """A drill started for this claim by a process that died before recording it."""
        if (fire.schedule, fire.nominal) in self._claimed_here:
            return None
        linked = self._store.linked_runs()
        found = [r for r in self.starter.started_since(schedule.scenario, fire.start_at) if r not in linked]
        return min(found, default=None)

    def _conduct(self) -> float:
        """Adopt the runs not ended that no other conductor holds, and do what is due in them."""
        if self.conducting is None:
            return self.poll
        for run in self.conducting.open_runs():
            if run not in self._adopted and run not in self._unreadable and self._adopt(self.conducting, run):
                self._adopted.add(run)
                self.log.info(SchedulerEvent.RUN_ADOPTED, run=run)
        return self.conducting.tick()

    def _adopt(self, conducting: Conducting, run: str) -> bool:
        """Adopt one run; a record that cannot be read is logged and left, and the others go on."""
        try:
            return conducting.adopt(run)
        except DrillError as err:
            self._unreadable.add(run)
            self.tally[DROPPED] += 1
            self.log.error(SchedulerEvent.RUN_DROPPED, run=run, error=str(err))
            return False


def run(daemon: Daemon, *, once: bool) -> Counter[str]:
    """Serve until stopped (or one pass with `once`), logging start and stop; closes the daemon."""
    daemon.log.info(SchedulerEvent.STARTED, pid=os.getpid(), once=once)
    try:
        if once:
            daemon.run_pass()
        else:
            daemon.serve()
    finally:
        daemon.log.info(SchedulerEvent.STOPPED, **daemon.tally)
        daemon.close()
    return daemon.tally
