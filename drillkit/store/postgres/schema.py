"""The team store's schema: versioned migrations shipped in the package, applied in order by
`drill store init` (idempotent: a second run applies nothing; a newer drillkit applies the rest)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg

from drillkit.store.postgres.connection import Database

MIGRATION_LOCK = 0x6472696C6C  # advisory lock key: concurrent `store init`s take turns
BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS drill;
CREATE TABLE IF NOT EXISTS drill.schema_version (
    version integer PRIMARY KEY,
    name    text NOT NULL,
    applied timestamptz NOT NULL DEFAULT now()
);
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """The shipped migrations, `NNNN_name.sql`, in version order."""
    folder = resources.files("drillkit.store.postgres") / "migrations"
    found = []
    for item in folder.iterdir():
        stem = item.name.removesuffix(".sql")
        if item.name.endswith(".sql") and stem[:4].isdigit():
            found.append(Migration(int(stem[:4]), stem[5:], item.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


def latest_version() -> int:
    return migrations()[-1].version


def current_version(cursor: psycopg.Cursor[Any]) -> int:
    """The schema version in the database; 0 when drillkit's tables are not there yet."""
    cursor.execute("SELECT to_regclass('drill.schema_version') IS NOT NULL")
    row = cursor.fetchone()
    if not row or not row[0]:
        return 0
    cursor.execute("SELECT coalesce(max(version), 0) FROM drill.schema_version")
    version = cursor.fetchone()
    return int(version[0]) if version else 0


def upgrade(db: Database) -> tuple[int, list[Migration]]:
    """Apply the migrations the database lacks, all in one transaction; the version before and
    the migrations applied."""
    with db.transaction() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        before = current_version(cursor)
        cursor.execute(BOOTSTRAP)
        applied = [m for m in migrations() if m.version > before]
        for migration in applied:
            cursor.execute(migration.sql.encode())
            cursor.execute(
                "INSERT INTO drill.schema_version (version, name) VALUES (%s, %s)", (migration.version, migration.name)
            )
    return before, applied
