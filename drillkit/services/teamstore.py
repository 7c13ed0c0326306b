"""`drill store init|status|push|pull`: the team store (SPEC §8) set up, shown, filled from the
workspace's files, and read back into files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from drillkit.config.workspace import Workspace
from drillkit.model.errors import RecordError, UsageError

if TYPE_CHECKING:
    from drillkit.store.port import RecordStore
    from drillkit.store.postgres.admin import StoreStatus


def team_url(ws: Workspace) -> str:
    url = ws.store_url()
    if url is None:
        raise UsageError("no team store is named: set [store] url in drill.toml or DRILL_STORE (see docs/team.md)")
    return url


def init_store(ws: Workspace) -> str:
    """Create or upgrade the schema; what was done, in one line."""
    from drillkit.store.postgres.admin import init

    server, before, applied = init(team_url(ws))
    if not applied:
        return f"the team store at {server} is up to date (schema version {before})"
    names = ", ".join(f"{m.version:04d} {m.name}" for m in applied)
    return f"the team store at {server}: schema version {before} -> {applied[-1].version} ({names})"


def store_status(ws: Workspace) -> StoreStatus:
    from drillkit.store.postgres.admin import status

    return status(team_url(ws))


@dataclass(frozen=True)
class Pushed:
    run: str
    added: int  # lines added (0: the record was there already)


def push_runs(ws: Workspace, runs: list[str], every: bool) -> list[Pushed]:
    """Copy the named local records (or all) into the team store, each verified first: a
    tampered record, or one the store holds differently, is refused before anything is copied."""
    from drillkit.store.files import check_run_id, complete_lines, workspace_key
    from drillkit.store.postgres.admin import push
    from drillkit.store.stores import file_store

    url, files = team_url(ws), file_store(ws)
    ids = _chosen(ws, runs, every, files)
    verdicts, unreadable = files.verify([check_run_id(run) for run in ids], workspace_key(ws))
    if unreadable:
        raise RecordError(f"{unreadable[0]}; nothing was pushed")
    for verdict in verdicts:
        if verdict.verdict == "tampered":
            raise RecordError(f"{verdict.run}: tampered at line {verdict.line} ({verdict.problem}); nothing was pushed")
    records = [(run_id, complete_lines(files.lines(run_id))[0]) for run_id in ids]  # a torn tail is not a line
    return [Pushed(run_id, added) for run_id, added in zip(ids, push(url, records), strict=True)]


def push_actions(ws: Workspace) -> int | None:
    """Copy `logs/actions.jsonl` into the team store, its chain checked first (as `drill verify`
    checks it); the lines added, or None when the workspace has no ledger. A ledger chained
    without the workspace's key is pushed as an unkeyed run is: its chain goes on in the store."""
    from drillkit.store.files import complete_lines, workspace_key
    from drillkit.store.ledger import FileLedger
    from drillkit.store.postgres.admin import push_actions as push
    from drillkit.store.verify import verify_ledger_lines

    data = FileLedger(ws).lines()  # read once: what is checked is what is pushed
    if not data:
        return None
    verdict = verify_ledger_lines(data, workspace_key(ws))
    if verdict.verdict == "tampered":
        raise RecordError(
            f"logs/actions.jsonl: tampered at line {verdict.line}: {verdict.problem}; nothing of the ledger was pushed"
        )
    return push(team_url(ws), complete_lines(data)[0])  # a torn tail is not a line


def pull_records(ws: Workspace, runs: list[str], every: bool) -> list[tuple[str, bytes]]:
    """The named records (or all) from the team store, as `<run>.jsonl` names and their bytes,
    every one read before any is written."""
    from drillkit.store.files import check_run_id
    from drillkit.store.stores import team_store

    store = team_store(ws, team_url(ws))
    ids = [check_run_id(run) for run in _chosen(ws, runs, every, store)]
    return [(f"{run_id}.jsonl", store.lines(run_id)) for run_id in ids]


def _chosen(ws: Workspace, runs: list[str], every: bool, source: RecordStore) -> list[str]:
    """The runs named (by any name SPEC §5 allows, among the records of `source`), or all of them."""
    from drillkit.services.runnames import resolve_run

    if every == bool(runs):
        raise UsageError("name the runs, or give --all (not both)")
    return source.runs() if every else [resolve_run(ws, run, source) for run in runs]
