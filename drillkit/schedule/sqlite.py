"""The SQLite adapter of the schedule store: `logs/schedule.db`, plain rows, never pickles.

The database runs in WAL mode with `synchronous=FULL`, so a fire claimed here survives a
crash the moment the claim returns; the ledger's primary key (schedule, nominal) makes the
insert the claim. The `meta.changed` row is the port's change counter. A reader writes nothing,
not even the `-wal` and `-shm` SQLite makes for a connection to a WAL database (`_connect_to_read`).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import BinaryIO

from drillkit.config.workspace import FILE_MODE, Workspace
from drillkit.model.clock import format_utc, parse_utc
from drillkit.model.errors import RecordError, UsageError
from drillkit.schedule.port import (
    DAMAGED,
    Fire,
    Schedule,
    ScheduleStore,
    StoredSchedules,
    UnreadableSchedule,
    read_schedule,
    unknown_schedule,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schedules (
    id TEXT PRIMARY KEY,
    scenario TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('cron', 'at', 'every')),
    expr TEXT NOT NULL,
    tz TEXT NOT NULL,
    jitter INTEGER NOT NULL DEFAULT 0,
    grace INTEGER NOT NULL DEFAULT 3600,
    anchor TEXT NOT NULL,
    paused INTEGER NOT NULL DEFAULT 0,
    handled_until TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS fires (
    schedule TEXT NOT NULL,
    nominal TEXT NOT NULL,
    status TEXT NOT NULL,
    start_at TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    run TEXT,
    started_at TEXT,
    missed_from TEXT,
    missed_count INTEGER,
    detail TEXT,
    PRIMARY KEY (schedule, nominal)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('changed', 0);
"""
# SQLite's SHARED lock on a database file: a read lock on these bytes (os_unix.c, SHARED_FIRST and SHARED_SIZE)
_SHARED_FIRST = 0x40000000 + 2
_SHARED_SIZE = 510


