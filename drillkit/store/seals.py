"""Seals (SPEC §9): signed statements of how far a run's record went, and the workspace ledger.

A seal is a C2SP signed note whose text is

    <origin>
    run <run id>
    events <count>
    head <hash of line <count>>
    time <RFC 3339 UTC>

signed with the workspace's Ed25519 key (key name = origin). Seals of a run are written one
after another. Every seal is also a leaf of the workspace ledger (one line `<run> <events>
<SHA-256 of the seal note>` a leaf), an RFC 9162 Merkle tree whose signed checkpoint (a C2SP
tlog checkpoint: origin, tree size, base64 root) is replaced after each seal. Where they are
kept is a `SealStore`'s (files under `logs/seals/`, or the team store's tables); what they say,
and how a seal and a checkpoint are made, is here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from drillkit.config.keyfiles import read_key_file
from drillkit.config.workspace import Workspace, fsync_folder
from drillkit.model.clock import Clock, format_utc
from drillkit.model.errors import DrillWarning, UsageError
from drillkit.store import merkle, notes
from drillkit.store.files import HASH_MARK, _write_all
from drillkit.store.notes import NoteError

if TYPE_CHECKING:
    from drillkit.store.verify import Verdict

KEY_MODE = 0o600
KEY_DIR_MODE = 0o700


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
        text = read_key_file(path).decode("utf-8")
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


def workspace_signing_key(ws: Workspace) -> SealKey:
    """The private key at `seal_key`, refused (a UsageError saying why) when it cannot be read or
    is not the half of drill.toml's `seal_public_key`: what it signed would read as tampered."""
    path = ws.seal_key()
    key = read_key(path)
    configured = ws.config().seal_public_key
    if configured is not None and key.public.text != _configured_key(configured).text:
        raise UsageError(
            f"seal key {ws.display(path)} is not this workspace's: its public key {key.public.text} is not"
            f" drill.toml's seal_public_key {configured}; seals made with it would not verify"
        )
    return key


def sealing_key(ws: Workspace) -> SealKey | None:
    """The key a command seals with: None when there is none here (SPEC §9: the command writes and
    leaves the run unsealed, without a word, as for anyone who does not hold the key). A key file
    here that cannot seal (unreadable, garbled, not drill.toml's `seal_public_key`) is None too,
    said in a `DrillWarning`: left silent, every run would stay unsealed and nobody would know why."""
    if not ws.seal_key().exists():
        return None
    try:
        key = workspace_signing_key(ws)
    except UsageError as why:
        warnings.warn(DrillWarning(f"not sealed: {why} (see `drill keys show`)"), stacklevel=2)
        return None
    warn_if_exposed(ws)
    return key


def key_exposure(ws: Workspace) -> str | None:
    """How the private key file is open to others than its owner (ssh's rule: any permission for
    its group or for others), and what to run; None when it is the owner's alone, or not here."""
    path = ws.seal_key()
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    if not mode & 0o077:
        return None
    who = " and ".join(name for name, bits in (("its group", 0o070), ("others", 0o007)) if mode & bits)
    return f"open to {who} (mode {mode:04o}, not 0600): a seal key must be its owner's alone; run chmod 600 {path}"


def warn_if_exposed(ws: Workspace) -> None:
    """A `DrillWarning` when the private key file is open to others: the seal is made all the same
    (refusing would leave the run unsealed mid-incident, and would not take back who read the key)."""
    exposure = key_exposure(ws)
    if exposure is not None:
        warnings.warn(DrillWarning(f"seal key {ws.display(ws.seal_key())} is {exposure}"), stacklevel=2)


def signing_key(ws: Workspace) -> SealKey | None:
    """The workspace's private key when this process can read it, else None: a command never fails
    for lack of it (SPEC §9), it leaves the run unsealed."""
    if not os.access(ws.seal_key(), os.R_OK):
        return None
    try:
        return workspace_signing_key(ws)
    except UsageError:
        return None


