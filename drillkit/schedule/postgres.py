"""The PostgreSQL adapter of the schedule store: the team store's `drill.schedule` and
`drill.fire` tables (migration 0002), shared by every scheduler of a team (SPEC §8).

The schema is created by `drill store init`, never by opening the store; the ledger's key
(schedule, nominal) makes `INSERT … ON CONFLICT DO NOTHING` the claim of a fire.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

import psycopg
from psycopg.rows import dict_row

from drillkit.config.workspace import Workspace
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
from drillkit.store.postgres.connection import Database, database

SCHEDULE_VERSION = 2  # the migration that made the tables
_FIRE_COLUMNS = "schedule, nominal, status, start_at, decided_at, run, started_at, missed_from, missed_count, detail"


class PostgresScheduleStore(ScheduleStore):
    def __init__(self, db: Database) -> None:
        self._db = db

    @classmethod
    def open(cls, ws: Workspace) -> PostgresScheduleStore:
        store = cls(database(_url(ws)))
        store._check_tables()
        return store

    @classmethod
    @contextmanager
    def reading(cls, ws: Workspace) -> Iterator[PostgresScheduleStore]:
        yield cls.open(ws)

    @classmethod
    def exists(cls, ws: Workspace) -> bool:
        """Whether anything was ever scheduled (the tables themselves come from `store init`)."""
        store = cls(database(_url(ws)))
        if not store._check_tables(missing_ok=True):
            return False
        row = store._one("SELECT EXISTS (SELECT 1 FROM drill.schedule) OR EXISTS (SELECT 1 FROM drill.fire) AS used")
        return bool(row["used"])

    def close(self) -> None:
        """The connection stays open for the process's other stores."""

    def _check_tables(self, missing_ok: bool = False) -> bool:
        row = self._one(
            "SELECT to_regclass('drill.schema_version') IS NOT NULL AS versioned,"
            " to_regclass('drill.schedule') IS NOT NULL AND to_regclass('drill.fire') IS NOT NULL"
            " AND to_regclass('drill.schedule_changes') IS NOT NULL AS tables"
        )
        if row["tables"]:
            return True
        version = (
            self._one("SELECT coalesce(max(version), 0) AS v FROM drill.schema_version")["v"] if row["versioned"] else 0
        )
        if version >= SCHEDULE_VERSION:
            raise RecordError(f"the team store at {self._db.server}: {DAMAGED}")
        if missing_ok:
            return False
        raise RecordError(f"the team store at {self._db.server} has no schedule tables yet; run `drill store init`")

    @contextmanager
    def _cursor(self) -> Iterator[psycopg.Cursor[dict[str, Any]]]:
        with self._db.transaction() as plain, plain.connection.cursor(row_factory=dict_row) as cursor:
            yield cursor

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> dict[str, Any]:
        with self._cursor() as cursor:
            cursor.execute(sql.encode(), params)
            row = cursor.fetchone()
        assert row is not None  # each query asked here answers one row
        return row

    def _bump(self, cursor: psycopg.Cursor[Any]) -> None:
        cursor.execute("UPDATE drill.schedule_changes SET changed = changed + 1")

    def changed(self) -> int:
        return int(self._one("SELECT changed FROM drill.schedule_changes")["changed"])

    def add(self, schedule: Schedule) -> None:
        with self._cursor() as cursor:
            cursor.execute(
                "INSERT INTO drill.schedule (id, scenario, kind, expr, tz, jitter, grace, anchor, paused,"
                " handled_until, created) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (
                    schedule.id,
                    schedule.scenario,
                    schedule.kind,
                    schedule.expr,
                    schedule.tz,
                    schedule.jitter,
                    schedule.grace,
                    _ms(schedule.anchor),
                    schedule.paused,
                    _ms(schedule.handled_until),
                    _ms(schedule.created),
                ),
            )
            if cursor.rowcount == 0:
                raise UsageError(f"schedule {schedule.id!r} exists already; choose another --id or remove it first")
            self._bump(cursor)

    def stored(self) -> StoredSchedules:
        with self._cursor() as cursor:
            cursor.execute("SELECT * FROM drill.schedule ORDER BY id")
            return StoredSchedules.sorted_out([read_schedule(row["id"], partial(_schedule, row)) for row in cursor])

    def get(self, schedule_id: str) -> Schedule:
        read = read_schedule(schedule_id, partial(_schedule, self._row(schedule_id)))
        if isinstance(read, UnreadableSchedule):
            raise UsageError(str(read))
        return read

    def _row(self, schedule_id: str) -> dict[str, Any]:
        """The stored row of a schedule, readable or not; NotFound naming the ones there are."""
        with self._cursor() as cursor:
            cursor.execute("SELECT * FROM drill.schedule WHERE id = %s", (schedule_id,))
            row = cursor.fetchone()
        if row is None:
            raise unknown_schedule(schedule_id, self.stored().ids)
        return row

    def remove(self, schedule_id: str, now: datetime) -> None:
        self._row(schedule_id)
        with self._cursor() as cursor:
            cursor.execute("DELETE FROM drill.schedule WHERE id = %s", (schedule_id,))
            cursor.execute(
                "UPDATE drill.fire SET status = 'cancelled', detail = 'schedule removed', decided_at = %s"
                " WHERE schedule = %s AND status = 'claimed'",
                (_ms(now), schedule_id),
            )
            self._bump(cursor)

    def set_paused(self, schedule_id: str, paused: bool, now: datetime) -> None:
        self._row(schedule_id)
        with self._cursor() as cursor:
            if paused:
                cursor.execute("UPDATE drill.schedule SET paused = true WHERE id = %s", (schedule_id,))
            else:
                cursor.execute(
                    "UPDATE drill.schedule SET paused = false, handled_until = %s WHERE id = %s AND paused",
                    (_ms(now), schedule_id),
                )
            self._bump(cursor)

    def decide(self, fires: list[Fire], schedule_id: str, handled_until: datetime) -> list[bool]:
        """Each claim carries the scheduler's lease epoch: refused once a newer one exists."""
        with self._cursor() as cursor:
            self._db.check_fence(cursor)
            won = [self._claim(cursor, fire) for fire in fires]
            cursor.execute(
                "UPDATE drill.schedule SET handled_until = %s WHERE id = %s AND handled_until < %s",
                (_ms(handled_until), schedule_id, _ms(handled_until)),
            )
        return won

    def _claim(self, cursor: psycopg.Cursor[Any], fire: Fire) -> bool:
        cursor.execute(
            f"INSERT INTO drill.fire ({_FIRE_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (schedule, nominal) DO NOTHING",
            (
                fire.schedule,
                _ms(fire.nominal),
                fire.status,
                _ms(fire.start_at),
                _ms(fire.decided_at),
                fire.run,
                _ms_or_none(fire.started_at),
                _ms_or_none(fire.missed_from),
                fire.missed_count,
                fire.detail,
            ),
        )
        return cursor.rowcount == 1

    def settle(
        self, fire: Fire, status: str, *, now: datetime, run: str | None = None, detail: str | None = None
    ) -> None:
        with self._cursor() as cursor:
            self._db.check_fence(cursor)
            cursor.execute(
                "UPDATE drill.fire SET status = %s, run = %s, started_at = %s, detail = %s, decided_at = %s"
                " WHERE schedule = %s AND nominal = %s AND status = 'claimed'",
                (status, run, _ms(now) if run else None, detail, _ms(now), fire.schedule, _ms(fire.nominal)),
            )

    def waiting(self) -> list[Fire]:
        return self._fires("SELECT * FROM drill.fire WHERE status = 'claimed' ORDER BY start_at")

    def fires(self, schedule_id: str | None = None) -> list[Fire]:
        if schedule_id is None:
            return self._fires("SELECT * FROM drill.fire ORDER BY nominal, schedule")
        return self._fires("SELECT * FROM drill.fire WHERE schedule = %s ORDER BY nominal", (schedule_id,))

    def last_fires(self) -> dict[str, Fire]:
        found = self._fires("SELECT DISTINCT ON (schedule) * FROM drill.fire ORDER BY schedule, nominal DESC")
        return {fire.schedule: fire for fire in found}

    def linked_runs(self) -> set[str]:
        with self._cursor() as cursor:
            cursor.execute("SELECT run FROM drill.fire WHERE run IS NOT NULL")
            return {row["run"] for row in cursor}

    def _fires(self, sql: str, params: tuple[Any, ...] = ()) -> list[Fire]:
        with self._cursor() as cursor:
            cursor.execute(sql.encode(), params)
            return [_fire(row) for row in cursor]


