"""The `SealStore` port over files (SPEC §9): `logs/seals/<run>.seals` (each run's seals, appended),
`logs/seals/ledger` (one line a leaf, appended) and `logs/seals/checkpoint` (replaced), all
written under one lock file, the seal first: a crash leaves at most a seal the ledger does not
list yet, never a ledger entry without its seal.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from drillkit.config.workspace import FILE_MODE, Workspace
from drillkit.model.clock import Clock
from drillkit.store import merkle, notes
from drillkit.store.sealport import SealStore
from drillkit.store.seals import LedgerEntry, Seal, SealKey, next_seal, sealable, signed_checkpoint

SEALS_SUFFIX = ".seals"


class FileSealStore(SealStore):
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def notes(self, run_id: str) -> list[bytes]:
        """A torn last note (a crash while it was written: no final newline) left out."""
        return notes.split_notes(_complete(seals_file(self.ws, run_id)))

    def ledger(self) -> list[bytes]:
        return _complete(ledger_file(self.ws)).split(b"\n")[:-1]

    def checkpoint(self) -> bytes | None:
        try:
            return checkpoint_file(self.ws).read_bytes()
        except FileNotFoundError:
            return None

    def seal(self, key: SealKey, run_id: str, lines: bytes, clock: Clock) -> Seal | None:
        verdict = sealable(self.ws, run_id, lines)
        if verdict is None:
            return None
        with self._lock():
            path = seals_file(self.ws, run_id)
            _cut_torn_tail(path)
            seal = next_seal(key, verdict, lines, self.notes(run_id), clock)
            if seal is None:
                return None
            _append(path, seal.note)
            self._extend_ledger(key, LedgerEntry(run=run_id, events=seal.events, digest=seal.digest))
        return seal

    def seals_name(self, run_id: str) -> str:
        return self.ws.display(seals_file(self.ws, run_id))

    def checkpoint_name(self) -> str:
        return self.ws.display(checkpoint_file(self.ws))

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """One sealer at a time appends seals, the ledger and its checkpoint."""
        folder = self.ws.ensure_dir(self.ws.seals)
        fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _extend_ledger(self, key: SealKey, entry: LedgerEntry) -> None:
        path = ledger_file(self.ws)
        _cut_torn_tail(path)
        lines = [*self.ledger(), entry.line]
        _append(path, entry.line + b"\n")
        root = merkle.root([merkle.leaf_hash(line) for line in lines])
        _replace(checkpoint_file(self.ws), signed_checkpoint(key, len(lines), root))


def seals_file(ws: Workspace, run_id: str) -> Path:
    return ws.seals / f"{run_id}{SEALS_SUFFIX}"


def ledger_file(ws: Workspace) -> Path:
    return ws.seals / "ledger"


def checkpoint_file(ws: Workspace) -> Path:
    return ws.seals / "checkpoint"


def _complete(path: Path) -> bytes:
    """The file's complete lines (a torn last line is not one); nothing when there is no file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return b""
    return data[: data.rfind(b"\n") + 1]


def _cut_torn_tail(path: Path) -> None:
    """A last line without its newline is what a crash left mid-write: cut before appending."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    if data and not data.endswith(b"\n"):
        os.truncate(path, data.rfind(b"\n") + 1)


def _append(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
