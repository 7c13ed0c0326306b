"""Run services: open a run, and apply a command to one under its lock with catch-up first.

Every command that touches a run first records what came due while nobody watched
(`engine.due_drafts`), then decides against the state that gives, and records right after its
own events what they made due at once (`engine.decided`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

from drillkit.config.workspace import Workspace
from drillkit.engine.people import Who, acting_name, on_roster
from drillkit.engine.replay import RunState, decided, due_drafts, falls_due
from drillkit.model.clock import Clock
from drillkit.model.errors import Rejected, RunExists, UsageError
from drillkit.model.events import EventType
from drillkit.model.names import check_person
from drillkit.model.plans import Playbook
from drillkit.model.provenance import Provenance
from drillkit.store.files import workspace_key
from drillkit.store.port import Event, RecordStore
from drillkit.store.stores import open_store

if TYPE_CHECKING:
    from drillkit.model.planfiles import Scenario

Command = Callable[[RunState], list[Event]]  # reads the state, returns drafts (never changes it)
# --speed: the drill clock at most 10,000 times faster than the wall clock, and at most 100 times
# slower (a drill's ten-year time limit then ends within a thousand years, a time Python can hold;
# at 1e-308 the wall time of the first deadline was infinite and the conductor failed on it)
MIN_SPEED, MAX_SPEED = 0.01, 10_000
KEEP_EVERY = 1000  # events a new process would replay past a run's snapshot before a new one is kept


def new_run_id(playbook_id: str, clock: Clock) -> str:
    import secrets  # 2 ms to import (random, base64): only a command that opens a run needs it

    return f"{clock.now().strftime('%Y%m%dT%H%M%SZ')}-{playbook_id}-{secrets.token_hex(2)}"


def parse_assignments(pairs: list[str], pb: Playbook, roster: tuple[str, ...] = ()) -> dict[str, str]:
    """`--as ROLE=NAME` pairs, each role known to the playbook and given once, each name a
    person's (on the roster, when drill.toml has one)."""
    found: dict[str, str] = {}
    for pair in pairs:
        role, sep, person = pair.partition("=")
        if not sep or not person.strip():
            raise UsageError(f"--as {pair!r}: write ROLE=NAME, e.g. --as lead=alice")
        if role not in pb.roles:
            raise UsageError(f"--as {pair!r}: unknown role {role!r}; roles: {', '.join(pb.roles)}")
        if role in found:
            raise UsageError(f"--as {pair!r}: role {role!r} is given twice; give each role once")
        found[role] = on_roster(check_person(person, f"--as {role}"), roster, f"--as {role}")
    return found


def opener(by: str | Who, people: dict[str, str], roster: tuple[str, ...]) -> str:
    """Who opens or starts a run: a `Who` must be one of its people or on the roster (SPEC §5);
    a plain name is one the caller has settled (the scheduler, a test)."""
    if isinstance(by, str):
        return by
    return acting_name(by, set(people.values()) | set(roster), "in this run")


def start_run(ws: Workspace, clock: Clock, first: Event) -> str:
    """Write a new run's `run.started` (from `started_draft`) under a fresh run id; the id."""
    store, provenance = open_store(ws), Provenance.here()

    def write(run_id: str) -> None:
        store.create(run_id, first, clock, provenance=provenance)

    return create_run(ws, first["playbook"]["playbook"], clock, write)


def create_run(ws: Workspace, playbook_id: str, clock: Clock, write: Callable[[str], object]) -> str:
    """`write` a new record under a fresh run id, trying another id when one is taken; the id.

    Ids made in the same second differ only in 16 random bits: a tool (or a test) starting
    hundreds of runs a second meets a taken id now and then, and `create` refuses to overwrite."""
    for _attempt in range(8):
        run_id = new_run_id(playbook_id, clock)
        try:
            write(run_id)
        except RunExists:
            continue
        return run_id
    raise UsageError("could not find a free run id; try again")  # pragma: no cover - 8 collisions of 16 bits


def started_draft(
    ws: Workspace,
    *,
    pb: Playbook,
    mode: str,
    severity: str,
    by: str,
    title: str | None = None,
    scenario: Scenario | None = None,
    participants: dict[str, str] | None = None,
    speed: float = 1.0,
) -> Event:
    """The `run.started` draft: the whole playbook and scenario as loaded, so the record explains itself."""
    severity_id = pb.severity_named(severity)  # a label or grade name is recorded as the id
    if severity_id is None:
        raise UsageError(f"unknown severity {severity!r}; allowed: {pb.severity_choices()}")
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise UsageError(f"--speed {speed}: must be from {MIN_SPEED} to {MAX_SPEED}")
    return {
        "event": EventType.RUN_STARTED,
        "actor": by,
        "role": None,
        "mode": mode,
        "playbook": pb.data(),
        "playbook_sha256": _plan_digest(ws, pb),
        "scenario": scenario.data() if scenario else None,
        "severity": severity_id,
        "participants": participants or {},
        "speed": speed,
        "state": pb.initial_state,
        "chain": "hmac-sha256" if workspace_key(ws) else "sha256",
        "title": title or (scenario.title if scenario else pb.title),
    }


def _plan_digest(ws: Workspace, pb: Playbook) -> str:
    path = ws.playbooks / f"{pb.playbook}.yaml"
    data = path.read_bytes() if path.is_file() else repr(pb.data()).encode()
    return hashlib.sha256(data).hexdigest()


