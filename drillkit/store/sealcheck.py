"""Checking seals and the ledger (SPEC §9), after the hash chain of each record is checked.

What the chain cannot see, the seals do: a record with fewer events than its latest seal (the
newest lines cut off, or an older copy put back), a line whose hash differs from the one a seal
holds (sealed lines rewritten, chain recomputed), a seal whose signature does not verify, a run
the ledger lists whose record is gone, a seals file missing the seal the ledger holds for it,
and a ledger that does not extend its own checkpoint or one the reviewer kept. Each finding
turns the record's verdict to `tampered`, naming what was found; a run with no seal is
`unsealed`, and events past the latest seal are counted as an unsealed tail.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from drillkit.config.workspace import Workspace
from drillkit.model.errors import UsageError
from drillkit.store import merkle
from drillkit.store.files import HASH_MARK
from drillkit.store.notes import NoteError
from drillkit.store.port import RecordStore
from drillkit.store.sealport import SealStore
from drillkit.store.seals import (
    LedgerEntry,
    PublicKey,
    Seal,
    parse_checkpoint,
    parse_ledger_line,
    parse_seal,
    public_key,
)
from drillkit.store.verify import Verdict


@dataclass(frozen=True, kw_only=True)
class SealFinding:
    sealed: int | None  # events the latest seal covers; None: never sealed
    unsealed: int  # events past the latest seal
    fingerprint: str | None  # the latest seal's
    problem: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "sealed": self.sealed,
            "unsealed": self.unsealed,
            "fingerprint": self.fingerprint,
            "problem": self.problem,
        }


@dataclass(frozen=True, kw_only=True)
class LedgerFinding:
    size: int
    root: str
    problem: str | None = None
    kept: int | None = None  # the size of the kept checkpoint it was checked against

    @property
    def verdict(self) -> str:
        return "tampered" if self.problem else "ok"

    def as_json(self) -> dict[str, Any]:
        ledger = {"size": self.size, "root": self.root, "kept_checkpoint": self.kept}
        return {"run": None, "ledger": ledger, "verdict": self.verdict, "problem": self.problem}


@dataclass(frozen=True)
class SealCheck:
    verdicts: list[Verdict]
    findings: dict[str, SealFinding] = field(default_factory=dict)
    ledger: LedgerFinding | None = None


@dataclass(frozen=True)
class _Ledger:
    entries: list[LedgerEntry]
    leaves: list[bytes]
    problem: str | None

    def latest(self) -> dict[str, LedgerEntry]:
        return {entry.run: entry for entry in self.entries}


@dataclass(frozen=True)
class _Where:
    """Where the seals and the records are read from."""

    seals: SealStore
    records: RecordStore


def check_seals(
    ws: Workspace,
    verdicts: list[Verdict],
    gone: list[str],
    kept: bytes | None,
    *,
    seals: SealStore,
    records: RecordStore,
) -> SealCheck | None:
    """The verdicts with the seals' findings; `gone`: runs asked about (or every one the ledger
    lists, with --all) whose records do not exist. None when the workspace has no seal key."""
    key = public_key(ws)
    if key is None:
        if kept is not None:
            raise UsageError("--checkpoint: this workspace has no seal key ([integrity] seal_public_key)")
        return None
    where = _Where(seals, records)
    ledger = _read_ledger(seals)
    latest = ledger.latest()
    findings: dict[str, SealFinding] = {}
    checked: list[Verdict] = []
    for verdict in verdicts:
        finding = _check_run(where, key, verdict, latest.get(verdict.run))
        findings[verdict.run] = finding
        checked.append(_with_finding(verdict, finding))
    checked += [_gone(run, latest[run]) for run in gone if run in latest]
    return SealCheck(checked, findings, _check_ledger(seals, key, ledger, kept))


def ledger_runs(seals: SealStore) -> set[str]:
    return set(_read_ledger(seals).latest())


def _with_finding(verdict: Verdict, finding: SealFinding) -> Verdict:
    if verdict.verdict == "tampered":
        return verdict  # the chain's first bad line comes first
    if finding.problem is not None:
        return replace(verdict, verdict="tampered", line=None, problem=f"seal check failed: {finding.problem}")
    if finding.sealed is None and verdict.verdict in ("ok", "open"):
        return replace(verdict, verdict="unsealed")  # any other verdict says more, and stays
    return verdict


def _gone(run: str, entry: LedgerEntry) -> Verdict:
    problem = f"seal check failed: the record is gone, and the ledger holds its seal at {entry.events} events"
    return Verdict(run=run, verdict="tampered", events=0, head=None, problem=problem)


def _check_run(where: _Where, key: PublicKey, verdict: Verdict, in_ledger: LedgerEntry | None) -> SealFinding:
    seals, problem = _read_seals(key, verdict.run, where.seals)
    latest = seals[-1] if seals else None
    sealed = latest.events if latest else None
    found = SealFinding(
        sealed=sealed,
        unsealed=max(verdict.events - (sealed or 0), 0),
        fingerprint=latest.fingerprint if latest else None,
    )
    if problem is None and in_ledger is not None and in_ledger.digest not in {s.digest for s in seals}:
        problem = (
            f"the ledger holds a seal at {in_ledger.events} events that {where.seals.seals_name(verdict.run)}"
            " does not have (its seals were cut or replaced)"
        )
    if problem is None and verdict.verdict != "tampered":
        problem = _against_record(where.records, verdict, seals)
    return replace(found, problem=problem) if problem else found


def _read_seals(key: PublicKey, run: str, store: SealStore) -> tuple[list[Seal], str | None]:
    """The run's seals in order, or the first problem with them."""
    seals: list[Seal] = []
    for number, note in enumerate(store.notes(run), start=1):
        checked = _checked_seal(key, run, note, seals)
        if isinstance(checked, str):
            return seals, f"seal {number} in {store.seals_name(run)}{checked}"
        seals.append(checked)
    return seals, None


