"""What `drill store init|status|push|pull` ask of the team store beyond the record port."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from drillkit.model.clock import format_utc
from drillkit.model.errors import RecordError
from drillkit.store.files import check_run_id
from drillkit.store.postgres.connection import database
from drillkit.store.postgres.lease import Holder, holder
from drillkit.store.postgres.records import insert_lines
from drillkit.store.postgres.schema import Migration, current_version, latest_version, upgrade

SEALS_VERSION = 6  # the schema version that holds seals


@dataclass(frozen=True, kw_only=True)
class StoreStatus:
    server: str
    database: str
    user: str
    schema_version: int
    latest_version: int
    runs: int
    lines: int
    action_lines: int  # lines of the corrective actions' ledger
    seals: int  # the seal ledger's size (SPEC §9)
    writable: bool
    scheduler: dict[str, Any] | None  # the last scheduler's lease: host, pid, epoch, since, renewed, active

    def as_json(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "database": self.database,
            "user": self.user,
            "schema_version": self.schema_version,
            "latest_version": self.latest_version,
            "runs": self.runs,
            "lines": self.lines,
            "action_lines": self.action_lines,
            "seals": self.seals,
            "writable": self.writable,
            "scheduler": self.scheduler,
        }


def init(url: str) -> tuple[str, int, list[Migration]]:
    """Create or upgrade the schema: the server, the version before, the migrations applied."""
    db = database(url)
    before, applied = upgrade(db)
    return db.server, before, applied


def status(url: str) -> StoreStatus:
    db = database(url)
    with db.transaction() as cursor:
        cursor.execute("SELECT current_database(), current_user")
        name, user = _row(cursor)
        version = current_version(cursor)
        runs, lines, writable = _counts(cursor) if version else (0, 0, False)
        action_lines = _action_lines(cursor)
        seals = _seals(cursor) if version >= SEALS_VERSION else 0
    active = holder(url)
    return StoreStatus(
        server=db.server,
        database=name,
        user=user,
        schema_version=version,
        latest_version=latest_version(),
        runs=runs,
        lines=lines,
        action_lines=action_lines,
        seals=seals,
        writable=writable,
        scheduler=None if active is None else _lease_document(active),
    )


def _lease_document(active: Holder) -> dict[str, Any]:
    return {
        "host": active.host,
        "pid": active.pid,
        "epoch": active.epoch,
        "since": format_utc(active.since) if active.since else None,
        "renewed": format_utc(active.renewed) if active.renewed else None,
        "active": active.active,
    }


def _counts(cursor: psycopg.Cursor[Any]) -> tuple[int, int, bool]:
    cursor.execute(
        "SELECT (SELECT count(*) FROM drill.run), (SELECT coalesce(sum(seq), 0) FROM drill.run),"
        " has_table_privilege('drill.line', 'INSERT')"
    )
    runs, lines, writable = _row(cursor)
    return int(runs), int(lines), bool(writable)


def _action_lines(cursor: psycopg.Cursor[Any]) -> int:
    """The actions ledger's length; 0 in a schema from before it (`drill store init` adds it)."""
    cursor.execute("SELECT to_regclass('drill.action_head') IS NOT NULL")
    if not _row(cursor)[0]:
        return 0
    cursor.execute("SELECT seq FROM drill.action_head")
    return int(_row(cursor)[0])


def _seals(cursor: psycopg.Cursor[Any]) -> int:
    cursor.execute("SELECT size FROM drill.seal_checkpoint")
    return int(_row(cursor)[0])


def _row(cursor: psycopg.Cursor[Any]) -> tuple[Any, ...]:
    row = cursor.fetchone()
    assert row is not None  # an aggregate always answers one row
    return tuple(row)


def push(url: str, records: list[tuple[str, list[bytes]]]) -> list[int]:
    """Copy verified records' lines (each without its newline) into the store, in one
    transaction; how many were added to each. A record already there whole adds none; one the
    store holds a beginning of is completed; a different record under the same id is refused
    (exit 1), and then none of the others is copied either."""
    db = database(url)
    with db.transaction() as cursor:
        return [_push_record(cursor, db.server, run_id, lines) for run_id, lines in records]


def _push_record(cursor: psycopg.Cursor[Any], server: str, run_id: str, lines: list[bytes]) -> int:
    check_run_id(run_id)
    cursor.execute("SELECT seq FROM drill.run WHERE id = %s FOR UPDATE", (run_id,))
    held = cursor.fetchone()
    stored = _stored(cursor, run_id) if held else []
    if stored != lines[: len(stored)]:
        raise RecordError(
            f"{run_id}: the team store at {server} holds a different record under this id; nothing was pushed"
        )
    fresh = lines[len(stored) :]
    if fresh:
        _add(cursor, run_id, len(stored), fresh, exists=bool(held))
    return len(fresh)


PUSHED = "store-push"  # the `req` of ledger lines copied in by `drill store push`


def push_actions(url: str, lines: list[bytes]) -> int:
    """Copy a verified actions ledger's lines (each without its newline) into the store, as
    `push` copies a record: none when it is there whole, the rest when the store holds its
    beginning; a different ledger is refused (exit 1). How many were added."""
    db = database(url)
    with db.transaction() as cursor:
        cursor.execute("SELECT seq FROM drill.action_head FOR UPDATE")
        cursor.execute("SELECT line FROM drill.action_line ORDER BY seq")
        stored = [bytes(row[0]) for row in cursor]
        if stored != lines[: len(stored)]:
            raise RecordError(
                f"the team store at {db.server} holds other corrective actions than logs/actions.jsonl;"
                " nothing of the ledger was pushed"
            )
        fresh = lines[len(stored) :]
        for seq, line in enumerate(fresh, len(stored) + 1):
            cursor.execute("INSERT INTO drill.action_line (seq, line, req) VALUES (%s, %s, %s)", (seq, line, PUSHED))
        if fresh:
            cursor.execute("UPDATE drill.action_head SET seq = %s, head = %s", (len(lines), _hash_of(lines[-1])))
    return len(fresh)


def _stored(cursor: psycopg.Cursor[Any], run_id: str) -> list[bytes]:
    cursor.execute("SELECT line FROM drill.line WHERE run = %s ORDER BY seq", (run_id,))
    return [bytes(row[0]) for row in cursor]


def _add(cursor: psycopg.Cursor[Any], run_id: str, have: int, fresh: list[bytes], *, exists: bool) -> None:
    head = _hash_of(fresh[-1])
    if exists:
        cursor.execute("UPDATE drill.run SET seq = %s, head = %s WHERE id = %s", (have + len(fresh), head, run_id))
    else:
        cursor.execute("INSERT INTO drill.run (id, seq, head) VALUES (%s, %s, %s)", (run_id, len(fresh), head))
    insert_lines(cursor, run_id, have + 1, fresh)


def _hash_of(line: bytes) -> str:
    """The `hash` a verified line ends with (`…,"hash":"<hex>"}`)."""
    return line[-66:-2].decode("ascii")
