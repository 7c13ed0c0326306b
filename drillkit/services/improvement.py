"""The improvement plan (SPEC §10): corrective actions opened from a run, followed in
the actions' ledger (`logs/actions.jsonl`, or the team store when one is named), and closed only
on a passing retest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drillkit.config.workspace import Workspace
from drillkit.engine import corrective
from drillkit.engine.corrective import Action, replay_actions
from drillkit.engine.replay import RunState
from drillkit.model.clock import Clock
from drillkit.model.errors import UsageError
from drillkit.model.names import check_name
from drillkit.services.runnames import resolve_run
from drillkit.store.port import Event
from drillkit.store.stores import open_ledger, open_store


@dataclass(frozen=True, kw_only=True)
class NewAction:
    """`drill action add`'s options as typed."""

    source: str  # RUN[:OBJECTIVE]
    title: str
    owner: str  # ROLE=PERSON
    due: str
    capability: str | None


def add(ws: Workspace, clock: Clock, new: NewAction, *, by: str) -> Event:
    """`--from RUN[:OBJECTIVE]`, the run named as every command names one (SPEC §5)."""
    run_name, objective = _source(new.source)
    run_id = resolve_run(ws, run_name)
    role, sep, person = new.owner.partition("=")
    if not sep or not role or not person.strip():
        raise UsageError(f"--owner {new.owner!r}: write ROLE=PERSON, e.g. --owner lead=alice")
    opened = {
        "title": new.title,
        "from_run": run_id,
        "objective": objective or None,
        "owner_role": role,
        "owner": check_name(person, "--owner"),
        "due": corrective.parse_due(new.due),
        "capability": new.capability,
    }
    rs = RunState.replay(open_store(ws).read(run_id))
    ledger = open_ledger(ws)
    corrective.open_draft(replay_actions(ledger.read()), rs, opened, by)  # refused before the ledger is touched
    written = ledger.append(lambda events, _now: [corrective.open_draft(replay_actions(events), rs, opened, by)], clock)
    return written[-1]


def _source(text: str) -> tuple[str, str]:
    """RUN and OBJECTIVE of `--from`: RUN itself holds a colon in `last:PLAYBOOK`, so with two
    colons the objective is what follows the second."""
    if text.count(":") >= 2:
        run_name, _, objective = text.rpartition(":")
        return run_name, objective
    run_name, _, objective = text.partition(":")
    return run_name, objective


def actions(ws: Workspace) -> dict[str, Action]:
    return replay_actions(open_ledger(ws).read())


def listed(ws: Workspace, clock: Clock, *, only_open: bool, overdue: bool) -> list[dict[str, Any]]:
    today = clock.now().date()
    rows = [a.document(today) for a in actions(ws).values()]
    if only_open:
        rows = [r for r in rows if r["status"] != "closed"]
    if overdue:
        rows = [r for r in rows if r["overdue"]]
    return rows


def show(ws: Workspace, clock: Clock, action_id: str) -> dict[str, Any]:
    return corrective.known(actions(ws), action_id).document(clock.now().date())


def update(ws: Workspace, clock: Clock, action_id: str, *, status: str, note: str | None, by: str) -> Event:
    corrective.update_draft(corrective.known(actions(ws), action_id), status, note, by)  # refused untouched

    def decide(events: list[Event], _now: object) -> list[Event]:
        action = corrective.known(replay_actions(events), action_id)
        return [corrective.update_draft(action, status, note, by)]

    return open_ledger(ws).append(decide, clock)[-1]


def close(ws: Workspace, clock: Clock, action_id: str, *, retest: str, by: str) -> Event:
    retest_events = open_store(ws).read(resolve_run(ws, retest))
    corrective.close_draft(corrective.known(actions(ws), action_id), retest_events, by)  # refused untouched

    def decide(events: list[Event], _now: object) -> list[Event]:
        action = corrective.known(replay_actions(events), action_id)
        return [corrective.close_draft(action, retest_events, by)]

    return open_ledger(ws).append(decide, clock)[-1]
