"""Where every caller obtains the schedule store: the one place that chooses its adapter.

SQLite (`schedule/sqlite.py`, `logs/schedule.db`) unless the workspace names a team store
(`[store] url` or `DRILL_STORE`): then PostgreSQL (`schedule/postgres.py`), and no caller changes.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from drillkit.config.workspace import Workspace
from drillkit.schedule.port import ScheduleStore, unknown_schedule
from drillkit.schedule.sqlite import SqliteScheduleStore


def _adapter(ws: Workspace) -> type[ScheduleStore]:
    if ws.store_url() is None:
        return SqliteScheduleStore
    from drillkit.schedule.postgres import PostgresScheduleStore  # psycopg only for a team store

    return PostgresScheduleStore


def open_store(ws: Workspace) -> ScheduleStore:
    """The store, to change it; created empty when there is none yet. Close it after (or use `with`)."""
    return _adapter(ws).open(ws)


def reading_store(ws: Workspace) -> AbstractContextManager[ScheduleStore]:
    """The store as it stands, for a reader who may not write: never created, and read as empty when missing."""
    return _adapter(ws).reading(ws)


def has_store(ws: Workspace) -> bool:
    return _adapter(ws).exists(ws)


def existing_store(ws: Workspace, schedule_id: str) -> ScheduleStore:
    """The store, to change `schedule_id`: NotFound, creating nothing, when there is no store yet."""
    if not has_store(ws):
        raise unknown_schedule(schedule_id, [])
    return open_store(ws)
