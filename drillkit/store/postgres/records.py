"""The `RecordStore` port over PostgreSQL (SPEC §8).

Each line is rendered exactly as the file store renders it (same masking, stamping and chain)
and stored as those bytes, so a record read back is byte-for-byte the JSON lines a file would
hold. An append is decided on the lines this process holds (read first, in one statement, when
it holds none) and written by one statement that locks the run's head row and writes only if
that head is still theirs (`drill.append_unmoved`, its own transaction: one round trip); when
the head has moved, it locks the head (`SELECT … FOR UPDATE`), reads the lines it has not seen,
decides again against them, inserts and commits. Either way appends to one run from any number
of hosts take turns, each decided against the state it is appended to. Reads are one statement
each, outside any transaction of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import psycopg

from drillkit.config.workspace import Workspace
from drillkit.model.clock import Clock, SystemClock, parse_utc
from drillkit.model.errors import NotFound, RecordError, RunExists
from drillkit.model.provenance import Provenance
from drillkit.model.redact import Redactor, redactor_for
from drillkit.store.files import (
    GENESIS,
    WATCH_POLL,
    Chain,
    check_run_id,
    is_started,
    render_lines,
    run_key,
    workspace_key,
)
from drillkit.store.port import Decide, Event, RecordStore
from drillkit.store.postgres.connection import Database, database, tried_again
from drillkit.store.postgres.listen import Listener, listener
from drillkit.store.reader import EVENT_KEY, NOTE_KEY, collector_paused, parsed_line

TAIL_LINES = 32  # a listing reads a run's first line and this many last ones
NEWLINE = b"\n"
T = TypeVar("T")
INSERT_BATCH = 1000  # lines a statement (a statement takes at most 65,535 parameters)
CONDUCT_LOCK = 0x64726C  # the advisory lock class of conductor locks (the run id's hash is the object)
NOTIFY_FALLBACK = 0.5  # seconds: a watch reads again this often even when no notification came


@dataclass
class _Known:
    """What this process has read of one run (its lines never change once recorded)."""

    events: list[Event] = field(default_factory=list)


class PostgresRecordStore(RecordStore):
    def __init__(self, ws: Workspace, url: str) -> None:
        self.ws = ws
        self.db: Database = database(url)
        self._known: dict[str, _Known] = {}

    # -- writing ---------------------------------------------------------------------------

    def create(
        self,
        run_id: str,
        first: Event,
        clock: Clock,
        rest: list[Event] | None = None,
        provenance: Provenance | None = None,
    ) -> list[Event]:
        check_run_id(run_id)
        drafts = [first, *(rest or [])]
        fields = (provenance or Provenance.here()).fields()
        req = str(fields["req"])
        chain = Chain(run_id, 0, GENESIS, None, float(first.get("speed", 1.0)), workspace_key(self.ws), fields)
        lines, events = render_lines(chain, self._redactor(), drafts, clock.now())
        with self.db.transaction() as cursor:
            self.db.check_fence(cursor)
            cursor.execute(
                "INSERT INTO drill.run (id, seq, head) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                (run_id, events[-1]["seq"], events[-1]["hash"]),
            )
            if cursor.rowcount == 0:
                raise RunExists(f"run {run_id} already exists")
            _insert(cursor, run_id, 1, lines, req)
        self._known[run_id] = _Known(list(events))
        return events

    def append(self, run_id: str, decide: Decide, clock: Clock, provenance: Provenance | None = None) -> list[Event]:
        """Tried again after a lost connection: every write carries its `req`, recorded with its
        lines in one transaction, so a retry finds what a lost COMMIT had written."""
        check_run_id(run_id)
        fields = (provenance or Provenance.here()).fields()
        return tried_again(lambda: self._append_once(run_id, decide, clock, fields), clock.sleep)

    def _append_once(self, run_id: str, decide: Decide, clock: Clock, fields: dict[str, Any]) -> list[Event]:
        with self.db.lock:  # what this process knows of the run grows only with what was committed
            known = self._known.setdefault(run_id, _Known())
            if not known.events:  # read first, unlocked: one statement
                with self.db.statement() as cursor:
                    self._caught_up(cursor, run_id)
            if known.events:
                done = self._append_unmoved(run_id, known.events, decide, clock, fields)
                if done is not None:
                    known.events.extend(done)
                    return done
            written, fresh = self._append_committed(run_id, decide, clock, fields)
            if fresh:
                self._known[run_id].events.extend(written)
        return written

    def _append_unmoved(
        self, run_id: str, events: list[Event], decide: Decide, clock: Clock, fields: dict[str, Any]
    ) -> list[Event] | None:
        """The command decided on the events this process holds, and written in one statement
        (`drill.append_unmoved`: one round trip) if the run's head is still the last of them;
        None when it is not, or the `req` is recorded, or a newer scheduler holds the lease:
        then it is done again under the head's lock (`_append_committed`)."""
        now = clock.now()  # read once the state decided on was known: no line in it is later
        drafts = decide(list(events), now)
        req = str(fields["req"])
        if not drafts:
            return [] if self._unmoved(run_id, events, req) else None
        lines, written = render_lines(self._chain(events, fields), self._redactor(), drafts, now)
        params = (run_id, len(events), events[-1]["hash"], req, [line[:-1] for line in lines], written[-1]["hash"])
        with self.db.statement(writes=True) as cursor:
            cursor.execute(_APPEND_UNMOVED, (*params, self.db.epoch))
            row = cursor.fetchone()
        return written if row is not None and row[0] else None

    def _unmoved(self, run_id: str, events: list[Event], req: str) -> bool:
        """Whether the run's head is still the last of `events` and `req` is not recorded: a
        decision taken on them to write nothing stands."""
        with self.db.statement() as cursor:
            cursor.execute(_UNMOVED, (run_id, len(events), events[-1]["hash"], run_id, req))
            row = cursor.fetchone()
        return row is not None and bool(row[0])

    def _append_committed(
        self, run_id: str, decide: Decide, clock: Clock, fields: dict[str, Any]
    ) -> tuple[list[Event], bool]:
        """The command's events, and whether this attempt wrote them (not when its `req` was
        already recorded: a retry after a lost COMMIT that had gone through)."""
        with self.db.transaction() as cursor:
            events = self._caught_up(cursor, run_id, lock=True)
            req = str(fields["req"])
            if (done := self._done(cursor, run_id, req, events)) is not None:
                return done, False
            now = clock.now()  # read once under the lock: the time decided on is the time stamped
            drafts = decide(list(events), now)
            if not drafts:
                return [], False
            self.db.check_fence(cursor)
            lines, written = render_lines(self._chain(events, fields), self._redactor(), drafts, now)
            _write(cursor, run_id, len(events) + 1, lines, req=req, head=written[-1]["hash"])
        return written, True

    def _done(self, cursor: psycopg.Cursor[Any], run_id: str, req: str, events: list[Event]) -> list[Event] | None:
        """The events a command with this `req` already wrote on the run, if it did."""
        cursor.execute("SELECT first_seq, last_seq FROM drill.command WHERE run = %s AND req = %s", (run_id, req))
        row = cursor.fetchone()
        return None if row is None else events[row[0] - 1 : row[1]]

    # -- reading ---------------------------------------------------------------------------

    def read(self, run_id: str, from_seq: int = 1) -> list[Event]:
        check_run_id(run_id)
        return tried_again(lambda: self._read(run_id, from_seq))

    def _read(self, run_id: str, from_seq: int) -> list[Event]:
        with self.db.statement() as cursor:
            events = self._caught_up(cursor, run_id)
            if not events:
                cursor.execute("SELECT 1 FROM drill.run WHERE id = %s", (run_id,))
                raise (
                    NotFound(f"no run {run_id!r} (see `drill runs`)")
                    if cursor.fetchone() is None
                    else _not_a_run(run_id)
                )
        return events[max(from_seq, 1) - 1 :]

    def _caught_up(self, cursor: psycopg.Cursor[Any], run_id: str, *, lock: bool = False) -> list[Event]:
        """The run's events, the lines not read before fetched now; checked to start a run.

        With `lock`, the run's head row is locked in the same round trip (`NotFound` when the
        run is not there). A lock that had to wait for another append sees that append's head
        but not its lines (the query's snapshot is older): they are read in a second query."""
        known = self._known.setdefault(run_id, _Known())
        cursor.execute(_LOCKED_NEW_LINES if lock else _NEW_LINES, (len(known.events), run_id))
        with collector_paused():
            rows = cursor.fetchall()
        if lock and not rows:
            raise NotFound(f"no run {run_id!r} (see `drill runs`)")
        self._take_in(run_id, known, [(seq, line) for _head, seq, line in rows if seq is not None])
        if lock and rows[0][0] > len(known.events):
            cursor.execute(_NEW_LINES_ONLY, (len(known.events), run_id))
            self._take_in(run_id, known, cursor.fetchall())
        return known.events

    def _take_in(self, run_id: str, known: _Known, rows: list[tuple[int, bytes]]) -> None:
        fresh: list[Event] = []
        with collector_paused():
            for seq, line in rows:
                if seq != len(known.events) + len(fresh) + 1:
                    raise RecordError(f"line {seq} of the record of {run_id} does not follow the line before it")
                fresh.append(parsed_line(bytes(line), f"line {seq} of the record of {run_id}", " (run `drill verify`)"))
        if fresh and not known.events and not is_started(fresh[0]):
            raise _not_a_run(run_id)
        known.events.extend(fresh)

    def lines(self, run_id: str) -> bytes:
        check_run_id(run_id)
        return tried_again(lambda: self._lines(run_id))

    def _lines(self, run_id: str) -> bytes:
        with self.db.statement() as cursor:
            cursor.execute(
                "SELECT string_agg(line || '\\x0a'::bytea, ''::bytea ORDER BY seq) FROM drill.line WHERE run = %s",
                (run_id,),
            )
            row = cursor.fetchone()
        if row is None or row[0] is None:
            raise NotFound(f"no run {run_id!r} (see `drill runs`)")
        return bytes(row[0])

    def runs(self) -> list[str]:
        return tried_again(self._runs)

    def _runs(self) -> list[str]:
        with self.db.statement() as cursor:
            cursor.execute("SELECT id FROM drill.run ORDER BY id")
            return [row[0] for row in cursor]

    def heads_and_tails(self, run_ids: list[str] | None = None) -> Iterator[tuple[str, bytes, bytes]]:
        for run_id, first, tail in tried_again(lambda: self._heads_and_tails(run_ids)):
            yield run_id, bytes(first) + NEWLINE, bytes(tail)

    def _heads_and_tails(self, run_ids: list[str] | None) -> list[tuple[str, bytes, bytes]]:
        with self.db.statement() as cursor:
            cursor.execute(
                """
                SELECT r.id, f.line,
                       (SELECT string_agg('\\x0a'::bytea || t.line, ''::bytea ORDER BY t.seq) || '\\x0a'::bytea
                          FROM drill.line t WHERE t.run = r.id AND t.seq > r.seq - %s)
                  FROM drill.run r JOIN drill.line f ON f.run = r.id AND f.seq = 1
                 WHERE %s::text[] IS NULL OR r.id = ANY(%s::text[])
                 ORDER BY r.id
                """,
                (TAIL_LINES, run_ids, run_ids),
            )
            return cursor.fetchall()

    def summary_lines(self, run_ids: list[str] | None = None) -> Iterator[tuple[str, bytes]]:
        """The notes are left out by the server, which sends each run's other lines as one value."""
        for run_id, data in tried_again(lambda: self._summary_lines(run_ids)):
            yield run_id, bytes(data or b"")

    def _summary_lines(self, run_ids: list[str] | None) -> list[tuple[str, bytes | None]]:
        with self.db.statement() as cursor:
            cursor.execute(_SUMMARY_LINES, (EVENT_KEY, len(NOTE_KEY), NOTE_KEY, run_ids, run_ids))
            with collector_paused():
                return cursor.fetchall()

    def watch(self, run_id: str, after_seq: int, timeout: float, clock: Clock) -> list[Event]:
        """On the wall clock, woken by the notification of each commit (LISTEN/NOTIFY) and
        reading again every `NOTIFY_FALLBACK` seconds anyway (notifications do not pass a
        transaction-mode pooler); on another clock, polled every `WATCH_POLL` seconds of it."""
        listening = isinstance(clock, SystemClock) and self._listener().start()
        deadline = clock.now() + timedelta(seconds=timeout)
        while not (new := self.read(run_id, after_seq + 1)):
            left = (deadline - clock.now()).total_seconds()
            if left <= 0:
                return []
            if listening:
                self._listener().wait(run_id, min(NOTIFY_FALLBACK, left))
            else:
                clock.sleep(min(WATCH_POLL, left))
        return new

    def _listener(self) -> Listener:
        return listener(self.db.url)

    def conduct(self, run_id: str) -> Callable[[], None] | None:
        """A session advisory lock on the listener's own connection (never pooled), so
        conductors on every machine take turns."""
        return self._listener().hold(CONDUCT_LOCK, run_id)

    def conducting(self, run_id: str) -> bool:
        return self._listener().holds(CONDUCT_LOCK, run_id)

    def writable(self, run_id: str) -> bool:
        with self.db.statement() as cursor:
            cursor.execute(
                "SELECT has_table_privilege('drill.line', 'INSERT') AND has_table_privilege('drill.run', 'UPDATE')"
            )
            row = cursor.fetchone()
        return bool(row and row[0])

    # -- helpers ---------------------------------------------------------------------------

    def _chain(self, events: list[Event], fields: dict[str, Any]) -> Chain:
        first, last = events[0], events[-1]
        keyed = first.get("chain") == "hmac-sha256"
        started: datetime = parse_utc(first["ts"])
        speed = float(first.get("speed") or 1.0)
        key = run_key(self.ws, first["run"], keyed)
        return Chain(first["run"], last["seq"], last["hash"], started, speed, key, fields)

    def _redactor(self) -> Redactor:
        return redactor_for(self.ws.config().redact)


