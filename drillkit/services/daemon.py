"""The scheduler daemon's wiring: settings checked, the workspace's lock, the store checked,
its log, the real starter and conducting (conductor and outbox), then `scheduler.run`.

`drill scheduler` is one call to `run_scheduler`; the daemon's decisions are in `scheduler.py`.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

import structlog
from structlog.typing import EventDict, FilteringBoundLogger, WrappedLogger

from drillkit.config.workspace import FILE_MODE, Workspace
from drillkit.model.clock import Clock, format_utc
from drillkit.model.errors import Conflict, DrillError, RecordError
from drillkit.model.events import SchedulerEvent
from drillkit.schedule.store import open_store
from drillkit.schedule.upcoming import blackouts
from drillkit.services.scheduler import DROPPED, SET_ASIDE, Daemon, run

OWED_WINDOW = timedelta(days=1)


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What a scheduler did, for its last line. It exits 1 when `dropped` (a run was left
    unconducted), `set_aside` (a schedule could not be read) or `lost` (a team store's lease was
    lost while active: a supervisor restarts the scheduler, which stands by)."""

    tally: Counter[str]
    lost: bool = False

    @property
    def summary(self) -> str:
        return "scheduler: " + (", ".join(f"{n} {status}" for status, n in sorted(self.tally.items())) or "nothing due")

    @property
    def dropped(self) -> bool:
        return self.tally[DROPPED] > 0

    @property
    def set_aside(self) -> bool:
        return self.tally[SET_ASIDE] > 0


def run_scheduler(
    ws: Workspace,
    clock: Clock,
    *,
    once: bool,
    on_stop_signals: Callable[[Callable[[], None]], None],
    announce: Callable[[str], None],
) -> Outcome:
    """Serve the workspace's schedules and open runs until stopped (one pass with `once`).

    `on_stop_signals(stop)` makes Ctrl-C and SIGTERM call `stop`; it is hooked up (unless
    `once`) before the lock is taken, so a stop that comes while the scheduler starts up is
    kept, not fatal. `announce` tells the user the daemon is running."""
    check_settings(ws)
    switch = _StopSwitch()
    if not once:
        on_stop_signals(switch.stop)
    with _active(ws, clock, switch, announce, once) as activated:
        if not activated:  # stopped while standing by
            return Outcome(tally=Counter())
        check_store(ws)
        with scheduler_log(ws, clock) as log:
            daemon = _daemon(ws, clock, log)
            if not once:
                switch.attach(daemon.stop)
                announce("scheduler running; Ctrl-C or SIGTERM stops it (drills keep running)")
            return Outcome(tally=run(daemon, once=once), lost=switch.lost)


@contextmanager
def _active(
    ws: Workspace, clock: Clock, switch: _StopSwitch, announce: Callable[[str], None], once: bool
) -> Iterator[bool]:
    """This scheduler made the active one: the workspace's lock file, or with a team store the
    lease (standing by until it can be had); whether it became active before a stop."""
    url = ws.store_url()
    if url is None:
        with exclusive(ws):
            yield True
        return
    from drillkit.services.standby import leased

    with leased(
        url,
        seconds=ws.config().store_lease,
        clock=clock,
        stopped=switch.asked,
        announce=announce,
        lost=switch.lose,
        once=once,
    ) as active:
        yield active


def _daemon(ws: Workspace, clock: Clock, log: FilteringBoundLogger) -> Daemon:
    """The daemon with the real starter and conducting, reporting their trouble to its log."""
    conducting = RunConducting(
        ws,
        clock,
        report=lambda text: log.warning(SchedulerEvent.NOTIFY, detail=text),
        dropped=lambda run_id, error: log.error(SchedulerEvent.RUN_DROPPED, run=run_id, error=str(error)),
    )
    from drillkit.services.overdue import notify_overdue

    notifiers = ws.notifiers()
    return Daemon(
        ws=ws,
        clock=clock,
        starter=DrillStarter(ws, clock),
        conducting=conducting,
        log=log,
        overdue=lambda: notify_overdue(ws, clock, notifiers),
    )


class _StopSwitch:
    """A stop asked for (by a signal) before there is a daemon to stop is kept until there is one."""

    def __init__(self) -> None:
        self._asked = threading.Event()
        self._target: Callable[[], None] | None = None
        self.lost = False

    def lose(self) -> None:
        """Stop because the lease was lost."""
        self.lost = True
        self.stop()

    def stop(self) -> None:
        self._asked.set()
        if self._target is not None:
            self._target()

    def asked(self) -> bool:
        return self._asked.is_set()

    def attach(self, target: Callable[[], None]) -> None:
        self._target = target
        if self._asked.is_set():
            target()


class DrillStarter:
    """The real starter: `drillkit.services.drills.start_drill`, and the run records."""

    def __init__(self, ws: Workspace, clock: Clock) -> None:
        self._ws, self._clock = ws, clock

    def start(self, scenario_id: str) -> str:
        from drillkit.services.drills import start_drill

        return start_drill(self._ws, scenario_id, clock=self._clock, by="scheduler")

    def started_since(self, scenario_id: str, since: datetime) -> list[str]:
        """Drills of the scenario that a scheduler started at or after `since`."""
        from drillkit.store.index import run_summaries
        from drillkit.store.stores import open_store as open_records

        floor = format_utc(since.replace(microsecond=0))
        candidates = [
            s.id
            for s in run_summaries(self._ws)
            if s.mode == "drill" and s.scenario == scenario_id and s.started >= floor
        ]
        records = open_records(self._ws)
        return [run for run in candidates if records.read(run)[0].get("actor") == "scheduler"]

    def running(self, run_id: str) -> bool:
        """Whether the run has not ended, counting what is due by now and not yet recorded: a drill
        whose time limit passed while no scheduler ran is over, though its conductor has yet to
        write `run.ended`. A record that cannot be read holds up no later drill."""
        from drillkit.engine.replay import RunState, due_drafts
        from drillkit.store.stores import open_store as open_records

        try:
            events = open_records(self._ws).read(run_id)
            if not events:
                return False
            state = RunState.replay(events)
        except DrillError:
            return False
        due_drafts(state, state.drill_time(self._clock.now()))  # applied to this state only, written by no one
        return not state.ended


