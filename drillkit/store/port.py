"""The `RecordStore` port: what every caller may ask of the place run records live (SPEC §4).

Callers get a store from `open_store(ws)` and never name an adapter, so another adapter (a
database) replaces the JSON-lines files without touching them. A store object holds what its
process has read of each record: one command, one conductor or one scheduler keeps one store
for its lifetime, and each append or read then reads only what is new.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from drillkit.model.clock import Clock
from drillkit.model.provenance import Provenance

if TYPE_CHECKING:
    from drillkit.store.verify import Verdict

Event = dict[str, Any]
Decide = Callable[[list[Event], datetime], list[Event]]  # (the record's events, the time) → drafts
Kept = TypeVar("Kept")  # what a caller makes of a snapshot's bytes (its own summary of the record)
Restore = Callable[[bytes], Kept | None]  # a snapshot's bytes → the caller's state (None: it cannot use them)
# (the snapshot's state or None, the events after it (every event with None), the time) → drafts
DecideOn = Callable[[Kept | None, list[Event], datetime], list[Event]]


class RecordStore(ABC):
    """Run records: created whole, appended to under each run's lock, read, listed and watched."""

    @abstractmethod
    def create(
        self,
        run_id: str,
        first: Event,
        clock: Clock,
        rest: list[Event] | None = None,
        provenance: Provenance | None = None,
    ) -> list[Event]:
        """Write `run.started` (and the drafts after it) as a new record, whole or not at all;
        `RunExists` if the run exists. The events written.

        Every event written carries `provenance`'s `origin` and `req` (a fresh
        `Provenance.here()` when none is given): one write, one `req`, however often it is tried."""

    @abstractmethod
    def append(self, run_id: str, decide: Decide, clock: Clock, provenance: Provenance | None = None) -> list[Event]:
        """`decide(events, now)` against the record as it stands when its drafts are written
        (under the run's lock), and write what it returns (nothing for an empty list), each event
        with `provenance`'s fields (as for `create`). A torn tail is set aside and recorded as
        `record.repaired` first. The events written.

        A store may call `decide` first on the record as this process last knew it and, when the
        record has moved on since, again on the record as it stands: only a decision taken on
        the record as it stands counts (its drafts written, or nothing when it returns none), so
        `decide` only returns drafts and acts on nothing."""

    def append_from_snapshot(
        self,
        run_id: str,
        restore: Restore[Kept],
        decide: DecideOn[Kept],
        clock: Clock,
        provenance: Provenance | None = None,
    ) -> list[Event]:
        """`append`, where `decide` may be handed, instead of None and every event, what `restore`
        made of the run's snapshot (the bytes last given to `keep_snapshot`, while they still fit
        the record) and only the events after it. `restore` says None to bytes it cannot use
        (every event is handed then); `decide` must not change what it is handed. A store that
        keeps no snapshots (this default) always hands None and every event."""
        return self.append(run_id, lambda events, now: decide(None, events, now), clock, provenance)

    def keep_snapshot(  # noqa: B027  # a store may keep nothing
        self, run_id: str, seq: int, head: str, kept: Callable[[], bytes]
    ) -> None:
        """Keep `kept()`, the caller's summary of the record up to the event `seq` whose `hash`
        is `head`, as the run's snapshot, when that event is the last this store read or wrote of
        it (else nothing; `kept` is called only when it is kept). A cache, never the truth:
        losing it costs time, nothing else. This default keeps nothing."""

    @abstractmethod
    def read(self, run_id: str, from_seq: int = 1) -> list[Event]:
        """The run's complete events from `from_seq` on; `NotFound` for an unknown run,
        `RecordError` for a record that cannot be a run."""

    @abstractmethod
    def lines(self, run_id: str) -> bytes:
        """The record's bytes exactly as written and hashed, one JSON line each (`drill verify`,
        `drill store push`/`pull`); `NotFound` for an unknown run."""

    @abstractmethod
    def heads_and_tails(self, run_ids: list[str] | None = None) -> Iterator[tuple[str, bytes, bytes]]:
        """For every run (or those named): its id, its first line and its last bytes (the first
        of which may be the end of a line): all a listing of runs reads."""

    @abstractmethod
    def summary_lines(self, run_ids: list[str] | None = None) -> Iterator[tuple[str, bytes]]:
        """For every run (or those named), in id order: its id and its complete lines but the
        notes between its first and its last line (`reader.without_notes`): all a summary of the
        run reads (`drill runs`' verdicts, `drill report`). A run not recorded gives nothing; a
        record that cannot be read gives no bytes. Nothing is proven of the lines left out."""

    def verify(
        self, run_ids: list[str], key: bytes | None, accepted: frozenset[str] = frozenset()
    ) -> tuple[list[Verdict], list[str]]:
        """A verdict for each named run (every run when none is named), and why for each record
        that could not be read. An unknown run named is `NotFound` before any is verified;
        `accepted`: runs whose plain chain a reviewer accepts in a keyed workspace."""
        from drillkit.store.verify import verify_lines

        ids = run_ids or self.runs()
        records = [(run_id, self.lines(run_id)) for run_id in ids]
        return [verify_lines(run_id, data, key, accepted) for run_id, data in records], []

    @abstractmethod
    def runs(self) -> list[str]:
        """The ids of every run recorded, in id order."""

    @abstractmethod
    def watch(self, run_id: str, after_seq: int, timeout: float, clock: Clock) -> list[Event]:
        """The events past `after_seq`, waiting up to `timeout` seconds of `clock` for one to be
        appended (by this process or another); empty when none came."""

    @abstractmethod
    def conduct(self, run_id: str) -> Callable[[], None] | None:
        """Take the run's conductor lock (one conductor per run, in every process that shares
        the store): a function that lets it go, or None when another conductor holds it."""

    @abstractmethod
    def conducting(self, run_id: str) -> bool:
        """Whether this process still holds the run's conductor lock. A team store's lock lives
        on a database session: a session lost (a network cut, a server restart) takes it along,
        and it is taken again on the next session unless another conductor took it meanwhile."""

    @abstractmethod
    def writable(self, run_id: str) -> bool:
        """Whether this process may append to the run's record."""


class ActionLedger(ABC):
    """The corrective actions' ledger (SPEC §10): one hash-chained record per workspace, with the
    line and event shapes of `logs/actions.jsonl` whichever adapter keeps it. Callers get it from
    `open_ledger(ws)` and never name an adapter."""

    @abstractmethod
    def read(self) -> list[Event]:
        """Every complete line, oldest first (none before the first append)."""

    @abstractmethod
    def append(self, decide: Decide, clock: Clock) -> list[Event]:
        """Under the ledger's lock: `decide(events, now)` against the ledger as it stands then, and
        write what it returns (nothing for an empty list), hash-chained and durable. The events written."""

    @abstractmethod
    def exists(self) -> bool:
        """Whether anything was ever recorded; asking creates nothing."""

    @abstractmethod
    def lines(self) -> bytes:
        """The ledger's bytes exactly as written and hashed, one JSON line each, a torn tail
        included (`drill verify` counts it); empty before the first append."""

    def verify(self, key: bytes | None, accepted: bool = False) -> Verdict | None:
        """`drill verify`'s verdict on the ledger (in its own chain: plain, or HMAC with the
        workspace's `key`), or None when nothing was ever recorded: nothing to verify.
        `accepted`: a plain chain a reviewer accepts in a keyed workspace."""
        from drillkit.store.verify import verify_ledger_lines

        data = self.lines()
        return verify_ledger_lines(data, key, accepted) if data else None