def _checked_seal(key: PublicKey, run: str, note: bytes, before: list[Seal]) -> Seal | str:
    """The seal, or what is wrong with it (said after where it is)."""
    if key.opened(note) is None:
        return ": the signature does not verify with the workspace's seal key"
    try:
        seal = parse_seal(note)
    except NoteError as exc:
        return f": {exc}"
    if seal.run != run or seal.origin != key.name:
        return f" is for {seal.run} of {seal.origin}, not this run"
    if before and seal.events < before[-1].events:
        return f" covers {seal.events} events, fewer than the seal before it"
    return seal


def _against_record(records: RecordStore, verdict: Verdict, seals: list[Seal]) -> str | None:
    """Whether the record still holds every sealed line: as many events, the same hashes."""
    if not seals:
        return None
    latest = seals[-1]
    if latest.events > verdict.events:
        return (
            f"the record has {verdict.events} events, but its seal of {latest.time} covers {latest.events}"
            " (the newest lines were cut off, or an older copy was put back)"
        )
    hashes = _line_hashes(records, verdict, {s.events for s in seals})
    for seal in seals:
        if hashes.get(seal.events) != seal.head:
            return (
                f"line {seal.events} has a different hash from the one sealed at {seal.time}"
                " (sealed lines were rewritten)"
            )
    return None


def _line_hashes(records: RecordStore, verdict: Verdict, counts: set[int]) -> dict[int, str | None]:
    """The stored hash of each line numbered in `counts` (the head needs no second read)."""
    wanted = counts - {verdict.events}
    found: dict[int, str | None] = {verdict.events: verdict.head}
    if not wanted:
        return found
    data = records.lines(verdict.run)
    lines = data[: data.rfind(b"\n") + 1].split(b"\n")
    for number in wanted:
        line = lines[number - 1] if 0 < number <= len(lines) - 1 else b""
        cut = line.rfind(HASH_MARK)
        found[number] = line[cut + len(HASH_MARK) : -2].decode("ascii", "replace") if cut >= 0 else None
    return found


def _read_ledger(seals: SealStore) -> _Ledger:
    lines = seals.ledger()
    entries: list[LedgerEntry] = []
    problem = None
    for number, line in enumerate(lines, start=1):
        try:
            entries.append(parse_ledger_line(line))
        except NoteError:
            problem = problem or f"ledger line {number} is not `<run> <events> <seal sha256>`"
    return _Ledger(entries, [merkle.leaf_hash(line) for line in lines], problem)


def _check_ledger(seals: SealStore, key: PublicKey, ledger: _Ledger, kept: bytes | None) -> LedgerFinding:
    head = merkle.root(ledger.leaves)
    finding = LedgerFinding(size=len(ledger.leaves), root=head.hex(), problem=ledger.problem)
    own = seals.checkpoint()
    if finding.problem is None and own is not None:
        problem = _extends(key, ledger.leaves, own, f"its own checkpoint ({seals.checkpoint_name()})")
        finding = replace(finding, problem=problem)
    elif finding.problem is None and ledger.leaves:
        problem = f"the ledger has {len(ledger.leaves)} entries but no checkpoint ({seals.checkpoint_name()} is gone)"
        finding = replace(finding, problem=problem)
    if kept is not None:
        kept_size = _kept_size(kept)
        problem = finding.problem or _extends(key, ledger.leaves, kept, f"the kept checkpoint (size {kept_size})")
        finding = replace(finding, kept=kept_size, problem=problem)
    return finding


def _kept_size(note: bytes) -> int:
    try:
        return parse_checkpoint(note).size
    except NoteError as exc:
        raise UsageError(f"--checkpoint: not a signed checkpoint ({exc}); `drill keys checkpoint` writes one") from None


def _extends(key: PublicKey, leaves: list[bytes], note: bytes, what: str) -> str | None:
    """Why the ledger is not an extension of the checkpoint `note`, or None when it is."""
    if key.opened(note) is None:
        return f"{what}: the signature does not verify with the workspace's seal key"
    try:
        checkpoint = parse_checkpoint(note)
    except NoteError as exc:
        return f"{what}: {exc}"
    size = len(leaves)
    if checkpoint.size > size:
        return f"the ledger has {size} entries, fewer than the {checkpoint.size} of {what} (it was rolled back)"
    if checkpoint.size == 0:
        return None
    proof = merkle.consistency_proof(leaves, checkpoint.size)
    if not merkle.verify_consistency(checkpoint.size, size, checkpoint.root, merkle.root(leaves), proof):
        return f"the ledger does not extend {what}: its first {checkpoint.size} entries were changed"
    return None
