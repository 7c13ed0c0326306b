"""The one place a `RecordStore` is obtained: callers never name an adapter."""

from __future__ import annotations

from drillkit.config.workspace import Workspace
from drillkit.store.files import FileRecordStore
from drillkit.store.port import RecordStore


def open_store(ws: Workspace) -> RecordStore:
    """The workspace's run records: the team store when `DRILL_STORE` or `[store] url` names
    one (SPEC §8), else files under `logs/runs`. Hold the store for as long as the process works
    with them (it keeps what it has read)."""
    url = ws.store_url()
    return FileRecordStore(ws) if url is None else team_store(ws, url)


def team_store(ws: Workspace, url: str) -> RecordStore:
    """The team store at `url` (psycopg is imported only here, on demand)."""
    from drillkit.store.postgres.records import PostgresRecordStore

    return PostgresRecordStore(ws, url)


def file_store(ws: Workspace) -> FileRecordStore:
    """The records in the workspace's files, whatever store the workspace names (`store push`)."""
    return FileRecordStore(ws)
