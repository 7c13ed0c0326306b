"""Waiting for appends from any machine: LISTEN on a connection of its own (session state: never
pooled, and waiting on it blocks other queries), with polling as the fallback."""

from __future__ import annotations

import os
import threading
from typing import Any

import psycopg

from drillkit.store.postgres.connection import CONNECT_TIMEOUT

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
            self._conn = psycopg.connect(
                self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT, application_name="drill-listen"
            )
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