def open_incident(
    ws: Workspace,
    clock: Clock,
    playbook_id: str,
    *,
    severity: str,
    by: str | Who,
    title: str | None,
    assignments: list[str],
) -> str:
    from drillkit.plans.library import Plans

    pb, roster = Plans(ws).playbook(playbook_id), ws.config().people
    people = parse_assignments(assignments, pb, roster)
    actor = opener(by, people, roster)
    first = started_draft(ws, pb=pb, mode="incident", severity=severity, by=actor, title=title, participants=people)
    return start_run(ws, clock, first)


class Runs:
    """Commands on runs through one store, for as long as one process works with them: the state
    it last decided on for each run is brought up to date by the events added since, not replayed
    (a conductor catches its runs up again and again)."""

    def __init__(self, ws: Workspace, store: RecordStore | None = None) -> None:
        self.ws = ws
        self.store = store or open_store(ws)
        self._states: dict[str, RunState] = {}  # by run id: the state after the last append decided on
        self._kept_at: dict[str, int] = {}  # by run id: the seq of its snapshot (0: none) as far as known

    def apply(
        self, clock: Clock, run_id: str, command: Command | None, provenance: Provenance | None = None
    ) -> list[Event]:
        """Catch up, then the command (if any), in one append decided on the state it is
        appended to (the store's lock, or its check that the run has not moved). Rejections write nothing.
        Every event written carries `provenance` (by default a new write by this process)."""
        rejection: list[Rejected] = []
        before: list[RunState] = []  # the state the last decision was taken on

        def decide(kept: RunState | None, events: list[Event], now: datetime) -> list[Event]:
            """Called again when the store decided first on what it held and the run had moved
            on: the state decided on then is brought up to date, not replayed."""
            rejection.clear()
            known = before.pop() if before else self._states.pop(run_id, None)
            state = self._replayed(run_id, events, known, kept)
            before.append(state)
            now_t = state.drill_time(now)
            if command is None:  # catch-up alone: a copy to change only when something is due
                return due_drafts(state.copy(), now_t) if falls_due(state, now_t) else []
            try:
                return decided(state.copy(), command, now_t)  # the state kept is brought past what is written
            except Rejected as why:
                rejection.append(why)
                return []

        written = self.store.append_from_snapshot(
            run_id, RunState.restored, decide, clock, provenance or Provenance.here()
        )
        if before:
            self._remember(run_id, before[0], written)
        if rejection:
            raise rejection[0]
        return written

    def catch_up(self, clock: Clock, run_id: str) -> list[Event]:
        return self.apply(clock, run_id, None)

    def _replayed(self, run_id: str, events: list[Event], known: RunState | None, kept: RunState | None) -> RunState:
        """The state after `events`: `known` (one taken out of those kept, while in use: a
        failure on the way leaves no half state) brought up to date when it still fits, else
        the snapshot's state `kept` (the store then hands only the events after it), else a replay."""
        after = None if known is None else _after(known, events, kept)
        if known is not None and after is not None:
            return _brought_up_to_date(known, events[after:])
        self._kept_at[run_id] = 0 if kept is None else kept.seq
        if kept is None:
            return RunState.replay(events)
        return _brought_up_to_date(kept.copy(), events)  # a copy: the store's is not to be changed

    def _remember(self, run_id: str, state: RunState, written: list[Event]) -> None:
        """Keep the state decided on, brought past what was written, for the next command; and
        as the run's snapshot when a new process would otherwise replay `KEEP_EVERY` events or more."""
        for event in written:
            state.apply(event)
        self._states[run_id] = state
        if state.seq - self._kept_at.get(run_id, 0) >= KEEP_EVERY:
            self.store.keep_snapshot(run_id, state.seq, state.head, state.kept)
            self._kept_at[run_id] = state.seq


def _after(known: RunState, events: list[Event], kept: RunState | None) -> int | None:
    """How many of `events` `known` has taken in already, when it fits them (its last event is
    among them or the one right before them), else None."""
    if not events:  # handed only after a snapshot with nothing after it
        return 0 if kept is not None and (kept.seq, kept.head) == (known.seq, known.head) else None
    taken = known.seq - events[0]["seq"] + 1
    if not 0 <= taken <= len(events):
        return None
    last = events[taken - 1]["hash"] if taken else events[0].get("prev")
    return taken if last == known.head else None


def _brought_up_to_date(state: RunState, events: list[Event]) -> RunState:
    for event in events:
        state.apply(event)
    return state


def apply(ws: Workspace, clock: Clock, run_id: str, command: Command | None) -> list[Event]:
    """`Runs.apply` for a process that applies one command: one write, one `req`."""
    return Runs(ws).apply(clock, run_id, command, Provenance.here())


def catch_up(ws: Workspace, clock: Clock, run_id: str) -> list[Event]:
    return apply(ws, clock, run_id, None)


class ReaderCatchUp(Enum):
    CURRENT = "nothing was due"
    RECORDED = "what was due is recorded"
    NOT_WRITABLE = "something is due that only a writer can record"


def catch_up_for_reader(ws: Workspace, clock: Clock, run_id: str, events: list[Event]) -> ReaderCatchUp:
    """`catch_up` for a command that shows a run (status, timeline, export): the lock is taken
    only when something is due, and a reader who may not write the record is left to show it
    as written."""
    state = RunState.replay(events)
    if not falls_due(state, state.drill_time(clock.now())):
        return ReaderCatchUp.CURRENT
    runs = Runs(ws)
    if not runs.store.writable(run_id):
        return ReaderCatchUp.NOT_WRITABLE
    runs.catch_up(clock, run_id)
    return ReaderCatchUp.RECORDED
