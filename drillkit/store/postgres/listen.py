"""Session state on a connection of its own (never pooled): LISTEN for appends from any machine,
with polling as the fallback, and the advisory locks of conductors."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from typing import Any

import psycopg

from drillkit.model.errors import RecordError
from drillkit.store.postgres.connection import connect, first_line

CHANNEL = "drill_appended"


class Listener:
    """One LISTEN connection; `wait` returns when a run's head moved, or after `timeout` seconds."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            if self._conn is not None:
                self._conn.close()
            self._conn = connect(self.url, "drill-listen", autocommit=True)
            self._conn.execute(f"LISTEN {CHANNEL}".encode())
        return self._conn

    def start(self) -> bool:
        """Listen from now on (before the caller reads, so nothing committed after is missed);
        False when notifications cannot be had (the caller polls)."""
        with self._lock:
            try:
                self._connection()
            except psycopg.Error:
                return False
            return True

    def hold(self, lock_class: int, run_id: str) -> Callable[[], None] | None:
        """An advisory lock on (class, the run id's hash) for as long as this session lasts, or
        None when another session holds it; the function lets it go."""
        key = (lock_class, run_id)
        with self._lock:
            try:
                row = self._connection().execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", key).fetchone()
            except psycopg.Error as exc:
                raise RecordError(
                    f"cannot take the conductor lock of {run_id} in the team store: {first_line(exc)}"
                ) from None
        if not row or not row[0]:
            return None

        def release() -> None:
            """Let go of the lock; a lost session took it with it."""
            with self._lock, contextlib.suppress(psycopg.Error):
                if self._conn is not None and not self._conn.broken:
                    self._conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", key)

        return release

    def wait(self, run_id: str, timeout: float) -> bool:
        """Whether `run_id` was appended to within `timeout` seconds; False also when the
        connection failed (the caller reads again either way)."""
        with self._lock:
            try:
                for note in self._connection().notifies(timeout=timeout):
                    if note.payload.split(" ", 1)[0] == run_id:
                        return True
            except psycopg.Error:
                return False
            return False


_LISTENING: dict[tuple[int, str], Listener] = {}


def listener(url: str) -> Listener:
    """This process's listener for the store at `url`."""
    key = (os.getpid(), url)
    found = _LISTENING.get(key)
    if found is None:
        found = _LISTENING[key] = Listener(url)
    return found
