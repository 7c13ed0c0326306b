"""The `SealStore` port: where a workspace's seals, its ledger and the ledger's checkpoint live
(SPEC §9). Files under `logs/seals/` by default, the team store's tables in team mode; sealing,
`drill verify`, the report's integrity line and the evidence bundle ask this port and never name
an adapter (`open_seals(ws)` picks it).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from drillkit.model.clock import Clock
from drillkit.store.notes import NoteError
from drillkit.store.seals import Seal, SealKey, parse_seal


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
