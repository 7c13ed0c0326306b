"""Seals (SPEC §9): signed statements of how far a run's record went, and the workspace ledger.

A seal is a C2SP signed note whose text is

    <origin>
    run <run id>
    events <count>
    head <hash of line <count>>
    time <RFC 3339 UTC>

signed with the workspace's Ed25519 key (key name = origin). Seals of a run are written one
after another to `logs/seals/<run>.seals`. Every seal is also a leaf of the workspace ledger
(`logs/seals/ledger`, one line `<run> <events> <SHA-256 of the seal note>` a leaf, the leaf data
being the line without its newline), an RFC 9162 Merkle tree whose signed checkpoint (a C2SP
tlog checkpoint: origin, tree size, base64 root) is rewritten after each seal in
`logs/seals/checkpoint`. All of it is written under one lock, the seal first: a crash leaves at
most a seal the ledger does not list yet, never a ledger entry without its seal.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from drillkit.config.workspace import FILE_MODE, Workspace
from drillkit.model.clock import Clock, format_utc
from drillkit.model.errors import UsageError
from drillkit.store import merkle, notes
from drillkit.store.files import HASH_MARK
from drillkit.store.notes import NoteError

KEY_MODE = 0o600
KEY_DIR_MODE = 0o700
SEALS_SUFFIX = ".seals"


@dataclass(frozen=True, kw_only=True)
class Seal:
    origin: str
    run: str
    events: int
    head: str
    time: str
    note: bytes  # the signed note, as written

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.note).hexdigest()

    @property
    def fingerprint(self) -> str:
        """The seal's short fingerprint: what a report or a notification carries off the machine."""
        return self.digest[:16]


