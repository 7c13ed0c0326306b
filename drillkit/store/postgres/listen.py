"""Session state on a connection of its own (never pooled): LISTEN for appends from any machine,
with polling as the fallback, and the advisory locks of conductors."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg

from drillkit.model.errors import RecordError
from drillkit.store.postgres.connection import connect, first_line

CHANNEL = "drill_appended"


Key = tuple[int, str]  # an advisory lock: its class, and the run id whose hash is its object
LOOK_EVERY = 1.0  # seconds between looks at whether the session is still there


class Listener:
    """One LISTEN connection; `wait` returns when a run's head moved, or after `timeout` seconds.

    The advisory locks it holds live as long as its session: a session lost takes them along.
    Each new session takes them again; one that another session took meanwhile is lost to this
    process, and `holds` says so (the conductor then lets the run go)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        self._held: set[Key] = set()
        self._looked = 0.0  # when the session was last seen alive (time.monotonic)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            if self._conn is not None:
                self._conn.close()
            self._conn = connect(self.url, "drill-listen", autocommit=True)
            self._conn.execute(f"LISTEN {CHANNEL}".encode())
            self._held = {key for key in sorted(self._held) if _took(self._conn, key)}
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
                took = _took(self._connection(), key)
            except psycopg.Error as exc:
                raise RecordError(
                    f"cannot take the conductor lock of {run_id} in the team store: {first_line(exc)}"
                ) from None
            if not took:
                return None
            self._held.add(key)

        def release() -> None:
            """Let go of the lock; a lost session took it with it."""
            with self._lock, contextlib.suppress(psycopg.Error):
                if key in self._held and self._conn is not None and not self._conn.broken:
                    self._conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", key)
                self._held.discard(key)

        return release

    def holds(self, lock_class: int, run_id: str) -> bool:
        """Whether the lock is still this process's. The session is looked at (at most once a
        second): a lost one is replaced and its locks taken again where they are free. While
        the server cannot be reached the lock counts as held: nothing can be written meanwhile,
        and the next session settles it."""
        key = (lock_class, run_id)
        with self._lock, contextlib.suppress(psycopg.Error):
            self._look()
        return key in self._held

    def _look(self) -> None:
        conn = self._connection()
        if time.monotonic() - self._looked >= LOOK_EVERY:
            try:
                conn.execute("SELECT 1")
            except psycopg.Error:
                conn = self._connection()  # a lost session is found by using it: replaced here
            self._looked = time.monotonic()

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


def _took(conn: psycopg.Connection[Any], key: Key) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", key).fetchone()
    return bool(row and row[0])


def listener(url: str) -> Listener:
    """This process's listener for the store at `url`."""
    key = (os.getpid(), url)
    found = _LISTENING.get(key)
    if found is None:
        found = _LISTENING[key] = Listener(url)
    return found