_APPEND_UNMOVED = (
    "SELECT drill.append_unmoved(%s::text, %s::integer, %s::text, %s::text, %b::bytea[], %s::text, %s::bigint)"
)
_UNMOVED = (
    "SELECT EXISTS (SELECT 1 FROM drill.run WHERE id = %s AND seq = %s AND head = %s)"
    " AND NOT EXISTS (SELECT 1 FROM drill.command WHERE run = %s AND req = %s)"
)
_SUMMARY_LINES = """
SELECT r.id, string_agg(l.line || '\\x0a'::bytea, ''::bytea ORDER BY l.seq)
  FROM drill.run r
  LEFT JOIN drill.line l ON l.run = r.id
       AND (l.seq IN (1, r.seq) OR substring(l.line FROM position(%s IN l.line) FOR %s) <> %s)
 WHERE %s::text[] IS NULL OR r.id = ANY(%s::text[])
 GROUP BY r.id
 ORDER BY r.id
"""  # `reader.without_notes`: a line is a note when its first `"event":"` begins a note's key (a line
# without one has it at position 0, where fewer bytes than the key's are taken: never a note)
_NEW_LINES_ONLY = "SELECT seq, line FROM drill.line WHERE seq > %s AND run = %s ORDER BY seq"
_NEW_LINES = "SELECT NULL, seq, line FROM drill.line WHERE seq > %s AND run = %s ORDER BY seq"
_LOCKED_NEW_LINES = (
    "SELECT r.seq, l.seq, l.line FROM drill.run r LEFT JOIN drill.line l ON l.run = r.id AND l.seq > %s"
    " WHERE r.id = %s ORDER BY l.seq FOR UPDATE OF r"
)


