"""The SQLite adapter of the schedule store: `logs/schedule.db`, plain rows, never pickles.

The database runs in WAL mode with `synchronous=FULL`, so a fire claimed here survives a
crash the moment the claim returns; the ledger's primary key (schedule, nominal) makes the
insert the claim. The `meta.changed` row is the port's change counter.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from drillkit.config.workspace import FILE_MODE, Workspace
from drillkit.model.clock import format_utc, parse_utc
from drillkit.model.errors import RecordError, UsageError
from drillkit.schedule.port import DAMAGED, Fire, Schedule, ScheduleStore, unknown_schedule

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
        """The store as it stands, for a reader who may not be allowed to write: opened read-only
        and never created; a workspace without one, or with one a writer has not made its tables
        in yet, reads as an empty store."""
        path = ws.logs / "schedule.db"
        db = _connect_to_read(path) if path.exists() else None
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

    def schedules(self) -> list[Schedule]:
        return [_schedule(row) for row in self._db.execute("SELECT * FROM schedules ORDER BY id")]

    def get(self, schedule_id: str) -> Schedule:
        row = self._db.execute("SELECT * FROM schedules WHERE id = ?", (schedule_id,)).fetchone()
        if row is None:
            raise unknown_schedule(schedule_id, [s.id for s in self.schedules()])
        return _schedule(row)

    def remove(self, schedule_id: str, now: datetime) -> None:
        """Delete a schedule; its ledger stays, and a jittered start still waiting is cancelled."""
        self.get(schedule_id)
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
        self.get(schedule_id)
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
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise RecordError(f"logs/schedule.db: {reason}; {_what_to_do(exc)}") from None
    return db


def _what_to_do(exc: OSError | sqlite3.Error) -> str:
    """A file SQLite cannot open or write wants a writable folder; one it opens but cannot read as
    a database is damaged (or not a store at all), which no permission fixes."""
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        return DAMAGED
    return "the schedule store needs a logs/ folder you can write"


def _connect_to_read(path: Path) -> sqlite3.Connection | None:
    """A read-only connection, or None when the file has no tables yet.

    SQLite reads a WAL database through its `-shm` file, which only a writer can create: when
    none is open (no `-wal` beside the file) and the folder is read-only, the file is read as
    immutable, which is exact while nothing writes it."""
    try:
        return _probed(f"{path.as_uri()}?mode=ro")
    except sqlite3.Error as exc:
        if Path(f"{path}-wal").exists():
            raise RecordError(f"logs/schedule.db: {exc}") from None
    try:
        return _probed(f"{path.as_uri()}?immutable=1")
    except sqlite3.Error as exc:
        raise RecordError(f"logs/schedule.db: {exc}") from None


def _probed(uri: str) -> sqlite3.Connection | None:
    """A connection that has read the schema, so a file it cannot read fails here, not mid-command;
    None for a file without tables (the tables are made in one transaction: all or none)."""
    db = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
    try:
        db.execute("PRAGMA busy_timeout = 30000")
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
    return Schedule(
        id=row["id"],
        scenario=row["scenario"],
        kind=row["kind"],
        expr=row["expr"],
        tz=row["tz"],
        jitter=row["jitter"],
        grace=row["grace"],
        anchor=parse_utc(row["anchor"]),
        paused=bool(row["paused"]),
        handled_until=parse_utc(row["handled_until"]),
        created=parse_utc(row["created"]),
    )


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