@dataclass(frozen=True, kw_only=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    note: bytes


@dataclass(frozen=True, kw_only=True)
class LedgerEntry:
    run: str
    events: int
    digest: str  # the SHA-256 of the seal note

    @property
    def line(self) -> bytes:
        return f"{self.run} {self.events} {self.digest}".encode()

    @property
    def leaf(self) -> bytes:
        return merkle.leaf_hash(self.line)


def seal_text(origin: str, run: str, events: int, head: str, time: str) -> str:
    return f"{origin}\nrun {run}\nevents {events}\nhead {head}\ntime {time}\n"


def parse_seal(note: bytes) -> Seal:
    """A seal's fields from its note (its signature is checked by `PublicKey.opened`)."""
    text = notes.parse_note(note).text
    lines = text.split("\n")[:-1]
    fields = dict(line.split(" ", 1) for line in lines[1:] if " " in line)
    if len(lines) != 5 or fields.keys() != {"run", "events", "head", "time"} or not fields["events"].isdigit():
        raise NoteError("not a seal: expected origin, run, events, head and time lines")
    return Seal(
        origin=lines[0],
        run=fields["run"],
        events=int(fields["events"]),
        head=fields["head"],
        time=fields["time"],
        note=note,
    )


def checkpoint_text(origin: str, size: int, root: bytes) -> str:
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"


def parse_checkpoint(note: bytes) -> Checkpoint:
    lines = notes.parse_note(note).text.split("\n")[:-1]
    try:
        root = base64.b64decode(lines[2], validate=True) if len(lines) >= 3 else b""
    except binascii.Error:
        root = b""
    if len(lines) < 3 or not lines[1].isdigit() or len(root) != merkle.HASH_SIZE:
        raise NoteError("not a checkpoint: expected origin, tree size and base64 root hash lines")
    return Checkpoint(origin=lines[0], size=int(lines[1]), root=root, note=note)


@dataclass(frozen=True)
class PublicKey:
    """The workspace's seal verifier key (`[integrity] seal_public_key`)."""

    key: notes.Key

    @property
    def name(self) -> str:
        return self.key.name

    @property
    def text(self) -> str:
        return notes.verifier_key(self.key.name, self.key.key)

    @property
    def fingerprint(self) -> str:
        return "SHA256:" + hashlib.sha256(self.key.key).hexdigest()

    def opened(self, note: bytes) -> str | None:
        """The note's text when this key signed it, else None."""
        from drillkit.store import ed25519

        try:
            parsed = notes.parse_note(note)
        except NoteError:
            return None
        mine = [s for s in parsed.signatures if s.name == self.key.name and s.key_id == self.key.key_id]
        signed = parsed.text.encode()
        return parsed.text if any(ed25519.verify(self.key.key, s.signature, signed) for s in mine) else None


@dataclass(frozen=True)
class SealKey:
    """The private seal key: its name (the origin of every seal) and Ed25519 seed."""

    name: str
    seed: bytes
    public: PublicKey

    def sign(self, text: str) -> bytes:
        from drillkit.store import ed25519

        key = self.public.key
        signature = notes.Signature(name=key.name, key_id=key.key_id, signature=ed25519.sign(self.seed, text.encode()))
        return notes.format_note(notes.Note(text=text, signatures=(signature,)))


def new_key(name: str) -> tuple[str, SealKey]:
    """A fresh key: its signer-key line (the private key file's content) and the key."""
    from drillkit.store import ed25519

    seed = ed25519.new_seed()
    public = ed25519.public_key(seed)
    key = SealKey(notes.check_name(name), seed, PublicKey(notes.parse_verifier_key(notes.verifier_key(name, public))))
    return notes.signer_key(name, seed, public) + "\n", key


def read_key(path: Path) -> SealKey:
    """The private key in `path`; a UsageError saying why it cannot be used."""
    from drillkit.store import ed25519

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not text"
        raise UsageError(f"seal key {path}: {reason}") from None
    try:
        parsed = notes.parse_signer_key(text)
        public = ed25519.public_key(parsed.key)
        verifier = notes.parse_verifier_key(notes.verifier_key(parsed.name, public))
    except (NoteError, ValueError) as exc:
        raise UsageError(f"seal key {path}: {exc}") from None
    if verifier.key_id != parsed.key_id:
        raise UsageError(f"seal key {path}: its key id does not match its key")
    return SealKey(parsed.name, parsed.key, PublicKey(verifier))


def signing_key(ws: Workspace) -> SealKey | None:
    """The private key when this process can read it, else None: a command never fails for lack
    of it (SPEC §9), it leaves the run unsealed."""
    path = ws.seal_key()
    if not os.access(path, os.R_OK):
        return None
    try:
        return read_key(path)
    except UsageError:
        return None


def public_key(ws: Workspace) -> PublicKey | None:
    """The key seals are checked with: `seal_public_key` in drill.toml, else the private key's
    public half; None when the workspace has neither (it has no seals to check)."""
    text = ws.config().seal_public_key
    if text is None:
        key = signing_key(ws)
        return key.public if key is not None else None
    try:
        return PublicKey(notes.parse_verifier_key(text))
    except NoteError as exc:
        raise UsageError(f"drill.toml: [integrity] seal_public_key: {exc}") from None


def seals_file(ws: Workspace, run_id: str) -> Path:
    return ws.seals / f"{run_id}{SEALS_SUFFIX}"


def ledger_file(ws: Workspace) -> Path:
    return ws.seals / "ledger"


def checkpoint_file(ws: Workspace) -> Path:
    return ws.seals / "checkpoint"


def read_seal_notes(path: Path) -> list[bytes]:
    """The seal notes of a seals file, a torn last one (a crash while it was written: no final
    newline) left out; none when the file does not exist."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    return notes.split_notes(data[: data.rfind(b"\n") + 1])


def latest_seal(ws: Workspace, run_id: str) -> Seal | None:
    """The run's latest seal as written (its signature is `drill verify`'s to check)."""
    try:
        found = read_seal_notes(seals_file(ws, run_id))
        return parse_seal(found[-1]) if found else None
    except (NoteError, OSError):
        return None


def read_ledger_lines(ws: Workspace) -> list[bytes]:
    """The ledger's complete lines (a torn last line is not an entry)."""
    try:
        data = ledger_file(ws).read_bytes()
    except FileNotFoundError:
        return []
    return data[: data.rfind(b"\n") + 1].split(b"\n")[:-1]


