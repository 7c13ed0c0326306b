"""The active scheduler's lease in the team store (SPEC §8): an advisory lock held on a
connection of its own, plus the `drill.lease` row whose epoch grows at every takeover.

The lock alone does not fence: a scheduler whose network was cut may still run, and its
session may live on at the server (behind a proxy, say). So the holder renews the row every
`RENEW_EVERY` of the lease time, a standby that finds the row not renewed within the lease time
ends the holder's lock session and takes the lock, and every write the active scheduler makes
checks, under a share lock of the row, that the epoch is still its own (`Database.fence`); a
takeover ends the sessions of writes still holding that share lock.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

import psycopg

from drillkit.model.clock import SystemClock
from drillkit.model.errors import RecordError
from drillkit.store.postgres.connection import connect, database, expand, first_line, server_of

LEASE_LOCK = 0x6C65617365  # the advisory lock key of the scheduler lease
RENEW_EVERY = 1 / 3  # of the lease time
END_WAIT = 5.0  # seconds a takeover waits for the sessions it ends to be gone
END_POLL = 0.02  # seconds between looks
WALL = SystemClock()  # what the wait sleeps on


class Renewal(Enum):
    RENEWED = "renewed"
    REPLACED = "replaced"  # a newer epoch exists, or another holds the lock
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class Holder:
    epoch: int
    host: str | None
    pid: int | None
    since: datetime | None
    renewed: datetime | None
    active: bool  # its lock session still holds the lease lock (the row outlives a stopped scheduler)


# The lease row, and whether the session it names holds the lease's advisory lock (a bigint key
# shows in pg_locks as its high and low 32 bits).
_HOLDER = """
SELECT epoch, host, pid, since, renewed,
       EXISTS (SELECT 1 FROM pg_locks k
                WHERE k.locktype = 'advisory' AND k.granted AND k.pid = l.backend
                  AND k.classid::bigint = %s AND k.objid::bigint = %s AND k.objsubid = 1)
  FROM drill.lease l
"""


def holder(url: str) -> Holder | None:
    """The lease row as it stands (None before any scheduler held it, or without the table)."""
    with database(url).transaction() as cursor:
        cursor.execute("SELECT to_regclass('drill.lease') IS NOT NULL")
        row = cursor.fetchone()
        if not row or not row[0]:
            return None
        cursor.execute(_HOLDER, (LEASE_LOCK >> 32, LEASE_LOCK & 0xFFFFFFFF))
        found = cursor.fetchone()
    return Holder(*found) if found and found[0] else None


class Lease:
    """One scheduler's claim to be the active one."""

    def __init__(self, url: str, lease_seconds: float) -> None:
        self.url = expand(url)
        self.server = server_of(self.url)
        self.seconds = lease_seconds
        self.epoch: int | None = None
        self._conn: psycopg.Connection[Any] | None = None

    def try_take(self) -> bool:
        """Become the active scheduler if the lock is free, or the holder stopped renewing the
        lease (its lock session is ended first); True when this one is active now."""
        try:
            conn = self._connection()
            if not self._locked(conn) and not (self._end_expired(conn) and self._locked(conn)):
                return False
            self.epoch = self._raise_epoch(conn)
        except psycopg.Error as exc:
            self._drop()
            raise RecordError(f"the team store at {self.server}: scheduler lease: {first_line(exc)}") from None
        database(self.url).fence(self.epoch)
        return True

    def renew(self) -> Renewal:
        """Renew the lease, a write carrying this scheduler's epoch: refused (REPLACED) once a
        newer epoch exists. A connection lost and opened again takes the lock back first; if
        another holds it now, this one was replaced. UNREACHABLE when the server did not answer."""
        try:
            fresh = self._conn is None or self._conn.closed or self._conn.broken
            conn = self._connection()
            row = conn.execute(
                "UPDATE drill.lease SET renewed = now(), backend = pg_backend_pid() WHERE epoch = %s RETURNING epoch",
                (self.epoch,),
            ).fetchone()
            if row is None or (fresh and not self._locked(conn)):
                return Renewal.REPLACED
        except psycopg.Error:
            self._drop()
            return Renewal.UNREACHABLE
        return Renewal.RENEWED

    def holder(self) -> Holder | None:
        return holder(self.url)

    def release(self) -> None:
        self._drop()

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._drop()
            self._conn = connect(self.url, "drill-lease", autocommit=True)
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    def _locked(self, conn: psycopg.Connection[Any]) -> bool:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LEASE_LOCK,)).fetchone()
        return bool(row and row[0])

    def _end_expired(self, conn: psycopg.Connection[Any]) -> bool:
        """End the holder's lock session when it has not renewed within the lease time."""
        return _end_sessions(
            conn,
            "SELECT backend FROM drill.lease WHERE backend IS NOT NULL AND renewed < now() - make_interval(secs => %s)",
            (self.seconds,),
        )

    def _raise_epoch(self, conn: psycopg.Connection[Any]) -> int:
        """The next epoch, ours. The replaced scheduler's writes still under way hold the lease
        row shared (`Database.check_fence`); one whose network was cut half-way would hold it,
        and this takeover, until its session times out: their sessions are ended first."""
        _end_sessions(
            conn,
            "SELECT pid FROM pg_locks WHERE locktype = 'relation' AND relation = 'drill.lease'::regclass"
            " AND mode = 'RowShareLock' AND pid <> pg_backend_pid()",
        )
        row = conn.execute(
            "UPDATE drill.lease SET epoch = epoch + 1, host = %s, pid = %s, backend = pg_backend_pid(),"
            " since = now(), renewed = now() RETURNING epoch",
            (socket.gethostname(), os.getpid()),
        ).fetchone()
        assert row is not None  # the one row is made by the migration
        return int(row[0])


def _end_sessions(conn: psycopg.Connection[Any], sessions: str, params: tuple[Any, ...] = ()) -> bool:
    """End the server sessions whose pids `sessions` selects and wait, up to `END_WAIT`, until
    they are gone (and their locks with them); True when there were some. `pg_terminate_backend`
    only sends the signal: its form that waits is PostgreSQL 14's, and 13 is supported."""
    ended = [pid for (pid,) in conn.execute(sessions, params).fetchall() if _terminated(conn, pid)]
    if not ended:
        return False
    for _ in range(round(END_WAIT / END_POLL)):
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (ended,)).fetchone()
        if not row or not row[0]:
            break
        WALL.sleep(END_POLL)
    return True


def _terminated(conn: psycopg.Connection[Any], pid: int) -> bool:
    row = conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()
    return bool(row and row[0])
