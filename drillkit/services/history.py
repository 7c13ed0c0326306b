"""What the records and schedules say across runs: last drill and next drill per playbook."""

from __future__ import annotations

from drillkit.config.workspace import Workspace
from drillkit.model.errors import UsageError


def last_drills(ws: Workspace) -> dict[str, str]:
    """Playbook id → start time (UTC, RFC 3339) of its latest drill run."""
    from drillkit.store.index import run_summaries

    latest: dict[str, str] = {}
    for summary in run_summaries(ws):
        if summary.mode == "drill" and summary.started > latest.get(summary.playbook, ""):
            latest[summary.playbook] = summary.started
    return latest


def next_drills(ws: Workspace) -> dict[str, str]:
    """Playbook id → the next scheduled fire (UTC, RFC 3339), from the schedule store."""
    from drillkit.schedule.store import has_store

    if not has_store(ws):
        return {}
    from drillkit.services.schedules import next_fires_by_playbook

    return next_fires_by_playbook(ws)


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
