"""The `ActionLedger` port over PostgreSQL (SPEC §8, §10): the corrective actions' ledger in the
team store.

Each line is rendered exactly as the file ledger renders it (`render_ledger_lines`: same masking,
stamping, and the chain its first line tells, `ledger_key`) and stored as those bytes in
`drill.action_line`. An append locks the one `drill.action_head` row, reads the ledger, decides
against it, inserts and commits: appends from any number of hosts take turns. Every write carries
a `req`, stored beside its lines, so a write whose COMMIT was lost is found, not repeated, when it
is tried again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import psycopg

from drillkit.config.workspace import Workspace
from drillkit.model.clock import Clock
from drillkit.model.errors import RecordError
from drillkit.model.provenance import new_req
from drillkit.store.ledger import ledger_key, render_ledger_lines
from drillkit.store.port import ActionLedger, Decide, Event
from drillkit.store.postgres.connection import Database, database, tried_again
from drillkit.store.reader import parsed_line

T = TypeVar("T")


class PostgresActionLedger(ActionLedger):
    def __init__(self, ws: Workspace, url: str) -> None:
        self.ws = ws
        self.db: Database = database(url)

    def read(self) -> list[Event]:
        return tried_again(lambda: self._read(_events))

    def lines(self) -> bytes:
        """The stored lines in `seq` order, each with its newline back."""
        return tried_again(lambda: self._read(_lines))

    def _read(self, query: Callable[[psycopg.Cursor[Any]], T]) -> T:
        with self.db.transaction() as cursor:
            return query(cursor)

    def exists(self) -> bool:
        with self.db.transaction() as cursor:
            cursor.execute("SELECT EXISTS (SELECT 1 FROM drill.action_line)")
            row = cursor.fetchone()
        return bool(row and row[0])

    def append(self, decide: Decide, clock: Clock) -> list[Event]:
        """Tried again after a lost connection, with the same `req`: a retry finds what a lost
        COMMIT had written."""
        req = new_req()
        return tried_again(lambda: self._append_once(decide, clock, req), clock.sleep)

    def _append_once(self, decide: Decide, clock: Clock, req: str) -> list[Event]:
        with self.db.transaction() as cursor:
            cursor.execute("SELECT seq FROM drill.action_head FOR UPDATE")  # appends take turns here
            events = _events(cursor)
            cursor.execute("SELECT min(seq), max(seq) FROM drill.action_line WHERE req = %s", (req,))
            done = cursor.fetchone()
            if done is not None and done[0] is not None:
                return events[done[0] - 1 : done[1]]
            now = clock.now()  # read under the lock: the time decided on is the time stamped
            drafts = decide(list(events), now)
            if not drafts:
                return []
            self.db.check_fence(cursor)  # a scheduler's overdue claims carry its lease's epoch
            key = ledger_key(self.ws, _first_line(cursor))
            lines, written = render_ledger_lines(self.ws, drafts, now, events[-1] if events else None, key)
            _insert(cursor, len(events) + 1, lines, req)
            last = written[-1]
            cursor.execute("UPDATE drill.action_head SET seq = %s, head = %s", (last["seq"], last["hash"]))
        return written


def _lines(cursor: psycopg.Cursor[Any]) -> bytes:
    cursor.execute("SELECT line FROM drill.action_line ORDER BY seq")
    return b"".join(bytes(row[0]) + b"\n" for row in cursor.fetchall())


def _first_line(cursor: psycopg.Cursor[Any]) -> bytes | None:
    """The ledger's first line, which tells its chain; None before the first append."""
    cursor.execute("SELECT line FROM drill.action_line WHERE seq = 1")
    row = cursor.fetchone()
    return bytes(row[0]) if row else None


def _events(cursor: psycopg.Cursor[Any]) -> list[Event]:
    cursor.execute("SELECT seq, line FROM drill.action_line ORDER BY seq")
    found: list[Event] = []
    for seq, line in cursor.fetchall():
        event = parsed_line(bytes(line), f"line {seq} of the actions ledger")
        if seq != len(found) + 1:
            raise RecordError(f"line {seq} of the actions ledger does not follow the line before it")
        found.append(event)
    return found


def _insert(cursor: psycopg.Cursor[Any], first_seq: int, lines: list[bytes], req: str) -> None:
    """The lines (each without its newline) from `first_seq` on, in one statement."""
    values = ", ".join(["(%s, %s, %s)"] * len(lines))
    params = [value for seq, line in enumerate(lines, first_seq) for value in (seq, line[:-1], req)]
    cursor.execute(f"INSERT INTO drill.action_line (seq, line, req) VALUES {values}".encode(), params)