def parse_ledger_line(line: bytes) -> LedgerEntry:
    parts = line.decode("utf-8", "replace").split(" ")
    if len(parts) != 3 or not parts[1].isdigit() or len(parts[2]) != 64:
        raise NoteError(f"ledger line {line[:80]!r} is not `<run> <events> <seal sha256>`")
    return LedgerEntry(run=parts[0], events=int(parts[1]), digest=parts[2])


def latest_checkpoint(ws: Workspace) -> bytes | None:
    try:
        return checkpoint_file(ws).read_bytes()
    except FileNotFoundError:
        return None


@contextmanager
def sealing_lock(ws: Workspace) -> Iterator[None]:
    """The workspace's seals lock: one sealer at a time appends seals, the ledger and its checkpoint."""
    folder = ws.ensure_dir(ws.seals)
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def seal_run(ws: Workspace, key: SealKey, run_id: str, clock: Clock) -> Seal | None:
    """Seal the record as it is on disk: every complete line, when they verify and the latest
    seal does not already cover them. The seal written, or None."""
    from drillkit.store.files import workspace_key
    from drillkit.store.verify import verify_file

    verdict = verify_file(ws.run_file(run_id), workspace_key(ws))
    if verdict.verdict not in ("ok", "open") or verdict.head is None:
        return None  # a record that does not verify is never sealed
    with sealing_lock(ws):
        path = seals_file(ws, run_id)
        _cut_torn_tail(path)
        sealed = read_seal_notes(path)
        if sealed and not _extends_seal(ws.run_file(run_id), sealed[-1], verdict.events):
            return None  # nothing new, or the sealed lines changed: never bless a rewritten record
        text = seal_text(key.name, run_id, verdict.events, verdict.head, format_utc(clock.now()))
        seal = parse_seal(key.sign(text))
        _append(path, seal.note)
        _extend_ledger(ws, key, LedgerEntry(run=run_id, events=seal.events, digest=seal.digest))
    return seal


def _extends_seal(record: Path, note: bytes, events: int) -> bool:
    """Whether the record has events past the seal and still holds the sealed line unchanged
    (a damaged seal is `drill verify`'s to report, and sealing goes on past it)."""
    try:
        seal = parse_seal(note)
    except NoteError:
        return True
    return events > seal.events and line_hash_at(record, seal.events) == seal.head


def line_hash_at(record: Path, number: int) -> str | None:
    """The stored hash of line `number` of a record (None when it has no such line)."""
    data = record.read_bytes()
    start = 0
    for _ in range(number - 1):
        start = data.find(b"\n", start) + 1
        if start == 0:
            return None
    end = data.find(b"\n", start)
    line = data[start:end] if end >= 0 else b""
    cut = line.rfind(HASH_MARK)
    return line[cut + len(HASH_MARK) : -2].decode("ascii", "replace") if cut >= 0 else None


def _extend_ledger(ws: Workspace, key: SealKey, entry: LedgerEntry) -> None:
    path = ledger_file(ws)
    _cut_torn_tail(path)
    lines = read_ledger_lines(ws)
    _append(path, entry.line + b"\n")
    leaves = [merkle.leaf_hash(line) for line in [*lines, entry.line]]
    note = key.sign(checkpoint_text(key.name, len(leaves), merkle.root(leaves)))
    _replace(checkpoint_file(ws), note)


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


def write_key(ws: Workspace, path: Path, content: str) -> None:
    """The private key file, 0600 in a 0700 folder, never over an existing one."""
    folder = ws.ensure_dir(path.parent)
    if folder.is_relative_to(ws.logs):
        os.chmod(folder, KEY_DIR_MODE)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, KEY_MODE)
    except FileExistsError:
        raise UsageError(f"seal key {ws.display(path)} exists; `drill keys show` prints its public key") from None
    try:
        os.fchmod(fd, KEY_MODE)
        os.write(fd, content.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
