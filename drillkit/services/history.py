"""What the records and schedules say across runs: last drill and next drill per playbook."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from drillkit.config.workspace import Workspace
from drillkit.model.errors import UsageError

if TYPE_CHECKING:
    from drillkit.services.views import Tell
    from drillkit.store.index import RunSummary


def listed_runs(ws: Workspace, tell: Tell) -> list[RunSummary]:
    """Every run, newest first, from each record's first and last lines. The records that cannot be
    read as runs are named through `tell` in one line, so that no answer resting on the runs leaves
    one out unsaid (`drill verify --all` says what is wrong with each)."""
    from drillkit.store.index import read_runs

    every, left_out = read_runs(ws)
    if left_out:
        names = ", ".join(left_out)
        tell(f"drill: {len(left_out)} record(s) left out, not readable as runs: {names} (see `drill verify --all`)")
    return every


def last_drills(summaries: Iterable[RunSummary]) -> dict[str, str]:
    """Playbook id → start time (UTC, RFC 3339) of its latest drill run."""
    latest: dict[str, str] = {}
    for summary in summaries:
        if summary.mode == "drill" and summary.started > latest.get(summary.playbook, ""):
            latest[summary.playbook] = summary.started
    return latest


def next_drills(ws: Workspace, tell: Tell) -> dict[str, str]:
    """Playbook id → the next scheduled fire (UTC, RFC 3339), from the schedule store; schedules
    that cannot be read are named through `tell`."""
    from drillkit.schedule.store import has_store

    if not has_store(ws):
        return {}
    from drillkit.services.schedules import next_fires_by_playbook

    return next_fires_by_playbook(ws, tell)


def known_playbook(ws: Workspace, playbook_id: str) -> str:
    """A `--playbook` filter: a playbook of the workspace or of a recorded run; UsageError naming them otherwise."""
    from drillkit.plans.library import Plans

    in_files = Plans(ws).playbook_ids()
    if playbook_id in in_files:
        return playbook_id
    from drillkit.store.index import run_summaries

    known = sorted(set(in_files) | {summary.playbook for summary in run_summaries(ws)})
    if playbook_id not in known:
        raise UsageError(f"--playbook {playbook_id!r}: no such playbook; known: {', '.join(known) or '(none)'}")
    return playbook_id
