"""The one place a `RecordStore` is obtained: callers never name an adapter."""

from __future__ import annotations

from drillkit.config.workspace import Workspace
from drillkit.store.files import FileRecordStore
from drillkit.store.port import RecordStore


def open_store(ws: Workspace) -> RecordStore:
    """The workspace's run records; hold the store for as long as the process works with them
    (it keeps what it has read)."""
    return FileRecordStore(ws)
