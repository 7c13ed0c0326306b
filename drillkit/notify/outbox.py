"""The outbox: the record is the outbox (SPEC §7).

A conducting process calls `Outbox.poll(run_id, events)` from its loop; matching events with no
`notify.sent`/`notify.failed` yet are queued, delivered at least once with `<run>:<seq>` as the
idempotency key, and the outcome is appended to the run's record. Each robot (`pace.robot_of`)
has one lane. A paced notifier's lane is one thread that delivers its messages one at a time in
the order they were queued (each run's in the order of its record), each attempt at the robot's
pace, shared by every run this process conducts; an unpaced one (a command, a `json` webhook
without `rate`) delivers up to UNPACED_AT_ONCE at a time, for a slow program. Robots are served
side by side. Nothing that writes an event waits on the network, and a process does not wait on
it to end: a delivery still under way or queued when the outbox closes is left unrecorded, so it
stays owed in the record and the scheduler delivers it (a running one at its next pass after the
process has let go of the run's conductor lock).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, wait
from datetime import datetime
from functools import partial
from typing import Any

from drillkit.config.notifiers import Notifier
from drillkit.config.workspace import Workspace
from drillkit.model.clock import Clock
from drillkit.model.errors import DrillError
from drillkit.model.events import NOTIFY_OUTCOMES, EventType
from drillkit.model.threads import DaemonThreads
from drillkit.notify.pace import Paces, robot_of
from drillkit.notify.payloads import Message, RunInfo, describe
from drillkit.notify.senders import Outcome, deliver
from drillkit.store.port import RecordStore
from drillkit.store.stores import open_store

UNPACED_AT_ONCE = 4


def delivered(events: Iterable[dict[str, Any]]) -> set[tuple[str, int]]:
    """(notifier, seq) pairs whose outcome is already in the record."""
    return {(str(e.get("notifier")), int(e["of"])) for e in events if e.get("event") in NOTIFY_OUTCOMES}


def due(notifiers: Iterable[Notifier], events: list[dict[str, Any]]) -> list[tuple[Notifier, dict[str, Any]]]:
    """(notifier, event) pairs that match and have no outcome recorded; none for simulations."""
    if not events or events[0].get("event") != EventType.RUN_STARTED:
        return []
    mode = str(events[0].get("mode"))
    done = delivered(events)
    return [
        (notifier, event)
        for event in events
        for notifier in notifiers
        if notifier.wants(str(event.get("event")), mode) and (notifier.name, event.get("seq")) not in done
    ]


def outcome_draft(notifier: str, seq: int, outcome: Outcome) -> dict[str, Any]:
    return {
        "event": EventType.NOTIFY_SENT if outcome.ok else EventType.NOTIFY_FAILED,
        "actor": "system",
        "role": None,
        "notifier": notifier,
        "of": seq,
        "attempts": outcome.attempts,
        "error": outcome.error,
    }


def _stderr(text: str) -> None:
    sys.stderr.write(text + "\n")


class Outbox:
    """Delivers the matching events of runs from their records, in background threads, one lane per robot.

    Wiring: `outbox = Outbox(ws, clock, ws.notifiers())`; call `outbox.poll(run_id, events)`
    with the events just read (or appended) in the conducting loop; `outbox.close(timeout)` on
    the way out. `poll` returns at once; an event is claimed once per process, so a later poll
    with an older read of the record does not send it twice.
    """

    def __init__(
        self,
        ws: Workspace,
        clock: Clock,
        notifiers: Iterable[Notifier],
        *,
        report: Callable[[str], None] = _stderr,
        store: RecordStore | None = None,
    ) -> None:
        self._ws, self._clock, self._notifiers = ws, clock, tuple(notifiers)
        self._store = store or open_store(ws)
        self._report = report
        self._paces = Paces(ws)
        self._lanes: dict[str, DaemonThreads[None]] = {}
        self._lock = threading.Lock()
        self._claimed: set[tuple[str, str, int]] = set()
        self._futures: set[Future[None]] = set()
        self._stop = threading.Event()
        self._closed = False

    def poll(self, run_id: str, events: list[dict[str, Any]]) -> int:
        """Queue every undelivered matching event in its robot's lane; the number queued."""
        if self._closed:
            return 0
        handed = 0
        for notifier, event in due(self._notifiers, events):
            claim = (run_id, notifier.name, int(event["seq"]))
            with self._lock:
                if claim in self._claimed:
                    continue
                self._claimed.add(claim)
            message = describe(event, RunInfo.from_started(events[0]), self._seal_of(run_id, event))
            self._submit(run_id, notifier, message, claim[2])
            handed += 1
        return handed

    def _seal_of(self, run_id: str, event: dict[str, Any]) -> str | None:
        """The fingerprint of the latest seal when it covers this `run.ended` (SPEC §9)."""
        if event["event"] != EventType.RUN_ENDED:
            return None
        from drillkit.store.stores import open_seals

        try:
            seal = open_seals(self._ws).latest(run_id)
        except (OSError, DrillError):
            return None  # the message goes without it
        return seal.fingerprint if seal is not None and seal.events >= int(event["seq"]) else None

    def close(self, timeout: float = 10.0) -> bool:
        """`hand_over(timeout)`; True when nothing was left owed."""
        return self.hand_over(timeout) == 0

    def hand_over(self, timeout: float) -> int:
        """Wait up to `timeout` s for deliveries under way, then leave the rest unrecorded, still
        owed in the record for the next conducting process; how many were left."""
        self._closed = True
        with self._lock:
            running = set(self._futures)
        _, unfinished = wait(running, timeout=timeout)
        self._stop.set()
        for future in unfinished:
            future.cancel()  # one still queued in its lane
        with self._lock:
            for lane in self._lanes.values():
                lane.stop()
        return len(unfinished)

    def _submit(self, run_id: str, notifier: Notifier, message: Message, seq: int) -> None:
        with self._lock:
            future = self._lane(notifier).submit(partial(self._deliver, run_id, notifier, message, seq))
            self._futures.add(future)
        future.add_done_callback(self._forget)

    def _lane(self, notifier: Notifier) -> DaemonThreads[None]:
        """The lane of the notifier's robot, begun by its first message (module docstring)."""
        robot = robot_of(notifier)
        if robot not in self._lanes:
            at_once = 1 if notifier.rates else UNPACED_AT_ONCE
            self._lanes[robot] = DaemonThreads(at_once, f"drill-notify-{notifier.name}")
        return self._lanes[robot]

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)

    def _deliver(self, run_id: str, notifier: Notifier, message: Message, seq: int) -> None:
        try:
            outcome = deliver(notifier, message, self._clock, self._stop, self._paces)
            if not outcome.abandoned and not self._stop.is_set():  # once handed over, it stays owed
                self._record(run_id, notifier.name, seq, outcome)
        except Exception as err:  # a worker must never fail silently: say what was lost
            self._report(f"drill: notifier {notifier.name}: event {seq} of run {run_id}: {err}")

    def _record(self, run_id: str, name: str, seq: int, outcome: Outcome) -> None:
        """Append the outcome unless one is already recorded for (name, seq).

        Outcomes may follow `run.ended`: the run's last events are delivered after it ends.
        """
        draft = outcome_draft(name, seq, outcome)

        def decide(events: list[dict[str, Any]], _now: datetime) -> list[dict[str, Any]]:
            return [] if (name, seq) in delivered(events) else [draft]

        try:
            self._store.append(run_id, decide, self._clock)
        except DrillError as err:
            self._report(f"drill: notifier {name}: cannot record the outcome for event {seq} of run {run_id}: {err}")
            return
