"""The `SealStore` port over PostgreSQL (SPEC §9 in team mode): `drill.seal` (each run's seals),
`drill.seal_ledger` (one row a leaf) and `drill.seal_checkpoint` (one row: the latest signed
checkpoint, and the right edge of the tree so a seal reads no more than it).

A sealer locks the checkpoint row (`SELECT … FOR UPDATE`): sealers on every host take turns,
and a seal, its ledger entry and the new checkpoint commit together or not at all. The edge kept
in the row is used only while the ledger has as many rows as the checkpoint signs and the
checkpoint signs that edge; else it is rebuilt from the ledger, which must extend the checkpoint.
"""

from __future__ import annotations

from typing import Any

import psycopg

from drillkit.config.workspace import Workspace
from drillkit.model.clock import Clock
from drillkit.store import merkle
from drillkit.store.postgres.connection import Database, database
from drillkit.store.sealport import Edge, SealStore
from drillkit.store.seals import LedgerEntry, Seal, SealKey, next_seal, sealable, signed_checkpoint

LEDGER = "SELECT line FROM drill.seal_ledger ORDER BY n"


class PostgresSealStore(SealStore):
    def __init__(self, ws: Workspace, url: str) -> None:
        self.ws = ws
        self.db: Database = database(url)

    def notes(self, run_id: str) -> list[bytes]:
        return self._column("SELECT note FROM drill.seal WHERE run = %s ORDER BY n", (run_id,))

    def ledger(self) -> list[bytes]:
        return self._column(LEDGER, ())

    def checkpoint(self) -> bytes | None:
        found = self._column("SELECT note FROM drill.seal_checkpoint WHERE note IS NOT NULL", ())
        return found[0] if found else None

    def seal(self, key: SealKey, run_id: str, lines: bytes, clock: Clock) -> Seal | None:
        verdict = None if self.covered(run_id, lines) else sealable(self.ws, run_id, lines)
        if verdict is None:
            return None
        with self.db.transaction() as cursor:
            self.db.check_fence(cursor)  # a scheduler that was replaced seals nothing either
            note, kept = _locked_checkpoint(cursor)
            size, frontier = self.checked_edge(key, note, kept, lambda: _ledger_lines(cursor))
            count, latest = _latest_seal(cursor, run_id)
            seal = next_seal(key, verdict, lines, latest, clock)
            if seal is None:
                return None
            entry = LedgerEntry(run=run_id, events=seal.events, digest=seal.digest)
            grown = merkle.extend_frontier(frontier, size, entry.leaf)
            cursor.execute(
                "INSERT INTO drill.seal (run, n, events, note) VALUES (%s, %s, %s, %s)",
                (run_id, count + 1, seal.events, seal.note),
            )
            cursor.execute("INSERT INTO drill.seal_ledger (n, line) VALUES (%s, %s)", (size + 1, entry.line))
            cursor.execute(
                "UPDATE drill.seal_checkpoint SET size = %s, note = %s, frontier = %s",
                (size + 1, signed_checkpoint(key, size + 1, merkle.frontier_root(grown)), b"".join(grown)),
            )
        return seal

    def seals_name(self, run_id: str) -> str:
        return f"the team store's seals of {run_id} (drill.seal)"

    def ledger_name(self) -> str:
        return "the team store's ledger (drill.seal_ledger)"

    def checkpoint_name(self) -> str:
        return "the team store's checkpoint (drill.seal_checkpoint)"

    def _column(self, query: str, params: tuple[Any, ...]) -> list[bytes]:
        with self.db.transaction() as cursor:
            cursor.execute(query, params)
            return [bytes(row[0]) for row in cursor]


def _locked_checkpoint(cursor: psycopg.Cursor[Any]) -> tuple[bytes | None, Edge | None]:
    """The checkpoint and the edge kept with it, the row locked until the commit; the edge only
    while the ledger has as many rows as the row says (neither when the row is gone: the
    migration inserts it and a trigger keeps it, so only an owner with the triggers off removes it)."""
    cursor.execute("SELECT size, frontier, note FROM drill.seal_checkpoint FOR UPDATE")
    row = cursor.fetchone()
    if row is None:
        return None, None
    size, edge, note = int(row[0]), bytes(row[1]), None if row[2] is None else bytes(row[2])
    cursor.execute("SELECT count(*) FROM drill.seal_ledger")
    counted = cursor.fetchone()
    if counted is None or int(counted[0]) != size:
        return note, None
    return note, (size, [edge[i : i + merkle.HASH_SIZE] for i in range(0, len(edge), merkle.HASH_SIZE)])


def _ledger_lines(cursor: psycopg.Cursor[Any]) -> list[bytes]:
    cursor.execute(LEDGER)
    return [bytes(row[0]) for row in cursor]


def _latest_seal(cursor: psycopg.Cursor[Any], run_id: str) -> tuple[int, list[bytes]]:
    """How many seals the run has, and its latest (none, or one)."""
    cursor.execute("SELECT n, note FROM drill.seal WHERE run = %s ORDER BY n DESC LIMIT 1", (run_id,))
    row = cursor.fetchone()
    return (0, []) if row is None else (int(row[0]), [bytes(row[1])])