def _write(
    cursor: psycopg.Cursor[Any], run_id: str, first_seq: int, lines: list[bytes], *, req: str | None, head: str
) -> None:
    """The lines, the command's `req` and the run's new head, in one statement (one round trip)
    when the lines fit in one."""
    if len(lines) > INSERT_BATCH:
        _insert(cursor, run_id, first_seq, lines, req)
        cursor.execute(
            "UPDATE drill.run SET seq = %s, head = %s WHERE id = %s", (first_seq + len(lines) - 1, head, run_id)
        )
        return
    last = first_seq + len(lines) - 1
    values = ", ".join(["(%s, %s, %s)"] * len(lines))
    params: list[Any] = [value for n, line in enumerate(lines, first_seq) for value in (run_id, n, line[:-1])]
    command = ""
    if req is not None:
        command = ", command AS (INSERT INTO drill.command (run, req, first_seq, last_seq) VALUES (%s, %s, %s, %s))"
        params += [run_id, req, first_seq, last]
    statement = (
        f"WITH added AS (INSERT INTO drill.line (run, seq, line) VALUES {values}){command}"
        " UPDATE drill.run SET seq = %s, head = %s WHERE id = %s"
    )
    cursor.execute(statement.encode(), [*params, last, head, run_id])


def _insert(cursor: psycopg.Cursor[Any], run_id: str, first_seq: int, lines: list[bytes], req: str | None) -> None:
    """The lines (each without its newline) from `first_seq` on, and the command's `req`."""
    insert_lines(cursor, run_id, first_seq, [line[:-1] for line in lines])
    if req is not None:
        cursor.execute(
            "INSERT INTO drill.command (run, req, first_seq, last_seq) VALUES (%s, %s, %s, %s)",
            (run_id, req, first_seq, first_seq + len(lines) - 1),
        )


def insert_lines(cursor: psycopg.Cursor[Any], run_id: str, first_seq: int, lines: list[bytes]) -> None:
    """One INSERT of every line (one round trip; no pipeline to leave half-sent when the
    connection drops)."""
    for start in range(0, len(lines), INSERT_BATCH):
        batch = lines[start : start + INSERT_BATCH]
        values = ", ".join(["(%s, %s, %s)"] * len(batch))
        params = [value for n, line in enumerate(batch, first_seq + start) for value in (run_id, n, line)]
        cursor.execute(f"INSERT INTO drill.line (run, seq, line) VALUES {values}".encode(), params)


def _not_a_run(run_id: str) -> RecordError:
    return RecordError(f"the record of {run_id} does not start with a whole run.started (see drill verify)")
