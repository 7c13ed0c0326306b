"""A record store that seals as SPEC §9 asks, around any adapter.

Wrapped around the store of a process that can read the private key: a write that ends a run,
or lands after its end, is sealed at once; with `every` (the conductor and the scheduler), a
run whose events keep arriving is sealed at least that often. Sealing happens after the write
is stored and reads the record back from the store, so a seal never claims more than the record
holds. A seal that cannot be written never fails the write it follows: the run stays unsealed
until a key holder runs `drill keys seal`. A key file here that cannot seal is said once, as a
`DrillWarning` (`seals.sealing_key`), which the CLI shows on stderr.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cached_property
from typing import TYPE_CHECKING

from drillkit.config.workspace import Workspace
from drillkit.model.clock import Clock
from drillkit.model.errors import DrillError
from drillkit.model.events import AFTER_END, EventType
from drillkit.model.provenance import Provenance
from drillkit.store.port import Decide, DecideOn, Event, Kept, RecordStore, Restore
from drillkit.store.seals import SealKey, sealing_key

if TYPE_CHECKING:
    from drillkit.store.sealport import SealStore
    from drillkit.store.verify import Verdict


class SealingStore(RecordStore):
    def __init__(self, inner: RecordStore, seals: SealStore, ws: Workspace, clock: Clock, every: float | None) -> None:
        self.inner, self.seals, self.ws, self.clock, self.every = inner, seals, ws, clock, every
        self._sealed_at: dict[str, float] = {}  # by run: when this process last sealed it (clock seconds)
        self._ended_runs: dict[str, bool] = {}  # by run: whether it has ended, as far as this process knows

    def create(
        self,
        run_id: str,
        first: Event,
        clock: Clock,
        rest: list[Event] | None = None,
        provenance: Provenance | None = None,
    ) -> list[Event]:
        written = self.inner.create(run_id, first, clock, rest, provenance)
        self._after_write(run_id, written)
        return written

    def append(self, run_id: str, decide: Decide, clock: Clock, provenance: Provenance | None = None) -> list[Event]:
        written = self.inner.append(run_id, decide, clock, provenance)
        if written:
            self._after_write(run_id, written)
        return written

    def append_from_snapshot(
        self,
        run_id: str,
        restore: Restore[Kept],
        decide: DecideOn[Kept],
        clock: Clock,
        provenance: Provenance | None = None,
    ) -> list[Event]:
        written = self.inner.append_from_snapshot(run_id, restore, decide, clock, provenance)
        if written:
            self._after_write(run_id, written)
        return written

    def keep_snapshot(self, run_id: str, seq: int, head: str, kept: Callable[[], bytes]) -> None:
        self.inner.keep_snapshot(run_id, seq, head, kept)

    def read(self, run_id: str, from_seq: int = 1) -> list[Event]:
        return self.inner.read(run_id, from_seq)

    def lines(self, run_id: str) -> bytes:
        return self.inner.lines(run_id)

    def heads_and_tails(self, run_ids: list[str] | None = None) -> Iterator[tuple[str, bytes, bytes]]:
        return self.inner.heads_and_tails(run_ids)

    def summary_lines(self, run_ids: list[str] | None = None) -> Iterator[tuple[str, bytes]]:
        return self.inner.summary_lines(run_ids)

    def verify(
        self, run_ids: list[str], key: bytes | None, accepted: frozenset[str] = frozenset()
    ) -> tuple[list[Verdict], list[str]]:
        return self.inner.verify(run_ids, key, accepted)

    def runs(self) -> list[str]:
        return self.inner.runs()

    def conduct(self, run_id: str) -> Callable[[], None] | None:
        return self.inner.conduct(run_id)

    def conducting(self, run_id: str) -> bool:
        return self.inner.conducting(run_id)

    def watch(self, run_id: str, after_seq: int, timeout: float, clock: Clock) -> list[Event]:
        new = self.inner.watch(run_id, after_seq, timeout, clock)
        if self._due(run_id):
            self._seal(run_id)
        return new

    def writable(self, run_id: str) -> bool:
        return self.inner.writable(run_id)

    def _after_write(self, run_id: str, written: list[Event]) -> None:
        if self._due(run_id) or self._ended(run_id, written):
            self._seal(run_id)

    def _ended(self, run_id: str, written: list[Event]) -> bool:
        """Whether the run has ended: by what this process writes, and, for a write of only what
        may follow an end (which another process may have written), by its record. A write that
        holds anything else was taken by a live run, so its record is not read again (it may be
        long, and a command must not fail after its write)."""
        if any(event["event"] == EventType.RUN_ENDED for event in written):
            self._ended_runs[run_id] = True
        elif not self._ended_runs.get(run_id):
            after_end = all(event["event"] in AFTER_END for event in written)
            self._ended_runs[run_id] = after_end and self._ended_in_record(run_id)
        return self._ended_runs[run_id]

    def _ended_in_record(self, run_id: str) -> bool:
        """Whether the record holds `run.ended`; a record that cannot be read now is taken as
        not ended (the write stands; the run is sealed by a later one)."""
        try:
            return any(event["event"] == EventType.RUN_ENDED for event in self.inner.read(run_id))
        except DrillError:
            return False

    def _due(self, run_id: str) -> bool:
        if self.every is None:
            return False
        last = self._sealed_at.get(run_id)
        return last is None or self._seconds() - last >= self.every

    def _seconds(self) -> float:
        return self.clock.now().timestamp()

    @cached_property
    def key(self) -> SealKey | None:
        """Read at the first seal: a process that writes nothing never imports the signing code."""
        return sealing_key(self.ws)

    def _seal(self, run_id: str) -> None:
        self._sealed_at[run_id] = self._seconds()
        if self.key is None:
            return
        try:
            self.seals.seal(self.key, run_id, self.inner.lines(run_id), self.clock)
        except (OSError, DrillError):
            return  # the write stands; the run stays unsealed until a key holder seals it
