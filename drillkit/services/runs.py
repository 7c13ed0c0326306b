"""Run services: open a run, and apply a command to one under its lock with catch-up first.

Every command that touches a run first records what came due while nobody watched
(`engine.due_drafts`), then decides against the state that gives.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable
from datetime import datetime
from enum import Enum

from drillkit.config.workspace import Workspace
from drillkit.engine.replay import RunState, due_drafts, falls_due
from drillkit.model.clock import Clock
from drillkit.model.errors import Rejected, RunExists, UsageError
from drillkit.model.plans import Playbook, Scenario, dump
from drillkit.store.files import Event, RunRecord, workspace_key

Command = Callable[[RunState], list[Event]]  # reads the state, returns drafts (never changes it)


def new_run_id(playbook_id: str, clock: Clock) -> str:
    return f"{clock.now().strftime('%Y%m%dT%H%M%SZ')}-{playbook_id}-{secrets.token_hex(2)}"


def parse_assignments(pairs: list[str], pb: Playbook) -> dict[str, str]:
    """`--as ROLE=NAME` pairs, each role known to the playbook and given once, each name a usable one."""
    from drillkit.model.names import check_name

    found: dict[str, str] = {}
    for pair in pairs:
        role, sep, person = pair.partition("=")
        if not sep or not person.strip():
            raise UsageError(f"--as {pair!r}: write ROLE=NAME, e.g. --as lead=alice")
        if role not in pb.roles:
            raise UsageError(f"--as {pair!r}: unknown role {role!r}; roles: {', '.join(pb.roles)}")
        if role in found:
            raise UsageError(f"--as {pair!r}: role {role!r} is given twice; give each role once")
        found[role] = check_name(person, f"--as {role}")
    return found


def start_run(ws: Workspace, clock: Clock, first: Event) -> str:
    """Write a new run's `run.started` (from `started_draft`) under a fresh run id; the id."""
    return create_run(ws, first["playbook"]["playbook"], clock, lambda record: record.create(first, clock)).run_id


def create_run(ws: Workspace, playbook_id: str, clock: Clock, write: Callable[[RunRecord], object]) -> RunRecord:
    """`write` a new record under a fresh run id, trying another id when one is taken.

    Ids made in the same second differ only in 16 random bits: a tool (or a test) starting
    hundreds of runs a second meets a taken id now and then, and `create` refuses to overwrite."""
    for _attempt in range(8):
        record = RunRecord(ws, new_run_id(playbook_id, clock))
        try:
            write(record)
        except RunExists:
            continue
        return record
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
    if not 0 < speed <= 10_000:
        raise UsageError(f"--speed {speed}: must be above 0 and at most 10000")
    return {
        "event": "run.started",
        "actor": by,
        "role": None,
        "mode": mode,
        "playbook": dump(pb),
        "playbook_sha256": _plan_digest(ws, pb),
        "scenario": dump(scenario) if scenario else None,
        "severity": severity_id,
        "participants": participants or {},
        "speed": speed,
        "state": pb.initial_state,
        "chain": "hmac-sha256" if workspace_key(ws) else "sha256",
        "title": title or (scenario.title if scenario else pb.title),
    }


def _plan_digest(ws: Workspace, pb: Playbook) -> str:
    path = ws.playbooks / f"{pb.playbook}.yaml"
    data = path.read_bytes() if path.is_file() else repr(dump(pb)).encode()
    return hashlib.sha256(data).hexdigest()


def open_incident(
    ws: Workspace,
    clock: Clock,
    playbook_id: str,
    *,
    severity: str,
    by: str,
    title: str | None,
    assignments: list[str],
) -> str:
    from drillkit.plans.library import Plans

    pb = Plans(ws).playbook(playbook_id)
    people = parse_assignments(assignments, pb)
    first = started_draft(ws, pb=pb, mode="incident", severity=severity, by=by, title=title, participants=people)
    return start_run(ws, clock, first)


def apply(ws: Workspace, clock: Clock, run_id: str, command: Command | None) -> list[Event]:
    """Catch up, then the command (if any), in one locked append. Rejections write nothing."""
    record = RunRecord(ws, run_id)
    rejection: list[Rejected] = []
    before: list[RunState] = []

    def decide(events: list[Event], now: datetime) -> list[Event]:
        state = _replayed(record.file, events)
        before.append(state)
        now_t = state.drill_time(now)
        drafts: list[Event] = []
        if falls_due(state, now_t):  # catch-up changes the state decided on, not the one kept
            state = state.copy()
            drafts = due_drafts(state, now_t)
        if command is None:
            return drafts
        try:
            return drafts + command(state)
        except Rejected as why:
            rejection.append(why)
            return []

    written = record.append(decide, clock)
    if before:
        _remember(record.file, before[0], written)
    if rejection:
        raise rejection[0]
    return written


_STATES: dict[str, RunState] = {}  # by record file name


def _replayed(path: str, events: list[Event]) -> RunState:
    """The state after `events`: this process's last look at the run brought up to date, when it
    still fits. It is taken out of the cache while in use: a failure on the way leaves no half state."""
    known = _STATES.pop(path, None)
    if known is None or known.seq > len(events) or events[known.seq - 1]["hash"] != known.head:
        return RunState.replay(events)
    for event in events[known.seq :]:
        known.apply(event)
    return known


def _remember(path: str, state: RunState, written: list[Event]) -> None:
    for event in written:
        state.apply(event)
    _STATES[path] = state


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
    if not os.access(ws.run_file(run_id), os.W_OK):
        return ReaderCatchUp.NOT_WRITABLE
    catch_up(ws, clock, run_id)
    return ReaderCatchUp.RECORDED
