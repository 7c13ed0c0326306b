"""The one place a `RecordStore`, an `ActionLedger` or a `SealStore` is obtained: callers never name an adapter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drillkit.config.workspace import Workspace
from drillkit.model.clock import Clock, default_clock
from drillkit.store.files import FileRecordStore
from drillkit.store.ledger import FileLedger
from drillkit.store.port import ActionLedger, RecordStore

if TYPE_CHECKING:
    from drillkit.store.sealport import SealStore

SEAL_EVERY = 60.0  # seconds: how often a conductor or the scheduler seals a run whose events keep arriving


def open_store(ws: Workspace, *, conducting: bool = False, clock: Clock | None = None) -> RecordStore:
    """The workspace's run records: the team store when `DRILL_STORE` or `[store] url` names
    one (SPEC §8), else files under `logs/runs`. Hold the store for as long as the process works
    with them (it keeps what it has read). Where the seal key is, writes are sealed (SPEC §9): at
    a run's end, and at least every minute while `conducting` (a key that cannot seal is warned
    about at the first seal)."""
    url = ws.store_url()
    store = team_store(ws, url) if url is not None else FileRecordStore(ws)
    if not ws.seal_key().exists():
        return store
    from drillkit.store.sealing import SealingStore

    return SealingStore(store, open_seals(ws), ws, clock or default_clock(), SEAL_EVERY if conducting else None)


def open_seals(ws: Workspace) -> SealStore:
    """Where the workspace's seals and ledger live: the team store's tables when its records
    are there, else files under `logs/seals`."""
    url = ws.store_url()
    if url is not None:
        from drillkit.store.postgres.seals import PostgresSealStore

        return PostgresSealStore(ws, url)
    from drillkit.store.sealfiles import FileSealStore

    return FileSealStore(ws)


def team_store(ws: Workspace, url: str) -> RecordStore:
    """The team store at `url` (psycopg is imported only here, on demand)."""
    from drillkit.store.postgres.records import PostgresRecordStore

    return PostgresRecordStore(ws, url)


def file_store(ws: Workspace) -> FileRecordStore:
    """The records in the workspace's files, whatever store the workspace names (`store push`)."""
    return FileRecordStore(ws)


def open_ledger(ws: Workspace) -> ActionLedger:
    """The workspace's corrective actions (SPEC §10): in the team store when one is named, as the
    run records are, else in `logs/actions.jsonl`."""
    url = ws.store_url()
    if url is None:
        return FileLedger(ws)
    from drillkit.store.postgres.actions import PostgresActionLedger

    return PostgresActionLedger(ws, url)