def _url(ws: Workspace) -> str:
    url = ws.store_url()
    if url is None:  # pragma: no cover - the schedule store is chosen by the url
        raise UsageError("no team store is named: set [store] url in drill.toml or DRILL_STORE")
    return url


def _ms(when: datetime) -> datetime:
    """Times are kept to the millisecond, in UTC (as the file adapter keeps them)."""
    return when.astimezone(UTC).replace(microsecond=when.microsecond // 1000 * 1000)


def _ms_or_none(when: datetime | None) -> datetime | None:
    return _ms(when) if when is not None else None


def _utc(when: datetime | None) -> datetime | None:
    return when.astimezone(UTC) if when is not None else None


def _schedule(row: dict[str, Any]) -> Schedule:
    return Schedule(
        id=row["id"],
        scenario=row["scenario"],
        kind=row["kind"],
        expr=row["expr"],
        tz=row["tz"],
        jitter=row["jitter"],
        grace=row["grace"],
        anchor=row["anchor"].astimezone(UTC),
        paused=row["paused"],
        handled_until=row["handled_until"].astimezone(UTC),
        created=row["created"].astimezone(UTC),
    )


def _fire(row: dict[str, Any]) -> Fire:
    return Fire(
        schedule=row["schedule"],
        nominal=row["nominal"].astimezone(UTC),
        status=row["status"],
        start_at=row["start_at"].astimezone(UTC),
        decided_at=row["decided_at"].astimezone(UTC),
        run=row["run"],
        started_at=_utc(row["started_at"]),
        missed_from=_utc(row["missed_from"]),
        missed_count=row["missed_count"],
        detail=row["detail"],
    )