class RunConducting:
    """The real conducting: `drillkit.services.conductor.Conductor` over the runs not ended, with notifications."""

    def __init__(
        self,
        ws: Workspace,
        clock: Clock,
        report: Callable[[str], None],
        dropped: Callable[[str, DrillError], None] | None = None,
    ) -> None:
        """`report`: notification trouble; `dropped`: a run whose record can no longer be read or
        written, let go so that the other runs stay on time."""
        from drillkit.notify.outbox import Outbox
        from drillkit.services.conductor import Conductor
        from drillkit.store.index import OpenRuns
        from drillkit.store.stores import open_store as open_records

        self._ws, self._records = ws, open_records(ws, conducting=True, clock=clock)
        self._outbox = Outbox(ws, clock, ws.notifiers(), report=report, store=self._records)
        self._conductor = Conductor(ws, clock, outbox=self._outbox, dropped=dropped, store=self._records)
        self._open_runs = OpenRuns(ws)
        self._conducted: set[str] = set()  # adopted here: this outbox has seen their every event
        self._owing = self._ended_lately(clock)

    def _ended_lately(self, clock: Clock) -> set[str]:
        """The drills and incidents that ended in the last day: they may still owe notifications
        (a conductor killed just after `run.ended`, or one that left them owed as it exited), and
        no one conducts an ended run."""
        from drillkit.store.index import run_summaries

        since = format_utc(clock.now() - OWED_WINDOW)
        return {
            s.id for s in run_summaries(self._ws) if s.ended is not None and s.ended >= since and s.mode != "simulation"
        }

    def open_runs(self) -> list[str]:
        """The runs not ended; on the way, what the runs found ended since the last pass still owe
        is handed to the outbox (a foreground drill leaves what it could not deliver owed)."""
        open_ones = self._open_runs(held=self._conductor.live)
        self._owing.update(run for run in self._open_runs.ended_lately() if run not in self._conducted)
        self._deliver_owing()
        return open_ones

    def _deliver_owing(self) -> None:
        """Hand the outbox what each run in `_owing` still owes. A run whose conductor lock another
        process holds (a foreground drill still handing over its last deliveries) is tried again at
        the next pass, so that a message does not go out from both."""
        for run_id in sorted(self._owing):
            try:
                handed = self._hand_to_outbox(run_id)
            except (DrillError, OSError):
                handed = True  # a record that cannot be read is `drill verify`'s to report, not retried
            if handed:
                self._owing.discard(run_id)

    def _hand_to_outbox(self, run_id: str) -> bool:
        """The outbox polled with the run's record, read under its conductor lock; False while another holds it."""
        release = self._records.conduct(run_id)
        if release is None:
            return False
        try:
            self._outbox.poll(run_id, self._records.read(run_id))
        finally:
            release()
        return True

    def adopt(self, run_id: str) -> bool:
        adopted = self._conductor.adopt(run_id)
        if adopted:
            self._conducted.add(run_id)
        return adopted

    def tick(self) -> float:
        return self._conductor.tick()

    def close(self) -> None:
        self._conductor.close()
        self._outbox.close(timeout=5.0)


@contextmanager
def exclusive(ws: Workspace) -> Iterator[None]:
    """Hold `logs/scheduler.lock` for the life of one scheduler; Conflict if another holds it."""
    path = ws.ensure_dir(ws.logs) / "scheduler.lock"
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    except OSError as exc:  # a workspace this user may not write: one line, not a traceback
        raise RecordError(f"cannot open {ws.display(path)}: {exc.strerror}") from None
    try:
        os.fchmod(descriptor, FILE_MODE)
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = path.read_text(encoding="ascii", errors="replace").strip() or "another process"
        os.close(descriptor)
        raise Conflict(f"another scheduler (pid {holder}) holds this workspace; stop it first") from None
    try:
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(descriptor)


def check_settings(ws: Workspace) -> None:
    """What the daemon needs from `drill.toml` (blackout windows, notifiers), checked before it
    writes anything: a refused start leaves no log behind."""

    blackouts(ws)
    ws.notifiers()


def check_store(ws: Workspace) -> None:
    """The schedule store opens (a damaged one is refused before the log is begun). Asked under
    `exclusive`: two schedulers starting at once would race to create it."""
    open_store(ws).close()


@contextmanager
def scheduler_log(ws: Workspace, clock: Clock) -> Iterator[FilteringBoundLogger]:
    """A JSON-lines logger to `logs/scheduler.jsonl` (0640), stamped from `clock`, open while in use."""
    path = ws.ensure_dir(ws.logs) / "scheduler.jsonl"
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    os.fchmod(descriptor, FILE_MODE)

    def stamp(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
        return {"ts": format_utc(clock.now()), "level": method, **event}

    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        logger = structlog.wrap_logger(
            structlog.WriteLogger(handle),
            processors=[stamp, structlog.processors.JSONRenderer(ensure_ascii=False)],
            wrapper_class=structlog.make_filtering_bound_logger(0),
        )
        yield cast(FilteringBoundLogger, logger)
