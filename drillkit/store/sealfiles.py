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

from drillkit.config.workspace import FILE_MODE, Workspace, fsync_folder
from drillkit.model.clock import Clock
from drillkit.store import merkle, notes
from drillkit.store.files import new_file, write_or_take_back
from drillkit.store.sealport import Edge, SealStore
from drillkit.store.seals import (
    LedgerEntry,
    Seal,
    SealKey,
    next_seal,
    sealable,
    signed_checkpoint,
)

SEALS_SUFFIX = ".seals"


class FileSealStore(SealStore):
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def notes(self, run_id: str) -> list[bytes]:
        """The run's seal notes; a last one a crash left unfinished (no final newline, or no
        signature line yet) is no seal and is left out."""
        found = notes.split_notes(_complete(seals_file(self.ws, run_id)))
        while found and not _signed(found[-1]):  # a crash mid-note: never a seal, not yet cut
            found.pop()
        return found

    def ledger(self) -> list[bytes]:
        return _complete(ledger_file(self.ws)).split(b"\n")[:-1]

    def checkpoint(self) -> bytes | None:
        try:
            return checkpoint_file(self.ws).read_bytes()
        except FileNotFoundError:
            return None

    def seal(self, key: SealKey, run_id: str, lines: bytes, clock: Clock) -> Seal | None:
        verdict = None if self.covered(run_id, lines) else sealable(self.ws, run_id, lines)
        if verdict is None:
            return None
        with self._lock():
            path = seals_file(self.ws, run_id)
            _cut_torn_note(path)
            seal = next_seal(key, verdict, lines, self.notes(run_id), clock)
            if seal is None:
                return None
            ledger = ledger_file(self.ws)
            _cut_torn_tail(ledger)
            size, edge = self._edge(key, _length(ledger))  # a ledger off its checkpoint: nothing written
            _append(path, seal.note)
            self._extend_ledger(key, LedgerEntry(run=run_id, events=seal.events, digest=seal.digest), size, edge)
        return seal

    def seals_name(self, run_id: str) -> str:
        return self.ws.display(seals_file(self.ws, run_id))

    def ledger_name(self) -> str:
        return self.ws.display(ledger_file(self.ws))

    def checkpoint_name(self) -> str:
        return self.ws.display(checkpoint_file(self.ws))

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """One sealer at a time appends seals, the ledger and its checkpoint."""
        folder = self.ws.ensure_dir(self.ws.seals)
        fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _extend_ledger(self, key: SealKey, entry: LedgerEntry, size: int, edge: list[bytes]) -> None:
        """Append the entry to the ledger of `size` entries whose tree's right edge is `edge`
        (`_edge`), and replace the checkpoint."""
        path = ledger_file(self.ws)
        if size == 0 and self.checkpoint() is None:
            self._first_checkpoint(key)
        _append(path, entry.line + b"\n")
        grown = merkle.extend_frontier(edge, size, entry.leaf)
        _replace(checkpoint_file(self.ws), signed_checkpoint(key, size + 1, merkle.frontier_root(grown)))
        _write_edge(edge_file(self.ws), _length(path), size + 1, grown)

    def _first_checkpoint(self, key: SealKey) -> None:
        """The empty tree's checkpoint, made durable before the first entry: from then on a ledger
        always has a checkpoint it extends, so one gone is tampering, never a crash."""
        _replace(checkpoint_file(self.ws), signed_checkpoint(key, 0, merkle.EMPTY_ROOT))
        fsync_folder(self.ws.seals)

    def _edge(self, key: SealKey, length: int) -> Edge:
        """The ledger's size and edge (`SealStore.checked_edge`), from the cache when it was written
        for a ledger of this length in bytes and the checkpoint signs it."""
        return self.checked_edge(key, self.checkpoint(), _read_edge(edge_file(self.ws), length), self.ledger)


def seals_file(ws: Workspace, run_id: str) -> Path:
    return ws.seals / f"{run_id}{SEALS_SUFFIX}"


def ledger_file(ws: Workspace) -> Path:
    return ws.seals / "ledger"


def checkpoint_file(ws: Workspace) -> Path:
    return ws.seals / "checkpoint"


def edge_file(ws: Workspace) -> Path:
    """A cache, never evidence: the ledger's length in bytes, its size, and the right edge of its
    tree (hex), so a seal reads a few lines instead of the whole ledger."""
    return ws.seals / "ledger.edge"


def _read_edge(path: Path, length: int) -> Edge | None:
    """The cached size and edge when they were written for a ledger of `length` bytes."""
    try:
        head, *hashes = path.read_text(encoding="ascii").split()
        written, size = (int(part) for part in head.split(":"))
        edge = [bytes.fromhex(value) for value in hashes]
    except (OSError, ValueError):
        return None
    return (size, edge) if written == length and len(edge) == size.bit_count() else None


def _write_edge(path: Path, length: int, size: int, edge: list[bytes]) -> None:
    """Replaced, 0640, without fsync: a cache lost in a crash is rebuilt from the ledger, and one a
    full disk cut short is not trusted (`_edge` checks it against the checkpoint)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.new")
    text = " ".join([f"{length}:{size}", *(node.hex() for node in edge)]) + "\n"
    fd = new_file(temporary, "the seal ledger's edge cache")
    try:
        os.write(fd, text.encode("ascii"))
    finally:
        os.close(fd)
    os.replace(temporary, path)


def _length(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _complete(path: Path) -> bytes:
    """The file's complete lines (a torn last line is not one); nothing when there is no file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return b""
    return data[: data.rfind(b"\n") + 1]


def _cut_torn_tail(path: Path) -> None:
    """A last line without its newline is what a crash left mid-write: cut before appending
    (only the last byte is read when there is none)."""
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size == 0 or os.pread(handle.fileno(), 1, size - 1) == b"\n":
                return
            data = handle.read()
    except FileNotFoundError:
        return
    os.truncate(path, data.rfind(b"\n") + 1)


def _signed(note: bytes) -> bool:
    """Whether a note ends with a whole signature line."""
    return note.endswith(b"\n") and note.splitlines()[-1].startswith(notes.SIG_PREFIX.encode())


def _cut_torn_note(path: Path) -> None:
    """A last seal note without its signature line is what a crash left mid-write (a note is
    several lines): cut it whole, or it runs into the next note and fails its signature forever."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    keep = len(data)
    for note in reversed(notes.split_notes(data)):
        if _signed(note):
            break
        keep -= len(note)
    if keep < len(data):
        os.truncate(path, keep)


def _write_synced(path: Path, data: bytes, how: int) -> None:
    """`data` appended (`os.O_APPEND`) or written anew (`os.O_TRUNC`), 0640, fsync'd, never through a
    link; a short write (a full disk) or a failed fsync is taken back and fails the seal in one line."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | how, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        write_or_take_back(fd, data, os.fstat(fd).st_size, f"the seal file {path.name}")
    finally:
        os.close(fd)


def _append(path: Path, data: bytes) -> None:
    """Appended; a file this makes (a run's first seal, the ledger's first entry) has its name made
    durable too, once: its folder fsync'd."""
    new = not path.exists()
    _write_synced(path, data, os.O_APPEND)
    if new:
        fsync_folder(path.parent)


def _replace(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.new")
    _write_synced(temporary, data, os.O_TRUNC)
    os.replace(temporary, path)  # the folder is not fsync'd: a rename lost in a crash leaves
    # the previous checkpoint, which the ledger still extends