class SqliteScheduleStore(ScheduleStore):
    """The tables of one workspace in `logs/schedule.db`."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._db.row_factory = sqlite3.Row

    @classmethod
    def open(cls, ws: Workspace) -> SqliteScheduleStore:
        ws.ensure_dir(ws.logs)
        store = cls(_connect_to_write(ws.logs / "schedule.db"))
        store._create_tables()
        return store

    @classmethod
    @contextmanager
    def reading(cls, ws: Workspace) -> Iterator[SqliteScheduleStore]:
        """The store as it stands, for a reader who may not be allowed to write: read in one snapshot,
        writing nothing and never created; a workspace without one, or with one a writer has not
        made its tables in yet, reads as an empty store."""
        db = _connect_to_read(ws.logs / "schedule.db")
        store = cls(db) if db is not None else cls._empty()
        try:
            yield store
        finally:
            store.close()

    @classmethod
    def _empty(cls) -> SqliteScheduleStore:
        store = cls(sqlite3.connect(":memory:", isolation_level=None))
        store._create_tables()
        return store

    def _create_tables(self) -> None:
        with self._write():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)

    @classmethod
    def exists(cls, ws: Workspace) -> bool:
        """Anything at `logs/schedule.db` counts: a file that is not a store is refused when opened."""
        return (ws.logs / "schedule.db").exists()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One immediate transaction; database failures become RecordError."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise RecordError(f"logs/schedule.db: {exc}") from None

    def _bump(self) -> None:
        self._db.execute("UPDATE meta SET value = value + 1 WHERE key = 'changed'")

    def changed(self) -> int:
        """A counter that goes up with every add, remove, pause and resume."""
        return int(self._db.execute("SELECT value FROM meta WHERE key = 'changed'").fetchone()[0])

    def add(self, schedule: Schedule) -> None:
        with self._write():
            if self._db.execute("SELECT 1 FROM schedules WHERE id = ?", (schedule.id,)).fetchone():
                raise UsageError(f"schedule {schedule.id!r} exists already; choose another --id or remove it first")
            self._db.execute(
                "INSERT INTO schedules (id, scenario, kind, expr, tz, jitter, grace, anchor, paused,"
                " handled_until, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    schedule.id,
                    schedule.scenario,
                    schedule.kind,
                    schedule.expr,
                    schedule.tz,
                    schedule.jitter,
                    schedule.grace,
                    format_utc(schedule.anchor),
                    int(schedule.paused),
                    format_utc(schedule.handled_until),
                    format_utc(schedule.created),
                ),
            )
            self._bump()

    def stored(self) -> StoredSchedules:
        rows = self._db.execute("SELECT * FROM schedules ORDER BY id")
        return StoredSchedules.sorted_out([read_schedule(row["id"], partial(_schedule, row)) for row in rows])

    def get(self, schedule_id: str) -> Schedule:
        read = read_schedule(schedule_id, partial(_schedule, self._row(schedule_id)))
        if isinstance(read, UnreadableSchedule):
            raise UsageError(str(read))
        return read

    def _row(self, schedule_id: str) -> sqlite3.Row:
        """The stored row of a schedule, readable or not; NotFound naming the ones there are."""
        row: sqlite3.Row | None = self._db.execute("SELECT * FROM schedules WHERE id = ?", (schedule_id,)).fetchone()
        if row is None:
            raise unknown_schedule(schedule_id, self.stored().ids)
        return row

    def remove(self, schedule_id: str, now: datetime) -> None:
        """Delete a schedule; its ledger stays, and a jittered start still waiting is cancelled."""
        self._row(schedule_id)
        with self._write():
            self._db.execute("DELETE FROM schedules WHERE id = ?", (schedule_id,))
            self._db.execute(
                "UPDATE fires SET status = 'cancelled', detail = 'schedule removed', decided_at = ?"
                " WHERE schedule = ? AND status = 'claimed'",
                (format_utc(now), schedule_id),
            )
            self._bump()

    def set_paused(self, schedule_id: str, paused: bool, now: datetime) -> None:
        """Pause or resume. Resuming starts afresh from now: fires due while paused are not owed."""
        self._row(schedule_id)
        with self._write():
            if paused:
                self._db.execute("UPDATE schedules SET paused = 1 WHERE id = ?", (schedule_id,))
            else:
                self._db.execute(
                    "UPDATE schedules SET paused = 0, handled_until = ? WHERE id = ? AND paused = 1",
                    (format_utc(now), schedule_id),
                )
            self._bump()

    def decide(self, fires: list[Fire], schedule_id: str, handled_until: datetime) -> list[bool]:
        """Insert ledger rows (each one a claim) and move the schedule's cursor, in one transaction.

        Returns, per row, whether this call inserted it: False means another process decided
        about that fire first, and the caller must leave it alone.
        """
        with self._write():
            won = [self._insert(fire) for fire in fires]
            self._db.execute(
                "UPDATE schedules SET handled_until = ? WHERE id = ? AND handled_until < ?",
                (format_utc(handled_until), schedule_id, format_utc(handled_until)),
            )
        return won

    def _insert(self, fire: Fire) -> bool:
        cursor = self._db.execute(
            "INSERT INTO fires (schedule, nominal, status, start_at, decided_at, run, started_at,"
            " missed_from, missed_count, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (schedule, nominal) DO NOTHING",
            (
                fire.schedule,
                format_utc(fire.nominal),
                fire.status,
                format_utc(fire.start_at),
                format_utc(fire.decided_at),
                fire.run,
                _utc_or_none(fire.started_at),
                _utc_or_none(fire.missed_from),
                fire.missed_count,
                fire.detail,
            ),
        )
        return cursor.rowcount == 1

    def settle(
        self, fire: Fire, status: str, *, now: datetime, run: str | None = None, detail: str | None = None
    ) -> None:
        """Move a `claimed` fire on to `started`, `missed`, `skipped` or `failed`."""
        with self._write():
            self._db.execute(
                "UPDATE fires SET status = ?, run = ?, started_at = ?, detail = ?, decided_at = ?"
                " WHERE schedule = ? AND nominal = ? AND status = 'claimed'",
                (
                    status,
                    run,
                    format_utc(now) if run else None,
                    detail,
                    format_utc(now),
                    fire.schedule,
                    format_utc(fire.nominal),
                ),
            )

    def waiting(self) -> list[Fire]:
        """Fires claimed but not started yet (jittered, or interrupted by a crash), earliest first."""
        rows = self._db.execute("SELECT * FROM fires WHERE status = 'claimed' ORDER BY start_at")
        return [_fire(row) for row in rows]

    def fires(self, schedule_id: str | None = None) -> list[Fire]:
        """The ledger, oldest nominal time first."""
        if schedule_id is None:
            rows = self._db.execute("SELECT * FROM fires ORDER BY nominal, schedule")
        else:
            rows = self._db.execute("SELECT * FROM fires WHERE schedule = ? ORDER BY nominal", (schedule_id,))
        return [_fire(row) for row in rows]

    def last_started(self, schedule_id: str) -> Fire | None:
        row = self._db.execute(
            "SELECT * FROM fires WHERE schedule = ? AND status = 'started' ORDER BY nominal DESC LIMIT 1",
            (schedule_id,),
        ).fetchone()
        return _fire(row) if row is not None else None

    def last_fires(self) -> dict[str, Fire]:
        """Schedule id → its ledger row with the latest nominal time."""
        rows = self._db.execute(
            "SELECT * FROM fires AS f WHERE nominal = (SELECT MAX(nominal) FROM fires WHERE schedule = f.schedule)"
        )
        return {row["schedule"]: _fire(row) for row in rows}

    def linked_runs(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT run FROM fires WHERE run IS NOT NULL")}


def _connect_to_write(path: Path) -> sqlite3.Connection:
    try:
        _create_private(path)
        # One thread at a time uses a store, but not always the one that opened it (a serving thread).
        db = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA busy_timeout = 30000")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
    except (OSError, sqlite3.Error) as exc:
        raise RecordError(f"logs/schedule.db: {_reason(exc)}; {_what_to_do(exc)}") from None
    return db


def _reason(exc: OSError | sqlite3.Error) -> str:
    return (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)


def _damaged(exc: OSError | sqlite3.Error) -> bool:
    """SQLite opened the file but cannot read it as a database: damaged (or not a store at all),
    which no permission fixes."""
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError)


def _what_to_do(exc: OSError | sqlite3.Error) -> str:
    """A file SQLite cannot open or write wants a writable folder; a damaged one, another file."""
    return DAMAGED if _damaged(exc) else "the schedule store needs a logs/ folder you can write"


def _connect_to_read(path: Path) -> sqlite3.Connection | None:
    """A connection that writes nothing, in one read transaction; None when there is no file, or
    it has no tables yet.

    SQLite opening a WAL database, even read-only, creates the `-wal` and `-shm` it lacks (and fails
    in a folder it may not write): so a store no writer holds is copied into memory, and only one a
    writer holds (its `-wal` and `-shm` beside it) is opened, read-only, to read through them."""
    try:
        copy = _copied_unless_written(path)
        return _with_tables(copy if copy is not None else _read_only(path))
    except FileNotFoundError:
        return None
    except (OSError, sqlite3.Error) as exc:
        raise RecordError(f"logs/schedule.db: {_reason(exc)}" + (f"; {DAMAGED}" if _damaged(exc) else "")) from None


def _copied_unless_written(path: Path) -> sqlite3.Connection | None:
    """The file copied whole into memory; None when a writer has it open (a `-wal` beside it).

    The copy is read holding SQLite's SHARED lock, under which no writer can checkpoint into the
    file or delete its `-wal` (both need SQLite's EXCLUSIVE lock): a writer that comes meanwhile
    leaves its `-wal` there, and the copy is dropped. The lock is a POSIX lock, which closing any
    descriptor of the file in this process lets go; so it is taken only when no `-wal` says a
    connection of this process (or any) may hold the file."""
    wal = Path(f"{path}-wal")
    if wal.exists():
        return None
    with path.open("rb") as file:
        fcntl.lockf(file, fcntl.LOCK_SH, _SHARED_SIZE, _SHARED_FIRST)  # waits out a writer's last checkpoint
        copy = _copied(file)
        if not wal.exists():
            return copy
    copy.close()
    return None


def _read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection, reading through the `-wal` and `-shm` of the writer that holds the file."""
    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=30, isolation_level=None)