def public_key(ws: Workspace) -> PublicKey | None:
    """The key seals are checked with: `seal_public_key` in drill.toml, else the private key's
    public half; None when the workspace has neither (it has no seals to check)."""
    text = ws.config().seal_public_key
    if text is None:
        key = signing_key(ws)
        return key.public if key is not None else None
    return _configured_key(text)


def _configured_key(text: str) -> PublicKey:
    try:
        return PublicKey(notes.parse_verifier_key(text))
    except NoteError as exc:
        raise UsageError(f"drill.toml: [integrity] seal_public_key: {exc}") from None


def parse_ledger_line(line: bytes) -> LedgerEntry:
    parts = line.decode("utf-8", "replace").split(" ")
    if len(parts) != 3 or not parts[1].isdigit() or len(parts[2]) != 64:
        raise NoteError(f"ledger line {line[:80]!r} is not `<run> <events> <seal sha256>`")
    return LedgerEntry(run=parts[0], events=int(parts[1]), digest=parts[2])


def sealable(ws: Workspace, run_id: str, lines: bytes) -> Verdict | None:
    """The record's verdict when it may be sealed: one that does not verify never is."""
    from drillkit.store.files import workspace_key
    from drillkit.store.verify import verify_lines

    verdict = verify_lines(run_id, lines, workspace_key(ws))
    return verdict if verdict.verdict in ("ok", "open") and verdict.head is not None else None


def next_seal(key: SealKey, verdict: Verdict, lines: bytes, sealed: list[bytes], clock: Clock) -> Seal | None:
    """The seal of the record `lines` (whose verdict is `verdict`), given the run's seals so far:
    None when the latest covers them already, or when the lines it sealed changed (a rewritten
    record is never blessed)."""
    if sealed and not _extends_seal(lines, sealed[-1], verdict.events):
        return None
    text = seal_text(key.name, verdict.run, verdict.events, verdict.head or "", format_utc(clock.now()))
    return parse_seal(key.sign(text))


def _extends_seal(lines: bytes, note: bytes, events: int) -> bool:
    """Whether the record has events past the seal and still holds the sealed line unchanged
    (a damaged seal is `drill verify`'s to report, and sealing goes on past it)."""
    try:
        seal = parse_seal(note)
    except NoteError:
        return True
    return events > seal.events and line_hash_at(lines, seal.events) == seal.head


def line_hash_at(data: bytes, number: int) -> str | None:
    """The stored hash of line `number` of a record's bytes (None when it has no such line)."""
    start = 0
    for _ in range(number - 1):
        start = data.find(b"\n", start) + 1
        if start == 0:
            return None
    end = data.find(b"\n", start)
    line = data[start:end] if end >= 0 else b""
    cut = line.rfind(HASH_MARK)
    return line[cut + len(HASH_MARK) : -2].decode("ascii", "replace") if cut >= 0 else None


def signed_checkpoint(key: SealKey, size: int, root: bytes) -> bytes:
    return key.sign(checkpoint_text(key.name, size, root))


def write_key(ws: Workspace, path: Path, content: str) -> None:
    """The private key file, 0600 in a 0700 folder, never over an existing one: written whole to a
    temporary file, fsync'd, then linked into place and the folder fsync'd, so a crash or a full
    disk leaves no key or the whole key, never an empty one that `keys init` then refuses."""
    folder = ws.ensure_dir(path.parent)
    if folder.is_relative_to(ws.logs):
        os.chmod(folder, KEY_DIR_MODE)
    temporary = folder / f".{path.name}.{os.getpid()}.new"
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, KEY_MODE)
    try:
        os.fchmod(fd, KEY_MODE)
        _write_all(fd, content.encode(), "the seal key")
        os.link(temporary, path, follow_symlinks=False)
    except FileExistsError:
        raise UsageError(f"seal key {ws.display(path)} exists; `drill keys show` prints its public key") from None
    finally:
        os.close(fd)
        temporary.unlink(missing_ok=True)
    fsync_folder(folder)
