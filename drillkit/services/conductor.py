"""The conductor: keeps live runs on time in one process (a foreground `drill start`/`resume`,
or the scheduler for every detached run).

For each adopted run it holds the run's conductor lock (one conductor per run), follows the record
incrementally (so a `drill act` from another terminal is seen within one poll), and when something
comes due (an inject, a deadline, an `on_deadline` trigger, the time limit) records it through
the same locked append every command uses. The record stays the truth: a conductor killed at any
moment is replaced by `drill resume`, whose catch-up records what came due meanwhile, once.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from drillkit.config.workspace import Workspace
from drillkit.engine.replay import RunState, next_due
from drillkit.model.clock import Clock
from drillkit.model.errors import Conflict, DrillError
from drillkit.model.threads import DaemonThreads
from drillkit.services.runs import Runs
from drillkit.store.port import Event, RecordStore

POLL = 0.2  # seconds between looks at records others may append to
WRITERS = 8  # runs recorded side by side when several come due together: one run's fsync never waits for another's
CLOSE_WAIT = 5.0  # seconds a closing conductor waits for the appends in flight

Listener = Callable[[str, list[Event]], None]
Dropped = Callable[[str, DrillError], None]


class Outbox(Protocol):
    def poll(self, run_id: str, events: list[Event]) -> object: ...


@dataclass
class _Live:
    run_id: str
    release: Callable[[], None]  # lets go of the run's conductor lock
    events: list[Event] = field(default_factory=list)
    state: RunState | None = None
    writing: Future[object] | None = None  # what came due, being recorded by a writer thread


class Conductor:
    def __init__(
        self,
        ws: Workspace,
        clock: Clock,
        listener: Listener | None = None,
        outbox: Outbox | None = None,
        dropped: Dropped | None = None,
        *,
        store: RecordStore | None = None,
        hold: bool = False,
    ) -> None:
        """`dropped`: told of a run that can no longer be read or recorded, which is then let go so
        the others stay on time; without it such an error ends the conducting. `store`: the one
        the process already holds, if any. `hold`: keep each run's conductor lock past its end and
        past `close`, until `let_go` (a foreground conductor hands over its last deliveries first,
        and the scheduler takes the run's owed deliveries only after that)."""
        self.ws, self.clock = ws, clock
        self.listener, self.outbox, self.dropped = listener, outbox, dropped
        self.live: dict[str, _Live] = {}
        self._hold = hold
        self._held: list[Callable[[], None]] = []  # the locks of runs no longer conducted, kept until `let_go`
        self.runs = Runs(ws, store)  # one store for every run conducted: each look reads only what is new
        self._writers: DaemonThreads[object] = DaemonThreads(WRITERS, "drill-append")

    def adopt(self, run_id: str) -> bool:
        """Take the run's conductor lock; False if another conductor holds it."""
        if run_id in self.live:
            return True
        self.runs.store.read(run_id)  # NotFound for an unknown run, before any lock is taken
        release = self.runs.store.conduct(run_id)
        if release is None:
            return False
        self.live[run_id] = _Live(run_id, release)
        self._follow(self.live[run_id])
        return True

    def adopt_or_fail(self, run_id: str) -> None:
        if not self.adopt(run_id):
            raise Conflict(f"run {run_id} is already being conducted by another process")

    def state(self, run_id: str) -> RunState | None:
        return self.live[run_id].state if run_id in self.live else None

    def events(self, run_id: str) -> list[Event]:
        return self.live[run_id].events if run_id in self.live else []

    def tick(self) -> float:
        """Record what is due in every run; seconds until the next thing is due (at most POLL), 0
        when appends were handed out or read back and others are still in flight.

        What came due is handed to writer threads, and the tick waits for appends in flight only
        until another run's next due thing (at most POLL): a run whose append stalls (a slow fsync,
        a `drill act` stopped while it holds the record's lock) is read back at a later tick, the
        other runs' due things are recorded on time meanwhile (a pinned clock is told to sleep
        until then), and nothing spins while it waits."""
        self._settle()
        left_least, due = POLL, []
        for live in list(self.live.values()):
            left = None if live.writing is not None else self._guarded(live, partial(self._look, live))
            if left is None:
                continue
            if left > 0:
                left_least = min(left_least, left)
            else:
                due.append(live)
        for live in due:
            live.writing = self._writers.submit(partial(self.runs.catch_up, self.clock, live.run_id))
        began = self.clock.now()
        read_back = self._settle(left_least)
        left_least -= (self.clock.now() - began).total_seconds()  # a pinned clock has not moved
        for live in read_back:
            left_least = min(left_least, self._left(live))
        for run_id, live in list(self.live.items()):
            if live.state is not None and live.state.ended and live.writing is None:
                self._release(run_id)
        if self._in_flight() and (due or read_back):
            return 0.0  # more appends may finish at once: read them back before sleeping
        return max(0.0, left_least)

    def _look(self, live: _Live) -> float:
        if not self.runs.store.conducting(live.run_id):
            raise Conflict(
                f"run {live.run_id} is conducted by another process now: this one lost its session"
                " with the team store, and another conductor took the run meanwhile"
            )
        self._follow(live)
        return self._left(live)

    def _left(self, live: _Live) -> float:
        """Seconds until the run's next due thing (0 or less: due now); POLL when nothing is."""
        state = live.state
        if state is None or state.ended:
            return POLL
        upcoming = next_due(state)
        if upcoming is None:
            return POLL
        # in seconds, not datetimes: at a speed near 0 the wall time of what comes next is past any date
        return upcoming / state.speed - (self.clock.now() - state.started).total_seconds()

    def _in_flight(self) -> list[_Live]:
        return [live for live in self.live.values() if live.writing is not None]

    def _settle(self, timeout: float = 0.0) -> list[_Live]:
        """Read back, in run order, the runs whose appends have finished, waiting up to `timeout`
        seconds for the first of those in flight; the runs read back. An append's error drops its
        run like any other."""
        writing = self._in_flight()
        if timeout > 0 and writing:
            futures = [live.writing for live in writing if live.writing is not None]
            wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)
        read_back = []
        for live in writing:
            future = live.writing
            if future is not None and future.done():
                live.writing = None
                if not future.cancelled():  # a close cancels what no writer had started
                    self._guarded(live, partial(self._read_back, live, future))
                    read_back.append(live)
        return [live for live in read_back if live.run_id in self.live]

    def _read_back(self, live: _Live, appended: Future[object]) -> None:
        appended.result()
        self._follow(live)

    def _guarded(self, live: _Live, step: Callable[[], Any]) -> Any:
        """`step`'s result; None when the run failed and was dropped (see `dropped`)."""
        try:
            return step()
        except DrillError as error:
            if self.dropped is None:
                raise
            self._release(live.run_id)
            self.dropped(live.run_id, error)
            return None

    def _follow(self, live: _Live) -> None:
        """Read what was appended since last time (by us or anyone) and fold it in."""
        new = self.runs.store.read(live.run_id, len(live.events) + 1)
        if not new:
            return
        if live.state is None:
            live.state = RunState.replay(new)
        else:
            for event in new:
                live.state.apply(event)
        live.events.extend(new)
        self._tell(live.run_id, new, live.events)

    def _tell(self, run_id: str, new: list[Event], everything: list[Event]) -> None:
        if self.listener is not None:
            self.listener(run_id, new)
        if self.outbox is not None:
            self.outbox.poll(run_id, everything)

    def _release(self, run_id: str) -> None:
        release = self.live.pop(run_id).release
        if self._hold:
            self._held.append(release)
        else:
            release()

    def let_go(self) -> None:
        """Let go of the conductor locks kept by `hold`."""
        held, self._held = self._held, []
        for release in held:
            release()

    def close(self) -> None:
        """Wait up to CLOSE_WAIT for the appends in flight and read them back (so listeners and the
        outbox see them), then let every run go. An append still waiting on someone else's lock of
        its record is left to finish alone: a stop is not held up by it, and what it would have
        recorded is recorded, late and once, by whoever conducts the run next."""
        try:
            in_flight = [live.writing for live in self._in_flight() if live.writing is not None]
            wait(in_flight, timeout=CLOSE_WAIT)
            for future in in_flight:
                future.cancel()
            self._settle()
        finally:
            self._writers.stop()
            for run_id in list(self.live):
                self._release(run_id)

    def conduct(self, stop: Callable[[], bool] | None = None, every: Callable[[], Any] | None = None) -> None:
        """Loop until every adopted run has ended (or `stop()` says so)."""
        while self.live and not (stop and stop()):
            wait = self.tick()
            if every is not None:
                every()
            self.clock.sleep(min(wait, POLL))
