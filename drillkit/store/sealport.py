"""The `SealStore` port: where a workspace's seals, its ledger and the ledger's checkpoint live
(SPEC §9). Files under `logs/seals/` by default, the team store's tables in team mode; sealing,
`drill verify`, the report's integrity line and the evidence bundle ask this port and never name
an adapter (`open_seals(ws)` picks it).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from drillkit.model.clock import Clock
from drillkit.model.errors import RecordError
from drillkit.store import merkle
from drillkit.store.notes import NoteError
from drillkit.store.seals import Checkpoint, Seal, SealKey, parse_checkpoint, parse_seal

Edge = tuple[int, list[bytes]]  # a ledger's size, and the roots of its tree's perfect subtrees (largest first)


class SealStore(ABC):
    """Seals appended per run, and the ledger appended under one lock with its new checkpoint."""

    @abstractmethod
    def notes(self, run_id: str) -> list[bytes]:
        """The run's seal notes in the order written (none when it has none)."""

    @abstractmethod
    def ledger(self) -> list[bytes]:
        """The ledger's lines in order, each a leaf's data (`<run> <events> <seal sha256>`)."""

    @abstractmethod
    def checkpoint(self) -> bytes | None:
        """The ledger's latest signed checkpoint as written (None before the first seal)."""

    @abstractmethod
    def seal(self, key: SealKey, run_id: str, lines: bytes, clock: Clock) -> Seal | None:
        """Seal the record `lines` (as just read from the record store) when they verify and
        the latest seal does not cover them already and still matches them: the seal, its ledger
        entry and the new checkpoint are written under the ledger's lock, the seal first (a crash
        never leaves a ledger entry without its seal). The seal written, or None."""

    @abstractmethod
    def seals_name(self, run_id: str) -> str:
        """Where the run's seals are, for messages."""

    @abstractmethod
    def ledger_name(self) -> str:
        """Where the ledger is, for messages."""

    @abstractmethod
    def checkpoint_name(self) -> str:
        """Where the ledger's own checkpoint is, for messages."""

    def covered(self, run_id: str, lines: bytes) -> bool:
        """Whether the run's latest seal covers every line of `lines` already: nothing to seal,
        found without verifying the record again (a conductor asks every minute)."""
        latest = self.latest(run_id)
        return latest is not None and latest.events >= lines.count(b"\n")

    def latest(self, run_id: str) -> Seal | None:
        """The run's latest seal as written (its signature is `drill verify`'s to check)."""
        found = self.notes(run_id)
        try:
            return parse_seal(found[-1]) if found else None
        except NoteError:
            return None

    def checked_edge(
        self, key: SealKey, note: bytes | None, cached: Edge | None, entries: Callable[[], list[bytes]]
    ) -> Edge:
        """The ledger's edge, which the next checkpoint is signed from: `cached` (kept by the
        adapter for a ledger of the size it has now) when the checkpoint `note` is `key`'s and of
        that tree, else rebuilt from every entry (`entries()`), which must extend the checkpoint:
        a seal never signs over a ledger cut short, one whose checkpoint is gone, or one whose
        checkpoint another key signed (a RecordError, nothing written)."""
        if cached is not None and _signs(key, note, cached):
            return cached
        leaves = [merkle.leaf_hash(line) for line in entries()]
        if not _extends(key, leaves, note):
            raise RecordError(
                f"not sealed: {self.ledger_name()} does not extend its checkpoint ({self.checkpoint_name()});"
                " see `drill verify`"
            )
        edge: list[bytes] = []
        for index, leaf in enumerate(leaves):
            edge = merkle.extend_frontier(edge, index, leaf)
        return len(leaves), edge


def _signed(key: SealKey, note: bytes | None) -> Checkpoint | None:
    """The checkpoint `note` when `key` signed it."""
    if note is None or key.public.opened(note) is None:
        return None
    try:
        return parse_checkpoint(note)
    except NoteError:
        return None


def _signs(key: SealKey, note: bytes | None, edge: Edge) -> bool:
    """Whether the checkpoint `note` is `key`'s and of the tree whose edge is `edge`."""
    size, roots = edge
    checkpoint = _signed(key, note)
    return (
        checkpoint is not None
        and len(roots) == size.bit_count()
        and (checkpoint.size, checkpoint.root) == (size, merkle.frontier_root(roots))
    )


def _extends(key: SealKey, leaves: list[bytes], note: bytes | None) -> bool:
    """Whether the ledger of `leaves` is the tree of the checkpoint `note` signed by `key`, or an
    extension of it; an empty ledger without a checkpoint is one never sealed."""
    if note is None:
        return not leaves
    checkpoint = _signed(key, note)
    return (
        checkpoint is not None
        and checkpoint.size <= len(leaves)
        and merkle.root(leaves[: checkpoint.size]) == checkpoint.root
    )