def _copied(file: BinaryIO) -> sqlite3.Connection:
    """The file's bytes as an in-memory database. Its header is set to the rollback journal (bytes 18
    and 19, the file format versions), as a database in memory has no `-wal` to read through."""
    data = bytearray(file.read())
    db = sqlite3.connect(":memory:", isolation_level=None)
    if data:  # an empty file is an empty database (SQLite cannot deserialize no bytes)
        data[18:20] = b"\x01\x01"
        db.deserialize(bytes(data))
    return db


def _with_tables(db: sqlite3.Connection) -> sqlite3.Connection | None:
    """The connection, in a read transaction that has read the schema (so a file it cannot read
    fails here, not mid-command, and every later read sees the same snapshot); None for a file
    without tables (the tables are made in one transaction: all or none)."""
    try:
        db.execute("PRAGMA busy_timeout = 30000")
        db.execute("BEGIN")
        [(tables,)] = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchall()
    except sqlite3.Error:
        db.close()
        raise
    if tables:
        return db
    db.close()
    return None


def _create_private(path: Path) -> None:
    """Create the database file 0640 whatever the umask (SQLite gives its -wal/-shm the same mode)."""
    if path.exists():
        return
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR, FILE_MODE)
    try:
        os.fchmod(descriptor, FILE_MODE)
    finally:
        os.close(descriptor)


def _utc_or_none(when: datetime | None) -> str | None:
    return format_utc(when) if when is not None else None


def _time_or_none(text: str | None) -> datetime | None:
    return parse_utc(text) if text else None


def _schedule(row: sqlite3.Row) -> Schedule:
    """A row as a schedule; UsageError for a time that is not one (SQLite keeps whatever text is put there)."""
    return Schedule(
        id=row["id"],
        scenario=row["scenario"],
        kind=row["kind"],
        expr=row["expr"],
        tz=row["tz"],
        jitter=row["jitter"],
        grace=row["grace"],
        anchor=_stored_time(row, "anchor"),
        paused=bool(row["paused"]),
        handled_until=_stored_time(row, "handled_until"),
        created=_stored_time(row, "created"),
    )


def _stored_time(row: sqlite3.Row, column: str) -> datetime:
    text = row[column]
    if isinstance(text, str):
        with suppress(ValueError):
            return parse_utc(text)
    raise UsageError(f"its {column} {text!r} is not a UTC time")


def _fire(row: sqlite3.Row) -> Fire:
    return Fire(
        schedule=row["schedule"],
        nominal=parse_utc(row["nominal"]),
        status=row["status"],
        start_at=parse_utc(row["start_at"]),
        decided_at=parse_utc(row["decided_at"]),
        run=row["run"],
        started_at=_time_or_none(row["started_at"]),
        missed_from=_time_or_none(row["missed_from"]),
        missed_count=row["missed_count"],
        detail=row["detail"],
    )
